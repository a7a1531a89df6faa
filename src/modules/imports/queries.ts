// SQL of the import module: the batches (import_batch) and the version probe that tells an update from no change.
import type { Queryable } from '../../db/engine.ts';
import type { ImportKind } from './columns.ts';

export interface BatchInsert {
  institutionId: number;
  userId: number;
  username: string;
  kind: ImportKind;
  format: 'csv' | 'xlsx';
  fileName: string | null;
  total: number;
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
  errors: unknown[];
  header: unknown[];
  failedRows: Buffer | null;
}

export async function insertBatch(q: Queryable, b: BatchInsert): Promise<number> {
  const { rows } = await q.query(
    `INSERT INTO import_batch (institution_id, user_id, username, kind, format, file_name, total, created, updated, unchanged, failed, errors, header, failed_rows)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12::jsonb,$13::jsonb,$14) RETURNING id`,
    [b.institutionId, b.userId, b.username, b.kind, b.format, b.fileName, b.total, b.created, b.updated, b.unchanged, b.failed, JSON.stringify(b.errors), JSON.stringify(b.header), b.failedRows],
  );
  return rows[0].id as number;
}

const BATCH_COLUMNS = `b.id, b.institution_id, i.name AS institution_name, b.user_id, b.username, b.kind, b.format, b.file_name, b.total, b.created, b.updated,
  b.unchanged, b.failed, b.created_at`;

/** `institutionId` null: every institution's batches (district administrators). */
export async function listBatches(q: Queryable, institutionId: number | null, page: number, pageSize: number) {
  const where = institutionId === null ? 'TRUE' : 'b.institution_id = $3';
  const params: unknown[] = [pageSize, (page - 1) * pageSize];
  if (institutionId !== null) params.push(institutionId);
  const [list, total] = await Promise.all([
    q.query(`SELECT ${BATCH_COLUMNS} FROM import_batch b JOIN institution i ON i.id = b.institution_id WHERE ${where} ORDER BY b.created_at DESC, b.id DESC LIMIT $1 OFFSET $2`, params),
    q.query<{ n: number }>(`SELECT count(*)::int AS n FROM import_batch b WHERE ${institutionId === null ? 'TRUE' : 'b.institution_id = $1'}`, institutionId === null ? [] : [institutionId]),
  ]);
  return { rows: list.rows, total: total.rows[0].n };
}

export async function getBatch(q: Queryable, id: number) {
  const { rows } = await q.query(`SELECT ${BATCH_COLUMNS}, b.errors, b.header, b.failed_rows FROM import_batch b JOIN institution i ON i.id = b.institution_id WHERE b.id = $1`, [id]);
  return rows[0] ?? null;
}

export async function institutionCode(q: Queryable, id: number): Promise<string> {
  const { rows } = await q.query('SELECT code FROM institution WHERE id = $1', [id]);
  return rows[0].code as string;
}

/** The current version of a record sent with this identifier, or null when it was never sent. */
export async function versionOf(q: Queryable, table: string, institutionId: number, sourceKey: string): Promise<number | null> {
  // `table` comes from the FHIR kind registry (an allow-list), never from input
  const { rows } = await q.query(`SELECT version FROM ${table} WHERE institution_id = $1 AND source_id = $2`, [institutionId, sourceKey]);
  return rows[0] ? Number(rows[0].version) : null;
}
