// Patient/$everything (https://hl7.org/fhir/R4/patient-operation-everything.html): the resident and every record
// about them from every institution, with the organizations that recorded them. One audit event per call.
import { residentScopeSql } from '../platform/access.ts';
import { auditCte } from '../platform/audit.ts';
import { AppError } from '../platform/errors.ts';
import { Params } from '../platform/sql.ts';
import type { Queryable, Row } from '../db/engine.ts';
import type { Json } from './datatypes.ts';
import { dateRange } from './search.ts';
import { KINDS, kindOf } from './registry.ts';
import { loadRow, type RequestContext } from './repository.ts';
import type { ResourceKind } from './types.ts';

const MAX_PER_TYPE = 5000;

interface Window {
  since: Date | null;
  start: Date | null;
  end: Date | null;
}

/**
 * The columns of the record tables, read from the catalogue once (migrations run before the server serves, and every
 * CareGrid database has the same schema). With them a row travels as an array of its values instead of an object that
 * repeats every column name: a quarter less work for the statement on PGlite and a shorter text to parse.
 */
let tableColumns: Promise<Map<string, string[]>> | null = null;
function columnsOf(q: Queryable): Promise<Map<string, string[]>> {
  tableColumns ??= q
    .query<{ relname: string; columns: string[] }>(
      `SELECT c.relname, array_agg(a.attname::text ORDER BY a.attnum) AS columns FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        WHERE c.relname = ANY($1::text[]) AND c.relkind = 'r' AND pg_table_is_visible(c.oid) AND a.attnum > 0 AND NOT a.attisdropped GROUP BY c.relname`,
      [[...KINDS.values()].map((k) => k.table)],
    )
    .then(({ rows }) => new Map(rows.map((r) => [r.relname, r.columns])))
    .catch((err) => {
      tableColumns = null;
      throw err;
    });
  return tableColumns;
}

/** One kind's rows as JSON: arrays of values when its columns are those of its table (`t.*`), objects otherwise. */
function kindJson(k: ResourceKind, cte: string, columns: string[] | undefined): string {
  if (k.select !== 't.*' || !columns) return `(SELECT json_agg(t)::text FROM ${cte} t)`;
  return `(SELECT json_agg(json_build_array(${columns.map((c) => `t."${c.replaceAll('"', '""')}"`).join(', ')}))::text FROM ${cte} t)`;
}

/** One kind's rows, in the kind's own order, materialized so that whatever reads them reads that order. */
function kindArray(k: ResourceKind, cte: string, patientP: string, w: Window, params: Params): string {
  const where = [`t.${k.residentColumn} = ${patientP}`, 'EXISTS (SELECT 1 FROM viewed)'];
  if (w.since) where.push(`t.updated_at >= ${params.add(w.since)}`);
  if (k.dateColumn && w.start) where.push(`t.${k.dateColumn} >= ${params.add(w.start)}`);
  if (k.dateColumn && w.end) where.push(`t.${k.dateColumn} < ${params.add(w.end)}`);
  const order = k.order ?? 't.id';
  return `${cte} AS MATERIALIZED (SELECT ${k.select} FROM ${k.from} WHERE ${where.join(' AND ')} ORDER BY ${order} LIMIT ${MAX_PER_TYPE})`;
}

/**
 * The resident with their scope verdict, every record, the organizations that recorded them and the audit event, as one
 * statement: one round trip instead of one per kind. The records are read only when the resident is in scope, and the
 * audit is written only then. Each array comes back as one JSON text (row_to_json's rendering of the columns, which
 * the kinds' mappings already read for past versions, see renderPast in repository.ts); text rather than json so that
 * the driver hands it over as it is and the parse happens once, here.
 */
function everythingSql(rc: RequestContext, patientKind: ResourceKind, kinds: ResourceKind[], columns: Map<string, string[]>, patientId: number, w: Window, org: ResourceKind | null) {
  const params = new Params();
  const patientP = params.add(patientId);
  const target = `target AS MATERIALIZED (SELECT ${patientKind.select}, ${residentScopeSql(rc.principal, params, 't')} AS in_scope FROM ${patientKind.from} WHERE t.id = ${patientP})`;
  const ctes = kinds.map((k, i) => kindArray(k, `k${i}`, patientP, w, params));
  // json_agg over a materialized CTE takes its rows in the order they were stored (a second sort inside the
  // aggregate cost a fifth of the statement on PGlite)
  const arrays = [`SELECT -1 AS n, (SELECT row_to_json(t)::text FROM target t) AS rows`];
  arrays.push(...kinds.map((k, i) => `SELECT ${i}, ${kindJson(k, `k${i}`, columns.get(k.table))}`));
  // every record table has institution_id, the recording institution (Organization)
  if (org && kinds.length) {
    const ids = kinds.map((_k, i) => `SELECT institution_id FROM k${i}`).join(' UNION ');
    arrays.push(`SELECT ${kinds.length}, (SELECT json_agg(t ORDER BY t.id)::text FROM (SELECT ${org.select} FROM ${org.from} WHERE t.id IN (${ids})) t)`);
  }
  const sql = `WITH ${target},
    viewed AS (SELECT id FROM target WHERE in_scope),
    audited AS (${auditCte(params, rc.audit, 'read', 'viewed', 'Patient/$everything')})${ctes.map((c) => `,\n    ${c}`).join('')}
    ${arrays.join('\n    UNION ALL ')}`;
  return { sql, values: params.values };
}

function windowOf(query: Record<string, string>): { w: Window; types: string[] | null } {
  const w: Window = {
    since: query._since ? dateRange(query._since, '_since').lo : null,
    start: query.start ? dateRange(query.start, 'start').lo : null,
    end: query.end ? dateRange(query.end, 'end').hi : null,
  };
  const types = query._type ? query._type.split(',') : null;
  if (types) for (const t of types) if (!KINDS.has(t)) throw new AppError('FHIR_INVALID', { path: '_type', detail: `unknown type ${t.slice(0, 40)}` }, '_type');
  return { w, types };
}

export async function everything(rc: RequestContext, patientId: number, query: Record<string, string>): Promise<Json> {
  const patientKind = kindOf('Patient');
  let parsed: ReturnType<typeof windowOf>;
  try {
    parsed = windowOf(query);
  } catch (err) {
    await loadRow(rc, patientKind, patientId); // an unknown or out-of-scope resident is answered first, as for a valid query
    throw err;
  }
  const kinds = [...KINDS.values()].filter((k) => k.residentColumn && !k.isResident && (!parsed.types || parsed.types.includes(k.type)));
  const org = KINDS.has('Organization') ? kindOf('Organization') : null;
  const columns = await columnsOf(rc.q);
  const { sql, values } = everythingSql(rc, patientKind, kinds, columns, patientId, parsed.w, org);
  const { rows } = await rc.q.query<{ n: number; rows: string | null }>(sql, values);
  const arrays = new Map<number, Row[]>();
  for (const r of rows) arrays.set(r.n, r.rows === null ? [] : r.n === -1 ? [JSON.parse(r.rows)] : JSON.parse(r.rows));
  kinds.forEach((k, i) => {
    const cols = columns.get(k.table);
    if (k.select === 't.*' && cols) arrays.set(i, (arrays.get(i) ?? []).map((a) => Object.fromEntries(cols.map((c, j) => [c, (a as unknown as unknown[])[j]]))));
  });
  const patient = arrays.get(-1)?.[0];
  if (!patient?.in_scope) {
    // nothing was read or audited: loadRow gives the verdict (404, or 403 audited as denied); should the resident have
    // come into scope in between, the read is simply made again
    await loadRow(rc, patientKind, patientId);
    return everything(rc, patientId, query);
  }
  const entry: Json[] = [{ fullUrl: `${rc.base}/Patient/${patientId}`, resource: patientKind.toFhir(patient), search: { mode: 'match' } }];
  kinds.forEach((kind, i) => {
    for (const row of arrays.get(i) ?? []) entry.push({ fullUrl: `${rc.base}/${kind.type}/${row.id}`, resource: kind.toFhir(row), search: { mode: 'match' } });
  });
  if (org) for (const row of arrays.get(kinds.length) ?? []) entry.push({ fullUrl: `${rc.base}/Organization/${row.id}`, resource: org.toFhir(row), search: { mode: 'include' } });
  return { resourceType: 'Bundle', type: 'searchset', total: entry.length, entry };
}
