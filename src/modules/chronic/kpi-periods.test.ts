import { describe, expect, test } from 'vitest';
import { assessmentWindow, livePeriods, parsePeriod, periodContaining, periodEnd, previousPeriod, requiredVisits } from './kpi-periods.ts';

const iso = (d: Date) => d.toISOString();

describe('periods in Beijing time', () => {
  test.each([
    ['month', '2025-02', '2025-02-01', '2025-02-28', '2025-01-31T16:00:00.000Z', '2025-02-28T16:00:00.000Z'],
    ['quarter', '2024-Q1', '2024-01-01', '2024-03-31', '2023-12-31T16:00:00.000Z', '2024-03-31T16:00:00.000Z'],
    ['quarter', '2025-Q4', '2025-10-01', '2025-12-31', '2025-09-30T16:00:00.000Z', '2025-12-31T16:00:00.000Z'],
    ['year', '2025', '2025-01-01', '2025-12-31', '2024-12-31T16:00:00.000Z', '2025-12-31T16:00:00.000Z'],
  ] as const)('%s %s', (kind, label, fromDate, toDate, from, to) => {
    const p = parsePeriod(kind, label)!;
    expect({ label: p.label, fromDate: p.fromDate, toDate: p.toDate, from: iso(p.from), to: iso(p.to) }).toEqual({ label, fromDate, toDate, from, to });
  });
  test.each([['month', '2025-13'], ['month', '2025-Q1'], ['quarter', '2025-Q0'], ['quarter', '2025-Q5'], ['year', '25'], ['year', '2025-01']] as const)('%s %s is refused', (k, at) => {
    expect(parsePeriod(k, at)).toBeNull();
  });
  test('the period containing an instant is Beijing’s: 31 March 16:30 UTC is already April there', () => {
    const t = new Date('2025-03-31T16:30:00Z');
    expect(periodContaining('month', t).label).toBe('2025-04');
    expect(periodContaining('quarter', t).label).toBe('2025-Q2');
    expect(periodContaining('quarter', new Date('2025-03-31T15:59:59Z')).label).toBe('2025-Q1');
  });
  test('the period before crosses years', () => {
    expect(previousPeriod(parsePeriod('month', '2025-01')!).label).toBe('2024-12');
    expect(previousPeriod(parsePeriod('quarter', '2025-Q1')!).label).toBe('2024-Q4');
    expect(previousPeriod(parsePeriod('year', '2025')!).label).toBe('2024');
    expect(livePeriods(new Date('2025-01-05T00:00:00Z')).map((p) => p.label)).toEqual(['2025-01', '2024-12', '2025-Q1', '2024-Q4', '2025', '2024']);
    // the last ones stay live for 10 days after they close
    expect(livePeriods(new Date('2025-01-15T00:00:00Z')).map((p) => p.label)).toEqual(['2025-01', '2025-Q1', '2025']);
    expect(livePeriods(new Date('2025-02-05T00:00:00Z')).map((p) => p.label)).toEqual(['2025-02', '2025-01', '2025-Q1', '2025']);
  });
  test('a running period ends now', () => {
    const now = new Date('2025-05-10T02:00:00Z');
    expect(periodEnd(parsePeriod('year', '2025')!, now)).toBe(now);
    expect(iso(periodEnd(parsePeriod('month', '2025-04')!, now))).toBe('2025-04-30T16:00:00.000Z');
  });
});

describe('the assessment window and the visits owed', () => {
  test('a month is judged over one follow-up interval (3 months at 4 a year), a quarter and a year over themselves', () => {
    expect(assessmentWindow(parsePeriod('month', '2025-02')!, 4)).toEqual({ from: new Date('2024-11-30T16:00:00Z'), months: 3 });
    expect(assessmentWindow(parsePeriod('quarter', '2025-Q2')!, 4)).toEqual({ from: new Date('2025-03-31T16:00:00Z'), months: 3 });
    expect(assessmentWindow(parsePeriod('year', '2025')!, 4).months).toBe(12);
    expect(assessmentWindow(parsePeriod('month', '2025-02')!, 6).months).toBe(2);
    expect(assessmentWindow(parsePeriod('month', '2025-02')!, 12).months).toBe(1);
  });
  test.each([[365, 4], [324.58, 4], [305.58, 3], [92, 1], [90, 1], [102.58, 1], [46, 1], [45.6, 0], [36.58, 0], [0, 0], [-3, 0]])('managed %s days owe %s visits at 4 a year', (days, owed) => {
    expect(requiredVisits(4, days)).toBe(owed);
  });
});
