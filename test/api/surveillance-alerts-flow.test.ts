// Multi-point triggering end to end through the public surface: counts arrive through POST /surveillance/feeds, the
// detection run (POST /surveillance/runs) writes its signals and fuses them into an alert, which the CDC finds in its
// inbox and notifications; the next day's run extends it. A class A case report (POST /surveillance/case-reports) is a
// critical alert at once.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { ok } from '../helpers/surveillance.ts';

type Json = Record<string, any>;
const AS_OF = '2026-03-18';
const DAYS = 60;

let s: TestServer;
let cdc: string;
let communities: number[];
let spiked: number;
let centre: number, hospital: number, pharmacy: number;

const dateAt = (offset: number) => new Date(Date.parse(`${AS_OF}T00:00:00Z`) + offset * 86_400_000).toISOString().slice(0, 10);
/** a smooth 3–6 pattern per community and day */
const baseline = (z: number, day: number) => 3 + (((day + 100) * 7 + z * 3) % 4);

const get = (url: string) => s.app.inject({ url, headers: { cookie: cdc } });
const post = (url: string, payload: unknown) => s.app.inject({ method: 'POST', url, headers: { cookie: cdc }, payload: payload as never });

/** Fever-clinic visits and pharmacy antipyretic sales of three communities for days [first, last], high in the spiked community from `spikeFrom`. */
async function sendFeeds(first: number, last: number, spikeFrom: number) {
  const counts = [];
  const sales = [];
  for (const [z, regionId] of communities.entries()) {
    for (let d = first; d <= last; d++) {
      const hot = regionId === spiked && d >= spikeFrom;
      counts.push({ sourceCode: 'fever_clinic', categoryCode: 'visits', regionId, date: dateAt(d), value: hot ? 40 : baseline(z, d) });
      sales.push({ sourceCode: 'pharmacy', categoryCode: 'antipyretic', regionId, date: dateAt(d), value: hot ? 60 : baseline(z, d) + 2 });
    }
  }
  // the fever clinic's visits from the health centre, the sales from a pharmacy
  expect(await ok(post('/api/v1/surveillance/feeds', { institutionId: centre, counts }))).toMatchObject({ accepted: counts.length, rejected: 0 });
  expect(await ok(post('/api/v1/surveillance/feeds', { institutionId: pharmacy, counts: sales }))).toMatchObject({ accepted: sales.length, rejected: 0 });
}

beforeAll(async () => {
  s = await startTestServer({ listen: false });
  cdc = await s.login('cdc1');
  const db = s.started.ctx.db;
  communities = (await db.query("SELECT id FROM region WHERE level = 'community' ORDER BY id LIMIT 3")).rows.map((r) => Number(r.id));
  spiked = communities[1];
  centre = Number((await db.query("SELECT id FROM institution WHERE type = 'community_health_centre' ORDER BY id LIMIT 1")).rows[0].id);
  pharmacy = Number((await db.query("SELECT id FROM institution WHERE type = 'pharmacy' ORDER BY id LIMIT 1")).rows[0].id);
  hospital = Number((await db.query("SELECT id FROM institution WHERE type = 'tertiary_hospital' ORDER BY id LIMIT 1")).rows[0].id);
  await sendFeeds(-(DAYS - 1), 0, 0);
});
afterAll(async () => s?.close());

describe('feeds → run → alert', () => {
  let alert: Json;

  test('two independent sources rising in one community make one multi-source alert, counted on the run', async () => {
    const run = await ok(post('/api/v1/surveillance/runs', { asOf: AS_OF }));
    expect(run).toMatchObject({ asOf: AS_OF, status: 'succeeded', error: null });
    expect(run.alertCount).toBe(1);
    const inbox = await ok(get('/api/v1/surveillance/alerts'));
    expect(inbox.total).toBe(1);
    alert = inbox.items[0];
    expect(alert).toMatchObject({ state: 'new', riskLevel: 'high', syndrome: 'fever', rule: { code: 'multi_source', version: 2 }, lastDate: AS_OF, version: 1 });
    expect(alert.sources).toEqual(expect.arrayContaining(['fever_clinic', 'pharmacy']));
    expect(alert.communities.map((c: Json) => c.id)).toContain(spiked);
    const notes = (await ok(get('/api/v1/notifications'))).items.filter((n: Json) => n.alertId === alert.id);
    expect(notes.map((n: Json) => [n.kind, n.priority])).toEqual([['alert.created', 'high']]);
  });

  test('the detail charts each contributing signal’s series from the feeds, with its threshold', async () => {
    const d = await ok(get(`/api/v1/surveillance/alerts/${alert.id}`));
    const clinic = d.signals.find((x: Json) => x.source.code === 'fever_clinic' && x.algorithm === 'earsC2');
    expect(clinic).toMatchObject({ communityId: spiked, date: AS_OF, observed: 40 });
    expect(clinic.threshold).toBeLessThan(40);
    expect(clinic.series.points).toHaveLength(56);
    expect(clinic.series.points.at(-1)).toEqual({ date: AS_OF, value: 40 });
    expect(clinic.series.points[0]).toEqual({ date: dateAt(-55), value: baseline(communities.indexOf(spiked), -55) });
    expect(clinic.series.alarms).toContainEqual({ date: AS_OF, algorithm: 'earsC2', observed: 40, threshold: clinic.threshold });
  });

  test('the next day’s run extends the same alert', async () => {
    await sendFeeds(1, 1, 0);
    const run = await ok(post('/api/v1/surveillance/runs', { asOf: dateAt(1) }));
    expect(run.alertCount).toBe(1);
    const inbox = await ok(get('/api/v1/surveillance/alerts'));
    expect(inbox.total).toBe(1);
    expect(inbox.items[0]).toMatchObject({ id: alert.id, version: 2, firstDate: AS_OF, lastDate: dateAt(1) });
    const d = await ok(get(`/api/v1/surveillance/alerts/${alert.id}`));
    expect(d.events.map((e: Json) => e.action)).toEqual(['created', 'extended']);
  });
});

describe('case report → alert', () => {
  test('a cholera card is a critical alert in the card’s own transaction; the CDC is told at once', async () => {
    const diagnosedAt = new Date(Date.now() - 3600_000).toISOString();
    const card = await ok(post('/api/v1/surveillance/case-reports', { institutionId: hospital, sourceId: 'cholera-1', regionId: communities[2], diseaseCode: 'A00', diagnosedAt }), 201);
    const inbox = await ok(get('/api/v1/surveillance/alerts?ruleCode=class_a_report'));
    expect(inbox.items).toHaveLength(1);
    expect(inbox.items[0]).toMatchObject({ riskLevel: 'critical', state: 'new', diseaseCode: 'A00', caseReportCount: 1, communities: [{ id: communities[2] }] });
    const d = await ok(get(`/api/v1/surveillance/alerts/${inbox.items[0].id}`));
    expect(d.caseReports.map((r: Json) => r.id)).toEqual([card.report.id]);
    const notes = (await ok(get('/api/v1/notifications'))).items.filter((n: Json) => n.alertId === inbox.items[0].id);
    expect(notes.map((n: Json) => [n.kind, n.priority])).toEqual([['alert.created', 'urgent']]);
    // a measles card is a class B disease: no alert of its own
    await ok(post('/api/v1/surveillance/case-reports', { institutionId: hospital, sourceId: 'measles-1', regionId: communities[2], diseaseCode: 'B05', diagnosedAt }), 201);
    expect((await ok(get('/api/v1/surveillance/alerts?ruleCode=class_a_report'))).total).toBe(1);
  });
});
