// The shared health record as clinicians read it (调阅): one timeline across institutions, result trends, mutual
// recognition of results (检查检验结果互认) and emergency access (break-glass). Reads the record tables that the FHIR
// facade writes; every read of a resident's record is scoped and audited by the caller of these functions.
import type { Queryable, Row } from '../../db/engine.ts';
import type { Principal } from '../../platform/principal.ts';
import { residentScopeSql } from '../../platform/access.ts';
import { auditCte, type AuditContext } from '../../platform/audit.ts';
import { AppError, notFound } from '../../platform/errors.ts';
import { Params } from '../../platform/sql.ts';
import { onResidentMerge } from '../residents/service.ts';
import { districtDate, DISTRICT_TODAY_SQL } from '../../platform/local-date.ts';

/** Tables of the shared record keyed by resident: a merge moves their rows to the survivor, an undo moves them back. */
const PERSON_TABLES = ['encounter', 'condition', 'observation', 'diagnostic_report', 'medication_request', 'allergy', 'immunization', 'document', 'service_request', 'task', 'appointment'] as const;

onResidentMerge({
  name: 'records',
  async move(q, fromId, toId) {
    const moved: Record<string, number[]> = {};
    for (const t of PERSON_TABLES) {
      const { rows } = await q.query(`UPDATE ${t} SET resident_id = $2 WHERE resident_id = $1 RETURNING id`, [fromId, toId]);
      if (rows.length) moved[t] = rows.map((r) => r.id);
    }
    const ids = await q.query('UPDATE resident_identifier SET resident_id = $2 WHERE resident_id = $1 RETURNING system, value', [fromId, toId]);
    return { rows: moved, identifiers: ids.rows.map((r) => [r.system, r.value]) };
  },
  async restore(q, moved, toId) {
    const m = moved as { rows: Record<string, number[]>; identifiers: [string, string][] };
    for (const t of PERSON_TABLES) {
      if (m.rows[t]?.length) await q.query(`UPDATE ${t} SET resident_id = $1 WHERE id = ANY($2::bigint[])`, [toId, m.rows[t]]);
    }
    for (const [system, value] of m.identifiers) await q.query('UPDATE resident_identifier SET resident_id = $1 WHERE system = $2 AND value = $3', [toId, system, value]);
  },
});

export const TIMELINE_TYPES = ['encounter', 'condition', 'observation', 'report', 'medication', 'document', 'immunization', 'allergy'] as const;
export type TimelineType = (typeof TIMELINE_TYPES)[number];

/** Statuses of a result that can be relied on by another institution. */
const RELIABLE = `('final', 'amended', 'corrected')`;

/**
 * Window (days) for a result with code (system, code) in `category`: the code's own rule wins (an inactive one
 * means "not recognised"); otherwise the category's default row (`*`). SQL over aliases rc (code) and rd (default).
 */
const WINDOW_SQL = `CASE WHEN rc.code IS NOT NULL THEN CASE WHEN rc.active THEN rc.window_days END ELSE CASE WHEN rd.active THEN rd.window_days END END`;
function ruleJoins(alias: string, categoryExpr: string) {
  return `LEFT JOIN recognition_rule rc ON rc.code_system = ${alias}.code_system AND rc.code = ${alias}.code
          LEFT JOIN recognition_rule rd ON rd.code_system = '*' AND rd.code = ${categoryExpr}`;
}
const REPORT_CATEGORY = `CASE WHEN upper(d.category) IN ('RAD', 'IMG', 'IMAGING') THEN 'imaging' WHEN upper(d.category) IN ('LAB', 'LABORATORY', 'HM', 'CH', 'MB') THEN 'laboratory' ELSE 'exam' END`;

function branch(type: TimelineType, params: Params, residentP: string): string {
  const common = (alias: string) => `${alias}.institution_id, i.name AS institution_name`;
  switch (type) {
    case 'encounter':
      return `SELECT 'encounter' AS type, 'Encounter' AS fhir_type, e.id, e.start_at AS at, ${common('e')}, e.id AS encounter_id,
                concat_ws(' · ', e.department, e.reason) AS title, NULL::text AS code, NULL::text AS code_system, e.class AS category, e.status,
                NULL::numeric AS value, NULL::text AS value_text, NULL::text AS unit, NULL::numeric AS ref_low, NULL::numeric AS ref_high, NULL::text AS interpretation,
                concat_ws(' · ', e.discharge_disposition, CASE WHEN e.end_at IS NOT NULL THEN to_char(e.end_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI') END) AS detail,
                NULL::int AS window_days
              FROM encounter e JOIN institution i ON i.id = e.institution_id WHERE e.resident_id = ${residentP}`;
    case 'condition':
      return `SELECT 'condition', 'Condition', c.id, c.recorded_at, ${common('c')}, c.encounter_id, coalesce(c.display, c.code), c.code, c.code_system, c.category, c.clinical_status,
                NULL::numeric, NULL::text, NULL::text, NULL::numeric, NULL::numeric, NULL::text, c.verification_status, NULL::int
              FROM condition c JOIN institution i ON i.id = c.institution_id WHERE c.resident_id = ${residentP}`;
    case 'observation':
      return `SELECT 'observation', 'Observation', o.id, o.effective_at, ${common('o')}, o.encounter_id, coalesce(o.display, o.code), o.code, o.code_system, o.category, o.status,
                o.value_num, o.value_text, o.unit, o.ref_low, o.ref_high, o.interpretation, NULL::text,
                CASE WHEN o.status IN ${RELIABLE} THEN ${WINDOW_SQL} END
              FROM observation o JOIN institution i ON i.id = o.institution_id ${ruleJoins('o', 'o.category')} WHERE o.resident_id = ${residentP}`;
    case 'report':
      return `SELECT 'report', 'DiagnosticReport', d.id, d.effective_at, ${common('d')}, d.encounter_id, coalesce(d.display, d.code), d.code, d.code_system, ${REPORT_CATEGORY}, d.status,
                NULL::numeric, NULL::text, NULL::text, NULL::numeric, NULL::numeric, NULL::text, d.conclusion,
                CASE WHEN d.status IN ${RELIABLE} THEN ${WINDOW_SQL} END
              FROM diagnostic_report d JOIN institution i ON i.id = d.institution_id ${ruleJoins('d', REPORT_CATEGORY)} WHERE d.resident_id = ${residentP}`;
    case 'medication':
      return `SELECT 'medication', 'MedicationRequest', m.id, m.authored_at, ${common('m')}, m.encounter_id, m.display, m.code, m.code_system, m.intent, m.status,
                NULL::numeric, NULL::text, NULL::text, NULL::numeric, NULL::numeric, NULL::text, m.dosage_text, NULL::int
              FROM medication_request m JOIN institution i ON i.id = m.institution_id WHERE m.resident_id = ${residentP}`;
    case 'document':
      return `SELECT 'document', 'DocumentReference', x.id, x.authored_at, ${common('x')}, x.encounter_id, coalesce(x.title, x.type_code), x.type_code, NULL::text, x.type_code, x.status,
                NULL::numeric, NULL::text, NULL::text, NULL::numeric, NULL::numeric, NULL::text, left(x.content_text, 300), NULL::int
              FROM document x JOIN institution i ON i.id = x.institution_id WHERE x.resident_id = ${residentP}`;
    case 'immunization':
      return `SELECT 'immunization', 'Immunization', z.id, z.occurrence_at, ${common('z')}, NULL::bigint, coalesce(z.display, z.code), z.code, z.code_system, NULL::text, z.status,
                z.dose_number::numeric, NULL::text, NULL::text, NULL::numeric, NULL::numeric, NULL::text, z.lot_number, NULL::int
              FROM immunization z JOIN institution i ON i.id = z.institution_id WHERE z.resident_id = ${residentP}`;
    case 'allergy':
      return `SELECT 'allergy', 'AllergyIntolerance', a.id, a.recorded_at, ${common('a')}, NULL::bigint, a.display, a.code, a.code_system, a.criticality, a.clinical_status,
                NULL::numeric, NULL::text, NULL::text, NULL::numeric, NULL::numeric, NULL::text, NULL::text, NULL::int
              FROM allergy a JOIN institution i ON i.id = a.institution_id WHERE a.resident_id = ${residentP}`;
  }
}

const TIMELINE_COLUMNS = 'type, fhir_type, id, at, institution_id, institution_name, encounter_id, title, code, code_system, category, status, value, value_text, unit, ref_low, ref_high, interpretation, detail, window_days';
const PAGE_COLUMNS = [...TIMELINE_COLUMNS.split(', '), 'total'];

const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

function abnormal(r: Row): boolean | null {
  if (r.interpretation && ['H', 'HH', 'L', 'LL', 'A', 'AA', 'HU', 'LU'].includes(String(r.interpretation).toUpperCase())) return true;
  const v = num(r.value);
  if (v === null || (r.ref_low === null && r.ref_high === null) || r.type !== 'observation') return null;
  return (r.ref_low !== null && v < Number(r.ref_low)) || (r.ref_high !== null && v > Number(r.ref_high));
}

function recognition(r: Row, now: Date) {
  if (r.window_days === null || r.window_days === undefined) return null;
  const until = new Date(new Date(r.at).getTime() + Number(r.window_days) * 86400_000);
  return until > now ? { validUntil: until.toISOString(), windowDays: Number(r.window_days) } : null;
}

export interface TimelineFilter {
  from?: string;
  to?: string;
  types?: TimelineType[];
  institutionId?: number;
  page: number;
  pageSize: number;
}

/** Who reads a resident's record: their scope decides, and the read is audited with the request's context. */
export interface Viewer {
  principal: Principal;
  audit: AuditContext;
}

function timelineItem(r: Row, now: Date) {
  return {
    type: r.type as TimelineType,
    id: r.id as number,
    fhirType: r.fhir_type as string,
    at: new Date(r.at).toISOString(),
    institutionId: r.institution_id as number,
    institutionName: r.institution_name as string,
    encounterId: (r.encounter_id as number | null) ?? null,
    title: (r.title as string) || '',
    code: r.code ?? null,
    codeSystem: r.code_system ?? null,
    category: r.category ?? null,
    status: r.status ?? null,
    value: num(r.value),
    valueText: r.value_text ?? null,
    unit: r.unit ?? null,
    refLow: num(r.ref_low),
    refHigh: num(r.ref_high),
    abnormal: abnormal(r),
    detail: r.detail || null,
    recognition: recognition(r, now),
  };
}

/**
 * Every record of one resident from every institution, newest first: 404 for an unknown resident, 403 OUT_OF_SCOPE
 * outside the viewer's scope (the caller audits the refusal). The scope check, the audit of the view, the page and its
 * total are one statement — atomic without a transaction and one round trip. The total is a window count over the
 * filtered rows, which the ORDER BY reads in full anyway; only a page past the end (no rows to carry it) counts apart.
 */
export async function timeline(q: Queryable, viewer: Viewer, residentId: number, f: TimelineFilter, now = new Date()) {
  const params = new Params();
  const rid = params.add(residentId);
  const types = f.types?.length ? f.types : TIMELINE_TYPES;
  const union = types.map((t) => branch(t, params, rid)).join('\nUNION ALL\n');
  const where: string[] = [];
  if (f.from) where.push(`x.at >= (${params.add(f.from)}::date)::timestamp AT TIME ZONE 'Asia/Shanghai'`);
  if (f.to) where.push(`x.at < ((${params.add(f.to)}::date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai')`);
  if (f.institutionId) where.push(`x.institution_id = ${params.add(f.institutionId)}`);
  const filtered = `SELECT * FROM (${union}) AS x(${TIMELINE_COLUMNS})${where.length ? ' WHERE ' + where.join(' AND ') : ''}`;
  const countValues = [...params.values];
  const scope = residentScopeSql(viewer.principal, params);
  const { rows } = await q.query<{ in_scope: boolean; page: string | null }>(
    `WITH target AS (SELECT r.id, ${scope} AS in_scope FROM resident r WHERE r.id = ${rid}),
       viewed AS (SELECT id FROM target WHERE in_scope),
       audited AS (${auditCte(params, viewer.audit, 'read', 'viewed', 'Timeline')}),
       page AS MATERIALIZED (SELECT f.*, (count(*) OVER ())::int AS total FROM (${filtered}) f WHERE EXISTS (SELECT 1 FROM viewed)
                 ORDER BY f.at DESC, f.type, f.id DESC LIMIT ${params.add(f.pageSize)} OFFSET ${params.add((f.page - 1) * f.pageSize)})
     SELECT target.in_scope, (SELECT json_agg(json_build_array(${PAGE_COLUMNS.join(', ')}))::text FROM page) AS page FROM target`,
    params.values,
  );
  if (!rows[0]) throw notFound('resident');
  if (!rows[0].in_scope) throw new AppError('OUT_OF_SCOPE');
  // the page as one JSON text of rows as arrays, in the page's order (json_agg reads the materialized page as stored):
  // one value to hand over instead of 21 typed columns per row (see everything.ts), and without the column names in
  // every row, which cost a fifth of the statement on PGlite
  const items: Row[] = rows[0].page ? (JSON.parse(rows[0].page) as unknown[][]).map((a) => Object.fromEntries(PAGE_COLUMNS.map((c, i) => [c, a[i]]))) : [];
  let total = items.length ? (items[0].total as number) : 0;
  if (!items.length && f.page > 1) total = (await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM (${filtered}) c`, countValues)).rows[0].n;
  return { items: items.map((r) => timelineItem(r, now)), total, page: f.page, pageSize: f.pageSize };
}

/** The numeric series a resident has (for the trends picker). */
export async function trendSeries(q: Queryable, residentId: number) {
  const { rows } = await q.query(
    `SELECT code, code_system, max(display) AS display, max(unit) AS unit, count(*)::int AS n, max(effective_at) AS last_at
       FROM observation WHERE resident_id = $1 AND value_num IS NOT NULL AND status NOT IN ('cancelled', 'entered-in-error')
      GROUP BY code, code_system ORDER BY max(effective_at) DESC`,
    [residentId],
  );
  return { series: rows.map((r) => ({ code: r.code, codeSystem: r.code_system, display: r.display ?? r.code, unit: r.unit ?? null, count: r.n, lastAt: new Date(r.last_at).toISOString() })) };
}

export async function trend(q: Queryable, residentId: number, code: string, system: string | undefined) {
  const { rows } = await q.query(
    `SELECT o.id, o.effective_at, o.value_num, o.unit, o.display, o.code_system, o.ref_low, o.ref_high, o.institution_id, i.name AS institution_name
       FROM observation o JOIN institution i ON i.id = o.institution_id
      WHERE o.resident_id = $1 AND o.code = $2 AND ($3::text IS NULL OR o.code_system = $3) AND o.value_num IS NOT NULL
        AND o.status NOT IN ('cancelled', 'entered-in-error')
      ORDER BY o.effective_at, o.id LIMIT 2000`,
    [residentId, code, system ?? null],
  );
  const last = rows[rows.length - 1];
  return {
    code,
    codeSystem: last?.code_system ?? system ?? null,
    display: last?.display ?? code,
    unit: last?.unit ?? null,
    refLow: num(last?.ref_low),
    refHigh: num(last?.ref_high),
    points: rows.map((r) => ({ at: new Date(r.effective_at).toISOString(), value: Number(r.value_num), institutionId: r.institution_id, institutionName: r.institution_name, observationId: r.id })),
  };
}

// ── mutual recognition ──

/** Results of this resident, from any institution, that are still inside their recognition window. */
export async function reusableResults(q: Queryable, residentId: number, f: { code?: string; system?: string }, now = new Date()) {
  const params = new Params();
  const rid = params.add(residentId);
  const nowP = params.add(now);
  const codeFilter = (alias: string) => (f.code ? ` AND ${alias}.code = ${params.add(f.code)}${f.system ? ` AND ${alias}.code_system = ${params.add(f.system)}` : ''}` : '');
  const { rows } = await q.query(
    `SELECT * FROM (
       SELECT o.id AS observation_id, NULL::bigint AS report_id, o.code, o.code_system, coalesce(o.display, o.code) AS display, o.category, o.effective_at AS at,
              ${WINDOW_SQL} AS window_days, o.institution_id, i.name AS institution_name, o.value_num, o.value_text, o.unit
         FROM observation o JOIN institution i ON i.id = o.institution_id ${ruleJoins('o', 'o.category')}
        WHERE o.resident_id = ${rid} AND o.status IN ${RELIABLE} AND o.category IN ('laboratory', 'imaging', 'exam')${codeFilter('o')}
       UNION ALL
       SELECT NULL, d.id, d.code, d.code_system, coalesce(d.display, d.code), ${REPORT_CATEGORY}, d.effective_at,
              ${WINDOW_SQL}, d.institution_id, i.name, NULL::numeric, d.conclusion, NULL::text
         FROM diagnostic_report d JOIN institution i ON i.id = d.institution_id ${ruleJoins('d', REPORT_CATEGORY)}
        WHERE d.resident_id = ${rid} AND d.status IN ${RELIABLE}${codeFilter('d')}
     ) x
     WHERE x.window_days IS NOT NULL AND x.at + make_interval(days => x.window_days) > ${nowP}::timestamptz AND x.at <= ${nowP}::timestamptz
     ORDER BY x.at DESC LIMIT 200`,
    params.values,
  );
  return {
    items: rows.map((r) => ({
      observationId: r.observation_id ?? null,
      reportId: r.report_id ?? null,
      code: r.code,
      codeSystem: r.code_system,
      display: r.display,
      category: r.category,
      at: new Date(r.at).toISOString(),
      validUntil: new Date(new Date(r.at).getTime() + r.window_days * 86400_000).toISOString(),
      windowDays: r.window_days,
      institutionId: r.institution_id,
      institutionName: r.institution_name,
      value: num(r.value_num),
      valueText: r.value_text ?? null,
      unit: r.unit ?? null,
    })),
  };
}

/** Records that an order was not placed because an earlier result was reused (a duplicate test avoided). */
export async function recordReuse(q: Queryable, p: Principal, residentId: number, ref: { observationId?: number; reportId?: number }, now = new Date()) {
  const institutionId = p.tokenInstitutionId ?? p.institutionId;
  if (!institutionId) throw new AppError('FORBIDDEN');
  const { items } = await reusableResults(q, residentId, {}, now);
  const hit = items.find((i) => (ref.observationId && i.observationId === ref.observationId) || (ref.reportId && i.reportId === ref.reportId));
  if (!hit) {
    throw new AppError('INVALID_STATE', { detail: { zh: '该结果不存在或已超过互认期限', en: 'that result does not exist or is past its recognition window' } }, ref.observationId ? 'observationId' : 'reportId');
  }
  const { rows } = await q.query(
    `INSERT INTO recognition_event (resident_id, institution_id, user_id, code_system, code, observation_id, report_id, source_institution_id, at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id, at`,
    [residentId, institutionId, p.userId, hit.codeSystem, hit.code, hit.observationId, hit.reportId, hit.institutionId, now],
  );
  return { id: rows[0].id as number, code: hit.code, codeSystem: hit.codeSystem, institutionId, at: new Date(rows[0].at).toISOString() };
}

export async function listRules(q: Queryable) {
  const { rows } = await q.query('SELECT code_system, code, category, name, name_en, window_days, active FROM recognition_rule ORDER BY code_system = \'*\' DESC, category, code');
  return { items: rows.map((r) => ({ codeSystem: r.code_system, code: r.code, category: r.category, name: r.name, nameEn: r.name_en, windowDays: r.window_days, active: r.active })) };
}

export async function saveRule(q: Queryable, userId: number, r: { codeSystem: string; code: string; category: string; name: string; nameEn?: string | null; windowDays: number; active: boolean }) {
  const { rows } = await q.query(
    `INSERT INTO recognition_rule (code_system, code, category, name, name_en, window_days, active, updated_by, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())
     ON CONFLICT (code_system, code) DO UPDATE SET category = EXCLUDED.category, name = EXCLUDED.name, name_en = EXCLUDED.name_en,
       window_days = EXCLUDED.window_days, active = EXCLUDED.active, updated_by = EXCLUDED.updated_by, updated_at = now()
     RETURNING code_system, code, category, name, name_en, window_days, active`,
    [r.codeSystem, r.code, r.category, r.name, r.nameEn ?? null, r.windowDays, r.active, userId],
  );
  const x = rows[0];
  return { codeSystem: x.code_system, code: x.code, category: x.category, name: x.name, nameEn: x.name_en, windowDays: x.window_days, active: x.active };
}

/** Duplicate tests avoided per institution and month (China Standard Time months). */
export async function recognitionStats(q: Queryable, f: { from?: string; to?: string; institutionId?: number }) {
  const { rows } = await q.query(
    `SELECT to_char(e.at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM') AS month, e.institution_id, i.name AS institution_name, count(*)::int AS avoided
       FROM recognition_event e JOIN institution i ON i.id = e.institution_id
      WHERE ($1::text IS NULL OR to_char(e.at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM') >= $1)
        AND ($2::text IS NULL OR to_char(e.at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM') <= $2)
        AND ($3::bigint IS NULL OR e.institution_id = $3)
      GROUP BY 1, 2, 3 ORDER BY 1 DESC, 4 DESC`,
    [f.from ?? null, f.to ?? null, f.institutionId ?? null],
  );
  return { items: rows.map((r) => ({ month: r.month, institutionId: r.institution_id, institutionName: r.institution_name, avoided: r.avoided })) };
}

// ── emergency access ──

/** Hours a break-glass grant lasts. */
export const BREAK_GLASS_HOURS = 24;

export async function breakGlass(q: Queryable, p: Principal, residentId: number, reason: string, now = new Date()) {
  const r = await q.query("SELECT id FROM resident WHERE id = $1 AND status <> 'merged'", [residentId]);
  if (!r.rows[0]) throw notFound('resident');
  const expires = new Date(now.getTime() + BREAK_GLASS_HOURS * 3600_000);
  // care relationships are dated: the grant runs to the end of the (China Standard Time) day its hours end in
  const validTo = districtDate(expires);
  const rel = await q.query(
    `INSERT INTO care_relationship (resident_id, kind, user_id, institution_id, valid_from, valid_to, source_ref)
     VALUES ($1, 'break_glass', $2, $3, $5::date, $4::date, 'break-glass') RETURNING id`,
    [residentId, p.userId, p.institutionId, validTo, districtDate(now)],
  );
  const { rows } = await q.query(
    `INSERT INTO break_glass (resident_id, user_id, institution_id, reason, granted_at, expires_at, relationship_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, granted_at, expires_at`,
    [residentId, p.userId, p.institutionId, reason, now, expires, rel.rows[0].id],
  );
  return { id: rows[0].id as number, residentId, expiresAt: new Date(rows[0].expires_at).toISOString(), reason };
}

const BREAK_GLASS_SELECT = `SELECT b.id, b.resident_id, r.name AS resident_name, b.user_id, u.username, b.institution_id, i.name AS institution_name, b.reason,
    b.granted_at, b.expires_at, b.review_status, b.reviewed_by, b.reviewed_at, b.review_note
  FROM break_glass b JOIN resident r ON r.id = b.resident_id JOIN app_user u ON u.id = b.user_id LEFT JOIN institution i ON i.id = b.institution_id`;

function breakGlassView(b: Row) {
  return {
    id: b.id, residentId: b.resident_id, residentName: b.resident_name, userId: b.user_id, username: b.username,
    institutionId: b.institution_id ?? null, institutionName: b.institution_name ?? null, reason: b.reason,
    grantedAt: new Date(b.granted_at).toISOString(), expiresAt: new Date(b.expires_at).toISOString(),
    reviewStatus: b.review_status, reviewedBy: b.reviewed_by ?? null, reviewedAt: b.reviewed_at ? new Date(b.reviewed_at).toISOString() : null, reviewNote: b.review_note ?? null,
  };
}

export async function listBreakGlass(q: Queryable, f: { status?: string; page: number; pageSize: number }) {
  const [list, total] = await Promise.all([
    q.query(`${BREAK_GLASS_SELECT} WHERE ($1::text IS NULL OR b.review_status = $1) ORDER BY b.granted_at DESC, b.id DESC LIMIT $2 OFFSET $3`, [f.status ?? null, f.pageSize, (f.page - 1) * f.pageSize]),
    q.query<{ n: number }>('SELECT count(*)::int AS n FROM break_glass b WHERE ($1::text IS NULL OR b.review_status = $1)', [f.status ?? null]),
  ]);
  return { items: list.rows.map(breakGlassView), total: total.rows[0].n, page: f.page, pageSize: f.pageSize };
}

export async function reviewBreakGlass(q: Queryable, reviewerId: number, id: number, decision: 'justified' | 'unjustified', note: string | null) {
  const { rowCount } = await q.query(
    `UPDATE break_glass SET review_status = $2, reviewed_by = $3, reviewed_at = now(), review_note = $4 WHERE id = $1`,
    [id, decision, reviewerId, note],
  );
  if (!rowCount) throw notFound('breakGlass');
  // an unjustified grant ends at once
  if (decision === 'unjustified') {
    await q.query(`UPDATE care_relationship SET valid_to = ${DISTRICT_TODAY_SQL} - 1 WHERE (resident_id, id) IN (SELECT resident_id, relationship_id FROM break_glass WHERE id = $1)`, [id]);
  }
  const { rows } = await q.query(`${BREAK_GLASS_SELECT} WHERE b.id = $1`, [id]);
  return breakGlassView(rows[0]);
}
