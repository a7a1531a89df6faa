// farringtonFlexible against R's surveillance::farringtonFlexible on the fixtures of scripts/r/farrington-fixtures.R
// (every point: alarm identical, upper bound within 1e-6 relative, null where R gives NA or stops), and the control
// rules (R's defaults, unknown keys and bad values refused).
import { describe, expect, test } from 'vitest';
import { expectAgreement, loadFixture, runCase, type Fixture } from '../../../../test/helpers/r-fixtures.ts';
import { DEFAULT_FARRINGTON_FLEXIBLE_CONTROL, farringtonFlexible, farringtonFlexibleMethod, parseFarringtonFlexibleControl } from './farrington.ts';
import { ControlError } from './types.ts';

const fixture = loadFixture('farrington-flexible.json') as Fixture & { defaults: Record<string, unknown> };

describe('farringtonFlexible agrees with R surveillance::farringtonFlexible', () => {
  test.each(fixture.cases.map((c) => [c.name, c] as const))('%s', (_, c) => {
    expectAgreement(runCase(fixture, c), c.points);
  });

  test('the fixtures cover the settings, weekly and daily series, limit54, R’s NA and points R refuses', () => {
    const methods = new Set(fixture.cases.map((c) => c.params.thresholdMethod ?? 'delta'));
    expect([...methods].sort()).toEqual(['delta', 'muan', 'nbPlugin']);
    const powertrans = new Set(fixture.cases.map((c) => c.params.powertrans ?? '2/3'));
    expect([...powertrans].sort()).toEqual(['1/2', '2/3', 'none']);
    expect(new Set(fixture.cases.map((c) => fixture.series[c.series].frequency))).toEqual(new Set(['daily', 'weekly']));
    const points = fixture.cases.flatMap((c) => c.points);
    expect(points.length).toBeGreaterThan(5000);
    expect(points.filter((p) => p.alarm === true).length).toBeGreaterThan(100);
    // limit54: no bound, no alarm
    expect(points.filter((p) => p.upperbound === null && p.alarm === false).length).toBeGreaterThan(100);
    // R's NA (no convergence) and points where R stops
    expect(points.filter((p) => p.upperbound === null && p.alarm === null).length).toBeGreaterThan(300);
  });
});

describe('farringtonFlexible control', () => {
  test("R's defaults", () => {
    const { pastWeeksNotIncluded, ...rest } = fixture.defaults;
    expect(DEFAULT_FARRINGTON_FLEXIBLE_CONTROL).toEqual({ ...rest, pastWeeksNotIncluded: pastWeeksNotIncluded ?? null });
    expect(farringtonFlexibleMethod.parseControl(undefined)).toEqual(DEFAULT_FARRINGTON_FLEXIBLE_CONTROL);
  });

  test('given values replace the defaults; the result keeps the control used', () => {
    const s = fixture.series.salmNewport;
    const series = { counts: s.counts, frequency: s.frequency, start: s.start };
    const n = s.counts.length;
    const r = farringtonFlexible(series, { noPeriods: 10, thresholdMethod: 'nbPlugin', limit54: [0, 4] }, { from: n - 3, to: n - 1 });
    expect(r.control).toEqual({ ...DEFAULT_FARRINGTON_FLEXIBLE_CONTROL, noPeriods: 10, thresholdMethod: 'nbPlugin', limit54: [0, 4] });
    expect(r.points).toHaveLength(3);
  });

  test.each([
    [{ b: 0 }, 'params.b'],
    [{ b: 2.5 }, 'params.b'],
    [{ w: -1 }, 'params.w'],
    [{ alpha: 1 }, 'params.alpha'],
    [{ alpha: '0.05' }, 'params.alpha'],
    [{ limit54: [5] }, 'params.limit54'],
    [{ limit54: [-1, 4] }, 'params.limit54[0]'],
    [{ limit54: [5, 0] }, 'params.limit54[1]'],
    [{ powertrans: '3/4' }, 'params.powertrans'],
    [{ thresholdMethod: 'noufaily' }, 'params.thresholdMethod'],
    [{ fitFun: 'glm' }, 'params.fitFun'],
    [{ noPeriods: 0 }, 'params.noPeriods'],
    [{ pastWeeksNotIncluded: -2 }, 'params.pastWeeksNotIncluded'],
    [{ reweight: 'yes' }, 'params.reweight'],
    [{ range: [1, 2] }, 'params.range'],
    [{ B: 3 }, 'params.B'],
  ])('%j is refused naming %s', (raw, field) => {
    expect(() => parseFarringtonFlexibleControl(raw)).toThrow(ControlError);
    try {
      parseFarringtonFlexibleControl(raw);
    } catch (err) {
      expect((err as ControlError).field).toBe(field);
    }
  });

  test('more periods than weeks between the reference windows is a control error, as R stops', () => {
    const s = fixture.series.campyDE;
    const n = s.counts.length;
    const run = () => farringtonFlexible({ counts: s.counts, frequency: s.frequency, start: s.start }, { noPeriods: 60 }, { from: n - 1, to: n - 1 });
    expect(run).toThrow(ControlError);
  });
});
