// SQL of the surveillance feeds: the catalogue of sources and categories, regions named by a feed, the upserts of
// counts and line-list items, and the series read set-based (one statement for every series of a query).
import type { Queryable } from '../../db/engine.ts';
import { Params } from '../../platform/sql.ts';

export interface CatalogueRow {
  source_code: string;
  source_name: string;
  source_name_en: string;
  unit: 'count' | 'percent' | 'concentration';
  independence: string;
  source_active: boolean;
  sender_types: string[];
  source_sort: number;
  category_code: string | null;
  category_name: string | null;
  category_name_en: string | null;
  syndrome: string | null;
  category_active: boolean | null;
}

export async function catalogue(q: Queryable): Promise<CatalogueRow[]> {
  const { rows } = await q.query<CatalogueRow>(
    `SELECT s.code AS source_code, s.name AS source_name, s.name_en AS source_name_en, s.unit, s.independence, s.active AS source_active,
            s.sender_types, s.sort AS source_sort, c.code AS category_code, c.name AS category_name, c.name_en AS category_name_en,
            c.syndrome, c.active AS category_active
       FROM surveillance_source s LEFT JOIN surveillance_category c ON c.source_code = s.code
      ORDER BY s.sort, s.code, c.sort, c.code`,
  );
  return rows;
}

export interface RegionRow {
  id: number;
  code: string;
  name: string;
  level: string;
}

/** Regions named by id, by code or (spreadsheets) by a community's name. */
export async function regionsNamed(q: Queryable, ids: number[], codes: string[], names: string[] = []): Promise<RegionRow[]> {
  if (!ids.length && !codes.length && !names.length) return [];
  const { rows } = await q.query<RegionRow>(
    `SELECT id, code, name, level FROM region
      WHERE id = ANY($1::bigint[]) OR code = ANY($2::text[]) OR (level = 'community' AND name = ANY($3::text[]))`,
    [ids, codes, names],
  );
  return rows;
}

export async function institutionById(q: Queryable, id: number): Promise<{ id: number; code: string; type: string; active: boolean } | null> {
  const { rows } = await q.query('SELECT id, code, type, active FROM institution WHERE id = $1', [id]);
  return (rows[0] as { id: number; code: string; type: string; active: boolean }) ?? null;
}

export async function institutionByCode(q: Queryable, code: string): Promise<{ id: number; code: string; type: string; active: boolean } | null> {
  const { rows } = await q.query('SELECT id, code, type, active FROM institution WHERE code = $1', [code]);
  return (rows[0] as { id: number; code: string; type: string; active: boolean }) ?? null;
}

export async function existingResidents(q: Queryable, ids: number[]): Promise<Set<number>> {
  if (!ids.length) return new Set();
  const { rows } = await q.query<{ id: number }>("SELECT id FROM resident WHERE id = ANY($1::bigint[]) AND status <> 'merged'", [ids]);
  return new Set(rows.map((r) => Number(r.id)));
}

export interface CountWrite {
  sourceCode: string;
  categoryCode: string;
  regionId: number;
  date: string;
  value: number;
}

/**
 * Counts in one statement. A resend of a key with another value replaces it and bumps the revision; the same value
 * again changes nothing. Returned: the rows written, `inserted` telling a first send from a correction.
 */
export async function upsertCounts(q: Queryable, institutionId: number, rows: CountWrite[]) {
  if (!rows.length) return [];
  const res = await q.query<{ source_code: string; category_code: string; region_id: number; on_date: string; revision: number; inserted: boolean }>(
    `INSERT INTO feed_count AS f (institution_id, source_code, category_code, region_id, on_date, value)
     SELECT $1, x.s, x.c, x.r, x.d, x.v FROM unnest($2::text[], $3::text[], $4::bigint[], $5::date[], $6::float8[]) AS x(s, c, r, d, v)
     ON CONFLICT (institution_id, source_code, category_code, region_id, on_date) DO UPDATE
        SET value = EXCLUDED.value, revision = f.revision + 1, received_at = now()
      WHERE f.value IS DISTINCT FROM EXCLUDED.value
     RETURNING f.source_code, f.category_code, f.region_id, f.on_date::text AS on_date, f.revision, (f.xmax = 0) AS inserted`,
    [institutionId, rows.map((r) => r.sourceCode), rows.map((r) => r.categoryCode), rows.map((r) => r.regionId), rows.map((r) => r.date), rows.map((r) => r.value)],
  );
  return res.rows;
}

export async function countRevisions(q: Queryable, institutionId: number, rows: CountWrite[]) {
  if (!rows.length) return [];
  const res = await q.query<{ source_code: string; category_code: string; region_id: number; on_date: string; revision: number }>(
    `SELECT f.source_code, f.category_code, f.region_id, f.on_date::text AS on_date, f.revision
       FROM unnest($2::text[], $3::text[], $4::bigint[], $5::date[]) AS x(s, c, r, d)
       JOIN feed_count f ON f.institution_id = $1 AND f.source_code = x.s AND f.category_code = x.c AND f.region_id = x.r AND f.on_date = x.d`,
    [institutionId, rows.map((r) => r.sourceCode), rows.map((r) => r.categoryCode), rows.map((r) => r.regionId), rows.map((r) => r.date)],
  );
  return res.rows;
}

export interface ItemWrite {
  sourceId: string;
  sourceCode: string;
  categoryCode: string;
  regionId: number;
  date: string;
  residentId: number | null;
  attributes: Record<string, unknown>;
  status: 'active' | 'entered-in-error';
}

/** Line-list items in one statement, keyed by the sender's id; an identical resend changes nothing. */
export async function upsertItems(q: Queryable, institutionId: number, rows: ItemWrite[]) {
  if (!rows.length) return [];
  const res = await q.query<{ source_id: string; revision: number; status: string; inserted: boolean }>(
    `INSERT INTO feed_item AS f (institution_id, source_id, source_code, category_code, region_id, on_date, resident_id, attributes, status)
     SELECT $1, x.id, x.s, x.c, x.r, x.d, x.res, x.a::jsonb, x.st
       FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::date[], $7::bigint[], $8::text[], $9::text[]) AS x(id, s, c, r, d, res, a, st)
     ON CONFLICT (institution_id, source_id) DO UPDATE
        SET source_code = EXCLUDED.source_code, category_code = EXCLUDED.category_code, region_id = EXCLUDED.region_id,
            on_date = EXCLUDED.on_date, resident_id = EXCLUDED.resident_id, attributes = EXCLUDED.attributes, status = EXCLUDED.status,
            revision = f.revision + 1, received_at = now()
      WHERE (f.source_code, f.category_code, f.region_id, f.on_date, f.resident_id, f.attributes, f.status)
            IS DISTINCT FROM (EXCLUDED.source_code, EXCLUDED.category_code, EXCLUDED.region_id, EXCLUDED.on_date, EXCLUDED.resident_id, EXCLUDED.attributes, EXCLUDED.status)
     RETURNING f.source_id, f.revision, f.status, (f.xmax = 0) AS inserted`,
    [
      institutionId, rows.map((r) => r.sourceId), rows.map((r) => r.sourceCode), rows.map((r) => r.categoryCode), rows.map((r) => r.regionId),
      rows.map((r) => r.date), rows.map((r) => r.residentId), rows.map((r) => JSON.stringify(r.attributes)), rows.map((r) => r.status),
    ],
  );
  return res.rows;
}

export async function itemRevisions(q: Queryable, institutionId: number, sourceIds: string[]) {
  if (!sourceIds.length) return [];
  const res = await q.query<{ source_id: string; revision: number; status: string }>(
    'SELECT source_id, revision, status FROM feed_item WHERE institution_id = $1 AND source_id = ANY($2::text[])',
    [institutionId, sourceIds],
  );
  return res.rows;
}

// ── series ──

export interface SeriesSql {
  from: string;
  to: string;
  sourceCodes?: string[];
  categoryCodes?: string[];
  /** Regions of any level: their communities are read. */
  regionIds?: number[];
  institutionId?: number | null;
  /** Sum the communities into one series per source and category. */
  aggregate?: boolean;
}

/** The communities of the given regions (a community itself; a street's or the district's communities). */
export function communitiesOf(params: Params, regionIds: number[]): string {
  return `(WITH RECURSIVE d AS (SELECT id, level FROM region WHERE id = ANY(${params.add(regionIds)}::bigint[])
             UNION ALL SELECT c.id, c.level FROM region c JOIN d ON c.parent_id = d.id WHERE d.level <> 'community')
           SELECT id FROM d WHERE level = 'community')`;
}

/**
 * Every series of the query in one statement: per (community, source, category) the days that have a value, as
 * parallel arrays of day offsets from `from` and values; the caller fills the dense array. A day's value is the sum
 * over institutions of feed_count plus the number of active feed_item rows.
 */
export async function seriesPoints(q: Queryable, f: SeriesSql) {
  const params = new Params();
  const from = params.add(f.from);
  const to = params.add(f.to);
  const cat: string[] = ['c.active', 's.active'];
  if (f.sourceCodes?.length) cat.push(`c.source_code = ANY(${params.add(f.sourceCodes)}::text[])`);
  if (f.categoryCodes?.length) cat.push(`c.code = ANY(${params.add(f.categoryCodes)}::text[])`);
  const where: string[] = [`x.on_date BETWEEN ${from}::date AND ${to}::date`, '(x.source_code, x.category_code) IN (SELECT source_code, code FROM cat)'];
  if (f.regionIds?.length) where.push(`x.region_id IN ${communitiesOf(params, f.regionIds)}`);
  if (f.institutionId != null) where.push(`x.institution_id = ${params.add(f.institutionId)}`);
  const w = where.join(' AND ');
  const region = f.aggregate ? 'NULL::bigint' : 'region_id';
  const { rows } = await q.query<{ region_id: number | null; source_code: string; category_code: string; d: number[]; v: number[] }>(
    `WITH cat AS (SELECT c.source_code, c.code FROM surveillance_category c JOIN surveillance_source s ON s.code = c.source_code WHERE ${cat.join(' AND ')}),
     pts AS (
       SELECT x.region_id, x.source_code, x.category_code, x.on_date, x.value FROM feed_count x WHERE ${w}
       UNION ALL
       SELECT x.region_id, x.source_code, x.category_code, x.on_date, count(*)::float8 FROM feed_item x WHERE x.status = 'active' AND ${w}
        GROUP BY x.region_id, x.source_code, x.category_code, x.on_date
     ),
     daily AS (SELECT ${region} AS region_id, source_code, category_code, on_date, sum(value) AS value FROM pts GROUP BY 1, 2, 3, 4)
     SELECT region_id, source_code, category_code, array_agg(on_date - ${from}::date) AS d, array_agg(value) AS v
       FROM daily GROUP BY region_id, source_code, category_code
      ORDER BY region_id, source_code, category_code`,
    params.values,
  );
  return rows;
}

/** The communities (ids) a series query covers, for series without any value in the range. */
export async function communityIds(q: Queryable, regionIds?: number[]): Promise<number[]> {
  const params = new Params();
  const sql = regionIds?.length
    ? `SELECT id FROM region WHERE id IN ${communitiesOf(params, regionIds)} ORDER BY id`
    : "SELECT id FROM region WHERE level = 'community' ORDER BY id";
  const { rows } = await q.query<{ id: number }>(sql, params.values);
  return rows.map((r) => Number(r.id));
}

export interface EpicurveSql {
  from: string;
  to: string;
  by: 'category' | 'syndrome';
  sourceCodes?: string[];
  regionIds?: number[];
  institutionId?: number | null;
  caseReports: boolean;
}

/**
 * Daily totals over the communities per (source, category) or (source, syndrome), with the statutory case reports
 * (source `case_report`, category = disease code, by day of diagnosis in Beijing time) when asked for.
 */
export async function epicurvePoints(q: Queryable, f: EpicurveSql) {
  const params = new Params();
  const from = params.add(f.from);
  const to = params.add(f.to);
  const where: string[] = [`x.on_date BETWEEN ${from}::date AND ${to}::date`, 'c.active', 's.active'];
  if (f.sourceCodes?.length) where.push(`x.source_code = ANY(${params.add(f.sourceCodes)}::text[])`);
  const regions = f.regionIds?.length ? communitiesOf(params, f.regionIds) : null;
  if (regions) where.push(`x.region_id IN ${regions}`);
  if (f.institutionId != null) where.push(`x.institution_id = ${params.add(f.institutionId)}`);
  const w = where.join(' AND ');
  const key = f.by === 'category' ? 'x.category_code' : 'c.syndrome';
  const join = 'JOIN surveillance_category c ON c.source_code = x.source_code AND c.code = x.category_code JOIN surveillance_source s ON s.code = x.source_code';
  const parts = [
    `SELECT x.source_code, ${key} AS key, x.on_date, x.value FROM feed_count x ${join} WHERE ${w}`,
    `SELECT x.source_code, ${key} AS key, x.on_date, count(*)::float8 FROM feed_item x ${join} WHERE x.status = 'active' AND ${w} GROUP BY 1, 2, 3`,
  ];
  if (f.caseReports) {
    const cw: string[] = [
      "r.status <> 'entered-in-error'",
      `r.diagnosed_at >= (${from}::date)::timestamp AT TIME ZONE 'Asia/Shanghai'`,
      `r.diagnosed_at < ((${to}::date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai')`,
    ];
    if (regions) cw.push(`r.region_id IN ${regions}`);
    if (f.institutionId != null) cw.push(`r.institution_id = ${params.add(f.institutionId)}`);
    const ckey = f.by === 'category' ? 'r.disease_code' : 'd.syndrome';
    parts.push(`SELECT 'case_report', ${ckey}, (r.diagnosed_at AT TIME ZONE 'Asia/Shanghai')::date, count(*)::float8
                  FROM case_report r JOIN notifiable_disease d ON d.code = r.disease_code WHERE ${cw.join(' AND ')} GROUP BY 1, 2, 3`);
  }
  const { rows } = await q.query<{ source_code: string; key: string; d: number[]; v: number[] }>(
    `WITH pts(source_code, key, on_date, value) AS (${parts.join(' UNION ALL ')}),
     daily AS (SELECT source_code, key, on_date, sum(value) AS value FROM pts GROUP BY 1, 2, 3)
     SELECT source_code, key, array_agg(on_date - ${from}::date) AS d, array_agg(value) AS v FROM daily GROUP BY 1, 2 ORDER BY 1, 2`,
    params.values,
  );
  return rows;
}

export async function diseases(q: Queryable) {
  const { rows } = await q.query<{ code: string; name: string; name_en: string; class: string; managed_as_a: boolean; report_hours: number; syndrome: string; active: boolean }>(
    'SELECT code, name, name_en, class, managed_as_a, report_hours, syndrome, active FROM notifiable_disease ORDER BY class, code',
  );
  return rows;
}
