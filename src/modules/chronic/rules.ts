// The rule engine of the chronic-disease programmes: pure functions over a programme's rule set (data, versioned in
// chronic_rule_set; defaults from the national basic public health service standard, 3rd ed., 2017 — 国家基本公共卫生
// 服务规范（第三版）, "高血压患者健康管理服务规范" and "2型糖尿病患者健康管理服务规范"). Nothing here reads the database.
//
// Contents: measures and their LOINC codes · the rule-set schema · conditions · classifying a visit · danger values of
// a reading
import { z } from 'zod';

// ── measures ──

export const MEASURES = ['sbp', 'dbp', 'fpg', 'glucose', 'heart_rate', 'temperature'] as const;
export type Measure = (typeof MEASURES)[number];
export type Measures = Partial<Record<Measure, number>>;

/** LOINC codes read as measures. A fasting glucose is also a glucose (the danger values apply to any glucose). */
export const LOINC = {
  bpPanel: '85354-9',
  sbp: '8480-6',
  dbp: '8462-4',
  heartRate: '8867-4',
  temperature: '8310-5',
  fastingGlucose: ['1558-6', '14771-0', '77145-1', '1557-8'],
  glucose: ['2345-7', '2339-0', '15074-8', '14749-6', '41653-7', '2340-8', '2341-6'],
} as const;

/** Every LOINC code a reading may carry to be looked at (for a cheap first filter). */
export const WATCHED_CODES = new Set<string>([LOINC.bpPanel, LOINC.sbp, LOINC.dbp, LOINC.heartRate, LOINC.temperature, ...LOINC.fastingGlucose, ...LOINC.glucose]);

const MG_DL_PER_MMOL_L = 18.016; // glucose, 180.16 g/mol

interface Quantity { value?: unknown; unit?: unknown; code?: unknown }

function unitOf(q: { unit?: unknown; code?: unknown } | null | undefined): string {
  return String(q?.code ?? q?.unit ?? '').trim().toLowerCase();
}

/** Glucose in mmol/L: mg/dL converted; no unit is taken as mmol/L, the unit Chinese laboratories report. */
export function glucoseMmol(value: number, unit: string): number | null {
  if (!unit || unit === 'mmol/l' || unit === 'mmol/l{glucose}') return value;
  if (unit === 'mg/dl') return Math.round((value / MG_DL_PER_MMOL_L) * 100) / 100;
  return null; // a unit we cannot convert is not evaluated
}

/** Pressure in mmHg (kPa converted). */
export function pressureMmHg(value: number, unit: string): number | null {
  if (!unit || unit === 'mm[hg]' || unit === 'mmhg') return value;
  if (unit === 'kpa') return Math.round(value * 7.50062 * 10) / 10;
  return null;
}

function num(v: unknown): number | null {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : null;
}

function codesOf(cc: unknown): string[] {
  const coding = (cc as { coding?: { system?: string; code?: string }[] } | null)?.coding;
  return Array.isArray(coding) ? coding.filter((c) => !c.system || c.system === 'http://loinc.org').map((c) => String(c.code)) : [];
}

function put(out: Measures, code: string, value: number | null, unit: string) {
  if (value === null) return;
  if (code === LOINC.sbp || code === LOINC.dbp) {
    const v = pressureMmHg(value, unit);
    if (v !== null) out[code === LOINC.sbp ? 'sbp' : 'dbp'] = v;
  } else if (code === LOINC.heartRate) out.heart_rate = value;
  else if (code === LOINC.temperature) {
    out.temperature = unit === '[degf]' || unit === '°f' ? Math.round(((value - 32) * 5) / 9 * 10) / 10 : value;
  } else if ((LOINC.fastingGlucose as readonly string[]).includes(code) || (LOINC.glucose as readonly string[]).includes(code)) {
    const v = glucoseMmol(value, unit);
    if (v === null) return;
    out.glucose = v;
    if ((LOINC.fastingGlucose as readonly string[]).includes(code)) out.fpg = v;
  }
}

/**
 * The measures of a stored observation row (code, value_num, unit, unit_code, components): a blood-pressure panel's
 * components, or a single reading. Other codes give nothing.
 */
export function measuresOfObservation(o: { code_system?: unknown; code?: unknown; value_num?: unknown; unit?: unknown; unit_code?: unknown; components?: unknown }): Measures {
  const out: Measures = {};
  if (o.code_system && o.code_system !== 'http://loinc.org') return out;
  const code = String(o.code ?? '');
  if (!WATCHED_CODES.has(code)) return out;
  put(out, code, num(o.value_num), unitOf({ code: o.unit_code ?? undefined, unit: o.unit ?? undefined }));
  if (Array.isArray(o.components)) {
    for (const c of o.components as { code?: unknown; valueQuantity?: Quantity }[]) {
      const q = c?.valueQuantity;
      for (const cc of codesOf(c?.code)) put(out, cc, num(q?.value), unitOf(q));
    }
  }
  return out;
}

// ── the rule set ──

const Condition = z.object({
  measure: z.enum(MEASURES),
  op: z.enum(['<', '<=', '>', '>=']),
  value: z.number().finite(),
  /** Danger conditions only: applies to readings of residents enrolled in the programme (default: anyone's). */
  enrolledOnly: z.boolean().optional(),
}).strict();
export type Condition = z.infer<typeof Condition>;

const Sign = z.object({ code: z.string().regex(/^[a-z][a-z0-9_]{1,59}$/), zh: z.string().min(1).max(100), en: z.string().min(1).max(100) }).strict();
const Days = z.number().int().min(1).max(366);

export const CLASSIFICATIONS = ['controlled', 'uncontrolled', 'adverse_reaction', 'new_complication'] as const;
export type Classification = (typeof CLASSIFICATIONS)[number];

/** A programme's rules. Unknown keys are refused (a misspelt key would otherwise be silently ignored). */
export const RuleSet = z.object({
  minVisitsPerYear: z.number().int().min(1).max(52),
  /** Readings a follow-up of this programme must record (its control is judged on them). */
  requiredMeasures: z.array(z.enum(MEASURES)).min(1),
  /** All must hold for the readings to be controlled (控制满意). */
  controlled: z.array(Condition).min(1),
  /** Any one is a danger value (危急情况): urgent referral. */
  danger: z.array(Condition),
  /** Danger signs (symptoms) the follow-up form offers; any one recorded is a danger. */
  dangerSigns: z.array(Sign),
  /** Days to the next follow-up: after enrolment, and after a visit of each classification or with a danger. */
  intervalDays: z.object({ enrolment: Days, controlled: Days, uncontrolled: Days, adverse_reaction: Days, new_complication: Days, danger: Days }).strict(),
  /** Hours the team has to act on a danger value reported by any institution. */
  dangerTaskHours: z.number().int().min(1).max(720),
  referral: z.object({
    /** This many uncontrolled visits in a row suggest an urgent upward referral (0: never). */
    successiveUncontrolled: z.number().int().min(0).max(10),
    onNewComplication: z.boolean(),
    onDanger: z.boolean(),
  }).strict(),
}).strict();
export type RuleSet = z.infer<typeof RuleSet>;

export function holds(c: Condition, m: Measures): boolean | null {
  const v = m[c.measure];
  if (v === undefined) return null;
  switch (c.op) {
    case '<': return v < c.value;
    case '<=': return v <= c.value;
    case '>': return v > c.value;
    case '>=': return v >= c.value;
  }
}

export interface Reason {
  kind: 'danger_value' | 'danger_sign' | 'successive_uncontrolled' | 'new_complication';
  measure?: Measure;
  value?: number;
  rule?: string;
  sign?: string;
  count?: number;
}

/** Danger values among the readings: one reason per condition that holds. */
export function dangerValues(rules: RuleSet, m: Measures, enrolled = true): Reason[] {
  return rules.danger.filter((c) => (enrolled || !c.enrolledOnly) && holds(c, m) === true).map((c) => ({ kind: 'danger_value' as const, measure: c.measure, value: m[c.measure], rule: `${c.measure} ${c.op} ${c.value}` }));
}

export interface VisitInput {
  measures: Measures;
  symptoms: string[];
  adverseReaction: boolean;
  newComplication: boolean;
  /** Uncontrolled visits in a row before this one. */
  uncontrolledStreak: number;
}

export interface VisitResult {
  classification: Classification;
  danger: boolean;
  reasons: Reason[];
  referral: 'urgent' | null;
  nextInDays: number;
  uncontrolledStreak: number;
  /** Measures the rules need that the visit did not record. */
  missing: Measure[];
}

/**
 * Classifies a follow-up as the standard does: a new complication (or a worsened one) first, then an adverse drug
 * reaction, then control of the readings; a danger value or sign, a new complication or too many uncontrolled visits
 * in a row suggest an urgent upward referral, followed up within the danger interval.
 */
export function classifyVisit(rules: RuleSet, v: VisitInput): VisitResult {
  const missing = rules.requiredMeasures.filter((m) => v.measures[m] === undefined);
  const controlled = rules.controlled.every((c) => holds(c, v.measures) === true);
  const classification: Classification = v.newComplication ? 'new_complication' : v.adverseReaction ? 'adverse_reaction' : controlled ? 'controlled' : 'uncontrolled';
  // a visit whose readings are not controlled counts towards the streak whatever else it was classified as
  const uncontrolledStreak = controlled ? 0 : v.uncontrolledStreak + 1;
  const reasons: Reason[] = dangerValues(rules, v.measures);
  for (const s of v.symptoms) if (rules.dangerSigns.some((d) => d.code === s)) reasons.push({ kind: 'danger_sign', sign: s });
  const danger = reasons.length > 0;
  let referral: 'urgent' | null = danger && rules.referral.onDanger ? 'urgent' : null;
  if (rules.referral.successiveUncontrolled > 0 && uncontrolledStreak >= rules.referral.successiveUncontrolled) {
    reasons.push({ kind: 'successive_uncontrolled', count: uncontrolledStreak });
    referral = 'urgent';
  }
  if (v.newComplication && rules.referral.onNewComplication) {
    reasons.push({ kind: 'new_complication' });
    referral = 'urgent';
  }
  const nextInDays = Math.min(rules.intervalDays[classification], danger || referral ? rules.intervalDays.danger : Infinity);
  return { classification, danger, reasons, referral, nextInDays, uncontrolledStreak, missing };
}
