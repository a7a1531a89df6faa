// A quasi-Poisson GLM with log link, fitted the way R's `glm.fit` fits it, so that Farrington's method gives R's
// numbers (coefficients, fitted means, dispersion, hat values and prediction standard errors agree to ~1e-12).
//
//   fitQuasiPoisson   IRLS: start at mu = y + 0.1 (quasipoisson's `initialize`), each step a weighted least-squares
//                     fit by Householder QR with LINPACK dqrdc2's limited column pivoting (tolerance 1e-11, as
//                     `Cdqrls` is called), step halving on an infinite deviance, stop when
//                     |dev − devold| / (|dev| + 0.1) < 1e-8 or after 25 iterations (`glm.control()` defaults)
//   dispersion        summary.glm's estimate Σ wᵢ rᵢ² / df.residual (working weights and residuals)
//   hatValues         diagonal of the weighted hat matrix from the last QR, as `hatvalues()` (≥ 1 − 10ε → 1)
//   unscaledVariance  x₀ᵀ (RᵀR)⁻¹ x₀ — times the dispersion, the variance of a prediction's linear predictor
//                     (predict.lm's se.fit) or, for a unit vector, of one coefficient (summary.glm)
//
// Design matrices are column-major Float64Arrays (n rows × p columns). Rows with prior weight 0 take no part in the
// QR, as in R.

const EPS = 2.220446049250313e-16;
const QR_TOL = 1e-11; // min(1e-7, control$epsilon / 1000)
const EPSILON = 1e-8; // glm.control()$epsilon
const MAXIT = 25; // glm.control()$maxit

export interface GlmFit {
  /** R's `converged`. */
  readonly converged: boolean;
  /** true where R's glm.fit stops with an error (no valid coefficients, non-finite coefficients…): no model. */
  readonly failed: boolean;
  readonly n: number;
  readonly p: number;
  /** Coefficients in the design's column order; NaN for a column the QR found aliased. */
  readonly coef: Float64Array;
  readonly rank: number;
  /** pivot[j] = design column at QR position j. */
  readonly pivot: Int32Array;
  readonly mu: Float64Array;
  readonly eta: Float64Array;
  readonly y: Float64Array;
  readonly priorWeights: Float64Array;
  /** Working weights of the last iteration (R's `model$weights`), 0 outside the fit. */
  readonly weights: Float64Array;
  readonly dfResidual: number;
  /** @internal the last QR: Householder vectors and R (good rows × p), qraux, and which rows took part */
  readonly qr: Float64Array;
  readonly qraux: Float64Array;
  readonly goodRows: Int32Array;
}

const linkinv = (eta: number) => Math.max(Math.exp(eta), EPS);

/**
 * The quasi-Poisson deviance Σ 2wᵢ (yᵢ log(yᵢ/μᵢ) − (yᵢ − μᵢ)), with yᵢ log yᵢ computed once per fit and log μᵢ = ηᵢ
 * (exact but for rounding where μᵢ is not floored at ε) — one logarithm fewer per row and iteration.
 */
function deviance(y: Float64Array, yLogY: Float64Array, eta: Float64Array, mu: Float64Array, wt: Float64Array): number {
  let dev = 0;
  for (let i = 0; i < y.length; i++) {
    const yi = y[i];
    const m = mu[i];
    dev += yi > 0 ? 2 * wt[i] * (yLogY[i] - yi * (m > EPS ? eta[i] : Math.log(m)) - (yi - m)) : 2 * m * wt[i];
  }
  return dev;
}

/**
 * dqrdc2: Householder QR of the m × p column-major `a` in place, moving columns whose norm falls below `tol` times
 * their original norm to the end. Returns the rank; `qraux` and `pivot` are filled.
 */
function qrDecompose(a: Float64Array, m: number, p: number, qraux: Float64Array, pivot: Int32Array, tol: number, work1: Float64Array, work2: Float64Array): number {
  for (let j = 0; j < p; j++) {
    let s = 0;
    for (let i = 0; i < m; i++) s += a[j * m + i] * a[j * m + i];
    qraux[j] = Math.sqrt(s);
    work1[j] = qraux[j];
    work2[j] = qraux[j] === 0 ? 1 : qraux[j];
    pivot[j] = j;
  }
  const lup = Math.min(m, p);
  let k = p + 1; // 1-based as in the Fortran: columns k..p are the negligible ones
  for (let l = 0; l < lup; l++) {
    // cycle negligible columns to the end
    while (!(l + 1 >= k || qraux[l] >= work2[l] * tol)) {
      for (let i = 0; i < m; i++) {
        const t = a[l * m + i];
        for (let j = l + 1; j < p; j++) a[(j - 1) * m + i] = a[j * m + i];
        a[(p - 1) * m + i] = t;
      }
      const piv = pivot[l], q = qraux[l], w1 = work1[l], w2 = work2[l];
      for (let j = l + 1; j < p; j++) {
        pivot[j - 1] = pivot[j];
        qraux[j - 1] = qraux[j];
        work1[j - 1] = work1[j];
        work2[j - 1] = work2[j];
      }
      pivot[p - 1] = piv;
      qraux[p - 1] = q;
      work1[p - 1] = w1;
      work2[p - 1] = w2;
      k--;
    }
    if (l === m - 1) break;
    const col = l * m;
    let nrmxl = 0;
    for (let i = l; i < m; i++) nrmxl += a[col + i] * a[col + i];
    nrmxl = Math.sqrt(nrmxl);
    if (nrmxl === 0) continue;
    if (a[col + l] !== 0) nrmxl = a[col + l] < 0 ? -Math.abs(nrmxl) : Math.abs(nrmxl);
    for (let i = l; i < m; i++) a[col + i] /= nrmxl;
    a[col + l] += 1;
    for (let j = l + 1; j < p; j++) {
      const cj = j * m;
      let dot = 0;
      for (let i = l; i < m; i++) dot += a[col + i] * a[cj + i];
      const t = -dot / a[col + l];
      for (let i = l; i < m; i++) a[cj + i] += t * a[col + i];
      if (qraux[j] === 0) continue;
      let tt = 1 - (Math.abs(a[cj + l]) / qraux[j]) ** 2;
      tt = Math.max(tt, 0);
      if (Math.abs(tt) < 1e-6) {
        let s = 0;
        for (let i = l + 1; i < m; i++) s += a[cj + i] * a[cj + i];
        qraux[j] = Math.sqrt(s);
        work1[j] = qraux[j];
      } else {
        qraux[j] *= Math.sqrt(tt);
      }
    }
    qraux[l] = a[col + l];
    a[col + l] = -nrmxl;
  }
  return Math.min(k - 1, m);
}

/** Applies Householder reflection j (H_j = H_jᵀ) of the QR to v in place. */
function reflect(a: Float64Array, m: number, qraux: Float64Array, j: number, v: Float64Array): void {
  if (qraux[j] === 0) return;
  const col = j * m;
  const diag = qraux[j];
  let dot = diag * v[j];
  for (let i = j + 1; i < m; i++) dot += a[col + i] * v[i];
  const t = -dot / diag;
  v[j] += t * diag;
  for (let i = j + 1; i < m; i++) v[i] += t * a[col + i];
}

/** Qᵀv in place (dqrsl), with the first `rank` reflections. */
function applyQt(a: Float64Array, m: number, rank: number, qraux: Float64Array, v: Float64Array): void {
  const ju = Math.min(rank, m - 1);
  for (let j = 0; j < ju; j++) reflect(a, m, qraux, j, v);
}

/** Qv in place: the reflections in reverse order. */
function applyQ(a: Float64Array, m: number, rank: number, qraux: Float64Array, v: Float64Array): void {
  for (let j = Math.min(rank, m - 1) - 1; j >= 0; j--) reflect(a, m, qraux, j, v);
}

/** eta = offset + x·coef, mu = linkinv(eta); false when some mu is not a valid mean (R's validmu). */
function linearPredictors(x: Float64Array, n: number, p: number, coef: Float64Array, off: Float64Array | undefined, eta: Float64Array, mu: Float64Array): boolean {
  let valid = true;
  for (let i = 0; i < n; i++) {
    let s = off === undefined ? 0 : off[i];
    for (let j = 0; j < p; j++) s += x[j * n + i] * coef[j];
    eta[i] = s;
    const m = linkinv(s);
    mu[i] = m;
    if (!(m > 0 && m < Infinity)) valid = false;
  }
  return valid;
}

/** What every fit of the same counts starts from: y log y, and quasipoisson's start η = log(y + 0.1), μ = e^η. */
export interface Response {
  readonly y: Float64Array;
  readonly yLogY: Float64Array;
  readonly eta0: Float64Array;
  readonly mu0: Float64Array;
}

/** Prepares counts for several fits (Farrington fits the same baseline up to four times). */
export function prepareResponse(y: Float64Array): Response {
  const n = y.length;
  const yLogY = new Float64Array(n);
  const eta0 = new Float64Array(n);
  const mu0 = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    eta0[i] = Math.log(y[i] + 0.1);
    mu0[i] = linkinv(eta0[i]);
    if (y[i] > 0) yLogY[i] = y[i] * Math.log(y[i]);
  }
  return { y, yLogY, eta0, mu0 };
}

/**
 * Fits y ~ x (log link, quasi-Poisson variance) as glm(…, family = quasipoisson(link = "log"), weights, offset).
 * `x` is n × p column-major and includes the intercept column; `response` the counts, or prepareResponse(counts).
 */
export function fitQuasiPoisson(x: Float64Array, n: number, p: number, response: Float64Array | Response, priorWeights?: Float64Array, offset?: Float64Array): GlmFit {
  const { y, yLogY, eta0, mu0 } = response instanceof Float64Array ? prepareResponse(response) : response;
  const weights = priorWeights ?? new Float64Array(n).fill(1);
  const eta = eta0.slice();
  const mu = mu0.slice();
  let devold = deviance(y, yLogY, eta, mu, weights);
  let conv = false;
  let failed = false;
  let start = new Float64Array(p);
  let coefold: Float64Array | null = null;
  const pivot = new Int32Array(p);
  const qraux = new Float64Array(p);
  // rows with prior weight > 0 (mu.eta = max(exp(eta), ε) never vanishes, so R's `good` is just this)
  const goodAll = new Int32Array(n);
  let m = 0;
  for (let i = 0; i < n; i++) if (weights[i] > 0) goodAll[m++] = i;
  const good = goodAll.subarray(0, m);
  const qr = new Float64Array(m * p);
  const z = new Float64Array(m);
  const w = new Float64Array(m); // sqrt working weights of the last iteration
  const b = new Float64Array(p);
  const work1 = new Float64Array(p);
  const work2 = new Float64Array(p);
  let rank = 0;

  for (let iter = 1; iter <= MAXIT && m > 0; iter++) {
    for (let r = 0; r < m; r++) {
      const i = good[r];
      const muEta = mu[i]; // = linkinv(eta[i]) for the log link
      const wr = Math.sqrt((weights[i] * muEta * muEta) / mu[i]);
      w[r] = wr;
      z[r] = (eta[i] - (offset === undefined ? 0 : offset[i]) + (y[i] - mu[i]) / muEta) * wr;
      for (let j = 0; j < p; j++) qr[j * m + r] = x[j * n + i] * wr;
    }
    rank = qrDecompose(qr, m, p, qraux, pivot, QR_TOL, work1, work2);
    applyQt(qr, m, rank, qraux, z);
    // back-solve R b = (Q'z)[0:rank]; aliased coefficients are 0 inside the iterations (dqrls)
    b.fill(0);
    let finite = true;
    for (let j = rank - 1; j >= 0; j--) {
      let s = z[j];
      for (let c = j + 1; c < rank; c++) s -= qr[c * m + j] * b[c];
      b[j] = s / qr[j * m + j];
      if (!Number.isFinite(b[j])) finite = false;
    }
    if (!finite) {
      failed = true; // R warns "non-finite coefficients" and returns no usable model
      break;
    }
    const next = new Float64Array(p);
    for (let j = 0; j < p; j++) next[pivot[j]] = b[j];
    start = next;
    let valid = linearPredictors(x, n, p, start, offset, eta, mu);
    let dev = deviance(y, yLogY, eta, mu, weights);
    if (!Number.isFinite(dev) || !valid) {
      if (coefold === null) {
        failed = true; // "no valid set of coefficients has been found: please supply starting values"
        break;
      }
      // step halving towards the previous coefficients
      for (let ii = 1; !Number.isFinite(dev) || !valid; ii++) {
        if (ii > MAXIT) {
          failed = true; // "inner loop 1; cannot correct step size"
          break;
        }
        for (let j = 0; j < p; j++) start[j] = (start[j] + coefold[j]) / 2;
        valid = linearPredictors(x, n, p, start, offset, eta, mu);
        dev = deviance(y, yLogY, eta, mu, weights);
      }
      if (failed) break;
    }
    if (Math.abs(dev - devold) / (0.1 + Math.abs(dev)) < EPSILON) {
      conv = true;
      break;
    }
    devold = dev;
    coefold = start;
  }

  const coef = start.slice();
  for (let j = rank; j < p; j++) coef[pivot[j]] = NaN;
  const workingWeights = new Float64Array(n);
  for (let r = 0; r < m; r++) workingWeights[good[r]] = w[r] * w[r];
  let nOk = 0;
  for (let i = 0; i < n; i++) if (weights[i] !== 0) nOk++;
  return {
    converged: conv, failed, n, p, coef, rank, pivot, mu, eta, y, priorWeights: weights, weights: workingWeights,
    dfResidual: nOk - rank, qr, qraux, goodRows: good,
  };
}

/**
 * summary.glm(fit)$dispersion for a quasi family: Σ wᵢ rᵢ² over wᵢ > 0, divided by df.residual (NaN if 0), with
 * the working weights and residuals. `weights` replaces the working weights, for a model whose `$weights` the
 * caller has overwritten (Farrington's reweighted fit).
 */
export function dispersion(fit: GlmFit, weights: Float64Array = fit.weights): number {
  if (fit.dfResidual <= 0) return NaN;
  let s = 0;
  for (let i = 0; i < fit.n; i++) {
    const wt = weights[i];
    if (wt > 0) {
      const r = (fit.y[i] - fit.mu[i]) / linkinv(fit.eta[i]);
      s += wt * r * r;
    }
  }
  return s / fit.dfResidual;
}

/** hatvalues(fit): row sums of Q[, 1:rank]², values ≥ 1 − 10ε set to 1; 0 for rows outside the fit. */
export function hatValues(fit: GlmFit): Float64Array {
  const m = fit.goodRows.length;
  const hat = new Float64Array(fit.n);
  const v = new Float64Array(m);
  for (let c = 0; c < fit.rank; c++) {
    v.fill(0);
    v[c] = 1;
    applyQ(fit.qr, m, fit.rank, fit.qraux, v);
    for (let r = 0; r < m; r++) hat[fit.goodRows[r]] += v[r] * v[r];
  }
  for (let i = 0; i < fit.n; i++) if (hat[i] >= 1 - 10 * EPS) hat[i] = 1;
  return hat;
}

/** x₀ᵀ (RᵀR)⁻¹ x₀ over the non-aliased columns (predict.lm drops the aliased ones). */
export function unscaledVariance(fit: GlmFit, x0: ArrayLike<number>): number {
  const m = fit.goodRows.length;
  const u = new Float64Array(fit.rank);
  let s = 0;
  // forward-solve Rᵀ u = x₀[pivot]
  for (let j = 0; j < fit.rank; j++) {
    let t = x0[fit.pivot[j]];
    for (let c = 0; c < j; c++) t -= fit.qr[j * m + c] * u[c];
    u[j] = t / fit.qr[j * m + j];
    s += u[j] * u[j];
  }
  return s;
}

/** Linear predictor x₀ᵀβ at a new point (aliased coefficients count as 0), plus its offset. */
export function linearPredictor(fit: GlmFit, x0: ArrayLike<number>, offset = 0): number {
  let s = offset;
  for (let j = 0; j < fit.p; j++) if (!Number.isNaN(fit.coef[j])) s += x0[j] * fit.coef[j];
  return s;
}

export { linkinv as logLinkInverse };
