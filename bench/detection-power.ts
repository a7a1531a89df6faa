// Detection power on synthetic outbreaks: `npm run bench -- detection-power`.
//
// The dongcheng district's synthetic feeds and case reports (src/synth/feeds.ts; 168 communities × 21 feed categories
// and 10 notifiable diseases) are replayed through the daily run day by day, with the run's default settings and the
// product's algorithms and fusion engine (bench/detection-sim.ts says exactly what is replayed and how).
//   Baseline: one year of daily runs on the feeds without any outbreak; every alarm there is a false alarm.
//   Trials: the same feeds with one injected outbreak (planOutbreak: a community and two neighbours; gastrointestinal,
//           respiratory or fever; 20–160 ill; onsets over 5–14 days), rerun over the outbreak's window (first onset
//           to 7 days after the last). An outbreak is detected by a method on the first day of that window on which
//           the method raises an alarm that (a) touches the outbreak's communities (a series there, a scan cluster
//           holding one, an alert whose communities include one) and (b) is counterfactual: the baseline run of that
//           day has no such alarm (for alerts: no candidate of that rule touching the communities; for series: no
//           alarm on that series and day; for the scan: no cluster of that kind holding one of the communities), and,
//           for alerts, the alert holds at least one signal that the baseline does not raise.
//   Fused alerts: fuse() and matchOpenAlert() with the default rules (DEFAULT_RULES: as the migrations leave them); an alert is extended,
//           not reopened, while its area keeps signalling, and counts as closed after QUIET_DAYS days without new
//           evidence. Single-source signalling goes through the same engine with one rule that makes every signal an
//           alert (kind high_threshold at factor 1), so both are deduplicated alike.
//   Equal sensitivity: single-source signalling is replayed at stricter thresholds (the run's EARS method at smaller
//           alphas, farringtonFlexible at a smaller alpha or left out, the scan kept or left out); the configuration
//           with the fewest false alerts among those at least as sensitive as the fused alerts is compared.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseRunConfig } from '../src/modules/surveillance/run-config.ts';
import { dateOfDay, dayNumber } from '../src/modules/surveillance/algorithms/dates.ts';
import type { OutbreakSpec, Syndrome } from '../src/synth/feeds.ts';
import { Rng } from '../src/synth/random.ts';
import {
  DEFAULT_RULES, FusionReplay, QUIET_DAYS, SINGLE_SOURCE_RULES, START, buildWorld, byDay, outbreakValues, selected, supportSignals,
  type FusionDay, type Levels, type Selection, type SimSignal,
} from './detection-sim.ts';
import type { PowerTask } from './detection-power-worker.ts';
import { parseParams, type FusionRule, type MultiSourceParams } from '../src/modules/surveillance/fusion.ts';

/** The version 3 candidates of the variant table (combined evidence, persistence). */
const VARIANTS_V3: Partial<MultiSourceParams>[] = [
  { minSources: 2, windowDays: 7, adjacency: 'adjacent', minObserved: 3, strongFactor: 2, maxCombinedP: 1e-5, minDays: 3 },
  { minSources: 2, windowDays: 7, adjacency: 'adjacent', minObserved: 3, strongFactor: 2, maxCombinedP: 1e-6, minDays: 2 },
  { minSources: 2, windowDays: 7, adjacency: 'adjacent', minObserved: 3, strongFactor: 2, maxCombinedP: 1e-6, minDays: 3 },
  { minSources: 2, windowDays: 7, adjacency: 'adjacent', minObserved: 3, strongFactor: 2, maxCombinedP: 1e-7, minDays: 3 },
  { minSources: 2, windowDays: 7, adjacency: 'adjacent', minObserved: 3, strongFactor: 1, maxCombinedP: 1e-6, minDays: 3 },
  { minSources: 2, windowDays: 5, adjacency: 'adjacent', minObserved: 3, strongFactor: 2, maxCombinedP: 1e-6, minDays: 3 },
];

/** Sub-threshold support (supportP): the alarm-free scores of other sources back an alarm; tuned on seed 20260601. */
const VARIANTS_SUPPORT: Partial<MultiSourceParams>[] = ([[3, 1e-7, 0.01], [3, 1e-6, 0.02], [3, 1e-7, 0.02], [3, 1e-8, 0.02], [3, 1e-7, 0.05], [5, 1e-7, 0.02]] as const)
  .map(([minObserved, maxCombinedP, supportP]) => ({ minSources: 2, windowDays: 7, adjacency: 'adjacent', minObserved, strongFactor: 2, maxCombinedP, supportP }));

/** A multi_source parameter set in words (defaults filled in; the neutral ones left out). */
function paramsName(raw: Partial<MultiSourceParams>): string {
  const p = parseParams('multi_source', raw);
  return [
    `${p.minSources} sources, ${p.windowDays} d, ${p.adjacency}`,
    p.minObserved ? `observed ≥ ${p.minObserved}` : '',
    p.strongFactor > 1 ? `one ≥ ${p.strongFactor} × threshold` : '',
    p.maxCombinedP < 1 ? `Fisher p ≤ ${p.maxCombinedP}` : '',
    p.minDays > 1 ? `on ≥ ${p.minDays} days` : '',
    p.supportP > 0 ? `support p ≤ ${p.supportP}` : '',
  ].filter(Boolean).join(', ');
}

export interface DetectionPowerOptions {
  outbreaks?: number;
  seed?: number;
  /** Monte Carlo replications of the scan (the run's default is 999; p ≤ 0.01 needs at least 99) */
  replications?: number;
  /** days of baseline evaluated (default 364) */
  evalDays?: number;
  threads?: number;
  /** run settings instead of the defaults (a JSON object as PUT /surveillance/run-settings takes) */
  config?: unknown;
  /** a file keeping the runs' signals: reused when seed, outbreaks, days, replications and settings match */
  signalsCache?: string;
  /** multi_source parameter values whose every combination replaces the variant table */
  /** multi_source parameter values (any keys of MultiSourceParams, each a list) whose every combination replaces the variant table */
  fusionGrid?: Record<string, unknown[]>;
}

/** Farrington's reference years (b = 3) and its window before the first evaluated day, in whole weeks. */
const WARM_DAYS = 162 * 7;
const AFTER_DAYS = 7;
const LEAD_DAYS = 14;

interface Trial {
  spec: OutbreakSpec;
  size: number;
  syndrome: Syndrome;
  communities: number[]; // indices
  from: number;
  to: number;
  series: number[];
  kinds: number[];
  signals: SimSignal[];
  /** sub-threshold support signals of the outbreak's series over its window (only when a variant reads them) */
  support: SimSignal[];
}

const median = (xs: number[]) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export async function runDetectionPowerBench(opts: DetectionPowerOptions = {}): Promise<string> {
  const seed = opts.seed ?? 20260601;
  const nOutbreaks = opts.outbreaks ?? 48;
  const replications = opts.replications ?? 99;
  const evalDays = opts.evalDays ?? 364;
  const threads = opts.threads ?? Math.min(2, availableParallelism());
  const config = parseRunConfig(opts.config ?? {});
  // the run's thresholds first, then stricter ones
  const earsAlpha = config.ears.params.alpha as number;
  const farringtonAlpha = (config.farrington.params as { alpha: number }).alpha;
  const LEVELS: Levels = {
    earsAlphas: [earsAlpha, ...[1e-4, 1e-5, 1e-6, 1e-7].filter((a) => a < earsAlpha)],
    farringtonAlphas: [farringtonAlpha, farringtonAlpha / 10],
    otherEars: ['earsC1', 'earsC3'],
  };
  const started = performance.now();
  const secs = () => ((performance.now() - started) / 1000).toFixed(0);
  const log = (m: string) => process.stderr.write(`[detection-power ${secs()} s] ${m}\n`);
  const load0 = loadavg();

  const E0 = WARM_DAYS;
  const E1 = WARM_DAYS + evalDays - 1;
  const days = E1 + 1 + 28;
  const w = buildWorld(seed, days, config);
  log(`world: ${w.series.length} series (${w.feedSeries} feed, ${w.series.length - w.feedSeries} case-report) × ${days} days; evaluating ${dayDate(E0)} … ${dayDate(E1)}`);

  // ── the outbreaks ──
  const rng = new Rng(seed, 61);
  const syndromes: Syndrome[] = ['gastrointestinal', 'respiratory', 'fever'];
  const sizes = [20, 40, 80, 160];
  const durations = [5, 7, 10, 14];
  const trials: Trial[] = [];
  for (let o = 0; o < nOutbreaks; o++) {
    const centre = rng.int(0, w.communityIds.length - 1);
    const neighbours = [...(w.adjacency.get(w.communityIds[centre]) ?? [])];
    const two: number[] = [];
    while (two.length < 2 && neighbours.length) two.push(neighbours.splice(rng.int(0, neighbours.length - 1), 1)[0]);
    const syndrome = syndromes[o % syndromes.length];
    const size = sizes[Math.floor(o / syndromes.length) % sizes.length];
    const duration = durations[rng.int(0, durations.length - 1)];
    const from = rng.int(E0 + LEAD_DAYS, E1 - duration - AFTER_DAYS);
    const ids = [w.communityIds[centre], ...two];
    trials.push({
      spec: { syndrome, communities: ids, start: dayDate(from), days: duration, size }, size, syndrome,
      communities: ids.map((id) => w.communityIds.indexOf(id)), from, to: from + duration - 1 + AFTER_DAYS, series: [], kinds: [], signals: [], support: [],
    });
  }

  // ── the runs, on worker threads ──
  const baseline: SimSignal[] = [];
  const tasks: PowerTask[] = [];
  const CHUNK = 7;
  for (let d = E0 - LEAD_DAYS; d <= E1; d += CHUNK) tasks.push({ kind: 'baseline', from: d, to: Math.min(E1, d + CHUNK - 1) });
  trials.forEach((t, index) => tasks.push({ kind: 'trial', index, spec: t.spec, seed: seed + index, from: t.from, to: t.to }));
  const total = tasks.length;
  let done = 0;
  // v2: signals carry expected and statistic
  const cacheKey = JSON.stringify({ v: 2, seed, nOutbreaks, replications, evalDays, config });
  const cached = opts.signalsCache && existsSync(opts.signalsCache) ? JSON.parse(readFileSync(opts.signalsCache, 'utf8')) : null;
  if (cached?.key === cacheKey) {
    baseline.push(...cached.baseline);
    cached.trials.forEach((t: Pick<Trial, 'series' | 'kinds' | 'signals'>, i: number) => Object.assign(trials[i], t));
    tasks.length = 0;
    log(`runs: the signals of ${opts.signalsCache}`);
  }
  if (tasks.length) await Promise.all(Array.from({ length: threads }, () => new Promise<void>((resolve, reject) => {
    const worker = new Worker(new URL('./detection-power-worker.ts', import.meta.url), { workerData: { seed, days, levels: LEVELS, replications, config } });
    const next = () => {
      const task = tasks.shift();
      if (!task) return void worker.terminate().then(() => resolve());
      worker.postMessage(task);
    };
    worker.on('message', (m: { kind: 'baseline'; signals: SimSignal[] } | { kind: 'trial'; index: number; series: number[]; kinds: number[]; signals: SimSignal[] }) => {
      if (m.kind === 'baseline') baseline.push(...m.signals);
      else Object.assign(trials[m.index], { series: m.series, kinds: m.kinds, signals: m.signals });
      if (++done % 10 === 0 || done === total) log(`runs: ${done} of ${total} tasks`);
      next();
    });
    worker.on('error', reject);
    next();
  })));
  if (opts.signalsCache && cached?.key !== cacheKey) {
    writeFileSync(opts.signalsCache, JSON.stringify({ key: cacheKey, baseline, trials: trials.map(({ series, kinds, signals }) => ({ series, kinds, signals })) }));
  }
  const cpuSeconds = process.cpuUsage().user / 1e6;
  log(`runs done: ${baseline.length} baseline signals`);

  // ── support signals (sub-threshold EARS scores), for the variants reading them: EARS only, computed here ──
  const SUPPORT_MAX_P = 0.05;
  const baselineSupport: SimSignal[] = [];
  const usesSupport = (params: Partial<MultiSourceParams>) => (params.supportP ?? 0) > 0;
  const computeSupport = () => {
    if (baselineSupport.length) return;
    const all = w.series.map((_, k) => k);
    for (let d = E0 - LEAD_DAYS - 3; d <= E1; d++) baselineSupport.push(...supportSignals(w, (k) => w.series[k].values, all, d, SUPPORT_MAX_P));
    trials.forEach((t, index) => {
      const { values } = outbreakValues(w, t.spec, seed + index);
      for (let d = t.from; d <= t.to; d++) t.support.push(...supportSignals(w, (k) => values.get(k) ?? w.series[k].values, t.series, d, SUPPORT_MAX_P));
    });
    log(`support signals (p ≤ ${SUPPORT_MAX_P}): ${baselineSupport.length} on the baseline`);
  };

  // ── scoring ──
  const seriesYears = (w.series.length * evalDays) / 364;
  const per100 = (n: number) => (100 * n) / seriesYears;
  const baselineKeys = new Set(baseline.map((s) => s.key));
  const baselineByDay = new Map<number, SimSignal[]>();
  for (const s of baseline) (baselineByDay.get(s.day) ?? baselineByDay.set(s.day, []).get(s.day)!).push(s);
  /** the trial's signals of all runs: the baseline's, with those of the outbreak's series and kinds on its days replaced */
  const trialSignals = (t: Trial, withSupport = false): SimSignal[] => {
    const series = new Set(t.series);
    const kinds = new Set(t.kinds);
    const replaced = (s: SimSignal) => s.day >= t.from && s.day <= t.to && (s.algorithm === 'stscan' ? kinds.has(s.kind) : series.has(s.series));
    const out: SimSignal[] = [];
    for (let d = t.from - LEAD_DAYS - 3; d <= t.to; d++) {
      for (const s of baselineByDay.get(d) ?? []) if (!replaced(s)) out.push(s);
      if (withSupport) for (const s of supportByDay.get(d) ?? []) if (!replaced(s)) out.push(s);
    }
    return withSupport ? out.concat(t.signals, t.support) : out.concat(t.signals);
  };
  const supportByDay = new Map<number, SimSignal[]>();
  const touches = (t: Trial, communities: number[]) => communities.some((c) => t.communities.includes(c));

  // per algorithm: alarm episodes on the baseline (per series or scan centre, gaps ≤ QUIET_DAYS), and detection
  const algorithms = ['earsC1', 'earsC2', 'earsC3', 'farringtonFlexible', 'stscan'];
  const algoRows = algorithms.map((algorithm) => {
    const last = new Map<string, number>();
    let episodes = 0;
    const own = (s: SimSignal) => s.algorithm === algorithm && (algorithm !== config.ears.method || s.level >= 1) && (algorithm !== 'farringtonFlexible' || s.level >= 1);
    for (const s of [...baseline].sort((a, b) => a.day - b.day)) {
      if (!own(s) || s.day < E0 || s.day > E1) continue;
      const id = s.algorithm === 'stscan' ? `${s.kind}|${s.community}` : String(s.series);
      const prev = last.get(id);
      if (prev === undefined || s.day - prev > QUIET_DAYS) episodes++;
      last.set(id, s.day);
    }
    const delays: (number | null)[] = trials.map((t) => {
      let first: number | null = null;
      for (const s of t.signals) {
        if (!own(s) || s.day < t.from || s.day > t.to || !touches(t, s.communities)) continue;
        const counterfactual = s.algorithm === 'stscan'
          ? !(baselineByDay.get(s.day) ?? []).some((b) => b.algorithm === 'stscan' && b.kind === s.kind && touches(t, b.communities))
          : !baselineKeys.has(s.key);
        if (counterfactual && (first === null || s.day < first)) first = s.day;
      }
      return first === null ? null : first - t.from;
    });
    return { name: algorithm, falseAlarms: episodes, delays };
  });
  log('per-algorithm scoring done');

  // alerts: fused (the default rules) and single-source signalling, through the engine
  const replayAlerts = (rules: FusionRule[], sel: Selection, ruleCodes: string[], withSupport = false) => {
    const replay = new FusionReplay(w, rules);
    let alertsCreated = 0;
    let covered = 0;
    const base = withSupport ? baseline.concat(baselineSupport) : baseline;
    replay.run(byDay(base, sel), E0 - LEAD_DAYS, E1, [], (d, open) => {
      if (d.day < E0) return;
      alertsCreated += d.created.length;
      covered += new Set(open.filter((a) => ruleCodes.includes(a.ruleCode)).flatMap((a) => a.communities)).size;
    });
    const delays = trials.map((t) => {
      const sigs = trialSignals(t, withSupport);
      const days = new Map<number, FusionDay>();
      replay.run(byDay(base.filter((s) => s.day >= t.from - LEAD_DAYS - 3 && s.day <= t.to), sel), t.from - LEAD_DAYS, t.to, [], (d) => days.set(d.day, d));
      let first: number | null = null;
      replay.run(byDay(sigs, sel), t.from - LEAD_DAYS, t.to, [], (d) => {
        if (first !== null || d.day < t.from) return;
        const base = days.get(d.day)!.candidates.filter((c) => ruleCodes.includes(c.ruleCode) && touches(t, c.communities.map((id) => w.communityIds.indexOf(id))));
        for (const c of d.candidates) {
          if (!ruleCodes.includes(c.ruleCode) || !touches(t, c.communities.map((id) => w.communityIds.indexOf(id)))) continue;
          if (base.some((b) => b.ruleCode === c.ruleCode && b.syndrome === c.syndrome)) continue;
          const keys = c.signalIds.map((id) => keyOf(replay, id));
          if (keys.some((k) => !baselineKeys.has(k))) first = d.day;
        }
      });
      return first === null ? null : first - t.from;
    });
    return { falseAlarms: alertsCreated, delays, covered: covered / evalDays };
  };
  const keyCache = new WeakMap<FusionReplay, Map<number, string>>();
  const keyOf = (r: FusionReplay, id: number) => {
    let m = keyCache.get(r);
    if (!m || m.size !== r.ids.size) keyCache.set(r, (m = new Map([...r.ids].map(([k, v]) => [v, k]))));
    return m.get(id)!;
  };

  const runSel: Selection = { earsLevel: 1, farringtonLevel: 1, scan: true };
  const fusedMulti = replayAlerts(DEFAULT_RULES.filter((r) => r.code === 'multi_source'), runSel, ['multi_source']);
  const fusedAll = replayAlerts(DEFAULT_RULES, runSel, ['multi_source', 'high_threshold']);
  // the multi_source rule's parameters (rule data a district admin edits) against the same signals
  const VARIANTS: Partial<MultiSourceParams>[] = [
    // version 1 of the default, and plain co-occurrence at other windows and areas
    { minSources: 2, windowDays: 3, adjacency: 'adjacent' }, { minSources: 2, windowDays: 7, adjacency: 'adjacent' }, { minSources: 2, windowDays: 3, adjacency: 'same' },
    { minSources: 3, windowDays: 3, adjacency: 'adjacent' }, { minSources: 3, windowDays: 7, adjacency: 'adjacent' },
    // evidence that must add up: signals of at least minObserved cases, one of them ≥ strongFactor × its threshold
    { minSources: 2, windowDays: 3, adjacency: 'adjacent', minObserved: 5, strongFactor: 2 }, { minSources: 2, windowDays: 5, adjacency: 'adjacent', minObserved: 5, strongFactor: 2 },
    { minSources: 2, windowDays: 7, adjacency: 'adjacent', minObserved: 5, strongFactor: 1.5 }, { minSources: 2, windowDays: 7, adjacency: 'adjacent', minObserved: 5, strongFactor: 2 },
    { minSources: 2, windowDays: 7, adjacency: 'adjacent', minObserved: 6, strongFactor: 2 }, { minSources: 2, windowDays: 7, adjacency: 'adjacent', minObserved: 8, strongFactor: 2 },
    { minSources: 2, windowDays: 7, adjacency: 'same', minObserved: 5, strongFactor: 2 }, { minSources: 3, windowDays: 7, adjacency: 'adjacent', minObserved: 3, strongFactor: 3 },
    // version 3: the sources' evidence combined (Fisher) and persistent
    ...VARIANTS_V3,
    // sub-threshold support
    ...VARIANTS_SUPPORT,
  ];
  if (opts.fusionGrid) {
    VARIANTS.length = 0;
    const base = { minSources: 2, windowDays: 7, adjacency: 'adjacent' } as Partial<MultiSourceParams>;
    const combos = Object.entries(opts.fusionGrid).reduce<Partial<MultiSourceParams>[]>((acc, [key, values]) => acc.flatMap((a) => values.map((v) => ({ ...a, [key]: v }))), [base]);
    VARIANTS.push(...combos);
  }
  if (VARIANTS.some(usesSupport)) {
    computeSupport();
    for (const s of baselineSupport) {
      (supportByDay.get(s.day) ?? supportByDay.set(s.day, []).get(s.day)!).push(s);
      baselineKeys.add(s.key);
    }
  }
  const variants = VARIANTS.map((params) => ({ params, r: replayAlerts([{ ...DEFAULT_RULES[0], params }], runSel, ['multi_source'], usesSupport(params)) }));
  log('fused alerts done');
  // single-source signalling: every selected signal fresh on a day is that day's candidate (one per syndrome and
  // community), so detection needs no replay; the false alerts do (extension)
  const freshOn = (s: SimSignal, t: number) => (s.algorithm === 'farringtonFlexible' ? t >= s.day && t <= s.day + 6 && t - s.day <= 2 : s.day === t);
  const singleDelays = (sel: Selection) => trials.map((t) => {
    const sigs = t.signals.filter((s) => selected(s, sel));
    const base: SimSignal[] = [];
    for (let d = t.from - 2; d <= t.to; d++) for (const b of baselineByDay.get(d) ?? []) if (selected(b, sel)) base.push(b);
    for (let day = t.from; day <= t.to; day++) {
      const hit = sigs.some((s) => freshOn(s, day) && touches(t, s.communities) && !baselineKeys.has(s.key)
        && !base.some((b) => freshOn(b, day) && b.syndrome === s.syndrome && touches(t, b.communities)));
      if (hit) return day - t.from;
    }
    return null;
  });
  const singles: { sel: Selection; falseAlarms: number; delays: (number | null)[]; covered: number }[] = [];
  for (let e = 0; e <= LEVELS.earsAlphas.length; e++) {
    for (let f = 0; f <= LEVELS.farringtonAlphas.length; f++) {
      for (const scan of [true, false]) {
        if (e === 0 && f === 0 && !scan) continue;
        const sel = { earsLevel: e, farringtonLevel: f, scan };
        let falseAlarms = 0;
        let covered = 0;
        new FusionReplay(w, SINGLE_SOURCE_RULES(config.scan.maxP), 3).run(byDay(baseline, sel), E0 - LEAD_DAYS, E1, [], (d, open) => {
          if (d.day < E0) return;
          falseAlarms += d.created.length;
          covered += new Set(open.flatMap((a) => a.communities)).size;
        });
        singles.push({ sel, falseAlarms, delays: singleDelays(sel), covered: covered / evalDays });
      }
    }
  }
  log('single-source alerts done');

  // ── the tables ──
  const detected = (d: (number | null)[]) => d.filter((x) => x !== null).length;
  const sens = (d: (number | null)[]) => `${detected(d)}/${d.length} (${((100 * detected(d)) / d.length).toFixed(0)}%)`;
  const med = (d: (number | null)[]) => {
    const m = median(d.filter((x): x is number => x !== null));
    return m === null ? '–' : m.toFixed(1);
  };
  const bySize = (d: (number | null)[]) => sizes.map((z) => `${trials.filter((t, i) => t.size === z && d[i] !== null).length}/${trials.filter((t) => t.size === z).length}`).join(' | ');
  const selName = (s: Selection) => [
    s.earsLevel ? `${config.ears.method} α ${LEVELS.earsAlphas[s.earsLevel - 1]}` : `no ${config.ears.method}`,
    s.farringtonLevel ? `farringtonFlexible α ${LEVELS.farringtonAlphas[s.farringtonLevel - 1]}` : 'no farringtonFlexible',
    s.scan ? `scan p ≤ ${config.scan.maxP}` : 'no scan',
  ].join(', ');
  const fusedD = detected(fusedMulti.delays);
  const eligible = singles.filter((s) => detected(s.delays) >= fusedD).sort((a, b) => a.falseAlarms - b.falseAlarms);
  const best = eligible[0] ?? null;
  const bestAny = [...singles].sort((a, b) => detected(b.delays) - detected(a.delays) || a.falseAlarms - b.falseAlarms)[0];
  const frontier = singles.filter((s) => !singles.some((o) => o !== s && detected(o.delays) >= detected(s.delays) && o.falseAlarms < s.falseAlarms))
    .sort((a, b) => detected(a.delays) - detected(b.delays));
  const runSingle = singles.find((s) => s.sel.earsLevel === 1 && s.sel.farringtonLevel === 1 && s.sel.scan)!;
  const alertRow = (name: string, r: { falseAlarms: number; delays: (number | null)[]; covered: number }) =>
    `| ${name} | ${sens(r.delays)} | ${per100(r.falseAlarms).toFixed(1)} | ${r.covered.toFixed(1)} | ${med(r.delays)} | ${bySize(r.delays)} |`;
  const load1 = loadavg();
  const lines = [
    `Detection power: ${nOutbreaks} outbreaks (${syndromes.join(', ')}; ${sizes.join(', ')} ill; onsets over ${durations.join(', ')} days; a community and two neighbours), `
      + `each injected alone into the dongcheng feeds; baseline ${evalDays} days (${dayDate(E0)} … ${dayDate(E1)}) of daily runs over ${w.series.length} series `
      + `(168 communities × ${w.set.categories.length} feed categories + ${w.kinds.length - w.set.categories.length} notifiable diseases) = ${seriesYears.toFixed(0)} series-years. `
      + `Seed ${seed}. Run settings: ${JSON.stringify({ ears: config.ears, farrington: { alpha: (config.farrington.params as { alpha: number }).alpha, b: (config.farrington.params as { b: number }).b }, scan: { maxP: config.scan.maxP, studyDays: config.scan.studyDays, maxDays: config.scan.params.maxDays } })}; `
      + `scan replications ${replications} (the run: ${config.scan.params.replications}). Alerts closed after ${QUIET_DAYS} quiet days. `
      + `${secs()} s wall on ${threads} worker threads (${cpus()[0]?.model ?? '?'}); load average ${load0[0].toFixed(1)} before, ${load1[0].toFixed(1)} after.`,
    '',
    '| signalling | sensitivity | false alarms / 100 series-years | communities under a false alert (mean of 168) | median days to detection | detected by size: ' + sizes.join(' | ') + ' |',
    '| --- | --- | --- | --- | --- | ' + sizes.map(() => '---').join(' | ') + ' |',
    ...algoRows.map((r) => `| ${r.name === 'stscan' ? `space-time scan (p ≤ ${config.scan.maxP}), clusters` : `${r.name}${r.name === config.ears.method ? ' (the run’s EARS)' : ''}, alarm episodes per series`} | ${sens(r.delays)} | ${per100(r.falseAlarms).toFixed(1)} | | ${med(r.delays)} | ${bySize(r.delays)} |`),
    alertRow('single-source signalling at the run’s thresholds (every signal an alert)', runSingle),
    alertRow('**fused: multi_source alerts**', fusedMulti),
    alertRow('fused: all default rules (multi_source + high_threshold)', fusedAll),
    '',
    'Single-source signalling at stricter thresholds (the configurations no other one beats on both counts):',
    '',
    '| single-source configuration | sensitivity | false alerts / 100 series-years | communities under a false alert | median days | false alerts ÷ fused multi_source |',
    '| --- | --- | --- | --- | --- | --- |',
    ...frontier.map((s) => `| ${selName(s.sel)} | ${sens(s.delays)} | ${per100(s.falseAlarms).toFixed(1)} | ${s.covered.toFixed(1)} | ${med(s.delays)} | ${fusedMulti.falseAlarms ? (s.falseAlarms / fusedMulti.falseAlarms).toFixed(1) + '×' : '∞'} |`),
    `| **fused multi_source** | ${sens(fusedMulti.delays)} | ${per100(fusedMulti.falseAlarms).toFixed(1)} | ${fusedMulti.covered.toFixed(1)} | ${med(fusedMulti.delays)} | 1× |`,
    '',
    best
      ? `At equal sensitivity (≥ ${fusedD}/${nOutbreaks}) the quietest single-source configuration is ${selName(best.sel)}: ${per100(best.falseAlarms).toFixed(1)} false alerts per 100 series-years against ${per100(fusedMulti.falseAlarms).toFixed(1)} fused — `
        + `${fusedMulti.falseAlarms ? (best.falseAlarms / fusedMulti.falseAlarms).toFixed(1) : '∞'}× (target ≥ 5×).`
      : `No single-source configuration reaches the fused sensitivity (${fusedD}/${nOutbreaks}); the most sensitive, ${selName(bestAny.sel)}, detects ${detected(bestAny.delays)} with ${per100(bestAny.falseAlarms).toFixed(1)} false alerts per 100 series-years.`,
    '',
    'The multi_source rule with other parameters, on the same signals (the quietest single-source configuration at least as sensitive as each, and the ratio):',
    '',
    '| multi_source params | sensitivity | false alerts / 100 series-years | communities under a false alert | median days | quietest single-source at ≥ its sensitivity | single ÷ fused |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...variants.map(({ params, r }) => {
      const s = singles.filter((x) => detected(x.delays) >= detected(r.delays)).sort((a, b) => a.falseAlarms - b.falseAlarms)[0];
      return `| ${paramsName(params)} | ${sens(r.delays)} | ${per100(r.falseAlarms).toFixed(1)} | ${r.covered.toFixed(1)} | ${med(r.delays)} | `
        + (s ? `${selName(s.sel)}: ${per100(s.falseAlarms).toFixed(1)} | ${r.falseAlarms ? (s.falseAlarms / r.falseAlarms).toFixed(1) + '×' : '∞'} |` : '– | – |');
    }),
    '',
    `CPU: ${cpuSeconds.toFixed(0)} s for the runs (all threads of the process).`,
  ];
  return lines.join('\n');
}

const dayDate = (d: number) => dateOfDay(dayNumber(START)! + d);
