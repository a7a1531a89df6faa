// Referral cases (转诊单): creating upward and downward referrals and moving them through the state machine
// (state.ts), with deadlines from rule data, notifications to both sides, webhooks, and the FHIR mirror.
//
// Contents: access (sides and roles) · deadlines · the FHIR mirror · create · act (transitions) · the deadline job
//
// Every change runs in the caller's transaction: the case row, its ServiceRequest and Task, the appointment and its
// slot, the event, notifications, webhook deliveries and the audit record commit together or not at all. A booking
// that fails (the slot was taken a moment earlier) therefore leaves the case exactly as it was.
import { startPeriodicJob, type PeriodicJob } from '../../platform/jobs.ts';
import type { Db, Queryable, Row } from '../../db/engine.ts';
import { withRetry } from '../../db/engine.ts';
import { AppError, notFound } from '../../platform/errors.ts';
import { PRIMARY_CARE, hasRole, type Principal } from '../../platform/principal.ts';
import type { Role } from '../../platform/roles.ts';
import { residentScopeSql } from '../../platform/access.ts';
import { audit, auditCte, auditManySql, type AuditEntry } from '../../platform/audit.ts';
import { Params } from '../../platform/sql.ts';
import type { RequestContext } from '../../fhir/repository.ts';
import { SYSTEM } from '../../fhir/datatypes.ts';
import type { WriteContext } from '../../fhir/types.ts';
import { registerAppointmentWriteHook, registerTaskWriteHook } from '../../fhir/resources/workflow.ts';
import { icd10Valid } from '../../fhir/resources/observation.ts';
import { bookSlot, isPrimaryCare, localTime, primaryCareCaller, reservationInForceSql } from '../../fhir/resources/booking.ts';
import { toAppError } from '../../platform/error-mapping.ts';
import { notifyInstitution, notifyInstitutionSql, notifyUserSql, type Notice } from '../notifications/service.ts';
import { enqueue, enqueueSql, noteQueued, type WebhookEvent } from '../webhooks/service.ts';
import { HOSPITAL_TYPES } from './service.ts';
import { addDays, districtDate, DISTRICT_TODAY_SQL } from '../../platform/local-date.ts';
import {
  OPEN_STATES, PRIORITY, STATE_LABELS, TASK_STATUS, actionForTaskStatus, allowedActions, next, serviceRequestStatus,
  type Action, type Direction, type ReferralDetail, type ReferralState, type ReferralView, type Side, type Urgency,
} from './state.ts';

/** SNOMED CT 3457005 "Patient referral": the ServiceRequest code of every referral. */
const REFERRAL_CODE = '3457005';
/** How long the receiving side may read the resident's record after a referral (days). */
const ACCESS_DAYS = 90;
export const DEFAULT_FOLLOW_UP_DAYS = 7;
const REFERRAL_STATE_SYSTEM = 'https://caregrid.dev/fhir/CodeSystem/referral-state';
/** Record types that may be attached to a referral from the shared health record, and their tables. */
const ATTACHABLE: Record<string, string> = {
  Observation: 'observation', DiagnosticReport: 'diagnostic_report', DocumentReference: 'document', Condition: 'condition',
  MedicationRequest: 'medication_request', Encounter: 'encounter', Immunization: 'immunization', AllergyIntolerance: 'allergy',
};

type Ctx = RequestContext;
type Json = Record<string, any>;

// ── access ──

const SENDERS_UP: Role[] = ['family_doctor', 'nurse', 'specialist', 'referral_desk', 'institution_admin'];
const SENDERS_DOWN: Role[] = ['specialist', 'referral_desk', 'institution_admin'];
const RECEIVERS_UP: Role[] = ['referral_desk', 'specialist', 'institution_admin'];
const RECEIVERS_DOWN: Role[] = ['family_doctor', 'nurse', 'institution_admin'];

function ownInstitution(p: Principal): number | null {
  return p.tokenInstitutionId ?? p.institutionId;
}

/** The side the caller acts for on a case (null: neither; the district admin only reads). */
export function sideOf(p: Principal, r: Row): Side | null {
  const own = ownInstitution(p);
  if (own === null) return null;
  if (own === Number(r.target_institution_id) && hasRole(p, ...(r.direction === 'up' ? RECEIVERS_UP : RECEIVERS_DOWN))) {
    // downward cases belong to the family-doctor team that follows up; the centre's administrator oversees them
    if (r.direction === 'down' && hasRole(p, 'family_doctor', 'nurse') && !hasRole(p, 'institution_admin') && p.teamId !== null && r.target_team_id !== null && p.teamId !== Number(r.target_team_id)) return null;
    return 'target';
  }
  if (own === Number(r.source_institution_id) && hasRole(p, ...(r.direction === 'up' ? SENDERS_UP : SENDERS_DOWN))) return 'source';
  return null;
}

/** Family doctors and nurses see the cases of their own residents (and those they sent), not their whole centre's. */
function personalScope(p: Principal): boolean {
  return hasRole(p, 'family_doctor', 'nurse') && !hasRole(p, 'institution_admin', 'referral_desk', 'specialist');
}

/** Whether the caller may see a case; `inScope` is the resident-scope verdict for personal-scope roles. */
function canRead(p: Principal, r: Row, inScope: boolean): boolean {
  if (hasRole(p, 'district_admin') && p.tokenInstitutionId === null) return true;
  const own = ownInstitution(p);
  if (own === null || (own !== Number(r.source_institution_id) && own !== Number(r.target_institution_id))) return false;
  return !personalScope(p) || inScope || Number(r.source_user_id) === p.userId;
}

/** The resident-scope verdict of a case's resident for the caller. */
async function residentVisible(rc: Ctx, residentId: number): Promise<boolean> {
  if (!personalScope(rc.principal)) return true;
  const params = new Params();
  const idP = params.add(residentId);
  const { rows } = await rc.q.query(`SELECT ${residentScopeSql(rc.principal, params, 'r')} AS ok FROM resident r WHERE r.id = ${idP}`, params.values);
  return !!rows[0]?.ok;
}

// ── deadlines (rule data: referral_deadline_rule) ──

interface Deadline { dueAt: Date | null; expiresAt: Date | null }
/** Hours from the state's start (referral_deadline_rule). */
interface DeadlineRule { due: number | null; expire: number | null }

async function deadlineFor(q: Queryable, direction: Direction, urgency: Urgency, state: ReferralState, from: Date): Promise<Deadline> {
  const { rows } = await q.query<DeadlineRule>('SELECT due_hours::float8 AS due, expire_hours::float8 AS expire FROM referral_deadline_rule WHERE direction = $1 AND urgency = $2 AND state = $3', [direction, urgency, state]);
  return deadlineFrom(rows[0] ?? null, from);
}

/** A rule's hours counted from `from` (no rule: no deadline). */
function deadlineFrom(rule: DeadlineRule | null, from: Date): Deadline {
  const at = (h: number | null | undefined) => (h === null || h === undefined ? null : new Date(from.getTime() + h * 3_600_000));
  return { dueAt: at(rule?.due), expiresAt: at(rule?.expire) };
}

// ── FHIR mirror ──

/** Writes the case's state into its Task (status, businessStatus, due date) and ServiceRequest (status). */
async function mirror(q: Queryable, r: { task_id: unknown; service_request_id: unknown; state: ReferralState; state_reason?: string | null; due_at: Date | null }, opts: { task?: boolean } = {}) {
  if (opts.task !== false) {
    await q.query(
      `UPDATE task SET status = $2, due_at = $3, extra = coalesce(extra, '{}'::jsonb) || $4::jsonb WHERE id = $1`,
      [r.task_id, TASK_STATUS[r.state], r.due_at, JSON.stringify(taskExtra(r.state, r.state_reason ?? null))],
    );
  }
  await q.query('UPDATE service_request SET status = $2 WHERE id = $1 AND status <> $2', [r.service_request_id, serviceRequestStatus(r.state)]);
}

export function taskExtra(state: ReferralState, reason: string | null): Json {
  return {
    businessStatus: { coding: [{ system: REFERRAL_STATE_SYSTEM, code: state, display: STATE_LABELS[state].zh }], text: STATE_LABELS[state].en },
    ...(reason ? { statusReason: { text: reason } } : {}),
  };
}

// ── create ──

export interface CreateInput {
  direction: Direction;
  residentId: number;
  /** upward: required; downward: defaults to the community health centre of the resident's team or grid */
  targetInstitutionId?: number;
  targetDepartment?: string | null;
  urgency?: Urgency;
  reason: string;
  diagnosis?: { code: string; display?: string | null } | null;
  summary?: string | null;
  attachments?: { type: string; id: number }[];
  /** upward: book this slot in the same step */
  slotId?: number;
  /** downward */
  medications?: { name: string; dose?: string | null }[];
  followUpPlan?: string | null;
  followUpDays?: number;
  /** the sender's own id: sending it again returns the same case */
  sourceId?: string | null;
}

interface Resident { id: number; name: string; grid_id: number | null; community_id: number | null }

async function residentInScope(rc: Ctx, residentId: number): Promise<Resident> {
  const params = new Params();
  const idP = params.add(residentId);
  const scope = residentScopeSql(rc.principal, params, 'r');
  const { rows } = await rc.q.query(`SELECT r.id, r.name, r.grid_id, r.community_id, r.status, ${scope} AS in_scope FROM resident r WHERE r.id = ${idP}`, params.values);
  if (!rows[0] || rows[0].status === 'merged') throw notFound('resident');
  if (!rows[0].in_scope) {
    await audit(rc.q, rc.audit, { action: 'create', resourceType: 'Referral', residentId, outcome: 'denied' });
    throw Object.assign(new AppError('OUT_OF_SCOPE'), { field: 'residentId' });
  }
  if (rows[0].status === 'deceased') throw new AppError('UNPROCESSABLE', { detail: 'the resident is recorded as deceased' }, 'residentId');
  return { id: Number(rows[0].id), name: rows[0].name, grid_id: rows[0].grid_id, community_id: rows[0].community_id };
}

async function institutionRow(q: Queryable, id: number, field: string): Promise<{ id: number; name: string; type: string; parent_id: number | null }> {
  const { rows } = await q.query('SELECT id, name, type, parent_id FROM institution WHERE id = $1 AND active', [id]);
  if (!rows[0]) throw Object.assign(notFound('institution'), { field });
  return { id: Number(rows[0].id), name: rows[0].name, type: rows[0].type, parent_id: rows[0].parent_id === null ? null : Number(rows[0].parent_id) };
}

/**
 * Where a discharged resident goes (出院患者信息推送到社卫中心): the team they are contracted to, else the family-doctor
 * team covering their grid; the receiving institution is that team's community health centre.
 */
export async function communityTeamOf(q: Queryable, residentId: number, gridId: number | null): Promise<{ teamId: number; institutionId: number } | null> {
  const { rows } = await q.query(`${communityTeamSql('$1', '$2::bigint')}`, [residentId, gridId]);
  return rows[0] ? { teamId: Number(rows[0].team_id), institutionId: Number(rows[0].institution_id) } : null;
}

/** communityTeamOf's query (team_id, institution_id) for a resident and grid given as SQL expressions. */
function communityTeamSql(resident: string, grid: string): string {
  return `SELECT t.id AS team_id, t.institution_id FROM (
        SELECT cr.team_id AS id, 0 AS pref FROM care_relationship cr
         WHERE cr.resident_id = ${resident} AND cr.kind = 'contract' AND cr.team_id IS NOT NULL AND cr.valid_from <= ${DISTRICT_TODAY_SQL} AND (cr.valid_to IS NULL OR cr.valid_to >= ${DISTRICT_TODAY_SQL})
        UNION ALL
        SELECT tg.team_id, 1 FROM team_grid tg WHERE tg.grid_id = ${grid}
     ) c JOIN team t ON t.id = c.id AND t.kind = 'family_doctor'
     ORDER BY c.pref, t.id LIMIT 1`;
}

async function checkAttachments(q: Queryable, residentId: number, list: { type: string; id: number }[]): Promise<void> {
  for (const [i, a] of list.entries()) {
    const table = ATTACHABLE[a.type];
    if (!table) throw new AppError('VALIDATION_FAILED', { detail: `cannot attach a ${a.type}` }, `attachments[${i}].type`);
    const { rows } = await q.query(`SELECT resident_id FROM ${table} WHERE id = $1`, [a.id]);
    if (!rows[0] || Number(rows[0].resident_id) !== residentId) throw new AppError('VALIDATION_FAILED', { detail: `${a.type}/${a.id} is not a record of this resident` }, `attachments[${i}].id`);
  }
}

/** What a creation reads before it writes: the resident and the caller's scope over them, both institutions, the
 * deadline rule, the slot, the downward team, and ids for the rows it will write — one statement. */
interface Facts {
  existingId: number | null;
  resident: (Resident & { status: string; inScope: boolean; sex: string; birth_date: unknown; id_number_mask: string | null }) | null;
  source: { id: number; name: string; type: string } | null;
  target: { id: number; name: string; type: string } | null;
  team: { teamId: number; institutionId: number } | null;
  rule: DeadlineRule | null;
  slot: { institution_id: number; start_at: string; end_at: string; status: string } | null;
  ids: { serviceRequest: number; task: number; referral: number; appointment: number | null };
}

type Inst = { id: number; name: string; type: string };

async function creationFacts(rc: Ctx, input: CreateInput, own: number, urgency: Urgency): Promise<Facts> {
  const v = new Params();
  const res = v.add(input.residentId);
  const scope = residentScopeSql(rc.principal, v, 'r');
  const down = input.direction === 'down';
  const inst = (id: string) => `(SELECT json_build_object('id', i.id, 'name', i.name, 'type', i.type) FROM institution i WHERE i.id = ${id} AND i.active)`;
  const seq = (table: string) => `nextval(pg_get_serial_sequence('${table}', 'id'))`;
  const { rows } = await rc.q.query(
    `SELECT ${input.sourceId ? `(SELECT id FROM referral WHERE source_institution_id = ${v.add(own)} AND source_id = ${v.add(input.sourceId)})` : 'NULL::bigint'} AS existing_id,
            r.id AS resident_id, r.name, r.grid_id, r.community_id, r.status, r.sex, r.birth_date, r.id_number_mask, ${scope} AS in_scope,
            ${inst(v.add(own))} AS source,
            ${inst(`coalesce(${v.add(input.targetInstitutionId ?? null)}::bigint, tm.institution_id)`)} AS target,
            tm.team_id, tm.institution_id AS team_institution_id,
            (SELECT json_build_object('due', due_hours::float8, 'expire', expire_hours::float8) FROM referral_deadline_rule
              WHERE direction = ${v.add(input.direction)} AND urgency = ${v.add(urgency)} AND state = 'requested') AS rule,
            ${input.slotId ? `(SELECT json_build_object('institution_id', s.institution_id, 'start_at', s.start_at, 'end_at', s.end_at, 'status', s.status) FROM slot s WHERE s.id = ${v.add(input.slotId)})` : 'NULL::json'} AS slot,
            ${seq('service_request')} AS sr_id, ${seq('task')} AS task_id, ${seq('referral')} AS referral_id, ${input.slotId ? seq('appointment') : 'NULL::bigint'} AS appointment_id
       FROM (SELECT 1) one
       LEFT JOIN resident r ON r.id = ${res}
       LEFT JOIN LATERAL (${communityTeamSql('r.id', 'r.grid_id')}) tm ON ${v.add(down)}::boolean`,
    v.values,
  );
  const x = rows[0];
  const num = (n: unknown) => (n === null || n === undefined ? null : Number(n));
  return {
    existingId: num(x.existing_id),
    resident: x.resident_id === null ? null : {
      id: Number(x.resident_id), name: x.name, grid_id: num(x.grid_id), community_id: num(x.community_id), status: x.status, inScope: !!x.in_scope,
      sex: x.sex, birth_date: x.birth_date, id_number_mask: x.id_number_mask,
    },
    source: x.source ? { ...x.source, id: Number(x.source.id) } : null,
    target: x.target ? { ...x.target, id: Number(x.target.id) } : null,
    team: x.team_id === null ? null : { teamId: Number(x.team_id), institutionId: Number(x.team_institution_id) },
    rule: x.rule,
    slot: x.slot,
    ids: { serviceRequest: Number(x.sr_id), task: Number(x.task_id), referral: Number(x.referral_id), appointment: num(x.appointment_id) },
  };
}

/**
 * Creates a referral (upward or downward), its ServiceRequest and Task, books its slot when one is given, and tells
 * the receiving side. Two statements: the reads (creationFacts), then every write — the order, the work item, the
 * case and its first event, the appointment and its slot, the receiving side's access (调阅 on a referral
 * relationship), the audit records, the notifications and the webhook outbox — as one statement, which is atomic on
 * its own. The slot is locked inside it: when it is no longer free (or reserved for primary care against this
 * caller), the statement writes nothing and the caller gets SLOT_TAKEN / SLOT_RESERVED.
 */
export async function createReferral(rc: Ctx, input: CreateInput): Promise<{ referral: ReferralView; created: boolean }> {
  const { q, principal: p } = rc;
  const own = ownInstitution(p);
  const senders = input.direction === 'up' ? SENDERS_UP : SENDERS_DOWN;
  if (own === null || !hasRole(p, ...senders)) throw new AppError('FORBIDDEN');
  const urgency = input.urgency ?? 'routine';
  const facts = await creationFacts(rc, input, own, urgency);
  if (facts.existingId !== null) return { referral: await getReferral(rc, facts.existingId), created: false };

  const resident = facts.resident;
  if (!resident || resident.status === 'merged') throw notFound('resident');
  if (!resident.inScope) {
    await audit(q, rc.audit, { action: 'create', resourceType: 'Referral', residentId: resident.id, outcome: 'denied' });
    throw Object.assign(new AppError('OUT_OF_SCOPE'), { field: 'residentId' });
  }
  if (resident.status === 'deceased') throw new AppError('UNPROCESSABLE', { detail: 'the resident is recorded as deceased' }, 'residentId');
  const source = facts.source;
  if (!source) throw Object.assign(notFound('institution'), { field: 'sourceInstitutionId' });
  if (input.diagnosis && !icd10Valid(input.diagnosis.code)) throw new AppError('VALIDATION_FAILED', { detail: `"${input.diagnosis.code}" is not an ICD-10 code` }, 'diagnosis.code');
  const attachments = input.attachments ?? [];
  await checkAttachments(q, resident.id, attachments);

  const target = checkTarget(input, facts, own, source);
  const teamId = input.direction === 'down' && facts.team && facts.team.institutionId === target.id ? facts.team.teamId : null;
  if (input.slotId && !facts.slot) throw Object.assign(notFound('slot'), { field: 'slotId' });
  takenAtRead(facts.slot?.status);

  const now = new Date();
  const followUpDays = input.direction === 'down' ? (input.followUpDays ?? DEFAULT_FOLLOW_UP_DAYS) : null;
  const followUpDue = followUpDays === null ? null : new Date(now.getTime() + followUpDays * 86_400_000);
  const dl = input.direction === 'down' ? { dueAt: followUpDue, expiresAt: null } : deadlineFrom(facts.rule, now);
  const practitionerId = p.practitionerId ?? null;
  const { ids } = facts;

  const v = new Params();
  const res = v.add(resident.id), src = v.add(own), tgt = v.add(target.id), team = v.add(teamId), at = v.add(now), due = v.add(dl.dueAt);
  const srId = v.add(ids.serviceRequest), taskId = v.add(ids.task), refId = v.add(ids.referral);
  const slotP = input.slotId ? v.add(input.slotId) : null;
  const apptId = slotP === null ? 'NULL' : v.add(ids.appointment);
  // the gate: a one-row relation when the writes may go ahead (the slot is free for this caller, or there is no slot)
  const when = 'EXISTS (SELECT 1 FROM gate)';
  const row: Row = {
    id: ids.referral, version: 1, direction: input.direction, urgency, state: 'requested', source_institution_id: own, target_institution_id: target.id, target_team_id: teamId,
    resident_id: resident.id, task_id: ids.task, service_request_id: ids.serviceRequest, due_at: dl.dueAt, source_user_id: p.kind === 'person' ? p.userId : null,
  };
  const told = tellPlan(row, { resident: resident.name, source: source.name, target: target.name }, input.direction === 'up' ? 'referral.requested' : 'referral.discharged', 'target', {
    priority: urgency === 'green_channel' ? 'urgent' : urgency === 'urgent' ? 'high' : 'normal',
    params: { source: source.name, reason: input.reason, urgency: urgencyLabel(urgency), due: followUpDue ? localTime(followUpDue) : null },
  });
  const audited: AuditEntry[] = [{ action: 'create', resourceType: 'Referral', resourceId: ids.referral, residentId: resident.id }];
  if (ids.appointment !== null) audited.push({ action: 'create', resourceType: 'Appointment', resourceId: ids.appointment, residentId: resident.id });
  const { rows } = await q.query(
    `WITH ${slotP === null ? 'gate AS (SELECT 1 AS go),' : `${slotClaimSql(v, slotP, await mayUseReserved(q, p, source), { id: apptId, resident: res, serviceRequest: srId, slot: facts.slot! })},`}
     sr AS (
       INSERT INTO service_request (id, resident_id, institution_id, status, intent, category, code_system, code, display, authored_at, practitioner_id, performer_institution_id, extra)
       SELECT ${srId}, ${res}, ${src}, 'active', 'order', 'referral', ${v.add(SYSTEM.snomed)}, ${v.add(REFERRAL_CODE)}, 'Patient referral', ${at}, ${v.add(practitionerId)}::bigint, ${tgt},
              ${v.add(JSON.stringify(serviceRequestExtra(input, urgency)))}::jsonb FROM gate
     ), t AS (
       INSERT INTO task (id, resident_id, institution_id, status, intent, priority, code, description, focus_type, focus_id, owner_institution_id, owner_team_id, authored_at, due_at, extra)
       SELECT ${taskId}, ${res}, ${src}, 'requested', 'order', ${v.add(PRIORITY[urgency])}, ${v.add(input.direction === 'up' ? 'referral' : 'discharge-follow-up')}, ${v.add(input.reason)}, 'ServiceRequest', ${srId},
              ${tgt}, ${team}::bigint, ${at}, ${due}::timestamptz, ${v.add(JSON.stringify(taskExtra('requested', null)))}::jsonb FROM gate
     ), f AS (
       INSERT INTO referral (id, resident_id, direction, urgency, state, source_institution_id, source_practitioner_id, source_user_id, target_institution_id, target_department,
          target_team_id, reason, diagnosis_code, diagnosis_display, summary, attachments, medications, follow_up_plan, service_request_id, task_id, due_at, expires_at,
          requested_at, follow_up_task_id, follow_up_due_at, source_id, appointment_id)
       SELECT ${refId}, ${res}, ${v.add(input.direction)}, ${v.add(urgency)}, 'requested', ${src}, ${v.add(practitionerId)}::bigint, ${v.add(row.source_user_id)}::bigint, ${tgt},
              ${v.add(input.targetDepartment ?? null)}, ${team}::bigint, ${v.add(input.reason)}, ${v.add(input.diagnosis?.code ?? null)}, ${v.add(input.diagnosis?.display ?? null)},
              ${v.add(input.summary ?? null)}, ${v.add(JSON.stringify(attachments))}::jsonb, ${v.add(input.medications ? JSON.stringify(input.medications) : null)}::jsonb,
              ${v.add(input.followUpPlan ?? null)}, ${srId}, ${taskId}, ${due}::timestamptz, ${v.add(dl.expiresAt)}::timestamptz, ${at},
              ${input.direction === 'down' ? taskId : 'NULL'}::bigint, ${v.add(followUpDue)}::timestamptz, ${v.add(input.sourceId ?? null)}, ${slotP === null ? 'NULL' : apptId}::bigint
         FROM gate
       RETURNING *
     ), e AS (
       INSERT INTO referral_event (referral_id, action, from_state, to_state, user_id, institution_id) SELECT ${refId}, 'create', NULL, 'requested', ${v.add(p.userId)}::bigint, ${src} FROM gate
     ), c AS (
       INSERT INTO care_relationship (resident_id, kind, institution_id, team_id, valid_from, valid_to, source_ref)
       SELECT ${res}, 'referral', ${tgt}, ${team}::bigint, ${v.add(districtDate())}::date, ${v.add(addDays(districtDate(), ACCESS_DAYS))}::date, ${v.add(`Referral/${ids.referral}`)} FROM gate
     ), au AS (${auditManySql(v, rc.audit, audited, when)}
     ), n AS (${notifySql(v, told, when)}
     ), w AS (${enqueueSql(v, told.institutions, told.event, told.payload, when)})
     SELECT f.*, (SELECT count(*) FROM w)::int AS queued,
            (SELECT name FROM practitioner WHERE id = f.source_practitioner_id) AS practitioner_name, (SELECT name FROM team WHERE id = f.target_team_id) AS team_name
            ${slotP === null ? '' : `, (SELECT status FROM s) AS slot_status, (SELECT ${reservationInForceSql('s')} FROM s) AS slot_reserved, (SELECT release_at FROM s) AS slot_release_at`}
       FROM (SELECT 1) one LEFT JOIN f ON true`,
    v.values,
  );
  const out = rows[0];
  if (out.id === null) {
    if (out.slot_status === null) throw Object.assign(notFound('slot'), { field: 'slotId' });
    if (out.slot_status !== 'free') throw new AppError('SLOT_TAKEN', {}, 'slotId');
    throw new AppError('SLOT_RESERVED', { releaseAt: localTime(out.slot_release_at) }, 'slotId');
  }
  noteQueued(Number(out.queued));
  const view: Row = {
    ...out, resident_name: resident.name, resident_sex: resident.sex, resident_birth_date: resident.birth_date, id_number_mask: resident.id_number_mask,
    source_name: source.name, target_name: target.name,
    appointment_slot_id: input.slotId ?? null, appointment_start: facts.slot?.start_at ?? null, appointment_status: input.slotId ? 'booked' : null,
  };
  return { referral: toView(p, view), created: true };
}

/** The receiving institution of a new case, checked against the direction's rules. */
function checkTarget(input: CreateInput, facts: Facts, own: number, source: Inst): Inst {
  const field = 'targetInstitutionId';
  if (input.direction === 'up') {
    if (!input.targetInstitutionId) throw new AppError('VALIDATION_FAILED', { detail: 'targetInstitutionId is required' }, field);
    const target = facts.target;
    if (!target) throw Object.assign(notFound('institution'), { field });
    if (!HOSPITAL_TYPES.includes(target.type)) throw new AppError('VALIDATION_FAILED', { detail: 'an upward referral goes to a hospital' }, field);
    if (target.id === own) throw new AppError('VALIDATION_FAILED', { detail: 'the referral goes to another institution' }, field);
    if (input.medications || input.followUpPlan || input.followUpDays) throw new AppError('VALIDATION_FAILED', { detail: 'follow-up fields are for downward referrals' }, 'followUpPlan');
    return target;
  }
  if (!HOSPITAL_TYPES.includes(source.type)) throw new AppError('VALIDATION_FAILED', { detail: 'a downward referral comes from a hospital' }, 'direction');
  if (input.slotId) throw new AppError('VALIDATION_FAILED', { detail: 'a downward referral books no specialist slot' }, 'slotId');
  if (!input.targetInstitutionId && !facts.team) throw new AppError('VALIDATION_FAILED', { detail: 'no family-doctor team covers the resident’s grid; name the community health centre' }, field);
  const target = facts.target;
  if (!target) throw Object.assign(notFound('institution'), { field });
  if (!PRIMARY_CARE.includes(target.type)) throw new AppError('VALIDATION_FAILED', { detail: 'a downward referral goes to a primary-care institution' }, field);
  return target;
}

/**
 * A slot the request's read already saw taken is answered SLOT_TAKEN at once, without the write, which would find it
 * taken as well (a slot is freed only by a cancellation: the answer is the one the request would have had a moment
 * earlier). Under contention most SLOT_TAKEN answers are of this kind; the write's lock and gate decide the others.
 */
function takenAtRead(status: string | null | undefined): void {
  if (status && status !== 'free') throw new AppError('SLOT_TAKEN', {}, 'slotId');
}

/** Whether a referral from this caller may take a place reserved for primary care (booking.ts's rule for a referral's order). */
/**
 * The CTEs of a one-statement booking (referral creation with a slot, scheduleAtOnce): the slot locked (`s`), the
 * gate — a one-row relation when the slot is free for this caller (and `alsoHeld`, a locked row the caller needs, is
 * there), which every other write of the statement joins — the slot claimed and the appointment inserted.
 */
function slotClaimSql(v: Params, slotP: string, mayUseReserved: boolean, appt: { id: string; resident: string; serviceRequest: string; slot: { institution_id: unknown; start_at: unknown; end_at: unknown } }, alsoHeld?: string): string {
  return `s AS (SELECT id, status, reserved_for, release_at, released_at FROM slot WHERE id = ${slotP} FOR UPDATE),
     gate AS (SELECT 1 AS go FROM s WHERE s.status = 'free' AND (NOT (${reservationInForceSql('s')}) OR ${v.add(mayUseReserved)}::boolean)${alsoHeld ? ` AND EXISTS (SELECT 1 FROM ${alsoHeld})` : ''}),
     su AS (UPDATE slot SET status = 'busy', released_at = CASE WHEN slot.reserved_for IS NOT NULL AND slot.released_at IS NULL AND slot.release_at <= now() THEN slot.release_at ELSE slot.released_at END
             WHERE slot.id = ${slotP} AND EXISTS (SELECT 1 FROM gate)),
     a AS (INSERT INTO appointment (id, resident_id, institution_id, slot_id, service_request_id, status, start_at, end_at)
           SELECT ${appt.id}, ${appt.resident}, ${v.add(appt.slot.institution_id)}, ${slotP}, ${appt.serviceRequest}, 'booked', ${v.add(appt.slot.start_at)}::timestamptz, ${v.add(appt.slot.end_at)}::timestamptz FROM gate)`;
}

async function mayUseReserved(q: Queryable, p: Principal, source: Inst): Promise<boolean> {
  return PRIMARY_CARE.includes(source.type) || (await isPrimaryCare(q, p));
}

function serviceRequestExtra(input: CreateInput, urgency: Urgency): Json {
  return {
    priority: PRIORITY[urgency],
    reasonCode: [{ text: input.reason, ...(input.diagnosis ? { coding: [{ system: SYSTEM.icd10, code: input.diagnosis.code, display: input.diagnosis.display ?? undefined }] } : {}) }],
    ...(input.summary ? { note: [{ text: input.summary }] } : {}),
    ...(input.attachments?.length ? { supportingInfo: input.attachments.map((a) => ({ reference: `${a.type}/${a.id}` })) } : {}),
    ...(input.targetDepartment ? { orderDetail: [{ text: input.targetDepartment }] } : {}),
  };
}

const urgencyLabel = (u: Urgency) => ({ routine: { zh: '普通', en: 'routine' }, urgent: { zh: '紧急', en: 'urgent' }, green_channel: { zh: '绿色通道', en: 'green-channel' } })[u];

// ── booking ──

/**
 * Books `slotId` for the case: the slot is claimed by the Appointment kind's own rule (fhir/resources/booking.ts: locked,
 * taken → SLOT_TAKEN, reserved for primary care → SLOT_RESERVED), then the appointment is written and linked to the
 * case in one statement. The unique index on live appointments per slot is the last guard against a double booking.
 */
async function book(rc: Ctx, r: Row, slotId: number): Promise<number> {
  const { rows } = await rc.q.query('SELECT institution_id, start_at, end_at FROM slot WHERE id = $1', [slotId]);
  if (!rows[0]) throw Object.assign(notFound('slot'), { field: 'slotId' });
  if (r.appointment_id) await cancelAppointment(rc.q, Number(r.appointment_id), 'cancelled');
  const values = { slot_id: slotId, status: 'booked', service_request_id: Number(r.service_request_id), institution_id: Number(rows[0].institution_id) };
  try {
    await bookSlot(values, { q: rc.q, keys: rc.keys, principal: rc.principal, audit: rc.audit } as WriteContext, null);
    const a = await rc.q.query(
      `WITH a AS (
         INSERT INTO appointment (resident_id, institution_id, slot_id, service_request_id, status, start_at, end_at)
         VALUES ($1, $2, $3, $4, 'booked', $5, $6) RETURNING id
       )
       UPDATE referral SET appointment_id = a.id FROM a WHERE referral.id = $7 RETURNING a.id`,
      [r.resident_id, values.institution_id, slotId, values.service_request_id, rows[0].start_at, rows[0].end_at, r.id],
    );
    await audit(rc.q, rc.audit, { action: 'create', resourceType: 'Appointment', resourceId: Number(a.rows[0].id), residentId: Number(r.resident_id) });
    return Number(a.rows[0].id);
  } catch (err) {
    const e = err instanceof AppError ? err : toAppError(err);
    if (e.code === 'SLOT_TAKEN' || e.code === 'SLOT_RESERVED') throw new AppError(e.code, e.params, 'slotId');
    throw err;
  }
}

/** Ends the case's appointment: its slot is free again unless the patient was a no-show (the time has passed). */
async function cancelAppointment(q: Queryable, appointmentId: number, status: 'cancelled' | 'noshow'): Promise<void> {
  const { rows } = await q.query("UPDATE appointment SET status = $2 WHERE id = $1 AND status IN ('booked', 'pending', 'proposed') RETURNING slot_id", [appointmentId, status]);
  if (rows[0]?.slot_id && status === 'cancelled') await q.query("UPDATE slot SET status = 'free' WHERE id = $1 AND status IN ('busy', 'busy-tentative')", [rows[0].slot_id]);
}

// ── transitions ──

export interface ActInput {
  action: Action;
  /** the version the caller saw: a case changed meanwhile is refused (STALE_VERSION) rather than overwritten */
  version?: number;
  note?: string | null;
  slotId?: number;
  /** redirect */
  targetInstitutionId?: number;
  targetDepartment?: string | null;
  /** complete / return-summary: the result summary returned to the referring doctor */
  summary?: string | null;
  /** follow-up: when it happened (default now) */
  at?: string;
}

async function loadCase(q: Queryable, id: number, forUpdate = false): Promise<Row> {
  const { rows } = await q.query(`SELECT * FROM referral WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  if (!rows[0]) throw notFound('referral');
  return rows[0];
}

const ACTION_REQUIRES: Partial<Record<Action, (i: ActInput) => string | null>> = {
  reject: (i) => (i.note?.trim() ? null : 'note'),
  redirect: (i) => (!i.note?.trim() ? 'note' : !i.targetInstitutionId ? 'targetInstitutionId' : null),
  schedule: (i) => (i.slotId ? null : 'slotId'),
  'return-summary': (i) => (i.summary?.trim() ? null : 'summary'),
  'follow-up': (i) => (i.note?.trim() ? null : 'note'),
};

/**
 * Takes `action` on case `id` for the caller's side. Illegal moves get INVALID_STATE naming the state; a stale
 * `version` gets STALE_VERSION. With `opts.fromTask` the case's Task row is being written by a FHIR client, who
 * writes its status itself.
 */
export async function act(rc: Ctx, id: number, input: ActInput, opts: { side?: Side; fromTask?: boolean; appointmentId?: number } = {}): Promise<ReferralView> {
  const { q, principal: p } = rc;
  const r = await loadCase(q, id, true);
  if (opts.side !== 'system' && !canRead(p, r, await residentVisible(rc, Number(r.resident_id)))) await hiddenCase(rc, 'update', r);
  const side = opts.side ?? sideOf(p, r);
  if (!side) throw new AppError('FORBIDDEN');
  if (input.version !== undefined && input.version !== r.version) throw new AppError('STALE_VERSION', {}, 'version');
  const from = r.state as ReferralState;
  const verdict = next(from, input.action, side, r.direction, { hasAppointment: !!r.appointment_id || !!input.slotId || !!opts.appointmentId });
  if (!verdict.ok) {
    const detail = verdict.reason === 'state'
      ? { zh: `转诊单为「${STATE_LABELS[from].zh}」，不能执行 ${input.action}`, en: `a referral that is ${from} cannot take ${input.action}` }
      : verdict.reason === 'direction'
        ? { zh: `${r.direction === 'up' ? '上转' : '下转'}转诊单没有 ${input.action} 操作`, en: `${input.action} is not an action of ${r.direction === 'up' ? 'an upward' : 'a downward'} referral` }
        : { zh: `${side === 'source' ? '转出方' : '接收方'}不能执行 ${input.action}`, en: `the ${side === 'source' ? 'referring' : 'receiving'} side cannot take ${input.action}` };
    throw new AppError(verdict.reason === 'side' ? 'FORBIDDEN' : 'INVALID_STATE', { detail }, 'action');
  }
  const missing = opts.appointmentId ? null : ACTION_REQUIRES[input.action]?.(input);
  if (missing) throw new AppError('VALIDATION_FAILED', { detail: `${missing} is required to ${input.action}` }, missing);

  let to = verdict.to;
  const now = new Date();
  const set: Record<string, unknown> = {};
  const events: { action: string; from: ReferralState; to: ReferralState; note: string | null }[] = [];
  const note = input.note?.trim() || null;
  let redirectedTo: Row | null = null;

  switch (input.action) {
    case 'accept':
      set.responded_at = now;
      if (input.slotId) await book(rc, r, input.slotId);
      if (to === 'scheduled') set.scheduled_at = now;
      break;
    case 'schedule':
      if (opts.appointmentId) {
        // an institution system booked the appointment itself over FHIR: the case takes it, and lets go of an earlier one
        if (r.appointment_id && Number(r.appointment_id) !== opts.appointmentId) await cancelAppointment(q, Number(r.appointment_id), 'cancelled');
        await q.query('UPDATE referral SET appointment_id = $2 WHERE id = $1', [id, opts.appointmentId]);
      } else await book(rc, r, input.slotId!);
      if (to === 'scheduled') set.scheduled_at = now;
      break;
    case 'reject':
      set.responded_at = now;
      if (r.appointment_id) await cancelAppointment(q, Number(r.appointment_id), 'cancelled');
      break;
    case 'redirect': {
      if (input.targetInstitutionId === Number(r.target_institution_id)) throw new AppError('VALIDATION_FAILED', { detail: 'redirect to another institution' }, 'targetInstitutionId');
      set.responded_at = r.responded_at ?? now;
      if (r.appointment_id) await cancelAppointment(q, Number(r.appointment_id), 'cancelled');
      redirectedTo = await redirectCase(rc, r, input);
      set.redirected_to = redirectedTo.id;
      break;
    }
    case 'arrive':
      set.arrived_at = now;
      if (r.appointment_id) await q.query("UPDATE appointment SET status = 'arrived' WHERE id = $1 AND status = 'booked'", [r.appointment_id]);
      break;
    case 'complete':
      set.completed_at = now;
      if (r.appointment_id) await q.query("UPDATE appointment SET status = 'fulfilled' WHERE id = $1 AND status IN ('booked', 'arrived', 'checked-in')", [r.appointment_id]);
      if (input.summary?.trim()) {
        events.push({ action: 'complete', from, to: 'completed', note });
        to = 'closed';
        Object.assign(set, await returnSummary(rc, r, input.summary.trim(), now));
      }
      break;
    case 'return-summary':
      Object.assign(set, await returnSummary(rc, r, input.summary!.trim(), now));
      break;
    case 'cancel':
      set.ended_at = now;
      if (r.appointment_id) await cancelAppointment(q, Number(r.appointment_id), 'cancelled');
      break;
    case 'no-show':
    case 'expire':
      set.ended_at = now;
      if (r.appointment_id) await cancelAppointment(q, Number(r.appointment_id), from === 'scheduled' ? 'noshow' : 'cancelled');
      break;
    case 'follow-up': {
      const at = input.at ? new Date(input.at) : now;
      if (Number.isNaN(at.getTime()) || at > new Date(now.getTime() + 60_000)) throw new AppError('VALIDATION_FAILED', { detail: 'a date and time not in the future' }, 'at');
      Object.assign(set, { followed_up_at: at, follow_up_note: note, completed_at: now, closed_at: now, responded_at: r.responded_at ?? now });
      break;
    }
  }
  const reason = input.action === 'no-show' ? 'no_show' : ['reject', 'redirect', 'cancel', 'expire'].includes(input.action) ? note ?? input.action : null;
  events.push({ action: input.action, from: events.length ? 'completed' : from, to, note });

  // deadlines of the new state (a scheduled case counts from its appointment; a downward case keeps its follow-up date)
  let dl: Deadline = { dueAt: null, expiresAt: null };
  if (OPEN_STATES.includes(to)) {
    if (r.direction === 'down') dl = { dueAt: r.follow_up_due_at, expiresAt: null };
    else if (to === from && to !== 'scheduled') dl = { dueAt: r.due_at, expiresAt: r.expires_at };
    else {
      let base = now;
      if (to === 'scheduled') {
        const a = await q.query('SELECT a.start_at FROM appointment a JOIN referral f ON f.appointment_id = a.id WHERE f.id = $1', [id]);
        if (a.rows[0]?.start_at) base = new Date(a.rows[0].start_at);
      }
      dl = await deadlineFor(q, 'up', r.urgency, to, base);
    }
  }
  const changedDeadline = String(dl.dueAt) !== String(r.due_at);
  Object.assign(set, { state: to, state_reason: reason, due_at: dl.dueAt, expires_at: dl.expiresAt });
  if (changedDeadline) set.escalated_at = null;
  const cols = Object.keys(set);
  await q.query(`UPDATE referral SET ${cols.map((c, i) => `${c} = $${i + 2}`).join(', ')} WHERE id = $1`, [id, ...cols.map((c) => set[c])]);
  for (const e of events) {
    await q.query('INSERT INTO referral_event (referral_id, action, from_state, to_state, user_id, institution_id, note) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [id, e.action, e.from, e.to, side === 'system' ? null : p.userId, side === 'system' ? null : ownInstitution(p), e.note]);
  }
  await mirror(q, { task_id: r.task_id, service_request_id: r.service_request_id, state: to, state_reason: reason, due_at: dl.dueAt }, { task: !opts.fromTask });
  if (side !== 'system') await audit(q, rc.audit, { action: 'update', resourceType: 'Referral', resourceId: id, residentId: Number(r.resident_id) });

  const updated = await caseRow(q, id);
  if (to !== from || input.action === 'schedule') await announce(q, updated, input.action, to, side, note, redirectedTo);
  return toView(p, updated);
}

/**
 * Booking a slot for an existing upward case (POST /referrals/{id}/schedule) in two statements instead of act()'s
 * transaction of about fifteen: one read (the case with its names, the caller's scope over the resident, the slot,
 * the deadline rule of `scheduled`, the caller's institution type, an id for the appointment), the state machine and
 * deadlines in code, then one write that locks the case (at the version read) and the slot, in that order as act()
 * does, and — only when the case is unchanged and the slot still free for this caller — claims the slot, inserts the
 * appointment, moves the case, writes its event, Task mirror, audit records, the other side's notification and the
 * webhook outbox. A slot taken meanwhile makes the statement write nothing: SLOT_TAKEN, the case exactly as it was.
 *
 * Only the common shape takes this path: a case that holds no appointment yet, a legal move for the caller. Anything
 * else (a refusal, a move to another slot, a case changed between the read and the write) returns null, and the
 * caller runs act() in a transaction, which gives the same answers and refusals as before.
 */
export async function scheduleAtOnce(rc: Ctx, id: number, input: ActInput): Promise<ReferralView | null> {
  const { q, principal: p } = rc;
  const slotId = input.slotId;
  const own = ownInstitution(p);
  if (!slotId || own === null) return null;
  const v = new Params();
  const idP = v.add(id);
  const scope = personalScope(p) ? residentScopeSql(p, v, 'r') : 'TRUE';
  const { rows } = await q.query(
    `SELECT f.*, r.name AS resident_name, r.sex AS resident_sex, r.birth_date AS resident_birth_date, r.id_number_mask, ${scope} AS in_scope,
            src.name AS source_name, src.type AS source_type, (SELECT name FROM institution WHERE id = f.target_institution_id) AS target_name,
            (SELECT name FROM practitioner WHERE id = f.source_practitioner_id) AS practitioner_name, (SELECT name FROM team WHERE id = f.target_team_id) AS team_name,
            (SELECT type FROM institution WHERE id = ${v.add(own)}) AS own_type,
            s.institution_id AS slot_institution_id, s.start_at AS slot_start, s.end_at AS slot_end, s.status AS slot_status,
            (SELECT json_build_object('due', due_hours::float8, 'expire', expire_hours::float8) FROM referral_deadline_rule
              WHERE direction = f.direction AND urgency = f.urgency AND state = 'scheduled') AS scheduled_rule,
            CASE WHEN s.id IS NOT NULL AND f.appointment_id IS NULL THEN nextval(pg_get_serial_sequence('appointment', 'id')) END AS new_appointment_id
       FROM referral f JOIN resident r ON r.id = f.resident_id JOIN institution src ON src.id = f.source_institution_id
       LEFT JOIN slot s ON s.id = ${v.add(slotId)}
      WHERE f.id = ${idP}`,
    v.values,
  );
  const r = rows[0];
  if (!r || r.appointment_id || r.new_appointment_id === null || !canRead(p, r, !!r.in_scope)) return null;
  const side = sideOf(p, r);
  if (!side || (input.version !== undefined && input.version !== r.version)) return null;
  const from = r.state as ReferralState;
  const verdict = next(from, 'schedule', side, r.direction, { hasAppointment: true });
  if (!verdict.ok) return null;
  takenAtRead(r.slot_status);
  const to = verdict.to;
  const now = new Date();
  const note = input.note?.trim() || null;
  // act()'s deadlines: a scheduled case counts from its appointment; a case that stays where it is keeps its own
  const dl: Deadline = to === 'scheduled' ? deadlineFrom(r.scheduled_rule, new Date(r.slot_start)) : { dueAt: r.due_at, expiresAt: r.expires_at };
  const changedDeadline = String(dl.dueAt) !== String(r.due_at);
  const appointmentId = Number(r.new_appointment_id);
  // booking.ts's rule: a primary-care caller, or a referral whose order a primary-care institution wrote
  const mayUseReserved = PRIMARY_CARE.includes(r.source_type) || primaryCareCaller(p, r.own_type);
  // the case as it will be after the write (the history trigger adds one to its version)
  const after: Row = {
    ...r, state: to, state_reason: null, due_at: dl.dueAt, expires_at: dl.expiresAt, version: r.version + 1, appointment_id: appointmentId,
    ...(to === 'scheduled' ? { scheduled_at: now } : {}), ...(changedDeadline ? { escalated_at: null } : {}),
  };
  const towards = side === 'source' ? 'target' : 'source';
  const told = tellPlan(after, { resident: r.resident_name, source: r.source_name, target: r.target_name }, EVENT_OF.schedule, towards, {
    priority: 'normal', params: { note, appointment: localTime(r.slot_start), redirectedTo: null },
  });
  const audited: AuditEntry[] = [
    { action: 'create', resourceType: 'Appointment', resourceId: appointmentId, residentId: Number(r.resident_id) },
    { action: 'update', resourceType: 'Referral', resourceId: id, residentId: Number(r.resident_id) },
  ];

  const w = new Params();
  const ref = w.add(id), slotP = w.add(slotId), appt = w.add(appointmentId), res = w.add(r.resident_id);
  const when = 'EXISTS (SELECT 1 FROM gate)';
  // the Task and ServiceRequest are written only when what they show changes (a case the referring doctor books while
  // it waits for the desk stays `requested`, with its deadline)
  const task = to !== from || changedDeadline || r.state_reason !== null
    ? `t AS (UPDATE task SET status = ${w.add(TASK_STATUS[to])}, due_at = ${w.add(dl.dueAt)}::timestamptz, extra = coalesce(extra, '{}'::jsonb) || ${w.add(JSON.stringify(taskExtra(to, null)))}::jsonb
              WHERE id = ${w.add(r.task_id)} AND ${when}),` : '';
  const order = serviceRequestStatus(to) !== serviceRequestStatus(from)
    ? `sr AS (UPDATE service_request SET status = ${w.add(serviceRequestStatus(to))} WHERE id = ${w.add(r.service_request_id)} AND ${when}),` : '';
  const { rows: out } = await q.query(
    `WITH fr AS (SELECT id FROM referral WHERE id = ${ref} AND version = ${w.add(r.version)} AND appointment_id IS NULL FOR UPDATE),
     ${slotClaimSql(w, slotP, mayUseReserved, { id: appt, resident: res, serviceRequest: w.add(r.service_request_id), slot: { institution_id: r.slot_institution_id, start_at: r.slot_start, end_at: r.slot_end } }, 'fr')},
     f AS (UPDATE referral SET appointment_id = ${appt}, state = ${w.add(to)}, state_reason = NULL, due_at = ${w.add(dl.dueAt)}::timestamptz, expires_at = ${w.add(dl.expiresAt)}::timestamptz
                  ${to === 'scheduled' ? `, scheduled_at = ${w.add(now)}::timestamptz` : ''}${changedDeadline ? ', escalated_at = NULL' : ''}
            WHERE id = ${ref} AND ${when} RETURNING *),
     e AS (INSERT INTO referral_event (referral_id, action, from_state, to_state, user_id, institution_id, note)
           SELECT ${ref}, 'schedule', ${w.add(from)}, ${w.add(to)}, ${w.add(p.userId)}::bigint, ${w.add(own)}::bigint, ${w.add(note)} FROM gate),
     ${task}${order}
     au AS (${auditManySql(w, rc.audit, audited, when)}),
     n AS (${notifySql(w, told, when)}),
     wh AS (${enqueueSql(w, told.institutions, told.event, told.payload, when)})
     SELECT f.*, (SELECT count(*) FROM wh)::int AS queued, (SELECT count(*) FROM fr)::int AS held,
            (SELECT status FROM s) AS slot_status, (SELECT release_at FROM s) AS slot_release_at
       FROM (SELECT 1) one LEFT JOIN f ON true`,
    w.values,
  );
  const o = out[0];
  if (o.id === null) {
    if (!o.held) return null; // the case changed between the read and the write: act() decides
    if (o.slot_status !== 'free') throw new AppError('SLOT_TAKEN', {}, 'slotId');
    throw new AppError('SLOT_RESERVED', { releaseAt: localTime(o.slot_release_at) }, 'slotId');
  }
  noteQueued(Number(o.queued));
  return toView(p, {
    ...o, resident_name: r.resident_name, resident_sex: r.resident_sex, resident_birth_date: r.resident_birth_date, id_number_mask: r.id_number_mask,
    source_name: r.source_name, target_name: r.target_name, practitioner_name: r.practitioner_name, team_name: r.team_name,
    appointment_slot_id: slotId, appointment_start: r.slot_start, appointment_status: 'booked',
  });
}

/** The hospital's result summary goes into the shared record as a referral note (LOINC 57133-1) and closes the loop. */
async function returnSummary(rc: Ctx, r: Row, summary: string, now: Date): Promise<Record<string, unknown>> {
  const doc = await rc.q.query(
    `INSERT INTO document (resident_id, institution_id, status, type_code, title, content_type, content_text, authored_at, extra)
     VALUES ($1, $2, 'current', 'referral_note', $3, 'text/plain', $4, $5, $6::jsonb) RETURNING id`,
    [r.resident_id, r.target_institution_id, '转诊诊疗结果 Referral result summary', summary, now, JSON.stringify({ context: { related: [{ reference: `ServiceRequest/${r.service_request_id}` }] } })],
  );
  return { result_summary: summary, result_document_id: Number(doc.rows[0].id), closed_at: now };
}

/** A redirected case goes on as a new case to the other institution, linked both ways. */
async function redirectCase(rc: Ctx, r: Row, input: ActInput): Promise<Row> {
  const target = await institutionRow(rc.q, input.targetInstitutionId!, 'targetInstitutionId');
  if (!HOSPITAL_TYPES.includes(target.type)) throw new AppError('VALIDATION_FAILED', { detail: 'an upward referral goes to a hospital' }, 'targetInstitutionId');
  const now = new Date();
  const dl = await deadlineFor(rc.q, 'up', r.urgency, 'requested', now);
  const sr = await rc.q.query(
    `INSERT INTO service_request (resident_id, institution_id, status, intent, category, code_system, code, display, authored_at, practitioner_id, performer_institution_id, extra)
     SELECT resident_id, institution_id, 'active', intent, category, code_system, code, display, $2, practitioner_id, $3, extra FROM service_request WHERE id = $1 RETURNING id`,
    [r.service_request_id, now, target.id],
  );
  const task = await rc.q.query(
    `INSERT INTO task (resident_id, institution_id, status, intent, priority, code, description, focus_type, focus_id, owner_institution_id, authored_at, due_at, extra)
     SELECT resident_id, institution_id, 'requested', intent, priority, code, description, 'ServiceRequest', $2, $3, $4, $5, $6::jsonb FROM task WHERE id = $1 RETURNING id`,
    [r.task_id, sr.rows[0].id, target.id, now, dl.dueAt, JSON.stringify(taskExtra('requested', null))],
  );
  const ins = await rc.q.query(
    `INSERT INTO referral (resident_id, direction, urgency, state, source_institution_id, source_practitioner_id, source_user_id, target_institution_id, target_department,
        reason, diagnosis_code, diagnosis_display, summary, attachments, service_request_id, task_id, redirected_from, due_at, expires_at, requested_at)
     SELECT resident_id, direction, urgency, 'requested', source_institution_id, source_practitioner_id, source_user_id, $2, $3,
        reason, diagnosis_code, diagnosis_display, summary, attachments, $4, $5, id, $6, $7, $8 FROM referral WHERE id = $1 RETURNING *`,
    [r.id, target.id, input.targetDepartment ?? null, sr.rows[0].id, task.rows[0].id, dl.dueAt, dl.expiresAt, now],
  );
  const created = ins.rows[0];
  await rc.q.query("INSERT INTO referral_event (referral_id, action, from_state, to_state, user_id, institution_id, note) VALUES ($1, 'create', NULL, 'requested', $2, $3, $4)",
    [created.id, rc.principal.userId, ownInstitution(rc.principal), `redirected from #${r.id}`]);
  await rc.q.query(
    `INSERT INTO care_relationship (resident_id, kind, institution_id, valid_from, valid_to, source_ref) VALUES ($1, 'referral', $2, $3::date, $5::date, $4)`,
    [r.resident_id, target.id, districtDate(), `Referral/${created.id}`, addDays(districtDate(), ACCESS_DAYS)],
  );
  const source = await institutionRow(rc.q, Number(r.source_institution_id), 'sourceInstitutionId');
  await tell(rc.q, created, 'referral.requested', 'target', {
    priority: r.urgency === 'green_channel' ? 'urgent' : r.urgency === 'urgent' ? 'high' : 'normal',
    params: { source: source.name, reason: r.reason, urgency: urgencyLabel(r.urgency) },
  });
  return created;
}

const EVENT_OF: Record<Action, WebhookEvent> = {
  accept: 'referral.accepted', reject: 'referral.rejected', redirect: 'referral.redirected', schedule: 'referral.scheduled', arrive: 'referral.arrived',
  complete: 'referral.completed', 'return-summary': 'referral.closed', cancel: 'referral.cancelled', 'no-show': 'referral.expired', 'follow-up': 'referral.followed_up', expire: 'referral.expired',
};

/** Tells the other side of a transition (both sides when the deadline job moved it). */
async function announce(q: Queryable, r: Row, action: Action, to: ReferralState, by: Side, note: string | null, redirectedTo: Row | null) {
  let kind = EVENT_OF[action];
  if (action === 'accept' && to === 'scheduled') kind = 'referral.scheduled';
  if (action === 'complete' && to === 'closed') kind = 'referral.closed';
  const towards: ('source' | 'target')[] = by === 'source' ? ['target'] : by === 'target' ? ['source'] : ['source', 'target'];
  let appointment: string | null = null;
  if (r.appointment_id && (kind === 'referral.scheduled' || kind === 'referral.accepted')) {
    const a = await q.query('SELECT start_at FROM appointment WHERE id = $1', [r.appointment_id]);
    if (a.rows[0]?.start_at) appointment = localTime(a.rows[0].start_at);
  }
  const redirectedName = redirectedTo ? (await q.query('SELECT name FROM institution WHERE id = $1', [redirectedTo.target_institution_id])).rows[0]?.name : null;
  for (const side of towards) {
    await tell(q, r, kind, side, { priority: kind === 'referral.rejected' || kind === 'referral.expired' ? 'high' : 'normal', params: { note, appointment, redirectedTo: redirectedName } });
  }
}

/** What telling one side of a case sends: the notification and its recipients, and the webhook to both institutions. */
interface TellPlan {
  notice: Notice;
  /** the referring user, else the institution's staff in these roles (and the case's team) */
  userId: number | null;
  institutionId: number;
  roles: Role[];
  teamId: number | null;
  event: WebhookEvent;
  institutions: number[];
  payload: Record<string, unknown>;
}

function tellPlan(r: Row, names: { resident: string; source: string; target: string }, kind: WebhookEvent, side: 'source' | 'target', n: Omit<Notice, 'kind' | 'referralId'>): TellPlan {
  const params = { ...names, state: STATE_LABELS[r.state as ReferralState].zh, due: r.due_at ? localTime(r.due_at) : null, ...n.params };
  const toSource = side === 'source';
  return {
    notice: { kind, referralId: Number(r.id), priority: n.priority, params },
    userId: toSource && r.source_user_id ? Number(r.source_user_id) : null,
    institutionId: Number(toSource ? r.source_institution_id : r.target_institution_id),
    roles: toSource ? (r.direction === 'up' ? SENDERS_UP : SENDERS_DOWN) : r.direction === 'up' ? RECEIVERS_UP : RECEIVERS_DOWN,
    teamId: toSource || r.target_team_id === null || r.target_team_id === undefined ? null : Number(r.target_team_id),
    event: kind,
    institutions: [Number(r.source_institution_id), Number(r.target_institution_id)],
    // webhooks carry no names: the case, the resident's FHIR id and the state
    payload: {
      referral: { id: Number(r.id), direction: r.direction, urgency: r.urgency, state: r.state, version: r.version },
      task: `Task/${r.task_id}`, serviceRequest: `ServiceRequest/${r.service_request_id}`, patient: `Patient/${r.resident_id}`,
      sourceInstitution: `Organization/${r.source_institution_id}`, targetInstitution: `Organization/${r.target_institution_id}`,
    },
  };
}

/** The plan's notification as SQL text. */
function notifySql(v: Params, t: TellPlan, when: string): string {
  return t.userId === null ? notifyInstitutionSql(v, t.institutionId, t.roles, t.notice, t.teamId, when) : notifyUserSql(v, t.userId, t.notice, when);
}

/** A notification to one side of the case (the referring user, else the institution's staff) and a webhook to both institutions. */
async function tell(q: Queryable, r: Row, kind: WebhookEvent, side: 'source' | 'target', n: Omit<Notice, 'kind' | 'referralId'>) {
  const names = r.resident_name !== undefined ? { resident: r.resident_name, source: r.source_name, target: r.target_name } : (await q.query(
    `SELECT (SELECT name FROM resident WHERE id = $1) AS resident, (SELECT name FROM institution WHERE id = $2) AS source, (SELECT name FROM institution WHERE id = $3) AS target`,
    [r.resident_id, r.source_institution_id, r.target_institution_id],
  )).rows[0] as { resident: string; source: string; target: string };
  const t = tellPlan(r, names, kind, side, n);
  const v = new Params();
  const { rows } = await q.query(`WITH n AS (${notifySql(v, t, 'TRUE')}), w AS (${enqueueSql(v, t.institutions, t.event, t.payload)}) SELECT count(*)::int AS queued FROM w`, v.values);
  noteQueued(Number(rows[0].queued));
}

// ── FHIR clients driving a case through its Task ──

/**
 * Task's beforeWrite for referral tasks: a new Task.status is the action it stands for (accepted → accept, in-progress →
 * arrive, completed → complete / return-summary / follow-up, rejected → reject with Task.statusReason, cancelled →
 * cancel), applied by the state machine; anything else is refused. The case then writes its own status, due date and
 * businessStatus into the row, so the Task never disagrees with the case.
 */
export async function applyTaskWrite(values: Record<string, unknown>, ctx: WriteContext, existing: Row | null): Promise<void> {
  if (!existing) return;
  const { rows } = await ctx.q.query('SELECT id, state, direction FROM referral WHERE task_id = $1', [existing.id]);
  if (!rows[0]) return;
  const r = rows[0];
  if (values.status !== existing.status) {
    const action = actionForTaskStatus(r.state, values.status as string, r.direction);
    if (!action) throw new AppError('INVALID_STATE', { detail: { zh: `转诊任务不能直接改为 ${values.status}`, en: `a referral task cannot be set to ${values.status}` } }, 'Task.status');
    const reason = (values.extra as Json | null)?.statusReason?.text ?? null;
    const rc: Ctx = { q: ctx.q, keys: ctx.keys, principal: ctx.principal, audit: ctx.audit, base: '' };
    await act(rc, Number(r.id), { action, note: reason, summary: action === 'return-summary' || action === 'complete' ? reason : null }, { fromTask: true });
  }
  const fresh = await loadCase(ctx.q, Number(r.id));
  values.status = TASK_STATUS[fresh.state as ReferralState];
  values.due_at = fresh.due_at;
  values.extra = { ...((values.extra as Json | null) ?? {}), ...taskExtra(fresh.state, fresh.state_reason) };
}
registerTaskWriteHook(applyTaskWrite);

/** Appointment statuses that hold a place for the patient. */
const HOLDING = ['booked', 'pending', 'arrived', 'checked-in'];

/**
 * Appointment's onWritten hook: an appointment booked over FHIR for an upward referral's ServiceRequest
 * (Appointment.basedOn) schedules the case, as POST /referrals/{id}/schedule would — the same state machine, side
 * rules, deadlines, notifications and webhooks. A case that cannot be scheduled any more refuses the appointment.
 */
export async function applyAppointmentWrite(id: number, values: Record<string, unknown>, ctx: WriteContext): Promise<void> {
  if (!values.service_request_id || !HOLDING.includes(values.status as string)) return;
  const { rows } = await ctx.q.query("SELECT id, appointment_id FROM referral WHERE service_request_id = $1 AND direction = 'up'", [values.service_request_id]);
  if (!rows[0] || Number(rows[0].appointment_id) === id) return;
  const rc: Ctx = { q: ctx.q, keys: ctx.keys, principal: ctx.principal, audit: ctx.audit, base: '' };
  await act(rc, Number(rows[0].id), { action: 'schedule' }, { appointmentId: id });
}
registerAppointmentWriteHook(applyAppointmentWrite);

// ── the deadline job ──

/**
 * Escalates cases past their deadline to the responsible institution's administrator (once per deadline) and expires
 * cases past their expiry. A scheduled case whose patient never came expires as a no-show.
 */
export async function runDeadlines(db: Db, now = new Date()): Promise<{ escalated: number; expired: number }> {
  const systemCtx = (q: Queryable): Ctx => ({ q, keys: null as never, principal: SYSTEM_PRINCIPAL, audit: { principal: null }, base: '' });
  const due = await db.query(
    `SELECT id FROM referral WHERE expires_at <= $1 AND state IN ('requested', 'accepted', 'scheduled') ORDER BY expires_at LIMIT 500`, [now]);
  let expired = 0;
  for (const { id } of due.rows) {
    await withRetry(() => db.tx(async (q) => {
      const r = await loadCase(q, Number(id), true);
      if (!r.expires_at || new Date(r.expires_at) > now || !['requested', 'accepted', 'scheduled'].includes(r.state)) return;
      await act(systemCtx(q), Number(id), { action: r.state === 'scheduled' ? 'no-show' : 'expire', note: r.state === 'scheduled' ? null : 'deadline passed' }, { side: 'system' });
      expired++;
    }));
  }
  let escalated = 0;
  await db.tx(async (q) => {
    const { rows } = await q.query(
      `UPDATE referral SET escalated_at = $1
        WHERE id IN (SELECT id FROM referral WHERE due_at <= $1 AND escalated_at IS NULL AND state IN ('requested', 'accepted', 'scheduled', 'arrived', 'completed') ORDER BY due_at LIMIT 500 FOR UPDATE SKIP LOCKED)
        RETURNING *`,
      [now],
    );
    for (const r of rows) {
      escalated++;
      await q.query("INSERT INTO referral_event (referral_id, action, from_state, to_state, note) VALUES ($1, 'escalate', $2, $2, $3)", [r.id, r.state, `due ${localTime(r.due_at)}`]);
      // in every open state the receiving side owes the next step (answer, book, see, return the summary, follow up)
      const names = await q.query('SELECT (SELECT name FROM resident WHERE id = $1) AS resident', [r.resident_id]);
      await notifyInstitution(q, Number(r.target_institution_id), ['institution_admin'], {
        kind: 'referral.overdue', referralId: Number(r.id), priority: 'high',
        params: { resident: names.rows[0].resident, state: STATE_LABELS[r.state as ReferralState].zh, due: localTime(r.due_at) },
      });
      await enqueue(q, [Number(r.target_institution_id)], 'referral.overdue', {
        referral: { id: Number(r.id), direction: r.direction, urgency: r.urgency, state: r.state, version: r.version, dueAt: new Date(r.due_at).toISOString() },
        task: `Task/${r.task_id}`, patient: `Patient/${r.resident_id}`,
      });
    }
  });
  return { escalated, expired };
}

const SYSTEM_PRINCIPAL: Principal = {
  userId: 0, username: 'system', displayName: 'CareGrid', roles: [], institutionId: null, regionId: null, teamId: null, practitionerId: null, locale: 'zh-CN',
  kind: 'system', sessionVersion: 0, tokenInstitutionId: null,
  scope: { all: true, streetIds: [], communityIds: [], gridIds: [], teamIds: [], institutionIds: [], practitionerIds: [], userIds: [] },
};

/** Runs the deadline job every `intervalMs` (and once at once). */
export function startDeadlineJob(db: Db, onError: (err: unknown) => void, intervalMs = 60_000): PeriodicJob {
  return startPeriodicJob(() => runDeadlines(db), onError, intervalMs);
}

// ── reading ──


const iso = (v: unknown) => (v ? new Date(v as string).toISOString() : null);

/** Worklist order: open green-channel cases first, then newest (served by referral_target_idx / referral_source_idx). */
const LIST_ORDER = `(f.urgency = 'green_channel' AND f.state = ANY ('{requested,accepted}'::text[])) DESC, f.requested_at DESC, f.id DESC`;

// Names and the appointment come from scalar subqueries rather than joins: only the resident is joined (the scope
// predicates read it), so planning stays cheap (an eight-table join cost ~6 ms to plan for a 0.4 ms execution).
const LIST_SQL = `
  SELECT f.*, r.name AS resident_name, r.sex AS resident_sex, r.birth_date AS resident_birth_date, r.id_number_mask,
         (SELECT name FROM institution WHERE id = f.source_institution_id) AS source_name,
         (SELECT name FROM institution WHERE id = f.target_institution_id) AS target_name,
         (SELECT name FROM practitioner WHERE id = f.source_practitioner_id) AS practitioner_name,
         (SELECT name FROM team WHERE id = f.target_team_id) AS team_name,
         a.slot_id AS appointment_slot_id, a.start_at AS appointment_start, a.status AS appointment_status
    FROM referral f
    JOIN resident r ON r.id = f.resident_id
    LEFT JOIN LATERAL (SELECT slot_id, start_at, status FROM appointment WHERE id = f.appointment_id) a ON true`;

/** Worklist totals are counted exactly up to this many; beyond it the list says "more than" (a desk pages, it does not count 100,000 cases). */
export const COUNT_CAP = 10_000;

function toView(p: Principal, r: Row, now = new Date()): ReferralView {
  const side = sideOf(p, r);
  return {
    id: Number(r.id), version: r.version, direction: r.direction, urgency: r.urgency, state: r.state, stateReason: r.state_reason,
    resident: { id: Number(r.resident_id), name: r.resident_name, sex: r.resident_sex, birthDate: typeof r.resident_birth_date === 'string' ? r.resident_birth_date.slice(0, 10) : new Date(r.resident_birth_date).toISOString().slice(0, 10), idNumberMasked: r.id_number_mask },
    source: { institutionId: Number(r.source_institution_id), institutionName: r.source_name, practitionerId: r.source_practitioner_id === null ? null : Number(r.source_practitioner_id), practitionerName: r.practitioner_name ?? null },
    target: { institutionId: Number(r.target_institution_id), institutionName: r.target_name, department: r.target_department, teamId: r.target_team_id === null ? null : Number(r.target_team_id), teamName: r.team_name ?? null },
    reason: r.reason, diagnosis: r.diagnosis_code ? { code: r.diagnosis_code, display: r.diagnosis_display } : null, summary: r.summary,
    attachments: r.attachments ?? [], medications: r.medications, followUpPlan: r.follow_up_plan,
    appointment: r.appointment_id ? { id: Number(r.appointment_id), slotId: r.appointment_slot_id === null ? null : Number(r.appointment_slot_id), start: iso(r.appointment_start), status: r.appointment_status } : null,
    serviceRequestId: Number(r.service_request_id), taskId: Number(r.task_id),
    redirectedFrom: r.redirected_from === null ? null : Number(r.redirected_from), redirectedTo: r.redirected_to === null ? null : Number(r.redirected_to),
    dueAt: iso(r.due_at), expiresAt: iso(r.expires_at), overdue: !!r.due_at && new Date(r.due_at) < now && OPEN_STATES.includes(r.state), escalatedAt: iso(r.escalated_at),
    requestedAt: iso(r.requested_at)!, respondedAt: iso(r.responded_at), scheduledAt: iso(r.scheduled_at), arrivedAt: iso(r.arrived_at), completedAt: iso(r.completed_at),
    closedAt: iso(r.closed_at), endedAt: iso(r.ended_at), resultSummary: r.result_summary, resultDocumentId: r.result_document_id === null ? null : Number(r.result_document_id),
    followUpDueAt: iso(r.follow_up_due_at), followedUpAt: iso(r.followed_up_at), followUpNote: r.follow_up_note,
    side, actions: side ? allowedActions(r.state, side, r.direction) : [],
  };
}

/** A case with the names and appointment the views and messages show. */
/** A case the caller may not see is answered as unknown (404); the attempt is audited as denied for the district. */
async function hiddenCase(rc: Ctx, action: 'read' | 'update', row: Row): Promise<never> {
  await audit(rc.q, rc.audit, { action, resourceType: 'Referral', resourceId: Number(row.id), residentId: Number(row.resident_id), outcome: 'denied' });
  throw notFound('referral');
}

async function caseRow(q: Queryable, id: number): Promise<Row> {
  const { rows } = await q.query(`${LIST_SQL} WHERE f.id = $1`, [id]);
  return rows[0];
}

/** One case for a side of it (or the district admin); the read is audited. */
export async function getReferral(rc: Ctx, id: number): Promise<ReferralDetail> {
  const { rows } = await rc.q.query(`${LIST_SQL} WHERE f.id = $1`, [id]);
  if (!rows[0]) throw notFound('referral');
  if (!canRead(rc.principal, rows[0], await residentVisible(rc, Number(rows[0].resident_id)))) await hiddenCase(rc, 'read', rows[0]);
  await audit(rc.q, rc.audit, { action: 'read', resourceType: 'Referral', resourceId: id, residentId: Number(rows[0].resident_id) });
  const ev = await rc.q.query(
    'SELECT e.action, e.from_state, e.to_state, e.at, e.note, u.display_name FROM referral_event e LEFT JOIN app_user u ON u.id = e.user_id WHERE e.referral_id = $1 ORDER BY e.id', [id]);
  return {
    ...toView(rc.principal, rows[0]),
    events: ev.rows.map((e) => ({ action: e.action, fromState: e.from_state, toState: e.to_state, at: iso(e.at)!, note: e.note, user: e.display_name ?? null })),
  };
}

export interface ListFilter {
  box: 'inbox' | 'outbox' | 'all';
  state?: ReferralState[];
  direction?: Direction;
  urgency?: Urgency;
  overdue?: boolean;
  residentId?: number;
  /** YYYY-MM-DD, requested on or after / before the end of */
  from?: string;
  to?: string;
  page: number;
  pageSize: number;
}

/** Inbox (cases sent to the caller's institution) and outbox (sent by it), newest first; every listed person is audited. */
export async function listReferrals(rc: Ctx, f: ListFilter): Promise<{ items: ReferralView[]; total: number; totalCapped: boolean; page: number; pageSize: number }> {
  const p = rc.principal;
  const params = new Params();
  const where: string[] = [];
  const own = ownInstitution(p);
  const district = hasRole(p, 'district_admin') && p.tokenInstitutionId === null;
  if (!district) {
    if (own === null) throw new AppError('FORBIDDEN');
    const o = params.add(own);
    where.push(f.box === 'inbox' ? `f.target_institution_id = ${o}` : f.box === 'outbox' ? `f.source_institution_id = ${o}` : `(f.target_institution_id = ${o} OR f.source_institution_id = ${o})`);
    // a family doctor (or nurse) works with their own residents: cases they sent, and cases of residents in their scope
    if (personalScope(p)) where.push(`(f.source_user_id = ${params.add(p.userId)} OR ${residentScopeSql(p, params, 'r')})`);
  }
  if (f.state?.length) where.push(`f.state = ANY(${params.add(f.state)}::text[])`);
  if (f.direction) where.push(`f.direction = ${params.add(f.direction)}`);
  if (f.urgency) where.push(`f.urgency = ${params.add(f.urgency)}`);
  if (f.residentId) where.push(`f.resident_id = ${params.add(f.residentId)}`);
  if (f.overdue) where.push(`f.due_at < now() AND f.state = ANY('{requested,accepted,scheduled,arrived,completed}'::text[])`);
  if (f.from) where.push(`f.requested_at >= ${params.add(`${f.from}T00:00:00+08:00`)}::timestamptz`);
  if (f.to) where.push(`f.requested_at < ${params.add(`${f.to}T00:00:00+08:00`)}::timestamptz + interval '1 day'`);
  const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const from = `FROM referral f${personalScope(p) ? ' JOIN resident r ON r.id = f.resident_id' : ''} ${w}`;
  // One statement: the page (its ids first, so names are looked up for its rows only, not for every row OFFSET
  // skips), the capped count, and the audit of the residents shown. Green channel first among open cases, then newest.
  const { rows } = await rc.q.query(
    `WITH page AS (
       ${LIST_SQL} WHERE f.id IN (SELECT f.id ${from} ORDER BY ${LIST_ORDER} LIMIT ${params.add(f.pageSize)} OFFSET ${params.add((f.page - 1) * f.pageSize)})
     ), shown AS (SELECT DISTINCT resident_id AS id FROM page),
     au AS (${auditCte(params, rc.audit, 'list', 'shown', 'Referral')})
     SELECT t.total_n, f.* FROM (SELECT count(*)::int AS total_n FROM (SELECT 1 ${from} LIMIT ${COUNT_CAP + 1}) x) t
       LEFT JOIN page f ON true
      ORDER BY ${LIST_ORDER}`,
    params.values,
  );
  const now = new Date();
  const n = rows[0].total_n;
  const items = rows.filter((r) => r.id !== null);
  return { items: items.map((r) => toView(p, r, now)), total: Math.min(n, COUNT_CAP), totalCapped: n > COUNT_CAP, page: f.page, pageSize: f.pageSize };
}

/** Hospitals a resident may be referred to: those of the consortium covering their grid first, with free reserved places. */
export async function suggestTargets(rc: Ctx, residentId: number): Promise<{ institutionId: number; name: string; type: string; inConsortium: boolean; departments: { department: string; reservedFree: number; nextFree: string | null }[] }[]> {
  const r = await residentInScope(rc, residentId);
  const { rows } = await rc.q.query(
    `SELECT i.id, i.name, i.type,
            EXISTS (SELECT 1 FROM consortium_grid cg JOIN consortium_member cm ON cm.consortium_id = cg.consortium_id WHERE cg.grid_id = $1 AND cm.institution_id = i.id) AS in_consortium
       FROM institution i WHERE i.active AND i.type = ANY($2::text[])
      ORDER BY in_consortium DESC, i.level DESC NULLS LAST, i.id`,
    [r.grid_id, HOSPITAL_TYPES],
  );
  const dept = await rc.q.query(
    `SELECT sc.institution_id, sc.department, count(*)::int AS reserved_free, min(s.start_at) AS next_free
       FROM slot s JOIN schedule sc ON sc.id = s.schedule_id
      WHERE s.status = 'free' AND s.start_at > now() AND s.reserved_for IS NOT NULL AND s.released_at IS NULL AND s.release_at > now() AND sc.department IS NOT NULL
      GROUP BY sc.institution_id, sc.department ORDER BY sc.institution_id, sc.department`,
  );
  return rows.map((i) => ({
    institutionId: Number(i.id), name: i.name, type: i.type, inConsortium: i.in_consortium,
    departments: dept.rows.filter((d) => Number(d.institution_id) === Number(i.id)).map((d) => ({ department: d.department, reservedFree: d.reserved_free, nextFree: iso(d.next_free) })),
  }));
}

