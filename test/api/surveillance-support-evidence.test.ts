// Sub-threshold support (multi_source params.supportP) end to end through the public surface: counts arrive through
// POST /surveillance/feeds, the detection run (POST /surveillance/runs) writes its signals and fuses them. In two
// communities without neighbours the fever clinic's visits jump far beyond their threshold; the pharmacy's antipyretic
// sales rise too, but stay below their EARS threshold — in one community to z = 3 (p = 0.00135), in the other to z = 2
// (p = 0.0228). With the default rule (version 2) neither makes a multi-source alert: one source alarms (the clinics'
// jumps are alerts of the high_threshold rule, which this test leaves aside). Once the admin sets
// supportP = 0.01, the run writes the pharmacy's sub-threshold score as a support signal where p ≤ 0.01, and fusion
// takes it as the second source: one alert, whose detail shows the support signal and Fisher's combination.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { ok } from '../helpers/surveillance.ts';

type Json = Record<string, any>;
const AS_OF = '2026-03-18'; // a Wednesday: the last complete week (Farrington's) holds no rise
const DAYS = 60;

let s: TestServer;
let cdc: string, admin: string;
/** [supported, unsupported]: two communities bordering nobody */
let c: number[];
let centre: number, pharmacy: number;

const dateAt = (offset: number) => new Date(Date.parse(`${AS_OF}T00:00:00Z`) + offset * 86_400_000).toISOString().slice(0, 10);

const get = (url: string) => s.app.inject({ url, headers: { cookie: cdc } });
const post = (url: string, payload: unknown) => s.app.inject({ method: 'POST', url, headers: { cookie: cdc }, payload: payload as never });
const put = (url: string, payload: unknown) => s.app.inject({ method: 'PUT', url, headers: { cookie: admin }, payload: payload as never });

beforeAll(async () => {
  s = await startTestServer({ listen: false });
  [cdc, admin] = await Promise.all(['cdc1', 'admin'].map((u) => s.login(u)));
  const db = s.started.ctx.db;
  c = (await db.query("SELECT id FROM region WHERE level = 'community' ORDER BY id LIMIT 2")).rows.map((r) => Number(r.id));
  await db.query('DELETE FROM region_adjacency WHERE region_id = ANY($1::bigint[]) OR neighbour_id = ANY($1::bigint[])', [c]);
  centre = Number((await db.query("SELECT id FROM institution WHERE type = 'community_health_centre' ORDER BY id LIMIT 1")).rows[0].id);
  pharmacy = Number((await db.query("SELECT id FROM institution WHERE type = 'pharmacy' ORDER BY id LIMIT 1")).rows[0].id);
  // flat baselines (σ below minSigma 1, so EARS C2's threshold at alpha 0.001 is mean + 3.09): visits 4, sales 6
  const visits = [];
  const sales = [];
  for (const [i, regionId] of c.entries()) {
    for (let d = -(DAYS - 1); d <= 0; d++) {
      visits.push({ sourceCode: 'fever_clinic', categoryCode: 'visits', regionId, date: dateAt(d), value: d === 0 ? 40 : 4 });
      sales.push({ sourceCode: 'pharmacy', categoryCode: 'antipyretic', regionId, date: dateAt(d), value: d === 0 ? [9, 8][i] : 6 });
    }
  }
  expect(await ok(post('/api/v1/surveillance/feeds', { institutionId: centre, counts: visits }))).toMatchObject({ accepted: visits.length, rejected: 0 });
  expect(await ok(post('/api/v1/surveillance/feeds', { institutionId: pharmacy, counts: sales }))).toMatchObject({ accepted: sales.length, rejected: 0 });
});
afterAll(async () => s?.close());

describe('multi_source with sub-threshold support', () => {
  test('the default rule: the clinics alarm alone, the pharmacies do not alarm — no multi-source alert, and no support signal is written', async () => {
    const run = await ok(post('/api/v1/surveillance/runs', { asOf: AS_OF }));
    expect(run).toMatchObject({ status: 'succeeded', error: null });
    const signals = (await ok(get(`/api/v1/surveillance/signals?date=${AS_OF}&pageSize=100`))).items;
    expect(signals.filter((x: Json) => x.algorithm === 'earsC2').map((x: Json) => [x.sourceCode, x.regionId]).sort()).toEqual(c.map((r) => ['fever_clinic', r]).sort());
    expect(signals.every((x: Json) => x.support === false)).toBe(true);
    expect((await ok(get('/api/v1/surveillance/alerts?ruleCode=multi_source'))).total).toBe(0);
  });

  let alertId: number;
  test('with supportP 0.01 the pharmacy at z = 3 supports its clinic’s alarm: one alert; the pharmacy at z = 2 does not', async () => {
    const current = (await ok(get('/api/v1/surveillance/fusion-rules'))).find((r: Json) => r.code === 'multi_source');
    const params = { ...current.params, supportP: 0.01 };
    const rule = await ok(put('/api/v1/surveillance/fusion-rules/multi_source', { version: current.version, params, riskLevel: 'high' }));
    expect(rule).toMatchObject({ version: current.version + 1, params, active: true });

    const run = await ok(post('/api/v1/surveillance/runs', { asOf: AS_OF }));
    expect(run).toMatchObject({ status: 'succeeded', error: null });
    // support signals are not alarms: the signal list still holds the clinics' alarms only
    const listed = (await ok(get(`/api/v1/surveillance/signals?date=${AS_OF}&pageSize=100`))).items;
    expect(listed.some((x: Json) => x.sourceCode === 'pharmacy' && x.algorithm === 'earsC2')).toBe(false);

    const inbox = await ok(get('/api/v1/surveillance/alerts?ruleCode=multi_source'));
    expect(inbox.total).toBe(1);
    const alert = inbox.items[0];
    alertId = alert.id;
    expect(alert).toMatchObject({ riskLevel: 'high', syndrome: 'fever', rule: { code: 'multi_source', version: rule.version }, lastDate: AS_OF, communities: [{ id: c[0] }] });
    expect(alert.sources).toEqual(['fever_clinic', 'pharmacy']);
  });

  test('the detail shows the support signal (marked, not charted as an alarm) and the combination naming it', async () => {
    const d = await ok(get(`/api/v1/surveillance/alerts/${alertId}`));
    const support = d.signals.find((x: Json) => x.source.code === 'pharmacy');
    expect(support).toMatchObject({ algorithm: 'earsC2', communityId: c[0], date: AS_OF, observed: 9, support: true, high: false });
    expect(support.statistic).toBeCloseTo(3, 10);
    expect(support.threshold).toBeGreaterThan(9);
    expect(support.series.alarms).toEqual([]);
    const clinic = d.signals.find((x: Json) => x.source.code === 'fever_clinic' && x.algorithm === 'earsC2');
    expect(clinic).toMatchObject({ observed: 40, support: false });
    const pharmacyGroup = d.evidence.groups.find((g: Json) => g.group === 'pharmacy');
    // R: pnorm(3, lower.tail = FALSE) = 0.001349898
    expect(pharmacyGroup).toMatchObject({ source: 'pharmacy', signalId: support.id, algorithm: 'earsC2', pValue: expect.closeTo(0.001349898, 8) });
    expect(d.evidence.groups.map((g: Json) => g.group)).toEqual(['clinical', 'pharmacy']);
    expect(d.evidence.df).toBe(4);
    expect(d.evidence.pValue).toBeLessThan(1e-10);
  });
});
