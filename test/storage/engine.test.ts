// The Db interface behaves the same on every engine: PGlite on its thread, in-process PGlite, PostgreSQL.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openDb, type Db } from '../../src/db/engine.ts';
import { openTestDb, type TestDb } from '../helpers/db.ts';

const engines: [string, () => Promise<{ db: Db; close(): Promise<void> }>][] = [
  ['configured engine', openTestDb],
  ...(process.env.DATABASE_URL ? [] : [['in-process PGlite', async () => {
    const db = await openDb({ memory: true, pgliteThread: false });
    return { db, close: () => db.close() };
  }] as [string, () => Promise<TestDb>]]),
];

describe.each(engines)('%s', (_, open) => {
  let t: { db: Db; close(): Promise<void> };
  beforeAll(async () => {
    t = await open();
    await t.db.exec('CREATE TABLE kv (k text PRIMARY KEY, v bigint, b bytea, d date, at timestamptz, tags text[])');
  });
  afterAll(async () => t?.close());

  test('values round-trip with the same JS types', async () => {
    const at = new Date('2026-11-24T08:00:00.000Z');
    await t.db.query('INSERT INTO kv VALUES ($1, $2, $3, $4, $5, $6)', ['a', 42, Buffer.from([1, 2, 255]), '2026-02-03', at, ['x', 'y']]);
    const { rows } = await t.db.query('SELECT * FROM kv WHERE k = $1', ['a']);
    expect(rows[0].v).toBe(42);
    expect(Buffer.from(rows[0].b)).toEqual(Buffer.from([1, 2, 255]));
    expect(rows[0].d).toBe('2026-02-03');
    expect(new Date(rows[0].at).toISOString()).toBe(at.toISOString());
    expect(rows[0].tags).toEqual(['x', 'y']);
  });

  test('a transaction that throws leaves nothing behind; errors keep their SQLSTATE', async () => {
    await expect(t.db.tx(async (q) => {
      await q.query('INSERT INTO kv (k, v) VALUES ($1, $2)', ['b', 1]);
      throw new Error('changed my mind');
    })).rejects.toThrow('changed my mind');
    expect((await t.db.query('SELECT count(*)::int AS n FROM kv WHERE k = $1', ['b'])).rows[0].n).toBe(0);
    const dup = await t.db.query('INSERT INTO kv (k) VALUES ($1)', ['a']).catch((e) => e);
    expect(dup.code).toBe('23505');
    await expect(t.db.tx(async (q) => q.query('INSERT INTO kv (k) VALUES ($1)', ['a']))).rejects.toMatchObject({ code: '23505' });
  });

  test('a transaction\'s settings hold inside it only; a bad name or value is refused before anything runs', async () => {
    const inside = await t.db.tx(async (q) => (await q.query("SELECT current_setting('enable_hashjoin') AS h, current_setting('jit') AS j")).rows[0], { settings: { enable_hashjoin: 'off', jit: 'off' } });
    expect(inside).toEqual({ h: 'off', j: 'off' });
    // the same connection (or PGlite's only one) is back to its defaults after the transaction
    for (let i = 0; i < 3; i++) expect((await t.db.query("SELECT current_setting('enable_hashjoin') AS h")).rows[0].h).toBe('on');
    await expect(t.db.tx(async () => 1, { settings: { "enable_hashjoin = off; DROP TABLE kv; --": 'off' } })).rejects.toThrow('invalid');
    await expect(t.db.tx(async () => 1, { settings: { enable_hashjoin: "off'; DROP TABLE kv; --" } })).rejects.toThrow('invalid');
    expect((await t.db.query('SELECT count(*)::int AS n FROM kv')).rows[0].n).toBeGreaterThan(0);
  });

  test('a statement outside a transaction never sees or joins its uncommitted work', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const tx = t.db.tx(async (q) => {
      await q.query('INSERT INTO kv (k, v) VALUES ($1, $2)', ['c', 7]);
      await gate;
      throw new Error('roll back');
    });
    await new Promise((r) => setTimeout(r, 50));
    const outside = t.db.query('SELECT count(*)::int AS n FROM kv WHERE k = $1', ['c']);
    release();
    await expect(tx).rejects.toThrow('roll back');
    expect((await outside).rows[0].n).toBe(0);
    expect((await t.db.query('SELECT count(*)::int AS n FROM kv WHERE k = $1', ['c'])).rows[0].n).toBe(0);
  });

  test('COPY loads text-format chunks', async () => {
    await t.db.copyFrom('kv', ['k', 'v', 'tags'], ['d\t1\t{p}\n', 'e\t2\t\\N\n']);
    const { rows } = await t.db.query("SELECT k, v, tags FROM kv WHERE k IN ('d', 'e') ORDER BY k");
    expect(rows).toEqual([{ k: 'd', v: 1, tags: ['p'] }, { k: 'e', v: 2, tags: null }]);
  });
});
