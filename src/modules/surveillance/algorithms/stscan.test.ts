// The space-time permutation scan: R's surveillance package has no implementation of it to compare with, so it is
// checked here against (1) a case small enough to compute by hand, (2) a brute-force scan written independently in
// this file (every cylinder summed cell by cell, μ from the marginals cell by cell), (3) the permutation keeping
// both marginals and giving each cell its expected count C_z·C_d/C on average, (4) p-values under the null that are
// roughly uniform, and (5) the detection of an injected cluster.
import { describe, expect, test } from 'vitest';
import { DEFAULT_STSCAN_CONTROL, finishScan, permuteDates, prepareScan, replicateMaxima, scanObserved, stscan, type StscanInput } from './stscan.ts';
import { ControlError } from './types.ts';

// ── test helpers: their own random numbers, distances and scan ──────────────────────────────────────────────

function mulberry32(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function poisson(rand: () => number, mean: number): number {
  const l = Math.exp(-mean);
  let k = 0;
  let p = rand();
  while (p > l) {
    k++;
    p *= rand();
  }
  return k;
}

/** zones scattered over a district-sized square around Dongcheng (no two at the same distance from a third) */
function centroids(n: number, rand: () => number) {
  return Array.from({ length: n }, () => ({ lon: 116.38 + rand() * 0.06, lat: 39.88 + rand() * 0.06 }));
}

function km(a: { lon: number; lat: number }, b: { lon: number; lat: number }): number {
  const rad = (x: number) => (x * Math.PI) / 180;
  const dlat = rad(b.lat - a.lat);
  const dlon = rad(b.lon - a.lon);
  const h = Math.sin(dlat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dlon / 2) ** 2;
  return 2 * 6371.0088 * Math.asin(Math.sqrt(h));
}

interface Brute {
  llr: number;
  zones: number[];
  start: number;
  end: number;
  observed: number;
  expected: number;
}

/** Every cylinder, summed cell by cell; the best by LLR. */
function bruteForce(input: StscanInput, maxShare: number, maxDays: number, prospective: boolean, maxZones = Infinity): Brute {
  const Z = input.counts.length;
  const D = input.counts[0].length;
  const cz = input.counts.map((row) => row.reduce((a, b) => a + b, 0));
  const cd = Array.from({ length: D }, (_, d) => input.counts.reduce((a, row) => a + row[d], 0));
  const C = cz.reduce((a, b) => a + b, 0);
  let best: Brute = { llr: 0, zones: [], start: -1, end: -1, observed: 0, expected: 0 };
  for (let i = 0; i < Z; i++) {
    const byDistance = [...Array(Z).keys()].sort((a, b) => (a === i ? -1 : b === i ? 1 : km(input.centroids[i], input.centroids[a]) - km(input.centroids[i], input.centroids[b]) || a - b));
    for (let k = 1; k <= Math.min(Z, maxZones); k++) {
      const zones = byDistance.slice(0, k);
      if (zones.reduce((a, z) => a + cz[z], 0) > maxShare * C) break;
      for (let end = prospective ? D - 1 : 0; end < D; end++) {
        for (let start = end; start >= 0 && end - start < maxDays; start--) {
          let c = 0;
          let mu = 0;
          for (const z of zones) {
            for (let d = start; d <= end; d++) {
              c += input.counts[z][d];
              mu += (cz[z] * cd[d]) / C;
            }
          }
          if (c <= mu) continue;
          const llr = c * Math.log(c / mu) + (C - c === 0 ? 0 : (C - c) * Math.log((C - c) / (C - mu)));
          if (llr > best.llr) best = { llr, zones, start, end, observed: c, expected: mu };
        }
      }
    }
  }
  return best;
}

function randomTable(Z: number, D: number, rand: () => number, mean: (z: number, d: number) => number): number[][] {
  return Array.from({ length: Z }, (_, z) => Array.from({ length: D }, (_, d) => poisson(rand, mean(z, d))));
}

// ── (1) by hand ─────────────────────────────────────────────────────────────────────────────────────────────

test('a case computed by hand: one zone, the last day', () => {
  // three zones on a line (zone 2 far east), four days; C_z = 8, 4, 8, C_d = 4, 4, 4, 8, C = 20.
  // With 50 % of cases at most, the circles are the single zones (any pair holds 12 > 10).
  // Zone 0 on the last day: c = 5, μ = 8·8/20 = 3.2, LLR = 5 ln(5/3.2) + 15 ln(15/16.8) ≈ 2.2314 − 1.6999 = 0.5315;
  // over the last two days: c = 6, μ = 8·12/20 = 4.8, LLR ≈ 1.3389 − 1.1513 = 0.1875; zones 1 and 2 are below μ.
  const input = {
    counts: [[1, 1, 1, 5], [1, 1, 1, 1], [2, 2, 2, 2]],
    centroids: [{ lon: 116.40, lat: 39.9 }, { lon: 116.41, lat: 39.9 }, { lon: 116.45, lat: 39.9 }],
  };
  const r = stscan(input, { maxDays: 2, replications: 99 });
  expect(r.totalCases).toBe(20);
  const top = r.clusters[0];
  expect(top).toMatchObject({ centre: 0, zones: [0], startDay: 3, endDay: 3, observed: 5 });
  expect(top.expected).toBeCloseTo(3.2, 12);
  expect(top.llr).toBeCloseTo(5 * Math.log(5 / 3.2) + 15 * Math.log(15 / 16.8), 12);
  expect(top.radiusKm).toBe(0);
  // zones 1 and 2 never exceed their expected counts: no secondary cluster
  expect(r.clusters).toHaveLength(1);
  expect(top.pValue).toBeGreaterThan(0);
  expect(top.pValue).toBeLessThanOrEqual(1);
  expect(Number.isInteger(top.pValue * 100)).toBe(true); // rank / (99 + 1)
});

// ── (2) against brute force ─────────────────────────────────────────────────────────────────────────────────

describe('the most likely cluster agrees with a brute-force scan', () => {
  test.each([
    { name: 'prospective, 7-day windows', seed: 1, Z: 25, D: 21, maxShare: 0.5, maxDays: 7, prospective: true },
    { name: 'prospective, 30 % of cases, 3 zones at most', seed: 2, Z: 30, D: 28, maxShare: 0.3, maxDays: 14, prospective: true, maxZones: 3 },
    { name: 'retrospective (every window)', seed: 3, Z: 15, D: 12, maxShare: 0.5, maxDays: 4, prospective: false },
    { name: 'sparse counts (many zeros)', seed: 4, Z: 20, D: 15, maxShare: 0.5, maxDays: 5, prospective: true, mean: 0.3 },
  ])('$name', ({ seed, Z, D, maxShare, maxDays, prospective, maxZones, mean }) => {
    const rand = mulberry32(seed);
    const cents = centroids(Z, rand);
    // a mild space-time interaction so the best cluster is not trivial
    const counts = randomTable(Z, D, rand, (z, d) => (mean ?? 3) * (1 + (z % 4 === 0 && d >= D - 3 ? 1 : 0)));
    const input = { counts, centroids: cents };
    const r = stscan(input, { maxShare, maxDays, prospective, maxZones: maxZones ?? null, replications: 19 });
    const b = bruteForce(input, maxShare, maxDays, prospective, maxZones);
    expect(b.llr).toBeGreaterThan(0);
    const top = r.clusters[0];
    expect(top.llr).toBeCloseTo(b.llr, 9);
    expect(top.expected).toBeCloseTo(b.expected, 9);
    expect(top.observed).toBe(b.observed);
    expect(new Set(top.zones)).toEqual(new Set(b.zones));
    expect([top.startDay, top.endDay]).toEqual([b.start, b.end]);
  });

  test('secondary clusters share no zone with earlier ones and come by decreasing LLR', () => {
    const rand = mulberry32(9);
    const Z = 40;
    const counts = randomTable(Z, 20, rand, (z, d) => 2 + (d >= 17 && z % 7 === 0 ? 3 : 0));
    const r = stscan({ counts, centroids: centroids(Z, rand) }, { maxDays: 5, replications: 9, maxShare: 0.2 });
    expect(r.clusters.length).toBeGreaterThan(1);
    const seen = new Set<number>();
    r.clusters.forEach((c, n) => {
      for (const z of c.zones) {
        expect(seen.has(z)).toBe(false);
        seen.add(z);
      }
      if (n) expect(c.llr).toBeLessThanOrEqual(r.clusters[n - 1].llr);
      expect(c.pValue).toBeGreaterThanOrEqual(r.clusters[0].pValue);
      expect(c.zones[0]).toBe(c.centre);
    });
  });
});

// ── (3) the permutation ─────────────────────────────────────────────────────────────────────────────────────

describe('the permutation of the cases’ days', () => {
  const rand = mulberry32(11);
  const counts = randomTable(6, 9, rand, (z, d) => 1 + z + (d % 3));
  const rowSums = (t: number[][]) => t.map((row) => row.reduce((a, b) => a + b, 0));
  const colSums = (t: number[][]) => t[0].map((_, d) => t.reduce((a, row) => a + row[d], 0));

  test('keeps every zone’s total and every day’s total, and moves cases', () => {
    for (let r = 0; r < 20; r++) {
      const p = permuteDates(counts, 5, r);
      expect(rowSums(p)).toEqual(rowSums(counts));
      expect(colSums(p)).toEqual(colSums(counts));
      expect(p).not.toEqual(counts);
    }
  });

  test('gives each cell its expected count C_z·C_d/C on average', () => {
    const R = 3000;
    const sum = counts.map((row) => row.map(() => 0));
    for (let r = 0; r < R; r++) permuteDates(counts, 7, r).forEach((row, z) => row.forEach((v, d) => (sum[z][d] += v)));
    const cz = rowSums(counts);
    const cd = colSums(counts);
    const C = cz.reduce((a, b) => a + b, 0);
    let worst = 0;
    sum.forEach((row, z) => row.forEach((s, d) => {
      const mu = (cz[z] * cd[d]) / C;
      // a cell's permuted count is hypergeometric: variance ≤ μ; the mean of R draws is within ~4.5 standard errors
      worst = Math.max(worst, Math.abs(s / R - mu) / Math.sqrt(mu / R));
    }));
    expect(worst).toBeLessThan(4.5);
  });

  test('replicates depend on (seed, replicate) only: slices concatenate to the whole, the data are left as they were', () => {
    const input = { counts, centroids: centroids(6, mulberry32(3)) };
    const p = prepareScan(input, { replications: 60, maxDays: 4 });
    const caseZone = Int32Array.from(p.caseZone);
    const whole = replicateMaxima(p);
    const parts = [...replicateMaxima(p, 0, 17), ...replicateMaxima(p, 17, 41), ...replicateMaxima(p, 41, 60)];
    expect(parts).toEqual([...whole]);
    expect(p.caseZone).toEqual(caseZone);
    expect(new Set(whole).size).toBeGreaterThan(10);
    // another seed draws other replicates
    const q = prepareScan(input, { replications: 60, maxDays: 4, seed: 99 });
    expect([...replicateMaxima(q)]).not.toEqual([...whole]);
  });
});

// ── (4) p-values under the null ─────────────────────────────────────────────────────────────────────────────

test('under the null (no space-time interaction) p-values are roughly uniform', () => {
  const rand = mulberry32(2024);
  const Z = 12;
  const cents = centroids(Z, rand);
  const ps: number[] = [];
  for (let n = 0; n < 150; n++) {
    // zone and day effects but no interaction: the null of the permutation model
    const zoneRate = Array.from({ length: Z }, () => 1 + 3 * rand());
    const counts = randomTable(Z, 14, rand, (z, d) => zoneRate[z] * (d % 7 === 5 ? 0.6 : 1));
    const r = stscan({ counts, centroids: cents }, { maxDays: 7, replications: 99, seed: n });
    ps.push(r.clusters.length ? r.clusters[0].pValue : 1);
  }
  ps.sort((a, b) => a - b);
  // Kolmogorov–Smirnov distance to U(0, 1); the 1 % critical value for n = 150 is about 0.133
  const ks = Math.max(...ps.map((p, i) => Math.max(Math.abs(p - i / ps.length), Math.abs(p - (i + 1) / ps.length))));
  expect(ks).toBeLessThan(0.133);
  const share = (x: number) => ps.filter((p) => p <= x).length / ps.length;
  expect(share(0.05)).toBeLessThan(0.12);
  expect(share(0.5)).toBeGreaterThan(0.35);
  expect(share(0.5)).toBeLessThan(0.65);
});

// ── (5) an injected cluster ─────────────────────────────────────────────────────────────────────────────────

test('finds an outbreak injected into three neighbouring communities over the last three days', () => {
  const rand = mulberry32(77);
  const Z = 60;
  const D = 28;
  const cents = centroids(Z, rand);
  const centre = 17;
  const near = [...Array(Z).keys()].sort((a, b) => km(cents[centre], cents[a]) - km(cents[centre], cents[b])).slice(0, 3);
  const counts = randomTable(Z, D, rand, (z, d) => 4 + (near.includes(z) && d >= D - 3 ? 6 : 0));
  const r = stscan({ counts, centroids: cents }, { maxDays: 7 });
  const top = r.clusters[0];
  expect(top.pValue).toBeLessThanOrEqual(0.01);
  expect(top.endDay).toBe(D - 1);
  expect(top.startDay).toBeGreaterThanOrEqual(D - 5);
  // the cluster covers the outbreak and not much else
  expect(near.every((z) => top.zones.includes(z))).toBe(true);
  expect(top.zones.length).toBeLessThanOrEqual(6);
  expect(top.observed / top.expected).toBeGreaterThan(1.5);
  // the same data without the outbreak is not significant
  const quiet = counts.map((row, z) => row.map((v, d) => (near.includes(z) && d >= D - 3 ? poisson(rand, 4) : v)));
  const q = stscan({ counts: quiet, centroids: cents }, { maxDays: 7 });
  expect(q.clusters[0]?.pValue ?? 1).toBeGreaterThan(0.05);
});

// ── control and input ───────────────────────────────────────────────────────────────────────────────────────

describe('control and input', () => {
  const input = { counts: [[1, 2], [3, 4]], centroids: [{ lon: 116.4, lat: 39.9 }, { lon: 116.41, lat: 39.91 }] };

  test('defaults: 50 % of cases, half the study period, prospective, 999 replications', () => {
    expect(DEFAULT_STSCAN_CONTROL).toMatchObject({ maxShare: 0.5, maxZones: null, maxDays: null, prospective: true, replications: 999 });
    const p = prepareScan({ counts: [Array(30).fill(1)], centroids: [{ lon: 116.4, lat: 39.9 }] });
    expect(p.windows).toBe(15);
    expect(stscan(input).control).toEqual(DEFAULT_STSCAN_CONTROL);
  });

  test.each([
    [{ maxShare: 1 }, 'params.maxShare'],
    [{ maxShare: 0 }, 'params.maxShare'],
    [{ maxZones: 0 }, 'params.maxZones'],
    [{ maxDays: 2.5 }, 'params.maxDays'],
    [{ replications: -1 }, 'params.replications'],
    [{ prospective: 'yes' }, 'params.prospective'],
    [{ maxRadius: 3 }, 'params.maxRadius'],
  ])('refuses %j (%s)', (control, field) => {
    expect(() => stscan(input, control as never)).toThrow(expect.objectContaining({ field }));
  });

  test.each([
    [{ counts: [], centroids: [] }, 'counts'],
    [{ counts: [[1, 2], [3]], centroids: input.centroids }, 'counts[1]'],
    [{ counts: [[1, 2], [3, -1]], centroids: input.centroids }, 'counts[1][1]'],
    [{ counts: [[1, 2.5], [3, 1]], centroids: input.centroids }, 'counts[0][1]'],
    [{ counts: input.counts, centroids: input.centroids.slice(1) }, 'centroids'],
    [{ counts: input.counts, centroids: [{ lon: 116.4, lat: 99 }, input.centroids[1]] }, 'centroids[0]'],
  ])('refuses bad input (%#: %s)', (bad, field) => {
    expect(() => stscan(bad)).toThrow(ControlError);
    expect(() => stscan(bad)).toThrow(expect.objectContaining({ field }));
  });

  test('no cases: no cluster', () => {
    const r = stscan({ counts: [[0, 0], [0, 0]], centroids: input.centroids }, { replications: 9 });
    expect(r).toMatchObject({ clusters: [], totalCases: 0 });
  });

  test('finishScan takes replicate maxima from anywhere (e.g. other threads)', () => {
    const p = prepareScan(input, { replications: 4 });
    const obs = scanObserved(p);
    const r = finishScan(p, obs, [0, 0, 0, 100]);
    for (const c of r.clusters) expect(c.pValue).toBeCloseTo(2 / 5, 12);
  });
});
