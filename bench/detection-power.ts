// Detection power on synthetic outbreaks: `npm run bench -- detection-power`.
//
// The dongcheng district's synthetic feeds (src/synth/feeds.ts: 168 communities × 21 categories, three years of
// history before a year that is evaluated) are run through each detection algorithm on single-source series, and
// through the multi-source fusion of the default rule. Two measurements:
//   false alarms — on the baseline alone (no outbreak anywhere), alarm episodes per 100 series-years over the
//                  evaluated year (an episode: alarms on one series with gaps of at most 3 days; a series is one
//                  community × source × category);
//   sensitivity  — outbreaks injected one at a time (syndrome, size, duration and place varying; a centre and two of
//                  its neighbours): detected when an alarm falls on one of the outbreak's series (its syndrome's
//                  categories, and school absenteeism, in its communities) from its first onset to 7 days after the
//                  last; days to detection from the first onset to the first such alarm.
// Fused alerts use the fusion rule engine's default multi-source rule (≥ 2 independent source groups of one
// syndrome in the same or adjacent communities within 3 days) over the daily run's per-series signals (earsC2 on
// daily series, farringtonFlexible on weekly aggregates). Until the rule engine (src/modules/surveillance/fusion.ts)
// is on main, `fuseMultiSource` below applies that rule; it is the only piece to swap.
// "Equal sensitivity": single-source signalling (every earsC2 signal of any source is an alert) is re-run with
// stricter alpha until its sensitivity falls to the fused alerts'; its false alarms at that point are compared.
import { METHODS, type MethodName } from '../src/modules/surveillance/algorithms/index.ts';
import { stscan } from '../src/modules/surveillance/algorithms/stscan.ts';
import { dateOfDay, dayNumber } from '../src/modules/surveillance/algorithms/dates.ts';
import { buildDistrict } from '../src/synth/district.ts';
import { generateFeeds, planOutbreak, type FeedSet, type OutbreakPlan, type Syndrome } from '../src/synth/feeds.ts';
import { profileNamed } from '../src/synth/profiles.ts';
import { feedCommunities } from '../src/synth/surveillance.ts';
import { Rng } from '../src/synth/random.ts';

export interface DetectionPowerOptions {
  outbreaks?: number;
  seed?: number;
  /** Monte Carlo replications of the scan */
  replications?: number;
  /** EARS minSigma (default 1) */
  minSigma?: number;
}

const START = '2022-01-03'; // a Monday
const WARM_DAYS = (3 * 52 + 4) * 7; // Farrington's b = 3 years and its window before the evaluated year
const EVAL_DAYS = 364;
const TAIL_DAYS = 21;
const EPISODE_GAP = 3;
const AFTER_DAYS = 7;
/** source → independence group (surveillance_source.independence in 0005) */
const INDEPENDENCE: Record<string, string> = { fever_clinic: 'clinical', sentinel: 'primary_care', pharmacy: 'pharmacy', laboratory: 'laboratory', school: 'school', wastewater: 'environment' };
const SCAN_P = 0.05;
/**
 * EARS on sparse small-area counts: with R's minSigma = 0 a baseline week of zeros has sd 0, so any single case is an
 * alarm (1,153 false alarms per 100 series-years for earsC2 in a trial run). minSigma = 1 asks for about 3 cases then.
 */
let EARS_PARAMS: Record<string, unknown> = { minSigma: 1 };
const SCAN_CONTROL = { maxDays: 7, maxZones: 8, maxClusters: 3 };
const SCAN_STUDY_DAYS = 28;

type Algorithm = 'earsC1' | 'earsC2' | 'earsC3' | 'cusum' | 'farringtonFlexible' | 'scan';
const SERIES_ALGORITHMS: Algorithm[] = ['earsC1', 'earsC2', 'earsC3', 'cusum', 'farringtonFlexible'];

interface Signal {
  series: number;
  day: number;
  source: string;
  syndrome: string;
  community: number;
  observed: number;
  threshold: number;
}

// ── series as the algorithms see them ──

/** Counts of a series: wastewater concentrations in thousands of copies/L on its sampling days only (day index map). */
function countsOf(set: FeedSet, k: number): { counts: number[]; days: number[] } {
  const s = set.series[k];
  if (s.spec.source !== 'wastewater') return { counts: Array.from(s.values), days: [] };
  const counts: number[] = [];
  const days: number[] = [];
  s.values.forEach((v, i) => {
    if (v > 0) (counts.push(Math.round(v / 1000)), days.push(i));
  });
  return { counts, days };
}

/** Alarms of a per-series algorithm with the day each becomes known, over days [from, to]. */
function seriesAlarms(set: FeedSet, k: number, algorithm: Algorithm, from: number, to: number, params: Record<string, unknown> = {}): { day: number; observed: number; threshold: number }[] {
  const { counts, days } = countsOf(set, k);
  const method = METHODS[algorithm as MethodName]!;
  const control = algorithm === 'farringtonFlexible' ? null : method.parseControl({ ...(algorithm.startsWith('ears') ? EARS_PARAMS : {}), ...params });
  const out: { day: number; observed: number; threshold: number }[] = [];
  if (algorithm === 'farringtonFlexible') {
    // weekly aggregates (Monday–Sunday; START is a Monday), known on the week's Sunday
    const weeks = Math.floor(set.days / 7);
    const weekly = new Array<number>(weeks).fill(0);
    const values = set.series[k].values;
    for (let i = 0; i < weeks * 7; i++) weekly[Math.floor(i / 7)] += set.series[k].spec.source === 'wastewater' ? Math.round(values[i] / 1000) : values[i];
    const wFrom = Math.max(0, Math.floor(from / 7));
    const wTo = Math.min(weeks - 1, Math.floor(to / 7));
    if (wTo < wFrom) return out;
    const r = method.run({ counts: weekly, frequency: 'weekly', start: START }, { from: wFrom, to: wTo }, method.parseControl({ b: 3, ...params }));
    r.points.forEach((p, j) => {
      if (p.alarm) out.push({ day: (wFrom + j) * 7 + 6, observed: weekly[wFrom + j], threshold: p.upperbound! });
    });
    return out;
  }
  if (days.length) {
    // wastewater: the samples taken on days [from, to]
    const iFrom = days.findIndex((d) => d >= from);
    let iTo = -1;
    for (let i = days.length - 1; i >= 0; i--) if (days[i] <= to) (iTo = i), (i = -1);
    if (iFrom < 0 || iTo < iFrom) return out;
    const r = method.run({ counts, frequency: 'daily', start: START }, { from: iFrom, to: iTo }, control);
    r.points.forEach((p, j) => {
      if (p.alarm) out.push({ day: days[iFrom + j], observed: counts[iFrom + j], threshold: p.upperbound! });
    });
    return out;
  }
  const r = method.run({ counts, frequency: 'daily', start: START }, { from, to }, control);
  r.points.forEach((p, j) => {
    if (p.alarm) out.push({ day: from + j, observed: counts[from + j], threshold: p.upperbound! });
  });
  return out;
}

function episodes(days: number[]): number {
  const sorted = [...days].sort((a, b) => a - b);
  let n = 0;
  let last = -Infinity;
  for (const d of sorted) {
    if (d - last > EPISODE_GAP) n++;
    last = d;
  }
  return n;
}

// ── fusion (the default multi_source rule) ──

/**
 * New alerts of the multi-source rule, day by day: on day t the signals of [t − 2, t] of one syndrome in a
 * community and its neighbours that come from ≥ 2 independence groups, one of them dated t, make a candidate; a
 * candidate that shares a community (or a neighbour) with an alert of its syndrome seen within the window extends
 * it instead of opening another.
 */
function fuseMultiSource(signals: Signal[], adjacency: Map<number, Set<number>>, firstDay: number, lastDay: number, seenIn?: (day: number, syndrome: string, communities: number[]) => void): { day: number; syndrome: string; communities: number[] }[] {
  const byDay = new Map<number, Signal[]>();
  for (const s of signals) (byDay.get(s.day) ?? byDay.set(s.day, []).get(s.day)!).push(s);
  const open: { syndrome: string; communities: Set<number>; lastDay: number }[] = [];
  const alerts: { day: number; syndrome: string; communities: number[] }[] = [];
  for (let t = firstDay; t <= lastDay; t++) {
    const today = byDay.get(t);
    if (!today?.length) continue;
    const recent = [t - 2, t - 1, t].flatMap((d) => byDay.get(d) ?? []);
    const seen = new Set<string>();
    for (const fresh of today) {
      for (const centre of [fresh.community, ...(adjacency.get(fresh.community) ?? [])]) {
        const key = `${fresh.syndrome}:${centre}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const area = new Set([centre, ...(adjacency.get(centre) ?? [])]);
        if (!area.has(fresh.community)) continue;
        const inArea = recent.filter((s) => s.syndrome === fresh.syndrome && area.has(s.community));
        const groups = new Set(inArea.map((s) => INDEPENDENCE[s.source]));
        if (groups.size < 2) continue;
        const communities = [...new Set(inArea.map((s) => s.community))].sort((a, b) => a - b);
        seenIn?.(t, fresh.syndrome, communities);
        const touching = open.find((a) => a.syndrome === fresh.syndrome && t - a.lastDay <= EPISODE_GAP && communities.some((c) => a.communities.has(c) || [...(adjacency.get(c) ?? [])].some((n) => a.communities.has(n))));
        if (touching) {
          touching.lastDay = t;
          for (const c of communities) touching.communities.add(c);
        } else {
          open.push({ syndrome: fresh.syndrome, communities: new Set(communities), lastDay: t });
          alerts.push({ day: t, syndrome: fresh.syndrome, communities });
        }
      }
    }
  }
  return alerts;
}

// ── the benchmark ──

interface Row {
  name: string;
  detected: number;
  outbreaks: number;
  delays: number[];
  falseEpisodes: number;
  seriesYears: number;
  /** the same windows and series without the outbreak that still alarm */
  chance: number;
}

const median = (xs: number[]) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export async function runDetectionPowerBench(opts: DetectionPowerOptions = {}): Promise<string> {
  const seed = opts.seed ?? 20260601;
  const nOutbreaks = opts.outbreaks ?? 40;
  const replications = opts.replications ?? 99;
  if (opts.minSigma !== undefined) EARS_PARAMS = { minSigma: opts.minSigma };
  const started = performance.now();
  const log = (m: string) => process.stderr.write(`[detection-power ${((performance.now() - started) / 1000).toFixed(0)} s] ${m}\n`);
  const profile = profileNamed('dongcheng', 20_000);
  const d = buildDistrict(profile, seed);
  const communities = feedCommunities(d, profile);
  const days = WARM_DAYS + EVAL_DAYS + TAIL_DAYS;
  const evalFrom = WARM_DAYS;
  const evalTo = WARM_DAYS + EVAL_DAYS - 1;
  const base = generateFeeds({ communities, start: START, days, seed });
  log(`baseline: ${base.series.length} series × ${days} days (${dateOfDay(dayNumber(START)!)} …), evaluated ${dateOfDay(dayNumber(START)! + evalFrom)} … ${dateOfDay(dayNumber(START)! + evalTo)}`);
  const nc = base.categories.length;
  const adjacency = new Map<number, Set<number>>();
  for (const a of d.adjacency) (adjacency.get(a.region_id) ?? adjacency.set(a.region_id, new Set()).get(a.region_id)!).add(a.neighbour_id);
  const centroids = d.communities.map((c) => ({ lon: c.lon!, lat: c.lat! }));
  const communityIndex = new Map(base.communities.map((c, i) => [c.id, i]));
  const seriesYears = (base.series.length * EVAL_DAYS) / 364;
  const signalOf = (set: FeedSet, k: number, a: { day: number; observed: number; threshold: number }): Signal => ({
    series: k, day: a.day, source: set.series[k].spec.source, syndrome: set.series[k].spec.syndrome, community: set.series[k].communityId, observed: a.observed, threshold: a.threshold,
  });

  // ── false alarms on the baseline ──
  const falseEpisodes = new Map<string, number>();
  const baseSignals: Signal[] = []; // the daily run's per-series signals (earsC2, farringtonFlexible) for fusion
  for (const algorithm of SERIES_ALGORITHMS) {
    let n = 0;
    for (let k = 0; k < base.series.length; k++) {
      const alarms = seriesAlarms(base, k, algorithm, evalFrom, evalTo);
      n += episodes(alarms.map((a) => a.day));
      if (algorithm === 'earsC2' || algorithm === 'farringtonFlexible') for (const a of alarms) baseSignals.push(signalOf(base, k, a));
    }
    falseEpisodes.set(algorithm, n);
    log(`false alarms ${algorithm}: ${n} episodes`);
  }
  // the scan: every 28th day of the evaluated year, per category (wastewater is not a count), clusters with p ≤ 0.05
  const scanCategories = base.categories.map((c, k) => ({ c, k })).filter(({ c }) => c.source !== 'wastewater');
  const scanAt = (set: FeedSet, k: number, t: number) => {
    const counts = base.communities.map((_, ci) => Array.from(set.series[ci * nc + k].values.slice(t - SCAN_STUDY_DAYS + 1, t + 1)));
    return stscan({ counts, centroids }, { ...SCAN_CONTROL, replications, seed: seed + t }).clusters.filter((c) => c.pValue <= SCAN_P);
  };
  let scanFalse = 0;
  let scanDays = 0;
  for (let t = evalFrom; t <= evalTo; t += 28) {
    for (const { k } of scanCategories) scanFalse += scanAt(base, k, t).length;
    scanDays++;
  }
  // per 100 series-years: clusters per category-day scaled to the year, over the community series they watch
  const scanPerSeriesYear = (scanFalse / scanDays) * 364 / (scanCategories.length * base.communities.length);
  log(`false alarms scan: ${scanFalse} clusters on ${scanDays} days × ${scanCategories.length} categories`);
  const fusedFalse = fuseMultiSource(baseSignals, adjacency, evalFrom, evalTo);
  log(`false alerts fused: ${fusedFalse.length}`);

  // ── outbreaks ──
  const rng = new Rng(seed, 61);
  const syndromes: Syndrome[] = ['gastrointestinal', 'respiratory', 'fever'];
  const sizes = [20, 40, 80, 160];
  const durations = [5, 7, 10, 14];
  const rows = new Map<string, Row>();
  const row = (name: string, falseN: number, years = seriesYears) => rows.get(name) ?? rows.set(name, { name, detected: 0, outbreaks: 0, delays: [], falseEpisodes: falseN, seriesYears: years, chance: 0 }).get(name)!;
  for (const a of SERIES_ALGORITHMS) row(a, falseEpisodes.get(a)!);
  row('scan', scanPerSeriesYear * seriesYears);
  row('fused', fusedFalse.length);
  const single = { alphas: [0.001, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8], detected: [] as number[][], chance: [] as number[][] };
  const fusedHits: boolean[] = [];
  const outbreakWindows: [number, number][] = [];
  const sizeOf: number[] = [];
  for (let o = 0; o < nOutbreaks; o++) {
    const centre = rng.pick(d.communities).id;
    const neighbours = [...(adjacency.get(centre) ?? [])];
    const two = [neighbours.splice(rng.int(0, neighbours.length - 1), 1)[0], neighbours.splice(rng.int(0, neighbours.length - 1), 1)[0]].filter((x) => x !== undefined);
    const syndrome = syndromes[o % syndromes.length];
    const size = sizes[Math.floor(o / syndromes.length) % sizes.length];
    const duration = durations[rng.int(0, durations.length - 1)];
    const startDay = rng.int(evalFrom + 7, evalTo - 28);
    const plan: OutbreakPlan = planOutbreak(base, { syndrome, communities: [centre, ...two], start: dateOfDay(dayNumber(START)! + startDay), days: duration, size }, seed + o);
    // a copy of the outbreak's series with its cases
    const touched = [...new Set(plan.additions.map((a) => a.series))];
    const set: FeedSet = { ...base, series: base.series.slice() };
    for (const k of touched) set.series[k] = { ...base.series[k], values: Float64Array.from(base.series[k].values) };
    for (const a of plan.additions) set.series[a.series].values[a.day] += a.value;
    const watched = [centre, ...two].flatMap((id) => base.categories.map((c, k) => ({ c, k: communityIndex.get(id)! * nc + k })))
      .filter(({ c }) => c.syndrome === syndrome || c.source === 'school').map(({ k }) => k);
    const from = startDay;
    const to = startDay + duration - 1 + AFTER_DAYS;
    outbreakWindows.push([from, to]);
    sizeOf.push(size);
    // with the outbreak, then the same windows and series without it: how often they 'detect' by chance
    for (const [x, chance] of [[set, false], [base, true]] as const) {
      const outbreakSignals: Signal[] = [];
      for (const algorithm of SERIES_ALGORITHMS) {
        let first = Infinity;
        for (const k of watched) {
          // evaluate from before the window so CUSUM's running sum and C3's history see the days before
          const alarms = seriesAlarms(x, k, algorithm, from - 14, to).filter((a) => a.day >= from);
          for (const a of alarms) first = Math.min(first, a.day);
          if (algorithm === 'earsC2' || algorithm === 'farringtonFlexible') for (const a of alarms) outbreakSignals.push(signalOf(x, k, a));
        }
        const r = row(algorithm, 0);
        if (chance) r.chance += first < Infinity ? 1 : 0;
        else (r.outbreaks++, first < Infinity && (r.detected++, r.delays.push(first - from)));
      }
      // single-source signalling at stricter alphas (earsC2, any watched series)
      (chance ? single.chance : single.detected).push(single.alphas.map((alpha) => {
        let first = Infinity;
        for (const k of watched) for (const a of seriesAlarms(x, k, 'earsC2', from, to, { alpha })) first = Math.min(first, a.day);
        return first;
      }));
      // the scan, every second day of the window, on the outbreak's categories
      {
        let first = Infinity;
        const cats = scanCategories.filter(({ c }) => c.syndrome === syndrome || c.source === 'school');
        for (let t = from; t <= to && first === Infinity; t += 2) {
          for (const { k } of cats) {
            const hit = scanAt(x, k, t).some((cl) => cl.zones.some((z) => [centre, ...two].includes(base.communities[z].id)) && cl.endDay >= SCAN_STUDY_DAYS - 1);
            if (hit) (first = t);
          }
        }
        const r = row('scan', 0);
        if (chance) r.chance += first < Infinity ? 1 : 0;
        else (r.outbreaks++, first < Infinity && (r.detected++, r.delays.push(first - from)));
      }
      // fusion over the district's signals in the window: the baseline's elsewhere, the outbreak's on its series
      {
        const touchedSet = new Set(watched);
        const signals = [...baseSignals.filter((s) => s.day >= from - 3 && s.day <= to && !touchedSet.has(s.series)), ...outbreakSignals];
        // detected when an alert of the syndrome opens or is extended with evidence in the outbreak's communities
        let first = Infinity;
        fuseMultiSource(signals, adjacency, from, to, (t, syn, cs) => {
          if (syn === syndrome && cs.some((c) => [centre, ...two].includes(c))) first = Math.min(first, t);
        });
        const r = row('fused', 0);
        if (chance) r.chance += first < Infinity ? 1 : 0;
        else (r.outbreaks++, first < Infinity && (r.detected++, r.delays.push(first - from)));
        if (!chance) fusedHits.push(first < Infinity);
      }
    }
    if ((o + 1) % 10 === 0) log(`outbreaks: ${o + 1} of ${nOutbreaks}`);
  }

  // single-source signalling at each alpha: sensitivity, and false alarms on the baseline
  const singleRows = single.alphas.map((alpha, j) => {
    const detected = single.detected.filter((x) => x[j] < Infinity).length;
    let falseN = 0;
    for (let k = 0; k < base.series.length; k++) falseN += episodes(seriesAlarms(base, k, 'earsC2', evalFrom, evalTo, { alpha }).map((a) => a.day));
    const delays = single.detected.map((x, o) => x[j] - outbreakWindows[o][0]).filter((x) => Number.isFinite(x));
    return { alpha, detected, falseN, delays, chance: single.chance.filter((x) => x[j] < Infinity).length };
  });
  const fused = rows.get('fused')!;
  const per100 = (n: number, years: number) => (100 * n) / years;
  const fmt = (x: number | null, digits = 1) => (x === null ? '–' : x.toFixed(digits));
  const lines = [
    `Detection power: ${nOutbreaks} synthetic outbreaks (syndromes ${syndromes.join(', ')}; sizes ${sizes.join(', ')} ill; ${durations.join(', ')} days of onsets; a community and two neighbours) `
      + `injected one at a time into the dongcheng feeds (168 communities × ${nc} categories = ${base.series.length} series); false alarms over ${EVAL_DAYS} days of the baseline `
      + `(${fmt(seriesYears, 0)} series-years). Seed ${seed}, scan replications ${replications}, EARS ${JSON.stringify(EARS_PARAMS)}, farringtonFlexible b = 3 (other parameters R's defaults). ${((performance.now() - started) / 1000).toFixed(0)} s.`,
    '',
    '| signalling | sensitivity | … of which by chance (same window, no outbreak) | false alarms / 100 series-years | median days to detection |',
    '| --- | --- | --- | --- | --- |',
    ...[...rows.values()].map((r) => `| ${r.name === 'fused' ? '**fused multi-source alerts** (≥ 2 independent groups, same or adjacent communities, 3 days; over earsC2 + farringtonFlexible signals)' : r.name === 'scan' ? 'scan (space-time permutation, p ≤ 0.05, per category)' : r.name + ' (single series)'} | ${r.detected}/${r.outbreaks} (${fmt((100 * r.detected) / r.outbreaks, 0)}%) | ${r.chance}/${r.outbreaks} | ${fmt(per100(r.falseEpisodes, r.seriesYears))} | ${fmt(median(r.delays))} |`),
    '',
    'Single-source signalling (every earsC2 signal of any source is an alert) at stricter thresholds, against the fused alerts:',
    '',
    '| earsC2 alpha | sensitivity | by chance | false alarms / 100 series-years | median days to detection | false alarms ÷ fused |',
    '| --- | --- | --- | --- | --- | --- |',
    ...singleRows.map((s) => `| ${s.alpha} | ${s.detected}/${nOutbreaks} (${fmt((100 * s.detected) / nOutbreaks, 0)}%) | ${s.chance}/${nOutbreaks} | ${fmt(per100(s.falseN, seriesYears))} | ${fmt(median(s.delays))} | ${fused.falseEpisodes ? fmt(s.falseN / fused.falseEpisodes) + '×' : '∞'} |`),
    `| fused | ${fused.detected}/${fused.outbreaks} (${fmt((100 * fused.detected) / fused.outbreaks, 0)}%) | ${fused.chance}/${fused.outbreaks} | ${fmt(per100(fused.falseEpisodes, seriesYears))} | ${fmt(median(fused.delays))} | 1× |`,
    '',
    'Sensitivity by outbreak size (ill people):',
    '',
    `| signalling | ${sizes.join(' | ')} |`,
    `| --- | ${sizes.map(() => '---').join(' | ')} |`,
    ...single.alphas.map((alpha, j) => `| earsC2 alpha ${alpha} | ${sizes.map((z) => bySize(single.detected.map((x) => x[j] < Infinity), sizeOf, z)).join(' | ')} |`),
    `| fused | ${sizes.map((z) => bySize(fusedHits, sizeOf, z)).join(' | ')} |`,
  ];
  return lines.join('\n');
}

function bySize(hits: boolean[], sizes: number[], size: number): string {
  const mine = hits.filter((_, i) => sizes[i] === size);
  return `${mine.filter(Boolean).length}/${mine.length}`;
}
