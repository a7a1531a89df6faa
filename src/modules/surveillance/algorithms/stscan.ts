// Space-time permutation scan statistic (Kulldorff, Heffernan, Hartman, Assunção, Mostashari, "A space-time
// permutation scan statistic for disease outbreak detection", PLoS Medicine 2005; 2(3): e59), as SaTScan's
// "space-time permutation" model computes it, for case counts per zone (community) and day.
//
// Contents: control (defaults, checks) · the input · preparation (neighbour orderings, windows, candidates) ·
// the scan of one table (observed or permuted) · Monte Carlo replications (seeded, resumable in slices so they can
// be split across threads) · the clusters reported · stscan (all in one thread) · permuteDates (for tests).
//
// A candidate cluster is a cylinder: a circle (a centre zone and its k nearest neighbours by centroid distance)
// times a window of consecutive days. Its expected count conditions on both marginals:
//   μ_A = (Σ_{z∈A} C_z)(Σ_{d∈A} C_d) / C      C_z = cases of zone z over the study period, C_d = cases of day d,
// and its score is the Poisson generalised likelihood ratio
//   LLR = c ln(c/μ) + (C − c) ln((C − c)/(C − μ))   when c > μ, else 0.
// The most likely cluster has the largest LLR. Its p-value is rank/(R + 1): R replications permute the days of the
// cases (every case keeps its zone, every day keeps its count), the maximum LLR of each replicate is taken, and
// rank = 1 + the replicates whose maximum reaches the observed LLR. Secondary clusters are the best cylinders of
// other centres that share no zone with a cluster already reported (SaTScan's "no geographical overlap"), with
// p-values against the same replicate maxima.
//
// Speed: C_z and C_d are the same in every replicate, so every candidate's μ (and ln(C − μ)) is computed once;
// n ln n comes from a table; a replicate draws only the cases of the days a window covers (a partial Fisher–Yates
// shuffle, undone afterwards so each replicate depends on its own seed only) and sums counts over neighbours
// cumulatively, window by window. Replicate r uses the generator seeded with (seed, r), so any split of the
// replicates over threads gives the same maxima.
import { booleanCheck, numberCheck, nullableCheck, readControl } from './control.ts';
import { ControlError } from './types.ts';

export interface StscanControl {
  /** largest share of all cases (of the study period) a cluster's zones may hold; SaTScan's default 50 % */
  maxShare: number;
  /** largest number of zones in a cluster (null: no limit beyond maxShare) */
  maxZones: number | null;
  /** longest window in days (null: half of the study period, SaTScan's default) */
  maxDays: number | null;
  /** only windows that end on the last day (a daily surveillance run); false scans every window */
  prospective: boolean;
  /** Monte Carlo replications; p-values step by 1/(replications + 1) */
  replications: number;
  /** seed of the replications' random numbers: the same data and seed give the same p-values */
  seed: number;
  /** most clusters reported (the most likely and the secondary ones) */
  maxClusters: number;
}

export const DEFAULT_STSCAN_CONTROL: Readonly<StscanControl> = Object.freeze({
  maxShare: 0.5, maxZones: null, maxDays: null, prospective: true, replications: 999, seed: 20050301, maxClusters: 10,
});

const CHECKS = {
  maxShare: numberCheck({ min: 0, max: 1, exclusive: true }),
  maxZones: nullableCheck(numberCheck({ integer: true, min: 1 })),
  maxDays: nullableCheck(numberCheck({ integer: true, min: 1 })),
  prospective: booleanCheck(),
  replications: numberCheck({ integer: true, min: 0, max: 99_999 }),
  seed: numberCheck({ integer: true }),
  maxClusters: numberCheck({ integer: true, min: 1 }),
};

export function parseStscanControl(raw: unknown): Readonly<StscanControl> {
  return readControl(raw, DEFAULT_STSCAN_CONTROL, CHECKS);
}

/** Case counts per zone and day, and where the zones are. */
export interface StscanInput {
  /** counts[z][d]: cases of zone z on day d of the study period (the last day is the day evaluated) */
  readonly counts: readonly (readonly number[])[];
  /** one centroid per zone (WGS-84 degrees) */
  readonly centroids: readonly { readonly lon: number; readonly lat: number }[];
}

export interface StscanCluster {
  /** the centre's zone index */
  centre: number;
  /** zone indices, nearest first (the centre first) */
  zones: number[];
  /** distance from the centre to the farthest zone, km */
  radiusKm: number;
  /** first and last day of the window (indices into the study period) */
  startDay: number;
  endDay: number;
  observed: number;
  expected: number;
  llr: number;
  pValue: number;
}

export interface StscanResult {
  /** the most likely cluster first, then the secondary ones by LLR; empty when no cylinder has more cases than expected */
  clusters: StscanCluster[];
  totalCases: number;
  control: Readonly<StscanControl>;
}

// ── preparation ───────────────────────────────────────────────────────────────────────────────────────────────

/** What the scan of any table needs, fixed by the marginals: built once per data set (and once per worker). */
export interface PreparedScan {
  readonly control: Readonly<StscanControl>;
  readonly zones: number;
  readonly days: number;
  readonly totalCases: number;
  /** nb[i*Z + k]: the k-th nearest zone to centre i (k = 0 is i) */
  readonly nb: Int32Array;
  /** distance of nb[i*Z + k] from i, km */
  readonly dist: Float64Array;
  /** zones allowed in centre i's circles */
  readonly kmax: Int32Array;
  /** Σ C_z over the first k + 1 neighbours of i */
  readonly czCum: Float64Array;
  readonly windows: number;
  readonly winStart: Int32Array;
  readonly winEnd: Int32Array;
  /** first day any window covers; replicates draw only the cases from it on */
  readonly firstDay: number;
  /** C_d summed over each window, divided by C, and its logarithm */
  readonly cwShare: Float64Array;
  readonly lnCwShare: Float64Array;
  /** ln(C − μ) per candidate (i, k, window), in the scan's order */
  readonly lnRest: Float64Array;
  /** n ln n for n = 0..C */
  readonly nlogn: Float64Array;
  /** the observed table from firstDay on, zone-major (z * span + d − firstDay) */
  readonly observed: Int32Array;
  /** every case's zone, in a canonical order (zone by zone) that each replicate starts from and restores */
  readonly caseZone: Int32Array;
  /** the day (− firstDay) of the j-th case from firstDay on, for j < drawn */
  readonly labelDay: Int32Array;
}

const EARTH_KM = 6371.0088;

function haversineKm(a: { lon: number; lat: number }, b: { lon: number; lat: number }): number {
  const r = Math.PI / 180;
  const s1 = Math.sin(((b.lat - a.lat) * r) / 2);
  const s2 = Math.sin(((b.lon - a.lon) * r) / 2);
  const h = s1 * s1 + Math.cos(a.lat * r) * Math.cos(b.lat * r) * s2 * s2;
  return 2 * EARTH_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

function checkInput(input: StscanInput): { zones: number; days: number } {
  const zones = input.counts.length;
  if (zones === 0) throw new ControlError('counts', 'must hold at least one zone');
  if (input.centroids.length !== zones) throw new ControlError('centroids', `must hold one centroid per zone (${zones})`);
  const days = input.counts[0].length;
  if (days === 0) throw new ControlError('counts[0]', 'must hold at least one day');
  input.counts.forEach((row, z) => {
    if (row.length !== days) throw new ControlError(`counts[${z}]`, `must hold ${days} days as counts[0] does`);
    row.forEach((v, d) => {
      if (!Number.isInteger(v) || v < 0) throw new ControlError(`counts[${z}][${d}]`, 'must be a non-negative integer');
    });
  });
  input.centroids.forEach((c, z) => {
    if (!Number.isFinite(c.lon) || !Number.isFinite(c.lat) || Math.abs(c.lat) > 90 || Math.abs(c.lon) > 180) throw new ControlError(`centroids[${z}]`, 'must be a longitude and latitude in degrees');
  });
  return { zones, days };
}

/** Checks the input and builds every structure fixed by the marginals. */
export function prepareScan(input: StscanInput, rawControl: unknown = {}): PreparedScan {
  const control = parseStscanControl(rawControl);
  const { zones: Z, days: D } = checkInput(input);
  const maxDays = Math.min(control.maxDays ?? Math.max(1, Math.floor(D / 2)), D);

  // marginals
  const cz = new Float64Array(Z);
  const cd = new Float64Array(D);
  let C = 0;
  for (let z = 0; z < Z; z++) {
    for (let d = 0; d < D; d++) {
      const v = input.counts[z][d];
      cz[z] += v;
      cd[d] += v;
    }
    C += cz[z];
  }

  // neighbour orderings: by distance, ties by zone index
  const nb = new Int32Array(Z * Z);
  const dist = new Float64Array(Z * Z);
  const kmax = new Int32Array(Z);
  const czCum = new Float64Array(Z * Z);
  const order = Array.from({ length: Z }, (_, j) => j);
  const di = new Float64Array(Z);
  const maxZones = Math.min(control.maxZones ?? Z, Z);
  for (let i = 0; i < Z; i++) {
    for (let j = 0; j < Z; j++) di[j] = j === i ? 0 : haversineKm(input.centroids[i], input.centroids[j]);
    order.sort((a, b) => (a === i ? -1 : b === i ? 1 : di[a] - di[b] || a - b));
    let sum = 0;
    let k = 0;
    for (; k < Z; k++) {
      const z = order[k];
      nb[i * Z + k] = z;
      dist[i * Z + k] = di[z];
      sum += cz[z];
      czCum[i * Z + k] = sum;
    }
    let allowed = 0;
    while (allowed < maxZones && czCum[i * Z + allowed] <= control.maxShare * C) allowed++;
    kmax[i] = allowed;
  }

  // windows: prospective ones end on the last day; otherwise every window of up to maxDays days
  const starts: number[] = [];
  const ends: number[] = [];
  if (control.prospective) {
    for (let w = 1; w <= maxDays; w++) {
      starts.push(D - w);
      ends.push(D - 1);
    }
  } else {
    for (let e = 0; e < D; e++) for (let w = 1; w <= maxDays && w <= e + 1; w++) {
      starts.push(e - w + 1);
      ends.push(e);
    }
  }
  const W = starts.length;
  const winStart = Int32Array.from(starts);
  const winEnd = Int32Array.from(ends);
  const firstDay = Math.min(...starts);
  const cdPre = new Float64Array(D + 1);
  for (let d = 0; d < D; d++) cdPre[d + 1] = cdPre[d] + cd[d];
  const cwShare = new Float64Array(W);
  for (let j = 0; j < W; j++) cwShare[j] = C > 0 ? (cdPre[winEnd[j] + 1] - cdPre[winStart[j]]) / C : 0;
  const lnCwShare = cwShare.map(Math.log);

  // ln(C − μ) per candidate, in the order the scan visits them
  let candidates = 0;
  for (let i = 0; i < Z; i++) candidates += kmax[i] * W;
  const lnRest = new Float64Array(candidates);
  let idx = 0;
  for (let i = 0; i < Z; i++) {
    for (let k = 0; k < kmax[i]; k++) {
      const czk = czCum[i * Z + k];
      for (let j = 0; j < W; j++) lnRest[idx++] = Math.log(C - czk * cwShare[j]);
    }
  }

  const nlogn = new Float64Array(C + 1);
  for (let n = 1; n <= C; n++) nlogn[n] = n * Math.log(n);

  // the observed table from firstDay on, and the cases replicates draw from
  const span = D - firstDay;
  const observed = new Int32Array(Z * span);
  const caseZone = new Int32Array(C);
  let drawn = 0;
  for (let d = firstDay; d < D; d++) drawn += cd[d];
  const labelDay = new Int32Array(drawn);
  let c = 0;
  for (let z = 0; z < Z; z++) {
    for (let d = 0; d < D; d++) {
      const v = input.counts[z][d];
      if (d >= firstDay) observed[z * span + d - firstDay] = v;
      for (let n = 0; n < v; n++) caseZone[c++] = z;
    }
  }
  let l = 0;
  for (let d = firstDay; d < D; d++) for (let n = 0; n < cd[d]; n++) labelDay[l++] = d - firstDay;

  return {
    control, zones: Z, days: D, totalCases: C, nb, dist, kmax, czCum, windows: W, winStart, winEnd, firstDay, cwShare, lnCwShare, lnRest, nlogn, observed, caseZone, labelDay,
  };
}

// ── the scan of one table ─────────────────────────────────────────────────────────────────────────────────────

/** Scratch space of one thread's scans. */
interface Scratch {
  /** per zone and window: cases in the window (z * W + j) */
  zw: Int32Array;
  /** running sums over a circle, per window */
  acc: Int32Array;
  pre: Int32Array;
}

function scratchFor(p: PreparedScan): Scratch {
  return { zw: new Int32Array(p.zones * p.windows), acc: new Int32Array(p.windows), pre: new Int32Array(p.days - p.firstDay + 1) };
}

/** Cases per zone and window from a table of days firstDay.. (zone-major). */
function windowCounts(p: PreparedScan, table: Int32Array, s: Scratch): void {
  const span = p.days - p.firstDay;
  const W = p.windows;
  const { pre, zw } = s;
  for (let z = 0; z < p.zones; z++) {
    for (let d = 0; d < span; d++) pre[d + 1] = pre[d] + table[z * span + d];
    for (let j = 0; j < W; j++) zw[z * W + j] = pre[p.winEnd[j] - p.firstDay + 1] - pre[p.winStart[j] - p.firstDay];
  }
}

/**
 * The largest LLR over all candidates of the table held in `s.zw`; with `best` given, also each centre's best
 * candidate (LLR, neighbours k, window j).
 */
function scanTable(p: PreparedScan, s: Scratch, best?: { llr: Float64Array; k: Int32Array; j: Int32Array }): number {
  const { zones: Z, windows: W, totalCases: C, nb, kmax, czCum, cwShare, lnCwShare, lnRest, nlogn } = p;
  const { zw, acc } = s;
  let max = 0;
  let idx = 0;
  for (let i = 0; i < Z; i++) {
    acc.fill(0);
    let centreBest = 0;
    let bk = -1;
    let bj = -1;
    const K = kmax[i];
    for (let k = 0; k < K; k++) {
      const base = nb[i * Z + k] * W;
      const czk = czCum[i * Z + k];
      const lnCz = Math.log(czk);
      for (let j = 0; j < W; j++, idx++) {
        const c = (acc[j] += zw[base + j]);
        const mu = czk * cwShare[j];
        if (c <= mu) continue;
        // c ln(c/μ) + (C−c) ln((C−c)/(C−μ)), with ln μ = ln C_Z + ln(C_W / C)
        const llr = nlogn[c] + nlogn[C - c] - c * (lnCz + lnCwShare[j]) - (C - c) * lnRest[idx];
        if (llr > centreBest) {
          centreBest = llr;
          bk = k;
          bj = j;
        }
      }
    }
    if (centreBest > max) max = centreBest;
    if (best) {
      best.llr[i] = centreBest;
      best.k[i] = bk;
      best.j[i] = bj;
    }
  }
  return max;
}

// ── Monte Carlo replications ──────────────────────────────────────────────────────────────────────────────────

/** xoshiro128** (Blackman & Vigna), seeded from (seed, replicate) through a 32-bit mixing function. */
class ReplicateRandom {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  constructor(seed: number, replicate: number) {
    let h = mix32((seed | 0) ^ 0x6a09e667);
    h = mix32(h ^ Math.imul(replicate + 1, 0x9e3779b1));
    this.s0 = h = mix32(h + 0x243f6a88);
    this.s1 = h = mix32(h + 0x243f6a88);
    this.s2 = h = mix32(h + 0x243f6a88);
    this.s3 = mix32(h + 0x243f6a88) | 1;
  }
  /** uniform integer in [0, n), n ≤ 2^32 */
  below(n: number): number {
    const r = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return Math.floor((r / 4294967296) * n);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) | 0;
}

/**
 * Draws replicate r's table (days firstDay..) into `table`: a random ordered sample of the cases, as many as those
 * days hold, takes those days' labels in order. `caseZone` is shuffled in place and restored before returning.
 */
function drawReplicate(p: PreparedScan, r: number, table: Int32Array, swaps: Int32Array): void {
  const rng = new ReplicateRandom(p.control.seed, r);
  const { caseZone, labelDay } = p;
  const n = caseZone.length;
  const span = p.days - p.firstDay;
  table.fill(0);
  for (let j = 0; j < labelDay.length; j++) {
    const t = j + rng.below(n - j);
    swaps[j] = t;
    const z = caseZone[t];
    caseZone[t] = caseZone[j];
    caseZone[j] = z;
    table[z * span + labelDay[j]]++;
  }
  for (let j = labelDay.length - 1; j >= 0; j--) {
    const t = swaps[j];
    const z = caseZone[t];
    caseZone[t] = caseZone[j];
    caseZone[j] = z;
  }
}

/**
 * Maximum LLR of replicates from..to−1. Replicate r depends only on (seed, r), so slices computed on different
 * threads concatenate to the single-thread result. Mutates nothing visible: `caseZone` is restored.
 */
export function replicateMaxima(p: PreparedScan, from = 0, to = p.control.replications): Float64Array {
  const out = new Float64Array(Math.max(0, to - from));
  if (p.totalCases === 0) return out;
  const s = scratchFor(p);
  const table = new Int32Array(p.observed.length);
  const swaps = new Int32Array(p.labelDay.length);
  for (let r = from; r < to; r++) {
    drawReplicate(p, r, table, swaps);
    windowCounts(p, table, s);
    out[r - from] = scanTable(p, s);
  }
  return out;
}

// ── the clusters reported ─────────────────────────────────────────────────────────────────────────────────────

/** Each centre's best candidate on the observed data. */
export interface ObservedScan {
  llr: Float64Array;
  k: Int32Array;
  j: Int32Array;
}

export function scanObserved(p: PreparedScan): ObservedScan {
  const best = { llr: new Float64Array(p.zones), k: new Int32Array(p.zones), j: new Int32Array(p.zones) };
  const s = scratchFor(p);
  windowCounts(p, p.observed, s);
  scanTable(p, s, best);
  return best;
}

/** The most likely cluster and the secondary ones (no shared zone), with p-values from the replicates' maxima. */
export function finishScan(p: PreparedScan, obs: ObservedScan, maxima: ArrayLike<number>): StscanResult {
  const Z = p.zones;
  const centres = Array.from({ length: Z }, (_, i) => i).filter((i) => obs.llr[i] > 0).sort((a, b) => obs.llr[b] - obs.llr[a] || a - b);
  const sorted = Float64Array.from(maxima).sort();
  const used = new Uint8Array(Z);
  const clusters: StscanCluster[] = [];
  const span = p.days - p.firstDay;
  for (const i of centres) {
    if (clusters.length >= p.control.maxClusters) break;
    const k = obs.k[i];
    const j = obs.j[i];
    const zones = Array.from(p.nb.subarray(i * Z, i * Z + k + 1));
    if (zones.some((z) => used[z])) continue;
    for (const z of zones) used[z] = 1;
    let observed = 0;
    for (const z of zones) for (let d = p.winStart[j]; d <= p.winEnd[j]; d++) observed += p.observed[z * span + d - p.firstDay];
    const llr = obs.llr[i];
    clusters.push({
      centre: i, zones, radiusKm: p.dist[i * Z + k], startDay: p.winStart[j], endDay: p.winEnd[j],
      observed, expected: p.czCum[i * Z + k] * p.cwShare[j], llr,
      pValue: (1 + countAtLeast(sorted, llr)) / (sorted.length + 1),
    });
  }
  return { clusters, totalCases: p.totalCases, control: p.control };
}

/** How many of the ascending values are ≥ x. */
function countAtLeast(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] >= x) hi = mid;
    else lo = mid + 1;
  }
  return sorted.length - lo;
}

/** The whole scan in this thread. */
export function stscan(input: StscanInput, control: Partial<StscanControl> = {}): StscanResult {
  const p = prepareScan(input, control);
  return finishScan(p, scanObserved(p), replicateMaxima(p));
}

/**
 * One full permutation of the table (every day of the study period): the cases' days shuffled, each zone keeping its
 * cases and each day its count. Uses the replicates' generator for replicate r; for tests and for simulations.
 */
export function permuteDates(counts: readonly (readonly number[])[], seed: number, r = 0): number[][] {
  const Z = counts.length;
  const D = Z ? counts[0].length : 0;
  const centroids = counts.map(() => ({ lon: 0, lat: 0 }));
  const p = prepareScan({ counts, centroids }, { prospective: false, maxDays: D, seed, replications: 0 });
  const table = new Int32Array(p.observed.length);
  drawReplicate(p, r, table, new Int32Array(p.labelDay.length));
  return Array.from({ length: Z }, (_, z) => Array.from(table.subarray(z * D, (z + 1) * D)));
}
