// SQL of the daily run: the district's series read set-based (one statement for the daily values, one for the weekly
// aggregates), the run rows and the signals. Values always travel as $n parameters.
import type { Queryable } from '../../db/engine.ts';

export interface Community {
  id: number;
  lon: number | null;
  lat: number | null;
}

export async function communities(q: Queryable): Promise<Community[]> {
  const { rows } = await q.query<Community>("SELECT id, lon, lat FROM region WHERE level = 'community' ORDER BY id");
  return rows.map((r) => ({ id: Number(r.id), lon: r.lon === null ? null : Number(r.lon), lat: r.lat === null ? null : Number(r.lat) }));
}

export interface SeriesKind {
  sourceCode: string;
  categoryCode: string;
  syndrome: string;
  unit: 'count' | 'percent' | 'concentration';
}

/** Every active source × category, and the notifiable diseases as the categories of source case_report. */
export async function seriesKinds(q: Queryable): Promise<SeriesKind[]> {
  const { rows } = await q.query<{ source_code: string; category_code: string; syndrome: string; unit: SeriesKind['unit'] }>(
    `SELECT c.source_code, c.code AS category_code, c.syndrome, s.unit, s.sort, c.sort AS csort
       FROM surveillance_category c JOIN surveillance_source s ON s.code = c.source_code
      WHERE c.active AND s.active AND s.code <> 'case_report'
     UNION ALL
     SELECT 'case_report', d.code, d.syndrome, 'count', s.sort, 0
       FROM notifiable_disease d JOIN surveillance_source s ON s.code = 'case_report'
      WHERE d.active AND s.active
      ORDER BY 5, 6, 2`,
  );
  return rows.map((r) => ({ sourceCode: r.source_code, categoryCode: r.category_code, syndrome: r.syndrome, unit: r.unit }));
}

export interface BucketRow {
  source_code: string;
  category_code: string;
  region_id: number;
  /** bucket index from `from` (days / step), and the bucket's value */
  i: number[];
  v: number[];
}

/**
 * Values per (source, category, community) in buckets of `step` days from `from` to `to` (both inclusive): feed
 * counts summed over institutions, plus active line-list items, plus case reports (not entered in error) by their
 * diagnosis date in Beijing. One statement; a series without any value in the range has no row.
 */
export async function buckets(q: Queryable, from: string, to: string, step: 1 | 7): Promise<BucketRow[]> {
  const { rows } = await q.query<BucketRow>(
    `WITH pts AS (
       SELECT source_code, category_code, region_id, on_date, value FROM feed_count WHERE on_date BETWEEN $1::date AND $2::date
       UNION ALL
       SELECT source_code, category_code, region_id, on_date, count(*)::float8 FROM feed_item
        WHERE status = 'active' AND on_date BETWEEN $1::date AND $2::date GROUP BY 1, 2, 3, 4
       UNION ALL
       SELECT 'case_report', disease_code, region_id, (diagnosed_at AT TIME ZONE 'Asia/Shanghai')::date, 1::float8 FROM case_report
        WHERE status <> 'entered-in-error'
          AND diagnosed_at >= ($1::date)::timestamp AT TIME ZONE 'Asia/Shanghai' AND diagnosed_at < ($2::date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai'
     ),
     b AS (SELECT source_code, category_code, region_id, (on_date - $1::date) / $3::int AS i, sum(value) AS v FROM pts GROUP BY 1, 2, 3, 4)
     SELECT source_code, category_code, region_id, array_agg(i ORDER BY i) AS i, array_agg(v ORDER BY i) AS v FROM b GROUP BY 1, 2, 3`,
    [from, to, step],
  );
  return rows;
}

/** The first day with any data (feeds or case reports), or null: weekly history is not taken from before it. */
export async function firstDataDate(q: Queryable): Promise<string | null> {
  const { rows } = await q.query<{ d: string | null }>(
    `SELECT least((SELECT min(on_date) FROM feed_count), (SELECT min(on_date) FROM feed_item),
                  (SELECT min(diagnosed_at) FROM case_report)::date)::text AS d`,
  );
  return rows[0]?.d ?? null;
}

// ── runs ──────────────────────────────────────────────────────────────────────────────────────────────────────

export const RUN_COLUMNS = `id, kind, as_of::text AS as_of, status, started_at, finished_at, series_count, signal_count, alert_count, timings, error, requested_by, config`;

export async function insertRun(q: Queryable, kind: 'daily' | 'on_demand', asOf: string, requestedBy: number | null, config: unknown) {
  const { rows } = await q.query(`INSERT INTO surveillance_run (kind, as_of, requested_by, config) VALUES ($1, $2, $3, $4) RETURNING ${RUN_COLUMNS}`, [kind, asOf, requestedBy, JSON.stringify(config)]);
  return rows[0];
}

export async function finishRun(q: Queryable, id: number, f: { status: 'succeeded' | 'failed'; seriesCount?: number; signalCount?: number; alertCount?: number; timings: unknown; error?: string | null }) {
  const { rows } = await q.query(
    `UPDATE surveillance_run SET status = $2, finished_at = now(), series_count = $3, signal_count = $4, alert_count = $5, timings = $6, error = $7
      WHERE id = $1 RETURNING ${RUN_COLUMNS}`,
    [id, f.status, f.seriesCount ?? null, f.signalCount ?? null, f.alertCount ?? null, JSON.stringify(f.timings), f.error ?? null],
  );
  return rows[0];
}

export async function dailyRunExists(q: Queryable, asOf: string): Promise<boolean> {
  const { rows } = await q.query("SELECT 1 FROM surveillance_run WHERE kind = 'daily' AND as_of = $1 AND status <> 'failed'", [asOf]);
  return rows.length > 0;
}

export async function storedConfig(q: Queryable): Promise<unknown> {
  const { rows } = await q.query<{ config: unknown }>('SELECT config FROM surveillance_run_setting');
  return rows[0]?.config ?? {};
}

export async function saveConfig(q: Queryable, config: unknown, userId: number | null) {
  await q.query('UPDATE surveillance_run_setting SET config = $1, updated_by = $2, updated_at = now()', [JSON.stringify(config), userId]);
}

export async function listRuns(q: Queryable, page: number, pageSize: number) {
  const { rows } = await q.query(
    `SELECT ${RUN_COLUMNS}, count(*) OVER ()::int AS total FROM surveillance_run ORDER BY started_at DESC, id DESC LIMIT $1 OFFSET $2`,
    [pageSize, (page - 1) * pageSize],
  );
  return rows;
}

// ── signals ───────────────────────────────────────────────────────────────────────────────────────────────────

export interface SignalInsert {
  algorithm: string;
  source_code: string;
  category_code: string;
  syndrome: string;
  region_id: number;
  region_ids: number[];
  start_date: string;
  on_date: string;
  observed: number;
  expected: number | null;
  threshold: number | null;
  statistic: number | null;
  p_value: number | null;
  /** a sub-threshold score written as supporting evidence for the fusion rules, not an alarm (0027_signal_support.sql) */
  support?: boolean;
}

export const SIGNAL_COLUMNS = `id, run_id, algorithm, source_code, category_code, syndrome, region_id, region_ids, start_date::text AS start_date,
  on_date::text AS on_date, observed, expected, threshold, statistic, p_value, high, support, created_at`;

/** All of a run's signals in one statement; a signal already there for the same key (a rerun) is updated. */
export async function upsertSignals(q: Queryable, runId: number, signals: SignalInsert[]) {
  if (!signals.length) return [];
  const { rows } = await q.query(
    `INSERT INTO signal (run_id, algorithm, source_code, category_code, syndrome, region_id, region_ids, start_date, on_date, observed, expected, threshold, statistic, p_value, support)
     SELECT $1, x.algorithm, x.source_code, x.category_code, x.syndrome, x.region_id, x.region_ids, x.start_date, x.on_date, x.observed, x.expected, x.threshold, x.statistic, x.p_value,
            coalesce(x.support, false)
       FROM jsonb_to_recordset($2::jsonb) AS x(algorithm text, source_code text, category_code text, syndrome text, region_id bigint, region_ids bigint[],
            start_date date, on_date date, observed float8, expected float8, threshold float8, statistic float8, p_value float8, support boolean)
     ON CONFLICT (algorithm, source_code, category_code, region_id, on_date) DO UPDATE SET
       run_id = EXCLUDED.run_id, syndrome = EXCLUDED.syndrome, region_ids = EXCLUDED.region_ids, start_date = EXCLUDED.start_date,
       observed = EXCLUDED.observed, expected = EXCLUDED.expected, threshold = EXCLUDED.threshold, statistic = EXCLUDED.statistic, p_value = EXCLUDED.p_value,
       support = EXCLUDED.support
     RETURNING ${SIGNAL_COLUMNS}`,
    [runId, JSON.stringify(signals)],
  );
  return rows;
}

/** The largest supportP of the active multi_source rules (0 when none reads support signals): what the run writes. */
export async function supportP(q: Queryable): Promise<number> {
  const { rows } = await q.query(
    `SELECT coalesce(max((params->>'supportP')::float8), 0) AS p FROM fusion_rule
      WHERE active AND kind = 'multi_source' AND jsonb_typeof(params->'supportP') = 'number'`,
  );
  return Math.min(0.5, Math.max(0, Number(rows[0].p)));
}

export interface SignalFilter {
  date?: string;
  from?: string;
  to?: string;
  sourceCode?: string;
  categoryCode?: string;
  regionId?: number;
  algorithm?: string;
  runId?: number;
}

export async function listSignals(q: Queryable, f: SignalFilter, page: number, pageSize: number) {
  const params: unknown[] = [];
  const add = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  // alarms only: support signals (sub-threshold scores) are evidence for fusion, shown with the alerts they support
  const where: string[] = ['NOT support'];
  if (f.date) where.push(`on_date = ${add(f.date)}::date`);
  if (f.from) where.push(`on_date >= ${add(f.from)}::date`);
  if (f.to) where.push(`on_date <= ${add(f.to)}::date`);
  if (f.sourceCode) where.push(`source_code = ${add(f.sourceCode)}`);
  if (f.categoryCode) where.push(`category_code = ${add(f.categoryCode)}`);
  if (f.algorithm) where.push(`algorithm = ${add(f.algorithm)}`);
  if (f.runId) where.push(`run_id = ${add(f.runId)}`);
  // a community's signals: its own series and the clusters it belongs to
  if (f.regionId) where.push(`region_ids @> ARRAY[${add(f.regionId)}::bigint]`);
  const { rows } = await q.query(
    `SELECT ${SIGNAL_COLUMNS}, count(*) OVER ()::int AS total FROM signal ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY on_date DESC, id DESC LIMIT ${add(pageSize)} OFFSET ${add((page - 1) * pageSize)}`,
    params,
  );
  return rows;
}
