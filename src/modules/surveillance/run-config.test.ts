// The run's settings: defaults, each algorithm's own checks with the path of the field, refused unknown keys.
import { describe, expect, test } from 'vitest';
import { earsC } from './algorithms/ears.ts';
import { DEFAULT_RUN_CONFIG, parseRunConfig } from './run-config.ts';

describe('run settings', () => {
  test('defaults: earsC2 with R’s defaults but minSigma 1, farringtonFlexible with R’s defaults but b = 3 and alpha 0.01, the scan with 999 replications', () => {
    const c = parseRunConfig({});
    expect(c.ears).toEqual({ method: 'earsC2', params: { baseline: 7, minSigma: 1, alpha: 0.001 } });
    expect(c.farrington.params).toMatchObject({ b: 3, w: 3, alpha: 0.01, thresholdMethod: 'delta' });
    expect(c.scan).toMatchObject({ enabled: true, studyDays: 30, maxP: 0.01, params: { maxDays: 7, replications: 999, maxShare: 0.5, prospective: true } });
    expect(c.dailyDays).toBe(DEFAULT_RUN_CONFIG.dailyDays);
    // what a run stores parses back to itself
    expect(parseRunConfig(JSON.parse(JSON.stringify(c)))).toEqual(c);
  });

  test('settings override the defaults', () => {
    const c = parseRunConfig({ ears: { method: 'earsC3', params: { alpha: 0.01 } }, scan: { params: { replications: 99 } } });
    expect(c.ears).toEqual({ method: 'earsC3', params: { baseline: 7, minSigma: 1, alpha: 0.01 } });
    // R's minSigma = 0 can still be chosen
    expect(parseRunConfig({ ears: { params: { minSigma: 0 } } }).ears.params).toEqual({ baseline: 7, minSigma: 0, alpha: 0.001 });
    expect(c.scan.params).toMatchObject({ replications: 99, maxDays: 7 });
    expect(parseRunConfig({ farrington: { params: { alpha: 0.05 } } }).farrington.params).toMatchObject({ b: 3, alpha: 0.05 });
  });

  test.each([
    [{ ears: { method: 'earsC4' } }, 'config.ears.method'],
    [{ ears: { params: { alpah: 0.01 } } }, 'config.ears.params.alpah'],
    [{ farrington: { params: { b: -1 } } }, 'config.farrington.params.b'],
    [{ scan: { params: { maxShare: 2 } } }, 'config.scan.params.maxShare'],
    [{ scan: { studyDays: 30, params: { maxDays: 20 } } }, 'config.scan.params.maxDays'],
    [{ scan: { params: { prospective: false } } }, 'config.scan.params.prospective'],
    [{ scan: { maxP: 0 } }, 'config.scan.maxP'],
    [{ dailyDays: 20 }, 'config.dailyDays'],
    [{ threads: 2 }, 'config.threads'],
    [{ scan: 3 }, 'config.scan'],
  ])('refuses %j (%s)', (raw, field) => {
    expect(() => parseRunConfig(raw)).toThrow(expect.objectContaining({ field }));
  });
});

// Why minSigma defaults to 1 (bench/README.md, detection-power): on a sparse community series a week of zeros has sd 0,
// and with R's minSigma = 0 its bound is 0, so one case alarms.
describe('EARS on a sparse series with the run’s defaults', () => {
  const sparse = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  const at = (counts: number[], config: unknown) => {
    const { ears } = parseRunConfig(config);
    return earsC({ counts, frequency: 'daily', start: '2026-01-05' }, { ...ears.params, method: 'C2' }, { from: counts.length - 1, to: counts.length - 1 }).points[0];
  };
  test('one case after a week of zeros is no alarm; four are', () => {
    expect(at([...sparse, 1], {})).toMatchObject({ alarm: false });
    expect(at([...sparse, 3], {})).toMatchObject({ alarm: false });
    expect(at([...sparse, 4], {})).toMatchObject({ alarm: true });
  });
  test('with R’s minSigma = 0 one case alarms', () => {
    expect(at([...sparse, 1], { ears: { params: { minSigma: 0 } } })).toMatchObject({ alarm: true, upperbound: 0 });
  });
});
