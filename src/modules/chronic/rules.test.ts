// The rule engine against the defaults of the national standard (3rd ed.), read from the migration that seeds them:
// each threshold at, just below and just above its value.
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { RuleSet, classifyVisit, dangerValues, glucoseMmol, measuresOfObservation, type Measures } from './rules.ts';

/** The default rule sets as the migration inserts them (parsed from its SQL, so the test checks the shipped data). */
function defaults(): Record<string, RuleSet> {
  const sql = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../../db/migrations/0010_chronic.sql'), 'utf8');
  const out: Record<string, RuleSet> = {};
  for (const m of sql.matchAll(/\('(hypertension|diabetes)', 1, '[^']*', '(\{[\s\S]*?\})'\)/g)) out[m[1]] = RuleSet.parse(JSON.parse(m[2]));
  return out;
}
const { hypertension: HT, diabetes: DM } = defaults();
const visit = (measures: Measures, extra: Partial<Parameters<typeof classifyVisit>[1]> = {}) => ({ measures, symptoms: [], adverseReaction: false, newComplication: false, uncontrolledStreak: 0, ...extra });

describe('the default rule sets', () => {
  test('both programmes are in the migration and valid', () => {
    expect(HT.minVisitsPerYear).toBe(4);
    expect(DM.minVisitsPerYear).toBe(4);
    expect(HT.intervalDays.controlled).toBe(90);
    expect(HT.intervalDays.uncontrolled).toBe(14);
  });
  test('unknown keys are refused', () => {
    expect(RuleSet.safeParse({ ...HT, intervalDay: 3 }).success).toBe(false);
    expect(RuleSet.safeParse({ ...HT, danger: [{ measure: 'sbp', op: '>=', value: 180, colour: 'red' }] }).success).toBe(false);
  });
});

describe('hypertension: control (< 140/90) at its boundaries', () => {
  test.each([
    [139, 89, 'controlled', 90],
    [140, 89, 'uncontrolled', 14],
    [139, 90, 'uncontrolled', 14],
    [139.9, 89.9, 'controlled', 90],
  ])('%s/%s mmHg is %s, next in %s days', (sbp, dbp, cls, days) => {
    const r = classifyVisit(HT, visit({ sbp, dbp }));
    expect(r).toMatchObject({ classification: cls, nextInDays: days, danger: false, referral: null, missing: [] });
  });
  test('a follow-up without both readings lacks them', () => {
    expect(classifyVisit(HT, visit({ sbp: 130 })).missing).toEqual(['dbp']);
  });
});

describe('hypertension: danger values (SBP ≥ 180 or DBP ≥ 110)', () => {
  test.each([
    [179, 109, false],
    [180, 80, true],
    [150, 110, true],
    [179.9, 109.9, false],
  ])('%s/%s mmHg danger=%s', (sbp, dbp, danger) => {
    const r = classifyVisit(HT, visit({ sbp, dbp }));
    expect(r.danger).toBe(danger);
    expect(r.referral).toBe(danger ? 'urgent' : null);
    if (danger) expect(r.nextInDays).toBe(14);
  });
  test('a danger sign alone is a danger, with an urgent referral', () => {
    const r = classifyVisit(HT, visit({ sbp: 130, dbp: 80 }, { symptoms: ['severe_headache_dizziness'] }));
    expect(r).toMatchObject({ classification: 'controlled', danger: true, referral: 'urgent', nextInDays: 14, reasons: [{ kind: 'danger_sign', sign: 'severe_headache_dizziness' }] });
  });
  test('a symptom that is not a danger sign is not', () => {
    expect(classifyVisit(HT, visit({ sbp: 130, dbp: 80 }, { symptoms: ['dry_cough'] })).danger).toBe(false);
  });
});

describe('successive uncontrolled visits', () => {
  test('the first uncontrolled visit: follow up in 2 weeks, no referral', () => {
    expect(classifyVisit(HT, visit({ sbp: 150, dbp: 95 }))).toMatchObject({ classification: 'uncontrolled', uncontrolledStreak: 1, referral: null, nextInDays: 14 });
  });
  test('the second in a row: urgent referral suggested', () => {
    const r = classifyVisit(HT, visit({ sbp: 150, dbp: 95 }, { uncontrolledStreak: 1 }));
    expect(r).toMatchObject({ classification: 'uncontrolled', uncontrolledStreak: 2, referral: 'urgent', nextInDays: 14 });
    expect(r.reasons).toEqual([{ kind: 'successive_uncontrolled', count: 2 }]);
  });
  test('a controlled visit resets the streak', () => {
    expect(classifyVisit(HT, visit({ sbp: 120, dbp: 80 }, { uncontrolledStreak: 1 }))).toMatchObject({ uncontrolledStreak: 0, referral: null, nextInDays: 90 });
  });
});

describe('adverse reactions and complications come before control', () => {
  test('an adverse reaction with controlled readings: 2 weeks, no referral', () => {
    expect(classifyVisit(HT, visit({ sbp: 120, dbp: 80 }, { adverseReaction: true }))).toMatchObject({ classification: 'adverse_reaction', nextInDays: 14, referral: null });
  });
  test('a new complication: urgent referral, 2 weeks', () => {
    expect(classifyVisit(HT, visit({ sbp: 120, dbp: 80 }, { newComplication: true, adverseReaction: true }))).toMatchObject({ classification: 'new_complication', nextInDays: 14, referral: 'urgent' });
  });
});

describe('type 2 diabetes: control (FPG < 7.0) and danger (glucose ≥ 16.7 or ≤ 3.9)', () => {
  test.each([
    [6.9, 'controlled', false],
    [7.0, 'uncontrolled', false],
    [16.6, 'uncontrolled', false],
    [16.7, 'uncontrolled', true],
    [3.9, 'controlled', true],
    [4.0, 'controlled', false],
  ])('FPG %s mmol/L is %s, danger=%s', (fpg, cls, danger) => {
    expect(classifyVisit(DM, visit({ fpg, glucose: fpg }))).toMatchObject({ classification: cls, danger });
  });
  test('blood pressure, heart rate and temperature are dangers for an enrolled diabetic only', () => {
    expect(dangerValues(DM, { sbp: 180 }, true)).toHaveLength(1);
    expect(dangerValues(DM, { sbp: 180 }, false)).toHaveLength(0);
    expect(dangerValues(DM, { heart_rate: 100 }, true)).toHaveLength(0);
    expect(dangerValues(DM, { heart_rate: 101 }, true)).toHaveLength(1);
    expect(dangerValues(DM, { temperature: 39 }, true)).toHaveLength(0);
    expect(dangerValues(DM, { temperature: 39.1 }, true)).toHaveLength(1);
    expect(dangerValues(DM, { glucose: 16.7 }, false)).toEqual([{ kind: 'danger_value', measure: 'glucose', value: 16.7, rule: 'glucose >= 16.7' }]);
  });
});

describe('readings from stored observations', () => {
  const loinc = (code: string) => ({ code: { coding: [{ system: 'http://loinc.org', code }] } });
  test('a blood-pressure panel gives both pressures', () => {
    expect(measuresOfObservation({ code_system: 'http://loinc.org', code: '85354-9', value_num: null, components: [
      { ...loinc('8480-6'), valueQuantity: { value: 186, unit: 'mmHg', code: 'mm[Hg]' } }, { ...loinc('8462-4'), valueQuantity: { value: 98, unit: 'mmHg' } },
    ] })).toEqual({ sbp: 186, dbp: 98 });
  });
  test('separate readings, kPa converted', () => {
    expect(measuresOfObservation({ code_system: 'http://loinc.org', code: '8480-6', value_num: '24', unit: 'kPa' })).toEqual({ sbp: 180 });
    expect(measuresOfObservation({ code_system: 'http://loinc.org', code: '8462-4', value_num: '110', unit: 'mmHg', unit_code: 'mm[Hg]' })).toEqual({ dbp: 110 });
  });
  test('fasting glucose in mg/dL is converted; a random glucose is not a fasting one', () => {
    expect(measuresOfObservation({ code_system: 'http://loinc.org', code: '1558-6', value_num: '301', unit: 'mg/dL' })).toEqual({ fpg: 16.71, glucose: 16.71 });
    expect(measuresOfObservation({ code_system: 'http://loinc.org', code: '2345-7', value_num: '3.9', unit: 'mmol/L' })).toEqual({ glucose: 3.9 });
    expect(glucoseMmol(5, 'g/l')).toBeNull();
  });
  test('other codes and systems give nothing', () => {
    expect(measuresOfObservation({ code_system: 'http://loinc.org', code: '718-7', value_num: '130' })).toEqual({});
    expect(measuresOfObservation({ code_system: 'https://caregrid.dev/fhir/CodeSystem/local', code: '8480-6', value_num: '190' })).toEqual({});
  });
});
