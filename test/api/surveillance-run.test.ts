// The detection run through the API: POST /api/v1/surveillance/runs evaluates every community × source × category
// series (and case reports per disease) and writes alarms as signals; a rerun updates them instead of adding more;
// GET runs and signals list them; only the CDC and the district administrator may start a run.
//
// The data arrive as in production: the sentinel's daily counts through POST /surveillance/feeds and measles cards
// through POST /surveillance/case-reports.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { onRunComplete, startDailyRunJob, type RunCompleteEvent } from '../../src/modules/surveillance/run.ts';

const AS_OF = '2026-03-18';
const DAYS = 60;
const SPIKE = 40;
/** R: qnorm(1 - 0.001), EARS C2's default alpha */
const Z_999 = 3.0902323061678132;

let s: TestServer;
let cdc: string;
let communities: number[];
let spiked: number;
const seen: RunCompleteEvent[] = [];
let unregister: () => void;

const dateAt = (offset: number) => new Date(Date.parse(`${AS_OF}T00:00:00Z`) + offset * 86_400_000).toISOString().slice(0, 10);
/** the sentinel's fever registrations of community index z, `back` days before the as-of date: a smooth 3–6 pattern */
const baseline = (z: number, back: number) => 3 + ((back * 7 + z * 3) % 4);

beforeAll(async () => {
  s = await startTestServer({ listen: false });
  cdc = await s.login('cdc1');
  const db = s.started.ctx.db;
  communities = (await db.query<{ id: number }>("SELECT id FROM region WHERE level = 'community' ORDER BY id")).rows.map((r) => Number(r.id));
  spiked = communities[2];
  const centre = Number((await db.query<{ id: number }>("SELECT id FROM institution WHERE type = 'community_health_centre' ORDER BY id LIMIT 1")).rows[0].id);
  const hospital = Number((await db.query<{ id: number }>("SELECT id FROM institution WHERE type = 'tertiary_hospital' ORDER BY id LIMIT 1")).rows[0].id);
  // the sentinel's daily fever registrations of every community, sent by the CDC on behalf of a health centre
  const counts = communities.flatMap((regionId, z) => Array.from({ length: DAYS }, (_, k) => {
    const back = DAYS - 1 - k;
    return { sourceCode: 'sentinel', categoryCode: 'fever', regionId, date: dateAt(-back), value: back === 0 && regionId === spiked ? SPIKE : baseline(z, back) };
  }));
  const sent = await s.app.inject({ method: 'POST', url: '/api/v1/surveillance/feeds', headers: { cookie: cdc }, payload: { institutionId: centre, counts } });
  expect(sent.statusCode).toBe(200);
  expect(sent.json()).toMatchObject({ accepted: counts.length, rejected: 0 });
  // eight measles cards diagnosed in one community on the as-of date (Beijing), none before
  for (let n = 0; n < 8; n++) {
    const r = await s.app.inject({
      method: 'POST', url: '/api/v1/surveillance/case-reports', headers: { cookie: cdc },
      payload: { institutionId: hospital, sourceId: `card-${n}`, regionId: communities[4], diseaseCode: 'B05', diagnosedAt: `${AS_OF}T${String(9 + n).padStart(2, '0')}:00:00+08:00` },
    });
    expect(r.statusCode).toBe(201);
  }
  unregister = onRunComplete(async (e) => {
    seen.push(e);
    return { alerts: 0 };
  });
});

afterAll(async () => {
  unregister?.();
  await s?.close();
});

const run = (cookie: string, payload?: unknown) => s.app.inject({ method: 'POST', url: '/api/v1/surveillance/runs', headers: { cookie }, payload: payload as never });
const signals = async (query: string) => {
  const r = await s.app.inject({ method: 'GET', url: `/api/v1/surveillance/signals?${query}`, headers: { cookie: cdc } });
  expect(r.statusCode).toBe(200);
  return r.json();
};

describe('the detection run', () => {
  let firstRunId: number;

  test('writes the EARS C2 signal of the spiked community with the bound computed from its series', async () => {
    const r = await run(cdc, { asOf: AS_OF });
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body).toMatchObject({ kind: 'on_demand', asOf: AS_OF, status: 'succeeded', error: null });
    firstRunId = body.id;
    // every community × (every active category + every notifiable disease)
    const kinds = Number((await s.started.ctx.db.query('SELECT (SELECT count(*) FROM surveillance_category WHERE active) + (SELECT count(*) FROM notifiable_disease WHERE active) AS n')).rows[0].n);
    expect(body.seriesCount).toBe(communities.length * kinds);
    for (const phase of ['read', 'series', 'ears', 'farrington', 'scan', 'write', 'hooks', 'total']) expect(body.timings[phase]).toBeGreaterThanOrEqual(0);

    // C2: the 7 days ending 3 days before the as-of date, mean + qnorm(0.999) × max(sd, minSigma = 1)
    const z = communities.indexOf(spiked);
    const window = [9, 8, 7, 6, 5, 4, 3].map((back) => baseline(z, back));
    const mean = window.reduce((a, b) => a + b, 0) / 7;
    const sd = Math.max(1, Math.sqrt(window.reduce((a, v) => a + (v - mean) ** 2, 0) / 6));
    const list = await signals(`date=${AS_OF}&algorithm=earsC2&sourceCode=sentinel`);
    expect(list.total).toBe(1);
    const sig = list.items[0];
    expect(sig).toMatchObject({ runId: firstRunId, categoryCode: 'fever', syndrome: 'fever', regionId: spiked, regionIds: [spiked], startDate: AS_OF, onDate: AS_OF, observed: SPIKE, pValue: null });
    expect(sig.threshold).toBeCloseTo(mean + Z_999 * sd, 9);
    expect(sig.expected).toBeCloseTo(mean, 9);
    expect(sig.statistic).toBeCloseTo((SPIKE - mean) / sd, 9);
  });

  test('case reports form daily series per disease', async () => {
    const list = await signals(`date=${AS_OF}&sourceCode=case_report&algorithm=earsC2`);
    expect(list.items).toHaveLength(1);
    // no report before: the baseline is all zeros, so the bound is the run's minSigma (1) × qnorm(0.999)
    expect(list.items[0]).toMatchObject({ categoryCode: 'B05', syndrome: 'rash', regionId: communities[4], observed: 8, expected: 0 });
    expect(list.items[0].threshold).toBeCloseTo(Z_999, 9);
  });

  test('the space-time scan finds the spiked community as a cluster ending on the as-of date', async () => {
    const list = await signals(`date=${AS_OF}&algorithm=stscan&sourceCode=sentinel&categoryCode=fever`);
    expect(list.total).toBeGreaterThanOrEqual(1);
    const cluster = list.items.find((x: { regionIds: number[] }) => x.regionIds.includes(spiked));
    expect(cluster).toBeDefined();
    expect(cluster.pValue).toBeLessThanOrEqual(0.01);
    expect(cluster.observed).toBeGreaterThan(cluster.expected);
    expect(cluster.statistic).toBeGreaterThan(0);
    // a community's signals include the clusters it belongs to
    const mine = await signals(`regionId=${spiked}&date=${AS_OF}`);
    expect(mine.items.map((x: { algorithm: string }) => x.algorithm).sort()).toEqual(expect.arrayContaining(['earsC2', 'stscan']));
  });

  test('the hooks receive the run and its signals', () => {
    expect(seen).toHaveLength(1);
    expect(seen[0].run.id).toBe(firstRunId);
    expect(seen[0].signals.map((x) => x.algorithm).sort()).toEqual(expect.arrayContaining(['earsC2', 'stscan']));
  });

  test('a rerun updates the signals instead of adding more', async () => {
    const before = (await signals(`date=${AS_OF}`)).total;
    const r = await run(cdc, { asOf: AS_OF });
    expect(r.statusCode).toBe(200);
    const after = await signals(`date=${AS_OF}`);
    expect(after.total).toBe(before);
    const ears = await signals(`date=${AS_OF}&algorithm=earsC2&sourceCode=sentinel`);
    expect(ears.total).toBe(1);
    expect(ears.items[0].runId).toBe(r.json().id);
    const runs = await s.app.inject({ method: 'GET', url: '/api/v1/surveillance/runs?pageSize=1', headers: { cookie: cdc } });
    expect(runs.json()).toMatchObject({ total: 2, page: 1, pageSize: 1, items: [{ id: r.json().id, signalCount: before }] });
  });

  test('the as-of date defaults to today; a bad one is refused naming the field', async () => {
    const r = await run(cdc, { asOf: '2026-02-30' });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'asOf' });
    const bad = await run(cdc, { asof: AS_OF });
    expect(bad.statusCode).toBe(400);
  });
});

describe('who may run and read', () => {
  test('a family doctor can neither start runs nor read signals', async () => {
    const doctor = await s.login('doctor1');
    const r = await run(doctor, { asOf: AS_OF });
    expect(r.statusCode).toBe(403);
    expect(r.json()).toMatchObject({ code: 'FORBIDDEN' });
    const g = await s.app.inject({ method: 'GET', url: '/api/v1/surveillance/signals', headers: { cookie: doctor } });
    expect(g.statusCode).toBe(403);
    const runs = await s.app.inject({ method: 'GET', url: '/api/v1/surveillance/runs', headers: { cookie: doctor } });
    expect(runs.statusCode).toBe(403);
  });

  test('the district administrator may start a run; not logged in is 401', async () => {
    const admin = await s.login('admin');
    const r = await run(admin, { asOf: '2026-03-17' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ asOf: '2026-03-17', status: 'succeeded' });
    const anon = await s.app.inject({ method: 'POST', url: '/api/v1/surveillance/runs', payload: {} });
    expect(anon.statusCode).toBe(401);
  });
});

describe('run settings', () => {
  test('the district administrator changes the EARS method; the next run uses it; bad settings name the field', async () => {
    const admin = await s.login('admin');
    const put = (cookie: string, payload: unknown) => s.app.inject({ method: 'PUT', url: '/api/v1/surveillance/run-settings', headers: { cookie }, payload: payload as never });
    expect((await put(cdc, { ears: { method: 'earsC1' } })).statusCode).toBe(403);
    const bad = await put(admin, { ears: { method: 'earsC1', params: { alpah: 0.01 } } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'config.ears.params.alpah' });
    const ok = await put(admin, { ears: { method: 'earsC1' }, scan: { enabled: false } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ ears: { method: 'earsC1', params: { baseline: 7, alpha: 0.001 } }, scan: { enabled: false } });
    const got = await s.app.inject({ method: 'GET', url: '/api/v1/surveillance/run-settings', headers: { cookie: cdc } });
    expect(got.json()).toEqual(ok.json());
    const r = await run(cdc, { asOf: '2026-03-16' });
    expect(r.json()).toMatchObject({ status: 'succeeded', config: { ears: { method: 'earsC1' } }, timings: { scans: 0 } });
    expect((await put(admin, {})).statusCode).toBe(200);
  });
});

describe('the daily job', () => {
  /** starts the job at a given instant, lets its first check run, and stops it (stop waits for a run in progress) */
  const tick = async (at: string, hour = 6) => {
    const errors: unknown[] = [];
    const job = startDailyRunJob(s.started.ctx.db, hour, (err) => errors.push(err), 3_600_000, () => new Date(at));
    await new Promise((r) => setTimeout(r, 30));
    await job.stop();
    expect(errors).toEqual([]);
  };
  const dailyRuns = async () => (await s.started.ctx.db.query("SELECT as_of::text AS as_of FROM surveillance_run WHERE kind = 'daily' ORDER BY id")).rows.map((r) => r.as_of);

  test('from 06:00 Beijing time it evaluates yesterday, once per date', async () => {
    await tick('2026-03-19T05:59:00+08:00');
    expect(await dailyRuns()).toEqual([]);
    await tick('2026-03-19T06:00:00+08:00');
    expect(await dailyRuns()).toEqual([AS_OF]);
    await tick('2026-03-19T18:00:00+08:00');
    expect(await dailyRuns()).toEqual([AS_OF]);
    // the hour is a setting
    await tick('2026-03-20T03:00:00+08:00', 2);
    expect(await dailyRuns()).toEqual([AS_OF, '2026-03-19']);
  });
});
