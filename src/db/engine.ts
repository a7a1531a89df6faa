// One database interface, two engines: embedded PGlite (PostgreSQL compiled to WASM, the default) and a
// PostgreSQL server over `pg`. Every query in CareGrid goes through `Queryable.query` with `$n` parameters,
// so the same SQL runs on both. Type parsing is aligned so both engines return the same JS values.
import { mkdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';

export type Row = Record<string, any>;
export type CopyChunk = string | Uint8Array;
export interface QueryResult<T = Row> {
  rows: T[];
  rowCount: number;
}
export interface Queryable {
  query<T = Row>(sql: string, params?: unknown[]): Promise<QueryResult<T>>;
  /** Several statements without parameters (migrations, DDL). */
  exec(sql: string): Promise<void>;
}
export interface Db extends Queryable {
  readonly engine: 'pglite' | 'postgres';
  /**
   * Runs fn in one transaction; commits when it resolves, rolls back when it throws. `settings`: configuration
   * parameters for this transaction only (SET LOCAL), sent with BEGIN on PostgreSQL (no round trip of their own).
   */
  tx<T>(fn: (q: Queryable) => Promise<T>, options?: TxOptions): Promise<T>;
  /** Bulk load with COPY … FROM (text format); each chunk is a block of complete lines, as text or UTF-8 bytes. */
  copyFrom(table: string, columns: readonly string[], chunks: Iterable<CopyChunk> | AsyncIterable<CopyChunk>): Promise<void>;
  close(): Promise<void>;
}

export interface TxOptions {
  isolation?: 'read committed' | 'serializable';
  settings?: Readonly<Record<string, string>>;
}

/** SET LOCAL statements for a transaction's settings (names and values checked: they are spliced into SQL). */
export function setLocalSql(settings: Readonly<Record<string, string>> | undefined): string {
  return Object.entries(settings ?? {}).map(([k, v]) => {
    if (!IDENT.test(k) || !/^[A-Za-z0-9_.]+$/.test(v)) throw new Error('tx settings: invalid name or value');
    return `SET LOCAL ${k} = '${v}';`;
  }).join(' ');
}

// OIDs whose default parsing differs between the engines or loses information.
const OID = { int8: 20, numeric: 1700, date: 1082, timestamp: 1114, timestamptz: 1184 } as const;
const int8 = (v: string) => {
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : v;
};
const asText = (v: string) => v;
const toDate = (v: string) => new Date(v.includes('T') || v.includes('+') || v.endsWith('Z') ? v : v.replace(' ', 'T') + 'Z');

const IDENT = /^[a-z_][a-z0-9_]*$/;
function copySql(table: string, columns: readonly string[], source: string): string {
  if (!IDENT.test(table) || !columns.every((c) => IDENT.test(c))) throw new Error('copyFrom: invalid identifier');
  return `COPY ${table} (${columns.join(', ')}) FROM ${source}`;
}

export async function openPglite(dataDir: string | undefined): Promise<Db> {
  const { PGlite, parse, protocol } = await import('@electric-sql/pglite');
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const parsers = {
    [OID.int8]: int8,
    [OID.date]: asText,
    [OID.numeric]: asText,
    [OID.timestamptz]: (v: string) => new Date(v),
    [OID.timestamp]: toDate,
  };
  const pg = await PGlite.create(dataDir ? join(dataDir, 'pglite') : undefined, { parsers, relaxedDurability: false });
  const prepared = preparedStatements(pg as any, parse.parseResults as any, protocol.serialize as any);
  // Inside a transaction PGlite already holds its transaction lock, so statements take only the query lock.
  const wrap = (q: { exec: (s: string) => Promise<unknown> }, inTransaction: boolean): Queryable => ({
    async query<T>(sql: string, params: unknown[] = []) {
      const r = await prepared(sql, params, inTransaction);
      return { rows: r.rows as T[], rowCount: r.affectedRows ?? r.rows.length };
    },
    async exec(sql: string) {
      await q.exec(sql);
    },
  });
  const base = wrap(pg as any, false);
  return {
    engine: 'pglite',
    ...base,
    async tx(fn, options) {
      return pg.transaction(async (t) => {
        if (options?.isolation === 'serializable') await t.query('SET TRANSACTION ISOLATION LEVEL SERIALIZABLE');
        if (options?.settings) await t.exec(setLocalSql(options.settings));
        return fn(wrap(t as any, true));
      });
    },
    async copyFrom(table, columns, chunks) {
      const sql = copySql(table, columns, "'/dev/blob'");
      for await (const chunk of chunks) {
        if (chunk.length === 0) continue;
        await pg.query(sql, [], { blob: new Blob([chunk as BlobPart]) });
      }
    },
    async close() {
      await pg.close();
    },
  };
}

/**
 * Named prepared statements for PGlite. Its `query` sends every statement as the unnamed statement, so PostgreSQL
 * parses and plans it each time — most of a short query's cost. Here each distinct SQL text is parsed once under a
 * name (Parse + Describe), and later runs only Bind + Execute + Sync, with PGlite's own locks, serializers and
 * result parser. SQL-level PREPARE/EXECUTE cannot be used: EXECUTE takes no bind parameters.
 */
function preparedStatements(pg: any, parseResults: (messages: any[], parsers: any) => any[], serialize: any) {
  interface Statement { name: string; paramTypes: number[]; rowDescription: unknown }
  const statements = new Map<string, Statement>();
  const MAX = 2000;
  const options = { syncToFs: false };
  const run = async (sql: string, params: unknown[]) => {
    const messages: any[] = [];
    let st = statements.get(sql);
    try {
      if (!st) {
        const name = statements.size < MAX ? `cg_${statements.size}` : ''; // past the cap: the unnamed statement
        await pg.execProtocol(serialize.parse({ name, text: sql }), options);
        const described = (await pg.execProtocol(serialize.describe({ type: 'S', name }), options)).messages;
        st = {
          name,
          paramTypes: described.find((m: any) => m.name === 'parameterDescription')?.dataTypeIDs ?? [],
          rowDescription: described.find((m: any) => m.name === 'rowDescription') ?? null,
        };
        if (statements.size < MAX) statements.set(sql, st);
      }
      const values = params.map((v, i) => {
        if (v === null || v === undefined) return null;
        const serializer = pg.serializers[st!.paramTypes[i]];
        return serializer ? serializer(v) : String(v);
      });
      messages.push(...(await pg.execProtocol(serialize.bind({ statement: st.name, values }), options)).messages);
      messages.push(...(await pg.execProtocol(serialize.execute({}), options)).messages);
    } finally {
      messages.push(...(await pg.execProtocol(serialize.sync(), options)).messages);
    }
    return parseResults(st!.rowDescription ? [st!.rowDescription, ...messages] : messages, pg.parsers)[0] as { rows: any[]; affectedRows?: number };
  };
  return (sql: string, params: unknown[], inTransaction: boolean) =>
    inTransaction
      ? pg._runExclusiveQuery(() => run(sql, params))
      : pg._runExclusiveTransaction(() => pg._runExclusiveQuery(async () => {
          const r = await run(sql, params);
          await pg.syncToFs();
          return r;
        }));
}

export async function openPostgres(url: string, poolSize = 16): Promise<Db> {
  const pgmod = await import('pg');
  const { Pool, types } = pgmod.default;
  const parsers: Record<number, (v: string) => unknown> = {
    [OID.int8]: int8,
    [OID.date]: asText,
    [OID.numeric]: asText,
    [OID.timestamp]: toDate,
  };
  const getTypeParser = ((oid: number, format?: any) => parsers[oid] ?? types.getTypeParser(oid, format)) as any;
  const pool = new Pool({ connectionString: url, max: poolSize, types: { getTypeParser } });
  pool.on('error', () => {
    /* idle client errors surface on the next query */
  });
  // Named prepared statements: each connection parses and plans a statement once. Without them PostgreSQL spent
  // most of a lookup's CPU planning (about 1 ms of planning for 0.14 ms of execution).
  const wrap = (c: { query: (s: any, p?: unknown[]) => Promise<any> }): Queryable => ({
    async query<T>(sql: string, params: unknown[] = []) {
      const r = await c.query({ name: statementName(sql), text: sql, values: params });
      return { rows: r.rows as T[], rowCount: r.rowCount ?? r.rows.length };
    },
    async exec(sql: string) {
      await c.query(sql);
    },
  });
  const base = wrap(pool);
  return {
    engine: 'postgres',
    ...base,
    async tx(fn, options) {
      const client = await pool.connect();
      try {
        await client.query(`${options?.isolation === 'serializable' ? 'BEGIN ISOLATION LEVEL SERIALIZABLE' : 'BEGIN'}; ${setLocalSql(options?.settings)}`);
        const result = await fn(wrap(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    },
    async copyFrom(table, columns, chunks) {
      const { from } = await import('pg-copy-streams');
      const client = await pool.connect();
      try {
        const stream = client.query(from(copySql(table, columns, 'STDIN')));
        await pipeline(Readable.from(chunks as AsyncIterable<CopyChunk>), stream);
      } finally {
        client.release();
      }
    },
    async close() {
      await pool.end();
    },
  };
}

const statementNames = new Map<string, string>();
function statementName(sql: string): string {
  let name = statementNames.get(sql);
  if (!name) {
    name = 's' + createHash('sha1').update(sql).digest('hex').slice(0, 20);
    if (statementNames.size > 5000) statementNames.clear();
    statementNames.set(sql, name);
  }
  return name;
}

export async function openDb(opts: { databaseUrl?: string; dataDir?: string; memory?: boolean; poolSize?: number; pgliteThread?: boolean }): Promise<Db> {
  if (opts.databaseUrl) return openPostgres(opts.databaseUrl, opts.poolSize);
  const dataDir = opts.memory ? undefined : opts.dataDir;
  if (opts.pgliteThread === false) return openPglite(dataDir);
  const { openPgliteThread } = await import('./pglite-thread.ts');
  return openPgliteThread(dataDir);
}

/** Escapes one value for COPY text format. */
export function copyValue(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  if (v instanceof Uint8Array) return '\\\\x' + Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex'); // a view, not a copy
  if (Array.isArray(v)) return copyValue('{' + v.map((x) => '"' + String(x).replace(/(["\\])/g, '\\$1') + '"').join(',') + '}');
  if (v instanceof Date) return v.toISOString();
  const s = String(v);
  return /[\\\t\n\r]/.test(s) ? s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r') : s;
}

const RETRYABLE = new Set(['40001', '40P01', '23505']);

/**
 * Re-runs a transaction that lost a race: a serialization failure, a deadlock, or a unique violation from a concurrent
 * insert of the same key (the retry then sees the committed row and takes the "already exists" path).
 */
export async function withRetry<T>(fn: () => Promise<T>, attempts = 4): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      const code = (err as { code?: string } | null)?.code;
      if (i >= attempts || !code || !RETRYABLE.has(code)) throw err;
      await new Promise((r) => setTimeout(r, 5 * i + Math.random() * 10));
    }
  }
}
