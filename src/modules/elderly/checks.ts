// The elderly annual health check (老年人年度健康体检): one per resident aged 65 and over and calendar year (Beijing),
// recorded by the family-doctor team (at the centre, at home or at a health-post session), judged by the versioned
// rules (rules.ts), written into the shared record (an Encounter of class health_check with LOINC Observations), and
// — when something is abnormal — followed up by a Task for the resident's team (owned like every chronic task).
// Who is due is computed by query from the residents' ages and this table (worklist.ts): nothing is materialised per
// elderly resident and year (the worklist summary copies the years of each contracted resident's checks).
//
// Contents: the rules (versions, cache) · recording a check · reading checks · who is due (SQL for the worklist)
import type { Queryable, Row } from '../../db/engine.ts';
import * as repo from '../../fhir/repository.ts';
import { residentScopeSql } from '../../platform/access.ts';
import { audit } from '../../platform/audit.ts';
import { AppError } from '../../platform/errors.ts';
import { hasRole } from '../../platform/principal.ts';
import { Params } from '../../platform/sql.ts';
import { LEAD_EXTENSION, OWNER_SQL, TASK_EXTRA_SQL } from '../chronic/fusion.ts';
import { ELDERLY_CHECK_TASK } from '../chronic/escalation.ts';
import { insertObservations, vitalObservations, type VisitObservation } from '../chronic/follow-ups.ts';
import { assertResidentVisible } from '../chronic/enrolments.ts';
import { assertSessionVisit } from '../family-doctor/health-posts.ts';
import { districtDate } from '../../platform/local-date.ts';
import { ageOn } from '../residents/service.ts';
import { CheckRuleSet, judgeCheck, type CheckFinding, type CheckResults } from './rules.ts';

// ── the rules ──

const TTL_MS = 5_000;
let cached: { at: number; version: number; rules: CheckRuleSet } | null = null;

export async function currentCheckRules(q: Queryable): Promise<{ version: number; rules: CheckRuleSet }> {
  if (cached && Date.now() - cached.at < TTL_MS) return cached;
  const { rows } = await q.query('SELECT version, rules FROM elderly_check_rule_set ORDER BY version DESC LIMIT 1');
  cached = { at: Date.now(), version: Number(rows[0].version), rules: CheckRuleSet.parse(rows[0].rules) };
  return cached;
}

export async function checkRuleVersions(q: Queryable) {
  const { rows } = await q.query(
    'SELECT rs.version, rs.rules, rs.note, rs.created_at, u.username AS created_by FROM elderly_check_rule_set rs LEFT JOIN app_user u ON u.id = rs.created_by ORDER BY rs.version DESC',
  );
  return rows.map((r) => ({ version: Number(r.version), rules: r.rules, note: r.note ?? null, createdAt: new Date(r.created_at).toISOString(), createdBy: r.created_by ?? null }));
}

/** A new version of the check's rules (district administrator); earlier checks keep the version they were judged by. */
export async function setCheckRules(q: Queryable, rules: unknown, note: string | null, userId: number): Promise<number> {
  const parsed = CheckRuleSet.safeParse(rules);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError('VALIDATION_FAILED', { detail: `${issue.path.join('.') || 'rules'}: ${issue.message}` }, ['rules', ...issue.path].join('.'));
  }
  await q.query('LOCK TABLE elderly_check_rule_set IN SHARE ROW EXCLUSIVE MODE');
  const { rows } = await q.query(
    'INSERT INTO elderly_check_rule_set (version, rules, note, created_by) SELECT coalesce(max(version), 0) + 1, $1::jsonb, $2, $3 FROM elderly_check_rule_set RETURNING version',
    [JSON.stringify(parsed.data), note, userId],
  );
  cached = null;
  return Number(rows[0].version);
}

export function invalidateCheckRules() {
  cached = null;
}

// ── recording a check ──

export interface CheckInput {
  residentId: number;
  checkedAt?: string;
  results: CheckResults;
  sessionId?: number | null;
  note?: string | null;
  sourceId?: string | null;
}

const WRITERS = ['district_admin', 'institution_admin', 'family_doctor', 'nurse'] as const;

function toCheck(r: Row) {
  return {
    id: Number(r.id), residentId: Number(r.resident_id), year: Number(r.check_year), checkDate: r.check_date as string, ruleVersion: Number(r.rule_version),
    institutionId: Number(r.institution_id), teamId: r.team_id === null ? null : Number(r.team_id), sessionId: r.session_id === null ? null : Number(r.session_id),
    results: r.results as CheckResults, measures: r.measures as Record<string, number>, missing: r.missing as string[], complete: (r.missing as string[]).length === 0,
    findings: r.findings as CheckFinding[], urgent: r.urgent as boolean,
    followUpTaskId: r.follow_up_task_id === null ? null : Number(r.follow_up_task_id), encounterId: r.encounter_id === null ? null : Number(r.encounter_id),
    note: r.note ?? null, createdAt: new Date(r.created_at).toISOString(),
  };
}
export type ElderlyCheck = ReturnType<typeof toCheck>;

/** LOINC codes of the check's laboratory readings (units as Chinese laboratories report them). */
const LAB: { key: keyof ElderlyLab; code: string; display: string; unit: string; ucum: string }[] = [
  { key: 'hb', code: '718-7', display: 'Hemoglobin [Mass/volume] in Blood', unit: 'g/L', ucum: 'g/L' },
  { key: 'wbc', code: '6690-2', display: 'Leukocytes [#/volume] in Blood', unit: '10^9/L', ucum: '10*9/L' },
  { key: 'plt', code: '777-3', display: 'Platelets [#/volume] in Blood', unit: '10^9/L', ucum: '10*9/L' },
  { key: 'tc', code: '14647-2', display: 'Cholesterol [Moles/volume] in Serum or Plasma', unit: 'mmol/L', ucum: 'mmol/L' },
  { key: 'tg', code: '14927-8', display: 'Triglyceride [Moles/volume] in Serum or Plasma', unit: 'mmol/L', ucum: 'mmol/L' },
  { key: 'ldl', code: '22748-8', display: 'Cholesterol in LDL [Moles/volume] in Serum or Plasma', unit: 'mmol/L', ucum: 'mmol/L' },
  { key: 'hdl', code: '14646-4', display: 'Cholesterol in HDL [Moles/volume] in Serum or Plasma', unit: 'mmol/L', ucum: 'mmol/L' },
  { key: 'alt', code: '1742-6', display: 'Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma', unit: 'U/L', ucum: 'U/L' },
  { key: 'ast', code: '1920-8', display: 'Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma', unit: 'U/L', ucum: 'U/L' },
  { key: 'tbil', code: '14631-6', display: 'Bilirubin.total [Moles/volume] in Serum or Plasma', unit: 'μmol/L', ucum: 'umol/L' },
  { key: 'scr', code: '14682-9', display: 'Creatinine [Moles/volume] in Serum or Plasma', unit: 'μmol/L', ucum: 'umol/L' },
  { key: 'bun', code: '22664-7', display: 'Urea [Moles/volume] in Serum or Plasma', unit: 'mmol/L', ucum: 'mmol/L' },
];
type ElderlyLab = Record<'hb' | 'wbc' | 'plt' | 'tc' | 'tg' | 'ldl' | 'hdl' | 'alt' | 'ast' | 'tbil' | 'scr' | 'bun', number>;

function checkObservations(r: CheckResults, bmi: number | undefined): VisitObservation[] {
  const ph = r.physical ?? {};
  const obs = vitalObservations({ sbp: ph.sbp, dbp: ph.dbp, fpg: r.fastingGlucose, heartRate: ph.heartRate, weightKg: ph.weightKg, heightCm: ph.heightCm });
  if (bmi !== undefined) obs.push({ key: 'bmi', code: '39156-5', display: 'Body mass index (BMI) [Ratio]', value: bmi, unit: 'kg/m2', ucum: 'kg/m2', category: 'vital-signs' });
  if (ph.waistCm !== undefined) obs.push({ key: 'waist', code: '8280-0', display: 'Waist Circumference at umbilicus by Tape measure', value: ph.waistCm, unit: 'cm', ucum: 'cm', category: 'vital-signs' });
  const lab: Partial<ElderlyLab> = { ...r.bloodRoutine, ...r.bloodLipids, ...r.liverFunction, ...r.kidneyFunction };
  for (const l of LAB) {
    const value = lab[l.key];
    if (value !== undefined) obs.push({ key: l.key, code: l.code, display: l.display, value, unit: l.unit, ucum: l.ucum, category: 'laboratory' });
  }
  return obs;
}

/**
 * Records a resident's check for the year (idempotent on sourceId; a second check in the same year is 409
 * HEALTH_CHECK_EXISTS). Findings create one follow-up Task for the resident's team.
 */
export async function recordCheck(rc: repo.RequestContext, input: CheckInput): Promise<{ check: ElderlyCheck; created: boolean }> {
  const p = rc.principal;
  if (!hasRole(p, ...WRITERS)) throw new AppError('FORBIDDEN');
  const institutionId = await repo.writeContext(rc).recordingInstitution(null, 'institution');
  if (input.sourceId) {
    const { rows } = await rc.q.query('SELECT * FROM elderly_check WHERE institution_id = $1 AND source_id = $2', [institutionId, input.sourceId]);
    if (rows[0]) return { check: toCheck(rows[0]), created: false };
  }
  const v = new Params();
  const scope = residentScopeSql(p, v, 'r');
  const { rows: res } = await rc.q.query(`SELECT r.id, r.birth_date, r.status, ${scope} AS ok FROM resident r WHERE r.id = ${v.add(input.residentId)}`, v.values);
  if (!res[0]) throw Object.assign(new AppError('NOT_FOUND', { noun: 'resident' }), { field: 'residentId' });
  // the refusal is audited by the caller, outside this transaction (which rolls back)
  if (!res[0].ok) throw Object.assign(new AppError('OUT_OF_SCOPE'), { field: 'residentId' });
  const at = input.checkedAt ? new Date(input.checkedAt) : new Date();
  if (at.getTime() > Date.now() + 5 * 60_000) throw new AppError('VALIDATION_FAILED', { detail: { zh: '体检时间晚于当前时间', en: 'the check is in the future' } }, 'checkedAt');
  const checkDate = districtDate(at);
  const { version, rules } = await currentCheckRules(rc.q);
  const age = ageOn(res[0].birth_date, new Date(`${checkDate}T00:00:00Z`));
  if (age < rules.ageFrom) {
    throw new AppError('VALIDATION_FAILED', { detail: { zh: `体检时未满 ${rules.ageFrom} 岁（${age} 岁）`, en: `younger than ${rules.ageFrom} on the day of the check (${age})` } }, 'residentId');
  }
  if (input.sessionId) await assertSessionVisit(rc.q, input.sessionId, { institutionId, at });
  const year = Number(checkDate.slice(0, 4));
  const dup = await rc.q.query('SELECT id, check_date FROM elderly_check WHERE resident_id = $1 AND check_year = $2', [input.residentId, year]);
  if (dup.rows[0]) throw new AppError('HEALTH_CHECK_EXISTS', { year, date: dup.rows[0].check_date }, 'checkedAt');

  const enrolled = await rc.q.query("SELECT programme_code FROM chronic_enrolment WHERE resident_id = $1 AND status = 'active'", [input.residentId]);
  const j = judgeCheck(rules, input.results, enrolled.rows.map((r) => r.programme_code as string));
  const ids = await rc.q.query(`SELECT nextval(pg_get_serial_sequence('elderly_check', 'id')) AS ck, nextval(pg_get_serial_sequence('encounter', 'id')) AS enc`);
  const checkId = Number(ids.rows[0].ck);
  const encId = Number(ids.rows[0].enc);
  const src = `urn:caregrid:elderly-check|${checkId}`;
  const summary = j.findings.length ? `异常：${j.findings.map((f) => f.zh).join('；')}` : '未见异常';
  await rc.q.query(
    `INSERT INTO encounter (id, resident_id, institution_id, source_id, class, status, practitioner_id, start_at, end_at, reason)
     VALUES ($1, $2, $3, $4, 'health_check', 'finished', $5, $6, $6, $7)`,
    [encId, input.residentId, institutionId, src, p.practitionerId, at, `老年人年度健康体检（${year}）：${summary}`],
  );
  await insertObservations(rc.q, { residentId: input.residentId, encounterId: encId, institutionId, sourceId: src, at }, checkObservations(input.results, j.measures.bmi));

  let taskId: number | null = null;
  if (j.followUpHours !== null) {
    const w = new Params();
    const t = await rc.q.query(
      `INSERT INTO task (resident_id, institution_id, source_id, status, intent, priority, code, description, focus_type, focus_id, owner_institution_id, owner_team_id, authored_at, due_at, extra)
       SELECT r.id, ${w.add(institutionId)}, ${w.add(src)}, 'requested', 'order', ${w.add(j.urgent ? 'urgent' : 'routine')}, '${ELDERLY_CHECK_TASK}', ${w.add(`老年人体检异常随访：${j.findings.map((f) => f.zh).join('；')}`.slice(0, 1000))},
              'Encounter', ${w.add(encId)}, o.institution_id, o.team_id, now(), now() + make_interval(hours => ${w.add(j.followUpHours)}::int),
              ${TASK_EXTRA_SQL('NULL::text', 'NULL::int', 'NULL::text')}
         FROM resident r, ${OWNER_SQL} WHERE r.id = ${w.add(input.residentId)} RETURNING id`,
      w.values,
    );
    taskId = Number(t.rows[0].id);
  }
  const { rows } = await rc.q.query(
    `INSERT INTO elderly_check (id, resident_id, check_year, check_date, rule_version, institution_id, team_id, practitioner_id, user_id, session_id, results, measures, missing, findings, urgent,
        follow_up_task_id, encounter_id, note, source_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12::jsonb, $13::text[], $14::jsonb, $15, $16, $17, $18, $19) RETURNING *`,
    [checkId, input.residentId, year, checkDate, version, institutionId, p.teamId, p.practitionerId, p.userId || null, input.sessionId ?? null, JSON.stringify(input.results),
      JSON.stringify(j.measures), j.missing, JSON.stringify(j.findings), j.urgent, taskId, encId, input.note ?? null, input.sourceId ?? null],
  );
  await audit(rc.q, rc.audit, { action: 'create', resourceType: 'ElderlyCheck', resourceId: checkId, residentId: input.residentId });
  return { check: toCheck(rows[0]), created: true };
}

// ── reading ──

/** A resident's checks, newest first (403 outside the caller's scope; the read and a refusal are audited: run it outside a transaction). */
export async function checksOf(rc: repo.RequestContext, residentId: number): Promise<ElderlyCheck[]> {
  await assertResidentVisible(rc, residentId, { action: 'read', resourceType: 'ElderlyCheck' });
  const { rows } = await rc.q.query('SELECT * FROM elderly_check WHERE resident_id = $1 ORDER BY check_year DESC', [residentId]);
  await audit(rc.q, rc.audit, { action: 'read', resourceType: 'ElderlyCheck', residentId });
  return rows.map(toCheck);
}

// ── who is due ──

/**
 * The year's due checks for the worklist, for residents aged ageFrom or over on `day` with no check recorded in
 * `day`'s year, due by the year's end: `sql` gives narrow rows (resident_id, owner_team_id, lead) and `columns(e)` the
 * worklist's columns of such a row e (every due check has the same code, due time and description, so the worklist
 * sorts and counts the narrow rows and widens only the page's). Two index-driven parts: contracted residents whose
 * contract in force matches `contracted` (a predicate over the worklist summary's contract row w: the caller's team or
 * centre; the row carries the resident's status, birth date and check years) restricted by `contractedFilter` (scope
 * and the caller's filters, over w), and uncontracted residents matching `leads` (a predicate over the resident r,
 * e.g. the team's grids; null: none) as contracting leads, restricted by `leadFilter` (over r); `leadContracts`, when
 * the leads are some grids, is the same grids as a predicate over the summary's contract rows wc.
 */
export function dueChecksSql(v: Params, x: { day: string; ageFrom: number; contracted: () => string; contractedFilter: () => string; leads: (() => string) | null; leadFilter: () => string; leadContracts?: () => string }): { sql: string; dueAt: string; columns: (e: string) => string } {
  const year = Number(x.day.slice(0, 4));
  const yearEnd = v.add(`${year + 1}-01-01T00:00:00+08:00`);
  const description = v.add(`老年人年度健康体检（${year}年）`);
  const day = v.add(x.day);
  const born = `(${day}::date - make_interval(years => ${v.add(x.ageFrom)}::int))::date`;
  const yearP = v.add(year);
  const lead = `'{"extension":[{"url":"${LEAD_EXTENSION}","valueBoolean":true}]}'::jsonb`;
  const columns = (e: string) => `'elderly'::text AS src, NULL::bigint AS id, 'elderly-check'::text AS code, 'routine'::text AS priority, 'requested'::text AS status,
        ${yearEnd}::timestamptz AS due_at, ${description}::text AS description, ${e}.resident_id, NULL::bigint AS source_institution_id, 'Patient'::text AS focus_type,
        ${e}.resident_id AS focus_id, ${e}.owner_team_id, CASE WHEN ${e}.lead THEN ${lead} END AS extra, NULL::date AS end_date, NULL::bigint AS contract_id`;
  // the contracted: their contracts' rows of the worklist summary, which carry the resident's status, birth date and check years
  const parts = [`SELECT w.resident_id, w.team_id AS owner_team_id, FALSE AS lead
      FROM worklist_item w
     WHERE w.kind = 'contract' AND w.end_date >= ${day}::date AND ${x.contracted()}
       AND w.resident_active AND w.birth_date <= ${born} AND NOT (${yearP}::int = ANY(w.check_years)) AND ${x.contractedFilter()}`];
  if (x.leads) {
    // without a contract in force: against the set of the leads' grids' contracts (one index range, hashed once)
    // rather than a probe of each resident's contracts — bounded, as a set, only when the leads are some grids. The
    // set holds only the elderly's contracts: a contract row carries its resident's birth date (kept by the summary's
    // triggers), so a resident born after `born` has no row in it, and is no lead either.
    const uncontracted = x.leadContracts
      ? `r.id NOT IN (SELECT wc.resident_id FROM worklist_item wc WHERE wc.kind = 'contract' AND wc.birth_date <= ${born} AND wc.end_date >= ${day}::date AND ${x.leadContracts()})`
      : `NOT EXISTS (SELECT 1 FROM contract c WHERE c.resident_id = r.id AND c.status = 'active' AND c.end_date >= ${day}::date)`;
    parts.push(`SELECT r.id AS resident_id, NULL::bigint AS owner_team_id, TRUE AS lead
      FROM resident r
     WHERE ${x.leads()} AND r.status = 'active' AND r.birth_date <= ${born}
       AND NOT EXISTS (SELECT 1 FROM elderly_check ec WHERE ec.resident_id = r.id AND ec.check_year = ${yearP}::int)
       AND ${uncontracted} AND ${x.leadFilter()}`);
  }
  return { sql: parts.join('\n UNION ALL \n'), dueAt: yearEnd, columns };
}
