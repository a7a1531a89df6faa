// Enrolments read and made through the API: a family doctor records a hypertension or diabetes diagnosis (a Condition
// in the shared record, written through the FHIR repository like any institution's), and the enrolment follows from
// it as it does for every other path (fusion.ts).
import type { Queryable, Row } from '../../db/engine.ts';
import { SYSTEM } from '../../fhir/datatypes.ts';
import * as repo from '../../fhir/repository.ts';
import { icd10Valid } from '../../fhir/resources/observation.ts';
import { residentScopeSql } from '../../platform/access.ts';
import { audit, auditResidents, type AuditEntry } from '../../platform/audit.ts';
import { AppError, notFound } from '../../platform/errors.ts';
import { Params } from '../../platform/sql.ts';
import { ICD10_SYSTEMS, OPEN_TASK_STATUSES } from './fusion.ts';
import { onResidentMerge } from '../residents/service.ts';
import { currentProgrammes } from './programmes.ts';

function toEnrolment(r: Row) {
  const iso = (d: unknown) => (d ? new Date(d as string).toISOString() : null);
  return {
    id: Number(r.id), version: Number(r.version), residentId: Number(r.resident_id), programme: r.programme_code as string, programmeName: r.programme_name as string, status: r.status as string,
    source: r.source as string, conditionId: r.condition_id === null ? null : Number(r.condition_id),
    diagnosis: r.diagnosis_code ? { system: r.diagnosis_system as string, code: r.diagnosis_code as string } : null,
    institutionId: Number(r.institution_id), startedAt: iso(r.started_at)!, endedAt: iso(r.ended_at),
    nextDueAt: iso(r.next_due_at), nextTaskId: r.next_task_id === null ? null : Number(r.next_task_id),
    lastFollowUpAt: iso(r.last_follow_up_at), lastClassification: r.last_classification ?? null, uncontrolledStreak: Number(r.uncontrolled_streak),
  };
}
export type Enrolment = ReturnType<typeof toEnrolment>;

/**
 * Refuses a caller who may not see the resident: 403 OUT_OF_SCOPE (on `field`, when given), the refusal audited as
 * `denied`; 404 when there is no such resident. A merged record is not refused (its cancelled enrolments stay with it).
 */
export async function assertResidentVisible(rc: Pick<repo.RequestContext, 'q' | 'principal' | 'audit'>, residentId: number, denied: Omit<AuditEntry, 'residentId' | 'outcome'>, field?: string): Promise<void> {
  const v = new Params();
  const { rows } = await rc.q.query(`SELECT ${residentScopeSql(rc.principal, v, 'r')} AS ok FROM resident r WHERE r.id = ${v.add(residentId)}`, v.values);
  if (!rows[0]) throw Object.assign(notFound('resident'), { field: 'residentId' });
  if (!rows[0].ok) {
    await audit(rc.q, rc.audit, { ...denied, residentId, outcome: 'denied' });
    throw new AppError('OUT_OF_SCOPE', {}, field);
  }
}

/** A resident's enrolments (403 outside the caller's scope). */
export async function enrolmentsOf(rc: repo.RequestContext, residentId: number): Promise<Enrolment[]> {
  await assertResidentVisible(rc, residentId, { action: 'read', resourceType: 'EpisodeOfCare' });
  const { rows } = await rc.q.query(
    `SELECT e.*, p.name AS programme_name FROM chronic_enrolment e JOIN chronic_programme p ON p.code = e.programme_code WHERE e.resident_id = $1 ORDER BY e.id`,
    [residentId],
  );
  await auditResidents(rc.q, rc.audit, 'read', [residentId], 'EpisodeOfCare');
  return rows.map(toEnrolment);
}

export async function enrolmentRow(q: Queryable, id: number, forUpdate = false): Promise<Row> {
  const { rows } = await q.query(`SELECT e.*, p.name AS programme_name FROM chronic_enrolment e JOIN chronic_programme p ON p.code = e.programme_code WHERE e.id = $1${forUpdate ? ' FOR UPDATE OF e' : ''}`, [id]);
  if (!rows[0]) throw Object.assign(notFound('enrolment'), { field: 'enrolmentId' });
  return rows[0];
}

export { toEnrolment };

/**
 * Records a diagnosis for a resident (an ICD-10 Condition of the caller's institution) and returns the resident's
 * enrolments in the programmes it names; `created` is true when this diagnosis enrolled them.
 */
export async function recordDiagnosis(rc: repo.RequestContext, input: { residentId: number; code: string; system?: string; display?: string | null; sourceId?: string | null }) {
  const system = input.system ?? SYSTEM.icd10;
  if (!ICD10_SYSTEMS.has(system)) throw new AppError('VALIDATION_FAILED', { detail: { zh: `不支持的诊断编码体系 ${system}`, en: `unsupported code system ${system}` } }, 'system');
  const code = input.code.trim().toUpperCase().replace(/X(\d{3})$/, 'x$1');
  if (!icd10Valid(code)) throw new AppError('VALIDATION_FAILED', { detail: { zh: `${code} 不是 ICD-10 编码`, en: `${code} is not an ICD-10 code` } }, 'code');
  const programmes = (await currentProgrammes(rc.q)).filter((p) => p.active && p.icd10Prefixes.includes(code.slice(0, 3)));
  if (!programmes.length) throw new AppError('VALIDATION_FAILED', { detail: { zh: `${code} 不属于任何慢病管理项目`, en: `${code} belongs to no chronic-disease programme` } }, 'code');
  const before = await rc.q.query("SELECT programme_code FROM chronic_enrolment WHERE resident_id = $1 AND status = 'active'", [input.residentId]);
  const had = new Set(before.rows.map((r) => r.programme_code));
  const condition = {
    resourceType: 'Condition',
    ...(input.sourceId ? { identifier: [{ system: 'https://caregrid.dev/fhir/sid/chronic-diagnosis', value: input.sourceId }] } : {}),
    clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
    verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' }] },
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'problem-list-item' }] }],
    code: { coding: [{ system, code, ...(input.display ? { display: input.display } : {}) }] },
    subject: { reference: `Patient/${input.residentId}` },
  };
  let written;
  try {
    written = await repo.create(rc, 'Condition', condition);
  } catch (e) {
    if (e instanceof AppError && e.field === 'Condition.subject.reference') throw Object.assign(new AppError(e.code, e.params), { field: 'residentId' });
    throw e;
  }
  const all = await enrolmentsOf(rc, input.residentId);
  const names = new Set(programmes.map((p) => p.code));
  return {
    conditionId: written.id,
    enrolments: all.filter((e) => e.status === 'active' && names.has(e.programme)).map((e) => ({ ...e, created: !had.has(e.programme) })),
  };
}

// ── merges of duplicate residents ──

/**
 * A merge moves the duplicate's enrolments and follow-ups to the survivor. An enrolment in a programme the survivor is
 * already enrolled in is cancelled (one active enrolment per programme), with its open tasks; an undo restores both.
 */
onResidentMerge({
  name: 'chronic',
  async move(q, fromId, toId) {
    const clash = await q.query(
      `UPDATE chronic_enrolment d SET status = 'cancelled', ended_at = now(), end_reason = 'merged duplicate record'
        WHERE d.resident_id = $1 AND d.status = 'active'
          AND EXISTS (SELECT 1 FROM chronic_enrolment s WHERE s.resident_id = $2 AND s.programme_code = d.programme_code AND s.status = 'active')
        RETURNING d.id`,
      [fromId, toId],
    );
    const cancelled = clash.rows.map((r) => Number(r.id));
    const tasks = cancelled.length
      ? (await q.query(
          `UPDATE task SET status = 'cancelled' WHERE focus_type = 'EpisodeOfCare' AND focus_id = ANY($1::bigint[]) AND status = ANY($2::text[]) RETURNING id, status`,
          [cancelled, OPEN_TASK_STATUSES],
        )).rows.map((r) => Number(r.id))
      : [];
    const enrolments = (await q.query('UPDATE chronic_enrolment SET resident_id = $2 WHERE resident_id = $1 RETURNING id', [fromId, toId])).rows.map((r) => Number(r.id));
    const followUps = (await q.query('UPDATE chronic_follow_up SET resident_id = $2 WHERE resident_id = $1 RETURNING id', [fromId, toId])).rows.map((r) => Number(r.id));
    return { enrolments, followUps, cancelled, tasks };
  },
  async restore(q, moved, toId) {
    const m = moved as { enrolments: number[]; followUps: number[]; cancelled: number[]; tasks: number[] };
    if (m.enrolments.length) await q.query('UPDATE chronic_enrolment SET resident_id = $2 WHERE id = ANY($1::bigint[])', [m.enrolments, toId]);
    if (m.followUps.length) await q.query('UPDATE chronic_follow_up SET resident_id = $2 WHERE id = ANY($1::bigint[])', [m.followUps, toId]);
    if (m.cancelled.length) await q.query("UPDATE chronic_enrolment SET status = 'active', ended_at = NULL, end_reason = NULL WHERE id = ANY($1::bigint[])", [m.cancelled]);
    if (m.tasks.length) await q.query("UPDATE task SET status = 'requested' WHERE id = ANY($1::bigint[])", [m.tasks]);
  },
});

/**
 * Ends an enrolment (管理结束: moved away, died, diagnosis withdrawn as entered-in-error) with its reason; its open
 * follow-up tasks are cancelled. A later diagnosis enrols the resident again.
 */
export async function endEnrolment(rc: repo.RequestContext, id: number, input: { status: 'finished' | 'entered-in-error'; reason: string; version?: number }) {
  const p = rc.principal;
  if (!p.roles.some((r) => ['district_admin', 'institution_admin', 'family_doctor', 'nurse'].includes(r))) throw new AppError('FORBIDDEN');
  const e = await enrolmentRow(rc.q, id, true);
  await assertResidentVisible(rc, Number(e.resident_id), { action: 'update', resourceType: 'EpisodeOfCare', resourceId: id }, 'id');
  if (input.version !== undefined && Number(e.version) !== input.version) throw new AppError('STALE_VERSION', {}, 'version');
  if (e.status !== 'active') throw new AppError('INVALID_STATE', { detail: { zh: `管理状态为 ${e.status}`, en: `the enrolment is ${e.status}` } });
  await rc.q.query('UPDATE chronic_enrolment SET status = $2, ended_at = now(), end_reason = $3, next_task_id = NULL, next_due_at = NULL WHERE id = $1', [id, input.status, input.reason]);
  await rc.q.query("UPDATE task SET status = 'cancelled' WHERE focus_type = 'EpisodeOfCare' AND focus_id = $1 AND status = ANY($2::text[])", [id, OPEN_TASK_STATUSES]);
  await audit(rc.q, rc.audit, { action: 'update', resourceType: 'EpisodeOfCare', resourceId: id, residentId: Number(e.resident_id), purpose: `end: ${input.status}` });
  return toEnrolment(await enrolmentRow(rc.q, id));
}
