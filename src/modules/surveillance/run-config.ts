// The daily run's settings: rules as data (surveillance_run_setting.config), every default here, every given value
// checked by the algorithm that uses it (R's control names for EARS and Farrington, the scan's own), unknown keys
// refused. A run stores the settings it used, defaults filled in.
import { earsMethod } from './algorithms/ears.ts';
import { farringtonFlexibleMethod } from './algorithms/farrington.ts';
import { parseStscanControl, type StscanControl } from './algorithms/stscan.ts';
import { booleanCheck, numberCheck, oneOfCheck, readControl } from './algorithms/control.ts';
import { ControlError } from './algorithms/types.ts';

export const EARS_METHODS = ['earsC1', 'earsC2', 'earsC3'] as const;
export type EarsMethodName = (typeof EARS_METHODS)[number];

export interface RunConfig {
  /** EARS on every daily series, evaluated on the as-of date */
  ears: { method: EarsMethodName; params: Record<string, unknown> };
  /** farringtonFlexible on weekly aggregates (ISO weeks), evaluated on the last complete week */
  farrington: { enabled: boolean; params: Record<string, unknown> };
  /** the space-time permutation scan per source × category across communities, windows ending on the as-of date */
  scan: { enabled: boolean; studyDays: number; maxP: number; params: Partial<StscanControl> };
  /** days of daily history read before the as-of date (EARS' baseline, the scan's study period, sparse samples) */
  dailyDays: number;
}

export const DEFAULT_RUN_CONFIG: RunConfig = Object.freeze({
  // R's defaults except minSigma: most community series are sparse (a few cases a week), and with R's minSigma = 0 a
  // baseline week of zeros has sd 0, so a single case alarms; minSigma = 1 asks for about 4 cases on such a day (at
  // alpha 0.001). In the detection-power benchmark (bench/README.md) minSigma = 0 made ~150 EARS signals a day over
  // dongcheng, which fusion chained into alerts covering most of the district.
  ears: { method: 'earsC2', params: { minSigma: 1 } },
  // R's defaults except b: three years of reference weeks instead of five, the history a district's feeds have
  // (with b = 5 every point would be null until five years of data are stored); and alpha 0.01 instead of 0.05: over
  // thousands of community series R's 0.05 raised ~140 signals every Sunday in the detection-power benchmark
  farrington: { enabled: true, params: { b: 3, alpha: 0.01 } },
  // Kulldorff et al. 2005 ran New York City's daily analyses with windows of up to a week; a cluster is reported at
  // p ≤ 0.01 (a recurrence interval of 100 days for one daily scan)
  scan: { enabled: true, studyDays: 30, maxP: 0.01, params: { maxDays: 7, replications: 999 } },
  dailyDays: 56,
}) as RunConfig;

const section = (raw: unknown, field: string): Record<string, unknown> | undefined => {
  if (raw === undefined) return undefined;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ControlError(field, 'must be an object');
  return raw as Record<string, unknown>;
};

const paramsOf = (raw: unknown, field: string): Record<string, unknown> => section(raw, field) ?? {};

/**
 * Checks a stored or requested config; every error names its field (`config.scan.params.maxDays`). Params given for
 * an algorithm are laid over the run's defaults for it, then over the algorithm's own defaults.
 */
export function parseRunConfig(raw: unknown, path = 'config'): RunConfig {
  const top = readControl(raw ?? {}, { ears: undefined, farrington: undefined, scan: undefined, dailyDays: DEFAULT_RUN_CONFIG.dailyDays } as Record<string, unknown>, {
    ears: (v) => v, farrington: (v) => v, scan: (v) => v, dailyDays: numberCheck({ integer: true, min: 14, max: 366 }),
  }, path);
  const e = readControl(section(top.ears, `${path}.ears`), { method: DEFAULT_RUN_CONFIG.ears.method as EarsMethodName, params: DEFAULT_RUN_CONFIG.ears.params }, {
    method: oneOfCheck(EARS_METHODS), params: (v, f) => ({ ...DEFAULT_RUN_CONFIG.ears.params, ...paramsOf(v, f) }),
  }, `${path}.ears`);
  const f = readControl(section(top.farrington, `${path}.farrington`), { enabled: true, params: DEFAULT_RUN_CONFIG.farrington.params }, {
    enabled: booleanCheck(), params: (v, fl) => ({ ...DEFAULT_RUN_CONFIG.farrington.params, ...paramsOf(v, fl) }),
  }, `${path}.farrington`);
  const s = readControl(section(top.scan, `${path}.scan`), { ...DEFAULT_RUN_CONFIG.scan }, {
    enabled: booleanCheck(), studyDays: numberCheck({ integer: true, min: 7, max: 366 }), maxP: numberCheck({ min: 0, max: 1, exclusive: true }),
    params: (v, fl) => ({ ...DEFAULT_RUN_CONFIG.scan.params, ...paramsOf(v, fl) }),
  }, `${path}.scan`);
  // the algorithms check their own params (R's names and defaults for EARS and Farrington)
  const withPath = <T>(fn: () => T, prefix: string): T => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof ControlError) throw new ControlError(err.field.replace(/^params/, `${prefix}.params`), err.detail);
      throw err;
    }
  };
  const earsParams = withPath(() => earsMethod(e.method.slice(4) as 'C1' | 'C2' | 'C3').parseControl(e.params), `${path}.ears`);
  const farringtonParams = withPath(() => farringtonFlexibleMethod.parseControl(f.params), `${path}.farrington`);
  const scanParams = withPath(() => parseStscanControl(s.params), `${path}.scan`);
  if (scanParams.maxDays !== null && scanParams.maxDays > s.studyDays / 2) {
    throw new ControlError(`${path}.scan.params.maxDays`, `must be at most half of studyDays (${Math.floor(s.studyDays / 2)})`);
  }
  if (!scanParams.prospective) throw new ControlError(`${path}.scan.params.prospective`, 'must be true: the daily run looks for clusters that are still going on');
  const dailyDays = top.dailyDays as number;
  if (dailyDays < s.studyDays) throw new ControlError(`${path}.dailyDays`, `must be at least scan.studyDays (${s.studyDays})`);
  if (dailyDays < earsParams.baseline + 5) throw new ControlError(`${path}.dailyDays`, `must be at least the EARS baseline + 5 (${earsParams.baseline + 5})`);
  const { method: _m, ...earsRest } = earsParams;
  return {
    ears: { method: e.method, params: { ...earsRest } },
    farrington: { enabled: f.enabled, params: { ...farringtonParams } },
    scan: { enabled: s.enabled, studyDays: s.studyDays, maxP: s.maxP, params: { ...scanParams } },
    dailyDays,
  };
}
