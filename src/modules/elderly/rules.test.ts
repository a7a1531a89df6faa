// The elderly health check's rules with the defaults of migration 0013 (the national standard's components and the
// thresholds that call for follow-up), at and beside each threshold.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { CheckRuleSet, bmiOf, judgeCheck, measuresOf, type CheckResults } from './rules.ts';
import { NORMAL_CHECK } from '../../../test/fixtures/elderly-check.ts';

const sql = readFileSync(new URL('../../db/migrations/0013_chronic_care.sql', import.meta.url), 'utf8');
const RULES = CheckRuleSet.parse(JSON.parse(/INSERT INTO elderly_check_rule_set[\s\S]*?'(\{[\s\S]*?\n\})'\);/.exec(sql)![1]));

const COMPLETE: CheckResults = NORMAL_CHECK;
const codes = (r: CheckResults, enrolled: string[] = []) => judgeCheck(RULES, r, enrolled).findings.map((f) => f.code);
const withPhysical = (p: NonNullable<CheckResults['physical']>) => ({ ...COMPLETE, physical: { ...COMPLETE.physical, ...p } });

describe('the default rules', () => {
  test('the 14 components of the national standard, from 65', () => {
    expect(RULES.ageFrom).toBe(65);
    expect(RULES.components.map((c) => c.code)).toEqual([
      'lifestyle', 'symptoms', 'physical', 'self_assessment', 'cognitive', 'emotional', 'blood_routine', 'urine_routine', 'fasting_glucose', 'blood_lipids',
      'liver_function', 'kidney_function', 'ecg', 'abdominal_ultrasound',
    ]);
  });
  test('unknown keys are refused', () => {
    expect(CheckRuleSet.safeParse({ ...RULES, followUpDayz: 3 }).success).toBe(false);
  });
});

describe('judging a check', () => {
  test('a complete, normal check: no findings, nothing missing, no follow-up', () => {
    expect(judgeCheck(RULES, COMPLETE, [])).toEqual({ findings: [], urgent: false, missing: [], measures: expect.objectContaining({ bmi: 22.7 }), followUpHours: null });
  });
  test('a check without its laboratory components is incomplete', () => {
    const { bloodRoutine: _b, kidneyFunction: _k, ...rest } = COMPLETE;
    expect(judgeCheck(RULES, { ...rest, ecg: undefined }, []).missing).toEqual(['blood_routine', 'kidney_function', 'ecg']);
    expect(judgeCheck(RULES, { ...COMPLETE, liverFunction: {} }, []).missing).toEqual(['liver_function']);
  });
  test.each([
    [139, 89, []],
    [140, 80, ['bp_raised', 'suspected_hypertension']],
    [130, 90, ['bp_raised', 'suspected_hypertension']],
    [179, 109, ['bp_raised', 'suspected_hypertension']],
    [180, 80, ['bp_danger', 'bp_raised', 'suspected_hypertension']],
    [150, 110, ['bp_danger', 'bp_raised', 'suspected_hypertension']],
  ])('blood pressure %s/%s mmHg → %j', (sbp, dbp, expected) => {
    expect(codes(withPhysical({ sbp, dbp }))).toEqual(expected);
  });
  test('a raised pressure of a resident already under hypertension care is not a suspected case', () => {
    expect(codes(withPhysical({ sbp: 150, dbp: 80 }), ['hypertension'])).toEqual(['bp_raised']);
  });
  test('danger values are urgent: follow up within 24 hours; others within 14 days', () => {
    expect(judgeCheck(RULES, withPhysical({ sbp: 180, dbp: 80 }), ['hypertension'])).toMatchObject({ urgent: true, followUpHours: 24 });
    expect(judgeCheck(RULES, withPhysical({ sbp: 179, dbp: 80 }), ['hypertension'])).toMatchObject({ urgent: false, followUpHours: 14 * 24 });
  });
  test.each([
    [6.9, []], [7.0, ['glucose_raised', 'suspected_diabetes']], [16.7, ['glucose_danger', 'glucose_raised', 'suspected_diabetes']], [3.9, ['hypoglycaemia']], [4.0, []],
  ])('fasting glucose %s mmol/L → %j', (fastingGlucose, expected) => {
    expect(codes({ ...COMPLETE, fastingGlucose })).toEqual(expected);
  });
  test('BMI: 28.0 is obesity, 27.9 not; under 18.5 is underweight', () => {
    expect(bmiOf(76.2, 165)).toBe(28);
    expect(codes(withPhysical({ weightKg: 76.2, heightCm: 165 }))).toEqual(['obesity']);
    expect(bmiOf(76, 165)).toBe(27.9);
    expect(codes(withPhysical({ weightKg: 76, heightCm: 165 }))).toEqual([]);
    expect(bmiOf(50.4, 165)).toBe(18.5);
    expect(codes(withPhysical({ weightKg: 50.4, heightCm: 165 }))).toEqual([]);
    expect(codes(withPhysical({ weightKg: 50.2, heightCm: 165 }))).toEqual(['underweight']);
  });
  test('laboratory thresholds at the boundary', () => {
    expect(codes({ ...COMPLETE, bloodRoutine: { hb: 110, wbc: 10, plt: 100 } })).toEqual([]);
    expect(codes({ ...COMPLETE, bloodRoutine: { hb: 109, wbc: 10.1, plt: 99 } })).toEqual(['anaemia', 'wbc_abnormal', 'platelets_low']);
    expect(codes({ ...COMPLETE, bloodLipids: { tc: 6.2, tg: 2.3, ldl: 4.1, hdl: 1.0 } })).toEqual(['cholesterol_high', 'triglycerides_high', 'ldl_high']);
    expect(codes({ ...COMPLETE, liverFunction: { alt: 40, ast: 41, tbil: 21 } })).toEqual(['liver_abnormal']);
    expect(codes({ ...COMPLETE, kidneyFunction: { scr: 133, bun: 7.2 } })).toEqual(['kidney_abnormal']);
    expect(codes({ ...COMPLETE, selfAssessment: { health: 'fair', selfCareScore: 4 } })).toEqual(['self_care_dependent']);
  });
  test('categorical results: positive screenings, abnormal ECG and ultrasound, any abnormal urine item, poor self-rated health', () => {
    expect(codes({ ...COMPLETE, cognitive: 'positive', emotional: 'positive', ecg: 'abnormal', abdominalUltrasound: 'abnormal', urineRoutine: { protein: 'trace' }, selfAssessment: { health: 'unsatisfied' } }))
      .toEqual(['cognitive_positive', 'emotional_positive', 'urine_abnormal', 'ecg_abnormal', 'ultrasound_abnormal', 'self_rated_poor']);
  });
  test('the measures judged keep their names', () => {
    expect(measuresOf({ physical: { sbp: 150 }, fastingGlucose: 6, kidneyFunction: { scr: 90 } })).toEqual({ sbp: 150, fpg: 6, scr: 90 });
  });
});
