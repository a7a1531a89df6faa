// Multi-point triggering (多点触发): the fusion rule engine. Pure — it imports nothing from the server or the
// database. Given the signals of a window, the communities' adjacency, the sources' independence groups, the case
// reports and the active rules (data a district admin edits: fusion_rule), it says which alerts should exist.
//
// Contents
//   1. rule parameters: one schema per kind, with the defaults visible in one place
//   2. independence and space: what counts as independent evidence, which communities are "the same or adjacent"
//   3. the three kinds: multiSource, highThreshold, caseReportClass
//   4. fuse(): every active rule, then candidates covered by a stronger one are absorbed
//   5. matchOpenAlert(): which open alert a candidate extends (so tomorrow's run does not open a second alert)
//
// Independence: two signals are independent evidence only when their sources belong to different independence
// groups (surveillance_source.independence). Several algorithms on the same series (EARS C1–C3, CUSUM, Farrington,
// the scan) are one source, so they count once; two categories of one source (a sentinel's "fever" and "myalgia")
// count once; two sources of one group (two feeds that both see clinic patients) count once. A source without a
// group is a group of its own.
import { z } from 'zod';
import { addDays } from '../../platform/local-date.ts';

export const RISK_LEVELS = ['low', 'medium', 'high', 'critical'] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];
export const RULE_KINDS = ['multi_source', 'high_threshold', 'case_report_class'] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

// ── 1. rule parameters ──

/** ≥ minSources independent groups of one syndrome in the same (or adjacent) communities within windowDays. */
export const MultiSourceParams = z.object({
  minSources: z.number().int().min(2).max(10).default(2),
  windowDays: z.number().int().min(1).max(28).default(3),
  adjacency: z.enum(['same', 'adjacent']).default('adjacent'),
  /** a signal is evidence only when it counted at least this many (drops the one- and two-case alarms of quiet series) */
  minObserved: z.number().min(0).default(0),
  /** the evidence must hold one strong signal: observed ≥ strongFactor × its threshold, or a scan cluster */
  strongFactor: z.number().min(1).max(100).default(1),
  /**
   * the sources' evidence combined before the decision: Fisher's combination of the independence groups'
   * p-values (each group's smallest, see combinedEvidence) must be at most this; 1 = not combined
   */
  maxCombinedP: z.number().gt(0).max(1).default(1),
  /** persistence: the evidence must be dated on at least this many different days of the window */
  minDays: z.number().int().min(1).max(28).default(1),
  /**
   * sub-threshold support: a series that did not alarm but scored p ≤ supportP (a support signal, see
   * FusionSignal.support) is evidence of its independence group; 0 = support signals are ignored. The candidate still
   * needs an alarm (its strong signal), and the support enters Fisher's combination like any other evidence.
   */
  supportP: z.number().min(0).max(0.5).default(0),
}).strict();
/** A single signal with observed ≥ factor × threshold and observed ≥ minObserved, or a scan cluster with p ≤ maxP. */
export const HighThresholdParams = z.object({
  factor: z.number().min(1).max(100).default(3),
  minObserved: z.number().min(0).default(10),
  maxP: z.number().gt(0).max(1).default(0.001),
}).strict();
/** Any case report of a disease of these classes (and, with managedAsA, class B managed as class A: 乙类甲管). */
export const CaseReportClassParams = z.object({
  classes: z.array(z.enum(['A', 'B', 'C'])).max(3).default(['A']),
  managedAsA: z.boolean().default(true),
}).strict();

export const PARAMS_SCHEMA = { multi_source: MultiSourceParams, high_threshold: HighThresholdParams, case_report_class: CaseReportClassParams } as const;
export type MultiSourceParams = z.infer<typeof MultiSourceParams>;
export type HighThresholdParams = z.infer<typeof HighThresholdParams>;
export type CaseReportClassParams = z.infer<typeof CaseReportClassParams>;

/** The parameters of a rule of `kind` with their defaults filled in; throws a ZodError naming the bad key. */
export function parseParams(kind: 'multi_source', params: unknown): MultiSourceParams;
export function parseParams(kind: 'high_threshold', params: unknown): HighThresholdParams;
export function parseParams(kind: 'case_report_class', params: unknown): CaseReportClassParams;
export function parseParams(kind: RuleKind, params: unknown): MultiSourceParams | HighThresholdParams | CaseReportClassParams;
export function parseParams(kind: RuleKind, params: unknown) {
  return PARAMS_SCHEMA[kind].parse(params ?? {});
}

// ── inputs and outputs ──

export interface FusionRule {
  id: number;
  code: string;
  version: number;
  kind: RuleKind;
  params: unknown;
  riskLevel: RiskLevel;
}

export interface FusionSignal {
  id: number;
  algorithm: string;
  source: string;
  category: string;
  syndrome: string;
  /** the community (a cluster's centre) */
  community: number;
  /** the community, or a scan cluster's communities (default [community]) */
  communities?: number[];
  /** first day the signal covers (a week's Monday, a cluster's window start); default `date` */
  startDate?: string;
  date: string;
  observed: number;
  threshold: number | null;
  /** the algorithm's score (signal.statistic): EARS C1/C2 (observed − mean) / σ, a scan's LLR… */
  statistic?: number | null;
  pValue: number | null;
  /** new evidence of this run (default: dated asOf); a candidate needs at least one */
  fresh?: boolean;
  /**
   * a sub-threshold score, not an alarm (signal.support): only a multi_source rule with supportP > 0 reads it, as
   * supporting evidence; every other rule and reader ignores it
   */
  support?: boolean;
}

export interface FusionCaseReport {
  id: number;
  diseaseCode: string;
  diseaseClass: 'A' | 'B' | 'C';
  managedAsA: boolean;
  syndrome: string;
  community: number;
  date: string;
}

export interface FusionInput {
  asOf: string;
  signals: FusionSignal[];
  caseReports?: FusionCaseReport[];
  rules: FusionRule[];
  /** community → its neighbours (sharing a border); symmetric pairs as region_adjacency stores them */
  adjacency: Adjacency;
  /** source code → independence group */
  independence: Record<string, string>;
}

export interface AlertCandidate {
  ruleId: number;
  ruleCode: string;
  ruleVersion: number;
  kind: RuleKind;
  riskLevel: RiskLevel;
  syndrome: string;
  /** communities with contributing evidence, ascending */
  communities: number[];
  firstDate: string;
  lastDate: string;
  /** source codes and independence groups of the evidence, sorted */
  sources: string[];
  groups: string[];
  signalIds: number[];
  caseReportIds: number[];
  /** an open alert with this key is extended, not duplicated (see matchOpenAlert) */
  dedupeKey: string;
  /** case_report_class: the disease */
  diseaseCode?: string;
  /** multi_source with combined evidence: what each independence group brought and Fisher's combination of it */
  evidence?: CombinedEvidence;
}

/** One independence group's evidence in a combination: its strongest signal (the smallest p-value). */
export interface GroupEvidence {
  group: string;
  source: string;
  signalId: number;
  algorithm: string;
  date: string;
  /** null: the group's signals carry no p-value (it counts as a source, and adds nothing to the statistic) */
  pValue: number | null;
}

export interface CombinedEvidence {
  groups: GroupEvidence[];
  /** Fisher's statistic −2 Σ ln p over the groups (a group without a p-value adds 0) */
  statistic: number;
  /** degrees of freedom: 2 × the number of groups */
  df: number;
  /** P(χ²_df ≥ statistic) */
  pValue: number;
  /** the different days the evidence is dated on */
  days: number;
}

// ── 2. independence and space ──

export type Adjacency = Map<number, ReadonlySet<number>>;

/** Builds the neighbour map from (region, neighbour) pairs; a pair given one way is taken both ways. */
export function adjacencyOf(pairs: Iterable<readonly [number, number]>): Adjacency {
  const m = new Map<number, Set<number>>();
  const add = (a: number, b: number) => {
    if (a === b) return;
    let s = m.get(a);
    if (!s) m.set(a, (s = new Set()));
    s.add(b);
  };
  for (const [a, b] of pairs) {
    add(a, b);
    add(b, a);
  }
  return m;
}

export function groupOf(independence: Record<string, string>, source: string): string {
  return independence[source] ?? source;
}

/** The community itself and, when adjacency counts, its neighbours. */
function neighbourhood(c: number, adjacency: Adjacency, mode: 'same' | 'adjacent'): Set<number> {
  const n = new Set([c]);
  if (mode === 'adjacent') for (const x of adjacency.get(c) ?? []) n.add(x);
  return n;
}

// ── evidence combined across sources ──

/**
 * The upper tail of the standard normal, 1 − Φ(z) = erfc(z / √2) / 2, with erfc from Chebyshev fitting (Numerical
 * Recipes' erfcc, fractional error below 1.2e-7 everywhere): accurate far into the tail, where 1 − pnorm loses it.
 */
export function pnormUpper(z: number): number {
  const x = z / Math.SQRT2;
  const t = 1 / (1 + 0.5 * Math.abs(x));
  const erfc = t * Math.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807
    + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? erfc / 2 : 1 - erfc / 2;
}

/**
 * A signal's p-value as evidence: its own (a scan cluster's Monte Carlo p), else, for EARS C1 and C2, the normal tail
 * of its score (observed − mean) / σ — the model EARS thresholds with (upper bound = mean + z₁₋α σ, so p ≤ α exactly
 * when it alarms). Other algorithms (C3's summed score, Farrington's, CUSUM's) have no p-value here: null.
 */
export function signalPValue(s: Pick<FusionSignal, 'algorithm' | 'pValue' | 'statistic'>): number | null {
  if (s.pValue !== null && s.pValue !== undefined) return s.pValue;
  if ((s.algorithm === 'earsC1' || s.algorithm === 'earsC2') && s.statistic !== null && s.statistic !== undefined) return pnormUpper(s.statistic);
  return null;
}

/** P(χ²_{2k} ≥ x) for k ≥ 1 degrees-of-freedom pairs: e^{−x/2} Σ_{i<k} (x/2)^i / i! (exact for even df). */
export function chiSquareUpperEven(x: number, k: number): number {
  if (x <= 0) return 1;
  const h = x / 2;
  let term = 1;
  let sum = 1;
  for (let i = 1; i < k; i++) {
    term *= h / i;
    sum += term;
  }
  return Math.min(1, Math.exp(-h) * sum);
}

/**
 * Fisher's combination of independent sources' evidence: each independence group is represented by its strongest
 * signal (the smallest p-value; several categories or series of one group are not independent of each other, so they
 * are not multiplied), and −2 Σ ln p over the groups is referred to χ² with 2 × groups degrees of freedom. A group whose
 * signals carry no p-value still counts (its degrees of freedom, nothing to the statistic): conservative.
 */
export function combinedEvidence(signals: readonly FusionSignal[], independence: Record<string, string>): CombinedEvidence {
  const best = new Map<string, GroupEvidence>();
  for (const s of signals) {
    const group = groupOf(independence, s.source);
    const p = signalPValue(s);
    const cur = best.get(group);
    const better = !cur || (p !== null && (cur.pValue === null || p < cur.pValue)) || (p === cur.pValue && s.id < cur.signalId);
    if (better) best.set(group, { group, source: s.source, signalId: s.id, algorithm: s.algorithm, date: s.date, pValue: p });
  }
  const groups = [...best.values()].sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
  const statistic = groups.reduce((x, g) => x + (g.pValue === null ? 0 : -2 * Math.log(Math.max(g.pValue, Number.MIN_VALUE))), 0);
  return { groups, statistic, df: 2 * groups.length, pValue: groups.length ? chiSquareUpperEven(statistic, groups.length) : 1, days: new Set(signals.map((s) => s.date)).size };
}

const communitiesOf = (s: FusionSignal) => (s.communities?.length ? s.communities : [s.community]);
const isFresh = (s: FusionSignal, asOf: string) => s.fresh ?? s.date === asOf;

const RANK: Record<RiskLevel, number> = { low: 0, medium: 1, high: 2, critical: 3 };
export const riskRank = (r: RiskLevel) => RANK[r];
export const maxRisk = (a: RiskLevel, b: RiskLevel): RiskLevel => (RANK[a] >= RANK[b] ? a : b);

const sortNum = (xs: Iterable<number>) => [...new Set(xs)].sort((a, b) => a - b);
const sortStr = (xs: Iterable<string>) => [...new Set(xs)].sort();

function candidateOf(rule: FusionRule, syndrome: string, signals: FusionSignal[], independence: Record<string, string>, key: string): AlertCandidate {
  return {
    ruleId: rule.id, ruleCode: rule.code, ruleVersion: rule.version, kind: rule.kind, riskLevel: rule.riskLevel, syndrome,
    communities: sortNum(signals.flatMap(communitiesOf)),
    firstDate: signals.map((s) => s.startDate ?? s.date).reduce((a, b) => (a < b ? a : b)),
    lastDate: signals.map((s) => s.date).reduce((a, b) => (a > b ? a : b)),
    sources: sortStr(signals.map((s) => s.source)),
    groups: sortStr(signals.map((s) => groupOf(independence, s.source))),
    signalIds: sortNum(signals.map((s) => s.id)),
    caseReportIds: [],
    dedupeKey: key,
  };
}

// ── 3. the kinds ──

/**
 * multi_source. Each community where a signal of the syndrome falls within the window is an anchor; the signals
 * touching the anchor's neighbourhood (the anchor, plus its neighbours when adjacency counts) are its evidence, and the
 * anchor qualifies when that evidence spans ≥ minSources independence groups and holds at least one fresh signal. For
 * two sources this is exactly "in the same or adjacent communities"; for more it is a community and its neighbours.
 *
 * One outbreak spanning neighbouring communities is one candidate, but candidates do not chain. The strongest
 * qualifying anchor (most independence groups, then most fresh signals, then most signals in the anchor itself, then
 * most evidence) takes its neighbourhood as its area; the next takes what is left of its own, and so on, each area
 * qualifying again on the evidence touching it. Each community is in one candidate at most, and a candidate's area is
 * a community and its neighbours at most, however many signals a winter day brings — merging anchors that merely
 * shared a signal once joined a whole district's respiratory signals into one alert.
 */
export function multiSource(rule: FusionRule, input: FusionInput): AlertCandidate[] {
  const p = parseParams('multi_source', rule.params);
  const from = addDays(input.asOf, -(p.windowDays - 1));
  const supporting = (s: FusionSignal) => p.supportP > 0 && ((q) => q !== null && q <= p.supportP)(signalPValue(s));
  const inWindow = input.signals.filter((s) => s.date >= from && s.date <= input.asOf && (s.support ? supporting(s) : s.observed >= p.minObserved));
  const touching = (signals: FusionSignal[], area: Set<number>) => signals.filter((s) => communitiesOf(s).some((c) => area.has(c)));
  const strong = (s: FusionSignal) => !s.support && (s.algorithm === 'stscan' || (s.threshold !== null && s.observed >= p.strongFactor * s.threshold));
  const combining = p.maxCombinedP < 1 || p.minDays > 1 || p.supportP > 0;
  const qualifies = (evidence: FusionSignal[]) =>
    new Set(evidence.map((s) => groupOf(input.independence, s.source))).size >= p.minSources && evidence.some((s) => isFresh(s, input.asOf)) && evidence.some(strong)
    && (!combining || ((e) => e.pValue <= p.maxCombinedP && e.days >= p.minDays)(combinedEvidence(evidence, input.independence)));
  const out: AlertCandidate[] = [];
  for (const syndrome of sortStr(inWindow.map((s) => s.syndrome))) {
    const signals = inWindow.filter((s) => s.syndrome === syndrome);
    // an anchor's evidence must hold a strong signal: only communities within reach of one can qualify (adjacency is
    // symmetric), which spares evaluating every community that has support signals only
    const reach = new Set(signals.filter(strong).flatMap(communitiesOf).flatMap((x) => [...neighbourhood(x, input.adjacency, p.adjacency)]));
    const anchors = sortNum(signals.flatMap(communitiesOf)).filter((anchor) => reach.has(anchor)).map((anchor) => {
      const hood = neighbourhood(anchor, input.adjacency, p.adjacency);
      const evidence = touching(signals, hood);
      return {
        anchor, hood, evidence, ok: qualifies(evidence),
        groups: new Set(evidence.map((s) => groupOf(input.independence, s.source))).size,
        fresh: evidence.filter((s) => isFresh(s, input.asOf)).length,
        own: evidence.filter((s) => communitiesOf(s).includes(anchor)).length,
      };
    }).filter((a) => a.ok);
    anchors.sort((a, b) => b.groups - a.groups || b.fresh - a.fresh || b.own - a.own || b.evidence.length - a.evidence.length || a.anchor - b.anchor);
    const taken = new Set<number>();
    for (const seed of anchors) {
      if (taken.has(seed.anchor)) continue;
      const area = new Set([...seed.hood].filter((c) => !taken.has(c)));
      const evidence = area.size === seed.hood.size ? seed.evidence : touching(signals, area);
      if (!qualifies(evidence)) continue;
      for (const c of area) taken.add(c);
      const c = candidateOf(rule, syndrome, evidence, input.independence, '');
      // a scan cluster may reach beyond the area: the candidate's communities are the part within it
      c.communities = c.communities.filter((x) => area.has(x));
      c.dedupeKey = `${rule.code}:${syndrome}:${c.communities[0]}`;
      if (combining) c.evidence = combinedEvidence(evidence, input.independence);
      out.push(c);
    }
  }
  return out;
}

/** Whether one signal is beyond the high threshold: far above its own threshold, or a scan cluster with a small p. */
export function isHigh(s: FusionSignal, p: HighThresholdParams): boolean {
  if (s.algorithm === 'stscan') return s.pValue !== null && s.pValue <= p.maxP;
  return s.threshold !== null && s.observed >= p.factor * s.threshold && s.observed >= p.minObserved;
}

/** high_threshold: fresh signals beyond the high threshold, one candidate per syndrome and community. */
export function highThreshold(rule: FusionRule, input: FusionInput): AlertCandidate[] {
  const p = parseParams('high_threshold', rule.params);
  const byArea = new Map<string, FusionSignal[]>();
  for (const s of input.signals) {
    if (s.support || !isFresh(s, input.asOf) || !isHigh(s, p)) continue;
    const key = `${rule.code}:${s.syndrome}:${s.community}`;
    byArea.set(key, [...(byArea.get(key) ?? []), s]);
  }
  return [...byArea].map(([key, list]) => candidateOf(rule, list[0].syndrome, list, input.independence, key));
}

/** case_report_class: a report of a class A (or managed-as-A) disease is an alert at once; one per disease and community. */
export function caseReportClass(rule: FusionRule, input: FusionInput): AlertCandidate[] {
  const p = parseParams('case_report_class', rule.params);
  const byKey = new Map<string, FusionCaseReport[]>();
  for (const r of input.caseReports ?? []) {
    if (!(p.classes.includes(r.diseaseClass) || (p.managedAsA && r.managedAsA))) continue;
    const key = `${rule.code}:${r.diseaseCode}:${r.community}`;
    byKey.set(key, [...(byKey.get(key) ?? []), r]);
  }
  return [...byKey].map(([key, list]) => ({
    ruleId: rule.id, ruleCode: rule.code, ruleVersion: rule.version, kind: rule.kind, riskLevel: rule.riskLevel,
    syndrome: list[0].syndrome, communities: sortNum(list.map((r) => r.community)),
    firstDate: list.map((r) => r.date).reduce((a, b) => (a < b ? a : b)), lastDate: list.map((r) => r.date).reduce((a, b) => (a > b ? a : b)),
    sources: ['case_report'], groups: [groupOf(input.independence, 'case_report')], signalIds: [], caseReportIds: sortNum(list.map((r) => r.id)),
    dedupeKey: key, diseaseCode: list[0].diseaseCode,
  }));
}

const KINDS: Record<RuleKind, (rule: FusionRule, input: FusionInput) => AlertCandidate[]> = {
  multi_source: multiSource, high_threshold: highThreshold, case_report_class: caseReportClass,
};

// ── 4. fuse ──

/**
 * Every rule's candidates, strongest first (risk, then evidence). A signal-based candidate whose signals all belong to
 * a stronger candidate of the same syndrome is absorbed by it: a fever-clinic spike that is also one of two agreeing
 * sources makes one alert, not two (alert fatigue is the known failure of such systems).
 */
export function fuse(input: FusionInput): AlertCandidate[] {
  const all = input.rules.flatMap((r) => KINDS[r.kind](r, input));
  all.sort((a, b) => RANK[b.riskLevel] - RANK[a.riskLevel] || b.signalIds.length - a.signalIds.length || a.dedupeKey.localeCompare(b.dedupeKey));
  const kept: AlertCandidate[] = [];
  for (const c of all) {
    const covered = c.signalIds.length > 0 && kept.some((k) => k.syndrome === c.syndrome && c.signalIds.every((id) => k.signalIds.includes(id)));
    if (!covered) kept.push(c);
  }
  return kept;
}

/** The signals that the rules' high thresholds mark (signal.high). */
export function highSignalIds(input: FusionInput): number[] {
  const ids = new Set<number>();
  for (const r of input.rules) {
    if (r.kind !== 'high_threshold') continue;
    const p = parseParams('high_threshold', r.params);
    for (const s of input.signals) if (!s.support && isHigh(s, p)) ids.add(s.id);
  }
  return [...ids].sort((a, b) => a - b);
}

// ── 5. extension ──

export interface OpenAlert {
  id: number;
  ruleCode: string;
  syndrome: string;
  /** the area the alert covers now (its core and the neighbours that joined it) */
  communities: number[];
  /** the area of the candidate that opened it: an alert extends from here only, so it cannot creep over a district */
  core: number[];
  dedupeKey: string;
  lastDate: string;
}

/** An open alert extends only with evidence within this many days of its last; after a quiet gap a new episode is a new alert. */
export const EXTEND_WITHIN_DAYS = 7;

/**
 * The open alert that `c` extends: for signal rules, an open alert of the same rule code and syndrome whose core area
 * overlaps the candidate's (or borders it, for a rule counting adjacency) and whose last evidence is at most
 * EXTEND_WITHIN_DAYS before the candidate's — its dedupe key first, then the most recent. Case-report candidates
 * extend by key only. The rule code (not its version) is compared, so editing a rule does not split an ongoing alert.
 * Matching against the core, not the area the alert has grown to, keeps extension from chaining: a neighbour's
 * neighbour opens its own alert.
 */
export function matchOpenAlert(c: AlertCandidate, open: readonly OpenAlert[], adjacency: Adjacency, mode: 'same' | 'adjacent' = 'same'): OpenAlert | null {
  if (c.kind === 'case_report_class') return open.find((a) => a.dedupeKey === c.dedupeKey) ?? null;
  const hood = new Set(c.communities.flatMap((x) => [...neighbourhood(x, adjacency, mode)]));
  const recent = addDays(c.lastDate, -EXTEND_WITHIN_DAYS);
  const matches = open.filter((a) => a.ruleCode === c.ruleCode && a.syndrome === c.syndrome && a.lastDate >= recent && a.core.some((x) => hood.has(x)));
  matches.sort((a, b) => Number(b.dedupeKey === c.dedupeKey) - Number(a.dedupeKey === c.dedupeKey)
    || (a.lastDate < b.lastDate ? 1 : a.lastDate > b.lastDate ? -1 : b.id - a.id));
  return matches[0] ?? null;
}

/** The area of open alert `a` after extension by `c`: the candidate's communities within the core's neighbourhood join it. */
export function extendedArea(a: Pick<OpenAlert, 'communities' | 'core'>, c: AlertCandidate, adjacency: Adjacency, mode: 'same' | 'adjacent'): number[] {
  const reach = new Set(a.core.flatMap((x) => [...neighbourhood(x, adjacency, mode)]));
  return sortNum([...a.communities, ...c.communities.filter((x) => reach.has(x))]);
}

/** The adjacency mode a rule's extension uses: multi_source its own; the others their community only. */
export function extensionMode(rule: Pick<FusionRule, 'kind' | 'params'>): 'same' | 'adjacent' {
  return rule.kind === 'multi_source' ? parseParams('multi_source', rule.params).adjacency : 'same';
}
