// Results, prescriptions, allergies, vaccinations, documents and orders of the shared health record, as FHIR R4
// DiagnosticReport, MedicationRequest, AllergyIntolerance, Immunization, DocumentReference and ServiceRequest. Each is
// a view of its own table, scoped by resident and audited by the repository like every personal record.
import type { Row } from '../../db/engine.ts';
import { SYSTEM, array, clean, code, codeable, concept, dateTime, extraOf, identifierKey, instant, invalid, num, object, parseReference, ref, required, str, type Coded, type Json } from '../datatypes.ts';
import { dateParam, referenceParam, specialParam, stringParam, tokenParam, or } from '../search.ts';
import type { ResourceKind, WriteContext } from '../types.ts';
import { AppError } from '../../platform/errors.ts';
import { CLINICAL_WRITERS, head, idsOf, owningInstitution, personIncludes, personParams } from './common.ts';
import { icd10Valid, loincValid } from './observation.ts';

/** LOINC and ICD-10 codes are checked for form (LOINC's check digit); other systems are taken as sent. */
function checkedCode(value: unknown, path: string): Coded {
  const c = codeable(value, path, { required: true })!;
  if (c.system === SYSTEM.loinc && !loincValid(c.code)) throw invalid(`${path}.coding[0].code`, `"${c.code}" is not a LOINC code (check digit)`);
  if ((c.system === SYSTEM.icd10 || c.system === SYSTEM.icd10cn) && !icd10Valid(c.code)) throw invalid(`${path}.coding[0].code`, `"${c.code}" is not an ICD-10 code`);
  return c;
}

async function subject(ctx: WriteContext, value: unknown, path: string): Promise<number> {
  return (await ctx.resolve(parseReference(required(value, path), path, ['Patient']), path))!;
}

/** The columns every record has: whose it is, the institution that keeps it and the sender's identifier. */
async function recordColumns(type: string, r: Json, ctx: WriteContext, existing: Row | null, opts: { patientElement?: string; institution?: unknown; institutionPath?: string } = {}) {
  const el = opts.patientElement ?? 'subject';
  const path = opts.institutionPath ?? type;
  return {
    resident_id: await subject(ctx, r[el], `${type}.${el}`),
    institution_id: await owningInstitution(ctx, parseReference(opts.institution, path, ['Organization']), path, existing),
    source_id: identifierKey(r.identifier, `${type}.identifier`),
  };
}

async function encounter(ctx: WriteContext, value: unknown, path: string): Promise<number | null> {
  return ctx.resolve(parseReference(value, path, ['Encounter']), path);
}

async function practitioner(ctx: WriteContext, value: unknown, path: string): Promise<number | null> {
  return ctx.resolve(parseReference(value, path, ['Practitioner', 'PractitionerRole']), path);
}


// ── DiagnosticReport ──

export const REPORT_STATUSES = ['registered', 'partial', 'preliminary', 'final', 'amended', 'corrected', 'appended', 'cancelled', 'entered-in-error', 'unknown'] as const;
// HL7 v2 table 0074, diagnostic service section (the value set FHIR binds DiagnosticReport.category to)
const SERVICE_SECTIONS = ['AU', 'BG', 'BLB', 'CG', 'CUS', 'CTH', 'CT', 'CH', 'CP', 'EC', 'EN', 'GE', 'HM', 'ICU', 'IMM', 'LAB', 'MB', 'MCB', 'MYC', 'NMS', 'NMR', 'NRS', 'OUS', 'OT', 'OTH', 'OSL', 'PAR', 'PAT', 'PF', 'PHR', 'PHY', 'PT', 'RAD', 'RX', 'RUS', 'RC', 'RT', 'SR', 'SP', 'TX', 'VUS', 'VR', 'URN', 'XRC'] as const;
const REPORT_MODELLED = ['identifier', 'status', 'category', 'code', 'subject', 'encounter', 'effectiveDateTime', 'effectivePeriod', 'issued', 'performer', 'result', 'conclusion'];

export const diagnosticReportKind: ResourceKind = {
  type: 'DiagnosticReport',
  table: 'diagnostic_report',
  from: 'diagnostic_report t',
  select: 't.*',
  residentColumn: 'resident_id',
  order: 't.effective_at DESC, t.id DESC',
  dateColumn: 'effective_at',
  writers: CLINICAL_WRITERS,
  include: { ...personIncludes('DiagnosticReport'), 'DiagnosticReport:encounter': { target: 'Encounter', column: 'encounter_id' }, 'DiagnosticReport:performer': { target: 'Organization', column: 'institution_id' } },
  toFhir(row: Row): Json {
    return clean({
      ...head('DiagnosticReport', row),
      status: row.status,
      category: [{ coding: [{ system: SYSTEM.diagnosticService, code: row.category }] }],
      code: concept(row.code_system, row.code, row.display),
      subject: ref('Patient', row.resident_id),
      encounter: ref('Encounter', row.encounter_id),
      effectiveDateTime: instant(row.effective_at),
      issued: instant(row.issued_at),
      performer: [ref('Organization', row.institution_id)],
      result: ((row.result_ids as unknown[] | null) ?? []).map((id) => ref('Observation', Number(id))),
      conclusion: row.conclusion ?? undefined,
      ...(row.extra ?? {}),
    });
  },
  search: {
    ...personParams(),
    status: tokenParam('t.status'),
    code: tokenParam('t.code', 't.code_system'),
    category: tokenParam('t.category', null, SYSTEM.diagnosticService, 'v2-0074 service section (LAB, RAD, …)'),
    date: dateParam('t.effective_at'),
    issued: dateParam('t.issued_at'),
    encounter: referenceParam('t.encounter_id', ['Encounter']),
    performer: referenceParam('t.institution_id', ['Organization']),
    result: specialParam('reference', (values, _m, params) => {
      const ids = idsOf(values);
      return ids.length ? `t.result_ids && ${params.add(ids)}::bigint[]` : 'FALSE';
    }, 'an Observation in the report'),
    conclusion: stringParam(['t.conclusion'], 'conclusion text (prefix; :contains)'),
  },
  async toRow(r: Json, ctx, existing) {
    const status = required(code(r.status, REPORT_STATUSES, 'DiagnosticReport.status'), 'DiagnosticReport.status');
    const c = checkedCode(r.code, 'DiagnosticReport.code');
    let category = 'LAB';
    for (const [i, cat] of array(r.category, 'DiagnosticReport.category').entries()) {
      const cc = codeable(cat, `DiagnosticReport.category[${i}]`);
      if (cc && (cc.system === SYSTEM.diagnosticService || cc.system === null)) category = code(cc.code, SERVICE_SECTIONS, `DiagnosticReport.category[${i}].coding[0].code`)!;
    }
    const period = object(r.effectivePeriod, 'DiagnosticReport.effectivePeriod');
    const effective = dateTime(r.effectiveDateTime, 'DiagnosticReport.effectiveDateTime') ?? dateTime(period?.start, 'DiagnosticReport.effectivePeriod.start');
    const performers = array(r.performer, 'DiagnosticReport.performer');
    const columns = await recordColumns('DiagnosticReport', r, ctx, existing, { institution: performers[0], institutionPath: 'DiagnosticReport.performer[0]' });
    const resultIds: number[] = [];
    for (const [i, res] of array(r.result, 'DiagnosticReport.result').entries()) {
      const path = `DiagnosticReport.result[${i}]`;
      const id = (await ctx.resolve(parseReference(res, path, ['Observation']), path))!;
      // a report gathers results of its own subject: another person's result here would leak into their record
      const { rows } = await ctx.q.query('SELECT resident_id FROM observation WHERE id = $1', [id]);
      if (rows[0] && rows[0].resident_id !== columns.resident_id) throw invalid(`${path}.reference`, 'is a result of another patient');
      resultIds.push(id);
    }
    return {
      ...columns,
      encounter_id: await encounter(ctx, r.encounter, 'DiagnosticReport.encounter'),
      category,
      code_system: c.system ?? SYSTEM.local,
      code: c.code,
      display: c.display,
      status,
      effective_at: required(effective, 'DiagnosticReport.effectiveDateTime'),
      issued_at: dateTime(r.issued, 'DiagnosticReport.issued'),
      conclusion: str(r.conclusion, 'DiagnosticReport.conclusion'),
      result_ids: resultIds,
      extra: extraOf(r, REPORT_MODELLED),
    };
  },
};

// ── MedicationRequest ──

export const MEDICATION_REQUEST_STATUSES = ['active', 'on-hold', 'cancelled', 'completed', 'entered-in-error', 'stopped', 'draft', 'unknown'] as const;
const MEDICATION_REQUEST_INTENTS = ['proposal', 'plan', 'order', 'original-order', 'reflex-order', 'filler-order', 'instance-order', 'option'] as const;
const MED_MODELLED = ['identifier', 'status', 'intent', 'medicationCodeableConcept', 'subject', 'encounter', 'authoredOn', 'requester', 'dosageInstruction'];

export const medicationRequestKind: ResourceKind = {
  type: 'MedicationRequest',
  table: 'medication_request',
  from: 'medication_request t',
  select: 't.*',
  residentColumn: 'resident_id',
  order: 't.authored_at DESC, t.id DESC',
  dateColumn: 'authored_at',
  writers: CLINICAL_WRITERS,
  include: { ...personIncludes('MedicationRequest'), 'MedicationRequest:encounter': { target: 'Encounter', column: 'encounter_id' }, 'MedicationRequest:requester': { target: 'Practitioner', column: 'practitioner_id' } },
  toFhir(row: Row): Json {
    const extra = { ...(row.extra ?? {}) };
    const dosage = row.dosage_text ? [{ ...(extra.dosageInstruction?.[0] ?? {}), text: row.dosage_text }, ...(extra.dosageInstruction?.slice(1) ?? [])] : extra.dosageInstruction;
    delete extra.dosageInstruction;
    return clean({
      ...head('MedicationRequest', row),
      status: row.status,
      intent: row.intent,
      medicationCodeableConcept: concept(row.code_system, row.code, row.display) ?? { text: row.display },
      subject: ref('Patient', row.resident_id),
      encounter: ref('Encounter', row.encounter_id),
      authoredOn: instant(row.authored_at),
      requester: ref('Practitioner', row.practitioner_id),
      dosageInstruction: dosage,
      ...extra,
    });
  },
  search: {
    ...personParams(),
    status: tokenParam('t.status'),
    intent: tokenParam('t.intent'),
    code: tokenParam('t.code', 't.code_system'),
    authoredon: dateParam('t.authored_at'),
    date: dateParam('t.authored_at', 'instant', 'when it was prescribed'),
    encounter: referenceParam('t.encounter_id', ['Encounter']),
    requester: referenceParam('t.practitioner_id', ['Practitioner', 'PractitionerRole']),
    // categories travel in `extra`: jsonb containment finds a coding among them (e.g. long / extended prescriptions)
    category: specialParam('token', (values, _m, params) => or(values.map((v) => {
      const [system, code] = v.includes('|') ? [v.slice(0, v.indexOf('|')), v.slice(v.indexOf('|') + 1)] : ['', v];
      return `t.extra->'category' @> ${params.add(JSON.stringify([{ coding: [{ ...(system ? { system } : {}), code }] }]))}::jsonb`;
    })), 'category code, e.g. long or extended (https://caregrid.dev/fhir/CodeSystem/prescription-kind), community'),
  },
  async toRow(r: Json, ctx, existing) {
    if (r.medicationReference !== undefined) throw new AppError('FHIR_UNSUPPORTED', { detail: 'medicationReference (send medicationCodeableConcept)' }, 'MedicationRequest.medicationReference');
    const med = codeable(r.medicationCodeableConcept, 'MedicationRequest.medicationCodeableConcept', { required: true })!;
    const dosages = array(r.dosageInstruction, 'MedicationRequest.dosageInstruction');
    const d0 = dosages.length ? object(dosages[0], 'MedicationRequest.dosageInstruction[0]')! : null;
    // the structured parts of a dosage (timing, route, dose) travel in `extra`; the text is the column the console shows
    const extraDosage = d0 ? [Object.fromEntries(Object.entries(d0).filter(([k]) => k !== 'text')), ...dosages.slice(1)].filter((d) => Object.keys(d).length) : [];
    const extra = extraOf(r, MED_MODELLED) ?? {};
    if (extraDosage.length) extra.dosageInstruction = extraDosage;
    return {
      ...(await recordColumns('MedicationRequest', r, ctx, existing)),
      encounter_id: await encounter(ctx, r.encounter, 'MedicationRequest.encounter'),
      status: required(code(r.status, MEDICATION_REQUEST_STATUSES, 'MedicationRequest.status'), 'MedicationRequest.status'),
      intent: required(code(r.intent, MEDICATION_REQUEST_INTENTS, 'MedicationRequest.intent'), 'MedicationRequest.intent'),
      code_system: med.system,
      code: med.system ? med.code : null,
      display: med.display ?? med.code,
      dosage_text: d0 ? str(d0.text, 'MedicationRequest.dosageInstruction[0].text', 1000) : null,
      authored_at: dateTime(r.authoredOn, 'MedicationRequest.authoredOn') ?? existing?.authored_at ?? new Date(),
      practitioner_id: await practitioner(ctx, r.requester, 'MedicationRequest.requester'),
      extra: Object.keys(extra).length ? extra : null,
    };
  },
};

// ── AllergyIntolerance ──

const ALLERGY_CLINICAL = ['active', 'inactive', 'resolved'] as const;
const ALLERGY_VERIFICATION = ['unconfirmed', 'confirmed', 'refuted', 'entered-in-error'] as const;
const CRITICALITIES = ['low', 'high', 'unable-to-assess'] as const;
const ALLERGY_CLINICAL_SYSTEM = 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical';
const ALLERGY_VERIFICATION_SYSTEM = 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification';
const ALLERGY_MODELLED = ['identifier', 'patient', 'code', 'clinicalStatus', 'criticality', 'recordedDate'];

export const allergyIntoleranceKind: ResourceKind = {
  type: 'AllergyIntolerance',
  table: 'allergy',
  from: 'allergy t',
  select: 't.*',
  residentColumn: 'resident_id',
  order: 't.recorded_at DESC, t.id DESC',
  dateColumn: 'recorded_at',
  writers: CLINICAL_WRITERS,
  include: { 'AllergyIntolerance:patient': { target: 'Patient', column: 'resident_id' } },
  toFhir(row: Row): Json {
    return clean({
      ...head('AllergyIntolerance', row),
      clinicalStatus: concept(ALLERGY_CLINICAL_SYSTEM, row.clinical_status),
      code: concept(row.code_system, row.code, row.display) ?? { text: row.display },
      criticality: row.criticality ?? undefined,
      patient: ref('Patient', row.resident_id),
      recordedDate: instant(row.recorded_at),
      ...(row.extra ?? {}),
    });
  },
  search: {
    patient: referenceParam('t.resident_id', ['Patient'], 'the resident'),
    identifier: personParams().identifier,
    code: tokenParam('t.code', 't.code_system'),
    'clinical-status': tokenParam('t.clinical_status', null, ALLERGY_CLINICAL_SYSTEM),
    criticality: tokenParam('t.criticality'),
    date: dateParam('t.recorded_at', 'instant', 'when it was recorded'),
  },
  async toRow(r: Json, ctx, existing) {
    const c = checkedCode(r.code, 'AllergyIntolerance.code');
    const clinical = codeable(r.clinicalStatus, 'AllergyIntolerance.clinicalStatus');
    const verification = codeable(r.verificationStatus, 'AllergyIntolerance.verificationStatus');
    if (verification) code(verification.code, ALLERGY_VERIFICATION, 'AllergyIntolerance.verificationStatus.coding[0].code');
    if (verification && verification.system !== null && verification.system !== ALLERGY_VERIFICATION_SYSTEM) throw invalid('AllergyIntolerance.verificationStatus.coding[0].system', `must be ${ALLERGY_VERIFICATION_SYSTEM}`);
    // ait-1: clinicalStatus SHALL be present unless the record is entered-in-error
    if (!clinical && verification?.code !== 'entered-in-error') throw new AppError('FHIR_REQUIRED', { path: 'AllergyIntolerance.clinicalStatus' }, 'AllergyIntolerance.clinicalStatus');
    // ait-2: and SHALL NOT be present when it is
    if (clinical && verification?.code === 'entered-in-error') throw invalid('AllergyIntolerance.clinicalStatus', 'must be absent when verificationStatus is entered-in-error');
    return {
      ...(await recordColumns('AllergyIntolerance', r, ctx, existing, { patientElement: 'patient' })),
      code_system: c.system,
      code: c.system ? c.code : null,
      display: c.display ?? c.code,
      clinical_status: clinical ? code(clinical.code, ALLERGY_CLINICAL, 'AllergyIntolerance.clinicalStatus.coding[0].code') : null,
      criticality: code(r.criticality, CRITICALITIES, 'AllergyIntolerance.criticality'),
      recorded_at: dateTime(r.recordedDate, 'AllergyIntolerance.recordedDate') ?? existing?.recorded_at ?? new Date(),
      extra: extraOf(r, ALLERGY_MODELLED),
    };
  },
};

// ── Immunization ──

const IMMUNIZATION_STATUSES = ['completed', 'entered-in-error', 'not-done'] as const;
const IMM_MODELLED = ['identifier', 'status', 'vaccineCode', 'patient', 'occurrenceDateTime', 'lotNumber', 'protocolApplied', 'performer'];

export const immunizationKind: ResourceKind = {
  type: 'Immunization',
  table: 'immunization',
  from: 'immunization t',
  select: 't.*',
  residentColumn: 'resident_id',
  order: 't.occurrence_at DESC, t.id DESC',
  dateColumn: 'occurrence_at',
  writers: CLINICAL_WRITERS,
  include: { 'Immunization:patient': { target: 'Patient', column: 'resident_id' }, 'Immunization:performer': { target: 'Organization', column: 'institution_id' } },
  toFhir(row: Row): Json {
    return clean({
      ...head('Immunization', row),
      status: row.status,
      vaccineCode: concept(row.code_system, row.code, row.display),
      patient: ref('Patient', row.resident_id),
      occurrenceDateTime: instant(row.occurrence_at),
      lotNumber: row.lot_number ?? undefined,
      performer: [{ actor: ref('Organization', row.institution_id) }],
      protocolApplied: row.dose_number ? [{ doseNumberPositiveInt: Number(row.dose_number) }] : undefined,
      ...(row.extra ?? {}),
    });
  },
  search: {
    patient: referenceParam('t.resident_id', ['Patient'], 'the resident'),
    identifier: personParams().identifier,
    status: tokenParam('t.status'),
    'vaccine-code': tokenParam('t.code', 't.code_system'),
    date: dateParam('t.occurrence_at'),
    'lot-number': stringParam(['t.lot_number'], 'lot number (prefix; :exact)'),
    performer: referenceParam('t.institution_id', ['Organization']),
  },
  async toRow(r: Json, ctx, existing) {
    const c = checkedCode(r.vaccineCode, 'Immunization.vaccineCode');
    if (r.occurrenceString !== undefined) throw new AppError('FHIR_UNSUPPORTED', { detail: 'occurrenceString (send occurrenceDateTime)' }, 'Immunization.occurrenceString');
    const protocols = array(r.protocolApplied, 'Immunization.protocolApplied');
    let dose: number | null = null;
    if (protocols.length) {
      const p0 = object(protocols[0], 'Immunization.protocolApplied[0]')!;
      if (p0.doseNumberString !== undefined) throw new AppError('FHIR_UNSUPPORTED', { detail: 'doseNumberString (send doseNumberPositiveInt)' }, 'Immunization.protocolApplied[0].doseNumberString');
      dose = required(num(p0.doseNumberPositiveInt, 'Immunization.protocolApplied[0].doseNumberPositiveInt'), 'Immunization.protocolApplied[0].doseNumber[x]');
      if (!Number.isInteger(dose) || dose < 1 || dose > 100) throw invalid('Immunization.protocolApplied[0].doseNumberPositiveInt', 'a positive whole number');
    }
    const performers = array(r.performer, 'Immunization.performer');
    const actor = performers.length ? object(performers[0], 'Immunization.performer[0]')!.actor : null;
    return {
      ...(await recordColumns('Immunization', r, ctx, existing, { patientElement: 'patient', institution: actor, institutionPath: 'Immunization.performer[0].actor' })),
      status: required(code(r.status, IMMUNIZATION_STATUSES, 'Immunization.status'), 'Immunization.status'),
      code_system: c.system ?? SYSTEM.local,
      code: c.code,
      display: c.display,
      occurrence_at: required(dateTime(r.occurrenceDateTime, 'Immunization.occurrenceDateTime'), 'Immunization.occurrenceDateTime'),
      lot_number: str(r.lotNumber, 'Immunization.lotNumber', 100),
      dose_number: dose,
      extra: extraOf(r, IMM_MODELLED),
    };
  },
};

// ── DocumentReference ──

const DOCUMENT_STATUSES = ['current', 'superseded', 'entered-in-error'] as const;
/** CareGrid's document kinds and the LOINC document type each one is (both codings are shown; either is accepted). */
const DOCUMENT_TYPES: Record<string, string | null> = {
  discharge_summary: '18842-5', referral_note: '57133-1', imaging_report: '18748-4', progress_note: '11506-3',
  consult_note: '11488-4', lab_report: '11502-2', history_and_physical: '34117-2', other: null,
};
const DOCUMENT_TYPE_CODES = Object.keys(DOCUMENT_TYPES);
const FROM_LOINC = new Map(Object.entries(DOCUMENT_TYPES).filter(([, l]) => l).map(([k, l]) => [l!, k]));
const DOC_MODELLED = ['identifier', 'status', 'type', 'subject', 'date', 'custodian', 'content', 'context'];
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function documentType(value: unknown): string {
  const path = 'DocumentReference.type';
  const cc = required(object(value, path), path);
  const codings = array(cc.coding, `${path}.coding`);
  for (let i = 0; i < codings.length; i++) {
    const c = object(codings[i], `${path}.coding[${i}]`)!;
    if (c.system === SYSTEM.documentType) return code(c.code, DOCUMENT_TYPE_CODES, `${path}.coding[${i}].code`)!;
    if (c.system === SYSTEM.loinc) {
      const known = FROM_LOINC.get(String(c.code));
      if (!known) throw invalid(`${path}.coding[${i}].code`, `"${String(c.code).slice(0, 20)}" is not a LOINC document type CareGrid keeps (${[...FROM_LOINC.keys()].join(', ')})`);
      return known;
    }
  }
  throw new AppError('FHIR_REQUIRED', { path: `${path}.coding` }, `${path}.coding`);
}

/** Text documents are kept as text (searchable, shown in the console); other content stays base64 as it came. */
function attachmentContent(att: Json, path: string): { contentType: string; text: string | null; url: string | null } {
  const contentType = str(att.contentType, `${path}.contentType`, 100);
  const data = str(att.data, `${path}.data`, 20_000_000);
  const url = str(att.url, `${path}.url`, 2000);
  if (!data && !url) throw new AppError('FHIR_REQUIRED', { path: `${path}.data` }, `${path}.data`);
  if (url && !/^(https?|urn):/.test(url)) throw invalid(`${path}.url`, 'an http(s) URL or a URN');
  // att-1: data needs a contentType
  if (data && !contentType) throw new AppError('FHIR_REQUIRED', { path: `${path}.contentType` }, `${path}.contentType`);
  if (contentType && !/^[a-z]+\/[A-Za-z0-9.+-]+(;.*)?$/.test(contentType)) throw invalid(`${path}.contentType`, 'a MIME type such as text/plain');
  let text: string | null = null;
  if (data) {
    const compact = data.replace(/\s+/g, '');
    if (!BASE64_RE.test(compact)) throw invalid(`${path}.data`, 'is not base64');
    if (contentType!.startsWith('text/')) {
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(compact, 'base64'));
      } catch {
        throw invalid(`${path}.data`, 'text content must be UTF-8');
      }
    } else text = compact;
  }
  return { contentType: contentType ?? 'text/plain', text, url };
}

export const documentReferenceKind: ResourceKind = {
  type: 'DocumentReference',
  table: 'document',
  from: 'document t',
  select: 't.*',
  residentColumn: 'resident_id',
  order: 't.authored_at DESC, t.id DESC',
  dateColumn: 'authored_at',
  writers: CLINICAL_WRITERS,
  include: { ...personIncludes('DocumentReference'), 'DocumentReference:encounter': { target: 'Encounter', column: 'encounter_id' }, 'DocumentReference:custodian': { target: 'Organization', column: 'institution_id' } },
  toFhir(row: Row): Json {
    const loinc = DOCUMENT_TYPES[row.type_code];
    const isText = String(row.content_type).startsWith('text/');
    const data = row.content_text === null || row.content_text === undefined ? undefined : isText ? Buffer.from(row.content_text, 'utf8').toString('base64') : row.content_text;
    return clean({
      ...head('DocumentReference', row),
      status: row.status,
      type: { coding: [{ system: SYSTEM.documentType, code: row.type_code }, ...(loinc ? [{ system: SYSTEM.loinc, code: loinc }] : [])] },
      subject: ref('Patient', row.resident_id),
      date: instant(row.authored_at),
      custodian: ref('Organization', row.institution_id),
      content: [{ attachment: clean({ contentType: row.content_type, data, url: row.content_url ?? undefined, title: row.title ?? undefined }) }],
      context: row.encounter_id ? { encounter: [ref('Encounter', row.encounter_id)] } : undefined,
      ...(row.extra ?? {}),
    });
  },
  search: {
    ...personParams(),
    status: tokenParam('t.status'),
    type: specialParam('token', (values, _m, params) => or(values.map((v) => {
      const c = v.includes('|') ? v.slice(v.indexOf('|') + 1) : v;
      return `t.type_code = ${params.add(FROM_LOINC.get(c) ?? c)}`;
    })), 'document type (CareGrid code or LOINC)'),
    date: dateParam('t.authored_at'),
    encounter: referenceParam('t.encounter_id', ['Encounter']),
    custodian: referenceParam('t.institution_id', ['Organization']),
    contenttype: tokenParam('t.content_type'),
    description: stringParam(['t.title'], 'title (prefix; :contains)'),
  },
  async toRow(r: Json, ctx, existing) {
    const contents = array(r.content, 'DocumentReference.content');
    if (!contents.length) throw new AppError('FHIR_REQUIRED', { path: 'DocumentReference.content' }, 'DocumentReference.content');
    if (contents.length > 1) throw new AppError('FHIR_UNSUPPORTED', { detail: 'more than one content' }, 'DocumentReference.content[1]');
    const att = required(object(object(contents[0], 'DocumentReference.content[0]')!.attachment, 'DocumentReference.content[0].attachment'), 'DocumentReference.content[0].attachment');
    const content = attachmentContent(att, 'DocumentReference.content[0].attachment');
    const context = object(r.context, 'DocumentReference.context');
    const encounters = context ? array(context.encounter, 'DocumentReference.context.encounter') : [];
    return {
      ...(await recordColumns('DocumentReference', r, ctx, existing, { institution: r.custodian, institutionPath: 'DocumentReference.custodian' })),
      encounter_id: encounters.length ? await encounter(ctx, encounters[0], 'DocumentReference.context.encounter[0]') : null,
      status: required(code(r.status, DOCUMENT_STATUSES, 'DocumentReference.status'), 'DocumentReference.status'),
      type_code: documentType(r.type),
      title: str(att.title, 'DocumentReference.content[0].attachment.title', 300),
      content_type: content.contentType,
      content_text: content.text,
      content_url: content.url,
      authored_at: dateTime(r.date, 'DocumentReference.date') ?? existing?.authored_at ?? new Date(),
      extra: extraOf(r, DOC_MODELLED),
    };
  },
};

// ── ServiceRequest ──

export const SERVICE_REQUEST_STATUSES = ['draft', 'active', 'on-hold', 'revoked', 'completed', 'entered-in-error', 'unknown'] as const;
const REQUEST_INTENTS = ['proposal', 'plan', 'directive', 'order', 'original-order', 'reflex-order', 'filler-order', 'instance-order', 'option'] as const;
// the SNOMED CT codes of FHIR's servicerequest-category example value set
const SNOMED_SR_CATEGORIES: Record<string, string> = { '108252007': 'Laboratory procedure', '363679005': 'Imaging', '409063005': 'Counselling', '409073007': 'Education', '387713003': 'Surgical procedure' };
const SR_MODELLED = ['identifier', 'status', 'intent', 'category', 'code', 'subject', 'encounter', 'authoredOn', 'requester', 'performer'];

export const serviceRequestKind: ResourceKind = {
  type: 'ServiceRequest',
  table: 'service_request',
  from: 'service_request t',
  select: 't.*',
  residentColumn: 'resident_id',
  order: 't.authored_at DESC, t.id DESC',
  dateColumn: 'authored_at',
  writers: CLINICAL_WRITERS,
  include: {
    ...personIncludes('ServiceRequest'), 'ServiceRequest:encounter': { target: 'Encounter', column: 'encounter_id' },
    'ServiceRequest:requester': { target: 'Practitioner', column: 'practitioner_id' }, 'ServiceRequest:performer': { target: 'Organization', column: 'performer_institution_id' },
  },
  toFhir(row: Row): Json {
    const snomed = row.category ? SNOMED_SR_CATEGORIES[row.category] : undefined;
    return clean({
      ...head('ServiceRequest', row),
      status: row.status,
      intent: row.intent,
      category: row.category ? [concept(snomed ? SYSTEM.snomed : SYSTEM.local, row.category, snomed)] : undefined,
      code: concept(row.code_system, row.code, row.display),
      subject: ref('Patient', row.resident_id),
      encounter: ref('Encounter', row.encounter_id),
      authoredOn: instant(row.authored_at),
      requester: ref('Practitioner', row.practitioner_id),
      performer: row.performer_institution_id ? [ref('Organization', row.performer_institution_id)] : undefined,
      // a recognised earlier result reused instead of repeating the test (mutual recognition)
      supportingInfo: row.reused_observation_id ? [ref('Observation', row.reused_observation_id)] : undefined,
      ...(row.extra ?? {}),
    });
  },
  search: {
    ...personParams(),
    status: tokenParam('t.status'),
    intent: tokenParam('t.intent'),
    code: tokenParam('t.code', 't.code_system'),
    category: tokenParam('t.category'),
    authored: dateParam('t.authored_at'),
    date: dateParam('t.authored_at', 'instant', 'when it was ordered'),
    encounter: referenceParam('t.encounter_id', ['Encounter']),
    requester: referenceParam('t.practitioner_id', ['Practitioner', 'PractitionerRole']),
    performer: referenceParam('t.performer_institution_id', ['Organization']),
  },
  async toRow(r: Json, ctx, existing) {
    const c = checkedCode(r.code, 'ServiceRequest.code');
    const categories = array(r.category, 'ServiceRequest.category');
    const cat = categories.length ? codeable(categories[0], 'ServiceRequest.category[0]') : null;
    if (cat?.system === SYSTEM.snomed && !SNOMED_SR_CATEGORIES[cat.code]) throw invalid('ServiceRequest.category[0].coding[0].code', `"${cat.code}" is not one of ${Object.keys(SNOMED_SR_CATEGORIES).join(', ')}`);
    const performers = array(r.performer, 'ServiceRequest.performer');
    return {
      ...(await recordColumns('ServiceRequest', r, ctx, existing)),
      encounter_id: await encounter(ctx, r.encounter, 'ServiceRequest.encounter'),
      status: required(code(r.status, SERVICE_REQUEST_STATUSES, 'ServiceRequest.status'), 'ServiceRequest.status'),
      intent: required(code(r.intent, REQUEST_INTENTS, 'ServiceRequest.intent'), 'ServiceRequest.intent'),
      category: cat?.code ?? null,
      code_system: c.system ?? SYSTEM.local,
      code: c.code,
      display: c.display,
      authored_at: dateTime(r.authoredOn, 'ServiceRequest.authoredOn') ?? existing?.authored_at ?? new Date(),
      practitioner_id: await practitioner(ctx, r.requester, 'ServiceRequest.requester'),
      performer_institution_id: performers.length ? await ctx.resolve(parseReference(performers[0], 'ServiceRequest.performer[0]', ['Organization']), 'ServiceRequest.performer[0]') : null,
      extra: extraOf(r, SR_MODELLED),
    };
  },
};
