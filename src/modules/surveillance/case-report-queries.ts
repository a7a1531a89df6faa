// SQL of the statutory case reports (传染病报告卡): the card by its sender's number, its insert and revision, the
// paged list and the timeliness figures per institution.
import type { Queryable } from '../../db/engine.ts';
import { Params } from '../../platform/sql.ts';
import { communitiesOf } from './feed-queries.ts';

export interface DiseaseRow {
  code: string;
  name: string;
  name_en: string;
  class: 'A' | 'B' | 'C';
  managed_as_a: boolean;
  report_hours: number;
  active: boolean;
}

export async function disease(q: Queryable, code: string): Promise<DiseaseRow | null> {
  const { rows } = await q.query<DiseaseRow>('SELECT code, name, name_en, class, managed_as_a, report_hours, active FROM notifiable_disease WHERE code = $1', [code]);
  return rows[0] ?? null;
}

export async function residentExists(q: Queryable, id: number): Promise<boolean> {
  const { rows } = await q.query("SELECT 1 FROM resident WHERE id = $1 AND status <> 'merged'", [id]);
  return rows.length > 0;
}

const VIEW = `r.id, r.institution_id, i.name AS institution_name, r.source_id, r.resident_id, r.region_id, rg.name AS region_name,
  r.disease_code, d.name AS disease_name, d.name_en AS disease_name_en, d.class AS disease_class, d.managed_as_a, r.case_class,
  r.onset_date::text AS onset_date, r.diagnosed_at, r.reported_at, r.deadline_at, r.late, r.status, r.revision, r.reporter_id, r.created_at, r.updated_at`;
const FROM = `case_report r JOIN institution i ON i.id = r.institution_id JOIN notifiable_disease d ON d.code = r.disease_code JOIN region rg ON rg.id = r.region_id`;

export type CaseReportRow = Record<string, any>;

export async function byId(q: Queryable, id: number): Promise<CaseReportRow | null> {
  const { rows } = await q.query(`SELECT ${VIEW} FROM ${FROM} WHERE r.id = $1`, [id]);
  return rows[0] ?? null;
}

/** The card as stored, locked for the revision that follows. */
export async function lockCard(q: Queryable, institutionId: number, sourceId: string): Promise<CaseReportRow | null> {
  const { rows } = await q.query(
    `SELECT id, resident_id, region_id, disease_code, case_class, onset_date::text AS onset_date, diagnosed_at, reported_at, status, revision
       FROM case_report WHERE institution_id = $1 AND source_id = $2 FOR UPDATE`,
    [institutionId, sourceId],
  );
  return rows[0] ?? null;
}

export interface CardWrite {
  institutionId: number;
  sourceId: string;
  residentId: number | null;
  regionId: number;
  diseaseCode: string;
  caseClass: string;
  onsetDate: string | null;
  diagnosedAt: Date;
  reportedAt: Date;
  deadlineAt: Date;
  late: boolean;
  status: 'active' | 'revised' | 'entered-in-error';
  reporterId: number | null;
}

/** A first card; null when another request filed the same card number a moment before (the caller revises it). */
export async function insertCard(q: Queryable, c: CardWrite): Promise<number | null> {
  const { rows } = await q.query<{ id: number }>(
    `INSERT INTO case_report (institution_id, source_id, resident_id, region_id, disease_code, case_class, onset_date, diagnosed_at, reported_at, deadline_at, late, status, reporter_id)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)
     ON CONFLICT (institution_id, source_id) DO NOTHING RETURNING id`,
    [c.institutionId, c.sourceId, c.residentId, c.regionId, c.diseaseCode, c.caseClass, c.onsetDate, c.diagnosedAt, c.reportedAt, c.deadlineAt, c.late, c.status, c.reporterId],
  );
  return rows[0] ? Number(rows[0].id) : null;
}

export async function reviseCard(q: Queryable, id: number, c: CardWrite): Promise<void> {
  await q.query(
    `UPDATE case_report SET resident_id = $2, region_id = $3, disease_code = $4, case_class = $5, onset_date = $6, diagnosed_at = $7,
            deadline_at = $8, late = $9, status = $10, revision = revision + 1, updated_at = now()
      WHERE id = $1`,
    [id, c.residentId, c.regionId, c.diseaseCode, c.caseClass, c.onsetDate, c.diagnosedAt, c.deadlineAt, c.late, c.status],
  );
}

export interface ListFilter {
  institutionId: number | null;
  from?: string;
  to?: string;
  diseaseCode?: string;
  diseaseClass?: string;
  regionId?: number;
  late?: boolean;
  status?: string;
  page: number;
  pageSize: number;
}

/** Days are Beijing calendar days of diagnosis. */
function diagnosedBetween(params: Params, from?: string, to?: string): string[] {
  const w: string[] = [];
  if (from) w.push(`r.diagnosed_at >= (${params.add(from)}::date)::timestamp AT TIME ZONE 'Asia/Shanghai'`);
  if (to) w.push(`r.diagnosed_at < ((${params.add(to)}::date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai')`);
  return w;
}

export async function list(q: Queryable, f: ListFilter) {
  const params = new Params();
  const where: string[] = diagnosedBetween(params, f.from, f.to);
  if (f.institutionId != null) where.push(`r.institution_id = ${params.add(f.institutionId)}`);
  if (f.diseaseCode) where.push(`r.disease_code = ${params.add(f.diseaseCode)}`);
  if (f.diseaseClass) where.push(`d.class = ${params.add(f.diseaseClass)}`);
  if (f.regionId) where.push(`r.region_id IN ${communitiesOf(params, [f.regionId])}`);
  if (f.late !== undefined) where.push(`r.late = ${params.add(f.late)}`);
  if (f.status) where.push(`r.status = ${params.add(f.status)}`);
  const w = where.length ? where.join(' AND ') : 'TRUE';
  const total = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${FROM} WHERE ${w}`, params.values);
  const { rows } = await q.query(
    `SELECT ${VIEW} FROM ${FROM} WHERE ${w} ORDER BY r.diagnosed_at DESC, r.id DESC LIMIT ${params.add(f.pageSize)} OFFSET ${params.add((f.page - 1) * f.pageSize)}`,
    params.values,
  );
  return { rows, total: total.rows[0].n };
}

export interface TimelinessRow {
  institution_id: number | null;
  institution_name: string | null;
  reports: number;
  late: number;
  median_hours: number | null;
  p90_hours: number | null;
}

/**
 * Per institution (and for all of them: institution_id null), the cards diagnosed in the range that were not
 * entered in error: how many, how many late, and the median and 90th percentile of the hours from diagnosis to
 * report (percentile_cont: linear interpolation between the ordered delays).
 */
export async function timeliness(q: Queryable, f: { from: string; to: string; institutionId: number | null }): Promise<TimelinessRow[]> {
  const params = new Params();
  const where = [...diagnosedBetween(params, f.from, f.to), "r.status <> 'entered-in-error'"];
  if (f.institutionId != null) where.push(`r.institution_id = ${params.add(f.institutionId)}`);
  const { rows } = await q.query<TimelinessRow>(
    `WITH c AS (SELECT r.institution_id, r.late, extract(epoch FROM r.reported_at - r.diagnosed_at)::float8 / 3600 AS hours
                  FROM case_report r WHERE ${where.join(' AND ')})
     SELECT c.institution_id, i.name AS institution_name, count(*)::int AS reports, count(*) FILTER (WHERE c.late)::int AS late,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY c.hours) AS median_hours,
            percentile_cont(0.9) WITHIN GROUP (ORDER BY c.hours) AS p90_hours
       FROM c LEFT JOIN institution i ON i.id = c.institution_id
      GROUP BY GROUPING SETS ((c.institution_id, i.name), ())
      ORDER BY c.institution_id NULLS LAST`,
    params.values,
  );
  return rows;
}
