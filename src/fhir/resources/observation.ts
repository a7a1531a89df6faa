// Observation: vital signs, laboratory and exam results (LOINC or local codes, with units and reference ranges),
// symptoms. Condition: diagnoses (ICD-10) and problems.
import type { Row } from '../../db/engine.ts';
import { SYSTEM, array, clean, code, codeable, concept, dateTime, extraOf, identifierKey, instant, invalid, num, object, parseReference, ref, required, str, toNumber, type Json } from '../datatypes.ts';
import { dateParam, numberParam, referenceParam, tokenParam } from '../search.ts';
import type { ResourceKind } from '../types.ts';
import { CLINICAL_WRITERS, head, owningInstitution, personIncludes, personParams } from './common.ts';

export const OBSERVATION_STATUSES = ['registered', 'preliminary', 'final', 'amended', 'corrected', 'cancelled', 'entered-in-error', 'unknown'] as const;
const HL7_CATEGORIES = ['vital-signs', 'laboratory', 'imaging', 'exam', 'survey', 'social-history', 'procedure', 'therapy', 'activity'] as const;
const CATEGORIES = [...HL7_CATEGORIES, 'symptom'] as const;
/** LOINC codes of the FHIR vital-signs profile: an Observation with one of these is a vital sign when no category is sent. */
export const VITAL_SIGN_CODES = new Set(['85354-9', '8480-6', '8462-4', '8867-4', '9279-1', '8310-5', '29463-7', '8302-2', '39156-5', '59408-5', '2708-6', '8287-5', '9843-4', '3141-9']);

/** LOINC codes are digits, a hyphen and a check digit (mod 10, as LOINC's own users' guide defines it). */
export function loincValid(c: string): boolean {
  const m = /^(\d{1,7})-(\d)$/.exec(c);
  if (!m) return false;
  const digits = m[1];
  // LOINC check digit: double every other digit starting from the rightmost, sum the digits, check = (10 - sum % 10) % 10
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d = Math.floor(d / 10) + (d % 10);
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10 === Number(m[2]);
}

/** ICD-10 (and its Chinese national clinical edition): letter, two digits, optional subdivision. */
export function icd10Valid(c: string): boolean {
  // the national edition writes an empty subdivision as x (I10.x00, I10.x00x002: 原发性高血压)
  return /^[A-Z]\d{2}(\.[0-9A-Z]{1,4})?(\+|\*)?$/.test(c) || /^[A-Z]\d{2}\.[0-9A-Zx]{1,3}(x\d{3})?$/.test(c);
}

function checkCode(c: { system: string | null; code: string }, path: string) {
  if (c.system === SYSTEM.loinc && !loincValid(c.code)) throw invalid(path, `"${c.code}" is not a LOINC code (check digit)`);
  if ((c.system === SYSTEM.icd10 || c.system === SYSTEM.icd10cn) && !icd10Valid(c.code)) throw invalid(path, `"${c.code}" is not an ICD-10 code`);
}

function categoryConcept(cat: string): Json {
  return { coding: [{ system: (HL7_CATEGORIES as readonly string[]).includes(cat) ? SYSTEM.observationCategory : SYSTEM.careGridCategory, code: cat }] };
}

const OBS_MODELLED = ['identifier', 'status', 'category', 'code', 'subject', 'encounter', 'effectiveDateTime', 'effectivePeriod', 'issued', 'performer', 'valueQuantity', 'valueString', 'valueCodeableConcept', 'valueBoolean', 'valueInteger', 'referenceRange', 'interpretation', 'component'];

export const observationKind: ResourceKind = {
  type: 'Observation',
  table: 'observation',
  from: 'observation t',
  select: 't.*',
  residentColumn: 'resident_id',
  order: 't.effective_at DESC, t.id DESC',
  dateColumn: 'effective_at',
  writers: CLINICAL_WRITERS,
  include: { ...personIncludes('Observation'), 'Observation:encounter': { target: 'Encounter', column: 'encounter_id' }, 'Observation:performer': { target: 'Organization', column: 'institution_id' } },
  toFhir(row: Row): Json {
    const value = toNumber(row.value_num);
    const low = toNumber(row.ref_low);
    const high = toNumber(row.ref_high);
    return clean({
      ...head('Observation', row),
      status: row.status,
      category: [categoryConcept(row.category)],
      code: concept(row.code_system, row.code, row.display),
      subject: ref('Patient', row.resident_id),
      encounter: ref('Encounter', row.encounter_id),
      effectiveDateTime: instant(row.effective_at),
      performer: [ref('Organization', row.institution_id)],
      valueQuantity: value !== undefined ? clean({ value, unit: row.unit ?? undefined, system: row.unit_code ? SYSTEM.ucum : undefined, code: row.unit_code ?? undefined }) : undefined,
      valueString: value === undefined && row.value_text ? row.value_text : undefined,
      referenceRange: low !== undefined || high !== undefined ? [clean({ low: low !== undefined ? clean({ value: low, unit: row.unit ?? undefined }) : undefined, high: high !== undefined ? clean({ value: high, unit: row.unit ?? undefined }) : undefined })] : undefined,
      interpretation: row.interpretation ? [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', code: row.interpretation }] }] : undefined,
      component: row.components ?? undefined,
      ...(row.extra ?? {}),
    });
  },
  search: {
    ...personParams(),
    encounter: referenceParam('t.encounter_id', ['Encounter']),
    code: tokenParam('t.code', 't.code_system'),
    category: tokenParam('t.category'),
    status: tokenParam('t.status'),
    date: dateParam('t.effective_at'),
    'value-quantity': numberParam('t.value_num'),
    performer: referenceParam('t.institution_id', ['Organization']),
  },
  async toRow(r: Json, ctx, existing) {
    const status = required(code(r.status, OBSERVATION_STATUSES, 'Observation.status'), 'Observation.status');
    const c = codeable(r.code, 'Observation.code', { required: true })!;
    checkCode(c, 'Observation.code.coding[0].code');
    let category: string | null = null;
    for (const [i, cat] of array(r.category, 'Observation.category').entries()) {
      const cc = codeable(cat, `Observation.category[${i}]`);
      if (cc && (CATEGORIES as readonly string[]).includes(cc.code)) {
        category = cc.code;
        break;
      }
    }
    category ??= c.system === SYSTEM.loinc && VITAL_SIGN_CODES.has(c.code) ? 'vital-signs' : 'laboratory';
    const period = object(r.effectivePeriod, 'Observation.effectivePeriod');
    const effective = dateTime(r.effectiveDateTime, 'Observation.effectiveDateTime') ?? dateTime(period?.start, 'Observation.effectivePeriod.start') ?? dateTime(r.issued, 'Observation.issued');
    const residentId = await ctx.resolve(parseReference(required(r.subject, 'Observation.subject'), 'Observation.subject', ['Patient']), 'Observation.subject');
    const encounterId = await ctx.resolve(parseReference(r.encounter, 'Observation.encounter', ['Encounter']), 'Observation.encounter');
    const performers = array(r.performer, 'Observation.performer');
    const org = performers.map((p, i) => parseReference(p, `Observation.performer[${i}]`, ['Organization', 'Practitioner', 'PractitionerRole', 'CareTeam', 'Patient', 'RelatedPerson'])).find((p) => p?.type === 'Organization') ?? null;
    const institutionId = await owningInstitution(ctx, org, 'Observation.performer', existing);
    const q = object(r.valueQuantity, 'Observation.valueQuantity');
    const valueNum = q ? num(q.value, 'Observation.valueQuantity.value') : r.valueInteger !== undefined ? num(r.valueInteger, 'Observation.valueInteger') : null;
    if (q && valueNum === null) throw new Error('unreachable');
    let valueText = str(r.valueString, 'Observation.valueString', 4000);
    if (r.valueCodeableConcept) valueText = codeable(r.valueCodeableConcept, 'Observation.valueCodeableConcept')?.display ?? null;
    if (r.valueBoolean !== undefined) valueText = String(r.valueBoolean);
    const range = array(r.referenceRange, 'Observation.referenceRange')[0];
    const rr = range ? object(range, 'Observation.referenceRange[0]') : null;
    const interp = array(r.interpretation, 'Observation.interpretation')[0];
    const components = array(r.component, 'Observation.component');
    components.forEach((comp, i) => {
      const cc = codeable(object(comp, `Observation.component[${i}]`)!.code, `Observation.component[${i}].code`, { required: true })!;
      checkCode(cc, `Observation.component[${i}].code.coding[0].code`);
    });
    return {
      resident_id: residentId,
      encounter_id: encounterId,
      institution_id: institutionId,
      source_id: identifierKey(r.identifier, 'Observation.identifier'),
      category,
      code_system: c.system ?? SYSTEM.local,
      code: c.code,
      display: c.display,
      status,
      effective_at: required(effective, 'Observation.effectiveDateTime'),
      value_num: valueNum,
      value_text: valueText,
      unit: q ? str(q.unit, 'Observation.valueQuantity.unit', 40) ?? str(q.code, 'Observation.valueQuantity.code', 40) : null,
      unit_code: q && q.system === SYSTEM.ucum ? str(q.code, 'Observation.valueQuantity.code', 40) : null,
      ref_low: rr?.low ? num(object(rr.low, 'Observation.referenceRange[0].low')!.value, 'Observation.referenceRange[0].low.value') : null,
      ref_high: rr?.high ? num(object(rr.high, 'Observation.referenceRange[0].high')!.value, 'Observation.referenceRange[0].high.value') : null,
      interpretation: interp ? codeable(interp, 'Observation.interpretation[0]')?.code ?? null : null,
      components: components.length ? components : null,
      extra: extraOf(r, OBS_MODELLED),
    };
  },
};

export const CONDITION_CLINICAL = ['active', 'recurrence', 'relapse', 'inactive', 'remission', 'resolved'] as const;
export const CONDITION_VERIFICATION = ['unconfirmed', 'provisional', 'differential', 'confirmed', 'refuted', 'entered-in-error'] as const;
const CONDITION_CATEGORIES = ['encounter-diagnosis', 'problem-list-item', 'symptom'] as const;
const COND_MODELLED = ['identifier', 'category', 'code', 'subject', 'encounter', 'clinicalStatus', 'verificationStatus', 'onsetDateTime', 'recordedDate', 'asserter', 'recorder'];

export const conditionKind: ResourceKind = {
  type: 'Condition',
  table: 'condition',
  from: 'condition t',
  select: 't.*',
  residentColumn: 'resident_id',
  order: 't.recorded_at DESC, t.id DESC',
  dateColumn: 'recorded_at',
  writers: CLINICAL_WRITERS,
  include: { ...personIncludes('Condition'), 'Condition:encounter': { target: 'Encounter', column: 'encounter_id' } },
  toFhir(row: Row): Json {
    return clean({
      ...head('Condition', row),
      clinicalStatus: row.clinical_status ? concept('http://terminology.hl7.org/CodeSystem/condition-clinical', row.clinical_status) : undefined,
      verificationStatus: row.verification_status ? concept('http://terminology.hl7.org/CodeSystem/condition-ver-status', row.verification_status) : undefined,
      category: [concept(row.category === 'symptom' ? SYSTEM.careGridCategory : 'http://terminology.hl7.org/CodeSystem/condition-category', row.category)],
      code: concept(row.code_system, row.code, row.display),
      subject: ref('Patient', row.resident_id),
      encounter: ref('Encounter', row.encounter_id),
      onsetDateTime: instant(row.onset_at),
      recordedDate: instant(row.recorded_at),
      asserter: undefined,
      ...(row.extra ?? {}),
    });
  },
  search: {
    ...personParams(),
    encounter: referenceParam('t.encounter_id', ['Encounter']),
    code: tokenParam('t.code', 't.code_system'),
    category: tokenParam('t.category'),
    'clinical-status': tokenParam('t.clinical_status'),
    'verification-status': tokenParam('t.verification_status'),
    'recorded-date': dateParam('t.recorded_at'),
    'onset-date': dateParam('t.onset_at'),
    date: dateParam('t.recorded_at'),
  },
  async toRow(r: Json, ctx, existing) {
    const c = codeable(r.code, 'Condition.code', { required: true })!;
    checkCode(c, 'Condition.code.coding[0].code');
    let category = 'encounter-diagnosis';
    for (const [i, cat] of array(r.category, 'Condition.category').entries()) {
      const cc = codeable(cat, `Condition.category[${i}]`);
      if (cc) category = code(cc.code, CONDITION_CATEGORIES, `Condition.category[${i}].coding[0].code`)!;
    }
    const clinical = codeable(r.clinicalStatus, 'Condition.clinicalStatus');
    const verification = codeable(r.verificationStatus, 'Condition.verificationStatus');
    const encounterId = await ctx.resolve(parseReference(r.encounter, 'Condition.encounter', ['Encounter']), 'Condition.encounter');
    return {
      resident_id: await ctx.resolve(parseReference(required(r.subject, 'Condition.subject'), 'Condition.subject', ['Patient']), 'Condition.subject'),
      encounter_id: encounterId,
      institution_id: await owningInstitution(ctx, null, 'Condition', existing),
      source_id: identifierKey(r.identifier, 'Condition.identifier'),
      category,
      code_system: c.system ?? SYSTEM.local,
      code: c.code,
      display: c.display,
      clinical_status: clinical ? code(clinical.code, CONDITION_CLINICAL, 'Condition.clinicalStatus.coding[0].code') : null,
      verification_status: verification ? code(verification.code, CONDITION_VERIFICATION, 'Condition.verificationStatus.coding[0].code') : null,
      onset_at: dateTime(r.onsetDateTime, 'Condition.onsetDateTime'),
      recorded_at: dateTime(r.recordedDate, 'Condition.recordedDate') ?? new Date(),
      extra: extraOf(r, COND_MODELLED),
    };
  },
};
