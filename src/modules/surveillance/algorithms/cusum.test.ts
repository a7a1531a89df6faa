// CUSUM against R's surveillance::cusum on the fixtures of scripts/r/surveillance-fixtures.R, and the control rules.
import { describe, expect, test } from 'vitest';
import { expectAgreement, loadFixture, runCase } from '../../../../test/helpers/r-fixtures.ts';
import { CUSUM_TRANSFORMATIONS, cusum, cusumMethod, DEFAULT_CUSUM_CONTROL } from './cusum.ts';
import { ControlError } from './types.ts';

const fixture = loadFixture('cusum.json');

describe('cusum agrees with R surveillance::cusum', () => {
  test.each(fixture.cases.map((c) => [c.name, c] as const))('%s', (_, c) => {
    expectAgreement(runCase(fixture, c), c.points);
  });

  test('the fixtures cover every transformation, each kind of m, daily and weekly series, NA alarms', () => {
    expect(new Set(fixture.cases.map((c) => c.params.trans ?? 'standard'))).toEqual(new Set(CUSUM_TRANSFORMATIONS));
    expect(new Set(fixture.cases.map((c) => typeof (c.params.m ?? null)))).toEqual(new Set(['object', 'number', 'string']));
    expect(new Set(fixture.cases.map((c) => fixture.series[c.series].frequency))).toEqual(new Set(['daily', 'weekly']));
    const points = fixture.cases.flatMap((c) => c.points);
    expect(points.filter((p) => p.alarm === null).length).toBeGreaterThan(0);
    expect(points.filter((p) => p.alarm === true).length).toBeGreaterThan(0);
  });
});

describe('CUSUM control', () => {
  const series = { counts: [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4], frequency: 'weekly' as const, start: '2024-01-01' };

  test("R's defaults", () => {
    expect(DEFAULT_CUSUM_CONTROL).toEqual({ k: 1.04, h: 2.26, m: null, trans: 'standard', alpha: 0.1 });
    expect(cusumMethod.parseControl({})).toEqual(DEFAULT_CUSUM_CONTROL);
    expect(cusumMethod.parseControl({ m: 'glm', trans: 'rossi' })).toEqual({ ...DEFAULT_CUSUM_CONTROL, m: 'glm', trans: 'rossi' });
  });

  test('the result keeps the control used, the sums and m', () => {
    const r = cusum(series, { k: 0.5 }, { from: 10, to: 19 });
    expect(r.control).toEqual({ ...DEFAULT_CUSUM_CONTROL, k: 0.5 });
    expect(r.m).toEqual(new Array(10).fill(3.9)); // mean of the ten counts before the range
    expect(r.cusum).toHaveLength(10);
    r.points.forEach((p, j) => expect(p.alarm).toBe(r.cusum[j]! >= 2.26));
  });

  test('a range from the first count has nothing to estimate m from: every point is null', () => {
    const r = cusum(series, {}, { from: 0, to: 5 });
    expect(r.points).toEqual(new Array(6).fill({ upperbound: null, alarm: null }));
    // a given m needs nothing before the range
    expect(cusum(series, { m: 4 }, { from: 0, to: 5 }).points.every((p) => p.alarm !== null)).toBe(true);
  });

  test.each([
    [{ k: -1 }, 'params.k'],
    [{ h: 0 }, 'params.h'],
    [{ m: 0 }, 'params.m'],
    [{ m: 'mean' }, 'params.m'],
    [{ trans: 'log' }, 'params.trans'],
    [{ alpha: -0.1 }, 'params.alpha'],
    [{ trans: 'anscombeNegBin', m: 'glm' }, 'params.trans'], // R fails on this combination
    [{ range: [2, 3] }, 'params.range'],
    [{ reset: true }, 'params.reset'], // not an R control of cusum
  ])('refuses %j (%s)', (params, field) => {
    expect(() => cusumMethod.parseControl(params)).toThrow(ControlError);
    expect(() => cusumMethod.parseControl(params)).toThrow(expect.objectContaining({ field }));
  });
});
