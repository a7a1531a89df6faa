// CUSUM for counts, as R's surveillance::cusum (algo.cusum) computes it (Rossi, Lampugnani & Marchi, "An approximate
// CUSUM procedure for surveillance of health events", Stat Med 1999; the transformations as in the package).
//
// Contents: control (defaults, checks) · the in-control mean m · the transformations · the Anscombe negative
// binomial residual (R's tabulated 2F1) · cusum · the method-table entry.
//
// The counts of the range are standardised with the in-control mean m (the mean of every count before the range,
// a given number, or a Poisson regression with one yearly harmonic fitted to the counts before the range), then
// S_t = max(0, S_{t-1} + z_t − k), S_0 = 0 at the first point of the range; an alarm when S_t ≥ h.
// The upper bound is the count that would make S_t reach h, per transformation, as R computes it — for `none`
// and `anscombeNegBin` R reports h − S_t instead of a count, and so do we. R replaces NA bounds and negative
// ones by 0; so do we. Where S_t is NaN (m = 0, or an Anscombe NB argument beyond R's table) the alarm is null.
// When the range starts at the first count there is no count to estimate m from: every point is null (R would
// take the first count itself, a quirk of 1:(timePoint-1)).
import { checkRange, numberCheck, oneOfCheck, readControl, type Check } from './control.ts';
import { seasonOf } from './dates.ts';
import { fitQuasiPoisson, linearPredictor, logLinkInverse } from './glm.ts';
import { ControlError, type DetectionMethod, type DetectionResult, type PointResult, type Range, type Series } from './types.ts';

export const CUSUM_TRANSFORMATIONS = ['standard', 'rossi', 'anscombe', 'anscombe2nd', 'pearsonNegBin', 'anscombeNegBin', 'none'] as const;
export type CusumTrans = (typeof CUSUM_TRANSFORMATIONS)[number];

export interface CusumControl {
  /** reference value subtracted from each standardised count */
  k: number;
  /** decision interval: alarm when the sum reaches it */
  h: number;
  /** in-control mean: null = mean of the counts before the range; a number; or 'glm' (Poisson, one harmonic) */
  m: number | 'glm' | null;
  trans: CusumTrans;
  /** negative binomial dispersion (variance m + alpha·m²) for pearsonNegBin and anscombeNegBin */
  alpha: number;
}

export const DEFAULT_CUSUM_CONTROL: Readonly<CusumControl> = Object.freeze({ k: 1.04, h: 2.26, m: null, trans: 'standard', alpha: 0.1 });

const positive = numberCheck({ min: 0, exclusive: true });
const mCheck: Check<CusumControl['m']> = (v, field) => {
  if (v === null || v === 'glm') return v;
  if (typeof v === 'number') return positive(v, field);
  throw new ControlError(field, 'must be null (mean of the counts before the range), a positive number or "glm"');
};

const CHECKS = {
  k: numberCheck({ min: 0 }),
  h: positive,
  m: mCheck,
  trans: oneOfCheck(CUSUM_TRANSFORMATIONS),
  alpha: numberCheck({ min: 0 }),
};

export function parseCusumControl(raw: unknown): Readonly<CusumControl> {
  const c = readControl(raw, DEFAULT_CUSUM_CONTROL, CHECKS);
  // R fails here (its table lookup is not vectorised); a per-point m would need the lookup per point
  if (c.trans === 'anscombeNegBin' && c.m === 'glm') throw new ControlError('params.trans', 'anscombeNegBin needs a single m; it cannot be combined with m = "glm"');
  return c;
}

/** The in-control mean for each point of the range, or undefined when there is nothing to estimate it from. */
function inControlMean(series: Series, range: Range, m: CusumControl['m']): number[] | undefined {
  const n = range.to - range.from + 1;
  if (typeof m === 'number') return new Array<number>(n).fill(m);
  if (range.from === 0) return undefined;
  const before = series.counts.slice(0, range.from);
  if (m === null) return new Array<number>(n).fill(before.reduce((s, v) => s + v, 0) / before.length);
  // R: glm(x ~ 1 + cos(2π/p·t) + sin(2π/p·t), poisson) with t = start[2] + i − 1 for the i-th count (1-based)
  const { freq, startInYear } = seasonOf(series);
  const row = (i: number) => {
    const t = startInYear + i; // i is 0-based here
    return [1, Math.cos(((2 * Math.PI) / freq) * t), Math.sin(((2 * Math.PI) / freq) * t)];
  };
  const x = new Float64Array(before.length * 3); // column-major: intercept, cos, sin
  before.forEach((_, i) => row(i).forEach((v, c) => (x[c * before.length + i] = v)));
  const fit = fitQuasiPoisson(x, before.length, 3, Float64Array.from(before)); // the Poisson fit (same IRLS)
  if (fit.failed) return undefined;
  return Array.from({ length: n }, (_, j) => logLinkInverse(linearPredictor(fit, row(range.from + j))));
}

// --- R's hypgeom2F1special: 2F1(1/3, 2/3; 5/3; x) looked up in a table on the grid 0, −0.01, …, −10 (nearest
// value) and −11, …, −100 (linear interpolation); NA below −100. R stores the table to about 1e-10; we compute
// it to double precision on first use (Pfaff: (1−x)^(−2/3) · 2F1(4/3, 2/3; 5/3; x/(x−1)), a convergent series).
let table: { z: number[]; hyp: number[] } | undefined;

function hypgeomGrid(): { z: number[]; hyp: number[] } {
  if (table) return table;
  const z = [...Array.from({ length: 1001 }, (_, i) => -i / 100), ...Array.from({ length: 90 }, (_, i) => -(i + 11))];
  const hyp = z.map((x) => {
    const w = x / (x - 1);
    let sum = 1;
    let term = 1;
    for (let n = 0; Math.abs(term) > 1e-17 * sum; n++) {
      term *= (((4 / 3 + n) * (2 / 3 + n)) / ((5 / 3 + n) * (n + 1))) * w;
      sum += term;
    }
    return (1 - x) ** (-2 / 3) * sum;
  });
  return (table = { z, hyp });
}

function hypgeom2F1special(x: number): number {
  const { z, hyp } = hypgeomGrid();
  let idx = 0; // which.min(abs(z − x)): the first of the nearest
  for (let i = 1; i < z.length; i++) if (Math.abs(z[i] - x) < Math.abs(z[idx] - x)) idx = i;
  if (x >= -10) return hyp[idx];
  const [low, up] = x - z[idx] < 0 ? [idx + 1, idx] : [idx, idx - 1];
  if (low >= z.length) return Number.NaN;
  return hyp[low] + (hyp[up] - hyp[low]) * (x - z[low]);
}

/** Anscombe residual for the negative binomial (R's anscombeNB). */
function anscombeNB(y: number, mu: number, alpha: number): number {
  const up = 1.5 * y ** (2 / 3) * hypgeom2F1special(-alpha * y) - 1.5 * mu ** (2 / 3) * hypgeom2F1special(-alpha * mu);
  return up / (mu + alpha * mu * mu) ** (1 / 6);
}

/** z_t: the count standardised with its in-control mean (R's expressions, in R's order of operations). */
function standardise(trans: CusumTrans, x: number, m: number, alpha: number): number {
  switch (trans) {
    case 'rossi': return (x - 3 * m + 2 * Math.sqrt(x * m)) / (2 * Math.sqrt(m));
    case 'standard': return (x - m) / Math.sqrt(m);
    case 'anscombe': return (3 / 2 * (x ** (2 / 3) - m ** (2 / 3))) / m ** (1 / 6);
    case 'anscombe2nd': return (x ** (2 / 3) - (m ** (2 / 3) - m ** (-1 / 3) / 9)) / (2 / 3 * m ** (1 / 6));
    case 'pearsonNegBin': return (x - m) / Math.sqrt(m + alpha * m * m);
    case 'anscombeNegBin': return anscombeNB(x, m, alpha);
    case 'none': return x;
  }
}

/** The bound for a point given the sum before it (ctm1) and after it (ct), as R's algo.cusum. */
function bound(c: CusumControl, m: number, ctm1: number, ct: number): number {
  const { h, k, alpha } = c;
  let b: number;
  switch (c.trans) {
    case 'rossi':
      b = 2 * h * m ** (1 / 2) + 2 * k * m ** (1 / 2) - 2 * ctm1 * m ** (1 / 2) + 5 * m - 2 * (4 * (m * m) + 2 * m ** (3 / 2) * h + 2 * m ** (3 / 2) * k - 2 * m ** (3 / 2) * ctm1) ** (1 / 2);
      break;
    case 'standard': b = Math.ceil(Math.sqrt(m) * (h + k - ctm1) + m); break;
    case 'anscombe': {
      const a = (2 / 3) * m ** (1 / 6) * (h + k - ctm1) + m ** (2 / 3);
      b = a < 0 ? 0 : a ** (3 / 2);
      break;
    }
    case 'anscombe2nd': {
      const a = (2 / 3) * m ** (1 / 6) * (h + k - ctm1) + (m ** (2 / 3) - m ** (1 / 3) / 9);
      b = a < 0 ? 0 : a ** (3 / 2);
      break;
    }
    case 'pearsonNegBin': b = Math.sqrt(m + alpha * (m * m)) * (h + k - ctm1) + m; break;
    case 'anscombeNegBin':
    case 'none': b = h - ct; break;
  }
  return Number.isNaN(b) || b < 0 ? 0 : b;
}

export interface CusumResult extends DetectionResult<Readonly<CusumControl>> {
  /** the CUSUM statistic S_t per point (null where it could not be computed) */
  cusum: (number | null)[];
  /** the in-control mean used per point (null when there was nothing before the range) */
  m: number[] | null;
}

/** Evaluates the CUSUM on `range` (default: all but the first count, the least R needs to estimate m). */
export function cusum(series: Series, control: Partial<CusumControl> = {}, range: Range = { from: Math.min(1, series.counts.length - 1), to: series.counts.length - 1 }): CusumResult {
  const c = parseCusumControl(control);
  checkRange(series, range);
  const n = range.to - range.from + 1;
  const m = inControlMean(series, range, c.m);
  if (!m) return { points: Array.from({ length: n }, () => ({ upperbound: null, alarm: null })), control: c, cusum: new Array(n).fill(null), m: null };
  const points: PointResult[] = [];
  const sums: (number | null)[] = [];
  let s = 0;
  for (let j = 0; j < n; j++) {
    const x = series.counts[range.from + j];
    const next = Math.max(0, s + (standardise(c.trans, x, m[j], c.alpha) - c.k)); // NaN stays NaN, as R's max
    points.push({ upperbound: bound(c, m[j], s, next), alarm: Number.isNaN(next) ? null : next >= c.h });
    sums.push(Number.isNaN(next) ? null : next);
    s = next;
  }
  return { points, control: c, cusum: sums, m };
}

export const cusumMethod: DetectionMethod<Readonly<CusumControl>> = {
  parseControl: parseCusumControl,
  run: (series, range, control) => cusum(series, control, range),
};
