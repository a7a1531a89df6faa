// Synthetic clinical visits for the records benchmark: one visit is an Encounter with 20 Observations (vital signs and
// laboratory results, LOINC + UCUM) and 4 Conditions (ICD-10), 25 resources. The same visits become a FHIR transaction
// Bundle (for the server) or plain rows (for the raw engine reference), so both write the same data.
import { randomUUID } from 'node:crypto';
import { SYSTEM } from '../src/fhir/datatypes.ts';
import { VITAL_SIGN_CODES, loincValid } from '../src/fhir/resources/observation.ts';

export interface BundlePatient {
  residentId: number;
  /** how the bundle names the patient: `Patient?identifier=<id card system>|<number>` or `Patient/<id>` */
  reference: string;
}

/** LOINC code, display, UCUM unit, typical value and spread, reference range. */
const OBSERVATIONS: [string, string, string, number, number, number | null, number | null][] = [
  ['8480-6', 'Systolic blood pressure', 'mm[Hg]', 132, 18, 90, 140],
  ['8462-4', 'Diastolic blood pressure', 'mm[Hg]', 82, 10, 60, 90],
  ['8867-4', 'Heart rate', '/min', 74, 10, 60, 100],
  ['9279-1', 'Respiratory rate', '/min', 16, 2, 12, 20],
  ['8310-5', 'Body temperature', 'Cel', 36.6, 0.4, 36, 37.3],
  ['29463-7', 'Body weight', 'kg', 66, 12, null, null],
  ['8302-2', 'Body height', 'cm', 163, 8, null, null],
  ['39156-5', 'Body mass index', 'kg/m2', 24.5, 3, 18.5, 24],
  ['59408-5', 'Oxygen saturation', '%', 97, 1.5, 95, 100],
  ['2339-0', 'Glucose', 'mmol/L', 6.1, 1.4, 3.9, 6.1],
  ['2093-3', 'Cholesterol', 'mmol/L', 5.0, 0.9, null, 5.2],
  ['2571-8', 'Triglyceride', 'mmol/L', 1.6, 0.6, null, 1.7],
  ['2085-9', 'HDL cholesterol', 'mmol/L', 1.3, 0.3, 1.0, null],
  ['13457-7', 'LDL cholesterol', 'mmol/L', 3.0, 0.7, null, 3.4],
  ['4548-4', 'Hemoglobin A1c', '%', 6.0, 0.9, 4, 6],
  ['2160-0', 'Creatinine', 'umol/L', 78, 18, 44, 133],
  ['3094-0', 'Urea nitrogen', 'mmol/L', 5.4, 1.2, 2.9, 8.2],
  ['1742-6', 'ALT', 'U/L', 26, 10, 7, 40],
  ['1920-8', 'AST', 'U/L', 24, 8, 13, 35],
  ['718-7', 'Hemoglobin', 'g/L', 135, 14, 115, 175],
];
for (const [code] of OBSERVATIONS) if (!loincValid(code)) throw new Error(`bench: ${code} is not a valid LOINC code`);
const CONDITIONS: [string, string][] = [['I10', '原发性高血压'], ['E11.9', '2型糖尿病'], ['E78.5', '高脂血症'], ['J06.9', '急性上呼吸道感染']];

export const OBSERVATIONS_PER_VISIT = OBSERVATIONS.length;
export const CONDITIONS_PER_VISIT = CONDITIONS.length;
export const RESOURCES_PER_VISIT = 1 + OBSERVATIONS_PER_VISIT + CONDITIONS_PER_VISIT;

const SENDER = 'https://his.bench.example';

export interface Visit {
  patient: BundlePatient;
  /** unique sender key of the visit (the identifiers of its resources derive from it) */
  key: string;
  start: Date;
  values: number[];
}

/** A cheap deterministic hash → [0, 1). */
function unit(n: number): number {
  const x = Math.sin(n * 12.9898 + 78.233) * 43758.5453;
  return x - Math.floor(x);
}

/** The `n`-th bundle's visits: `count` distinct patients taken round-robin, keys unique per (tag, n). */
export function nextVisits(patients: BundlePatient[], n: number, count: number, tag: string): Visit[] {
  const out: Visit[] = [];
  for (let i = 0; i < count; i++) {
    const seq = n * count + i;
    const patient = patients[seq % patients.length];
    const start = new Date(Date.UTC(2026, 0, 1) + Math.floor(unit(seq) * 320 * 86400) * 1000);
    out.push({ patient, key: `${tag}-${n}-${i}`, start, values: OBSERVATIONS.map(([, , , mean, sd], k) => round1(mean + sd * (unit(seq * 31 + k) * 2 - 1) * 1.7)) });
  }
  return out;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** The visits as one FHIR transaction Bundle: the Encounter by `urn:uuid:`, every entry with its sender identifier. */
export function bundleOf(visits: Visit[]): object {
  const entry: object[] = [];
  for (const v of visits) {
    const enc = `urn:uuid:${randomUUID()}`;
    const subject = { reference: v.patient.reference };
    const end = new Date(v.start.getTime() + 20 * 60_000);
    entry.push({
      fullUrl: enc,
      resource: {
        resourceType: 'Encounter', identifier: [{ system: `${SENDER}/encounter`, value: v.key }], status: 'finished',
        class: { system: SYSTEM.v3ActCode, code: 'AMB' }, serviceType: { text: '全科门诊' }, subject,
        period: { start: v.start.toISOString(), end: end.toISOString() }, reasonCode: [{ text: '慢病随访' }],
      },
      request: { method: 'POST', url: 'Encounter' },
    });
    OBSERVATIONS.forEach(([code, display, ucum, , , low, high], k) => {
      entry.push({
        fullUrl: `urn:uuid:${randomUUID()}`,
        resource: {
          resourceType: 'Observation', identifier: [{ system: `${SENDER}/observation`, value: `${v.key}-o${k}` }], status: 'final',
          code: { coding: [{ system: SYSTEM.loinc, code, display }] }, subject, encounter: { reference: enc },
          effectiveDateTime: new Date(v.start.getTime() + 5 * 60_000).toISOString(),
          valueQuantity: { value: v.values[k], unit: ucum, system: SYSTEM.ucum, code: ucum },
          ...(low !== null || high !== null ? { referenceRange: [{ ...(low !== null ? { low: { value: low, unit: ucum } } : {}), ...(high !== null ? { high: { value: high, unit: ucum } } : {}) }] } : {}),
        },
        request: { method: 'POST', url: 'Observation' },
      });
    });
    CONDITIONS.forEach(([code, display], k) => {
      entry.push({
        fullUrl: `urn:uuid:${randomUUID()}`,
        resource: {
          resourceType: 'Condition', identifier: [{ system: `${SENDER}/condition`, value: `${v.key}-c${k}` }],
          clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
          verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' }] },
          category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'encounter-diagnosis' }] }],
          code: { coding: [{ system: SYSTEM.icd10, code, display }] }, subject, encounter: { reference: enc }, recordedDate: end.toISOString(),
        },
        request: { method: 'POST', url: 'Condition' },
      });
    });
  }
  return { resourceType: 'Bundle', type: 'transaction', entry };
}

/** One multi-row INSERT: its SQL and parameters. */
function multiInsert(table: string, cols: string[], rows: unknown[][], returning = ''): [string, unknown[]] {
  const params: unknown[] = [];
  const tuples = rows.map((r) => `(${r.map((v) => (params.push(v), `$${params.length}`)).join(', ')})`);
  return [`INSERT INTO ${table} (${cols.join(', ')}) VALUES ${tuples.join(', ')}${returning}`, params];
}

/**
 * The raw engine reference for one bundle: the same rows with plain multi-row INSERTs (encounters, then their
 * observations, then their conditions), to be run in one transaction.
 */
export async function insertVisitsRaw(q: { query(sql: string, params?: unknown[]): Promise<{ rows: any[] }> }, visits: Visit[], institutionId: number): Promise<number> {
  const [encSql, encParams] = multiInsert('encounter', ['resident_id', 'institution_id', 'source_id', 'class', 'status', 'department', 'start_at', 'end_at', 'reason'],
    visits.map((v) => [v.patient.residentId, institutionId, `${SENDER}/encounter|${v.key}`, 'outpatient', 'finished', '全科门诊', v.start, new Date(v.start.getTime() + 20 * 60_000), '慢病随访']), ' RETURNING id');
  const { rows: encs } = await q.query(encSql, encParams);
  const obsRows: unknown[][] = [];
  const condRows: unknown[][] = [];
  visits.forEach((v, i) => {
    const at = new Date(v.start.getTime() + 5 * 60_000);
    OBSERVATIONS.forEach(([code, display, ucum, , , low, high], k) => {
      obsRows.push([v.patient.residentId, encs[i].id, institutionId, `${SENDER}/observation|${v.key}-o${k}`, VITAL_SIGN_CODES.has(code) ? 'vital-signs' : 'laboratory', SYSTEM.loinc, code, display, 'final', at, v.values[k], ucum, ucum, low, high]);
    });
    CONDITIONS.forEach(([code, display], k) => {
      condRows.push([v.patient.residentId, encs[i].id, institutionId, `${SENDER}/condition|${v.key}-c${k}`, 'encounter-diagnosis', SYSTEM.icd10, code, display, 'active', 'confirmed', new Date(v.start.getTime() + 20 * 60_000)]);
    });
  });
  await q.query(...multiInsert('observation', ['resident_id', 'encounter_id', 'institution_id', 'source_id', 'category', 'code_system', 'code', 'display', 'status', 'effective_at', 'value_num', 'unit', 'unit_code', 'ref_low', 'ref_high'], obsRows));
  await q.query(...multiInsert('condition', ['resident_id', 'encounter_id', 'institution_id', 'source_id', 'category', 'code_system', 'code', 'display', 'clinical_status', 'verification_status', 'recorded_at'], condRows));
  return visits.length * RESOURCES_PER_VISIT;
}
