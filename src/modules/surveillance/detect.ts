// Detection jobs (`caregrid detect`, POST /api/v1/surveillance/detect): one job or an array of jobs in, one result
// or an array of results (same order) out. A job is a series of counts with its calendar, the method (a name of the
// method table in algorithms/index.ts), the evaluated dates and the method's params under R's control names.
// Every problem is reported as VALIDATION_FAILED naming the field as the body spells it: `counts[3]`,
// `params.alpha`, and `[2].from` for the third job of an array.
import { z } from 'zod';
import { AppError } from '../../platform/errors.ts';
import { dateAt, dayNumber, isoWeekday, stepsFromStart } from './algorithms/dates.ts';
import { isMethodName, METHOD_NAMES, METHODS } from './algorithms/index.ts';
import { ControlError, type Series } from './algorithms/types.ts';

/** Limits that keep one request a few seconds of work at most. */
export const MAX_JOBS = 1000;
export const MAX_COUNTS = 20_000;

const date = z.string({ error: 'must be a date YYYY-MM-DD' }).regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'must be a date YYYY-MM-DD' });

export const DetectJob = z.strictObject({
  method: z.enum(METHOD_NAMES, { error: `must be one of ${METHOD_NAMES.join(', ')}` }),
  frequency: z.enum(['daily', 'weekly'], { error: 'must be daily or weekly' }),
  start: date.describe('date of counts[0]; for weekly series the Monday of its ISO week'),
  counts: z.array(z.number({ error: 'must be a non-negative integer' }).int({ error: 'must be a non-negative integer' }).min(0, { error: 'must be a non-negative integer' }), { error: 'must be an array of counts' })
    .min(1, { error: 'must hold at least one count' }).max(MAX_COUNTS, { error: `may hold at most ${MAX_COUNTS} counts` })
    .describe('counts[i] is the count of the day start + i days, or of the ISO week starting start + 7i days'),
  from: date.optional().describe('first evaluated date (default: start)'),
  to: date.optional().describe('last evaluated date (default: the date of the last count)'),
  params: z.record(z.string(), z.unknown(), { error: 'must be an object' }).optional().describe("the method's control parameters, R's names and defaults; unknown ones are refused"),
}, { error: 'must be an object' });
export type DetectJob = z.infer<typeof DetectJob>;

export const DetectPoint = z.object({ date: z.string(), observed: z.number(), upperbound: z.number().nullable(), alarm: z.boolean().nullable() });
export const DetectResult = z.object({ points: z.array(DetectPoint) });
export type DetectResult = z.infer<typeof DetectResult>;

export const DetectBody = z.union([DetectJob, z.array(DetectJob).max(MAX_JOBS)]);
export const DetectResponse = z.union([DetectResult, z.array(DetectResult)]);

function invalid(field: string, message: string): AppError {
  return new AppError('VALIDATION_FAILED', { detail: field ? `${field}: ${message}` : message }, field || undefined);
}

/** ['counts', 3] → `counts[3]`, under a prefix such as `[2]`. */
function fieldOf(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

function prefixed(prefix: string, field: string): string {
  return prefix ? (field ? `${prefix}.${field}` : prefix) : field;
}

/** A date of the job's calendar as an index into counts, or the error naming the field. */
function indexOf(series: Series, value: string, field: string): number {
  if (dayNumber(value) === undefined) throw invalid(field, 'is not a calendar date');
  const i = stepsFromStart(series, value);
  if (!Number.isInteger(i)) throw invalid(field, 'must be the Monday of an ISO week (weekly series count whole weeks from start)');
  if (i < 0) throw invalid(field, `is before start (${series.start})`);
  if (i >= series.counts.length) throw invalid(field, `is after the last count (${dateAt(series, series.counts.length - 1)})`);
  return i;
}

/** Checks and runs one job; `prefix` names the job in an array (`[2]`). */
export function runJob(raw: unknown, prefix = ''): DetectResult {
  const parsed = DetectJob.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    if (issue.code === 'unrecognized_keys') throw invalid(fieldOf(prefix, [...issue.path, issue.keys[0]]), 'unknown field');
    // a missing field: zod reports the type it expected; say it is required
    const missing = issue.path.length === 1 && typeof raw === 'object' && raw !== null && (raw as Record<PropertyKey, unknown>)[issue.path[0]] === undefined;
    throw invalid(fieldOf(prefix, issue.path), missing ? 'is required' : issue.message);
  }
  const job = parsed.data;
  const series: Series = { counts: job.counts, frequency: job.frequency, start: job.start };
  if (dayNumber(job.start) === undefined) throw invalid(prefixed(prefix, 'start'), 'is not a calendar date');
  if (job.frequency === 'weekly' && isoWeekday(job.start) !== 1) throw invalid(prefixed(prefix, 'start'), 'must be a Monday for a weekly series (ISO weeks start on Monday)');
  const from = job.from === undefined ? 0 : indexOf(series, job.from, prefixed(prefix, 'from'));
  const to = job.to === undefined ? job.counts.length - 1 : indexOf(series, job.to, prefixed(prefix, 'to'));
  if (to < from) throw invalid(prefixed(prefix, 'to'), 'is before from');
  const method = isMethodName(job.method) ? METHODS[job.method] : undefined;
  if (!method) throw invalid(prefixed(prefix, 'method'), `${job.method} is not available in this version`);
  try {
    const { points } = method.run(series, { from, to }, method.parseControl(job.params ?? {}));
    return { points: points.map((p, j) => ({ date: dateAt(series, from + j), observed: job.counts[from + j], upperbound: p.upperbound, alarm: p.alarm })) };
  } catch (err) {
    if (err instanceof ControlError) throw invalid(prefixed(prefix, err.field), err.detail);
    throw err;
  }
}

/** One job → one result; an array of jobs → an array of results in the same order. */
export function detect(body: unknown): DetectResult | DetectResult[] {
  if (!Array.isArray(body)) return runJob(body);
  if (body.length > MAX_JOBS) throw invalid('', `at most ${MAX_JOBS} jobs per request`);
  return body.map((job, i) => runJob(job, `[${i}]`));
}
