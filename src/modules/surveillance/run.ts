// The daily detection run (每日监测预警运行): for an as-of date, every community × source × category series of the
// district (and each notifiable disease's case reports as source `case_report`) is evaluated —
//   EARS (earsC2 by default) on the daily series at the as-of date,
//   farringtonFlexible (R's defaults) on the weekly aggregates at the last complete ISO week,
//   the space-time permutation scan per source × category across the communities (windows ending on the as-of date)
// — and the alarms are written as signals (a rerun updates them), with a surveillance_run row timing each phase.
// Then the hooks registered with onRunComplete run (the alerts module fuses signals into alerts there).
//
// Contents: hooks · dates · reading the series · the run · views for the API · the daily job.
//
// The series are read set-based (two statements: recent daily values, weekly aggregates over Farrington's years)
// and the computation is spread over worker threads (run-pool.ts): series in batches, each scan's replications in
// slices. Series of concentrations (wastewater) are evaluated by EARS over their samples only, and neither
// aggregated by week nor scanned: the permutation model and Farrington's GLM are for counts.
import { performance } from 'node:perf_hooks';
import type { Db } from '../../db/engine.ts';
import { AppError } from '../../platform/errors.ts';
import { startPeriodicJob, type PeriodicJob } from '../../platform/jobs.ts';
import { addDays, districtDate } from '../../platform/local-date.ts';
import { dayNumber, isoWeekday } from './algorithms/dates.ts';
import { finishScan, prepareScan, scanObserved, type StscanControl } from './algorithms/stscan.ts';
import type { PointResult } from './algorithms/types.ts';
import { ControlError } from './algorithms/types.ts';
import { signalPValue } from './fusion.ts';
import { parseRunConfig, type RunConfig } from './run-config.ts';
import { RunPool } from './run-pool.ts';
import * as sql from './run-queries.ts';
import type { SeriesItem } from './run-tasks.ts';

// ── hooks ─────────────────────────────────────────────────────────────────────────────────────────────────────

export interface RunCompleteEvent {
  db: Db;
  run: RunView;
  /** the signals this run wrote or updated */
  signals: SignalView[];
}
/** A hook may report how many alerts it raised or extended; they are counted on the run. */
export type RunHook = (event: RunCompleteEvent) => Promise<{ alerts?: number } | void>;

const hooks: RunHook[] = [];

/** Registers a function called after each run has written its signals; returns a function that unregisters it. */
export function onRunComplete(fn: RunHook): () => void {
  hooks.push(fn);
  return () => {
    const i = hooks.indexOf(fn);
    if (i >= 0) hooks.splice(i, 1);
  };
}

// ── dates ─────────────────────────────────────────────────────────────────────────────────────────────────────

/** The last complete ISO week on or before `asOf`: its Monday and Sunday. */
function lastCompleteWeek(asOf: string): { monday: string; sunday: string } {
  const sunday = isoWeekday(asOf) === 7 ? asOf : addDays(asOf, -isoWeekday(asOf));
  return { monday: addDays(sunday, -6), sunday };
}

/** The Monday on or after `date`. */
const mondayFrom = (date: string) => addDays(date, (8 - isoWeekday(date)) % 7);

// ── the run ───────────────────────────────────────────────────────────────────────────────────────────────────

export interface RunOptions {
  asOf: string;
  kind: 'daily' | 'on_demand';
  requestedBy?: number | null;
  /** worker threads (default: the machine's cores, up to 4); 1 computes in this thread */
  threads?: number;
  /** settings instead of the stored ones (the benchmark, tests) */
  config?: unknown;
}

interface SeriesRef {
  kind: sql.SeriesKind;
  regionId: number;
  community: number;
  daily: number[] | null;
  weekly: number[] | null;
  observedDaily: number;
  observedWeekly: number;
}

/** Timings in seconds per phase, as stored in surveillance_run.timings. */
export interface RunTimings {
  read: number;
  /** EARS and Farrington on the worker threads (wall time), and the time each algorithm took summed over threads */
  series: number;
  ears: number;
  farrington: number;
  /** the scans (wall time) and their replications summed over threads */
  scan: number;
  scanReplications: number;
  write: number;
  hooks: number;
  total: number;
  threads: number;
  scans: number;
  /** points computed (a series observed at 0 cannot alarm and is not computed) */
  earsPoints: number;
  farringtonPoints: number;
}

const BATCH = 250;
const round3 = (x: number) => Math.round(x * 1000) / 1000;

function checkDate(value: string, field: string) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || dayNumber(value) === undefined) throw new AppError('VALIDATION_FAILED', { detail: `${field}: must be a date YYYY-MM-DD` }, field);
}

/** The settings of the next run: the stored ones (defaults filled in), or the given ones. */
export async function runConfigOf(db: Db, given?: unknown): Promise<RunConfig> {
  const raw = given === undefined ? await sql.storedConfig(db) : given;
  try {
    return parseRunConfig(raw);
  } catch (err) {
    if (err instanceof ControlError) throw new AppError('VALIDATION_FAILED', { detail: err.message }, err.field);
    throw err;
  }
}

/**
 * Replaces the stored settings after checking them; returns them with the defaults filled in. What is stored is
 * what was given, so a default changed in a later version applies to the keys the district did not set.
 */
export async function saveRunConfig(db: Db, raw: unknown, userId: number | null): Promise<RunConfig> {
  const config = await runConfigOf(db, raw ?? {});
  await sql.saveConfig(db, raw ?? {}, userId);
  return config;
}

/** One run for `asOf`: reads, evaluates, writes signals, calls the hooks. Returns the finished run. */
export async function runSurveillance(db: Db, opts: RunOptions): Promise<RunView> {
  checkDate(opts.asOf, 'asOf');
  const config = await runConfigOf(db, opts.config);
  let row;
  try {
    row = await sql.insertRun(db, opts.kind, opts.asOf, opts.requestedBy ?? null, config);
  } catch (err) {
    if ((err as { code?: string }).code === '23505') throw new AppError('CONFLICT', { detail: `a daily run for ${opts.asOf} exists` }, 'asOf');
    throw err;
  }
  const runId = Number(row.id);
  const pool = new RunPool(opts.threads);
  const t: Partial<RunTimings> = { threads: pool.threads };
  const start = performance.now();
  let mark = start;
  const lap = () => {
    const now = performance.now();
    const s = (now - mark) / 1000;
    mark = now;
    return round3(s);
  };
  try {
    // read
    const data = await readSeries(db, opts.asOf, config);
    // sub-threshold support signals, when an active multi_source rule reads them (0027_signal_support.sql)
    const supportP = await sql.supportP(db);
    t.read = lap();

    // EARS and Farrington, in batches over the threads
    const evaluated = data.series.filter((s) => s.daily || s.weekly);
    t.earsPoints = evaluated.filter((s) => s.daily).length;
    t.farringtonPoints = evaluated.filter((s) => s.weekly).length;
    const batches: SeriesRef[][] = [];
    for (let i = 0; i < evaluated.length; i += BATCH) batches.push(evaluated.slice(i, i + BATCH));
    const results = await Promise.all(batches.map((b) => pool.run({
      kind: 'series', ears: config.ears, farrington: config.farrington.params, weeklyStart: data.weeklyStart,
      items: b.map((s): SeriesItem => ({ daily: s.daily, weekly: s.weekly })),
    })));
    const signals: sql.SignalInsert[] = [];
    let earsMs = 0;
    let farringtonMs = 0;
    results.forEach((r, bi) => {
      earsMs += r.earsMs;
      farringtonMs += r.farringtonMs;
      r.outcomes.forEach((o, j) => {
        const s = batches[bi][j];
        if (o.ears?.alarm) signals.push(seriesSignal(s, config.ears.method, opts.asOf, opts.asOf, s.observedDaily, o.ears));
        else if (supportP > 0 && o.ears?.alarm === false) {
          const p = signalPValue({ algorithm: config.ears.method, pValue: null, statistic: o.ears.statistic ?? null });
          if (p !== null && p <= supportP) signals.push({ ...seriesSignal(s, config.ears.method, opts.asOf, opts.asOf, s.observedDaily, o.ears), support: true });
        }
        if (o.farrington?.alarm) signals.push(seriesSignal(s, 'farringtonFlexible', data.week.monday, data.week.sunday, s.observedWeekly, o.farrington));
      });
    });
    t.series = lap();
    t.ears = round3(earsMs / 1000);
    t.farrington = round3(farringtonMs / 1000);

    // the scans: replications in slices over the threads, each scan's observed clusters here meanwhile
    let replicationMs = 0;
    let scans = 0;
    if (config.scan.enabled) {
      const control = config.scan.params as StscanControl;
      const scanSignals = await Promise.all(data.scanInputs.map(async (s) => {
        scans++;
        const R = control.replications;
        const slices = Math.min(pool.threads, Math.max(1, R));
        const parts = Array.from({ length: slices }, (_, k) => pool.run({
          kind: 'scan', input: s.input, control, from: Math.floor((k * R) / slices), to: Math.floor(((k + 1) * R) / slices),
        }));
        const prepared = prepareScan(s.input, control);
        const observed = scanObserved(prepared);
        const done = await Promise.all(parts);
        const maxima = new Float64Array(R);
        let at = 0;
        for (const d of done) {
          maxima.set(d.maxima, at);
          at += d.maxima.length;
          replicationMs += d.ms;
        }
        const result = finishScan(prepared, observed, maxima);
        return result.clusters.filter((c) => c.pValue <= config.scan.maxP).map((c): sql.SignalInsert => ({
          algorithm: 'stscan', source_code: s.kind.sourceCode, category_code: s.kind.categoryCode, syndrome: s.kind.syndrome,
          region_id: s.regionIds[c.centre], region_ids: c.zones.map((z) => s.regionIds[z]),
          start_date: addDays(s.firstDay, c.startDay), on_date: addDays(s.firstDay, c.endDay),
          observed: c.observed, expected: c.expected, threshold: null, statistic: c.llr, p_value: c.pValue,
        }));
      }));
      for (const list of scanSignals) signals.push(...list);
    }
    t.scan = lap();
    t.scanReplications = round3(replicationMs / 1000);
    t.scans = scans;
    await pool.close();

    // write
    const written = (await db.tx(async (q) => sql.upsertSignals(q, runId, signals))).filter((r) => !r.support);
    t.write = lap();

    // hooks
    let run = viewRun(await sql.finishRun(db, runId, {
      status: 'succeeded', seriesCount: data.series.length, signalCount: written.length, timings: { ...t, hooks: 0, total: round3((performance.now() - start) / 1000) },
    }));
    const signalViews = written.map(viewSignal);
    let alerts = 0;
    const hookErrors: string[] = [];
    for (const hook of [...hooks]) {
      try {
        const r = await hook({ db, run, signals: signalViews });
        if (r && typeof r.alerts === 'number') alerts += r.alerts;
      } catch (err) {
        hookErrors.push(err instanceof Error ? err.message : String(err));
      }
    }
    t.hooks = lap();
    t.total = round3((performance.now() - start) / 1000);
    run = viewRun(await sql.finishRun(db, runId, {
      status: 'succeeded', seriesCount: data.series.length, signalCount: written.length, alertCount: alerts, timings: t,
      error: hookErrors.length ? `after the run: ${hookErrors.join('; ')}`.slice(0, 2000) : null,
    }));
    return run;
  } catch (err) {
    await pool.close().catch(() => {});
    t.total = round3((performance.now() - start) / 1000);
    await sql.finishRun(db, runId, { status: 'failed', timings: t, error: err instanceof Error ? err.message.slice(0, 2000) : String(err) }).catch(() => {});
    throw err;
  }
}

function seriesSignal(s: SeriesRef, algorithm: string, startDate: string, onDate: string, observed: number, p: PointResult): sql.SignalInsert {
  return {
    algorithm, source_code: s.kind.sourceCode, category_code: s.kind.categoryCode, syndrome: s.kind.syndrome, region_id: s.regionId, region_ids: [s.regionId],
    start_date: startDate, on_date: onDate, observed, expected: p.expected ?? null, threshold: p.upperbound, statistic: p.statistic ?? null, p_value: null,
  };
}

// ── reading the series ────────────────────────────────────────────────────────────────────────────────────────

interface ScanInputRef {
  kind: sql.SeriesKind;
  regionIds: number[];
  firstDay: string;
  input: { counts: number[][]; centroids: { lon: number; lat: number }[] };
}

interface RunData {
  series: SeriesRef[];
  weeklyStart: string;
  week: { monday: string; sunday: string };
  scanInputs: ScanInputRef[];
}

async function readSeries(db: Db, asOf: string, config: RunConfig): Promise<RunData> {
  const dailyFrom = addDays(asOf, -(config.dailyDays - 1));
  const week = lastCompleteWeek(asOf);
  // Farrington's reference weeks reach b years and w weeks back (and one more week for the window's edge)
  const { b, w } = config.farrington.params as { b: number; w: number };
  const wanted = addDays(week.monday, -7 * (Math.ceil((b * 365.25) / 7) + w + 1));
  const [regions, kinds, first] = await Promise.all([sql.communities(db), sql.seriesKinds(db), sql.firstDataDate(db)]);
  const weeklyStart = first && first > wanted ? mondayFrom(first) : wanted;
  const weeks = Math.max(0, (dayNumber(week.sunday)! - dayNumber(weeklyStart)! + 1) / 7);
  const [daily, weekly] = await Promise.all([
    sql.buckets(db, dailyFrom, asOf, 1),
    config.farrington.enabled && weeks > 0 ? sql.buckets(db, weeklyStart, week.sunday, 7) : Promise.resolve([]),
  ]);

  const communityIndex = new Map(regions.map((r, i) => [r.id, i]));
  const kindIndex = new Map(kinds.map((k, i) => [`${k.sourceCode}|${k.categoryCode}`, i]));
  const Z = regions.length;
  const D = config.dailyDays;
  // dense values: kind-major, then community, then day (NaN = no value that day, for sampled sources)
  const dailyValues = kinds.map((k) => new Float64Array(Z * D).fill(k.unit === 'count' ? 0 : Number.NaN));
  const weeklyValues = kinds.map(() => new Float64Array(Z * weeks));
  const spread = (rows: sql.BucketRow[], target: Float64Array[], len: number) => {
    for (const r of rows) {
      const k = kindIndex.get(`${r.source_code}|${r.category_code}`);
      const z = communityIndex.get(Number(r.region_id));
      if (k === undefined || z === undefined) continue; // inactive category, or not a community
      const arr = target[k];
      for (let n = 0; n < r.i.length; n++) arr[z * len + Number(r.i[n])] = Number(r.v[n]);
    }
  };
  spread(daily, dailyValues, D);
  spread(weekly, weeklyValues, weeks);

  const series: SeriesRef[] = [];
  kinds.forEach((kind, k) => {
    regions.forEach((region, z) => {
      const d = dailyValues[k].subarray(z * D, (z + 1) * D);
      const wk = weeklyValues[k].subarray(z * weeks, (z + 1) * weeks);
      const count = kind.unit === 'count';
      // sampled sources: EARS over the samples, when there is one on the as-of date
      const samples = count ? null : Array.from(d).filter((v) => !Number.isNaN(v));
      const observedDaily = count ? d[D - 1] : Number.isNaN(d[D - 1]) ? 0 : d[D - 1];
      const observedWeekly = weeks > 0 ? wk[weeks - 1] : 0;
      // a point observed at 0 cannot alarm (EARS: 0 > a bound ≥ 0 never holds; Farrington requires y ≠ 0): not computed
      series.push({
        kind, regionId: region.id, community: z,
        daily: observedDaily > 0 ? (count ? Array.from(d) : samples) : null,
        weekly: count && config.farrington.enabled && observedWeekly > 0 ? Array.from(wk) : null,
        observedDaily, observedWeekly,
      });
    });
  });

  // the scans: communities with a centroid, the study period's counts; none where the windows hold no case
  const scanInputs: ScanInputRef[] = [];
  if (config.scan.enabled) {
    const located = regions.map((r, z) => ({ r, z })).filter(({ r }) => r.lon !== null && r.lat !== null);
    const S = config.scan.studyDays;
    const maxDays = config.scan.params.maxDays ?? Math.floor(S / 2);
    kinds.forEach((kind, k) => {
      if (kind.unit !== 'count' || located.length < 2) return;
      const counts = located.map(({ z }) => Array.from(dailyValues[k].subarray(z * D + D - S, (z + 1) * D), (v) => Math.round(v)));
      let recent = 0;
      for (const row of counts) for (let d = S - maxDays; d < S; d++) recent += row[d];
      if (recent === 0) return;
      scanInputs.push({
        kind, regionIds: located.map(({ r }) => r.id), firstDay: addDays(asOf, -(S - 1)),
        input: { counts, centroids: located.map(({ r }) => ({ lon: r.lon!, lat: r.lat! })) },
      });
    });
  }
  return { series, weeklyStart, week, scanInputs };
}

// ── views ─────────────────────────────────────────────────────────────────────────────────────────────────────

export interface RunView {
  id: number;
  kind: 'daily' | 'on_demand';
  asOf: string;
  status: 'running' | 'succeeded' | 'failed';
  startedAt: string;
  finishedAt: string | null;
  seriesCount: number | null;
  signalCount: number | null;
  alertCount: number | null;
  timings: Record<string, number>;
  error: string | null;
  requestedBy: number | null;
  config: unknown;
}

const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : v == null ? null : String(v));
const numOrNull = (v: unknown) => (v == null ? null : Number(v));

export function viewRun(r: Record<string, any>): RunView {
  return {
    id: Number(r.id), kind: r.kind, asOf: r.as_of, status: r.status, startedAt: iso(r.started_at)!, finishedAt: iso(r.finished_at),
    seriesCount: numOrNull(r.series_count), signalCount: numOrNull(r.signal_count), alertCount: numOrNull(r.alert_count),
    timings: r.timings ?? {}, error: r.error ?? null, requestedBy: numOrNull(r.requested_by), config: r.config ?? null,
  };
}

export interface SignalView {
  id: number;
  runId: number | null;
  algorithm: string;
  sourceCode: string;
  categoryCode: string;
  syndrome: string;
  regionId: number;
  regionIds: number[];
  startDate: string;
  onDate: string;
  observed: number;
  expected: number | null;
  threshold: number | null;
  statistic: number | null;
  pValue: number | null;
  high: boolean;
  /** a sub-threshold score kept as supporting evidence for fusion, not an alarm */
  support: boolean;
  createdAt: string;
}

export function viewSignal(r: Record<string, any>): SignalView {
  return {
    id: Number(r.id), runId: numOrNull(r.run_id), algorithm: r.algorithm, sourceCode: r.source_code, categoryCode: r.category_code, syndrome: r.syndrome,
    regionId: Number(r.region_id), regionIds: (r.region_ids as unknown[]).map(Number), startDate: r.start_date, onDate: r.on_date,
    observed: Number(r.observed), expected: numOrNull(r.expected), threshold: numOrNull(r.threshold), statistic: numOrNull(r.statistic), pValue: numOrNull(r.p_value),
    high: Boolean(r.high), support: Boolean(r.support), createdAt: iso(r.created_at)!,
  };
}

export async function listRuns(db: Db, page: number, pageSize: number) {
  const rows = await sql.listRuns(db, page, pageSize);
  return { items: rows.map(viewRun), total: rows[0]?.total ?? 0, page, pageSize };
}

export async function listSignals(db: Db, filter: sql.SignalFilter, page: number, pageSize: number) {
  for (const f of ['date', 'from', 'to'] as const) if (filter[f] !== undefined) checkDate(filter[f]!, f);
  const rows = await sql.listSignals(db, filter, page, pageSize);
  return { items: rows.map(viewSignal), total: rows[0]?.total ?? 0, page, pageSize };
}

// ── the daily job ─────────────────────────────────────────────────────────────────────────────────────────────

/**
 * The scheduled daily run: from `hour` o'clock Beijing time it evaluates yesterday (the last complete day), once
 * per date — the check is repeated every `intervalMs`, and the unique index on daily runs keeps two processes from
 * both running it.
 */
export function startDailyRunJob(db: Db, hour: number, onError: (err: unknown) => void, intervalMs = 5 * 60_000, now = () => new Date()): PeriodicJob {
  return startPeriodicJob(async () => {
    const at = now();
    const beijingHour = (at.getUTCHours() + 8) % 24;
    if (beijingHour < hour) return;
    const asOf = addDays(districtDate(at), -1);
    if (await sql.dailyRunExists(db, asOf)) return;
    try {
      await runSurveillance(db, { asOf, kind: 'daily' });
    } catch (err) {
      if (err instanceof AppError && err.code === 'CONFLICT') return; // another process took it
      throw err;
    }
  }, onError, intervalMs);
}
