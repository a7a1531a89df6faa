// Distribution functions the surveillance algorithms need, accurate enough to reproduce R's results (they are
// checked against values R computed, in test/fixtures/surveillance/farrington-flexible.json):
//
//   lgamma     log Γ(x), x > 0 — Stirling's series above 15, the recurrence Γ(x+1) = xΓ(x) below
//   pbetaReg   regularised incomplete beta I_x(a, b) — continued fraction (modified Lentz)
//   pt         Student t CDF through I_x(df/2, 1/2)
//   dpois, dnbinom   probability mass — Loader's saddle-point form (stirlerr + bd0) that R's dpois/dbinom use,
//                    accurate to a few ulps even where plain lgamma differences cancel (huge size, large λ)
//   qpois, qnbinom   discrete quantiles: the smallest y with P(X ≤ y) ≥ p, with R's fuzz p·(1 − 64ε) so a CDF
//                    that lands on p up to rounding gives R's answer
//
// Only the lower tail is provided; that is all the algorithms use. The normal quantile is in normal.ts.
import { qnorm } from './normal.ts';

const EPS = 2.220446049250313e-16; // .Machine$double.eps
const LN_SQRT_2PI = 0.918938533204672741780329736406; // log(sqrt(2π))
const LN_2PI = 1.837877066409345483560659472811; // log(2π)

// ---------------------------------------------------------------------------------------------------------------
// log Γ

/** log Γ(x) for x > 0. Stirling's series (terms to B₁₄) is below 1e-16 relative from x = 15 on. */
export function lgamma(x: number): number {
  if (!(x > 0)) return x === 0 ? Infinity : NaN;
  if (x === Infinity) return Infinity;
  let shift = 0;
  if (x < 15) {
    // lgamma(x) = lgamma(x + m) − log(x (x+1) … (x+m−1)); the product stays far from overflow for m ≤ 15
    let prod = 1;
    while (x < 15) {
      prod *= x;
      x += 1;
    }
    shift = Math.log(prod);
  }
  const x2 = 1 / (x * x);
  const series = (1 / 12 - x2 * (1 / 360 - x2 * (1 / 1260 - x2 * (1 / 1680 - x2 * (1 / 1188 - x2 * (691 / 360360 - x2 / 156)))))) / x;
  return (x - 0.5) * Math.log(x) - x + LN_SQRT_2PI + series - shift;
}

// ---------------------------------------------------------------------------------------------------------------
// Regularised incomplete beta and Student t

/** Continued fraction of I_x(a, b) (converges fast for x < (a+1)/(a+b+2)), modified Lentz. */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const TINY = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 100_000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-16) break;
  }
  return h;
}

/**
 * I_x(a, b), the regularised incomplete beta (R's pbeta(x, a, b)). `y` = 1 − x, passed separately when the caller
 * can compute it without cancellation.
 */
export function pbetaReg(x: number, a: number, b: number, y = 1 - x): number {
  if (Number.isNaN(x) || Number.isNaN(a) || Number.isNaN(b)) return NaN;
  if (x <= 0) return 0;
  if (y <= 0) return 1;
  const logFront = a * Math.log(x) + b * Math.log(y) - (lgamma(a) + lgamma(b) - lgamma(a + b));
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(logFront) * betaContinuedFraction(x, a, b)) / a;
  return 1 - (Math.exp(logFront) * betaContinuedFraction(y, b, a)) / b;
}

/** R's pt(t, df), lower tail, df > 0. */
export function pt(t: number, df: number): number {
  if (Number.isNaN(t) || !(df > 0)) return NaN;
  if (t === Infinity) return 1;
  if (t === -Infinity) return 0;
  const t2 = t * t;
  // P(|T| > |t|) = I_{df/(df+t²)}(df/2, 1/2); 1 − x passed as t²/(df+t²), exact where x is near 1
  const tail = pbetaReg(df / (df + t2), df / 2, 0.5, t2 / (df + t2));
  return t > 0 ? 1 - tail / 2 : tail / 2;
}

// ---------------------------------------------------------------------------------------------------------------
// Probability mass (Loader, "Fast and accurate computation of binomial probabilities", 2000)

/** log(n!) − log(√(2π n) (n/e)ⁿ): the error of Stirling's formula. */
function stirlerr(n: number): number {
  if (n <= 15) return lgamma(n + 1) - (n + 0.5) * Math.log(n) + n - LN_SQRT_2PI;
  const n2 = 1 / (n * n);
  return (1 / 12 - n2 * (1 / 360 - n2 * (1 / 1260 - n2 * (1 / 1680 - n2 / 1188)))) / n;
}

/** x log(x/np) + np − x, without cancellation when x ≈ np. */
function bd0(x: number, np: number): number {
  if (Math.abs(x - np) < 0.1 * (x + np)) {
    let v = (x - np) / (x + np);
    let s = (x - np) * v;
    let ej = 2 * x * v;
    v *= v;
    for (let j = 1; j < 1000; j++) {
      ej *= v;
      const s1 = s + ej / (2 * j + 1);
      if (s1 === s) return s1;
      s = s1;
    }
  }
  return x * Math.log(x / np) + np - x;
}

/** Binomial mass at x for a real "n" (p + q = 1, passed separately for accuracy). */
function dbinomRaw(x: number, n: number, p: number, q: number): number {
  if (p === 0) return x === 0 ? 1 : 0;
  if (q === 0) return x === n ? 1 : 0;
  if (x === 0) return n === 0 ? 1 : Math.exp(p < 0.1 ? -bd0(n, n * q) - n * p : n * Math.log(q));
  if (x === n) return Math.exp(q < 0.1 ? -bd0(n, n * p) - n * q : n * Math.log(p));
  if (x < 0 || x > n) return 0;
  const lc = stirlerr(n) - stirlerr(x) - stirlerr(n - x) - bd0(x, n * p) - bd0(n - x, n * q);
  const lf = LN_2PI + Math.log(x) + Math.log1p(-x / n);
  return Math.exp(lc - 0.5 * lf);
}

/** R's dpois(x, lambda) for integer x ≥ 0. */
export function dpois(x: number, lambda: number): number {
  if (lambda === 0) return x === 0 ? 1 : 0;
  if (x === 0) return Math.exp(-lambda);
  return Math.exp(-stirlerr(x) - bd0(x, lambda)) / Math.sqrt(2 * Math.PI * x);
}

/** R's dnbinom(x, size, prob) for integer x ≥ 0. */
export function dnbinom(x: number, size: number, prob: number): number {
  if (x === 0 && size === 0) return 1;
  return (size / (size + x)) * dbinomRaw(size, x + size, prob, 1 - prob);
}

// ---------------------------------------------------------------------------------------------------------------
// Discrete quantiles

interface Discrete {
  /** P(X = y) */
  pmf(y: number): number;
  /** P(X = y − 1) / P(X = y), y ≥ 1 */
  down(y: number): number;
  /** P(X = y + 1) / P(X = y) */
  up(y: number): number;
  /** a mode: below it the mass decreases going down */
  mode: number;
}

/**
 * Smallest integer y ≥ 0 with P(X ≤ y) ≥ p·(1 − 64ε) — R's rule, fuzz included. The CDF at the starting guess is
 * summed downwards from the guess until the terms no longer count, then the search steps one value at a time.
 */
function discreteQuantile(p: number, guess: number, d: Discrete): number {
  const target = p * (1 - 64 * EPS);
  let y = Math.max(0, Math.round(guess));
  let mass = d.pmf(y);
  let cdf = mass;
  let t = mass;
  for (let k = y; k > 0; k--) {
    t *= d.down(k);
    cdf += t;
    if (k - 1 <= d.mode && t <= cdf * 1e-17) break;
  }
  if (cdf >= target) {
    while (y > 0) {
      const below = cdf - mass;
      if (below < target) break;
      cdf = below;
      mass *= d.down(y);
      y--;
    }
  } else {
    while (cdf < target) {
      mass *= d.up(y);
      y++;
      cdf += mass;
      if (mass === 0 && cdf < target) return Infinity; // cannot reach p (only with p rounding to 1)
    }
  }
  return y;
}

/** R's qpois(p, lambda), lower tail. */
export function qpois(p: number, lambda: number): number {
  if (Number.isNaN(p) || Number.isNaN(lambda) || lambda < 0 || p < 0 || p > 1) return NaN;
  if (lambda === 0 || p === 0) return 0;
  if (p + 1.01 * EPS >= 1) return Infinity;
  if (!Number.isFinite(lambda)) return Infinity;
  return discreteQuantile(p, lambda + qnorm(p) * Math.sqrt(lambda), {
    pmf: (y) => dpois(y, lambda),
    down: (y) => y / lambda,
    up: (y) => lambda / (y + 1),
    mode: Math.floor(lambda),
  });
}

/** R's qnbinom(p, size, prob), lower tail. */
export function qnbinom(p: number, size: number, prob: number): number {
  if (Number.isNaN(p) || Number.isNaN(size) || Number.isNaN(prob)) return NaN;
  if (prob <= 0 || prob > 1 || size < 0 || p < 0 || p > 1) return NaN;
  if (prob === 1 || size === 0 || p === 0) return 0;
  if (p + 1.01 * EPS >= 1) return Infinity;
  if (!Number.isFinite(size)) return NaN;
  const q = 1 - prob;
  const mean = (size * q) / prob;
  const sd = Math.sqrt(mean / prob);
  return discreteQuantile(p, mean + qnorm(p) * sd, {
    pmf: (y) => dnbinom(y, size, prob),
    down: (y) => y / ((y - 1 + size) * q),
    up: (y) => ((y + size) * q) / (y + 1),
    mode: size > 1 ? Math.floor(((size - 1) * q) / prob) : 0,
  });
}
