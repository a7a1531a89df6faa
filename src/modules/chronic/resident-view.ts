// A resident's chronic-disease care as the console shows it: the programme page (enrolments, open tasks, last
// readings and medications, the last follow-up) — which also pre-fills the follow-up form — and the blood-pressure and
// glucose readings over time from every institution, for the trend charts. Both check the resident is in the caller's
// scope (enrolmentsOf, audited) before reading anything else.
import * as repo from '../../fhir/repository.ts';
import { audit } from '../../platform/audit.ts';
import { OPEN_TASK_STATUSES, TASK_CODES } from './fusion.ts';
import { enrolmentsOf } from './enrolments.ts';
import { toFollowUp } from './follow-ups.ts';
import { lastReadingsAndMedications } from './readings.ts';
import { LOINC, WATCHED_CODES, measuresOfObservation } from './rules.ts';

const CHRONIC_TASK_CODES = Object.values(TASK_CODES);
const KIND_OF_CODE: Record<string, string> = { [TASK_CODES.followUp]: 'follow_up', [TASK_CODES.enrolment]: 'enrolment', [TASK_CODES.danger]: 'danger', [TASK_CODES.discharge]: 'discharge' };

/** Enrolments, open chronic-disease tasks, last readings and medications, and the last follow-up of any programme. */
export async function chronicCare(rc: repo.RequestContext, residentId: number) {
  const enrolments = await enrolmentsOf(rc, residentId);
  const tasks = await rc.q.query(
    `SELECT t.id, t.code, t.priority, t.status, t.due_at, t.description, t.focus_type, t.focus_id, t.institution_id, i.name AS institution_name, tm.id AS team_id, tm.name AS team_name
       FROM task t LEFT JOIN institution i ON i.id = t.institution_id LEFT JOIN team tm ON tm.id = t.owner_team_id
      WHERE t.resident_id = $1 AND t.code = ANY($2::text[]) AND t.status = ANY($3::text[])
      ORDER BY (t.priority IN ('urgent', 'asap', 'stat')) DESC, t.due_at NULLS LAST, t.id`,
    [residentId, CHRONIC_TASK_CODES, OPEN_TASK_STATUSES],
  );
  const last = await rc.q.query('SELECT * FROM chronic_follow_up WHERE resident_id = $1 ORDER BY visit_at DESC, id DESC LIMIT 1', [residentId]);
  const { readings, medications: meds } = await lastReadingsAndMedications(rc.q, [residentId]);
  const now = Date.now();
  return {
    residentId,
    enrolments,
    openTasks: tasks.rows.map((t) => {
      const due = t.due_at ? new Date(t.due_at) : null;
      return {
        id: Number(t.id), kind: KIND_OF_CODE[t.code] ?? t.code, priority: (t.priority ?? 'routine') as string, status: t.status as string,
        dueAt: due ? due.toISOString() : null, overdue: !!due && due.getTime() < now, description: t.description ?? null,
        enrolmentId: t.focus_type === 'EpisodeOfCare' ? Number(t.focus_id) : null,
        source: { institutionId: Number(t.institution_id), institutionName: t.institution_name as string },
        team: t.team_id ? { id: Number(t.team_id), name: t.team_name as string } : null,
      };
    }),
    lastReadings: readings.get(residentId) ?? { sbp: null, dbp: null, fpg: null, glucose: null, heartRate: null },
    medications: meds.get(residentId) ?? [],
    lastFollowUp: last.rows[0] ? toFollowUp(last.rows[0]) : null,
  };
}

/**
 * Blood pressure and glucose readings from the shared record (follow-ups and every institution's observations,
 * panels read by their components), oldest first; readings taken together (one panel, one visit) share a point.
 */
export async function chronicReadings(rc: repo.RequestContext, residentId: number, since: Date | null) {
  await enrolmentsOf(rc, residentId); // the scope check (a denial is audited there)
  const codes = [...WATCHED_CODES].filter((c) => c !== LOINC.temperature && c !== LOINC.heartRate);
  const { rows } = await rc.q.query(
    `SELECT o.id, o.encounter_id, o.code_system, o.code, o.value_num, o.unit, o.unit_code, o.components, o.effective_at, o.institution_id, i.name AS institution_name
       FROM observation o LEFT JOIN institution i ON i.id = o.institution_id
      WHERE o.resident_id = $1 AND o.code = ANY($2::text[]) AND o.status NOT IN ('cancelled', 'entered-in-error') AND ($3::timestamptz IS NULL OR o.effective_at >= $3)
      ORDER BY o.effective_at, o.id LIMIT 5000`,
    [residentId, codes, since],
  );
  type Point = { at: string; sbp: number | null; dbp: number | null; glucose: number | null; fasting: boolean; institutionId: number; institutionName: string | null };
  const points = new Map<string, Point>();
  for (const r of rows) {
    const m = measuresOfObservation(r);
    if (m.sbp === undefined && m.dbp === undefined && m.glucose === undefined) continue;
    const at = new Date(r.effective_at).toISOString();
    const key = `${at}|${r.institution_id}|${r.encounter_id ?? `o${r.id}`}`;
    const p = points.get(key) ?? { at, sbp: null, dbp: null, glucose: null, fasting: false, institutionId: Number(r.institution_id), institutionName: r.institution_name ?? null };
    if (m.sbp !== undefined) p.sbp = m.sbp;
    if (m.dbp !== undefined) p.dbp = m.dbp;
    if (m.glucose !== undefined) {
      p.glucose = m.glucose;
      p.fasting = m.fpg !== undefined;
    }
    points.set(key, p);
  }
  await audit(rc.q, rc.audit, { action: 'read', resourceType: 'Observation', resourceId: 'chronic-readings', residentId });
  return { items: [...points.values()] };
}
