// Farrington's outbreak detection method in its improved form (Noufaily et al., "An improved algorithm for
// outbreak detection in multiple surveillance systems", Stat Med 2013;32:1206–1222), as R's
// surveillance::farringtonFlexible computes it; the original method (Farrington et al., JRSS A 1996;159:547–563)
// is the same function with noPeriods = 1, weightsThreshold = 1 and thresholdMethod "delta".
//
// Contents: control (R's defaults, checks) · reference weeks and blocks · the quasi-Poisson fits (trend test,
// reweighting) · the thresholds (delta, nbPlugin, muan) · farringtonFlexible · the method-table entry.
//
// For each evaluated week t:
//  1. Reference weeks: the same date 1…b years back (calendar years, R's seq(by = "-1 year")), moved for a weekly
//     series to the nearest date on t's weekday. The baseline is the windows of ±w weeks around them; with
//     noPeriods > 1 every week between the windows joins too, split into noPeriods − 1 seasonal blocks (R's
//     `blocks`), the windows being block noPeriods. The last pastWeeksNotIncluded weeks (default w) and t drop out.
//  2. A quasi-Poisson GLM, log link: counts ~ 1 + wtime (if trend) + blocks (if noPeriods > 1). When it fails to
//     converge with the trend it is refitted without. Dispersion φ = max(1, Pearson estimate). With reweight,
//     Anscombe residuals above weightsThreshold get weights ∝ s⁻² and the model is refitted once.
//  3. The trend stays only if its t-test p-value < pThresholdTrend, b ≥ 3 and the prediction at t does not exceed
//     the largest baseline count; otherwise the model is refitted without it.
//  4. The upper bound: "delta" — the (1 − alpha) normal quantile on the powertrans scale (2/3, 1/2 or none) with
//     variance φμ + Var(μ̂); "nbPlugin" — the (1 − alpha) quantile of a negative binomial with mean exp(η̂) and
//     variance φ·mean (Poisson when φ = 1); "muan" — the same with mean exp(η̂ + z₁₋α se(η̂)).
//  5. limit54 = (cases, weeks): fewer than `cases` in the last `weeks` weeks → no bound (null), no alarm.
//     Alarm: score (y − fit)/(bound − fit) > 1 and y > 0 — for nbPlugin/muan `fit` is on the log scale, as in R.
//
// Where R gives NA (no convergence with or without trend) the point is null. Where R stops with an error for a
// point — a reference week before the series start, a baseline window reaching more than one week before it (R
// silently drops the one index 0), a factor level missing from the baseline, a NaN dispersion — we return null
// for that point and go on.
import { booleanCheck, checkRange, nullableCheck, numberCheck, oneOfCheck, readControl, type Check } from './control.ts';
import { dayNumber } from './dates.ts';
import { pt, qnbinom, qpois } from './distributions.ts';
import { dispersion, fitQuasiPoisson, hatValues, linearPredictor, logLinkInverse, prepareResponse, unscaledVariance, type GlmFit, type Response } from './glm.ts';
import { qnorm } from './normal.ts';
import { ControlError, type DetectionMethod, type DetectionResult, type PointResult, type Range, type Series } from './types.ts';

// ---------------------------------------------------------------------------------------------------------------
// Control

export type PowerTransform = '2/3' | '1/2' | 'none';
export type ThresholdMethod = 'delta' | 'nbPlugin' | 'muan';

export interface FarringtonFlexibleControl {
  /** years back */
  b: number;
  /** half-width of the window around each reference week */
  w: number;
  /** downweight outlying baseline weeks (Anscombe residuals) */
  reweight: boolean;
  /** residuals above this are downweighted (2.58 Noufaily, 1 in Farrington 1996) */
  weightsThreshold: number;
  /** R prints progress; no effect on results */
  verbose: boolean;
  /** R prints glm warnings; no effect on results */
  glmWarnings: boolean;
  /** one-sided level of the bound */
  alpha: number;
  /** fit a time trend (kept only when significant, see pThresholdTrend) */
  trend: boolean;
  pThresholdTrend: number;
  /** [cases, weeks]: no bound when the last `weeks` weeks have fewer than `cases` */
  limit54: readonly [number, number];
  powertrans: PowerTransform;
  /** the only fit function R offers */
  fitFun: 'algo.farrington.fitGLM.flexible';
  /** offset log(population); a series here has no population, which R's sts takes as 1 — so it changes nothing */
  populationOffset: boolean;
  /** seasonal blocks; 1 = windows only (Farrington 1996), 10 in Noufaily's recommendation */
  noPeriods: number;
  /** weeks before t left out of the baseline; null = w */
  pastWeeksNotIncluded: number | null;
  thresholdMethod: ThresholdMethod;
}

/** R's defaults (surveillance 1.20, `formals(farringtonFlexible)$control`). */
export const DEFAULT_FARRINGTON_FLEXIBLE_CONTROL: Readonly<FarringtonFlexibleControl> = Object.freeze({
  b: 5, w: 3, reweight: true, weightsThreshold: 2.58, verbose: false, glmWarnings: true, alpha: 0.05, trend: true,
  pThresholdTrend: 0.05, limit54: Object.freeze([5, 4]) as readonly [number, number], powertrans: '2/3',
  fitFun: 'algo.farrington.fitGLM.flexible', populationOffset: false, noPeriods: 1, pastWeeksNotIncluded: null,
  thresholdMethod: 'delta',
});

const limit54Check: Check<readonly [number, number]> = (v, field) => {
  if (!Array.isArray(v) || v.length !== 2) throw new ControlError(field, 'must be [cases, weeks]');
  const cases = numberCheck({ min: 0 })(v[0], `${field}[0]`);
  const weeks = numberCheck({ integer: true, min: 1 })(v[1], `${field}[1]`);
  return Object.freeze([cases, weeks]) as readonly [number, number];
};

const CHECKS = {
  b: numberCheck({ integer: true, min: 1 }),
  w: numberCheck({ integer: true, min: 0 }),
  reweight: booleanCheck(),
  weightsThreshold: numberCheck(),
  verbose: booleanCheck(),
  glmWarnings: booleanCheck(),
  alpha: numberCheck({ min: 0, max: 1, exclusive: true }),
  trend: booleanCheck(),
  pThresholdTrend: numberCheck({ min: 0 }),
  limit54: limit54Check,
  powertrans: oneOfCheck(['2/3', '1/2', 'none'] as const),
  fitFun: oneOfCheck(['algo.farrington.fitGLM.flexible'] as const),
  populationOffset: booleanCheck(),
  noPeriods: numberCheck({ integer: true, min: 1 }),
  pastWeeksNotIncluded: nullableCheck(numberCheck({ integer: true, min: 0 })),
  thresholdMethod: oneOfCheck(['delta', 'nbPlugin', 'muan'] as const),
};

export function parseFarringtonFlexibleControl(raw: unknown): Readonly<FarringtonFlexibleControl> {
  return readControl(raw, DEFAULT_FARRINGTON_FLEXIBLE_CONTROL, CHECKS);
}

// ---------------------------------------------------------------------------------------------------------------
// Reference weeks and blocks

/** R stopped with an error for this point: we give null and go on. */
class PointError extends Error {}

interface Calendar {
  /** UTC day number of counts[0] */
  start: number;
  /** days between counts */
  step: number;
  n: number;
  weekly: boolean;
}

/** The same calendar date `years` years earlier; 29 February falls on 1 March (R's POSIXlt arithmetic). */
function yearsBack(day: number, years: number): number {
  const d = new Date(day * 86_400_000);
  return Date.UTC(d.getUTCFullYear() - years, d.getUTCMonth(), d.getUTCDate()) / 86_400_000;
}

/** 0 = Sunday, as R's format(date, "%w"). */
const weekday = (day: number) => (((day + 4) % 7) + 7) % 7;

/**
 * Indices of the reference weeks of t, t first and then 1…b years back (algo.farrington.referencetimepoints);
 * a weekly series moves each to the date on t's weekday nearest to it (the earlier one on a tie).
 */
function referenceIndices(cal: Calendar, t: number, b: number): number[] {
  const now = cal.start + t * cal.step;
  const out: number[] = [];
  for (let j = 0; j <= b; j++) {
    let ref = yearsBack(now, j);
    if (cal.weekly) {
      const a = ref - (weekday(ref) - weekday(now));
      const other = a + (a > ref ? -7 : 7);
      ref = Math.abs(a - ref) > Math.abs(other - ref) ? other : a;
    }
    const idx = (ref - cal.start) / cal.step;
    if (!Number.isInteger(idx) || idx < 0 || idx >= cal.n) throw new PointError('Some reference time points did not exist');
    out.push(idx);
  }
  return out;
}

/** A block number per week; 0 = not in the baseline (R's NA; blocks are numbered from 1). */
type Blocks = Int32Array;

/**
 * R's `v[from:to] <- value` with 1-based from/to: `:` runs downwards when from > to (an empty block thus writes
 * two cells, as in R), index 0 is dropped, and negative indices mixed with positive ones are an error. `v` holds
 * positions `first`, `first + 1`, … only (cells before it are never part of the baseline).
 */
function assign(v: Blocks, first: number, from: number, to: number, value: number): void {
  const lo = Math.min(from, to);
  const hi = Math.max(from, to);
  if (lo < 0) throw new PointError('negative index');
  for (let i = Math.max(lo, first); i <= hi; i++) v[i - first] = value;
}

/**
 * R's `blocks` over positions `first` … now (1-based, `first` = the start of the oldest window or 1): the block of
 * every week. refs1 = 1-based positions of now and the reference weeks.
 */
function blocks(first: number, refs1: number[], b: number, w: number, p: number): Blocks {
  const now = refs1[0];
  const f: Blocks = new Int32Array(now - first + 1);
  assign(f, first, now - w, now, p);
  for (let i = 1; i <= b; i++) {
    const refWeek = refs1[i];
    assign(f, first, refWeek - w, refWeek + w, p);
    if (p !== 1) {
      const period = refs1[i - 1] - 2 * w - 1 - refWeek;
      if (period < p - (2 * w + 1)) throw new ControlError('params.noPeriods', 'too many periods for the weeks between the reference windows (R: "Number of factors too big!")');
      const len = Math.floor(period / (p - 1));
      const rest = period - len * (p - 1);
      // c(0, lengths), lengths[1..rest] one longer; block j spans cum[j] … cum[j+1] − 1 after the window
      let cum = 0;
      for (let j = 1; j <= p - 1; j++) {
        const length = len + (j <= rest ? 1 : 0);
        assign(f, first, refWeek + w + 1 + cum, refWeek + w + 1 + cum + length - 1, j);
        cum += length;
      }
    }
  }
  return f;
}

interface Baseline {
  y: Float64Array;
  /** y prepared once for the fits */
  response: Response;
  /** weeks (or days) since the first baseline week */
  wtime: Float64Array;
  /** wtime of t */
  wtimeNow: number;
  block: Float64Array;
}

function baseline(counts: readonly number[], cal: Calendar, t: number, c: FarringtonFlexibleControl, pastWeeks: number): Baseline {
  const refs1 = referenceIndices(cal, t, c.b).map((i) => i + 1);
  const first = Math.max(1, refs1[c.b] - c.w);
  const f = blocks(first, refs1, c.b, c.w, c.noPeriods);
  const id = f.slice();
  assign(id, first, t + 1 - pastWeeks, t + 1, 0);
  let m = 0;
  for (let i = 0; i < id.length; i++) if (id[i] !== 0) m++;
  const y = new Float64Array(m);
  const wtime = new Float64Array(m);
  const block = new Float64Array(m);
  let firstRow = -1;
  for (let i = 0, r = 0; i < id.length; i++) {
    if (id[i] === 0) continue;
    const row = first - 1 + i; // 0-based series index
    if (firstRow < 0) firstRow = row;
    y[r] = counts[row];
    wtime[r] = row - firstRow; // (date − first date) / step
    block[r] = f[i];
    r++;
  }
  return { y, response: prepareResponse(y), wtime, wtimeNow: t - (firstRow < 0 ? t : firstRow), block };
}

// ---------------------------------------------------------------------------------------------------------------
// Fits

/** The design (intercept, wtime, block dummies against the lowest block present) and the row for t. */
interface Design {
  x: Float64Array;
  p: number;
  x0: Float64Array;
  /** column of wtime, or −1 */
  trendCol: number;
}

function design(base: Baseline, withTrend: boolean, factors: boolean, noPeriods: number, wtimeNow: number): Design {
  const m = base.y.length;
  let levels: number[] = [];
  if (factors) {
    levels = [...new Set(base.block)].sort((a, b) => a - b);
    if (levels.length < 2) throw new PointError('contrasts can be applied only to factors with 2 or more levels');
    if (!levels.includes(noPeriods)) throw new PointError('factor seasgroups has new levels');
  }
  const p = 1 + (withTrend ? 1 : 0) + Math.max(0, levels.length - 1);
  const x = new Float64Array(m * p);
  const x0 = new Float64Array(p);
  x.fill(1, 0, m);
  x0[0] = 1;
  let col = 1;
  if (withTrend) {
    x.set(base.wtime, m);
    x0[1] = wtimeNow;
    col = 2;
  }
  for (let l = 1; l < levels.length; l++, col++) {
    for (let r = 0; r < m; r++) x[col * m + r] = base.block[r] === levels[l] ? 1 : 0;
    x0[col] = levels[l] === noPeriods ? 1 : 0;
  }
  return { x, p, x0, trendCol: withTrend ? 1 : -1 };
}

interface Model {
  fit: GlmFit;
  design: Design;
  /** max(1, dispersion) */
  phi: number;
  /**
   * The dispersion summary.glm reports for the returned model, which the trend test and the prediction's standard
   * error use. After reweighting, R's fit function stores the prior weights ω in `model$weights`, where summary.glm
   * expects the working weights, so that dispersion is Σ ωᵢ ((yᵢ − μᵢ)/μᵢ)² / df — not φ. We reproduce it.
   */
  summaryDispersion: number;
}

/** Anscombe residuals of a Poisson-type fit, scaled by √(φ(1 − h)). */
function anscombeResiduals(fit: GlmFit, phi: number): Float64Array {
  const h = hatValues(fit);
  const s = new Float64Array(fit.n);
  for (let i = 0; i < fit.n; i++) {
    const mu = fit.mu[i];
    const a = 1.5 * (fit.y[i] ** (2 / 3) * mu ** (-1 / 6) - Math.sqrt(mu));
    s[i] = a / Math.sqrt(phi * (1 - h[i]));
  }
  return s;
}

/** Weights γ for residuals ≤ threshold, γ s⁻² above it; γ makes them average 1 (Farrington 1996, §3.3). */
function assignWeights(s: Float64Array, threshold: number): Float64Array {
  let sum = 0;
  for (const v of s) {
    if (Number.isNaN(v)) throw new PointError('NA in the Anscombe residuals');
    sum += v > threshold ? v ** -2 : 1;
  }
  const gamma = s.length / sum;
  return s.map((v) => (v > threshold ? gamma * v ** -2 : gamma));
}

/** algo.farrington.fitGLM.flexible: the fit (without trend when it does not converge with it), then the reweighting. */
function fitFlexible(base: Baseline, withTrend: boolean, c: FarringtonFlexibleControl): Model | null {
  const factors = c.noPeriods !== 1;
  const m = base.y.length;
  let d = design(base, withTrend, factors, c.noPeriods, base.wtimeNow);
  let fit = fitQuasiPoisson(d.x, m, d.p, base.response);
  if (!fit.converged) {
    if (withTrend) {
      d = design(base, false, factors, c.noPeriods, base.wtimeNow);
      fit = fitQuasiPoisson(d.x, m, d.p, base.response);
    }
    if (!fit.converged) return null;
  }
  const phi = Math.max(dispersion(fit), 1);
  if (!c.reweight) return { fit, design: d, phi, summaryDispersion: dispersion(fit) };
  const omega = assignWeights(anscombeResiduals(fit, phi), c.weightsThreshold);
  fit = fitQuasiPoisson(d.x, m, d.p, base.response, omega);
  if (fit.failed) throw new PointError('the reweighted fit failed');
  return { fit, design: d, phi: Math.max(dispersion(fit), 1), summaryDispersion: dispersion(fit, omega) };
}

interface Prediction {
  fit: number;
  se: number;
  /** the model's max(1, dispersion) */
  phi: number;
}

/** predict.glm(…, se.fit = TRUE) at t; the standard error uses summary's dispersion, not φ (as R does). */
function predict(model: Model, type: 'response' | 'link'): Prediction {
  const eta = linearPredictor(model.fit, model.design.x0);
  const se = Math.sqrt(unscaledVariance(model.fit, model.design.x0) * model.summaryDispersion);
  if (type === 'link') return { fit: eta, se, phi: model.phi };
  const mu = logLinkInverse(eta);
  return { fit: mu, se: se * mu, phi: model.phi };
}

/** algo.farrington.glm: the model for t, the trend dropped unless significant, b ≥ 3 and not extrapolating. */
function finalModel(base: Baseline, c: FarringtonFlexibleControl, typePred: 'response' | 'link'): Prediction | null {
  let model = fitFlexible(base, c.trend, c);
  if (model === null) return null;
  if (model.design.trendCol >= 0) {
    const { fit } = model;
    const col = model.design.trendCol;
    if (Number.isNaN(fit.coef[col])) throw new PointError('wtime aliased');
    const unit = new Float64Array(fit.p);
    unit[col] = 1;
    const tValue = fit.coef[col] / Math.sqrt(unscaledVariance(fit, unit) * model.summaryDispersion);
    const pValue = fit.dfResidual > 0 ? 2 * pt(-Math.abs(tValue), fit.dfResidual) : NaN;
    if (Number.isNaN(pValue)) throw new PointError('no p-value for the trend');
    let maxY = -Infinity;
    for (const v of base.y) maxY = Math.max(maxY, v);
    const doTrend = c.b >= 3 && pValue < c.pThresholdTrend && predict(model, 'response').fit <= maxY;
    if (!doTrend) {
      model = fitFlexible(base, false, c);
      if (model === null) throw new PointError('no convergence without trend');
    }
  }
  return predict(model, typePred);
}

// ---------------------------------------------------------------------------------------------------------------
// Thresholds

/** algo.farrington.threshold.farrington: the upper end of the normal interval on the power scale. */
function upperDelta(mu0: number, se: number, phi: number, alpha: number, powertrans: PowerTransform): number {
  const tau = phi + (se * se) / mu0;
  let sd: number;
  let e: number;
  if (powertrans === 'none') {
    sd = Math.sqrt(mu0 * tau);
    e = 1;
  } else if (powertrans === '1/2') {
    sd = Math.sqrt(0.25 * tau);
    e = 1 / 2;
  } else {
    sd = Math.sqrt((4 / 9) * mu0 ** (1 / 3) * tau);
    e = 2 / 3;
  }
  const z = qnorm(1 - alpha);
  const lo = (mu0 ** e - z * sd) ** (1 / e);
  const hi = (mu0 ** e + z * sd) ** (1 / e);
  // sort(c(lo, hi), na.last = FALSE)[2]
  if (Number.isNaN(lo)) return hi;
  if (Number.isNaN(hi)) return lo;
  return Math.max(lo, hi);
}

/** algo.farrington.threshold.noufaily: the (1 − alpha) quantile of NB(mean μ₀, variance φμ₀), Poisson if φ ≤ 1. */
function upperNoufaily(eta0: number, seEta0: number, phi: number, alpha: number, method: 'nbPlugin' | 'muan'): number {
  const mu0 = method === 'nbPlugin' ? Math.exp(eta0) : Math.exp(eta0 + seEta0 * qnorm(1 - alpha));
  if (Number.isNaN(mu0) || Number.isNaN(phi)) throw new PointError('NA in the threshold');
  if (mu0 === Infinity) return NaN;
  return phi > 1 ? qnbinom(1 - alpha, mu0 / (phi - 1), 1 / phi) : qpois(1 - alpha, mu0);
}

// ---------------------------------------------------------------------------------------------------------------
// The method

function calendarOf(series: Series): Calendar {
  const start = dayNumber(series.start);
  if (start === undefined) throw new ControlError('start', 'must be a date YYYY-MM-DD');
  const weekly = series.frequency === 'weekly';
  return { start, step: weekly ? 7 : 1, n: series.counts.length, weekly };
}

function evaluate(counts: readonly number[], cal: Calendar, t: number, c: FarringtonFlexibleControl, pastWeeks: number): PointResult {
  const base = baseline(counts, cal, t, c, pastWeeks);
  if (base.y.length === 0) throw new PointError('no baseline');
  const typePred = c.thresholdMethod === 'delta' ? 'response' : 'link';
  const pred = finalModel(base, c, typePred);
  if (pred === null) return { upperbound: null, alarm: null };
  const upper = c.thresholdMethod === 'delta'
    ? upperDelta(pred.fit, pred.se, pred.phi, c.alpha, c.powertrans)
    : upperNoufaily(pred.fit, pred.se, pred.phi, c.alpha, c.thresholdMethod);
  const [cases, weeks] = c.limit54;
  if (t + 1 - weeks + 1 < 0) throw new PointError('negative index'); // observed[(k − weeks + 1):k], k 1-based
  let recent = 0;
  for (let i = Math.max(0, t - weeks + 1); i <= t; i++) recent += counts[i];
  if (!(recent >= cases)) return { upperbound: null, alarm: false };
  const y = counts[t];
  const score = Number.isNaN(upper) ? NaN : (y - pred.fit) / (upper - pred.fit);
  const expected = typePred === 'response' ? pred.fit : Math.exp(pred.fit);
  return { upperbound: Number.isFinite(upper) ? upper : null, alarm: !Number.isNaN(score) && score > 1 && y !== 0, expected, statistic: Number.isFinite(score) ? score : null };
}

/** Evaluates farringtonFlexible on `range` (default: the whole series) of `series`. */
export function farringtonFlexible(series: Series, control: unknown = {}, range: Range = { from: 0, to: series.counts.length - 1 }): DetectionResult<Readonly<FarringtonFlexibleControl>> {
  const c = parseFarringtonFlexibleControl(control);
  checkRange(series, range);
  const cal = calendarOf(series);
  const pastWeeks = c.pastWeeksNotIncluded ?? c.w;
  const points: PointResult[] = [];
  for (let t = range.from; t <= range.to; t++) {
    try {
      points.push(evaluate(series.counts, cal, t, c, pastWeeks));
    } catch (err) {
      if (!(err instanceof PointError)) throw err;
      points.push({ upperbound: null, alarm: null });
    }
  }
  return { points, control: c };
}

export const farringtonFlexibleMethod: DetectionMethod<Readonly<FarringtonFlexibleControl>> = {
  parseControl: parseFarringtonFlexibleControl,
  run: (series, range, control) => farringtonFlexible(series, control, range),
};
