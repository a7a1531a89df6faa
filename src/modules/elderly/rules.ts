// The elderly annual health check's rules (老年人健康管理：年度健康体检), pure functions over a rule set kept as versioned
// data (elderly_check_rule_set; defaults from the national basic public health service standard, 3rd ed., 2017 —
// 国家基本公共卫生服务规范（第三版）"老年人健康管理服务规范": lifestyle and health-status assessment, physical
// examination, blood and urine routine, fasting glucose, lipids, liver and kidney function, ECG and abdominal
// B-ultrasound, once a year for residents aged 65 and over). Nothing here reads the database.
//
// Contents: the rule-set schema · the check's components (input) · measures of a check · judging a check
import { z } from 'zod';

// ── the rule set ──

export const CHECK_MEASURES = ['sbp', 'dbp', 'heart_rate', 'bmi', 'waist_cm', 'fpg', 'hb', 'wbc', 'plt', 'tc', 'tg', 'ldl', 'hdl', 'alt', 'ast', 'tbil', 'scr', 'bun', 'self_care_score'] as const;
export type CheckMeasure = (typeof CHECK_MEASURES)[number];
export const COMPONENTS = ['lifestyle', 'symptoms', 'physical', 'self_assessment', 'cognitive', 'emotional', 'blood_routine', 'urine_routine', 'fasting_glucose', 'blood_lipids', 'liver_function', 'kidney_function', 'ecg', 'abdominal_ultrasound'] as const;
export type Component = (typeof COMPONENTS)[number];

const Text = { zh: z.string().min(1).max(200), en: z.string().min(1).max(200) };
const Code = z.string().regex(/^[a-z][a-z0-9_]{1,59}$/);
const Finding = z.object({ code: Code, measure: z.enum(CHECK_MEASURES), op: z.enum(['<', '<=', '>', '>=']), value: z.number().finite(), urgent: z.boolean().optional(), ...Text }).strict();
const ResultFinding = z.object({ code: Code, component: z.enum(COMPONENTS), result: z.string().min(1).max(40), urgent: z.boolean().optional(), ...Text }).strict();

/** The check's rules. Unknown keys are refused (a misspelt key would otherwise be silently ignored). */
export const CheckRuleSet = z.object({
  ageFrom: z.number().int().min(40).max(100),
  /** What a complete check contains (the standard's components). */
  components: z.array(z.object({ code: z.enum(COMPONENTS), ...Text }).strict()).min(1),
  /** A reading beyond a threshold is a finding; `urgent` ones need the team within urgentFollowUpHours. */
  findings: z.array(Finding),
  /** A categorical result of a component (positive screening, abnormal ECG…) is a finding. */
  resultFindings: z.array(ResultFinding),
  /** Findings that suggest a programme the resident is not enrolled in: confirm the diagnosis (screening is not one). */
  suspectedProgrammes: z.array(z.object({ programme: Code, findings: z.array(Code).min(1), ...Text }).strict()),
  followUpDays: z.number().int().min(1).max(366),
  urgentFollowUpHours: z.number().int().min(1).max(720),
}).strict();
export type CheckRuleSet = z.infer<typeof CheckRuleSet>;

// ── the check's components, as recorded ──

const n = (min: number, max: number) => z.number().min(min).max(max).optional();
export const CheckResults = z.object({
  lifestyle: z.object({
    smoking: z.enum(['never', 'former', 'current']).optional(), drinking: z.enum(['never', 'occasional', 'often', 'daily']).optional(),
    exerciseTimesPerWeek: n(0, 50), diet: z.enum(['balanced', 'meat', 'vegetarian', 'salty', 'oily', 'sweet']).optional(),
  }).strict().optional(),
  symptoms: z.array(Code).max(40).optional().describe('symptom codes; [] = none'),
  physical: z.object({
    sbp: n(40, 300), dbp: n(20, 200), heartRate: n(20, 250), temperature: n(30, 45), heightCm: n(80, 250), weightKg: n(20, 300), waistCm: n(30, 250),
  }).strict().optional(),
  selfAssessment: z.object({
    health: z.enum(['satisfied', 'fair', 'unsatisfied']).optional().describe('老年人健康状态自我评估'),
    selfCareScore: z.number().int().min(0).max(100).optional().describe('老年人生活自理能力评估表: 0–3 independent, 4–8 mild, 9–18 moderate, ≥19 dependent'),
  }).strict().optional(),
  cognitive: z.enum(['negative', 'positive']).optional().describe('认知功能初筛 (positive: go on to the MMSE)'),
  emotional: z.enum(['negative', 'positive']).optional().describe('情感状态初筛 (positive: go on to the GDS)'),
  bloodRoutine: z.object({ hb: n(20, 250).describe('g/L'), wbc: n(0, 200).describe('10⁹/L'), plt: n(0, 2000).describe('10⁹/L') }).strict().optional(),
  urineRoutine: z.object({
    protein: z.enum(['negative', 'trace', 'positive']).optional(), glucose: z.enum(['negative', 'trace', 'positive']).optional(),
    ketone: z.enum(['negative', 'trace', 'positive']).optional(), occultBlood: z.enum(['negative', 'trace', 'positive']).optional(),
  }).strict().optional(),
  fastingGlucose: n(0.5, 50).describe('mmol/L'),
  bloodLipids: z.object({ tc: n(0, 30), tg: n(0, 50), ldl: n(0, 20), hdl: n(0, 10) }).strict().optional().describe('mmol/L'),
  liverFunction: z.object({ alt: n(0, 5000), ast: n(0, 5000), tbil: n(0, 1000) }).strict().optional().describe('U/L, U/L, μmol/L'),
  kidneyFunction: z.object({ scr: n(0, 3000), bun: n(0, 200) }).strict().optional().describe('μmol/L, mmol/L'),
  ecg: z.enum(['normal', 'abnormal']).optional(),
  abdominalUltrasound: z.enum(['normal', 'abnormal']).optional(),
}).strict();
export type CheckResults = z.infer<typeof CheckResults>;

/** The component each input key records. */
const KEY_OF: Record<Component, keyof CheckResults> = {
  lifestyle: 'lifestyle', symptoms: 'symptoms', physical: 'physical', self_assessment: 'selfAssessment', cognitive: 'cognitive', emotional: 'emotional',
  blood_routine: 'bloodRoutine', urine_routine: 'urineRoutine', fasting_glucose: 'fastingGlucose', blood_lipids: 'bloodLipids',
  liver_function: 'liverFunction', kidney_function: 'kidneyFunction', ecg: 'ecg', abdominal_ultrasound: 'abdominalUltrasound',
};

// ── measures ──

export type CheckMeasures = Partial<Record<CheckMeasure, number>>;

/** BMI to one decimal (kg/m²). */
export function bmiOf(weightKg: number, heightCm: number): number {
  return Math.round((weightKg / (heightCm / 100) ** 2) * 10) / 10;
}

/** The numeric readings of a check, by the names the rules use. */
export function measuresOf(r: CheckResults): CheckMeasures {
  const m: CheckMeasures = {};
  const put = (k: CheckMeasure, x: number | undefined) => {
    if (x !== undefined) m[k] = x;
  };
  put('sbp', r.physical?.sbp); put('dbp', r.physical?.dbp); put('heart_rate', r.physical?.heartRate); put('waist_cm', r.physical?.waistCm);
  if (r.physical?.weightKg !== undefined && r.physical?.heightCm !== undefined) m.bmi = bmiOf(r.physical.weightKg, r.physical.heightCm);
  put('fpg', r.fastingGlucose);
  put('hb', r.bloodRoutine?.hb); put('wbc', r.bloodRoutine?.wbc); put('plt', r.bloodRoutine?.plt);
  put('tc', r.bloodLipids?.tc); put('tg', r.bloodLipids?.tg); put('ldl', r.bloodLipids?.ldl); put('hdl', r.bloodLipids?.hdl);
  put('alt', r.liverFunction?.alt); put('ast', r.liverFunction?.ast); put('tbil', r.liverFunction?.tbil);
  put('scr', r.kidneyFunction?.scr); put('bun', r.kidneyFunction?.bun);
  put('self_care_score', r.selfAssessment?.selfCareScore);
  return m;
}

/** A component's categorical result, for resultFindings (urine: abnormal when any item is not negative). */
function resultOf(r: CheckResults, c: Component): string | undefined {
  switch (c) {
    case 'cognitive': return r.cognitive;
    case 'emotional': return r.emotional;
    case 'ecg': return r.ecg;
    case 'abdominal_ultrasound': return r.abdominalUltrasound;
    case 'self_assessment': return r.selfAssessment?.health;
    case 'urine_routine': {
      const u = r.urineRoutine;
      if (!u) return undefined;
      return Object.values(u).some((x) => x && x !== 'negative') ? 'abnormal' : 'normal';
    }
    default: return undefined;
  }
}

// ── judging a check ──

export interface CheckFinding {
  code: string;
  zh: string;
  en: string;
  urgent: boolean;
  measure?: CheckMeasure;
  value?: number;
  rule?: string;
  component?: Component;
  programme?: string;
}

export interface CheckJudgement {
  findings: CheckFinding[];
  urgent: boolean;
  /** Components of the rules the check did not record. */
  missing: Component[];
  measures: CheckMeasures;
  /** Hours to the follow-up task (null: nothing to follow up). */
  followUpHours: number | null;
}

function holds(op: '<' | '<=' | '>' | '>=', a: number, b: number): boolean {
  return op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : a >= b;
}

/**
 * Judges a check by the rules: every threshold crossed and categorical result named is a finding (one per finding
 * code: the first, i.e. the most severe as the rules list them); a finding that suggests a programme the resident is
 * not enrolled in adds a finding to confirm the diagnosis. Any finding calls for a follow-up, urgent ones sooner.
 */
export function judgeCheck(rules: CheckRuleSet, results: CheckResults, enrolledIn: string[]): CheckJudgement {
  const measures = measuresOf(results);
  const found: CheckFinding[] = [];
  const seen = new Set<string>();
  for (const f of rules.findings) {
    const v = measures[f.measure];
    if (v === undefined || !holds(f.op, v, f.value) || seen.has(f.code)) continue;
    seen.add(f.code);
    found.push({ code: f.code, zh: f.zh, en: f.en, urgent: !!f.urgent, measure: f.measure, value: v, rule: `${f.measure} ${f.op} ${f.value}` });
  }
  for (const f of rules.resultFindings) {
    if (resultOf(results, f.component) !== f.result || seen.has(f.code)) continue;
    seen.add(f.code);
    found.push({ code: f.code, zh: f.zh, en: f.en, urgent: !!f.urgent, component: f.component });
  }
  for (const s of rules.suspectedProgrammes) {
    if (enrolledIn.includes(s.programme) || !s.findings.some((c) => seen.has(c))) continue;
    found.push({ code: `suspected_${s.programme}`, zh: s.zh, en: s.en, urgent: false, programme: s.programme });
  }
  const missing = rules.components.map((c) => c.code).filter((c) => {
    const v = results[KEY_OF[c]];
    return v === undefined || (typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0);
  });
  const urgent = found.some((f) => f.urgent);
  return { findings: found, urgent, missing, measures, followUpHours: found.length ? (urgent ? rules.urgentFollowUpHours : rules.followUpDays * 24) : null };
}
