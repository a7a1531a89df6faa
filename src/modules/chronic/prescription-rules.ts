// Eligibility of a long (长处方) or extended (延伸处方) prescription: pure functions over a rule set (data, versioned in
// prescription_rule_set) and the facts the service gathered. Nothing here reads the database. Every enabled rule is
// evaluated and reported, so a refusal names each rule broken and a granted prescription keeps what it was checked on.
//
// Defaults (migration 0014): Beijing's long-prescription policy for stable contracted chronic patients — at most 12
// weeks, an active family-doctor contract, issued by a GP of the contracted team, enrolled in the programme, the last
// follow-up classified controlled (控制满意) and no older than the 90-day controlled interval of the national basic
// public health service standard (3rd ed.). Extended prescriptions add the consortium hospital and its formulary.
import { z } from 'zod';
import { districtDate } from '../../platform/local-date.ts';

export const PRESCRIPTION_KINDS = ['long', 'extended'] as const;
export type PrescriptionKind = (typeof PRESCRIPTION_KINDS)[number];

export const PrescriptionRules = z.object({
  maxWeeks: z.number().int().min(1).max(52),
  requireActiveContract: z.boolean(),
  /** The issuer is a GP (profession gp) on the team the resident is contracted to. */
  requireContractedTeamGp: z.boolean(),
  requireEnrolment: z.boolean(),
  /** The programme's last follow-up was classified controlled. */
  requireControlledLastVisit: z.boolean(),
  /** The programme's last follow-up at most this many days ago (Beijing calendar days); 0 = no limit. */
  lastVisitWithinDays: z.number().int().min(0).max(3660),
  /** The prescribing hospital shares a medical consortium (医联体) with the issuing institution. */
  requireConsortiumHospital: z.boolean(),
  /** Every drug is in the prescribing hospital's formulary. */
  requireFormulary: z.boolean(),
}).strict();
export type PrescriptionRules = z.infer<typeof PrescriptionRules>;

export const RULE_NAMES = ['max_weeks', 'active_contract', 'contracted_team_gp', 'enrolment', 'controlled_last_visit', 'last_visit_within_days', 'consortium_hospital', 'formulary'] as const;
export type RuleName = (typeof RULE_NAMES)[number];

export interface EligibilityFacts {
  weeks: number;
  /** The resident's active contract, if any. */
  contract: { id: number; teamId: number } | null;
  /** The issuer: their team and whether they are a GP on it. */
  issuer: { teamId: number | null; isGp: boolean };
  /** The resident's active enrolment in the programme, if any. */
  enrolment: { id: number; lastClassification: string | null; lastFollowUpAt: Date | null } | null;
  now: Date;
  /** Extended prescriptions: the prescribing hospital, and whether it shares a consortium with the issuing institution. */
  prescriber: { institutionId: number; sharesConsortium: boolean } | null;
  /** Indexes of the drugs not found in the prescriber's formulary. */
  notInFormulary: number[];
}

type Text = { zh: string; en: string };
export interface Check {
  rule: RuleName;
  ok: boolean;
  detail: Text;
  /** The input field a broken rule is about. */
  field: string;
}

/** Whole Beijing calendar days from `from` to `to`. */
export function daysBetween(from: Date, to: Date): number {
  return Math.round((Date.parse(districtDate(to)) - Date.parse(districtDate(from))) / 86_400_000);
}

/** Every enabled rule with its verdict, in a fixed order. */
export function checkEligibility(kind: PrescriptionKind, rules: PrescriptionRules, f: EligibilityFacts): Check[] {
  const out: Check[] = [];
  const add = (rule: RuleName, ok: boolean, detail: Text, field: string) => out.push({ rule, ok, detail, field });

  add('max_weeks', f.weeks <= rules.maxWeeks,
    { zh: `处方 ${f.weeks} 周，上限 ${rules.maxWeeks} 周`, en: `${f.weeks} weeks prescribed, at most ${rules.maxWeeks}` }, 'weeks');
  if (rules.requireActiveContract) {
    add('active_contract', !!f.contract,
      f.contract ? { zh: `有效签约 #${f.contract.id}`, en: `active contract #${f.contract.id}` } : { zh: '居民没有有效的家庭医生签约', en: 'the resident has no active family-doctor contract' }, 'residentId');
  }
  if (rules.requireContractedTeamGp) {
    const ok = !!f.contract && f.issuer.teamId === f.contract.teamId && f.issuer.isGp;
    add('contracted_team_gp', ok,
      ok ? { zh: '签约团队的全科医生开具', en: 'issued by a GP of the contracted team' }
        : !f.contract ? { zh: '无签约团队', en: 'there is no contracted team' }
          : f.issuer.teamId !== f.contract.teamId ? { zh: '开具人不属于居民的签约团队', en: 'the issuer is not on the resident’s contracted team' }
            : { zh: '开具人不是签约团队的全科医生', en: 'the issuer is not a GP of the contracted team' }, 'residentId');
  }
  if (rules.requireEnrolment) {
    add('enrolment', !!f.enrolment,
      f.enrolment ? { zh: `已纳入管理 #${f.enrolment.id}`, en: `enrolled #${f.enrolment.id}` } : { zh: '居民未纳入该慢病项目管理', en: 'the resident is not enrolled in the programme' }, 'programme');
  }
  if (rules.requireControlledLastVisit) {
    const c = f.enrolment?.lastClassification ?? null;
    add('controlled_last_visit', c === 'controlled',
      c === 'controlled' ? { zh: '末次随访控制满意', en: 'the last follow-up was controlled' }
        : c ? { zh: `末次随访分类为 ${c}，须为控制满意`, en: `the last follow-up was ${c}, not controlled` } : { zh: '尚无随访记录', en: 'no follow-up has been recorded' }, 'programme');
  }
  if (rules.lastVisitWithinDays > 0) {
    const at = f.enrolment?.lastFollowUpAt ?? null;
    const days = at ? daysBetween(at, f.now) : null;
    add('last_visit_within_days', days !== null && days <= rules.lastVisitWithinDays,
      days === null ? { zh: '尚无随访记录', en: 'no follow-up has been recorded' }
        : { zh: `末次随访距今 ${days} 天，上限 ${rules.lastVisitWithinDays} 天`, en: `the last follow-up was ${days} days ago, at most ${rules.lastVisitWithinDays}` }, 'programme');
  }
  if (kind === 'extended' && rules.requireConsortiumHospital) {
    const ok = !!f.prescriber?.sharesConsortium;
    add('consortium_hospital', ok,
      ok ? { zh: '开方医院与本机构同属医联体', en: 'the prescribing hospital is in the issuer’s consortium' } : { zh: '开方医院与本机构不属于同一医联体', en: 'the prescribing hospital is not in the issuer’s consortium' }, 'prescriberInstitutionId');
  }
  if (kind === 'extended' && rules.requireFormulary) {
    const ok = f.notInFormulary.length === 0;
    add('formulary', ok,
      ok ? { zh: '药品均在开方医院目录内', en: 'every drug is in the hospital’s formulary' }
        : { zh: `第 ${f.notInFormulary.map((i) => i + 1).join('、')} 项药品不在开方医院药品目录内`, en: `item ${f.notInFormulary.map((i) => i + 1).join(', ')} not in the hospital’s formulary` },
      `items[${f.notInFormulary[0] ?? 0}].code`);
  }
  return out;
}

/** The broken rules as one message: "rule: why; rule: why" in each language. */
export function refusal(checks: Check[]): { rules: Text; field: string } | null {
  const broken = checks.filter((c) => !c.ok);
  if (!broken.length) return null;
  return {
    rules: { zh: broken.map((c) => `${c.rule}（${c.detail.zh}）`).join('；'), en: broken.map((c) => `${c.rule} (${c.detail.en})`).join('; ') },
    field: broken[0].field,
  };
}
