// Detection jobs: R's fixtures through detect() (arrays in and out, dates), the calendar, and the errors naming fields.
import { describe, expect, test } from 'vitest';
import { expectAgreement, jobOf, loadFixture } from '../../../test/helpers/r-fixtures.ts';
import { AppError } from '../../platform/errors.ts';
import { detect, type DetectResult } from './detect.ts';

const JOB = { method: 'earsC1', frequency: 'daily', start: '2024-02-20', counts: [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9] };

function errorOf(body: unknown) {
  try {
    detect(body);
  } catch (err) {
    if (err instanceof AppError) return { code: err.code, field: err.field, detail: err.params.detail };
    throw err;
  }
  throw new Error('no error');
}

describe('an array of jobs gives R’s results in the same order', () => {
  test.each(['ears.json', 'cusum.json'])('%s', (file) => {
    const fixture = loadFixture(file);
    const results = detect(fixture.cases.map((c) => jobOf(fixture, c))) as DetectResult[];
    expect(results).toHaveLength(fixture.cases.length);
    results.forEach((r, i) => expectAgreement(r.points, fixture.cases[i].points));
  });
});

describe('dates', () => {
  test('a daily job evaluates from/to (inclusive), across a leap day; a single job gives a single result', () => {
    const r = detect({ ...JOB, from: '2024-02-28', to: '2024-03-02' }) as DetectResult;
    expect(r.points.map((p) => [p.date, p.observed])).toEqual([['2024-02-28', 5], ['2024-02-29', 3], ['2024-03-01', 5], ['2024-03-02', 8]]);
    expect(r.points.every((p) => typeof p.upperbound === 'number' && typeof p.alarm === 'boolean')).toBe(true);
  });

  test('without from/to every count is evaluated; points without a baseline are null', () => {
    const r = detect(JOB) as DetectResult;
    expect(r.points).toHaveLength(15);
    expect(r.points[0]).toEqual({ date: '2024-02-20', observed: 3, upperbound: null, alarm: null });
    expect(r.points[6].upperbound).toBeNull();
    expect(r.points[7].upperbound).not.toBeNull();
    expect(r.points[14].date).toBe('2024-03-05');
  });

  test('a weekly job counts ISO weeks from a Monday, across the year', () => {
    const r = detect({ ...JOB, method: 'cusum', frequency: 'weekly', start: '2024-12-02', from: '2024-12-30', to: '2025-01-13' }) as DetectResult;
    expect(r.points.map((p) => [p.date, p.observed])).toEqual([['2024-12-30', 5], ['2025-01-06', 9], ['2025-01-13', 2]]);
  });

  test('an empty array gives an empty array', () => {
    expect(detect([])).toEqual([]);
  });
});

describe('bad jobs are refused naming the field', () => {
  test.each([
    ['not an object', 7, undefined, 'must be an object'],
    ['no method', { ...JOB, method: undefined }, 'method', 'method: is required'],
    ['unknown method', { ...JOB, method: 'earsC4' }, 'method', 'method: must be one of earsC1, earsC2, earsC3, farringtonFlexible, cusum'],
    ['unknown field', { ...JOB, area: 'x' }, 'area', 'area: unknown field'],
    ['bad frequency', { ...JOB, frequency: 'monthly' }, 'frequency', 'frequency: must be daily or weekly'],
    ['no start', { ...JOB, start: undefined }, 'start', 'start: is required'],
    ['start not a date', { ...JOB, start: '20-02-2024' }, 'start', 'start: must be a date YYYY-MM-DD'],
    ['start not a calendar date', { ...JOB, start: '2023-02-29' }, 'start', 'start: is not a calendar date'],
    ['weekly start not a Monday', { ...JOB, frequency: 'weekly', start: '2024-02-20' }, 'start', 'start: must be a Monday for a weekly series (ISO weeks start on Monday)'],
    ['counts not an array', { ...JOB, counts: '3,1,4' }, 'counts', 'counts: must be an array of counts'],
    ['no counts', { ...JOB, counts: [] }, 'counts', 'counts: must hold at least one count'],
    ['negative count', { ...JOB, counts: [3, 1, 4, -1] }, 'counts[3]', 'counts[3]: must be a non-negative integer'],
    ['fractional count', { ...JOB, counts: [3, 1.5] }, 'counts[1]', 'counts[1]: must be a non-negative integer'],
    ['null count', { ...JOB, counts: [3, null] }, 'counts[1]', 'counts[1]: must be a non-negative integer'],
    ['from before start', { ...JOB, from: '2024-02-19' }, 'from', 'from: is before start (2024-02-20)'],
    ['to after the last count', { ...JOB, to: '2024-03-06' }, 'to', 'to: is after the last count (2024-03-05)'],
    ['to before from', { ...JOB, from: '2024-03-01', to: '2024-02-29' }, 'to', 'to: is before from'],
    ['weekly from mid-week', { ...JOB, frequency: 'weekly', start: '2024-02-19', from: '2024-03-06' }, 'from', 'from: must be the Monday of an ISO week (weekly series count whole weeks from start)'],
    ['params not an object', { ...JOB, params: [0.05] }, 'params', 'params: must be an object'],
    ['unknown param (R would ignore it)', { ...JOB, params: { alhpa: 0.05 } }, 'params.alhpa', 'params.alhpa: unknown parameter; known: baseline, minSigma, alpha'],
    ['param out of range', { ...JOB, params: { alpha: 1.5 } }, 'params.alpha', 'params.alpha: must be < 1'],
    ['cusum param of the wrong kind', { ...JOB, method: 'cusum', params: { m: 'median' } }, 'params.m', 'params.m: must be null (mean of the counts before the range), a positive number or "glm"'],
  ])('%s', (_, body, field, detail) => {
    expect(errorOf(body)).toEqual({ code: 'VALIDATION_FAILED', field, detail });
  });

  test('in an array the field says which job', () => {
    expect(errorOf([JOB, JOB, { ...JOB, params: { baseline: 2 } }])).toEqual({ code: 'VALIDATION_FAILED', field: '[2].params.baseline', detail: '[2].params.baseline: must be ≥ 3' });
    expect(errorOf([JOB, 'x'])).toEqual({ code: 'VALIDATION_FAILED', field: '[1]', detail: '[1]: must be an object' });
  });
});
