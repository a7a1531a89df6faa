// The run's settings: defaults, each algorithm's own checks with the path of the field, refused unknown keys.
import { describe, expect, test } from 'vitest';
import { DEFAULT_RUN_CONFIG, parseRunConfig } from './run-config.ts';

describe('run settings', () => {
  test('defaults: earsC2 with R’s defaults, farringtonFlexible with R’s defaults, the scan with 999 replications', () => {
    const c = parseRunConfig({});
    expect(c.ears).toEqual({ method: 'earsC2', params: { baseline: 7, minSigma: 0, alpha: 0.001 } });
    expect(c.farrington.params).toMatchObject({ b: 3, w: 3, alpha: 0.05, thresholdMethod: 'delta' });
    expect(c.scan).toMatchObject({ enabled: true, studyDays: 30, maxP: 0.01, params: { maxDays: 7, replications: 999, maxShare: 0.5, prospective: true } });
    expect(c.dailyDays).toBe(DEFAULT_RUN_CONFIG.dailyDays);
    // what a run stores parses back to itself
    expect(parseRunConfig(JSON.parse(JSON.stringify(c)))).toEqual(c);
  });

  test('settings override the defaults', () => {
    const c = parseRunConfig({ ears: { method: 'earsC3', params: { alpha: 0.01 } }, scan: { params: { replications: 99 } } });
    expect(c.ears).toEqual({ method: 'earsC3', params: { baseline: 7, minSigma: 0, alpha: 0.01 } });
    expect(c.scan.params).toMatchObject({ replications: 99, maxDays: 7 });
    expect(parseRunConfig({ farrington: { params: { alpha: 0.01 } } }).farrington.params).toMatchObject({ b: 3, alpha: 0.01 });
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
