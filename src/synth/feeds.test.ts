// Synthetic surveillance feeds: determinism, the calendar's shape (week, year), over-dispersion, wastewater sampling,
// and outbreaks adding the cases they say they add, each source after its lag.
import { describe, expect, test } from 'vitest';
import { FEED_CATEGORIES, generateCaseReports, generateFeeds, injectOutbreak, isSchoolHoliday, planOutbreak, seriesOf, type FeedSet } from './feeds.ts';
import { dayNumber, dateOfDay, isoWeekday } from '../modules/surveillance/algorithms/dates.ts';

const communities = Array.from({ length: 6 }, (_, i) => ({ id: 100 + i, population: 5000 + 1000 * i }));
const opts = { communities, start: '2023-01-02', days: 3 * 364, seed: 42 };
const base = generateFeeds(opts);
const dateOf = (i: number) => dateOfDay(dayNumber(opts.start)! + i);

/** Sum of a category over all communities, on the days that pass `keep`. */
function total(set: FeedSet, source: string, category: string, keep: (date: string) => boolean): { sum: number; days: number } {
  let sum = 0;
  let days = 0;
  for (let i = 0; i < set.days; i++) {
    if (!keep(dateOf(i))) continue;
    days++;
    for (const c of communities) sum += seriesOf(set, c.id, source, category)!.values[i];
  }
  return { sum, days };
}
const mean = (x: { sum: number; days: number }) => x.sum / x.days;
const month = (...m: number[]) => (date: string) => m.includes(Number(date.slice(5, 7)));
const weekday = (...w: number[]) => (date: string) => w.includes(isoWeekday(date));

describe('baseline feeds', () => {
  test('a series for every community × category, the same for the same seed and different for another', () => {
    expect(base.series).toHaveLength(communities.length * FEED_CATEGORIES.length);
    const again = generateFeeds(opts);
    expect(again.series.map((s) => Array.from(s.values))).toEqual(base.series.map((s) => Array.from(s.values)));
    const other = generateFeeds({ ...opts, seed: 43 });
    expect(other.series.map((s) => Array.from(s.values))).not.toEqual(base.series.map((s) => Array.from(s.values)));
    for (const s of base.series) for (const v of s.values) expect(Number.isInteger(v) && v >= 0).toBe(true);
  });

  test('rates scale with the population', () => {
    const per = (id: number) => seriesOf(base, id, 'pharmacy', 'cough')!.values.reduce((a, b) => a + b, 0);
    // 10,000 against 5,000 residents: about twice as many sales (community effects blur it a little)
    expect(per(105) / per(100)).toBeGreaterThan(1.2);
    // 40 a day per 100,000, grown by 5% a year from 2020 to the middle of the series (mid-2024)
    const years = (dayNumber(opts.start)! + opts.days / 2 - dayNumber('2020-01-01')!) / 365.25;
    const expected = (40 * Math.pow(1.05, years) * communities.reduce((s, c) => s + c.population, 0)) / 100_000;
    expect(mean(total(base, 'pharmacy', 'cough', () => true)) / expected).toBeGreaterThan(0.75);
    expect(mean(total(base, 'pharmacy', 'cough', () => true)) / expected).toBeLessThan(1.3);
  });

  test('yearly seasons: respiratory peaks in winter, diarrhoea in summer', () => {
    const winter = month(12, 1, 2);
    const summer = month(6, 7, 8);
    expect(mean(total(base, 'sentinel', 'dry_cough', winter)) / mean(total(base, 'sentinel', 'dry_cough', summer))).toBeGreaterThan(1.8);
    expect(mean(total(base, 'laboratory', 'influenza', winter)) / mean(total(base, 'laboratory', 'influenza', summer))).toBeGreaterThan(4);
    expect(mean(total(base, 'sentinel', 'diarrhoea', summer)) / mean(total(base, 'sentinel', 'diarrhoea', winter))).toBeGreaterThan(1.4);
  });

  test('weekly pattern: clinics quieter and pharmacies busier at weekends, schools closed at weekends and on holidays', () => {
    const weekend = weekday(6, 7);
    const workday = weekday(1, 2, 3, 4, 5);
    expect(mean(total(base, 'sentinel', 'fever', weekend)) / mean(total(base, 'sentinel', 'fever', workday))).toBeLessThan(0.6);
    expect(mean(total(base, 'pharmacy', 'antipyretic', weekend)) / mean(total(base, 'pharmacy', 'antipyretic', workday))).toBeGreaterThan(1.1);
    expect(total(base, 'school', 'absent_illness', weekend).sum).toBe(0);
    expect(total(base, 'school', 'absent_illness', isSchoolHoliday).sum).toBe(0);
    expect(total(base, 'school', 'absent_illness', (d) => workday(d) && !isSchoolHoliday(d)).sum).toBeGreaterThan(1000);
  });

  test('counts are over-dispersed: variance above the mean on days of like expectation', () => {
    // Tuesdays to Thursdays of March, where the expected count barely moves
    const s = seriesOf(base, 105, 'pharmacy', 'cough')!;
    const xs = Array.from(s.values).filter((_, i) => month(3)(dateOf(i)) && weekday(2, 3, 4)(dateOf(i)));
    const m = xs.reduce((a, b) => a + b, 0) / xs.length;
    const v = xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1);
    expect(v / m).toBeGreaterThan(1.3);
  });

  test('wastewater is a concentration sampled on Mondays and Thursdays', () => {
    const s = seriesOf(base, 101, 'wastewater', 'norovirus')!;
    Array.from(s.values).forEach((v, i) => {
      if (weekday(1, 4)(dateOf(i))) expect(v).toBeGreaterThan(100);
      else expect(v).toBe(0);
    });
  });
});

describe('outbreak injection', () => {
  const spec = { syndrome: 'gastrointestinal' as const, communities: [102, 101, 103], start: '2025-10-06', days: 8, size: 400 };

  test('adds exactly its planned cases, to the syndrome’s series in its communities only, and none before onset', () => {
    const set = generateFeeds(opts);
    const plan = injectOutbreak(set, spec, 7);
    const added = set.series.map((s, k) => s.values.reduce((a, b) => a + b, 0) - base.series[k].values.reduce((a, b) => a + b, 0));
    const totals = added.map((_, k) => plan.totals.get(k) ?? 0);
    expect(added).toEqual(totals);
    for (const [k] of plan.totals) {
      const s = set.series[k];
      expect(spec.communities).toContain(s.communityId);
      expect(s.spec.syndrome === 'gastrointestinal' || s.spec.source === 'school').toBe(true);
    }
    const onset = dayNumber(spec.start)! - dayNumber(opts.start)!;
    for (const a of plan.additions) expect(a.day).toBeGreaterThanOrEqual(onset - 1);
    // the same plan again for the same seed
    expect(planOutbreak(base, spec, 7).additions).toEqual(plan.additions);
  });

  test('each source counts its share of the ill, the centre the most, with the sources’ lags in order', () => {
    const plan = planOutbreak(base, spec, 8);
    const bySource = new Map<string, number>();
    const days = new Map<string, number[]>();
    for (const a of plan.additions) {
      const s = base.series[a.series];
      const key = `${s.spec.source}/${s.spec.category}`;
      if (s.spec.source !== 'wastewater') bySource.set(key, (bySource.get(key) ?? 0) + a.value);
      for (let n = 0; n < (s.spec.source === 'wastewater' ? 1 : a.value); n++) (days.get(s.spec.source) ?? days.set(s.spec.source, []).get(s.spec.source)!).push(a.day);
    }
    // binomial(400, p): within 4 standard deviations
    for (const c of FEED_CATEGORIES.filter((c) => c.syndrome === 'gastrointestinal' && c.source !== 'wastewater')) {
      const n = bySource.get(`${c.source}/${c.category}`) ?? 0;
      expect(Math.abs(n - 400 * c.capture)).toBeLessThan(4 * Math.sqrt(400 * c.capture * (1 - c.capture)));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
    expect(median(days.get('pharmacy')!)).toBeLessThan(median(days.get('sentinel')!));
    expect(median(days.get('sentinel')!)).toBeLessThan(median(days.get('laboratory')!));
    expect(Math.min(...days.get('wastewater')!)).toBeLessThanOrEqual(Math.min(...days.get('sentinel')!));
    const inCentre = plan.additions.filter((a) => base.series[a.series].communityId === 102 && base.series[a.series].spec.source === 'pharmacy').reduce((s, a) => s + a.value, 0);
    expect(inCentre / bySource.get('pharmacy/antidiarrhoeal')!).toBeGreaterThan(0.35);
    // wastewater rises well above its baseline in the centre
    const ww = seriesOf(base, 102, 'wastewater', 'norovirus')!;
    const k = base.series.indexOf(ww);
    const peak = Math.max(...plan.additions.filter((a) => a.series === k).map((a) => a.value));
    expect(peak).toBeGreaterThan(2 * Math.max(...Array.from(ww.values.slice(0, 60))));
    // a few statutory reports of other infectious diarrhoea (class C)
    expect(plan.caseReports.length).toBeGreaterThan(5);
    expect(plan.caseReports.length).toBeLessThan(45);
    expect(new Set(plan.caseReports.map((r) => r.disease))).toEqual(new Set(['A08']));
  });

  test('cases that fall outside the set are dropped, not piled on its edges', () => {
    const late = planOutbreak(base, { ...spec, start: dateOf(base.days - 2) }, 1);
    expect(late.additions.every((a) => a.day < base.days)).toBe(true);
    const sum = [...late.totals.values()].reduce((a, b) => a + b, 0);
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThan([...planOutbreak(base, spec, 1).totals.values()].reduce((a, b) => a + b, 0));
  });
});

describe('background case reports', () => {
  test('no class A or managed-as-A diseases; most on time, some late; flu in winter', () => {
    const reports = generateCaseReports(opts);
    expect(reports.length).toBeGreaterThan(200);
    expect(reports.some((r) => ['A00', 'A20', 'A22', 'U04'].includes(r.disease))).toBe(false);
    for (const r of reports) expect(r.late).toBe(r.reportHours > 24);
    const lateShare = reports.filter((r) => r.late).length / reports.length;
    expect(lateShare).toBeGreaterThan(0.02);
    expect(lateShare).toBeLessThan(0.12);
    const flu = reports.filter((r) => r.disease === 'J10');
    expect(flu.filter((r) => month(12, 1, 2)(r.onsetDate)).length).toBeGreaterThan(3 * flu.filter((r) => month(6, 7, 8)(r.onsetDate)).length);
    expect(generateCaseReports(opts)).toEqual(reports);
  });
});
