// $export (FHIR Bulk Data Access IG v2, https://hl7.org/fhir/uv/bulkdata/export.html): system, Patient and Group
// level, asynchronous, NDJSON. The kick-off stores a job row; a runner in the server process streams each kind's rows
// with keyset pagination (id > last ORDER BY id LIMIT n) through the kind's own toFhir into
// <dataDir>/exports/<job id>/<Type>.ndjson, so no table is ever held in memory and the files are the same resources
// the REST API serves.
//
// Group: CareGrid has no Group resource table. A Group id is a region id (district, street, community or grid) and
// its members are the residents who live there, the way a district plans population work.
import { createWriteStream, mkdirSync, rmSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { join } from 'node:path';
import type { AppContext } from '../../context.ts';
import type { Queryable } from '../../db/engine.ts';
import { audit, type AuditContext } from '../../platform/audit.ts';
import { AppError } from '../../platform/errors.ts';
import { hasRole, type Principal } from '../../platform/principal.ts';
import { Params } from '../../platform/sql.ts';
import type { Json } from '../datatypes.ts';
import { KINDS } from '../registry.ts';
import { dateRange } from '../search.ts';
import type { ResourceKind } from '../types.ts';
import { createJob, getJob, jobDir, setJob } from './jobs.ts';

export type ExportLevel = 'system' | 'patient' | 'group';

export interface ExportRequest {
  level: ExportLevel;
  /** Region id for a Group-level export. */
  groupId?: number;
  types: string[];
  since: string | null;
  /** The kick-off URL as the client sent it (echoed in the manifest's `request`). */
  url: string;
}

export const NDJSON_FORMATS = ['application/fhir+ndjson', 'application/ndjson', 'ndjson'];
const PAGE = 2000;

/** Exports are the whole population's data: the district administrator's alone. */
export function assertExporter(p: Principal) {
  if (!hasRole(p, 'district_admin')) throw new AppError('FORBIDDEN');
}

/** Kinds a level covers: every kind for a system export, the Patient compartment (Patient and its records) otherwise. */
function kindsFor(level: ExportLevel): ResourceKind[] {
  const all = [...KINDS.values()];
  return level === 'system' ? all : all.filter((k) => k.residentColumn);
}

/** Validates `_type`, `_since` and `_outputFormat` (the IG's kick-off parameters) into an ExportRequest. */
export function parseExportRequest(level: ExportLevel, query: Record<string, string | string[] | undefined>, url: string, groupId?: number): ExportRequest {
  const one = (k: string) => {
    const v = query[k];
    return Array.isArray(v) ? v.join(',') : v;
  };
  const format = one('_outputFormat');
  if (format !== undefined && !NDJSON_FORMATS.includes(format)) throw new AppError('FHIR_UNSUPPORTED', { detail: `_outputFormat=${format.slice(0, 60)} (only application/fhir+ndjson)` }, '_outputFormat');
  const allowed = kindsFor(level);
  const typeParam = one('_type');
  let types = allowed.map((k) => k.type);
  if (typeParam !== undefined) {
    types = [...new Set(typeParam.split(',').map((t) => t.trim()).filter(Boolean))];
    for (const t of types) {
      if (!allowed.some((k) => k.type === t)) {
        throw new AppError('FHIR_INVALID', { path: '_type', detail: KINDS.has(t) ? `${t} is not in the Patient compartment` : `unknown resource type ${t.slice(0, 40)}` }, '_type');
      }
    }
  }
  const since = one('_since');
  if (since !== undefined) dateRange(since, '_since');
  for (const k of Object.keys(query)) {
    if (!['_type', '_since', '_outputFormat'].includes(k)) throw new AppError('FHIR_UNSUPPORTED', { detail: `$export parameter ${k.slice(0, 40)}` }, k);
  }
  return { level, groupId, types, since: since ?? null, url };
}

/** The residents of a region, as SQL on the resident row aliased `alias`. */
async function groupPredicate(q: Queryable, groupId: number, params: Params, alias: string): Promise<string> {
  const { rows } = await q.query('SELECT level FROM region WHERE id = $1', [groupId]);
  const level = rows[0]?.level as string | undefined;
  if (!level) throw new AppError('NOT_FOUND', { noun: 'resource', what: `Group/${groupId}` });
  if (level === 'district') return 'TRUE';
  return `${alias}.${level}_id = ${params.add(groupId)}`;
}

/** Kick-off: checks the group, stores the job and its single audit event. */
export async function kickOffExport(q: Queryable, principal: Principal, auditCtx: AuditContext, req: ExportRequest): Promise<string> {
  assertExporter(principal);
  if (req.level === 'group') await groupPredicate(q, req.groupId!, new Params(), 'r');
  const id = await createJob(q, 'fhir-export', principal.userId, req as unknown as Json);
  // One audit event for the whole export (not one per resident): the job row keeps what was asked (level, group,
  // types, since) and, once done, what was written, so "which residents" is the Group's (region's) residents.
  const scope = req.level === 'system' ? 'all residents' : req.level === 'patient' ? 'all patients' : `residents of Group/${req.groupId}`;
  const purpose = `${auditCtx.purpose ? auditCtx.purpose + '; ' : ''}bulk export of ${scope}: ${req.types.join(',')}${req.since ? ` since ${req.since}` : ''}`;
  await audit(q, auditCtx, { action: 'export', resourceType: 'Bulk$export', resourceId: id, purpose: purpose.slice(0, 500) });
  return id;
}

// A file stream's error (e.g. its folder removed by a cancel) must reject the export, never escape as an uncaught
// 'error' event (which would end the server) nor leave a wait for 'drain'/'finish' hanging (which would stall the queue).
async function write(stream: WriteStream, text: string) {
  if (stream.errored) throw stream.errored;
  if (!stream.write(text)) await once(stream, 'drain');
}

async function closeStream(stream: WriteStream) {
  if (stream.errored || stream.destroyed) return;
  stream.end();
  await finished(stream);
}

export interface ExportOutput {
  type: string;
  url: string;
  count: number;
}

/**
 * Streams one kind into its file: pages of PAGE rows by id (keyset), each rendered with the kind's toFhir.
 * Stops between pages when `cancelled()` says so.
 */
async function exportKind(q: Queryable, kind: ResourceKind, req: ExportRequest, file: string, cancelled: () => Promise<boolean>, progress: (n: number) => Promise<void>): Promise<number> {
  const params = new Params();
  const where: string[] = [];
  if (req.since) where.push(`t.updated_at >= ${params.add(dateRange(req.since, '_since').lo)}`);
  if (req.level === 'group') {
    if (kind.isResident) where.push(await groupPredicate(q, req.groupId!, params, 't'));
    else where.push(`t.${kind.residentColumn} IN (SELECT r.id FROM resident r WHERE ${await groupPredicate(q, req.groupId!, params, 'r')})`);
  }
  const lastP = params.add(0);
  const sql = `SELECT ${kind.select} FROM ${kind.from} WHERE t.id > ${lastP}${where.length ? ' AND ' + where.join(' AND ') : ''} ORDER BY t.id LIMIT ${PAGE}`;
  const lastIndex = Number(lastP.slice(1)) - 1;
  const values = [...params.values];
  const stream = createWriteStream(file);
  stream.on('error', () => {}); // surfaced through write/closeStream (stream.errored)
  let count = 0;
  try {
    for (let last = 0; ;) {
      values[lastIndex] = last;
      const { rows } = await q.query(sql, values);
      if (rows.length === 0) break;
      let text = '';
      for (const row of rows) text += JSON.stringify(kind.toFhir(row)) + '\n';
      await write(stream, text);
      count += rows.length;
      last = rows[rows.length - 1].id;
      await progress(count);
      if (rows.length < PAGE || (await cancelled())) break;
    }
  } finally {
    await closeStream(stream);
  }
  return count;
}

/** Runs an export job to its end: completed with the manifest, failed with the error, or stopped when cancelled. */
export async function runExport(ctx: AppContext, jobId: string, base: string, stop: { stopped: boolean }): Promise<void> {
  const { db } = ctx;
  const job = await getJob(db, jobId);
  if (!job || job.kind !== 'fhir-export' || (job.status !== 'queued' && job.status !== 'running')) return;
  const req = job.request as ExportRequest;
  const dir = jobDir(ctx.config.dataDir, jobId);
  rmSync(dir, { recursive: true, force: true }); // a restarted job starts its files again
  const transactionTime = new Date().toISOString();
  // Only a job still queued (or interrupted while running) starts: a cancel that came in meanwhile wins.
  const started = await db.query(
    `UPDATE job SET status = 'running', started_at = COALESCE(started_at, now()), result = $2::jsonb WHERE id = $1 AND status IN ('queued', 'running') RETURNING id`,
    [jobId, JSON.stringify({ transactionTime, progress: 'started' })],
  );
  if (!started.rows[0]) return;
  mkdirSync(dir, { recursive: true });
  // a cancel removes the files; if it raced with this runner's writes, remove what the runner wrote after it
  const cleanUpIfCancelled = async () => {
    if ((await getJob(db, jobId).catch(() => null))?.status === 'cancelled') rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
  };
  let checks = 0;
  const cancelled = async () => {
    if (stop.stopped) return true;
    if (++checks % 5 !== 0) return false;
    const now = await getJob(db, jobId);
    return now?.status !== 'running';
  };
  try {
    const output: ExportOutput[] = [];
    for (const [i, type] of req.types.entries()) {
      const kind = KINDS.get(type);
      if (!kind) continue; // a kind removed since the kick-off
      const done = output.reduce((n, o) => n + o.count, 0);
      const progress = async (n: number) => {
        if (n % (PAGE * 10) === 0) await setJob(db, jobId, { result: { transactionTime, progress: `${type} (${i + 1}/${req.types.length}): ${done + n} resources` } });
      };
      const count = await exportKind(db, kind, req, join(dir, `${type}.ndjson`), cancelled, progress);
      if (stop.stopped || (await getJob(db, jobId))?.status !== 'running') break;
      if (count > 0) output.push({ type, url: `${base}/$export-file/${jobId}/${type}.ndjson`, count });
      else rmSync(join(dir, `${type}.ndjson`), { force: true });
    }
    const now = await getJob(db, jobId);
    if (stop.stopped || now?.status !== 'running') return await cleanUpIfCancelled(); // cancelled, or shutting down
    const done = await db.query(
      `UPDATE job SET status = 'completed', result = $2::jsonb, finished_at = now() WHERE id = $1 AND status = 'running' RETURNING id`,
      [jobId, JSON.stringify({ transactionTime, request: req.url, requiresAccessToken: true, output, error: [] })],
    );
    if (!done.rows[0]) await cleanUpIfCancelled();
  } catch (err) {
    if (stop.stopped) return;
    if ((await getJob(db, jobId).catch(() => null))?.status !== 'running') return await cleanUpIfCancelled(); // cancelled while writing
    await setJob(db, jobId, { status: 'failed', error: String((err as Error)?.message ?? err).slice(0, 500) }).catch(() => {});
  }
}

/** The completion manifest as the IG defines it; `url`s are absolute for the base the client used. */
export function manifest(result: Json, base: string): Json {
  return {
    transactionTime: result.transactionTime,
    request: result.request,
    requiresAccessToken: true,
    output: (result.output as ExportOutput[]).map((o) => ({ ...o, url: o.url.replace(/^.*?\/\$export-file\//, `${base}/$export-file/`) })),
    error: [],
  };
}
