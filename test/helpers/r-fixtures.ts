// Reads the reference fixtures made by scripts/r/surveillance-fixtures.R (R's `surveillance` package) and compares
// points with them: alarms identical, upper bounds within 1e-6 relative, null exactly where R gives NA.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { dateAt, stepsFromStart } from '../../src/modules/surveillance/algorithms/dates.ts';
import { isMethodName, METHODS } from '../../src/modules/surveillance/algorithms/index.ts';

export interface FixturePoint {
  date: string;
  observed: number;
  upperbound: number | null;
  alarm: boolean | null;
}

export interface FixtureSeries {
  source: string;
  frequency: 'daily' | 'weekly';
  start: string;
  counts: number[];
}

export interface FixtureCase {
  name: string;
  series: string;
  method: string;
  from: string;
  to: string;
  params: Record<string, unknown>;
  points: FixturePoint[];
  note?: string;
}

export interface Fixture {
  R: string;
  surveillance: string;
  series: Record<string, FixtureSeries>;
  cases: FixtureCase[];
}

export function loadFixture(file: string): Fixture {
  return JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'surveillance', file), 'utf8')) as Fixture;
}

/** A case as the detection job `caregrid detect` takes. */
export function jobOf(fixture: Fixture, c: FixtureCase) {
  const s = fixture.series[c.series];
  return { method: c.method, frequency: s.frequency, start: s.start, counts: s.counts, from: c.from, to: c.to, params: c.params };
}

/** Runs a case through its entry in the method table (params parsed as a job's are) and dates the points. */
export function runCase(fixture: Fixture, c: FixtureCase): FixturePoint[] {
  const s = fixture.series[c.series];
  const series = { counts: s.counts, frequency: s.frequency, start: s.start };
  const method = isMethodName(c.method) ? METHODS[c.method] : undefined;
  if (!method) throw new Error(`no method ${c.method} in the table`);
  const from = stepsFromStart(series, c.from);
  const result = method.run(series, { from, to: stepsFromStart(series, c.to) }, method.parseControl(c.params));
  return result.points.map((p: { upperbound: number | null; alarm: boolean | null }, j: number) => ({ date: dateAt(series, from + j), observed: s.counts[from + j], upperbound: p.upperbound, alarm: p.alarm }));
}

export const UPPERBOUND_TOLERANCE = 1e-6;

/** |a − b| relative to the larger magnitude (0 when both are 0). */
export function relativeDifference(a: number, b: number): number {
  const scale = Math.max(Math.abs(a), Math.abs(b));
  return scale === 0 ? 0 : Math.abs(a - b) / scale;
}

/** Asserts every point against R's; returns the largest relative difference of the upper bounds. */
export function expectAgreement(actual: readonly FixturePoint[], expected: readonly FixturePoint[]): number {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const where = `${e.date} (point ${i})`;
    expect(a.date, where).toBe(e.date);
    expect(a.observed, where).toBe(e.observed);
    expect(a.alarm, where).toBe(e.alarm);
    if (e.upperbound === null || a.upperbound === null) {
      expect(a.upperbound, where).toBe(e.upperbound);
      continue;
    }
    const d = relativeDifference(a.upperbound, e.upperbound);
    expect(d, `${where}: upperbound ${a.upperbound} vs R ${e.upperbound}`).toBeLessThanOrEqual(UPPERBOUND_TOLERANCE);
    worst = Math.max(worst, d);
  }
  return worst;
}
