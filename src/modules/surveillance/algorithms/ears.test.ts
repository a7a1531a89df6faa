// EARS C1/C2/C3 against R's surveillance::earsC on the fixtures of scripts/r/surveillance-fixtures.R, and the
// control rules (R's defaults, unknown keys refused).
import { describe, expect, test } from 'vitest';
import { expectAgreement, loadFixture, runCase } from '../../../../test/helpers/r-fixtures.ts';
import { DEFAULT_EARS_CONTROL, earsC, earsMethod, parseEarsControl } from './ears.ts';
import { qnorm } from './normal.ts';
import { ControlError } from './types.ts';

const fixture = loadFixture('ears.json');

describe('earsC agrees with R surveillance::earsC', () => {
  test.each(fixture.cases.map((c) => [c.name, c] as const))('%s', (_, c) => {
    expectAgreement(runCase(fixture, c), c.points);
  });

  test('the fixtures cover C1, C2, C3, daily and weekly series, null points and alarms', () => {
    const methods = new Set(fixture.cases.map((c) => c.method));
    expect([...methods].sort()).toEqual(['earsC1', 'earsC2', 'earsC3']);
    expect(new Set(fixture.cases.map((c) => fixture.series[c.series].frequency))).toEqual(new Set(['daily', 'weekly']));
    const points = fixture.cases.flatMap((c) => c.points);
    expect(points.filter((p) => p.upperbound === null).length).toBeGreaterThan(0);
    expect(points.filter((p) => p.alarm === true).length).toBeGreaterThan(0);
  });
});

// R: qnorm(c(0.5, 0.6, 0.9, 0.975, 0.999, 0.001, 1e-10, 1 - 1e-12)) printed with %.17g
test.each([
  [0.5, 0],
  [0.6, 0.25334710313579978],
  [0.9, 1.2815515655446008],
  [0.975, 1.9599639845400536],
  [0.999, 3.0902323061678132],
  [0.001, -3.0902323061678132],
  [1e-10, -6.3613409024040557],
  [1 - 1e-12, 7.0344869100478356],
])('qnorm(%d) as R', (p, q) => {
  expect(qnorm(p)).toBeCloseTo(q, 14);
});

describe('EARS control', () => {
  const series = { counts: [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4], frequency: 'daily' as const, start: '2024-03-01' };

  test("R's defaults, alpha 0.025 for C3", () => {
    expect(DEFAULT_EARS_CONTROL).toEqual({ method: 'C1', baseline: 7, minSigma: 0, alpha: 0.001 });
    expect(parseEarsControl({ method: 'C3' })).toEqual({ method: 'C3', baseline: 7, minSigma: 0, alpha: 0.025 });
    expect(earsMethod('C3').parseControl(undefined)).toEqual({ method: 'C3', baseline: 7, minSigma: 0, alpha: 0.025 });
    expect(earsMethod('C2').parseControl({ alpha: 0.01 })).toEqual({ method: 'C2', baseline: 7, minSigma: 0, alpha: 0.01 });
  });

  test('the result keeps the control used', () => {
    const r = earsC(series, { method: 'C2', baseline: 5 });
    expect(r.control).toEqual({ method: 'C2', baseline: 5, minSigma: 0, alpha: 0.001 });
    expect(r.points).toHaveLength(20);
    expect(r.points.slice(0, 7).every((p) => p.upperbound === null && p.alarm === null)).toBe(true);
    expect(r.points[7].upperbound).not.toBeNull();
  });

  test.each([
    [{ baseline: 2 }, 'params.baseline'],
    [{ baseline: 7.5 }, 'params.baseline'],
    [{ minSigma: -1 }, 'params.minSigma'],
    [{ alpha: 0 }, 'params.alpha'],
    [{ alpha: 1 }, 'params.alpha'],
    [{ alpha: '0.05' }, 'params.alpha'],
    [{ range: [8, 9] }, 'params.range'], // the range is the job's from/to
    [{ method: 'C2' }, 'params.method'], // fixed by the job's method
    [{ alpah: 0.05 }, 'params.alpah'], // R would silently use the default
  ])('refuses %j (%s)', (params, field) => {
    expect(() => earsMethod('C1').parseControl(params)).toThrow(ControlError);
    try {
      earsMethod('C1').parseControl(params);
    } catch (err) {
      expect((err as ControlError).field).toBe(field);
    }
  });

  test('refuses a params that is not an object', () => {
    expect(() => earsMethod('C1').parseControl([1])).toThrow(expect.objectContaining({ field: 'params' }));
  });

  test('refuses a range outside the series', () => {
    expect(() => earsC(series, {}, { from: 0, to: 20 })).toThrow(expect.objectContaining({ field: 'to' }));
    expect(() => earsC(series, {}, { from: 5, to: 4 })).toThrow(expect.objectContaining({ field: 'to' }));
  });
});
