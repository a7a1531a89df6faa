// The FHIR interactions over the kinds: read, vread, history, search (with _include and paging), create and update.
// Every read of personal data is scoped by the caller's resident scope and audited; every write runs in a
// transaction, is idempotent on the sender's identifier and keeps history through the row_history trigger.
import type { Queryable, Row } from '../db/engine.ts';
import type { Keys } from '../platform/crypto.ts';
import type { Principal } from '../platform/principal.ts';
import { hasRole } from '../platform/principal.ts';
import { audit, auditMany, auditResidents, type AuditContext, type AuditEntry } from '../platform/audit.ts';
import { residentScopeSql, assertActsForInstitution } from '../platform/access.ts';
import { AppError } from '../platform/errors.ts';
import { Params } from '../platform/sql.ts';
import { type Json, type ParsedReference, invalid } from './datatypes.ts';
import { compileSearch, splitValues } from './search.ts';
import type { ResourceKind, WriteContext, WriteResult } from './types.ts';
import { KINDS, kindOf } from './registry.ts';
import { careMoment, ensureTreatmentRelationship } from './resources/encounter.ts';
import { runRecordHooks } from './hooks.ts';

export interface RequestContext {
  q: Queryable;
  keys: Keys;
  principal: Principal;
  audit: AuditContext;
  /** Absolute base of the FHIR endpoint, e.g. http://host:8080/fhir/R4 */
  base: string;
  lenient?: boolean;
}

const MAX_COUNT = 1000;
const DEFAULT_COUNT = 20;

// ── reading ──

function scopeJoin(kind: ResourceKind): string {
  if (kind.isResident || !kind.residentColumn) return '';
  return ` LEFT JOIN resident r ON r.id = t.${kind.residentColumn}`;
}

function scopePredicate(kind: ResourceKind, p: Principal, params: Params): string {
  if (!kind.residentColumn) return kind.rowScope?.(p, params) ?? 'TRUE';
  if (kind.isResident) return residentScopeSql(p, params, 't');
  const s = residentScopeSql(p, params, 'r');
  return s === 'TRUE' ? s : `(r.id IS NULL OR ${s})`;
}

function residentOf(kind: ResourceKind, row: Row): number | null {
  if (!kind.residentColumn) return null;
  return (kind.isResident ? row.id : row[kind.residentColumn]) ?? null;
}

/** One row by id with its scope verdict: 404 when unknown, 403 outside scope (the refusal is audited too: a read, or
 *  an update when the row is loaded to be changed). */
export async function loadRow(rc: RequestContext, kind: ResourceKind, id: number, forUpdate = false): Promise<Row> {
  const params = new Params();
  const idP = params.add(id);
  const scope = scopePredicate(kind, rc.principal, params);
  const { rows } = await rc.q.query(`SELECT ${kind.select}, ${scope} AS in_scope FROM ${kind.from}${scopeJoin(kind)} WHERE t.id = ${idP}${forUpdate ? ' FOR UPDATE OF t' : ''}`, params.values);
  const row = rows[0];
  if (!row) throw new AppError('NOT_FOUND', { noun: 'resource', what: `${kind.type}/${id}` });
  if (!row.in_scope) {
    await audit(rc.q, rc.audit, { action: forUpdate ? 'update' : 'read', resourceType: kind.type, resourceId: id, residentId: residentOf(kind, row), outcome: 'denied' });
    throw new AppError('OUT_OF_SCOPE');
  }
  return row;
}

export async function read(rc: RequestContext, type: string, id: number): Promise<Json> {
  const kind = kindOf(type);
  const row = await loadRow(rc, kind, id);
  if (kind.residentColumn) await audit(rc.q, rc.audit, { action: 'read', resourceType: kind.type, resourceId: id, residentId: residentOf(kind, row) });
  return kind.toFhir(row);
}

async function historyRows(rc: RequestContext, kind: ResourceKind, id: number) {
  const { rows } = await rc.q.query('SELECT version, valid_to, row_data FROM row_history WHERE table_name = $1 AND row_id = $2 ORDER BY version DESC', [kind.table, id]);
  return rows;
}

/** A past version rendered by the same mapping as the current one (the snapshot is the row as it was). */
function renderPast(kind: ResourceKind, current: Row, snapshot: Json): Json {
  const row: Row = { ...current, ...snapshot };
  return kind.toFhir(row);
}

export async function vread(rc: RequestContext, type: string, id: number, version: number): Promise<Json> {
  const kind = kindOf(type);
  const row = await loadRow(rc, kind, id);
  if (kind.residentColumn) await audit(rc.q, rc.audit, { action: 'read', resourceType: kind.type, resourceId: id, residentId: residentOf(kind, row) });
  if (row.version === version) return kind.toFhir(row);
  const past = (await historyRows(rc, kind, id)).find((h) => h.version === version);
  if (!past) throw new AppError('NOT_FOUND', { noun: 'version', what: `${type}/${id}/_history/${version}` });
  return renderPast(kind, row, past.row_data);
}

export async function history(rc: RequestContext, type: string, id: number): Promise<Json> {
  const kind = kindOf(type);
  const row = await loadRow(rc, kind, id);
  if (kind.residentColumn) await audit(rc.q, rc.audit, { action: 'read', resourceType: kind.type, resourceId: id, residentId: residentOf(kind, row) });
  const past = await historyRows(rc, kind, id);
  const versions = [kind.toFhir(row), ...past.map((h) => renderPast(kind, row, h.row_data))];
  return {
    resourceType: 'Bundle',
    type: 'history',
    total: versions.length,
    link: [{ relation: 'self', url: `${rc.base}/${type}/${id}/_history` }],
    entry: versions.map((res, i) => ({
      fullUrl: `${rc.base}/${type}/${id}`,
      resource: res,
      request: { method: i === versions.length - 1 && res.meta?.versionId === '1' ? 'POST' : 'PUT', url: i === versions.length - 1 && res.meta?.versionId === '1' ? type : `${type}/${id}` },
      response: { status: i === versions.length - 1 && res.meta?.versionId === '1' ? '201 Created' : '200 OK', lastModified: res.meta?.lastUpdated },
    })),
  };
}

// ── search ──

export interface SearchResult {
  bundle: Json;
  rows: Row[];
}

function parseCount(v: unknown): number {
  if (v === undefined) return DEFAULT_COUNT;
  const n = Number(Array.isArray(v) ? v[0] : v);
  if (!Number.isInteger(n) || n < 0) throw invalid('_count', 'must be a whole number');
  return Math.min(n, MAX_COUNT);
}

function orderBy(kind: ResourceKind, sort: unknown): string {
  if (sort === undefined) return kind.order ?? 't.id';
  const parts = String(Array.isArray(sort) ? sort[0] : sort).split(',').map((s) => s.trim()).filter(Boolean);
  const out: string[] = [];
  for (const p of parts) {
    const desc = p.startsWith('-');
    const name = desc ? p.slice(1) : p;
    const col = name === '_lastUpdated' ? 't.updated_at' : name === '_id' ? 't.id' : (name === 'date' || name === 'authored' || name === 'birthdate') && kind.dateColumn ? `t.${kind.dateColumn}` : null;
    if (!col) throw new AppError('FHIR_UNSUPPORTED', { detail: `_sort=${name.slice(0, 40)}` }, '_sort');
    out.push(`${col} ${desc ? 'DESC' : 'ASC'}`);
  }
  out.push('t.id');
  return out.join(', ');
}

function queryString(query: Record<string, string | string[]>, omit: string[]): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (omit.includes(k)) continue;
    for (const x of Array.isArray(v) ? v : [v]) u.append(k, String(x));
  }
  return u.toString();
}

export async function search(rc: RequestContext, type: string, query: Record<string, string | string[]>, opts: { auditAction?: 'search' | 'read' } = {}): Promise<SearchResult> {
  const kind = kindOf(type);
  const params = new Params();
  const where = compileSearch(kind.search, query, params, { q: rc.q, keys: rc.keys, principal: rc.principal }, rc.lenient);
  where.push(scopePredicate(kind, rc.principal, params));
  const count = parseCount(query._count);
  const offsetRaw = Number(Array.isArray(query._offset) ? query._offset[0] : query._offset ?? 0);
  if (!Number.isInteger(offsetRaw) || offsetRaw < 0) throw invalid('_offset', 'must be a whole number');
  const offset = offsetRaw;
  const summaryCount = query._summary === 'count';
  const from = `${kind.from}${scopeJoin(kind)}`;
  const whereSql = where.join(' AND ');
  const wantTotal = summaryCount || (query._total !== 'none');
  const countParams = [...params.values];
  const listSql = `SELECT ${kind.select} FROM ${from} WHERE ${whereSql} ORDER BY ${orderBy(kind, query._sort)} LIMIT ${params.add(count + 1)} OFFSET ${params.add(offset)}`;
  const [list, total] = await Promise.all([
    summaryCount ? Promise.resolve({ rows: [] as Row[] }) : rc.q.query(listSql, params.values),
    wantTotal ? rc.q.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${from} WHERE ${whereSql}`, countParams) : Promise.resolve(null),
  ]);
  const hasMore = list.rows.length > count;
  const rows = list.rows.slice(0, count);
  if (kind.residentColumn && rows.length) {
    const ids = [...new Set(rows.map((r) => residentOf(kind, r)).filter((x): x is number => x !== null))];
    await auditResidents(rc.q, rc.audit, opts.auditAction ?? 'search', ids, kind.type);
  }
  const entry: Json[] = rows.map((r) => ({ fullUrl: `${rc.base}/${type}/${r.id}`, resource: kind.toFhir(r), search: { mode: 'match' } }));
  entry.push(...(await includes(rc, kind, rows, query._include)));
  const qs = queryString(query, ['_offset']);
  const link: Json[] = [{ relation: 'self', url: `${rc.base}/${type}?${qs}${offset ? `&_offset=${offset}` : ''}` }];
  if (hasMore) link.push({ relation: 'next', url: `${rc.base}/${type}?${qs}${qs ? '&' : ''}_offset=${offset + count}` });
  if (offset > 0) link.push({ relation: 'previous', url: `${rc.base}/${type}?${qs}${qs ? '&' : ''}_offset=${Math.max(0, offset - count)}` });
  const bundle: Json = { resourceType: 'Bundle', type: 'searchset' };
  if (total) bundle.total = total.rows[0].n;
  bundle.link = link;
  if (!summaryCount) bundle.entry = entry;
  return { bundle, rows };
}

async function includes(rc: RequestContext, kind: ResourceKind, rows: Row[], include: unknown): Promise<Json[]> {
  if (include === undefined || rows.length === 0) return [];
  const wanted = (Array.isArray(include) ? include : [include]).flatMap((v) => splitValues(String(v)));
  const out: Json[] = [];
  const seen = new Set<string>();
  for (const w of wanted) {
    const def = kind.include?.[w.split(':').slice(0, 2).join(':')];
    if (!def) throw new AppError('FHIR_UNSUPPORTED', { detail: `_include=${w.slice(0, 60)}` }, '_include');
    const target = kindOf(def.target);
    const ids = [...new Set(rows.map((r) => r[def.column]).filter((x) => x !== null && x !== undefined))] as number[];
    if (!ids.length) continue;
    const params = new Params();
    const idsP = params.add(ids);
    const scope = scopePredicate(target, rc.principal, params);
    const { rows: trows } = await rc.q.query(`SELECT ${target.select} FROM ${target.from}${scopeJoin(target)} WHERE t.id = ANY(${idsP}::bigint[]) AND ${scope}`, params.values);
    if (target.residentColumn && trows.length) {
      await auditResidents(rc.q, rc.audit, 'read', [...new Set(trows.map((r) => residentOf(target, r)).filter((x): x is number => x !== null))], target.type);
    }
    for (const r of trows) {
      const key = `${target.type}/${r.id}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ fullUrl: `${rc.base}/${key}`, resource: target.toFhir(r), search: { mode: 'include' } });
    }
  }
  return out;
}

// ── writing ──

const COMMISSION_NAME = '卫生健康委员会';

/** Placeholders (urn:uuid) resolved in the current transaction bundle. */
export type PlaceholderMap = Map<string, { type: string; id: number }>;

/**
 * Work shared by the writes of one database transaction (a transaction Bundle, or one batch entry): references
 * already resolved (a bundle names the same patient in every entry), treatment relationships already extended, and
 * the audit events of the writes, inserted together by flushBatch just before the transaction commits — so an entry
 * of a bundle costs about one statement instead of five. Never share one across transactions.
 */
export interface WriteBatch {
  resolved: Map<string, number>;
  /** resident|institution|kind → the latest `until` asked for and the one already written */
  relationships: Map<string, { residentId: number; institutionId: number; kind: 'admission' | 'consultation'; until: Date; written: Date }>;
  audits: AuditEntry[];
}

export function writeBatch(): WriteBatch {
  return { resolved: new Map(), relationships: new Map(), audits: [] };
}

/** Extends the relationships whose `until` grew after their first write, then inserts the batch's audit events. */
export async function flushBatch(q: Queryable, ctx: AuditContext, batch: WriteBatch): Promise<void> {
  for (const r of batch.relationships.values()) {
    if (r.until > r.written) await ensureTreatmentRelationship(q, r.residentId, r.institutionId, r.kind, r.until);
  }
  batch.relationships.clear();
  await auditMany(q, ctx, batch.audits.splice(0));
}

/**
 * A treatment relationship for (resident, institution, kind) until `until` + the access window. In a batch the first
 * call writes at once (later entries of the bundle may rely on the access it gives) and later calls only raise
 * `until`, which flushBatch writes: the committed row is the one a statement per call would leave.
 */
export async function treatmentRelationship(q: Queryable, batch: WriteBatch | undefined, residentId: number, institutionId: number, kind: 'admission' | 'consultation', until: Date) {
  if (!batch) return ensureTreatmentRelationship(q, residentId, institutionId, kind, until);
  const key = `${residentId}|${institutionId}|${kind}`;
  const seen = batch.relationships.get(key);
  if (seen) {
    if (until > seen.until) seen.until = until;
    return;
  }
  await ensureTreatmentRelationship(q, residentId, institutionId, kind, until);
  batch.relationships.set(key, { residentId, institutionId, kind, until, written: until });
}

/** The audit event of a write: at once, or with the batch's others when it is flushed. */
function auditWrite(rc: RequestContext, batch: WriteBatch | undefined, e: AuditEntry): Promise<void> {
  if (!batch) return audit(rc.q, rc.audit, e);
  batch.audits.push(e);
  return Promise.resolve();
}

/** What a write context writes, for the audit of a refused reference (without it: a refused read of the target). */
export interface Writing {
  action: 'create' | 'update';
  type: string;
  id?: number;
}

export function writeContext(rc: RequestContext, placeholders: PlaceholderMap = new Map(), batch?: WriteBatch, writing?: Writing): WriteContext {
  let commission: number | null = null;

  /** A reference to a stored resource: it exists (and a record or Patient is within the caller's scope). */
  async function resolveStored(ref: ParsedReference, path: string): Promise<number> {
    const kind = kindOf(ref.type === 'PractitionerRole' ? 'Practitioner' : ref.type);
    if (ref.conditional) {
      const query = Object.fromEntries(new URLSearchParams(ref.conditional));
      if (Object.keys(query).some((k) => k !== 'identifier')) throw new AppError('FHIR_UNSUPPORTED', { detail: 'conditional references by identifier only' }, `${path}.reference`);
      const params = new Params();
      const where = compileSearch(kind.search, query, params, { q: rc.q, keys: rc.keys, principal: rc.principal });
      const { rows } = await rc.q.query(`SELECT t.id FROM ${kind.from} WHERE ${where.join(' AND ')} LIMIT 2`, params.values);
      if (rows.length === 0) throw new AppError('FHIR_BAD_REFERENCE', { path: `${path}.reference`, ref: `${ref.type}?${ref.conditional}` }, `${path}.reference`);
      if (rows.length > 1) throw new AppError('PRECONDITION_FAILED', { current: 'several matches' }, `${path}.reference`);
      return rows[0].id;
    }
    const params = new Params();
    const idP = params.add(ref.id);
    const scope = kind.residentColumn ? scopePredicate(kind, rc.principal, params) : 'TRUE';
    const resident = kind.residentColumn ? `t.${kind.isResident ? 'id' : kind.residentColumn}` : 'NULL';
    const { rows } = await rc.q.query(`SELECT ${scope} AS in_scope, ${resident} AS resident_id FROM ${kind.from}${scopeJoin(kind)} WHERE t.id = ${idP}`, params.values);
    if (!rows[0]) throw new AppError('FHIR_BAD_REFERENCE', { path: `${path}.reference`, ref: `${ref.type}/${ref.id}` }, `${path}.reference`);
    if (!rows[0].in_scope) {
      const residentId = rows[0].resident_id ?? null;
      await audit(rc.q, rc.audit, writing
        ? { action: writing.action, resourceType: writing.type, resourceId: writing.id ?? null, residentId, outcome: 'denied' }
        : { action: 'read', resourceType: kind.type, resourceId: ref.id, residentId, outcome: 'denied' });
      throw Object.assign(new AppError('OUT_OF_SCOPE'), { field: `${path}.reference` });
    }
    return ref.id!;
  }

  const ctx: WriteContext = {
    q: rc.q,
    keys: rc.keys,
    principal: rc.principal,
    audit: rc.audit,
    async resolve(ref: ParsedReference | null, path: string): Promise<number | null> {
      if (!ref) return null;
      if (ref.placeholder) {
        const hit = placeholders.get(ref.placeholder);
        if (!hit) throw new AppError('FHIR_BAD_REFERENCE', { path: `${path}.reference`, ref: ref.placeholder }, `${path}.reference`);
        if (ref.type && hit.type !== ref.type) throw invalid(`${path}.reference`, `${ref.placeholder} is a ${hit.type}`);
        return hit.id;
      }
      // Only successes are kept: what was found (and in scope) stays so for the rest of the transaction.
      const key = `${ref.type}|${ref.id ?? ''}|${ref.conditional ?? ''}`;
      const cached = batch?.resolved.get(key);
      if (cached !== undefined) return cached;
      const id = await resolveStored(ref, path);
      batch?.resolved.set(key, id);
      return id;
    },
    async recordingInstitution(named: ParsedReference | null, path: string): Promise<number> {
      const p = rc.principal;
      const own = p.tokenInstitutionId ?? p.institutionId;
      if (named) {
        const id = (await ctx.resolve(named, path))!;
        assertActsForInstitution(p, id);
        return id;
      }
      if (own) return own;
      if (commission) return commission;
      // The district health commission records what its own staff enter; it is an institution of the registry.
      const found = await rc.q.query("SELECT id FROM institution WHERE type = 'health_commission' ORDER BY id LIMIT 1");
      if (found.rows[0]) return (commission = found.rows[0].id as number);
      const district = await rc.q.query("SELECT id, code, name FROM region WHERE level = 'district' ORDER BY id LIMIT 1");
      if (!district.rows[0]) throw new AppError('FHIR_REQUIRED', { path }, path);
      const d = district.rows[0];
      const ins = await rc.q.query(
        `INSERT INTO institution (code, name, name_en, type, region_id) VALUES ($1, $2, $3, 'health_commission', $4)
         ON CONFLICT (code) DO UPDATE SET code = EXCLUDED.code RETURNING id`,
        [`HC${d.code}`, `${d.name}${COMMISSION_NAME}`, 'District Health Commission', d.id],
      );
      return (commission = ins.rows[0].id as number);
    },
  };
  return ctx;
}

function assertWriter(kind: ResourceKind, p: Principal) {
  // a view that other writes maintain (EpisodeOfCare): read and search only
  if (!kind.toRow && !kind.create && !kind.update) throw new AppError('METHOD_NOT_ALLOWED', { type: kind.type });
  if (!hasRole(p, ...(kind.writers as any[]))) throw new AppError('FORBIDDEN');
}

function sqlValue(v: unknown): { value: unknown; cast: string } {
  if (v !== null && typeof v === 'object' && !(v instanceof Date) && !(Array.isArray(v) && v.every((x) => typeof x === 'number' || typeof x === 'string'))) {
    return { value: JSON.stringify(v), cast: '::jsonb' };
  }
  return { value: v, cast: '' };
}

/** Whether RETURNING * of the table gives the row `select`/`from` would read (plain table-backed kinds). */
function returnsOwnRow(kind: ResourceKind): boolean {
  return kind.select === 't.*' && kind.from === `${kind.table} t`;
}

/**
 * Inserts or, on the sender's identifier, updates a table-backed resource. No change → no new version. `row` is the
 * stored row as written (RETURNING, after the history trigger) when the kind reads its table as it is, so the
 * response is rendered without reading it back.
 */
async function upsertRow(ctx: WriteContext, kind: ResourceKind, values: Record<string, unknown>, existingId: number | null): Promise<{ id: number; created: boolean; row: Row | null }> {
  const cols = Object.keys(values);
  const params = new Params();
  const ph = cols.map((c) => {
    const { value, cast } = sqlValue(values[c]);
    return params.add(value) + cast;
  });
  const returning = returnsOwnRow(kind) ? 't.*' : 't.id';
  if (existingId !== null) {
    const idP = params.add(existingId);
    const { rows } = await ctx.q.query(`UPDATE ${kind.table} AS t SET ${cols.map((c, i) => `${c} = ${ph[i]}`).join(', ')} WHERE t.id = ${idP} RETURNING ${returning}`, params.values);
    return { id: existingId, created: false, row: returnsOwnRow(kind) ? (rows[0] ?? null) : null };
  }
  if (values.source_id) {
    const changed = cols.filter((c) => c !== 'institution_id' && c !== 'source_id');
    const { rows } = await ctx.q.query(
      `INSERT INTO ${kind.table} AS t (${cols.join(', ')}) VALUES (${ph.join(', ')})
       ON CONFLICT (institution_id, source_id) DO UPDATE SET ${changed.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}
       WHERE (${changed.map((c) => `t.${c}`).join(', ')}) IS DISTINCT FROM (${changed.map((c) => `EXCLUDED.${c}`).join(', ')})
       RETURNING ${returning}, (t.xmax = 0) AS inserted`,
      params.values,
    );
    if (rows[0]) {
      const { inserted, ...row } = rows[0];
      return { id: row.id, created: inserted, row: returnsOwnRow(kind) ? row : null };
    }
    const same = await ctx.q.query(`SELECT id FROM ${kind.table} WHERE institution_id = $1 AND source_id = $2`, [values.institution_id, values.source_id]);
    return { id: same.rows[0].id, created: false, row: null };
  }
  const { rows } = await ctx.q.query(`INSERT INTO ${kind.table} AS t (${cols.join(', ')}) VALUES (${ph.join(', ')}) RETURNING ${returning}`, params.values);
  return { id: rows[0].id, created: true, row: returnsOwnRow(kind) ? rows[0] : null };
}

function checkBody(kind: ResourceKind, body: unknown): Json {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new AppError('FHIR_INVALID', { path: kind.type, detail: 'the body must be a JSON object' }, kind.type);
  const r = body as Json;
  if (r.resourceType !== kind.type) throw new AppError('FHIR_INVALID', { path: 'resourceType', detail: `expected ${kind.type}, got ${String(r.resourceType ?? 'nothing').slice(0, 40)}` }, 'resourceType');
  if (r.contained !== undefined) throw new AppError('FHIR_UNSUPPORTED', { detail: 'contained resources' }, `${kind.type}.contained`);
  return r;
}

async function afterRecordWrite(ctx: WriteContext, kind: ResourceKind, id: number, values: Record<string, unknown>, batch?: WriteBatch) {
  if (kind.afterWrite) await kind.afterWrite(id, values, ctx);
  else if (kind.residentColumn && !kind.isResident && values.resident_id && values.institution_id) {
    await treatmentRelationship(ctx.q, batch, values.resident_id as number, values.institution_id as number, 'consultation', new Date(careMoment(kind, values)));
  }
  await kind.onWritten?.(id, values, ctx);
  await runRecordHooks(kind.type, [{ id, values }], { q: ctx.q, principal: ctx.principal, audit: ctx.audit, via: 'rest' });
}

/**
 * Creates a resource. With a `batch` (the writes of one transaction), references, relationships and audit events are
 * shared with the batch's other writes; the caller runs flushBatch before committing.
 */
export async function create(rc: RequestContext, type: string, body: unknown, placeholders?: PlaceholderMap, batch?: WriteBatch): Promise<{ resource: Json; created: boolean; id: number }> {
  const kind = kindOf(type);
  assertWriter(kind, rc.principal);
  const r = checkBody(kind, body);
  const ctx = writeContext(rc, placeholders, batch, { action: 'create', type: kind.type });
  let result: WriteResult;
  let row: Row | null = null;
  if (kind.create) {
    result = await kind.create(r, ctx);
    if (kind.isResident && (rc.principal.tokenInstitutionId ?? rc.principal.institutionId)) {
      await treatmentRelationship(rc.q, batch, result.id, (rc.principal.tokenInstitutionId ?? rc.principal.institutionId)!, 'consultation', new Date());
    }
  } else {
    const values = await kind.toRow!(r, ctx, null);
    await kind.beforeWrite?.(values, ctx, null);
    const w = await upsertRow(ctx, kind, values, null);
    await afterRecordWrite(ctx, kind, w.id, values, batch);
    result = { id: w.id, created: w.created, residentId: kind.residentColumn ? ((values[kind.residentColumn] as number) ?? null) : null };
    row = kind.afterWrite ? null : w.row; // an afterWrite hook may change the row: read it back then
  }
  if (kind.residentColumn || result.residentId) {
    await auditWrite(rc, batch, { action: result.created ? 'create' : 'update', resourceType: kind.type, resourceId: result.id, residentId: result.residentId });
  }
  row ??= await loadRow({ ...rc, principal: SYSTEM_READER(rc.principal) }, kind, result.id);
  return { resource: kind.toFhir(row), created: result.created, id: result.id };
}

/** Reading back what the caller just wrote: it is theirs to see even before a relationship reaches them. */
function SYSTEM_READER(p: Principal): Principal {
  return { ...p, scope: { ...p.scope, all: true } };
}

export async function update(rc: RequestContext, type: string, id: number, body: unknown, ifMatch: number | null, batch?: WriteBatch): Promise<{ resource: Json; id: number }> {
  const kind = kindOf(type);
  assertWriter(kind, rc.principal);
  const r = checkBody(kind, body);
  if (r.id === undefined || String(r.id) !== String(id)) throw new AppError('FHIR_INVALID', { path: `${type}.id`, detail: `must be ${id}, the id in the URL` }, `${type}.id`);
  const existing = await loadRow(rc, kind, id, true);
  if (ifMatch !== null && existing.version !== ifMatch) throw new AppError('PRECONDITION_FAILED', { current: String(existing.version) });
  const metaVersion = r.meta?.versionId;
  if (ifMatch === null && metaVersion !== undefined && String(metaVersion) !== String(existing.version)) {
    // a client that sends the version it read gets the same protection as If-Match
    throw new AppError('STALE_VERSION', {}, `${type}.meta.versionId`);
  }
  const own = rc.principal.tokenInstitutionId ?? rc.principal.institutionId;
  const coWriter = own !== null && !!kind.coWriters?.(existing).includes(own);
  if (existing.institution_id !== undefined && kind.residentColumn && !coWriter) assertActsForInstitution(rc.principal, existing.institution_id);
  const ctx = writeContext(rc, new Map(), batch, { action: 'update', type: kind.type, id });
  let residentId: number | null;
  let row: Row | null = null;
  if (kind.update) {
    residentId = (await kind.update(id, r, ctx, existing)).residentId;
  } else {
    const values = await kind.toRow!(r, ctx, existing);
    if (values.institution_id !== existing.institution_id && existing.institution_id !== undefined) assertActsForInstitution(rc.principal, values.institution_id as number);
    await kind.beforeWrite?.(values, ctx, existing);
    const w = await upsertRow(ctx, kind, values, id);
    await afterRecordWrite(ctx, kind, id, values, batch);
    row = kind.afterWrite ? null : w.row; // an afterWrite hook may change the row: read it back then
    residentId = kind.residentColumn ? ((values[kind.residentColumn] as number) ?? null) : null;
  }
  if (kind.residentColumn) await auditWrite(rc, batch, { action: 'update', resourceType: kind.type, resourceId: id, residentId });
  row ??= await loadRow({ ...rc, principal: SYSTEM_READER(rc.principal) }, kind, id);
  return { resource: kind.toFhir(row), id };
}

export { KINDS };
