// The run's worker threads give what one thread gives: a scan's replications in slices on two workers equal the
// replications computed inline, and series batches come back in order.
import { afterAll, expect, test } from 'vitest';
import { replicateMaxima, prepareScan } from './algorithms/stscan.ts';
import { RunPool } from './run-pool.ts';

const pool = new RunPool(2);
afterAll(() => pool.close());

const input = {
  counts: Array.from({ length: 12 }, (_, z) => Array.from({ length: 20 }, (_, d) => (z * 7 + d * 3) % 5 + (z === 3 && d > 16 ? 6 : 0))),
  centroids: Array.from({ length: 12 }, (_, z) => ({ lon: 116.4 + (z % 4) * 0.01, lat: 39.9 + Math.floor(z / 4) * 0.012 + z * 0.0001 })),
};

test('scan replications split over two workers equal the single-thread replications', async () => {
  const control = { replications: 200, maxDays: 5 };
  const parts = await Promise.all([pool.run({ kind: 'scan', input, control, from: 0, to: 120 }), pool.run({ kind: 'scan', input, control, from: 120, to: 200 })]);
  const whole = replicateMaxima(prepareScan(input, control));
  expect([...parts[0].maxima, ...parts[1].maxima]).toEqual([...whole]);
});

test('series batches: EARS at the last day, each result with its own series', async () => {
  const items = [[1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 30], [1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 2]].map((daily) => ({ daily, weekly: null }));
  const [a, b] = await Promise.all([
    pool.run({ kind: 'series', ears: { method: 'earsC1', params: {} }, farrington: {}, weeklyStart: '2024-01-01', items }),
    pool.run({ kind: 'series', ears: { method: 'earsC1', params: {} }, farrington: {}, weeklyStart: '2024-01-01', items: [...items].reverse() }),
  ]);
  expect(a.outcomes.map((o) => o.ears?.alarm)).toEqual([true, false]);
  expect(b.outcomes.map((o) => o.ears?.alarm)).toEqual([false, true]);
  expect(new RunPool(1).threads).toBe(1);
});
