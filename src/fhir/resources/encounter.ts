// Encounter: outpatient, emergency, inpatient (admission to discharge), fever clinic, home visit, health check and
// follow-up visits from every institution. FHIR's class carries the v3 ActCode; CareGrid's finer kind is Encounter.type.
import type { Row } from '../../db/engine.ts';
import { SYSTEM, array, clean, code, codeable, concept, dateTime, extraOf, identifierKey, instant, invalid, object, parseReference, ref, required, str, type Json } from '../datatypes.ts';
import { dateParam, specialParam, tokenParam, referenceParam, or } from '../search.ts';
import type { ResourceKind } from '../types.ts';
import { CLINICAL_WRITERS, head, owningInstitution, personIncludes, personParams } from './common.ts';
import { addDays, districtDate } from '../../platform/local-date.ts';

export const ENCOUNTER_CLASSES = ['outpatient', 'emergency', 'inpatient', 'fever_clinic', 'home_visit', 'health_check', 'follow_up'] as const;
export const ENCOUNTER_STATUSES = ['planned', 'arrived', 'triaged', 'in-progress', 'onleave', 'finished', 'cancelled', 'entered-in-error', 'unknown'] as const;
type EncounterClass = (typeof ENCOUNTER_CLASSES)[number];

// v3 ActEncounterCode for each CareGrid kind, and back
const TO_ACT: Record<EncounterClass, string> = { outpatient: 'AMB', emergency: 'EMER', inpatient: 'IMP', fever_clinic: 'AMB', home_visit: 'HH', health_check: 'AMB', follow_up: 'AMB' };
const FROM_ACT: Record<string, EncounterClass> = { AMB: 'outpatient', EMER: 'emergency', IMP: 'inpatient', ACUTE: 'inpatient', NONAC: 'inpatient', SS: 'inpatient', OBSENC: 'emergency', PRENC: 'outpatient', HH: 'home_visit', VR: 'outpatient', FLD: 'home_visit' };
const CLASS_DISPLAY: Record<string, string> = { AMB: 'ambulatory', EMER: 'emergency', IMP: 'inpatient encounter', HH: 'home health' };

const MODELLED = ['identifier', 'status', 'class', 'type', 'serviceType', 'subject', 'period', 'serviceProvider', 'participant', 'reasonCode', 'hospitalization'];

export const encounterKind: ResourceKind = {
  type: 'Encounter',
  table: 'encounter',
  from: 'encounter t',
  select: 't.*',
  residentColumn: 'resident_id',
  order: 't.start_at DESC, t.id DESC',
  dateColumn: 'start_at',
  writers: CLINICAL_WRITERS,
  include: { ...personIncludes('Encounter'), 'Encounter:service-provider': { target: 'Organization', column: 'institution_id' }, 'Encounter:practitioner': { target: 'Practitioner', column: 'practitioner_id' } },
  toFhir(row: Row): Json {
    const act = TO_ACT[row.class as EncounterClass] ?? 'AMB';
    return clean({
      ...head('Encounter', row),
      status: row.status,
      class: { system: SYSTEM.v3ActCode, code: act, display: CLASS_DISPLAY[act] },
      type: [concept(SYSTEM.encounterClass, row.class)],
      serviceType: row.department ? { text: row.department } : undefined,
      subject: ref('Patient', row.resident_id),
      participant: row.practitioner_id ? [{ individual: ref('Practitioner', row.practitioner_id) }] : undefined,
      period: clean({ start: instant(row.start_at), end: instant(row.end_at) }),
      reasonCode: row.reason ? [{ text: row.reason }] : undefined,
      hospitalization: row.discharge_disposition ? { dischargeDisposition: { text: row.discharge_disposition } } : undefined,
      serviceProvider: ref('Organization', row.institution_id),
      ...(row.extra ?? {}),
    });
  },
  search: {
    ...personParams(),
    date: dateParam('t.start_at'),
    status: tokenParam('t.status'),
    class: specialParam('token', (values, _m, params) => or(values.map((v) => {
      const c = v.includes('|') ? v.slice(v.indexOf('|') + 1) : v;
      const kinds = Object.entries(TO_ACT).filter(([, a]) => a === c).map(([k]) => k);
      return kinds.length ? `t.class = ANY(${params.add(kinds)}::text[])` : 'FALSE';
    })), 'v3 ActCode (AMB, EMER, IMP, HH)'),
    type: tokenParam('t.class', null, SYSTEM.encounterClass, 'CareGrid encounter kind'),
    'service-provider': referenceParam('t.institution_id', ['Organization']),
    practitioner: referenceParam('t.practitioner_id', ['Practitioner']),
    participant: referenceParam('t.practitioner_id', ['Practitioner']),
  },
  async toRow(r: Json, ctx, existing) {
    const status = required(code(r.status, ENCOUNTER_STATUSES, 'Encounter.status'), 'Encounter.status');
    const cls = required(object(r.class, 'Encounter.class'), 'Encounter.class');
    const act = required(str(cls.code, 'Encounter.class.code', 20), 'Encounter.class.code');
    let kind: EncounterClass | undefined = FROM_ACT[act];
    for (const [i, t] of array(r.type, 'Encounter.type').entries()) {
      const c = codeable(t, `Encounter.type[${i}]`);
      if (c && c.system === SYSTEM.encounterClass) kind = code(c.code, ENCOUNTER_CLASSES, `Encounter.type[${i}].coding[0].code`)!;
    }
    if (!kind) throw invalid('Encounter.class.code', `"${act}" is not a v3 ActEncounterCode CareGrid knows (AMB, EMER, IMP, HH, …)`);
    const period = object(r.period, 'Encounter.period');
    const start = dateTime(period?.start, 'Encounter.period.start');
    const end = dateTime(period?.end, 'Encounter.period.end');
    if (start && end && end < start) throw invalid('Encounter.period.end', 'is before the start');
    const residentId = await ctx.resolve(parseReference(required(r.subject, 'Encounter.subject'), 'Encounter.subject', ['Patient']), 'Encounter.subject');
    const institutionId = await owningInstitution(ctx, parseReference(r.serviceProvider, 'Encounter.serviceProvider', ['Organization']), 'Encounter.serviceProvider', existing);
    const participants = array(r.participant, 'Encounter.participant');
    let practitionerId: number | null = null;
    for (const [i, p] of participants.entries()) {
      const ind = object(p, `Encounter.participant[${i}]`)?.individual;
      if (ind && !practitionerId) practitionerId = await ctx.resolve(parseReference(ind, `Encounter.participant[${i}].individual`, ['Practitioner', 'PractitionerRole']), `Encounter.participant[${i}].individual`);
    }
    const reasons = array(r.reasonCode, 'Encounter.reasonCode');
    const reason = reasons.length ? codeable(reasons[0], 'Encounter.reasonCode[0]')?.display ?? null : null;
    const serviceType = codeable(r.serviceType, 'Encounter.serviceType');
    const hosp = object(r.hospitalization, 'Encounter.hospitalization');
    return {
      resident_id: residentId,
      institution_id: institutionId,
      source_id: identifierKey(r.identifier, 'Encounter.identifier'),
      class: kind,
      status,
      department: serviceType?.display ?? serviceType?.code ?? null,
      practitioner_id: practitionerId,
      start_at: start ?? (status === 'planned' ? new Date() : required(start, 'Encounter.period.start')),
      end_at: end,
      reason,
      discharge_disposition: hosp ? codeable(hosp.dischargeDisposition, 'Encounter.hospitalization.dischargeDisposition')?.display ?? null : null,
      extra: extraOf(r, MODELLED),
    };
  },
  async afterWrite(_id, v, ctx) {
    // Care given at an institution is a care relationship: its clinicians may read the shared record for a while.
    await ensureTreatmentRelationship(ctx.q, v.resident_id as number, v.institution_id as number, v.class === 'inpatient' ? 'admission' : 'consultation', (v.end_at ?? v.start_at) as Date);
  },
};

/** Days a treating institution keeps access to the shared record after the encounter (configurable per district). */
export const TREATMENT_ACCESS_DAYS = 90;

export interface TreatmentGrant {
  residentId: number;
  institutionId: number;
  kind: 'admission' | 'consultation';
  /** The care's last moment; access runs TREATMENT_ACCESS_DAYS past its (China Standard Time) date. */
  until: Date | string;
}

type Runs = { query: (s: string, p?: unknown[]) => Promise<any> };

/**
 * One relationship per (resident, institution, kind), created or extended to the latest date, for any number of
 * grants in one statement: the FHIR API writes one, a bulk import a whole batch. `known` says the caller knows every
 * grant's relationship exists (a bulk import's later batches for keys an earlier batch committed): the statement then
 * only extends, without the probe for a missing row.
 */
export async function ensureTreatmentRelationships(q: Runs, grants: readonly TreatmentGrant[], known = false) {
  const latest = new Map<string, TreatmentGrant>();
  const cutoff = treatmentCutoff();
  for (const g of grants) {
    if (new Date(g.until).getTime() < cutoff) continue; // care whose access has already run out grants nothing
    const key = `${g.residentId}|${g.institutionId}|${g.kind}`;
    const prev = latest.get(key);
    if (!prev || new Date(g.until) > new Date(prev.until)) latest.set(key, g);
  }
  if (!latest.size) return;
  const list = [...latest.values()];
  // `institution_id + 0` keeps the partial institution index out of the probes: (resident_id, kind, institution_id)
  // finds the one row per key
  const extend = `UPDATE care_relationship cr SET valid_to = a.valid_to FROM a
        WHERE cr.resident_id = a.resident_id AND cr.kind = a.kind AND cr.institution_id + 0 = a.institution_id
          AND cr.valid_to < a.valid_to`;
  await q.query(
    `WITH a AS (
       SELECT resident_id, institution_id, kind, (until AT TIME ZONE 'Asia/Shanghai')::date + $5::int AS valid_to
         FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::timestamptz[]) AS v(resident_id, institution_id, kind, until))` +
      (known
        ? ` ${extend}`
        : `, u AS (${extend} RETURNING 1)
     INSERT INTO care_relationship (resident_id, kind, institution_id, valid_from, valid_to, source_ref)
     SELECT a.resident_id, a.kind, a.institution_id, $6::date, a.valid_to, 'encounter' FROM a
      WHERE NOT EXISTS (SELECT 1 FROM care_relationship cr WHERE cr.resident_id = a.resident_id AND cr.kind = a.kind AND cr.institution_id + 0 = a.institution_id)`),
    [list.map((g) => g.residentId), list.map((g) => g.institutionId), list.map((g) => g.kind), list.map((g) => new Date(g.until).toISOString()), TREATMENT_ACCESS_DAYS, ...(known ? [] : [districtDate()])],
  );
}

/**
 * The earliest moment (ms) of care whose access still runs today: care gives access to the end of its district date
 * + TREATMENT_ACCESS_DAYS, so care before the start of (today − TREATMENT_ACCESS_DAYS) in Beijing time (UTC+8, no
 * daylight saving) has run out. One comparison per record instead of a date formatted per record.
 */
export function treatmentCutoff(today = districtDate()): number {
  return Date.parse(`${addDays(today, -TREATMENT_ACCESS_DAYS)}T00:00:00+08:00`);
}

/**
 * The moment a record's care took place, for its treatment relationship: its clinical date (an Observation's
 * effective time, a Condition's recorded date, …), or now for a record without one. A result sent today for a
 * sample taken last year is history, not current care: it does not open the shared record for another 90 days
 * (a bulk load of a hospital's archive would otherwise open every resident it ever treated).
 */
export function careMoment(kind: ResourceKind, values: Record<string, unknown>, now: Date | string = new Date()): Date | string {
  const v = kind.dateColumn ? values[kind.dateColumn] : null;
  return v instanceof Date || typeof v === 'string' ? v : now;
}

export function ensureTreatmentRelationship(q: Runs, residentId: number, institutionId: number, kind: 'admission' | 'consultation', until: Date) {
  return ensureTreatmentRelationships(q, [{ residentId, institutionId, kind, until }]);
}
