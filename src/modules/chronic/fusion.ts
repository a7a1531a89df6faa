// Medicine–prevention fusion (医防融合): what every institution records turns into work for the resident's family
// doctor. Hooks on the record tables (fhir/hooks.ts) run in the write's transaction on every path — FHIR REST and
// Bundles, spreadsheet imports, bulk $import (a whole batch per call) — and each is idempotent:
// - a hypertension or type 2 diabetes diagnosis enrols the resident in the programme (one active enrolment per
//   resident and programme: a partial unique index) and creates the first follow-up Task;
// - a reading at or beyond a danger value creates an urgent Task (one per reading);
// - an inpatient discharge creates a follow-up Task for the community team (one per encounter).
// Tasks are owned by the resident's contracted team, else by the community health centre of their street (a
// contracting lead: 签约线索). Records older than the `chronic.recent_days` setting (historical loads) create no
// reading or discharge tasks; a diagnosis of any age still enrols.
import type { Queryable } from '../../db/engine.ts';
import { SYSTEM } from '../../fhir/datatypes.ts';
import { onRecordsWritten, type WrittenRecord } from '../../fhir/hooks.ts';
import { Params } from '../../platform/sql.ts';
import { PROGRAMME_SYSTEM, currentProgrammes, settings, type Programme } from './programmes.ts';
import { WATCHED_CODES, dangerValues, measuresOfObservation, type Reason } from './rules.ts';
import { DISTRICT_TODAY_SQL } from '../../platform/local-date.ts';

/** Code systems whose codes enrol: ICD-10 (WHO, as FHIR names it) and the Chinese national clinical edition. */
export const ICD10_SYSTEMS = new Set([SYSTEM.icd10, SYSTEM.icd10cn, 'http://hl7.org/fhir/sid/icd-10-cn']);
export const LEAD_EXTENSION = 'https://caregrid.dev/fhir/StructureDefinition/contracting-lead';
export const TASK_CODES = { enrolment: 'chronic-enrolment', followUp: 'chronic-follow-up', danger: 'chronic-danger', discharge: 'discharge-follow-up' } as const;
export const OPEN_TASK_STATUSES = ['requested', 'received', 'accepted', 'ready', 'in-progress', 'on-hold'];
/** Task.source_id prefix of the tasks the fusion creates (`…:enrolment|<enrolment id>`, `…:danger|…`, `…:discharge|…`). */
export const TASK_SOURCE = 'urn:caregrid:chronic';
const SOURCE = TASK_SOURCE;

/**
 * Who does a resident's work, as a LATERAL subquery over a resident row aliased `r`: the contracted team (and its
 * institution), else the community health centre of the resident's street, else the institution of a team covering
 * their grid. Columns team_id, institution_id.
 */
export const OWNER_SQL = `LATERAL (
    SELECT ct.team_id,
           -- COALESCE evaluates its arguments lazily: the fallbacks are looked up only for residents without a contract
           coalesce(ct.institution_id,
             (SELECT i.id FROM institution i WHERE i.region_id = r.street_id AND i.type IN ('community_health_centre', 'township_health_centre') AND i.active ORDER BY i.id LIMIT 1),
             (SELECT tm.institution_id FROM team_grid tg JOIN team tm ON tm.id = tg.team_id WHERE tg.grid_id = r.grid_id AND tm.kind = 'family_doctor' ORDER BY tm.id LIMIT 1)) AS institution_id
      FROM (SELECT 1) one
      LEFT JOIN LATERAL (SELECT cr.team_id, tm.institution_id FROM care_relationship cr JOIN team tm ON tm.id = cr.team_id
                          WHERE cr.resident_id = r.id AND cr.kind = 'contract' AND cr.team_id IS NOT NULL
                            AND cr.valid_from <= ${DISTRICT_TODAY_SQL} AND (cr.valid_to IS NULL OR cr.valid_to >= ${DISTRICT_TODAY_SQL})
                          ORDER BY cr.id DESC LIMIT 1) ct ON TRUE) o`;

/** Task.extra (FHIR elements kept verbatim): the programme as reasonCode (with the rule version), the lead flag. */
export const TASK_EXTRA_SQL = (programme: string, version: string, display: string) => `jsonb_strip_nulls(jsonb_build_object(
    'reasonCode', CASE WHEN ${programme} IS NOT NULL THEN jsonb_build_object('coding', jsonb_build_array(jsonb_build_object('system', '${PROGRAMME_SYSTEM}', 'version', ${version}::text, 'code', ${programme}, 'display', ${display}))) END,
    'extension', CASE WHEN o.team_id IS NULL THEN jsonb_build_array(jsonb_build_object('url', '${LEAD_EXTENSION}', 'valueBoolean', true)) END))`;

// ── diagnoses → enrolments ──

const ACTIVE_CLINICAL = new Set(['active', 'recurrence', 'relapse']);

interface Diagnosis {
  residentId: number;
  conditionId: number;
  system: string;
  code: string;
  institutionId: number;
  programme: Programme;
}

/** The diagnoses among written conditions that enrol: confirmed (or unstated) and active (or unstated) ICD-10 codes of a programme. */
export function enrollingDiagnoses(records: WrittenRecord[], programmes: Programme[]): Diagnosis[] {
  const out: Diagnosis[] = [];
  for (const { id, values: v } of records) {
    if (!ICD10_SYSTEMS.has(v.code_system as string) || v.category === 'symptom' || !v.resident_id) continue;
    if (v.verification_status != null && v.verification_status !== 'confirmed') continue;
    if (v.clinical_status != null && !ACTIVE_CLINICAL.has(v.clinical_status as string)) continue;
    const prefix = String(v.code).slice(0, 3).toUpperCase();
    for (const p of programmes) {
      if (p.active && p.icd10Prefixes.includes(prefix)) {
        out.push({ residentId: Number(v.resident_id), conditionId: id, system: v.code_system as string, code: String(v.code), institutionId: Number(v.institution_id), programme: p });
      }
    }
  }
  return out;
}

/**
 * Enrols the residents of these diagnoses that are not enrolled yet, each with a first follow-up Task, in one
 * statement (a bulk import's batch too). Returns the new enrolments' ids.
 */
export async function enrol(q: Queryable, list: Diagnosis[], source: 'diagnosis' | 'manual' = 'diagnosis'): Promise<{ id: number; residentId: number; programme: string; taskId: number }[]> {
  if (!list.length) return [];
  const v = new Params();
  const col = <T>(f: (d: Diagnosis) => T) => list.map(f);
  const sql = `WITH d AS (
      SELECT DISTINCT ON (x.resident_id, x.programme) x.*
        FROM unnest(${v.add(col((d) => d.residentId))}::bigint[], ${v.add(col((d) => d.programme.code))}::text[], ${v.add(col((d) => d.conditionId || null))}::bigint[],
                    ${v.add(col((d) => d.system))}::text[], ${v.add(col((d) => d.code))}::text[], ${v.add(col((d) => d.institutionId))}::bigint[],
                    ${v.add(col((d) => d.programme.rules.intervalDays.enrolment))}::int[], ${v.add(col((d) => d.programme.version))}::int[], ${v.add(col((d) => d.programme.name))}::text[])
             AS x(resident_id, programme, condition_id, system, code, institution_id, due_days, version, name)
        JOIN resident r ON r.id = x.resident_id AND r.status IN ('active', 'provisional')
       ORDER BY x.resident_id, x.programme, x.condition_id),
    -- the unique index decides who is enrolled already (a probe per row whatever the table's statistics say: a
    -- NOT EXISTS here was planned as a sequential scan per row on a table that grew during a bulk load)
    ins AS (
      INSERT INTO chronic_enrolment (resident_id, programme_code, status, source, condition_id, diagnosis_system, diagnosis_code, institution_id, started_at, next_task_id, next_due_at)
      SELECT resident_id, programme, 'active', ${v.add(source)}, condition_id, system, code, institution_id, now(), nextval(pg_get_serial_sequence('task', 'id')), now() + make_interval(days => due_days)
        FROM d
      ON CONFLICT (resident_id, programme_code) WHERE status = 'active' DO NOTHING
      RETURNING id, resident_id, programme_code, institution_id, next_task_id, next_due_at)
    INSERT INTO task (id, resident_id, institution_id, source_id, status, intent, priority, code, description, focus_type, focus_id, owner_institution_id, owner_team_id, authored_at, due_at, extra)
    SELECT ins.next_task_id, ins.resident_id, ins.institution_id, '${SOURCE}:enrolment|' || ins.id, 'requested', 'order', 'routine', '${TASK_CODES.enrolment}',
           pv.name || '：新纳入管理，首次随访', 'EpisodeOfCare', ins.id, o.institution_id, o.team_id, now(), ins.next_due_at,
           ${TASK_EXTRA_SQL('ins.programme_code', 'pv.version', 'pv.name')}
      -- names and versions per programme (a row or two), not a join of the batch with itself: the bulk import's
      -- transaction turns hash and merge joins off, and a nested loop over two 5,000-row lists cost seconds
      FROM ins JOIN (SELECT DISTINCT programme, version, name FROM d) pv ON pv.programme = ins.programme_code
      JOIN resident r ON r.id = ins.resident_id, ${OWNER_SQL}
    RETURNING focus_id AS enrolment_id, resident_id, id AS task_id, (extra->'reasonCode'->'coding'->0->>'code') AS programme`;
  const { rows } = await q.query(sql, v.values);
  return rows.map((r) => ({ id: Number(r.enrolment_id), residentId: Number(r.resident_id), programme: r.programme, taskId: Number(r.task_id) }));
}

onRecordsWritten('Condition', 'chronic-enrolment', async (records, ctx) => {
  // cheap first look: an ICD-10 code at all (most conditions written are not, or not these)
  if (!records.some((r) => ICD10_SYSTEMS.has(r.values.code_system as string))) return;
  const list = enrollingDiagnoses(records, await currentProgrammes(ctx.q));
  await enrol(ctx.q, list);
});

// ── readings → danger tasks ──

const VOID_STATUSES = new Set(['cancelled', 'entered-in-error']);

interface DangerHit {
  observationId: number;
  residentId: number;
  institutionId: number;
  reasons: (Reason & { programme: string; version: number })[];
  hours: number;
}

/** Danger values among written observations: for enrolled residents every condition, for others the conditions open to anyone. */
export async function dangerHits(q: Queryable, records: WrittenRecord[], programmes: Programme[], recentDays: number): Promise<DangerHit[]> {
  const since = Date.now() - recentDays * 86_400_000;
  const candidates = records
    .filter(({ values: v }) => v.resident_id && WATCHED_CODES.has(String(v.code)) && !VOID_STATUSES.has(v.status as string) && new Date(v.effective_at as Date).getTime() >= since)
    .map((r) => ({ r, m: measuresOfObservation(r.values) }))
    .filter((c) => Object.keys(c.m).length > 0 && programmes.some((p) => p.active && dangerValues(p.rules, c.m, true).length > 0));
  if (!candidates.length) return [];
  const { rows } = await q.query("SELECT resident_id, programme_code FROM chronic_enrolment WHERE resident_id = ANY($1::bigint[]) AND status = 'active'", [[...new Set(candidates.map((c) => Number(c.r.values.resident_id)))]]);
  const enrolled = new Set(rows.map((r) => `${r.resident_id}|${r.programme_code}`));
  const hits: DangerHit[] = [];
  for (const { r, m } of candidates) {
    const resident = Number(r.values.resident_id);
    const reasons: DangerHit['reasons'] = [];
    let hours = Infinity;
    for (const p of programmes.filter((x) => x.active)) {
      const found = dangerValues(p.rules, m, enrolled.has(`${resident}|${p.code}`));
      if (!found.length) continue;
      reasons.push(...found.map((f) => ({ ...f, programme: p.code, version: p.version })));
      hours = Math.min(hours, p.rules.dangerTaskHours);
    }
    if (reasons.length) hits.push({ observationId: r.id, residentId: resident, institutionId: Number(r.values.institution_id), reasons, hours });
  }
  return hits;
}

function describeDanger(reasons: DangerHit['reasons']): string {
  const names: Record<string, string> = { sbp: '收缩压', dbp: '舒张压', fpg: '空腹血糖', glucose: '血糖', heart_rate: '心率', temperature: '体温' };
  const parts = [...new Set(reasons.map((r) => `${names[r.measure!] ?? r.measure} ${r.value}（${r.rule!.replace(/^\S+ /, '')}）`))];
  return `危急值：${parts.join('，')}，请紧急评估并转诊`;
}

/** One urgent Task per danger reading (idempotent on the reading), owned as every chronic task is. */
export async function createDangerTasks(q: Queryable, hits: DangerHit[]): Promise<number> {
  if (!hits.length) return 0;
  const v = new Params();
  const col = <T>(f: (h: DangerHit) => T) => hits.map(f);
  const first = (h: DangerHit) => h.reasons[0];
  const { rowCount } = await q.query(
    `INSERT INTO task (resident_id, institution_id, source_id, status, intent, priority, code, description, focus_type, focus_id, owner_institution_id, owner_team_id, authored_at, due_at, extra)
     SELECT x.resident_id, x.institution_id, '${SOURCE}:danger|Observation/' || x.observation_id, 'requested', 'order', 'urgent', '${TASK_CODES.danger}', x.description,
            'Observation', x.observation_id, o.institution_id, o.team_id, now(), now() + make_interval(hours => x.hours),
            ${TASK_EXTRA_SQL('x.programme', 'x.version', '(SELECT p.name FROM chronic_programme p WHERE p.code = x.programme)')}
       FROM unnest(${v.add(col((h) => h.observationId))}::bigint[], ${v.add(col((h) => h.residentId))}::bigint[], ${v.add(col((h) => h.institutionId))}::bigint[],
                   ${v.add(col((h) => describeDanger(h.reasons)))}::text[], ${v.add(col((h) => h.hours))}::int[], ${v.add(col((h) => first(h).programme))}::text[], ${v.add(col((h) => first(h).version))}::int[])
            AS x(observation_id, resident_id, institution_id, description, hours, programme, version)
       JOIN resident r ON r.id = x.resident_id, ${OWNER_SQL}
     ON CONFLICT (institution_id, source_id) DO NOTHING`,
    v.values,
  );
  return rowCount;
}

onRecordsWritten('Observation', 'chronic-danger', async (records, ctx) => {
  if (!records.some((r) => WATCHED_CODES.has(String(r.values.code)))) return;
  const s = await settings(ctx.q);
  await createDangerTasks(ctx.q, await dangerHits(ctx.q, records, await currentProgrammes(ctx.q), s.recentDays));
});

// ── discharges → follow-up tasks ──

onRecordsWritten('Encounter', 'chronic-discharge', async (records, ctx) => {
  const finished = records.filter(({ values: v }) => v.class === 'inpatient' && v.status === 'finished' && v.end_at && v.resident_id);
  if (!finished.length) return;
  const s = await settings(ctx.q);
  const since = Date.now() - s.recentDays * 86_400_000;
  const recent = finished.filter((r) => new Date(r.values.end_at as Date).getTime() >= since);
  if (!recent.length) return;
  const v = new Params();
  await ctx.q.query(
    `INSERT INTO task (resident_id, institution_id, source_id, status, intent, priority, code, description, focus_type, focus_id, owner_institution_id, owner_team_id, authored_at, due_at, extra)
     SELECT x.resident_id, x.institution_id, '${SOURCE}:discharge|Encounter/' || x.encounter_id, 'requested', 'order', 'routine', '${TASK_CODES.discharge}',
            '出院患者随访' || coalesce('（' || (SELECT i.name FROM institution i WHERE i.id = x.institution_id) || '）', ''), 'Encounter', x.encounter_id,
            o.institution_id, o.team_id, now(), x.end_at + make_interval(days => ${v.add(s.dischargeFollowUpDays)}::int),
            ${TASK_EXTRA_SQL('NULL::text', 'NULL::int', 'NULL::text')}
       FROM unnest(${v.add(recent.map((r) => r.id))}::bigint[], ${v.add(recent.map((r) => Number(r.values.resident_id)))}::bigint[],
                   ${v.add(recent.map((r) => Number(r.values.institution_id)))}::bigint[], ${v.add(recent.map((r) => new Date(r.values.end_at as Date).toISOString()))}::timestamptz[])
            AS x(encounter_id, resident_id, institution_id, end_at)
       JOIN resident r ON r.id = x.resident_id, ${OWNER_SQL}
     ON CONFLICT (institution_id, source_id) DO NOTHING`,
    v.values,
  );
});
