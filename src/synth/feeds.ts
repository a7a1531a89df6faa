// Synthetic surveillance feeds (监测数据): daily series for every community × source × category of the surveillance
// schema (0005_surveillance.sql), statutory case reports, and outbreaks injected into them. Pure and deterministic:
// the same options and seed give the same numbers; nothing here touches the database.
//
// Contents
//   1. FEED_CATEGORIES — one spec per (source, category): rate, weekly pattern, season, trend, over-dispersion, and
//      how an outbreak shows in it (share of the ill it counts, lag from onset)
//   2. generateFeeds — baseline series: expected = population × rate × weekday × season × trend × community effect;
//      counts negative binomial (a gamma-mixed Poisson); wastewater a log-normal concentration sampled twice a week
//   3. planOutbreak / applyOutbreak / injectOutbreak — an outbreak's ill people (onset day, community), counted by
//      each source of its syndrome after the source's lag, plus a few case reports
//   4. generateCaseReports — background statutory case reports (none of class A or managed as class A)
//
// The series cover whole days `start` … `start + days − 1`. Values are per community (the sum over reporting
// institutions); the seed decides which institution reports them.
import { Rng } from './random.ts';
import { dateOfDay, dayNumber } from '../modules/surveillance/algorithms/dates.ts';
import { lgamma } from '../modules/surveillance/algorithms/distributions.ts';

export type Syndrome = 'respiratory' | 'gastrointestinal' | 'fever' | 'rash' | 'other';
export type FeedSource = 'fever_clinic' | 'sentinel' | 'pharmacy' | 'laboratory' | 'school' | 'wastewater';
/** Monday … Sunday multipliers */
type Week = readonly [number, number, number, number, number, number, number];

export interface CategorySpec {
  readonly source: FeedSource;
  readonly category: string;
  readonly syndrome: Syndrome;
  /** expected daily count per 100,000 residents across the year; for wastewater the baseline concentration (copies/L) */
  readonly rate: number;
  readonly weekly: Week;
  /** yearly seasonality exp(amplitude · cos(2π (dayOfYear − peakDay) / 365.25)) */
  readonly season: { readonly amplitude: number; readonly peakDay: number };
  /** relative change per year (0.03 = 3% a year more), from 2020-01-01 */
  readonly trend: number;
  /** negative binomial size (variance = μ + μ² / size); for wastewater the log-normal sd */
  readonly dispersion: number;
  /** share of an outbreak's ill people that this series counts (0 if it does not see the outbreak's syndrome) */
  readonly capture: number;
  /** lag from onset: p[i] is the probability of being counted `lagFrom + i` days after onset */
  readonly lagFrom: number;
  readonly lag: readonly number[];
}

const WEEK_CLINIC: Week = [1.2, 1.1, 1.05, 1.05, 1.0, 0.85, 0.75];
const WEEK_SENTINEL: Week = [1.3, 1.15, 1.1, 1.1, 1.05, 0.5, 0.4];
const WEEK_PHARMACY: Week = [0.92, 0.92, 0.93, 0.95, 1.0, 1.15, 1.13];
const WEEK_LAB: Week = [1.25, 1.2, 1.15, 1.1, 1.05, 0.45, 0.3];
const WEEK_SCHOOL: Week = [1, 1, 1, 1, 1, 0, 0];
const WEEK_FLAT: Week = [1, 1, 1, 1, 1, 1, 1];
const WINTER = 15; // mid-January
const SUMMER = 200; // mid-July
const resp = (amplitude: number) => ({ amplitude, peakDay: WINTER });
const gi = (amplitude: number) => ({ amplitude, peakDay: SUMMER });

// Lags from onset (days): pharmacy purchases and wastewater shedding come first, then the clinics, the laboratory last.
const LAG_PHARMACY = { lagFrom: 0, lag: [0.55, 0.35, 0.1] };
const LAG_WASTEWATER = { lagFrom: -1, lag: [1] }; // shedding starts a day before onset; see SHEDDING_DAYS
const LAG_CLINIC = { lagFrom: 1, lag: [0.5, 0.3, 0.2] };
const LAG_SCHOOL = { lagFrom: 1, lag: [0.6, 0.4] };
const LAG_LAB = { lagFrom: 3, lag: [0.25, 0.35, 0.25, 0.15] };

/** Categories in the order of the schema's seed rows. A test checks that they match surveillance_category. */
export const FEED_CATEGORIES: readonly CategorySpec[] = [
  { source: 'fever_clinic', category: 'visits', syndrome: 'fever', rate: 20, weekly: WEEK_CLINIC, season: resp(0.45), trend: 0.02, dispersion: 8, capture: 0.12, ...LAG_CLINIC },
  { source: 'sentinel', category: 'fever', syndrome: 'fever', rate: 10, weekly: WEEK_SENTINEL, season: resp(0.4), trend: 0.02, dispersion: 8, capture: 0.2, ...LAG_CLINIC },
  { source: 'sentinel', category: 'dry_cough', syndrome: 'respiratory', rate: 8, weekly: WEEK_SENTINEL, season: resp(0.5), trend: 0.02, dispersion: 8, capture: 0.2, ...LAG_CLINIC },
  { source: 'sentinel', category: 'fatigue', syndrome: 'fever', rate: 4, weekly: WEEK_SENTINEL, season: resp(0.2), trend: 0.02, dispersion: 8, capture: 0.08, ...LAG_CLINIC },
  { source: 'sentinel', category: 'sore_throat', syndrome: 'respiratory', rate: 8, weekly: WEEK_SENTINEL, season: resp(0.45), trend: 0.02, dispersion: 8, capture: 0.15, ...LAG_CLINIC },
  { source: 'sentinel', category: 'smell_taste', syndrome: 'respiratory', rate: 0.5, weekly: WEEK_SENTINEL, season: resp(0.3), trend: 0, dispersion: 5, capture: 0.02, ...LAG_CLINIC },
  { source: 'sentinel', category: 'nasal', syndrome: 'respiratory', rate: 6, weekly: WEEK_SENTINEL, season: resp(0.45), trend: 0.02, dispersion: 8, capture: 0.1, ...LAG_CLINIC },
  { source: 'sentinel', category: 'runny_nose', syndrome: 'respiratory', rate: 6, weekly: WEEK_SENTINEL, season: resp(0.45), trend: 0.02, dispersion: 8, capture: 0.1, ...LAG_CLINIC },
  { source: 'sentinel', category: 'conjunctivitis', syndrome: 'other', rate: 1, weekly: WEEK_SENTINEL, season: gi(0.3), trend: 0, dispersion: 5, capture: 0.2, ...LAG_CLINIC },
  { source: 'sentinel', category: 'myalgia', syndrome: 'fever', rate: 3, weekly: WEEK_SENTINEL, season: resp(0.3), trend: 0.02, dispersion: 8, capture: 0.06, ...LAG_CLINIC },
  { source: 'sentinel', category: 'diarrhoea', syndrome: 'gastrointestinal', rate: 6, weekly: WEEK_SENTINEL, season: gi(0.35), trend: 0.01, dispersion: 8, capture: 0.25, ...LAG_CLINIC },
  { source: 'sentinel', category: 'dyspnoea', syndrome: 'respiratory', rate: 1.5, weekly: WEEK_SENTINEL, season: resp(0.4), trend: 0.01, dispersion: 5, capture: 0.03, ...LAG_CLINIC },
  { source: 'pharmacy', category: 'antipyretic', syndrome: 'fever', rate: 30, weekly: WEEK_PHARMACY, season: resp(0.45), trend: 0.05, dispersion: 6, capture: 0.3, ...LAG_PHARMACY },
  { source: 'pharmacy', category: 'cough', syndrome: 'respiratory', rate: 40, weekly: WEEK_PHARMACY, season: resp(0.5), trend: 0.05, dispersion: 6, capture: 0.3, ...LAG_PHARMACY },
  { source: 'pharmacy', category: 'antidiarrhoeal', syndrome: 'gastrointestinal', rate: 12, weekly: WEEK_PHARMACY, season: gi(0.35), trend: 0.04, dispersion: 6, capture: 0.35, ...LAG_PHARMACY },
  { source: 'laboratory', category: 'influenza', syndrome: 'respiratory', rate: 3, weekly: WEEK_LAB, season: resp(1.2), trend: 0.03, dispersion: 4, capture: 0.05, ...LAG_LAB },
  { source: 'laboratory', category: 'sars_cov_2', syndrome: 'respiratory', rate: 2, weekly: WEEK_LAB, season: resp(0.6), trend: -0.05, dispersion: 3, capture: 0.04, ...LAG_LAB },
  // norovirus peaks in the cold months, unlike the summer's bacterial diarrhoea
  { source: 'laboratory', category: 'norovirus', syndrome: 'gastrointestinal', rate: 0.8, weekly: WEEK_LAB, season: resp(0.7), trend: 0.03, dispersion: 4, capture: 0.1, ...LAG_LAB },
  // pupils are about a tenth of the residents; absences through illness of any kind, zero on weekends and holidays
  { source: 'school', category: 'absent_illness', syndrome: 'other', rate: 50, weekly: WEEK_SCHOOL, season: resp(0.35), trend: 0, dispersion: 10, capture: 0.06, ...LAG_SCHOOL },
  { source: 'wastewater', category: 'sars_cov_2', syndrome: 'respiratory', rate: 20_000, weekly: WEEK_FLAT, season: resp(0.6), trend: -0.05, dispersion: 0.35, capture: 1, ...LAG_WASTEWATER },
  { source: 'wastewater', category: 'norovirus', syndrome: 'gastrointestinal', rate: 8_000, weekly: WEEK_FLAT, season: resp(0.6), trend: 0, dispersion: 0.35, capture: 1, ...LAG_WASTEWATER },
];

/** School absenteeism follows outbreaks of these syndromes too (pupils fall ill and stay home). */
const SCHOOL_SEES: readonly Syndrome[] = ['respiratory', 'gastrointestinal', 'fever', 'rash'];
/** Wastewater: share of residents shedding at baseline, and for how many days an ill person sheds (from onset − 1). */
const SHEDDING_PREVALENCE = 0.002;
const SHEDDING_DAYS = 6;
/** Wastewater samples are taken on Mondays and Thursdays. */
const SAMPLE_WEEKDAYS = new Set([1, 4]);

export interface FeedCommunity {
  readonly id: number;
  readonly population: number;
}

export interface FeedOptions {
  readonly communities: readonly FeedCommunity[];
  /** first day, YYYY-MM-DD */
  readonly start: string;
  readonly days: number;
  readonly seed: number;
  /** default FEED_CATEGORIES */
  readonly categories?: readonly CategorySpec[];
}

export interface FeedSeries {
  readonly spec: CategorySpec;
  readonly communityId: number;
  /** value of day `start + i`: a count, or a concentration on sampling days and 0 on the others (wastewater) */
  readonly values: Float64Array;
}

export interface FeedSet {
  readonly start: string;
  readonly days: number;
  readonly communities: readonly FeedCommunity[];
  readonly categories: readonly CategorySpec[];
  /** community-major: series[communityIndex × categories.length + categoryIndex] */
  readonly series: FeedSeries[];
}

// ── calendar ──────────────────────────────────────────────────────────────────────────────────────────────────

const EPOCH_2020 = dayNumber('2020-01-01')!;

/** 1 = Monday … 7 = Sunday, of a UTC day number */
const weekdayOf = (day: number) => ((((day + 3) % 7) + 7) % 7) + 1;

/**
 * Days schools are closed apart from weekends, roughly as Beijing's calendar has them (the lunar holidays fall at
 * the end of the winter break, so fixed dates are close enough for synthetic data).
 */
export function isSchoolHoliday(date: string): boolean {
  const md = date.slice(5);
  return md === '01-01' || (md >= '01-20' && md <= '02-22') || (md >= '04-04' && md <= '04-06') || (md >= '05-01' && md <= '05-05')
    || (md >= '07-10' && md <= '08-31') || (md >= '10-01' && md <= '10-07');
}

/** Whether a source reports on the date: wastewater twice a week, the others every day (schools: zero when closed). */
export function isSampleDay(source: FeedSource, date: string): boolean {
  return source !== 'wastewater' || SAMPLE_WEEKDAYS.has(weekdayOf(dayNumber(date)!));
}

/** A category's multiplier of its yearly mean rate on a day: weekday × season × trend (0 when schools are closed). */
function dayFactor(spec: CategorySpec, day: number, date: string): number {
  if (spec.source === 'school' && isSchoolHoliday(date)) return 0;
  const doy = day - dayNumber(date.slice(0, 4) + '-01-01')! + 1;
  const season = Math.exp(spec.season.amplitude * Math.cos((2 * Math.PI * (doy - spec.season.peakDay)) / 365.25)) / besselI0(spec.season.amplitude);
  const trend = Math.pow(1 + spec.trend, (day - EPOCH_2020) / 365.25);
  return spec.weekly[weekdayOf(day) - 1] * season * trend;
}

// ── random variates ───────────────────────────────────────────────────────────────────────────────────────────

function normal(rng: Rng): number {
  let u = rng.next();
  while (u <= 0) u = rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

/** Gamma(shape, 1), shape ≥ 1 (Marsaglia & Tsang 2000). */
function gamma(rng: Rng, shape: number): number {
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number, v: number;
    do {
      x = normal(rng);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng.next();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Poisson(λ): multiplication for small λ, PTRS (Hörmann 1993) for large. */
export function poisson(rng: Rng, lambda: number): number {
  if (lambda <= 0) return 0;
  if (lambda < 20) {
    const limit = Math.exp(-lambda);
    let k = 0;
    for (let p = rng.next(); p > limit; p *= rng.next()) k++;
    return k;
  }
  const slam = Math.sqrt(lambda);
  const loglam = Math.log(lambda);
  const b = 0.931 + 2.53 * slam;
  const a = -0.059 + 0.02483 * b;
  const invAlpha = 1.1239 + 1.1328 / (b - 3.4);
  const vr = 0.9277 - 3.6224 / (b - 2);
  for (;;) {
    const u = rng.next() - 0.5;
    const v = rng.next();
    const us = 0.5 - Math.abs(u);
    const k = Math.floor(((2 * a) / us + b) * u + lambda + 0.43);
    if (us >= 0.07 && v <= vr) return k;
    if (k < 0 || (us < 0.013 && v > us)) continue;
    if (Math.log(v) + Math.log(invAlpha) - Math.log(a / (us * us) + b) <= -lambda + k * loglam - lgamma(k + 1)) return k;
  }
}

/** Negative binomial with mean μ and size k, as a gamma-mixed Poisson. */
export function negativeBinomial(rng: Rng, mean: number, size: number): number {
  if (mean <= 0) return 0;
  return poisson(rng, (mean * gamma(rng, size)) / size);
}

// ── baseline ──────────────────────────────────────────────────────────────────────────────────────────────────

const SOURCES: readonly FeedSource[] = ['fever_clinic', 'sentinel', 'pharmacy', 'laboratory', 'school', 'wastewater'];

export function generateFeeds(opts: FeedOptions): FeedSet {
  const categories = opts.categories ?? FEED_CATEGORIES;
  const first = dayNumber(opts.start);
  if (first === undefined) throw new Error(`generateFeeds: start "${opts.start}" is not a date YYYY-MM-DD`);
  // calendar factors shared by every community
  const dates = Array.from({ length: opts.days }, (_, i) => dateOfDay(first + i));
  const factors = categories.map((spec) => Float64Array.from(dates, (date, i) => dayFactor(spec, first + i, date)));
  const sampled = categories.map((spec) => Uint8Array.from(dates, (date) => (isSampleDay(spec.source, date) ? 1 : 0)));
  const series: FeedSeries[] = [];
  opts.communities.forEach((community, ci) => {
    // each community reports more or less to each source (coverage, habits): a log-normal effect, sd 0.25
    const effect = SOURCES.map((_, si) => Math.exp(0.25 * normal(new Rng(opts.seed, 11, ci, si)) - 0.03125));
    categories.forEach((spec, k) => {
      const rng = new Rng(opts.seed, 12, ci, k);
      const values = new Float64Array(opts.days);
      const f = factors[k];
      const s = sampled[k];
      const level = effect[SOURCES.indexOf(spec.source)];
      if (spec.source === 'wastewater') {
        const sd = spec.dispersion;
        for (let i = 0; i < opts.days; i++) if (s[i]) values[i] = Math.round(spec.rate * level * f[i] * Math.exp(sd * normal(rng) - (sd * sd) / 2));
      } else {
        const perDay = (spec.rate * community.population * level) / 100_000;
        for (let i = 0; i < opts.days; i++) values[i] = negativeBinomial(rng, perDay * f[i], spec.dispersion);
      }
      series.push({ spec, communityId: community.id, values });
    });
  });
  return { start: opts.start, days: opts.days, communities: opts.communities, categories, series };
}

/** The series of one community and category, or undefined. */
export function seriesOf(set: FeedSet, communityId: number, source: string, category: string): FeedSeries | undefined {
  const ci = set.communities.findIndex((c) => c.id === communityId);
  const k = set.categories.findIndex((c) => c.source === source && c.category === category);
  return ci < 0 || k < 0 ? undefined : set.series[ci * set.categories.length + k];
}

// ── outbreaks ─────────────────────────────────────────────────────────────────────────────────────────────────

export interface OutbreakSpec {
  /** the outbreak's syndrome: every category of that syndrome counts it (and school absenteeism, except for 'other') */
  readonly syndrome: Syndrome;
  /** restrict to these categories ("source/category"); default all of the syndrome */
  readonly categories?: readonly string[];
  /** community ids, the centre first */
  readonly communities: readonly number[];
  /** first onset day, YYYY-MM-DD */
  readonly start: string;
  /** days over which onsets spread */
  readonly days: number;
  /** ill people */
  readonly size: number;
  /** share of the ill living in the centre (default 0.5; the rest split evenly over the others) */
  readonly centreShare?: number;
  /** share of the ill that become a statutory case report (default 0.05) */
  readonly reportShare?: number;
}

export interface OutbreakAddition {
  /** index into FeedSet.series */
  readonly series: number;
  /** day index into the set */
  readonly day: number;
  readonly value: number;
}

export interface SyntheticCaseReport {
  readonly communityId: number;
  readonly disease: string;
  readonly onsetDate: string;
  /** minutes after midnight (Beijing) of the diagnosis day */
  readonly diagnosedAt: { readonly date: string; readonly minute: number };
  /** hours from diagnosis to report */
  readonly reportHours: number;
  readonly late: boolean;
  /** true for the reports of an injected outbreak */
  readonly outbreak: boolean;
}

export interface OutbreakPlan {
  readonly spec: OutbreakSpec;
  /** ill people (= spec.size), onsets inside the set or not */
  readonly ill: number;
  readonly additions: OutbreakAddition[];
  /** total added per series index, over the set's days */
  readonly totals: Map<number, number>;
  /** the first day index with any addition, per series index */
  readonly firstDay: Map<number, number>;
  readonly caseReports: SyntheticCaseReport[];
}

/** The disease an outbreak of a syndrome is reported as (class C or B, never class A). */
const OUTBREAK_DISEASE: Record<Syndrome, string> = { gastrointestinal: 'A08', respiratory: 'J10', fever: 'J10', rash: 'B08.4', other: 'B26' };

/** Onset weights over `days`: a gamma-shaped curve rising fast and tailing off, as a point-source cluster does. */
function epidemicCurve(days: number): number[] {
  const scale = Math.max(days, 1) / 4;
  const w = Array.from({ length: days }, (_, d) => {
    const x = (d + 0.5) / scale;
    return Math.pow(x, 1.5) * Math.exp(-x);
  });
  const sum = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / sum);
}

function cumulativeOf(p: readonly number[]): number[] {
  let s = 0;
  return p.map((x) => (s += x));
}

function drawIndex(rng: Rng, cum: readonly number[]): number {
  const x = rng.next() * cum[cum.length - 1];
  let i = 0;
  while (i < cum.length - 1 && cum[i] <= x) i++;
  return i;
}

/** Where an outbreak's cases go in the set: pure, the set is not changed. */
export function planOutbreak(set: FeedSet, spec: OutbreakSpec, seed: number): OutbreakPlan {
  const start = dayNumber(spec.start);
  if (start === undefined) throw new Error(`planOutbreak: start "${spec.start}" is not a date YYYY-MM-DD`);
  const first = dayNumber(set.start)!;
  const nc = set.categories.length;
  const communityIndex = spec.communities.map((id) => {
    const i = set.communities.findIndex((c) => c.id === id);
    if (i < 0) throw new Error(`planOutbreak: community ${id} is not in the feed set`);
    return i;
  });
  const wanted = spec.categories ? new Set(spec.categories) : null;
  const watching = set.categories
    .map((c, k) => ({ c, k, lagCum: cumulativeOf(c.lag) }))
    .filter(({ c }) => (wanted ? wanted.has(`${c.source}/${c.category}`) : c.syndrome === spec.syndrome || (c.source === 'school' && SCHOOL_SEES.includes(spec.syndrome))));
  const rng = new Rng(seed, 21);
  const centreShare = spec.communities.length > 1 ? (spec.centreShare ?? 0.5) : 1;
  const placeCum = cumulativeOf(spec.communities.map((_, i) => (i === 0 ? centreShare : (1 - centreShare) / (spec.communities.length - 1))));
  const onsetCum = cumulativeOf(epidemicCurve(spec.days));
  const added = new Map<string, number>(); // "series:day" → value
  const add = (s: number, d: number, v: number) => {
    if (d < 0 || d >= set.days || v === 0) return;
    const key = `${s}:${d}`;
    added.set(key, (added.get(key) ?? 0) + v);
  };
  const shedders = new Map<string, number>(); // "community:day" → shedding ill people
  const caseReports: SyntheticCaseReport[] = [];
  const reportShare = spec.reportShare ?? 0.05;
  for (let person = 0; person < spec.size; person++) {
    const p = drawIndex(rng, placeCum);
    const ci = communityIndex[p];
    const onset = start - first + drawIndex(rng, onsetCum);
    for (const { c, k, lagCum } of watching) {
      if (c.source === 'wastewater') continue;
      if (rng.next() >= c.capture) continue;
      add(ci * nc + k, onset + c.lagFrom + drawIndex(rng, lagCum), 1);
    }
    for (let d = onset - 1; d < onset - 1 + SHEDDING_DAYS; d++) shedders.set(`${ci}:${d}`, (shedders.get(`${ci}:${d}`) ?? 0) + 1);
    if (rng.next() < reportShare) caseReports.push(reportOf(rng, set.communities[ci].id, OUTBREAK_DISEASE[spec.syndrome], first + onset, true));
  }
  // wastewater: the concentration rises in proportion to the shedders over the baseline's
  for (const { c, k } of watching) {
    if (c.source !== 'wastewater') continue;
    for (const [key, n] of shedders) {
      const [ci, d] = key.split(':').map(Number);
      if (d < 0 || d >= set.days || !isSampleDay('wastewater', dateOfDay(first + d))) continue;
      add(ci * nc + k, d, Math.round((c.rate * n) / (set.communities[ci].population * SHEDDING_PREVALENCE)));
    }
  }
  const additions: OutbreakAddition[] = [];
  const totals = new Map<number, number>();
  const firstDay = new Map<number, number>();
  for (const [key, value] of added) {
    const [s, d] = key.split(':').map(Number);
    additions.push({ series: s, day: d, value });
    totals.set(s, (totals.get(s) ?? 0) + value);
    firstDay.set(s, Math.min(firstDay.get(s) ?? d, d));
  }
  additions.sort((a, b) => a.series - b.series || a.day - b.day);
  return { spec, ill: spec.size, additions, totals, firstDay, caseReports };
}

/** Adds a planned outbreak to the set's values (in place). */
export function applyOutbreak(set: FeedSet, plan: OutbreakPlan): void {
  for (const a of plan.additions) set.series[a.series].values[a.day] += a.value;
}

export function injectOutbreak(set: FeedSet, spec: OutbreakSpec, seed: number): OutbreakPlan {
  const plan = planOutbreak(set, spec, seed);
  applyOutbreak(set, plan);
  return plan;
}

// ── statutory case reports ────────────────────────────────────────────────────────────────────────────────────

/** Background reports per 100,000 residents a year, and their season; none of class A or managed as class A. */
const CASE_REPORT_RATES: readonly { disease: string; perYear: number; season: { amplitude: number; peakDay: number } }[] = [
  { disease: 'J10', perYear: 250, season: resp(1.3) },
  { disease: 'A08', perYear: 90, season: gi(0.5) },
  { disease: 'U07.1', perYear: 40, season: resp(0.6) },
  { disease: 'B08.4', perYear: 40, season: { amplitude: 0.8, peakDay: 150 } },
  { disease: 'A15', perYear: 35, season: { amplitude: 0.1, peakDay: 90 } },
  { disease: 'A38', perYear: 8, season: resp(0.5) },
  { disease: 'B26', perYear: 5, season: { amplitude: 0.4, peakDay: 120 } },
  { disease: 'A03', perYear: 3, season: gi(0.6) },
  { disease: 'H10', perYear: 2, season: gi(0.6) },
  { disease: 'B15', perYear: 1, season: { amplitude: 0, peakDay: 1 } },
];
/** Share of reports sent after the 24-hour deadline. */
const LATE_SHARE = 0.06;

function reportOf(rng: Rng, communityId: number, disease: string, onsetDay: number, outbreak: boolean): SyntheticCaseReport {
  const diagnosedDay = onsetDay + Math.floor(rng.next() * 4); // 0–3 days from onset to diagnosis
  const late = rng.next() < LATE_SHARE;
  const reportHours = late ? 24.5 + rng.next() * 60 : 0.2 + Math.pow(rng.next(), 2) * 23;
  return {
    communityId, disease, onsetDate: dateOfDay(onsetDay), diagnosedAt: { date: dateOfDay(diagnosedDay), minute: 8 * 60 + Math.floor(rng.next() * 12 * 60) },
    reportHours: Math.round(reportHours * 60) / 60, late, outbreak,
  };
}

/** Background statutory case reports with onsets on the set's days (ordered by onset). */
export function generateCaseReports(opts: Omit<FeedOptions, 'categories'>): SyntheticCaseReport[] {
  const first = dayNumber(opts.start)!;
  const out: SyntheticCaseReport[] = [];
  opts.communities.forEach((community, ci) => {
    const rng = new Rng(opts.seed, 31, ci);
    for (let i = 0; i < opts.days; i++) {
      const day = first + i;
      const date = dateOfDay(day);
      const doy = day - dayNumber(date.slice(0, 4) + '-01-01')! + 1;
      for (const d of CASE_REPORT_RATES) {
        const mean = ((d.perYear / 365.25) * community.population * Math.exp(d.season.amplitude * Math.cos((2 * Math.PI * (doy - d.season.peakDay)) / 365.25))) / 100_000;
        for (let n = poisson(rng, mean / besselI0(d.season.amplitude)); n > 0; n--) out.push(reportOf(rng, community.id, d.disease, day, false));
      }
    }
  });
  return out.sort((a, b) => a.onsetDate.localeCompare(b.onsetDate) || a.communityId - b.communityId);
}

/** I0(x): the mean of exp(x cos θ) over a year, so a season moves reports around the year without adding any. */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  for (let k = 1; k < 30; k++) {
    term *= (x / (2 * k)) ** 2;
    sum += term;
  }
  return sum;
}
