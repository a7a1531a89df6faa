// A multi_source rule that combines the sources' evidence (maxCombinedP: Fisher's combination of the independence
// groups' p-values; minDays: persistence), set by the district admin through the API, then applied by the daily run's
// fusion: two days of signals make no alert, the third day's does, and the alert's detail explains the combination.
// Signals and runs are written through the Db as detection's output (as in surveillance-alerts.test.ts); fusion is
// started with fuseRun as the run's hook calls it.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { ok } from '../helpers/surveillance.ts';
import { fuseRun } from '../../src/modules/surveillance/alerts.ts';
import { addDays } from '../../src/platform/local-date.ts';

type Json = Record<string, any>;
let s: TestServer;
let cdc: string, admin: string;
/** c[0] borders c[1] */
let c: number[];
const AS_OF = '2025-04-14';

const db = () => s.started.ctx.db;
const get = (url: string, cookie: string) => s.app.inject({ url, headers: { cookie } });
const put = (url: string, cookie: string, payload: unknown) => s.app.inject({ method: 'PUT', url, headers: { cookie }, payload: payload as any });

async function runOf(asOf: string): Promise<number> {
  const { rows } = await db().query("INSERT INTO surveillance_run (kind, as_of, status, finished_at) VALUES ('on_demand', $1, 'succeeded', now()) RETURNING id", [asOf]);
  return Number(rows[0].id);
}

/** An EARS C2 signal as the run writes it: score (observed − mean) / σ in statistic, no p-value of its own. */
async function ears(runId: number, source: string, category: string, community: number, date: string, observed: number, threshold: number, statistic: number): Promise<number> {
  const { rows } = await db().query(
    `INSERT INTO signal (run_id, algorithm, source_code, category_code, syndrome, region_id, region_ids, start_date, on_date, observed, expected, threshold, statistic, p_value)
     VALUES ($1, 'earsC2', $2, $3, 'fever', $4, ARRAY[$4]::bigint[], $5, $5, $6, $7, $8, $9, NULL) RETURNING id`,
    [runId, source, category, community, date, observed, threshold / 2, threshold, statistic],
  );
  return Number(rows[0].id);
}

const fuse = (runId: number, asOf: string) => db().tx((q) => fuseRun(q, { runId, asOf }));

beforeAll(async () => {
  s = await startTestServer();
  [cdc, admin] = await Promise.all(['cdc1', 'admin'].map((u) => s.login(u)));
  c = (await db().query("SELECT id FROM region WHERE level = 'community' ORDER BY id LIMIT 2")).rows.map((r) => Number(r.id));
  await db().query('DELETE FROM region_adjacency WHERE region_id = ANY($1::bigint[]) OR neighbour_id = ANY($1::bigint[])', [c]);
  await db().query('INSERT INTO region_adjacency (region_id, neighbour_id) VALUES ($1, $2), ($2, $1)', [c[0], c[1]]);
});
afterAll(async () => s?.close());

describe('multi_source with combined evidence', () => {
  const ids: number[] = [];

  test('the admin sets the rule to combine the sources (Fisher p ≤ 1e-6) and to want evidence on 3 days', async () => {
    const current = (await ok(get('/api/v1/surveillance/fusion-rules', cdc))).find((r: Json) => r.code === 'multi_source');
    const params = { minSources: 2, windowDays: 7, adjacency: 'adjacent', minObserved: 3, strongFactor: 2, maxCombinedP: 1e-6, minDays: 3 };
    const r = await ok(put('/api/v1/surveillance/fusion-rules/multi_source', admin, { version: current.version, params, riskLevel: 'high' }));
    expect(r).toMatchObject({ code: 'multi_source', version: current.version + 1, params, active: true });
    expect(await ok(put('/api/v1/surveillance/fusion-rules/multi_source?lang=en', admin, { version: r.version, params: { ...params, maxCombinedP: 0 }, riskLevel: 'high' }), 400))
      .toMatchObject({ code: 'VALIDATION_FAILED', field: 'params.maxCombinedP' });
  });

  test('two sources, one far beyond its threshold, on two days: not persistent enough, no alert', async () => {
    const d1 = addDays(AS_OF, -2);
    const r1 = await runOf(d1);
    ids.push(await ears(r1, 'fever_clinic', 'visits', c[0], d1, 8, 6, 4.5));
    expect(await fuse(r1, d1)).toMatchObject({ candidates: 0, created: [] });
    const d2 = addDays(AS_OF, -1);
    const r2 = await runOf(d2);
    ids.push(await ears(r2, 'pharmacy', 'antipyretic', c[1], d2, 40, 18, 4.5));
    expect(await fuse(r2, d2)).toMatchObject({ candidates: 0, created: [] });
    expect((await ok(get('/api/v1/surveillance/alerts', cdc))).total).toBe(0);
  });

  test('a third day makes the alert; its detail names each group’s strongest signal and Fisher’s combination', async () => {
    const r3 = await runOf(AS_OF);
    ids.push(await ears(r3, 'fever_clinic', 'visits', c[0], AS_OF, 7, 5, 3.2));
    const r = await fuse(r3, AS_OF);
    expect(r.created).toHaveLength(1);
    const d = await ok(get(`/api/v1/surveillance/alerts/${r.created[0]}`, cdc));
    expect(d).toMatchObject({ riskLevel: 'high', syndrome: 'fever', rule: { code: 'multi_source' }, firstDate: addDays(AS_OF, -2), lastDate: AS_OF, sources: ['fever_clinic', 'pharmacy'], signalCount: 3 });
    // R: pnorm(4.5, lower.tail = FALSE) = 3.3976731e-6 for both groups (the clinic's z = 3.2 today is weaker than its
    // z = 4.5 two days ago); −2 Σ ln p = 50.36968 on 4 df; pchisq(50.36968, 4, lower.tail = FALSE) = 3.0228257e-10
    expect(d.evidence).toEqual({
      groups: [
        { group: 'clinical', source: 'fever_clinic', signalId: ids[0], algorithm: 'earsC2', date: addDays(AS_OF, -2), pValue: expect.closeTo(3.3976731e-6, 11) },
        { group: 'pharmacy', source: 'pharmacy', signalId: ids[1], algorithm: 'earsC2', date: addDays(AS_OF, -1), pValue: expect.closeTo(3.3976731e-6, 11) },
      ],
      statistic: expect.closeTo(50.36968, 3), df: 4, pValue: expect.closeTo(3.0228257e-10, 15), days: 3,
    });
  });

  test('the same two sources with weak scores on three days do not combine to 1e-6', async () => {
    const day = addDays(AS_OF, 20);
    for (const [offset, source, category, z] of [[-2, 'fever_clinic', 'visits', 3.2], [-1, 'pharmacy', 'antipyretic', 3.2], [0, 'fever_clinic', 'visits', 3.2]] as const) {
      const run = await runOf(addDays(day, offset));
      // observed ≥ 2 × threshold: only the combination can refuse it
      await ears(run, source, category, c[0], addDays(day, offset), 20, 9, z);
      if (offset === 0) {
        // p = 6.87e-4 per group: −2 Σ ln p = 29.13 on 4 df, p = 7.3e-6 > 1e-6
        expect(await fuse(run, addDays(day, offset))).toMatchObject({ candidates: 0, created: [] });
      }
    }
  });
});
