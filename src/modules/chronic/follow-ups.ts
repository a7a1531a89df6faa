// Follow-up visits (随访) of an enrolled resident: readings, symptoms, medication and adherence, lifestyle; classified
// by the programme's current rules (rules.ts), whose version the visit keeps. A visit closes the enrolment's open
// follow-up tasks (and the danger-value tasks it answers), schedules the next follow-up as a Task by the rules, and
// puts its readings into the shared record (an Encounter of kind follow_up with LOINC Observations), so every
// institution sees them and the next form is pre-filled from them.
import type { Queryable, Row } from '../../db/engine.ts';
import * as repo from '../../fhir/repository.ts';
import { audit } from '../../platform/audit.ts';
import { AppError } from '../../platform/errors.ts';
import { hasRole } from '../../platform/principal.ts';
import { Params } from '../../platform/sql.ts';
import { OPEN_TASK_STATUSES, OWNER_SQL, TASK_CODES, TASK_EXTRA_SQL } from './fusion.ts';
import { assertResidentVisible, enrolmentRow } from './enrolments.ts';
import { programmeOf } from './programmes.ts';
import { assertSessionVisit } from '../family-doctor/health-posts.ts';
import { LOINC, classifyVisit, type Classification, type Measures, type Reason } from './rules.ts';

export const MODES = ['clinic', 'home', 'phone', 'health_post'] as const;
export const ADHERENCE = ['regular', 'intermittent', 'none'] as const;
export const SALT = ['light', 'moderate', 'heavy'] as const;

export interface FollowUpInput {
  enrolmentId: number;
  visitAt?: string;
  mode: (typeof MODES)[number];
  sbp?: number; dbp?: number; fpg?: number; heartRate?: number; weightKg?: number; heightCm?: number;
  symptoms?: string[];
  adherence?: (typeof ADHERENCE)[number];
  adverseReaction?: boolean;
  newComplication?: boolean;
  medications?: { name: string; dose?: string | null }[];
  lifestyle?: { smokingPerDay?: number; drinkingPerDay?: number; exerciseTimesPerWeek?: number; exerciseMinutes?: number; salt?: (typeof SALT)[number]; targetWeightKg?: number };
  note?: string | null;
  /** The health-post session (健康驿站) the visit was made at; its mode is then health_post. */
  sessionId?: number | null;
  sourceId?: string | null;
}

const WRITERS = ['district_admin', 'institution_admin', 'family_doctor', 'nurse'] as const;
const CLASS_TEXT: Record<string, string> = { controlled: '控制满意', uncontrolled: '控制不满意', adverse_reaction: '药物不良反应', new_complication: '新发并发症' };

export function toFollowUp(r: Row) {
  const n = (x: unknown) => (x === null || x === undefined ? null : Number(x));
  return {
    id: Number(r.id), enrolmentId: Number(r.enrolment_id), residentId: Number(r.resident_id), programme: r.programme_code as string, ruleVersion: Number(r.rule_version),
    visitAt: new Date(r.visit_at).toISOString(), mode: r.mode as string, institutionId: Number(r.institution_id),
    sbp: n(r.sbp), dbp: n(r.dbp), fpg: n(r.fpg), heartRate: n(r.heart_rate), weightKg: n(r.weight_kg), heightCm: n(r.height_cm),
    bmi: r.weight_kg && r.height_cm ? Math.round((Number(r.weight_kg) / (Number(r.height_cm) / 100) ** 2) * 10) / 10 : null,
    symptoms: r.symptoms as string[], adherence: r.adherence ?? null, adverseReaction: r.adverse_reaction as boolean, newComplication: r.new_complication as boolean,
    medications: r.medications as { name: string; dose?: string | null }[], lifestyle: r.lifestyle as Record<string, unknown>, note: r.note ?? null,
    classification: r.classification as Classification, danger: r.danger as boolean, reasons: r.reasons as Reason[], referral: (r.referral ?? null) as 'urgent' | null,
    nextDueAt: new Date(r.next_due_at).toISOString(), closedTaskIds: (r.closed_task_ids ?? []).map(Number) as number[],
    nextTaskId: r.next_task_id === null ? null : Number(r.next_task_id), encounterId: r.encounter_id === null ? null : Number(r.encounter_id),
    sessionId: r.session_id === null || r.session_id === undefined ? null : Number(r.session_id),
  };
}
export type FollowUp = ReturnType<typeof toFollowUp>;

/** Records a follow-up (idempotent on sourceId) and returns it with what the rules made of it. */
export async function recordFollowUp(rc: repo.RequestContext, input: FollowUpInput): Promise<{ followUp: FollowUp; created: boolean }> {
  const p = rc.principal;
  if (!hasRole(p, ...WRITERS)) throw new AppError('FORBIDDEN');
  const institutionId = await repo.writeContext(rc).recordingInstitution(null, 'institution');
  if (input.sourceId) {
    const { rows } = await rc.q.query('SELECT * FROM chronic_follow_up WHERE institution_id = $1 AND source_id = $2', [institutionId, input.sourceId]);
    if (rows[0]) return { followUp: toFollowUp(rows[0]), created: false };
  }
  const e = await enrolmentRow(rc.q, input.enrolmentId, true);
  await assertResidentVisible(rc, Number(e.resident_id), { action: 'create', resourceType: 'ChronicFollowUp' }, 'enrolmentId');
  if (e.status !== 'active') throw new AppError('INVALID_STATE', { detail: { zh: `管理状态为 ${e.status}`, en: `the enrolment is ${e.status}` } }, 'enrolmentId');
  if (input.sessionId) await assertSessionVisit(rc.q, input.sessionId, { institutionId, mode: input.mode, at: input.visitAt ? new Date(input.visitAt) : new Date() });
  const programme = await programmeOf(rc.q, e.programme_code);
  const rules = programme.rules;
  const measures: Measures = {};
  if (input.sbp !== undefined) measures.sbp = input.sbp;
  if (input.dbp !== undefined) measures.dbp = input.dbp;
  if (input.fpg !== undefined) measures.fpg = measures.glucose = input.fpg;
  if (input.heartRate !== undefined) measures.heart_rate = input.heartRate;
  const visitAt = input.visitAt ? new Date(input.visitAt) : new Date();
  if (visitAt.getTime() > Date.now() + 5 * 60_000) throw new AppError('VALIDATION_FAILED', { detail: { zh: '随访时间晚于当前时间', en: 'the visit is in the future' } }, 'visitAt');
  const result = classifyVisit(rules, {
    measures, symptoms: input.symptoms ?? [], adverseReaction: !!input.adverseReaction, newComplication: !!input.newComplication, uncontrolledStreak: Number(e.uncontrolled_streak),
  });
  if (result.missing.length) {
    const field = result.missing[0] === 'heart_rate' ? 'heartRate' : result.missing[0];
    throw new AppError('FOLLOW_UP_MISSING_READING', { programme: { zh: programme.name, en: programme.nameEn ?? programme.code }, measures: result.missing.join(', ') }, field);
  }
  const nextDue = new Date(visitAt.getTime() + result.nextInDays * 86_400_000);
  const urgent = result.danger || result.referral !== null;
  const description = `${programme.name}随访（上次：${CLASS_TEXT[result.classification]}${result.referral ? '，建议紧急转诊上级医院，2周内随访转诊情况' : ''}）`;

  // close the enrolment's open follow-up tasks and the danger-value tasks this visit answers
  const closed = await rc.q.query(
    `UPDATE task SET status = 'completed' WHERE resident_id = $1 AND status = ANY($2::text[])
        AND ((focus_type = 'EpisodeOfCare' AND focus_id = $3 AND code = ANY($4::text[])) OR (code = $5 AND authored_at <= $6::timestamptz))
      RETURNING id`,
    [e.resident_id, OPEN_TASK_STATUSES, e.id, [TASK_CODES.enrolment, TASK_CODES.followUp], TASK_CODES.danger, visitAt],
  );
  const closedIds = closed.rows.map((r) => Number(r.id));

  const w = new Params();
  const ids = await rc.q.query(`SELECT nextval(pg_get_serial_sequence('chronic_follow_up', 'id')) AS fu, nextval(pg_get_serial_sequence('encounter', 'id')) AS enc`);
  const fuId = Number(ids.rows[0].fu);
  const encId = Number(ids.rows[0].enc);
  const src = `urn:caregrid:chronic:follow-up|${fuId}`;
  // the next follow-up, owned like every chronic task (the contracted team, else the centre as a contracting lead)
  const task = await rc.q.query(
    `INSERT INTO task (resident_id, institution_id, source_id, status, intent, priority, code, description, focus_type, focus_id, owner_institution_id, owner_team_id, authored_at, due_at, extra)
     SELECT r.id, ${w.add(institutionId)}, ${w.add(src)}, 'requested', 'order', ${w.add(urgent ? 'urgent' : 'routine')}, '${TASK_CODES.followUp}', ${w.add(description)},
            'EpisodeOfCare', ${w.add(e.id)}, o.institution_id, o.team_id, now(), ${w.add(nextDue)}::timestamptz,
            ${TASK_EXTRA_SQL(w.add(programme.code) + '::text', w.add(programme.version) + '::int', w.add(programme.name) + '::text')}
       FROM resident r, ${OWNER_SQL} WHERE r.id = ${w.add(e.resident_id)} RETURNING id`,
    w.values,
  );
  const nextTaskId = Number(task.rows[0].id);
  await writeRecord(rc, { encId, fuId, residentId: Number(e.resident_id), institutionId, visitAt, input, programmeName: programme.name, classification: result.classification });
  const { rows } = await rc.q.query(
    `INSERT INTO chronic_follow_up (id, resident_id, enrolment_id, programme_code, rule_version, visit_at, mode, institution_id, team_id, practitioner_id, user_id,
        sbp, dbp, fpg, heart_rate, weight_kg, height_cm, symptoms, adherence, adverse_reaction, new_complication, medications, lifestyle, note,
        classification, danger, reasons, referral, next_due_at, closed_task_id, next_task_id, encounter_id, source_id, session_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18::text[], $19, $20, $21, $22::jsonb, $23::jsonb, $24,
        $25, $26, $27::jsonb, $28, $29, $30, $31, $32, $33, $34)
     RETURNING *`,
    [fuId, e.resident_id, e.id, programme.code, programme.version, visitAt, input.mode, institutionId, p.teamId, p.practitionerId, p.userId,
      input.sbp ?? null, input.dbp ?? null, input.fpg ?? null, input.heartRate ?? null, input.weightKg ?? null, input.heightCm ?? null, input.symptoms ?? [],
      input.adherence ?? null, !!input.adverseReaction, !!input.newComplication, JSON.stringify(input.medications ?? []), JSON.stringify(input.lifestyle ?? {}), input.note ?? null,
      result.classification, result.danger, JSON.stringify(result.reasons), result.referral, nextDue, closedIds[0] ?? null, nextTaskId, encId, input.sourceId ?? null, input.sessionId ?? null],
  );
  await rc.q.query(
    `UPDATE chronic_enrolment SET next_task_id = $2, next_due_at = $3, last_follow_up_at = greatest(last_follow_up_at, $4::timestamptz), last_classification = $5, uncontrolled_streak = $6 WHERE id = $1`,
    [e.id, nextTaskId, nextDue, visitAt, result.classification, result.uncontrolledStreak],
  );
  await audit(rc.q, rc.audit, { action: 'create', resourceType: 'ChronicFollowUp', resourceId: fuId, residentId: Number(e.resident_id) });
  return { followUp: toFollowUp({ ...rows[0], closed_task_ids: closedIds }), created: true };
}

/**
 * The visit in the shared record: an Encounter (follow_up) and its Observations, written directly (not through the
 * FHIR hooks: the visit has already judged its own readings).
 */
async function writeRecord(rc: repo.RequestContext, x: { encId: number; fuId: number; residentId: number; institutionId: number; visitAt: Date; input: FollowUpInput; programmeName: string; classification: string }) {
  const src = `urn:caregrid:chronic:follow-up|${x.fuId}`;
  const { input } = x;
  await rc.q.query(
    `INSERT INTO encounter (id, resident_id, institution_id, source_id, class, status, practitioner_id, start_at, end_at, reason)
     VALUES ($1, $2, $3, $4, ${input.mode === 'home' ? "'home_visit'" : "'follow_up'"}, 'finished', $5, $6, $6, $7)`,
    [x.encId, x.residentId, x.institutionId, src, rc.principal.practitionerId, x.visitAt, `${x.programmeName}随访：${CLASS_TEXT[x.classification]}`],
  );
  const obs = vitalObservations(input);
  await insertObservations(rc.q, { residentId: x.residentId, encounterId: x.encId, institutionId: x.institutionId, sourceId: src, at: x.visitAt }, obs);
}

/** A LOINC observation of a visit written directly into the shared record (`key` makes its source id unique). */
export interface VisitObservation { key: string; code: string; display: string; value?: number; unit?: string; ucum?: string; category: string; components?: unknown }

/** The vital signs and fasting glucose of a visit as LOINC observations (both pressures as a blood-pressure panel). */
export function vitalObservations(input: { sbp?: number; dbp?: number; fpg?: number; heartRate?: number; weightKg?: number; heightCm?: number }): VisitObservation[] {
  const obs: VisitObservation[] = [];
  if (input.sbp !== undefined && input.dbp !== undefined) {
    const q = (value: number) => ({ value, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' });
    obs.push({ key: 'bp', code: LOINC.bpPanel, display: 'Blood pressure panel', category: 'vital-signs', components: [
      { code: { coding: [{ system: 'http://loinc.org', code: LOINC.sbp, display: 'Systolic blood pressure' }] }, valueQuantity: q(input.sbp) },
      { code: { coding: [{ system: 'http://loinc.org', code: LOINC.dbp, display: 'Diastolic blood pressure' }] }, valueQuantity: q(input.dbp) },
    ] });
  } else {
    if (input.sbp !== undefined) obs.push({ key: 'sbp', code: LOINC.sbp, display: 'Systolic blood pressure', value: input.sbp, unit: 'mmHg', ucum: 'mm[Hg]', category: 'vital-signs' });
    if (input.dbp !== undefined) obs.push({ key: 'dbp', code: LOINC.dbp, display: 'Diastolic blood pressure', value: input.dbp, unit: 'mmHg', ucum: 'mm[Hg]', category: 'vital-signs' });
  }
  if (input.fpg !== undefined) obs.push({ key: 'fpg', code: '14771-0', display: 'Fasting glucose [Moles/volume] in Serum or Plasma', value: input.fpg, unit: 'mmol/L', ucum: 'mmol/L', category: 'laboratory' });
  if (input.heartRate !== undefined) obs.push({ key: 'hr', code: LOINC.heartRate, display: 'Heart rate', value: input.heartRate, unit: '/min', ucum: '/min', category: 'vital-signs' });
  if (input.weightKg !== undefined) obs.push({ key: 'weight', code: '29463-7', display: 'Body weight', value: input.weightKg, unit: 'kg', ucum: 'kg', category: 'vital-signs' });
  if (input.heightCm !== undefined) obs.push({ key: 'height', code: '8302-2', display: 'Body height', value: input.heightCm, unit: 'cm', ucum: 'cm', category: 'vital-signs' });
  return obs;
}

/** Writes a visit's observations in one statement, without the FHIR hooks (the visit has judged its own readings). */
export async function insertObservations(q: Queryable, x: { residentId: number; encounterId: number; institutionId: number; sourceId: string; at: Date }, obs: VisitObservation[]) {
  if (!obs.length) return;
  await q.query(
    `INSERT INTO observation (resident_id, encounter_id, institution_id, source_id, category, code_system, code, display, status, effective_at, value_num, unit, unit_code, components)
     SELECT $1, $2, $3, $4 || '#' || o.key, o.category, 'http://loinc.org', o.code, o.display, 'final', $5, o.value, o.unit, o.ucum, o.components
       FROM jsonb_to_recordset($6::jsonb) AS o(key text, category text, code text, display text, value numeric, unit text, ucum text, components jsonb)`,
    [x.residentId, x.encounterId, x.institutionId, x.sourceId, x.at, JSON.stringify(obs)],
  );
}

/** A resident's follow-ups of one enrolment, newest first (the caller audits). */
export async function followUpsOf(rc: repo.RequestContext, enrolmentId: number): Promise<FollowUp[]> {
  const e = await enrolmentRow(rc.q, enrolmentId);
  await assertResidentVisible(rc, Number(e.resident_id), { action: 'read', resourceType: 'ChronicFollowUp', resourceId: `EpisodeOfCare/${enrolmentId}` });
  const { rows } = await rc.q.query('SELECT * FROM chronic_follow_up WHERE enrolment_id = $1 ORDER BY visit_at DESC, id DESC LIMIT 200', [enrolmentId]);
  await audit(rc.q, rc.audit, { action: 'read', resourceType: 'ChronicFollowUp', resourceId: `EpisodeOfCare/${enrolmentId}`, residentId: Number(e.resident_id) });
  return rows.map(toFollowUp);
}
