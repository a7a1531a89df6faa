// The daily detection run and its fusion, replayed day by day on synthetic feeds without a database, for the
// detection-power benchmark (bench/detection-power.ts). Everything that decides an alarm is the product's own code:
//   - the run's settings: parseRunConfig({}) (run-config.ts), i.e. the defaults a district gets;
//   - EARS and farringtonFlexible through runTask (run-tasks.ts), on the inputs run.ts builds: the last `dailyDays`
//     daily values (a sampled source's samples only), ISO-week aggregates from the same weeklyStart, a point observed
//     at 0 not computed;
//   - the space-time scan through prepareScan / scanObserved / replicateMaxima / finishScan (stscan.ts), per counted
//     source × category (and notifiable disease) over the run's study period, clusters with p ≤ scan.maxP;
//   - fusion through fuse() and matchOpenAlert() (fusion.ts) with the default rules (DEFAULT_RULES), an alert being
//     extended rather than reopened as alerts.ts does (only when the candidate brings a signal it does not hold yet).
// What the replay adds: the signals' lifetimes as the signal table has them (an EARS signal is written by the run of its
// day; a Farrington signal, dated on its week's Sunday, is rewritten by every run of the following seven days; a scan
// cluster by the run of its last day), and the closing of alerts, which people do: here an alert is closed once it
// has had no new evidence for QUIET_DAYS days.
import { dateOfDay, dayNumber } from '../src/modules/surveillance/algorithms/dates.ts';
import { finishScan, prepareScan, replicateMaxima, scanObserved, type StscanControl } from '../src/modules/surveillance/algorithms/stscan.ts';
import { adjacencyOf, extendedArea, extensionMode, fuse, matchOpenAlert, signalPValue, type Adjacency, type AlertCandidate, type FusionRule, type FusionSignal, type OpenAlert } from '../src/modules/surveillance/fusion.ts';
import { parseRunConfig, type RunConfig } from '../src/modules/surveillance/run-config.ts';
import { runTask, type SeriesItem } from '../src/modules/surveillance/run-tasks.ts';
import type { PointResult } from '../src/modules/surveillance/algorithms/types.ts';
import { buildDistrict, type District } from '../src/synth/district.ts';
import { generateCaseReports, generateFeeds, planOutbreak, type FeedSet, type OutbreakPlan, type OutbreakSpec, type SyntheticCaseReport } from '../src/synth/feeds.ts';
import { profileNamed } from '../src/synth/profiles.ts';
import { feedCommunities } from '../src/synth/surveillance.ts';

/** The feeds start on a Monday, so day index i is ISO weekday (i % 7) + 1. */
export const START = '2022-01-03';
/** An alert without new evidence for this many days counts as closed (a person would have closed it). */
export const QUIET_DAYS = 7;

/** surveillance_source.independence (0005_surveillance.sql) */
export const INDEPENDENCE: Record<string, string> = {
  fever_clinic: 'clinical', sentinel: 'primary_care', pharmacy: 'pharmacy', laboratory: 'laboratory', school: 'school', wastewater: 'environment', case_report: 'case_report',
};
/** notifiable_disease.syndrome of the diseases the synthetic case reports use */
const DISEASE_SYNDROME: Record<string, string> = {
  J10: 'respiratory', A08: 'gastrointestinal', 'U07.1': 'respiratory', 'B08.4': 'rash', A15: 'respiratory', A38: 'rash', B26: 'other', A03: 'gastrointestinal', H10: 'other', B15: 'gastrointestinal',
};
/** The default rules as the migrations leave them (0005_surveillance.sql; multi_source version 2 of 0016_fusion_defaults.sql). */
export const DEFAULT_RULES: FusionRule[] = [
  { id: 1, code: 'multi_source', version: 2, kind: 'multi_source', params: { minSources: 2, windowDays: 7, adjacency: 'adjacent', minObserved: 5, strongFactor: 2 }, riskLevel: 'high' },
  { id: 2, code: 'high_threshold', version: 1, kind: 'high_threshold', params: { factor: 3, minObserved: 10, maxP: 0.001 }, riskLevel: 'medium' },
];

export interface SimSeries {
  source: string;
  category: string;
  syndrome: string;
  /** index into world.communities */
  community: number;
  /** kind index (source × category / disease) */
  kind: number;
  count: boolean;
  values: Float64Array;
}

export interface World {
  district: District;
  set: FeedSet;
  /** feed series (set.series, same order), then case-report series (community × disease) */
  series: SimSeries[];
  feedSeries: number;
  kinds: { source: string; category: string; syndrome: string; count: boolean; series: number[] }[];
  communityIds: number[];
  centroids: { lon: number; lat: number }[];
  adjacency: Adjacency;
  days: number;
  config: RunConfig;
  /** the case-report series of a community (index) and disease */
  crIndex: (community: number, disease: string) => number;
}

function caseReportDay(r: SyntheticCaseReport, first: number): number {
  return dayNumber(r.diagnosedAt.date)! - first;
}

/** The dongcheng district's feeds and case reports from START for `days` days. */
export function buildWorld(seed: number, days: number, config: RunConfig = parseRunConfig({})): World {
  const profile = profileNamed('dongcheng', 20_000);
  const district = buildDistrict(profile, seed);
  const communities = feedCommunities(district, profile);
  const set = generateFeeds({ communities, start: START, days, seed });
  const series: SimSeries[] = [];
  const kinds: World['kinds'] = set.categories.map((c) => ({ source: c.source, category: c.category, syndrome: c.syndrome, count: c.source !== 'wastewater', series: [] }));
  set.series.forEach((s, i) => {
    const k = i % set.categories.length;
    series.push({ source: s.spec.source, category: s.spec.category, syndrome: s.spec.syndrome, community: Math.floor(i / set.categories.length), kind: k, count: kinds[k].count, values: s.values });
    kinds[k].series.push(i);
  });
  const feedSeries = series.length;
  const first = dayNumber(START)!;
  const diseases = Object.keys(DISEASE_SYNDROME);
  const byCommunity = new Map(communities.map((c, i) => [c.id, i]));
  for (const disease of diseases) {
    const k = kinds.push({ source: 'case_report', category: disease, syndrome: DISEASE_SYNDROME[disease], count: true, series: [] }) - 1;
    communities.forEach((_, ci) => {
      kinds[k].series.push(series.length);
      series.push({ source: 'case_report', category: disease, syndrome: DISEASE_SYNDROME[disease], community: ci, kind: k, count: true, values: new Float64Array(days) });
    });
  }
  const crIndex = (community: number, disease: string) => feedSeries + diseases.indexOf(disease) * communities.length + community;
  for (const r of generateCaseReports({ communities, start: START, days, seed })) {
    const d = caseReportDay(r, first);
    if (d >= 0 && d < days) series[crIndex(byCommunity.get(r.communityId)!, r.disease)].values[d]++;
  }
  return {
    crIndex,
    district, set, series, feedSeries, kinds, communityIds: communities.map((c) => c.id),
    centroids: district.communities.map((c) => ({ lon: c.lon!, lat: c.lat! })),
    adjacency: adjacencyOf(district.adjacency.map((a) => [a.region_id, a.neighbour_id] as const)), days, config,
  };
}

/** An outbreak's additions as replacement value arrays: series index → values with the outbreak in them. */
export function outbreakValues(w: World, spec: OutbreakSpec, seed: number): { plan: OutbreakPlan; values: Map<number, Float64Array> } {
  const plan = planOutbreak(w.set, spec, seed);
  const values = new Map<number, Float64Array>();
  const of = (k: number) => values.get(k) ?? values.set(k, Float64Array.from(w.series[k].values)).get(k)!;
  for (const a of plan.additions) of(a.series)[a.day] += a.value;
  const first = dayNumber(START)!;
  const byCommunity = new Map(w.communityIds.map((id, i) => [id, i]));
  for (const r of plan.caseReports) {
    const d = caseReportDay(r, first);
    if (d >= 0 && d < w.days) of(w.crIndex(byCommunity.get(r.communityId)!, r.disease))[d]++;
  }
  return { plan, values };
}

// ── one run's signals ──

/** A signal as the replay keeps it; `key` is its identity in the signal table (a rerun updates it). */
export interface SimSignal {
  key: string;
  algorithm: string;
  series: number;
  kind: number;
  source: string;
  category: string;
  syndrome: string;
  community: number;
  communities: number[];
  startDay: number;
  day: number;
  observed: number;
  threshold: number | null;
  /** the baseline's expected count and the algorithm's score, as the run writes them (signal.expected, signal.statistic) */
  expected: number | null;
  statistic: number | null;
  pValue: number | null;
  /** EARS: alarms at levels[0 … level − 1] of the EARS alpha grid; Farrington likewise on its grid; the scan: 1 */
  level: number;
  /** an EARS variant the run does not use (for the per-algorithm table only; never fused) */
  extra?: boolean;
  /** a sub-threshold score (supportSignals), not an alarm */
  support?: boolean;
}

export interface Levels {
  /** the run's EARS method at these alphas (the first is the run's own) */
  earsAlphas: number[];
  /** farringtonFlexible at these alphas (the first is the run's own) */
  farringtonAlphas: number[];
  /** the other EARS variants at the run's alpha, for the per-algorithm table */
  otherEars: ('earsC1' | 'earsC2' | 'earsC3')[];
}

type Values = (series: number) => Float64Array;

const weekdayOf = (day: number) => (day % 7) + 1;

/** EARS (every alpha of the grid, and the other variants) for the series observed > 0 on day t. */
/** The EARS inputs of day t as run.ts builds them: the series observed > 0 that day, their last `dailyDays` values (a sampled source's samples only). */
function earsItems(w: World, valuesOf: Values, seriesList: Iterable<number>, t: number): { items: SeriesItem[]; refs: { k: number; observed: number }[] } {
  const D = w.config.dailyDays;
  const items: SeriesItem[] = [];
  const refs: { k: number; observed: number }[] = [];
  if (t - D + 1 < 0) return { items, refs };
  for (const k of seriesList) {
    const s = w.series[k];
    const v = valuesOf(k);
    if (!(v[t] > 0)) continue;
    if (s.count) items.push({ daily: Array.from(v.subarray(t - D + 1, t + 1)), weekly: null });
    else {
      // sampled: the samples of the window (values > 0 on sampling days), when one is on day t
      const samples: number[] = [];
      for (let i = t - D + 1; i <= t; i++) if (v[i] > 0) samples.push(v[i]);
      items.push({ daily: samples, weekly: null });
    }
    refs.push({ k, observed: v[t] });
  }
  return { items, refs };
}

export function earsSignals(w: World, valuesOf: Values, seriesList: Iterable<number>, t: number, levels: Levels): SimSignal[] {
  const { items, refs } = earsItems(w, valuesOf, seriesList, t);
  if (!items.length) return [];
  const method = w.config.ears.method;
  const runAt = (m: 'earsC1' | 'earsC2' | 'earsC3', alpha: number) =>
    runTask({ kind: 'series', ears: { method: m, params: { ...w.config.ears.params, alpha } }, farrington: {}, weeklyStart: START, items }).outcomes.map((o) => o.ears);
  const grid = levels.earsAlphas.map((a) => runAt(method, a));
  const out: SimSignal[] = [];
  refs.forEach(({ k, observed }, i) => {
    let level = 0;
    while (level < grid.length && grid[level][i]?.alarm) level++;
    if (level > 0) out.push(signalOf(w, k, method, t, t, observed, grid[0][i]!, level));
  });
  for (const m of levels.otherEars) {
    if (m === method) continue;
    runAt(m, w.config.ears.params.alpha as number).forEach((p, i) => {
      if (p?.alarm) out.push({ ...signalOf(w, refs[i].k, m, t, t, refs[i].observed, p, 1), extra: true });
    });
  }
  return out;
}

/**
 * Support signals (sub-threshold evidence) of the run's EARS method at its own alpha for the series observed > 0 on
 * day t: a series that does not alarm but whose score has p ≤ maxP (the normal tail, signalPValue). Keyed apart from
 * alarms (`support|…`), level 0, so no selection of alarms picks them.
 */
export function supportSignals(w: World, valuesOf: Values, seriesList: Iterable<number>, t: number, maxP: number): SimSignal[] {
  const { items, refs } = earsItems(w, valuesOf, seriesList, t);
  if (!items.length) return [];
  const method = w.config.ears.method;
  const out: SimSignal[] = [];
  runTask({ kind: 'series', ears: { method, params: w.config.ears.params }, farrington: {}, weeklyStart: START, items }).outcomes.forEach((o, i) => {
    const p = o.ears;
    if (!p || p.alarm !== false) return;
    const q = signalPValue({ algorithm: method, pValue: null, statistic: p.statistic ?? null });
    if (q === null || q > maxP) return;
    const sig = signalOf(w, refs[i].k, method, t, t, refs[i].observed, p, 0);
    out.push({ ...sig, key: `support|${sig.key}`, support: true });
  });
  return out;
}

/** A series' signal with the fields run.ts seriesSignal writes (threshold = upperbound, expected, statistic) of the run's own alpha. */
function signalOf(w: World, k: number, algorithm: string, startDay: number, day: number, observed: number, p: PointResult, level: number): SimSignal {
  const s = w.series[k];
  return {
    key: `${algorithm}|${k}|${day}`, algorithm, series: k, kind: s.kind, source: s.source, category: s.category, syndrome: s.syndrome,
    community: s.community, communities: [s.community], startDay, day, observed, threshold: p.upperbound, expected: p.expected ?? null, statistic: p.statistic ?? null, pValue: null, level,
  };
}

/** The first day of the weekly aggregates the run reads for a week ending on `sunday` (run.ts readSeries). */
function weeklyStartOf(w: World, sunday: number): number {
  const { b, w: ww } = w.config.farrington.params as { b: number; w: number };
  const wanted = sunday - 6 - 7 * (Math.ceil((b * 365.25) / 7) + ww + 1);
  return Math.max(0, wanted);
}

/** farringtonFlexible on the week ending on `sunday` (a day index with weekday 7), for count series observed > 0 that week. */
export function farringtonSignals(w: World, valuesOf: Values, seriesList: Iterable<number>, sunday: number, levels: Levels): SimSignal[] {
  if (weekdayOf(sunday) !== 7 || !w.config.farrington.enabled) return [];
  const from = weeklyStartOf(w, sunday);
  const weeks = (sunday - from + 1) / 7;
  const items: SeriesItem[] = [];
  const refs: { k: number; observed: number }[] = [];
  for (const k of seriesList) {
    const s = w.series[k];
    if (!s.count) continue;
    const v = valuesOf(k);
    const weekly = new Array<number>(weeks).fill(0);
    for (let i = from; i <= sunday; i++) weekly[Math.floor((i - from) / 7)] += v[i];
    if (weekly[weeks - 1] <= 0) continue;
    items.push({ daily: null, weekly });
    refs.push({ k, observed: weekly[weeks - 1] });
  }
  if (!items.length) return [];
  const grid = levels.farringtonAlphas.map((alpha) =>
    runTask({ kind: 'series', ears: w.config.ears, farrington: { ...w.config.farrington.params, alpha }, weeklyStart: dateOfDay(dayNumber(START)! + from), items }).outcomes.map((o) => o.farrington));
  const out: SimSignal[] = [];
  refs.forEach(({ k, observed }, i) => {
    let level = 0;
    while (level < grid.length && grid[level][i]?.alarm) level++;
    if (level > 0) out.push(signalOf(w, k, 'farringtonFlexible', sunday - 6, sunday, observed, grid[0][i]!, level));
  });
  return out;
}

/** The scan of one counted kind on day t, as the run does it (study period, windows ending on t, p ≤ maxP). */
export function scanSignals(w: World, valuesOf: Values, kind: number, t: number, replications: number): SimSignal[] {
  const K = w.kinds[kind];
  if (!K.count || !w.config.scan.enabled) return [];
  const S = w.config.scan.studyDays;
  const control = { ...(w.config.scan.params as StscanControl), replications };
  const maxDays = control.maxDays ?? Math.floor(S / 2);
  if (t - S + 1 < 0) return [];
  const counts = K.series.map((k) => Array.from(valuesOf(k).subarray(t - S + 1, t + 1), (v) => Math.round(v)));
  let recent = 0;
  for (const row of counts) for (let d = S - maxDays; d < S; d++) recent += row[d];
  if (recent === 0) return [];
  const prepared = prepareScan({ counts, centroids: w.centroids }, control);
  const observed = scanObserved(prepared);
  const result = finishScan(prepared, observed, replicateMaxima(prepared, 0, replications));
  return result.clusters.filter((c) => c.pValue <= w.config.scan.maxP).map((c) => ({
    key: `stscan|${kind}|${c.centre}|${t}`, algorithm: 'stscan', series: -1, kind, source: K.source, category: K.category, syndrome: K.syndrome,
    community: c.zones[0], communities: c.zones.slice(), startDay: t - S + 1 + c.startDay, day: t - S + 1 + c.endDay, observed: c.observed,
    threshold: null, expected: c.expected, statistic: c.llr, pValue: c.pValue, level: 1,
  }));
}

/** Every signal of the runs of days [from, to] for the given series and kinds (Farrington for the Sundays among them). */
export function signalsOfDays(w: World, valuesOf: Values, seriesList: number[], kindList: number[], from: number, to: number, levels: Levels, replications: number): SimSignal[] {
  const out: SimSignal[] = [];
  for (let t = from; t <= to; t++) {
    out.push(...earsSignals(w, valuesOf, seriesList, t, levels));
    if (weekdayOf(t) === 7) out.push(...farringtonSignals(w, valuesOf, seriesList, t, levels));
    for (const k of kindList) out.push(...scanSignals(w, valuesOf, k, t, replications));
  }
  return out;
}

// ── fusion, day by day ──

/** Which signals count, for one configuration of thresholds. */
export interface Selection {
  earsLevel: number;
  farringtonLevel: number;
  scan: boolean;
}

export const selected = (s: SimSignal, sel: Selection) =>
  s.extra ? false : s.support ? true : s.algorithm === 'stscan' ? sel.scan : s.algorithm === 'farringtonFlexible' ? s.level >= sel.farringtonLevel && sel.farringtonLevel > 0 : s.level >= sel.earsLevel && sel.earsLevel > 0;

/** The days on which a signal is in the table and seen by a run's fusion as fresh (written by that run). */
function freshDays(s: SimSignal): [number, number] {
  return s.algorithm === 'farringtonFlexible' ? [s.day, s.day + 6] : [s.day, s.day];
}

export interface FusionDay {
  day: number;
  candidates: AlertCandidate[];
  /** alerts created that day (candidate index → new alert id) */
  created: number[];
}

interface SimAlert extends OpenAlert {
  signals: Set<number>;
}

/**
 * Replays fusion for days [from, to] over `signals` (all the runs' signals, any days), with `rules`; `state` carries
 * the open alerts between calls (pass the baseline's state to continue a trial from it). Returns each day's
 * candidates and the alerts created.
 */
export class FusionReplay {
  readonly ids = new Map<string, number>();
  readonly w: World;
  readonly rules: FusionRule[];
  /** days of signals fusion reads (alerts.ts: the multi_source rules' longest window) */
  readonly windowDays: number;
  constructor(w: World, rules: FusionRule[], windowDays?: number) {
    this.w = w;
    this.rules = rules;
    this.windowDays = windowDays ?? Math.max(1, ...rules.filter((r) => r.kind === 'multi_source').map((r) => (r.params as { windowDays: number }).windowDays));
  }

  idOf(key: string): number {
    let id = this.ids.get(key);
    if (id === undefined) this.ids.set(key, (id = this.ids.size + 1));
    return id;
  }

  run(signalsByDay: Map<number, SimSignal[]>, from: number, to: number, state: SimAlert[] = [], onDay?: (d: FusionDay, open: SimAlert[]) => void): { alertsCreated: number; state: SimAlert[] } {
    const windowDays = this.windowDays;
    let open = state.map((a) => ({ ...a, communities: a.communities.slice(), core: a.core.slice(), signals: new Set(a.signals) }));
    let nextId = Math.max(0, ...open.map((a) => a.id)) + 1;
    let alertsCreated = 0;
    for (let t = from; t <= to; t++) {
      open = open.filter((a) => t - dayNumber(a.lastDate)! + dayNumber(START)! <= QUIET_DAYS);
      // the signal table as the run of day t leaves it: on_date within the window, fresh if written by that run
      const signals: FusionSignal[] = [];
      for (let d = t - windowDays + 1; d <= t; d++) {
        for (const s of signalsByDay.get(d) ?? []) {
          const [f0, f1] = freshDays(s);
          if (f0 > t) continue;
          signals.push({
            id: this.idOf(s.key), algorithm: s.algorithm, source: s.source, category: s.category, syndrome: s.syndrome,
            community: this.w.communityIds[s.community], communities: s.communities.map((c) => this.w.communityIds[c]),
            startDate: dayDate(s.startDay), date: dayDate(s.day), observed: s.observed, threshold: s.threshold, statistic: s.statistic, pValue: s.pValue, fresh: t >= f0 && t <= f1,
            ...(s.support ? { support: true } : {}),
          });
        }
      }
      const candidates = fuse({ asOf: dayDate(t), signals, caseReports: [], rules: this.rules, adjacency: this.w.adjacency, independence: INDEPENDENCE });
      const created: number[] = [];
      for (const c of candidates) {
        const rule = this.rules.find((r) => r.code === c.ruleCode)!;
        const mode = extensionMode(rule);
        const match = matchOpenAlert(c, open, this.w.adjacency, mode) as SimAlert | null;
        if (match) {
          const fresh = c.signalIds.filter((id) => !match.signals.has(id));
          if (!fresh.length) continue;
          for (const id of fresh) match.signals.add(id);
          match.communities = extendedArea(match, c, this.w.adjacency, mode);
          if (c.lastDate > match.lastDate) match.lastDate = c.lastDate;
        } else {
          const id = nextId++;
          open.push({ id, ruleCode: c.ruleCode, syndrome: c.syndrome, communities: c.communities.slice(), core: c.communities.slice(), dedupeKey: c.dedupeKey, lastDate: c.lastDate, signals: new Set(c.signalIds) });
          created.push(id);
          alertsCreated++;
        }
      }
      onDay?.({ day: t, candidates, created }, open);
    }
    return { alertsCreated, state: open };
  }
}

const dayDate = (d: number) => dateOfDay(dayNumber(START)! + d);

/** Signals grouped by the day they are dated (on_date), filtered by a selection. */
export function byDay(signals: Iterable<SimSignal>, sel: Selection): Map<number, SimSignal[]> {
  const m = new Map<number, SimSignal[]>();
  for (const s of signals) if (selected(s, sel)) (m.get(s.day) ?? m.set(s.day, []).get(s.day)!).push(s);
  return m;
}

/** Single-source signalling through the same engine: every signal is an alert (high_threshold at factor 1). */
export const SINGLE_SOURCE_RULES = (maxP: number): FusionRule[] => [
  { id: 9, code: 'single_source', version: 1, kind: 'high_threshold', params: { factor: 1, minObserved: 0, maxP }, riskLevel: 'medium' },
];
