// Bulk data jobs (FHIR Bulk Data Access IG v2, https://hl7.org/fhir/uv/bulkdata/): rows of the `job` table, so a
// restart keeps every kick-off's state, and their files under <dataDir>/exports/<job id>/.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Queryable, Row } from '../../db/engine.ts';
import { AppError } from '../../platform/errors.ts';
import type { Json } from '../datatypes.ts';
import { KINDS } from '../registry.ts';
import type { ResourceKind } from '../types.ts';

export type JobKind = 'fhir-export' | 'fhir-import';
export type JobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

export interface JobRow {
  id: string;
  kind: JobKind;
  status: JobStatus;
  user_id: number | null;
  request: Json;
  result: Json | null;
  error: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

export function jobDir(dataDir: string, jobId: string): string {
  return join(dataDir, 'exports', jobId);
}

export async function createJob(q: Queryable, kind: JobKind, userId: number | null, request: Json, status: JobStatus = 'queued'): Promise<string> {
  const id = randomUUID();
  await q.query(
    `INSERT INTO job (id, kind, status, user_id, request, started_at) VALUES ($1, $2, $3, $4, $5::jsonb, CASE WHEN $3 = 'running' THEN now() END)`,
    [id, kind, status, userId, JSON.stringify(request)],
  );
  return id;
}

export async function getJob(q: Queryable, id: string): Promise<JobRow | null> {
  if (!/^[0-9a-f-]{36}$/.test(id)) return null;
  const { rows } = await q.query<JobRow>('SELECT * FROM job WHERE id = $1', [id]);
  return rows[0] ?? null;
}

/** A job is its requester's: anyone else is told it does not exist (the Bulk Data IG's "only the client that asked"). */
export async function ownJob(q: Queryable, id: string, kind: JobKind, userId: number): Promise<JobRow> {
  const job = await getJob(q, id);
  if (!job || job.kind !== kind || job.user_id !== userId) throw new AppError('NOT_FOUND', { noun: 'job' });
  return job;
}

export async function setJob(q: Queryable, id: string, patch: { status?: JobStatus; result?: Json | null; error?: string | null }): Promise<void> {
  await q.query(
    `UPDATE job SET status = COALESCE($2, status), result = COALESCE($3::jsonb, result), error = COALESCE($4, error),
            started_at = CASE WHEN $2 = 'running' THEN COALESCE(started_at, now()) ELSE started_at END,
            finished_at = CASE WHEN $2 IN ('completed', 'failed', 'cancelled') THEN now() ELSE finished_at END
      WHERE id = $1`,
    [id, patch.status ?? null, patch.result === undefined || patch.result === null ? null : JSON.stringify(patch.result), patch.error ?? null],
  );
}

/** The id a sender gave a resource without an identifier, kept as its idempotency key under the importing institution. */
export function importSourceId(type: string, senderId: string): string {
  return `urn:caregrid:import:${type}|${senderId}`;
}

/**
 * Kinds in the order their resources can be written: custom kinds (Patient, registry resources) first, then the
 * table-backed ones with every kind after the kinds it refers to (from each kind's `include` targets), so an
 * Observation follows the Encounter it belongs to. Generic over KINDS: kinds added later sort themselves in.
 */
export function writeOrder(kinds: ResourceKind[] = [...KINDS.values()]): ResourceKind[] {
  const custom = kinds.filter((k) => !k.toRow);
  const table = kinds.filter((k) => k.toRow);
  const out: ResourceKind[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (k: ResourceKind) => {
    if (state.get(k.type)) return; // done, or a cycle: keep the order reached so far
    state.set(k.type, 'visiting');
    for (const inc of Object.values(k.include ?? {})) {
      const dep = table.find((t) => t.type === inc.target && t !== k);
      if (dep) visit(dep);
    }
    state.set(k.type, 'done');
    out.push(k);
  };
  table.forEach(visit);
  return [...custom, ...out];
}

export function rank(type: string): number {
  const i = writeOrder().findIndex((k) => k.type === type);
  return i < 0 ? Number.MAX_SAFE_INTEGER : i;
}

export type { Row };
