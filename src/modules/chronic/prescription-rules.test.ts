// The eligibility rules of long and extended prescriptions at their boundaries, and the delivery state machine.
import { describe, expect, test } from 'vitest';
import { PrescriptionRules, checkEligibility, daysBetween, refusal, type EligibilityFacts } from './prescription-rules.ts';
import { TRANSITIONS, maskAddress, mayMove, DELIVERY_STATUSES } from './deliveries.ts';

const LONG: PrescriptionRules = {
  maxWeeks: 12, requireActiveContract: true, requireContractedTeamGp: true, requireEnrolment: true,
  requireControlledLastVisit: true, lastVisitWithinDays: 90, requireConsortiumHospital: false, requireFormulary: false,
};
const EXTENDED: PrescriptionRules = { ...LONG, requireConsortiumHospital: true, requireFormulary: true };
const NOW = new Date('2026-05-20T02:00:00Z'); // 10:00 in Beijing
const DAY = 86_400_000;

function facts(over: Partial<EligibilityFacts> = {}): EligibilityFacts {
  return {
    weeks: 12, contract: { id: 1, teamId: 7 }, issuer: { teamId: 7, isGp: true },
    enrolment: { id: 3, lastClassification: 'controlled', lastFollowUpAt: new Date(NOW.getTime() - 30 * DAY) }, now: NOW,
    prescriber: null, notInFormulary: [], ...over,
  };
}
const broken = (kind: 'long' | 'extended', rules: PrescriptionRules, f: EligibilityFacts) => checkEligibility(kind, rules, f).filter((c) => !c.ok).map((c) => c.rule);

describe('long prescriptions', () => {
  test('a stable contracted patient passes every rule, each reported', () => {
    const checks = checkEligibility('long', LONG, facts());
    expect(checks.map((c) => [c.rule, c.ok])).toEqual([
      ['max_weeks', true], ['active_contract', true], ['contracted_team_gp', true], ['enrolment', true], ['controlled_last_visit', true], ['last_visit_within_days', true],
    ]);
    expect(refusal(checks)).toBeNull();
  });
  test.each([[12, true], [13, false], [1, true]])('%i weeks against a maximum of 12: %s', (weeks, ok) => {
    expect(broken('long', LONG, facts({ weeks })).includes('max_weeks')).toBe(!ok);
  });
  test('the maximum is data: 8 weeks allowed refuses 9', () => {
    expect(broken('long', { ...LONG, maxWeeks: 8 }, facts({ weeks: 9 }))).toEqual(['max_weeks']);
  });
  test('no active contract breaks the contract rule and the team rule', () => {
    expect(broken('long', LONG, facts({ contract: null }))).toEqual(['active_contract', 'contracted_team_gp']);
  });
  test('another team’s GP, or a nurse of the team, is not the contracted team’s GP', () => {
    expect(broken('long', LONG, facts({ issuer: { teamId: 8, isGp: true } }))).toEqual(['contracted_team_gp']);
    const nurse = checkEligibility('long', LONG, facts({ issuer: { teamId: 7, isGp: false } })).find((c) => c.rule === 'contracted_team_gp')!;
    expect(nurse).toMatchObject({ ok: false, detail: { en: 'the issuer is not a GP of the contracted team' } });
  });
  test.each(['uncontrolled', 'adverse_reaction', 'new_complication', null])('a last visit classified %s is not controlled', (c) => {
    expect(broken('long', LONG, facts({ enrolment: { id: 3, lastClassification: c, lastFollowUpAt: c ? new Date(NOW.getTime() - DAY) : null } })))
      .toEqual(c ? ['controlled_last_visit'] : ['controlled_last_visit', 'last_visit_within_days']);
  });
  test('not enrolled: enrolment, control and recency all fail', () => {
    expect(broken('long', LONG, facts({ enrolment: null }))).toEqual(['enrolment', 'controlled_last_visit', 'last_visit_within_days']);
  });
  test('the last visit exactly 90 Beijing days ago passes; 91 does not', () => {
    const at = (days: number) => new Date(NOW.getTime() - days * DAY);
    expect(broken('long', LONG, facts({ enrolment: { id: 3, lastClassification: 'controlled', lastFollowUpAt: at(90) } }))).toEqual([]);
    expect(broken('long', LONG, facts({ enrolment: { id: 3, lastClassification: 'controlled', lastFollowUpAt: at(91) } }))).toEqual(['last_visit_within_days']);
  });
  test('days are Beijing calendar days: 23:30 the evening before is one day ago', () => {
    expect(daysBetween(new Date('2026-05-19T15:30:00Z'), NOW)).toBe(1); // 23:30 on the 19th in Beijing
    expect(daysBetween(new Date('2026-05-19T16:30:00Z'), NOW)).toBe(0); // 00:30 on the 20th
  });
  test('a rule switched off is neither checked nor reported', () => {
    const rules = { ...LONG, requireControlledLastVisit: false, lastVisitWithinDays: 0 };
    const checks = checkEligibility('long', rules, facts({ enrolment: { id: 3, lastClassification: 'uncontrolled', lastFollowUpAt: null } }));
    expect(checks.map((c) => c.rule)).toEqual(['max_weeks', 'active_contract', 'contracted_team_gp', 'enrolment']);
    expect(checks.every((c) => c.ok)).toBe(true);
  });
  test('the refusal names every broken rule in both languages, the field of the first', () => {
    const r = refusal(checkEligibility('long', LONG, facts({ weeks: 13, enrolment: { id: 3, lastClassification: 'uncontrolled', lastFollowUpAt: NOW } })))!;
    expect(r).toEqual({
      field: 'weeks',
      rules: {
        zh: 'max_weeks（处方 13 周，上限 12 周）；controlled_last_visit（末次随访分类为 uncontrolled，须为控制满意）',
        en: 'max_weeks (13 weeks prescribed, at most 12); controlled_last_visit (the last follow-up was uncontrolled, not controlled)',
      },
    });
  });
  test('unknown rule keys are refused', () => {
    expect(PrescriptionRules.safeParse({ ...LONG, maxDays: 84 }).success).toBe(false);
  });
});

describe('extended prescriptions', () => {
  test('the consortium hospital and its formulary are checked as well', () => {
    const ok = facts({ prescriber: { institutionId: 2, sharesConsortium: true } });
    expect(checkEligibility('extended', EXTENDED, ok).map((c) => c.rule)).toEqual([
      'max_weeks', 'active_contract', 'contracted_team_gp', 'enrolment', 'controlled_last_visit', 'last_visit_within_days', 'consortium_hospital', 'formulary',
    ]);
    expect(broken('extended', EXTENDED, ok)).toEqual([]);
  });
  test('a hospital outside the consortium, a drug off the formulary', () => {
    const checks = checkEligibility('extended', EXTENDED, facts({ prescriber: { institutionId: 2, sharesConsortium: false }, notInFormulary: [1, 2] }));
    expect(checks.filter((c) => !c.ok).map((c) => [c.rule, c.field])).toEqual([['consortium_hospital', 'prescriberInstitutionId'], ['formulary', 'items[1].code']]);
    expect(checks.find((c) => c.rule === 'formulary')!.detail.en).toBe('item 2, 3 not in the hospital’s formulary');
  });
  test('the extended rules do not apply to a long prescription', () => {
    expect(checkEligibility('long', EXTENDED, facts()).map((c) => c.rule)).not.toContain('formulary');
  });
});

describe('delivery state machine', () => {
  const legal = [['requested', 'dispatched'], ['requested', 'cancelled'], ['dispatched', 'delivered'], ['dispatched', 'failed'], ['dispatched', 'cancelled']];
  test('exactly the listed moves are legal; delivered, cancelled and failed are final', () => {
    for (const from of DELIVERY_STATUSES) {
      for (const to of DELIVERY_STATUSES) expect(mayMove(from, to), `${from} → ${to}`).toBe(legal.some(([a, b]) => a === from && b === to));
    }
    expect(TRANSITIONS.delivered).toEqual([]);
  });
  test('a masked address keeps the street and hides the numbers', () => {
    expect(maskAddress('北京市东城区和平里7号3单元1201')).toBe('北京市东城区和平里*号*单元****');
    expect(maskAddress(null)).toBeNull();
  });
});
