// Long prescriptions (长处方, up to 12 weeks) and extended prescriptions (延伸处方, from the consortium hospital's
// formulary, issued in the community) for stable contracted chronic patients. Eligibility is checked by the versioned
// rules (prescription-rules.ts) on facts gathered here; a refusal names each rule broken. The drugs are written to
// the shared record as FHIR MedicationRequests (one per drug, through the FHIR repository like any institution's
// prescription: scoped, audited, idempotent on their identifiers) with the prescription as their groupIdentifier,
// `category` long/extended, the supply duration in `dispenseRequest`. chronic_prescription keeps the kind, the
// programme, the rule version and the checks; its status is read from its MedicationRequests.
//
// Contents: rule sets · formulary · reading · eligibility · issuing · cancelling · merges
import type { Queryable, Row } from '../../db/engine.ts';
import { SYSTEM } from '../../fhir/datatypes.ts';
import * as repo from '../../fhir/repository.ts';
import { residentScopeSql } from '../../platform/access.ts';
import { audit, auditResidents } from '../../platform/audit.ts';
import { AppError, notFound } from '../../platform/errors.ts';
import { hasRole, type Principal } from '../../platform/principal.ts';
import { Params } from '../../platform/sql.ts';
import { onResidentMerge } from '../residents/service.ts';
import { programmeOf } from './programmes.ts';
import { PrescriptionRules, checkEligibility, refusal, type Check, type PrescriptionKind } from './prescription-rules.ts';
import { addDays, districtDate, DISTRICT_TODAY_SQL } from '../../platform/local-date.ts';

/** FHIR systems of the prescription's MedicationRequests. */
export const RX = {
  group: 'https://caregrid.dev/fhir/sid/chronic-prescription',
  line: 'https://caregrid.dev/fhir/sid/chronic-prescription-item',
  kind: 'https://caregrid.dev/fhir/CodeSystem/prescription-kind',
  category: 'http://terminology.hl7.org/CodeSystem/medicationrequest-category',
  course: 'http://terminology.hl7.org/CodeSystem/medicationrequest-course-of-therapy',
  prescriber: 'https://caregrid.dev/fhir/StructureDefinition/extended-prescriber',
  /** Local drug codes when a sender gives none of its own. */
  drug: 'https://caregrid.dev/fhir/CodeSystem/drug',
} as const;
const KIND_TEXT: Record<PrescriptionKind, { zh: string; en: string }> = { long: { zh: '长处方', en: 'long prescription' }, extended: { zh: '延伸处方', en: 'extended prescription' } };
const WRITERS = ['family_doctor', 'nurse', 'institution_admin', 'district_admin'] as const;
const OPEN_LINE = `('active', 'on-hold', 'draft')`;
export const PRESCRIPTION_STATUSES = ['active', 'expired', 'completed', 'cancelled'] as const;
const ENDED_LINE = `('cancelled', 'entered-in-error', 'stopped')`;

// ── rule sets ──

export async function currentRules(q: Queryable, kind: PrescriptionKind): Promise<{ version: number; rules: PrescriptionRules }> {
  const { rows } = await q.query('SELECT version, rules FROM prescription_rule_set WHERE kind = $1 ORDER BY version DESC LIMIT 1', [kind]);
  return { version: Number(rows[0].version), rules: PrescriptionRules.parse(rows[0].rules) };
}

export async function ruleSets(q: Queryable, history: boolean) {
  const { rows } = await q.query(
    `SELECT s.kind, s.version, s.rules, s.note, s.created_at, u.username AS created_by FROM prescription_rule_set s LEFT JOIN app_user u ON u.id = s.created_by
      ${history ? '' : 'WHERE s.version = (SELECT max(version) FROM prescription_rule_set x WHERE x.kind = s.kind)'} ORDER BY s.kind, s.version DESC`,
  );
  return rows.map((r) => ({ kind: r.kind as PrescriptionKind, version: Number(r.version), rules: r.rules as PrescriptionRules, note: r.note ?? null, createdAt: new Date(r.created_at).toISOString(), createdBy: r.created_by ?? null }));
}

/** A new version of a kind's rules (district administrator); prescriptions keep the version they were checked against. */
export async function setRules(q: Queryable, p: Principal, kind: PrescriptionKind, rules: unknown, note: string | null): Promise<number> {
  if (!hasRole(p, 'district_admin')) throw new AppError('FORBIDDEN');
  const parsed = PrescriptionRules.safeParse(rules);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError('VALIDATION_FAILED', { detail: `${issue.path.join('.') || 'rules'}: ${issue.message}` }, ['rules', ...issue.path].join('.'));
  }
  await q.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`prescription_rule_set:${kind}`]);
  const { rows } = await q.query(
    `INSERT INTO prescription_rule_set (kind, version, rules, note, created_by)
     SELECT $1, coalesce(max(version), 0) + 1, $2::jsonb, $3, $4 FROM prescription_rule_set WHERE kind = $1 RETURNING version`,
    [kind, JSON.stringify(parsed.data), note, p.userId],
  );
  return Number(rows[0].version);
}

// ── formulary (药品目录) of a hospital ──

export interface FormularyItem { system?: string; code: string; display: string; form?: string | null; active?: boolean }

export async function formulary(q: Queryable, institutionId: number) {
  const { rows } = await q.query('SELECT * FROM formulary_item WHERE institution_id = $1 ORDER BY code_system, code', [institutionId]);
  return rows.map((r) => ({ system: r.code_system as string, code: r.code as string, display: r.display as string, form: r.form ?? null, active: r.active as boolean }));
}

/** Adds or changes items of an institution's formulary (its administrator, or the district's). */
export async function putFormulary(q: Queryable, p: Principal, institutionId: number, items: FormularyItem[]) {
  const own = p.tokenInstitutionId ?? p.institutionId;
  if (!hasRole(p, 'district_admin') && !(hasRole(p, 'institution_admin') && own === institutionId)) throw new AppError('FORBIDDEN');
  const { rows } = await q.query('SELECT 1 FROM institution WHERE id = $1', [institutionId]);
  if (!rows[0]) throw Object.assign(notFound('institution'), { field: 'institutionId' });
  await q.query(
    `INSERT INTO formulary_item (institution_id, code_system, code, display, form, active, updated_by)
     SELECT $1, x.system, x.code, x.display, x.form, x.active, $3 FROM jsonb_to_recordset($2::jsonb) AS x(system text, code text, display text, form text, active boolean)
     ON CONFLICT (institution_id, code_system, code) DO UPDATE SET display = EXCLUDED.display, form = EXCLUDED.form, active = EXCLUDED.active, updated_by = EXCLUDED.updated_by, updated_at = now()`,
    [institutionId, JSON.stringify(items.map((i) => ({ system: i.system ?? RX.drug, code: i.code, display: i.display, form: i.form ?? null, active: i.active ?? true }))), p.userId],
  );
  return formulary(q, institutionId);
}

// ── reading ──

/** A prescription's status is its drugs': active while one is, cancelled when all ended so, else completed; expired after its term. */
const STATUS_SQL = `(SELECT CASE WHEN bool_or(m.status IN ${OPEN_LINE}) THEN CASE WHEN p.valid_until < ${DISTRICT_TODAY_SQL} THEN 'expired' ELSE 'active' END
                               WHEN bool_and(m.status IN ${ENDED_LINE}) THEN 'cancelled' ELSE 'completed' END
                      FROM medication_request m WHERE m.id = ANY(p.medication_request_ids))`;
const SELECT = `p.*, ${STATUS_SQL} AS status, r.name AS resident_name, i.name AS institution_name, tm.name AS team_name, hi.name AS prescriber_institution_name,
  (SELECT json_agg(json_build_object('id', m.id, 'name', m.display, 'system', m.code_system, 'code', m.code, 'dosage', m.dosage_text, 'status', m.status,
                                     'quantity', m.extra->'dispenseRequest'->'quantity') ORDER BY array_position(p.medication_request_ids, m.id))
     FROM medication_request m WHERE m.id = ANY(p.medication_request_ids)) AS items`;
const FROM = `chronic_prescription p JOIN resident r ON r.id = p.resident_id JOIN institution i ON i.id = p.institution_id
  LEFT JOIN team tm ON tm.id = p.team_id LEFT JOIN institution hi ON hi.id = p.prescriber_institution_id`;

function toPrescription(r: Row) {
  const iso = (d: unknown) => (d ? new Date(d as string).toISOString() : null);
  const n = (x: unknown) => (x === null || x === undefined ? null : Number(x));
  return {
    id: Number(r.id), version: Number(r.version), kind: r.kind as PrescriptionKind, programme: r.programme_code as string, weeks: Number(r.weeks), status: r.status as (typeof PRESCRIPTION_STATUSES)[number],
    resident: { id: Number(r.resident_id), name: r.resident_name as string },
    institution: { id: Number(r.institution_id), name: r.institution_name as string },
    team: r.team_id === null ? null : { id: Number(r.team_id), name: r.team_name as string },
    contractId: n(r.contract_id), enrolmentId: n(r.enrolment_id), practitionerId: n(r.practitioner_id),
    prescriber: r.prescriber_institution_id === null ? null : { institutionId: Number(r.prescriber_institution_id), institutionName: r.prescriber_institution_name as string, practitionerId: n(r.prescriber_practitioner_id) },
    ruleVersion: Number(r.rule_version), checks: r.checks as Check[],
    items: ((r.items ?? []) as Row[]).map((m) => ({
      medicationRequestId: Number(m.id), name: m.name as string, system: m.system ?? null, code: m.code ?? null, dosage: m.dosage ?? null, status: m.status as string,
      quantity: m.quantity ? { value: Number(m.quantity.value), unit: (m.quantity.unit ?? null) as string | null } : null,
    })),
    authoredAt: iso(r.authored_at)!, validUntil: String(r.valid_until), cancelledAt: iso(r.cancelled_at), cancelReason: (r.cancel_reason ?? null) as string | null,
  };
}
export type Prescription = ReturnType<typeof toPrescription>;

/** The resident's row if the caller may see them (404 for none or a merged one); a refusal is audited. */
export async function residentInScope(rc: Pick<repo.RequestContext, 'q' | 'principal' | 'audit'>, residentId: number, denied: { action: 'read' | 'create' | 'update' | 'list'; resourceType: string }, field = 'residentId'): Promise<Row> {
  const v = new Params();
  const scope = residentScopeSql(rc.principal, v, 'r');
  const { rows } = await rc.q.query(`SELECT r.id, r.status, r.address, r.household_id, ${scope} AS in_scope FROM resident r WHERE r.id = ${v.add(residentId)}`, v.values);
  if (!rows[0] || rows[0].status === 'merged') throw Object.assign(notFound('resident'), { field });
  if (!rows[0].in_scope) {
    await audit(rc.q, rc.audit, { ...denied, residentId, outcome: 'denied' });
    throw Object.assign(new AppError('OUT_OF_SCOPE'), { field });
  }
  return rows[0];
}

/** One prescription row (with its derived status), optionally locked. */
export async function prescriptionRow(q: Queryable, id: number, forUpdate = false, field = 'prescriptionId'): Promise<Row> {
  const { rows } = await q.query(`SELECT ${SELECT} FROM ${FROM} WHERE p.id = $1${forUpdate ? ' FOR UPDATE OF p' : ''}`, [id]);
  if (!rows[0]) throw Object.assign(notFound('prescription'), { field });
  return rows[0];
}

export async function getPrescription(rc: repo.RequestContext, id: number): Promise<Prescription> {
  const row = await prescriptionRow(rc.q, id, false, 'id');
  await residentInScope(rc, Number(row.resident_id), { action: 'read', resourceType: 'ChronicPrescription' }, 'id');
  await audit(rc.q, rc.audit, { action: 'read', resourceType: 'ChronicPrescription', resourceId: id, residentId: Number(row.resident_id) });
  return toPrescription(row);
}

export interface PrescriptionFilter { residentId?: number; teamId?: number; institutionId?: number; kind?: PrescriptionKind; status?: (typeof PRESCRIPTION_STATUSES)[number]; page: number; pageSize: number }

/**
 * A page of rows about the residents the caller may see (the resident aliased r in `from`), with the filters the
 * caller adds; a resident named in the filter is checked first (403 outside the scope), every listed resident audited.
 */
export async function scopedPage(rc: repo.RequestContext, f: { residentId?: number; page: number; pageSize: number }, x: {
  resourceType: string; select: string; from: string; order: string; filters: (v: Params) => (string | false | undefined | 0)[];
}): Promise<{ rows: Row[]; total: number; page: number; pageSize: number }> {
  if (f.residentId) await residentInScope(rc, f.residentId, { action: 'list', resourceType: x.resourceType });
  const v = new Params();
  const whereSql = [residentScopeSql(rc.principal, v, 'r'), ...x.filters(v).filter((c): c is string => !!c)].join(' AND ');
  const countValues = [...v.values];
  const list = await rc.q.query(`SELECT ${x.select} FROM ${x.from} WHERE ${whereSql} ORDER BY ${x.order} LIMIT ${v.add(f.pageSize)} OFFSET ${v.add((f.page - 1) * f.pageSize)}`, v.values);
  const total = await rc.q.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${x.from} WHERE ${whereSql}`, countValues);
  await auditResidents(rc.q, rc.audit, 'list', [...new Set(list.rows.map((r) => Number(r.resident_id)))], x.resourceType);
  return { rows: list.rows, total: total.rows[0].n, page: f.page, pageSize: f.pageSize };
}

/** Prescriptions of the residents the caller may see, newest first. */
export async function listPrescriptions(rc: repo.RequestContext, f: PrescriptionFilter) {
  const { rows, ...page } = await scopedPage(rc, f, {
    resourceType: 'ChronicPrescription', select: SELECT, from: FROM, order: 'p.authored_at DESC, p.id DESC',
    filters: (v) => [
      f.residentId && `p.resident_id = ${v.add(f.residentId)}`, f.teamId && `p.team_id = ${v.add(f.teamId)}`, f.institutionId && `p.institution_id = ${v.add(f.institutionId)}`,
      f.kind && `p.kind = ${v.add(f.kind)}`, f.status && `${STATUS_SQL} = ${v.add(f.status)}`,
    ],
  });
  return { items: rows.map(toPrescription), ...page };
}

// ── eligibility ──

export interface PrescriptionItem { name: string; system?: string; code?: string | null; dosage?: string | null; quantity?: number | null; unit?: string | null }
export interface EligibilityInput {
  kind: PrescriptionKind; residentId: number; programme: string; weeks: number;
  prescriberInstitutionId?: number | null; items?: PrescriptionItem[];
}

interface Evaluated { version: number; checks: Check[]; contract: { id: number; teamId: number } | null; enrolmentId: number | null; issuingInstitutionId: number }

async function evaluate(rc: repo.RequestContext, input: EligibilityInput): Promise<Evaluated> {
  const p = rc.principal;
  await programmeOf(rc.q, input.programme);
  const issuingInstitutionId = await repo.writeContext(rc).recordingInstitution(null, 'institution');
  const { version, rules } = await currentRules(rc.q, input.kind);
  const { rows } = await rc.q.query(
    `SELECT (SELECT json_build_object('id', c.id, 'teamId', c.team_id) FROM contract c
              WHERE c.resident_id = $1 AND c.status = 'active' AND c.start_date <= $5::date AND c.end_date >= $5::date LIMIT 1) AS contract,
            (SELECT json_build_object('id', e.id, 'lastClassification', e.last_classification, 'lastFollowUpAt', e.last_follow_up_at) FROM chronic_enrolment e
              WHERE e.resident_id = $1 AND e.programme_code = $2 AND e.status = 'active' LIMIT 1) AS enrolment,
            EXISTS (SELECT 1 FROM team_member tm JOIN practitioner pr ON pr.id = tm.practitioner_id
                     WHERE tm.team_id = $3 AND tm.practitioner_id = $4 AND pr.profession = 'gp') AS is_gp,
            now() AS now`,
    [input.residentId, input.programme, p.teamId, p.practitionerId, districtDate()],
  );
  const f = rows[0];
  const enrolment = f.enrolment ? { id: Number(f.enrolment.id), lastClassification: f.enrolment.lastClassification ?? null, lastFollowUpAt: f.enrolment.lastFollowUpAt ? new Date(f.enrolment.lastFollowUpAt) : null } : null;
  const contract = f.contract ? { id: Number(f.contract.id), teamId: Number(f.contract.teamId) } : null;
  let prescriber: { institutionId: number; sharesConsortium: boolean } | null = null;
  const notInFormulary: number[] = [];
  if (input.kind === 'extended') {
    if (!input.prescriberInstitutionId) throw new AppError('VALIDATION_FAILED', { detail: { zh: '延伸处方须指明开方医院', en: 'an extended prescription names the prescribing hospital' } }, 'prescriberInstitutionId');
    const h = await rc.q.query(
      `SELECT EXISTS (SELECT 1 FROM consortium_member a JOIN consortium_member b ON b.consortium_id = a.consortium_id WHERE a.institution_id = i.id AND b.institution_id = $2) AS shares
         FROM institution i WHERE i.id = $1`,
      [input.prescriberInstitutionId, issuingInstitutionId],
    );
    if (!h.rows[0]) throw Object.assign(notFound('institution'), { field: 'prescriberInstitutionId' });
    prescriber = { institutionId: input.prescriberInstitutionId, sharesConsortium: !!h.rows[0].shares };
    const items = input.items ?? [];
    const found = await rc.q.query(
      `SELECT x.n FROM jsonb_to_recordset($2::jsonb) AS x(n int, system text, code text)
        WHERE EXISTS (SELECT 1 FROM formulary_item fi WHERE fi.institution_id = $1 AND fi.code_system = x.system AND fi.code = x.code AND fi.active)`,
      [input.prescriberInstitutionId, JSON.stringify(items.map((it, n) => ({ n, system: it.system ?? RX.drug, code: it.code ?? null })))],
    );
    const ok = new Set(found.rows.map((r) => Number(r.n)));
    items.forEach((_, n) => ok.has(n) || notInFormulary.push(n));
  }
  const checks = checkEligibility(input.kind, rules, {
    weeks: input.weeks, contract, issuer: { teamId: p.teamId, isGp: !!f.is_gp }, enrolment, now: new Date(f.now), prescriber, notInFormulary,
  });
  return { version, checks, contract, enrolmentId: enrolment?.id ?? null, issuingInstitutionId };
}

/** Whether a prescription could be issued now, rule by rule (nothing is written but the audit of the read). */
export async function eligibility(rc: repo.RequestContext, input: EligibilityInput) {
  await residentInScope(rc, input.residentId, { action: 'read', resourceType: 'ChronicPrescription' });
  const e = await evaluate(rc, input);
  await audit(rc.q, rc.audit, { action: 'read', resourceType: 'ChronicPrescription', residentId: input.residentId, purpose: 'eligibility' });
  return { kind: input.kind, eligible: e.checks.every((c) => c.ok), ruleVersion: e.version, checks: e.checks };
}

// ── issuing ──

export interface NewPrescription extends EligibilityInput {
  items: PrescriptionItem[];
  prescriberPractitionerId?: number | null;
  note?: string | null;
  sourceId?: string | null;
}

/** Issues a prescription (idempotent on sourceId): refused with PRESCRIPTION_REFUSED naming each rule broken. */
export async function issuePrescription(rc: repo.RequestContext, input: NewPrescription): Promise<{ prescription: Prescription; created: boolean }> {
  const p = rc.principal;
  if (!hasRole(p, ...WRITERS)) throw new AppError('FORBIDDEN');
  const institutionId = await repo.writeContext(rc).recordingInstitution(null, 'institution');
  if (input.sourceId) {
    const { rows } = await rc.q.query('SELECT id FROM chronic_prescription WHERE institution_id = $1 AND source_id = $2', [institutionId, input.sourceId]);
    if (rows[0]) return { prescription: toPrescription(await prescriptionRow(rc.q, Number(rows[0].id))), created: false };
  }
  await residentInScope(rc, input.residentId, { action: 'create', resourceType: 'ChronicPrescription' });
  if (input.kind === 'long' && input.prescriberInstitutionId) throw new AppError('VALIDATION_FAILED', { detail: { zh: '长处方由签约团队开具，不指明开方医院', en: 'a long prescription names no prescribing hospital' } }, 'prescriberInstitutionId');
  // serialises prescriptions of one resident: the facts checked stay true until this one commits
  await rc.q.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`chronic_prescription:${input.residentId}`]);
  const e = await evaluate(rc, input);
  const broken = refusal(e.checks);
  if (broken) throw new AppError('PRESCRIPTION_REFUSED', { kind: KIND_TEXT[input.kind], rules: broken.rules }, broken.field);
  if (input.prescriberPractitionerId) {
    const { rows } = await rc.q.query('SELECT 1 FROM practitioner WHERE id = $1 AND institution_id = $2', [input.prescriberPractitionerId, input.prescriberInstitutionId]);
    if (!rows[0]) throw new AppError('VALIDATION_FAILED', { detail: { zh: '开方医生不属于开方医院', en: 'the prescriber does not work at the prescribing hospital' } }, 'prescriberPractitionerId');
  }
  const { rows: ids } = await rc.q.query(`SELECT nextval(pg_get_serial_sequence('chronic_prescription', 'id')) AS id, now() AS now`);
  const validUntil = addDays(districtDate(), input.weeks * 7 - 1);
  const id = Number(ids[0].id);
  const authoredAt = new Date(ids[0].now).toISOString();
  const lineIds: number[] = [];
  for (const [n, item] of input.items.entries()) {
    const w = await repo.create(rc, 'MedicationRequest', medicationRequest({ id, n, item, input, authoredAt, validUntil, practitionerId: p.practitionerId }));
    lineIds.push(w.id);
  }
  const { rows } = await rc.q.query(
    `INSERT INTO chronic_prescription (id, resident_id, kind, programme_code, weeks, institution_id, team_id, contract_id, enrolment_id, practitioner_id,
        prescriber_institution_id, prescriber_practitioner_id, rule_version, checks, medication_request_ids, authored_at, valid_until, source_id, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::jsonb, $15::bigint[], $16, $17::date, $18, $19) RETURNING id`,
    [id, input.residentId, input.kind, input.programme, input.weeks, institutionId, e.contract?.teamId ?? null, e.contract?.id ?? null, e.enrolmentId, p.practitionerId,
      input.prescriberInstitutionId ?? null, input.prescriberPractitionerId ?? null, e.version, JSON.stringify(e.checks), lineIds, authoredAt, validUntil, input.sourceId ?? null, p.userId],
  );
  await audit(rc.q, rc.audit, { action: 'create', resourceType: 'ChronicPrescription', resourceId: Number(rows[0].id), residentId: input.residentId });
  return { prescription: toPrescription(await prescriptionRow(rc.q, id)), created: true };
}

/** One drug of the prescription as a FHIR MedicationRequest of the shared record. */
function medicationRequest(x: { id: number; n: number; item: PrescriptionItem; input: NewPrescription; authoredAt: string; validUntil: string; practitionerId: number | null }) {
  const { item, input } = x;
  const system = item.system ?? RX.drug;
  const days = input.weeks * 7;
  return {
    resourceType: 'MedicationRequest',
    identifier: [{ system: RX.line, value: `${x.id}-${x.n + 1}` }],
    groupIdentifier: { system: RX.group, value: String(x.id) },
    status: 'active',
    intent: 'order',
    category: [
      { coding: [{ system: RX.category, code: 'community', display: 'Community' }] },
      { coding: [{ system: RX.kind, code: input.kind, display: KIND_TEXT[input.kind].zh }] },
    ],
    courseOfTherapyType: { coding: [{ system: RX.course, code: 'continuous', display: 'Continuous long term therapy' }] },
    medicationCodeableConcept: item.code ? { coding: [{ system, code: item.code, display: item.name }], text: item.name } : { text: item.name },
    subject: { reference: `Patient/${input.residentId}` },
    authoredOn: x.authoredAt,
    ...(x.practitionerId ? { requester: { reference: `Practitioner/${x.practitionerId}` } } : {}),
    ...(item.dosage ? { dosageInstruction: [{ text: item.dosage }] } : {}),
    ...(input.note ? { note: [{ text: input.note }] } : {}),
    ...(input.kind === 'extended' && input.prescriberPractitionerId ? { extension: [{ url: RX.prescriber, valueReference: { reference: `Practitioner/${input.prescriberPractitionerId}` } }] } : {}),
    dispenseRequest: {
      validityPeriod: { start: districtDate(new Date(x.authoredAt)), end: x.validUntil },
      expectedSupplyDuration: { value: days, unit: 'd', system: SYSTEM.ucum, code: 'd' },
      ...(item.quantity ? { quantity: { value: item.quantity, ...(item.unit ? { unit: item.unit } : {}) } } : {}),
      // an extended prescription is filled from the consortium hospital's pharmacy
      ...(input.kind === 'extended' ? { performer: { reference: `Organization/${input.prescriberInstitutionId}` } } : {}),
    },
  };
}

// ── cancelling ──

/** Cancels a prescription: its active drugs are cancelled in the shared record. Refused while a delivery is open. */
export async function cancelPrescription(rc: repo.RequestContext, id: number, input: { reason: string; version?: number }): Promise<Prescription> {
  const p = rc.principal;
  if (!hasRole(p, ...WRITERS)) throw new AppError('FORBIDDEN');
  const row = await prescriptionRow(rc.q, id, true, 'id');
  await residentInScope(rc, Number(row.resident_id), { action: 'update', resourceType: 'ChronicPrescription' }, 'id');
  const own = p.tokenInstitutionId ?? p.institutionId;
  if (!hasRole(p, 'district_admin') && own !== Number(row.institution_id)) throw new AppError('WRONG_INSTITUTION', {}, 'id');
  if (input.version !== undefined && Number(row.version) !== input.version) throw new AppError('STALE_VERSION', {}, 'version');
  if (row.status !== 'active' && row.status !== 'expired') throw new AppError('INVALID_STATE', { detail: { zh: `处方状态为 ${row.status}`, en: `the prescription is ${row.status}` } });
  const open = await rc.q.query("SELECT id FROM medication_delivery WHERE prescription_id = $1 AND status IN ('requested', 'dispatched')", [id]);
  if (open.rows[0]) throw new AppError('INVALID_STATE', { detail: { zh: `送药 #${open.rows[0].id} 尚未结束`, en: `delivery #${open.rows[0].id} is still open` } });
  await rc.q.query(`UPDATE medication_request SET status = 'cancelled' WHERE id = ANY($1::bigint[]) AND status IN ${OPEN_LINE}`, [row.medication_request_ids]);
  await rc.q.query('UPDATE chronic_prescription SET cancelled_at = now(), cancel_reason = $2 WHERE id = $1', [id, input.reason]);
  await audit(rc.q, rc.audit, { action: 'update', resourceType: 'ChronicPrescription', resourceId: id, residentId: Number(row.resident_id), purpose: 'cancel' });
  return toPrescription(await prescriptionRow(rc.q, id));
}

// ── merges of duplicate residents ──

/** A merge moves the duplicate's prescriptions and deliveries to the survivor (their drugs move with the records). */
onResidentMerge({
  name: 'chronic-prescriptions',
  async move(q, fromId, toId) {
    const rx = (await q.query('UPDATE chronic_prescription SET resident_id = $2 WHERE resident_id = $1 RETURNING id', [fromId, toId])).rows.map((r) => Number(r.id));
    const deliveries = (await q.query('UPDATE medication_delivery SET resident_id = $2 WHERE resident_id = $1 RETURNING id', [fromId, toId])).rows.map((r) => Number(r.id));
    return { rx, deliveries };
  },
  async restore(q, moved, toId) {
    const m = moved as { rx: number[]; deliveries: number[] };
    if (m.rx.length) await q.query('UPDATE chronic_prescription SET resident_id = $2 WHERE id = ANY($1::bigint[])', [m.rx, toId]);
    if (m.deliveries.length) await q.query('UPDATE medication_delivery SET resident_id = $2 WHERE id = ANY($1::bigint[])', [m.deliveries, toId]);
  },
});
