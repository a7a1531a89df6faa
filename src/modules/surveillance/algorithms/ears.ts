// EARS C1, C2 and C3 (Early Aberration Reporting System, US CDC), as R's surveillance::earsC computes them
// (Hutwagner et al., "The bioterrorism preparedness and response Early Aberration Reporting System (EARS)",
// J Urban Health 2003; Fricker et al., Stat Med 2008 for the C3 upper bound).
//
// Contents: control (defaults, checks) · the baseline statistics · earsC · the method-table entries.
//
// For a point t with a baseline window of `baseline` counts:
//   C1: the window is the `baseline` points just before t;
//   C2: the same window shifted back by two (a two-point guard band);
//   C3: C3(t) = Σ_{s=t-2..t} max(0, C2(s) - 1); the upper bound is the count at t that makes C3 reach
//       qnorm(1-alpha): obs(t) + σ(t)·(z − max(0, C2(t-2)-1) − max(0, C2(t-1)-1)), floored at 0.
// C1 and C2 bound: mean + qnorm(1-alpha)·max(sd, minSigma). An alarm is observed > upperbound.
// Where R stops ("the vector of observed is too short") because the first evaluated point lacks a full window,
// we return null for the points that lack one and go on. Where R's arithmetic gives NaN (a zero spread with
// minSigma = 0 in C3) the point is null too, as R's NA.
import { checkRange, numberCheck, oneOfCheck, readControl } from './control.ts';
import { qnorm } from './normal.ts';
import type { DetectionMethod, DetectionResult, PointResult, Range, Series } from './types.ts';

export type EarsMethod = 'C1' | 'C2' | 'C3';

export interface EarsControl {
  method: EarsMethod;
  /** number of counts in the baseline window (R: ≥ 3) */
  baseline: number;
  /** floor under the baseline's standard deviation */
  minSigma: number;
  /** one-sided level: the bound is the (1 − alpha) quantile */
  alpha: number;
}

/** R's defaults. alpha is 0.001 for C1 and C2 and 0.025 for C3 (R picks it by method when not given). */
export const DEFAULT_EARS_CONTROL: Readonly<EarsControl> = Object.freeze({ method: 'C1', baseline: 7, minSigma: 0, alpha: 0.001 });
const DEFAULT_ALPHA: Record<EarsMethod, number> = { C1: 0.001, C2: 0.001, C3: 0.025 };

const CHECKS = {
  method: oneOfCheck(['C1', 'C2', 'C3'] as const),
  baseline: numberCheck({ integer: true, min: 3 }),
  minSigma: numberCheck({ min: 0 }),
  alpha: numberCheck({ min: 0, max: 1, exclusive: true }),
};

/** Checks a raw control; alpha defaults by method as in R. */
export function parseEarsControl(raw: unknown): Readonly<EarsControl> {
  const method = raw && typeof raw === 'object' && 'method' in raw ? CHECKS.method((raw as { method: unknown }).method, 'params.method') : DEFAULT_EARS_CONTROL.method;
  return readControl(raw, { ...DEFAULT_EARS_CONTROL, method, alpha: DEFAULT_ALPHA[method] }, CHECKS);
}

/** Mean and standard deviation (n − 1) of counts[lo..hi], two-pass as R's mean and sd. */
function meanSd(counts: readonly number[], lo: number, hi: number): { mean: number; sd: number } {
  const n = hi - lo + 1;
  let sum = 0;
  for (let i = lo; i <= hi; i++) sum += counts[i];
  const mean = sum / n;
  let ss = 0;
  for (let i = lo; i <= hi; i++) ss += (counts[i] - mean) ** 2;
  return { mean, sd: Math.sqrt(ss / (n - 1)) };
}

/** The window before t: the `baseline` counts ending `lag` points before t (lag 1 for C1, 3 for C2/C3). */
function window(counts: readonly number[], t: number, baseline: number, lag: number) {
  return meanSd(counts, t - lag - baseline + 1, t - lag);
}

/** Evaluates EARS C1/C2/C3 on `range` (default: the whole series) of `series`. */
export function earsC(series: Series, control: Partial<EarsControl> = {}, range: Range = { from: 0, to: series.counts.length - 1 }): DetectionResult<Readonly<EarsControl>> {
  const c = parseEarsControl(control);
  checkRange(series, range);
  const { counts } = series;
  const z = qnorm(1 - c.alpha);
  // points needed before t: C1 baseline, C2 baseline + 2, C3 baseline + 4 (C2 at t-2 needs its own window)
  const maxLag = c.method === 'C1' ? c.baseline : c.method === 'C2' ? c.baseline + 2 : c.baseline + 4;
  const lag = c.method === 'C1' ? 1 : 3;
  const sigma = (sd: number) => Math.max(sd, c.minSigma);
  const c2 = (s: number) => {
    const w = window(counts, s, c.baseline, lag);
    return (counts[s] - w.mean) / sigma(w.sd);
  };
  const points: PointResult[] = [];
  for (let t = range.from; t <= range.to; t++) {
    if (t - maxLag < 0) {
      points.push({ upperbound: null, alarm: null });
      continue;
    }
    const w = window(counts, t, c.baseline, lag);
    let ub: number;
    // the score: C1/C2 (y − mean)/σ, C3 the sum Σ max(0, C2 − 1) over the last three points
    let statistic: number;
    const score = (counts[t] - w.mean) / sigma(w.sd);
    if (c.method === 'C3') {
      const past = Math.max(0, c2(t - 2) - 1) + Math.max(0, c2(t - 1) - 1);
      ub = Math.max(0, counts[t] + sigma(w.sd) * (z - past));
      statistic = past + Math.max(0, score - 1);
    } else {
      ub = w.mean + z * sigma(w.sd);
      statistic = score;
    }
    points.push(Number.isNaN(ub) ? { upperbound: null, alarm: null } : { upperbound: ub, alarm: counts[t] > ub, expected: w.mean, statistic: Number.isFinite(statistic) ? statistic : null });
  }
  return { points, control: c };
}

/** The method-table entry for one EARS variant: `method` is fixed by the job's method, so params may not set it. */
export function earsMethod(method: EarsMethod): DetectionMethod<Readonly<EarsControl>> {
  const { method: _fixed, ...checks } = CHECKS;
  return {
    parseControl: (raw) => Object.freeze({ ...readControl(raw, { baseline: DEFAULT_EARS_CONTROL.baseline, minSigma: DEFAULT_EARS_CONTROL.minSigma, alpha: DEFAULT_ALPHA[method] }, checks), method }),
    run: (series, range, control) => earsC(series, control, range),
  };
}
