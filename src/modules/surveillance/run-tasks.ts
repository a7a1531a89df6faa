// The daily run's computation, in pieces a worker thread can take: a batch of series (EARS on the daily series,
// farringtonFlexible on the weekly one, each at its last point) or a slice of a scan's Monte Carlo replications.
// Pure: no database, no I/O; the same function runs on a worker (run-worker.ts) or inline (one thread).
import { earsC } from './algorithms/ears.ts';
import { farringtonFlexible } from './algorithms/farrington.ts';
import { prepareScan, replicateMaxima, type StscanControl, type StscanInput } from './algorithms/stscan.ts';
import type { PointResult } from './algorithms/types.ts';
import type { EarsMethodName } from './run-config.ts';

export interface SeriesItem {
  /** daily values, the last one the as-of date (for sampled sources: the samples, the last one on the as-of date); null: not evaluated */
  daily: number[] | null;
  /** weekly counts from weeklyStart, the last one the evaluated week; null: not evaluated */
  weekly: number[] | null;
}

export interface SeriesTask {
  kind: 'series';
  ears: { method: EarsMethodName; params: Record<string, unknown> };
  farrington: Record<string, unknown>;
  /** the Monday of weekly[0] */
  weeklyStart: string;
  items: SeriesItem[];
}

export interface ScanTask {
  kind: 'scan';
  input: StscanInput;
  control: Partial<StscanControl>;
  from: number;
  to: number;
}

export type RunTask = SeriesTask | ScanTask;

export interface SeriesOutcome {
  ears: PointResult | null;
  farrington: PointResult | null;
}

export interface SeriesTaskResult {
  outcomes: SeriesOutcome[];
  /** milliseconds spent in each algorithm */
  earsMs: number;
  farringtonMs: number;
}

export interface ScanTaskResult {
  maxima: Float64Array;
  ms: number;
}

const EARS_VARIANT = { earsC1: 'C1', earsC2: 'C2', earsC3: 'C3' } as const;

function evaluateSeries(task: SeriesTask): SeriesTaskResult {
  let earsMs = 0;
  let farringtonMs = 0;
  const earsControl = { ...task.ears.params, method: EARS_VARIANT[task.ears.method] };
  const outcomes = task.items.map((item): SeriesOutcome => {
    let ears: PointResult | null = null;
    let farrington: PointResult | null = null;
    const t0 = performance.now();
    if (item.daily && item.daily.length) {
      const last = item.daily.length - 1;
      // EARS reads the counts only (its windows are the points before), so the calendar is immaterial here
      ears = earsC({ counts: item.daily, frequency: 'daily', start: '2000-01-03' }, earsControl, { from: last, to: last }).points[0];
    }
    const t1 = performance.now();
    if (item.weekly && item.weekly.length) {
      const last = item.weekly.length - 1;
      farrington = farringtonFlexible({ counts: item.weekly, frequency: 'weekly', start: task.weeklyStart }, task.farrington, { from: last, to: last }).points[0];
    }
    earsMs += t1 - t0;
    farringtonMs += performance.now() - t1;
    return { ears, farrington };
  });
  return { outcomes, earsMs, farringtonMs };
}

function scanSlice(task: ScanTask): ScanTaskResult {
  const t0 = performance.now();
  const maxima = replicateMaxima(prepareScan(task.input, task.control), task.from, task.to);
  return { maxima, ms: performance.now() - t0 };
}

export function runTask(task: SeriesTask): SeriesTaskResult;
export function runTask(task: ScanTask): ScanTaskResult;
export function runTask(task: RunTask): SeriesTaskResult | ScanTaskResult;
export function runTask(task: RunTask): SeriesTaskResult | ScanTaskResult {
  return task.kind === 'series' ? evaluateSeries(task) : scanSlice(task);
}
