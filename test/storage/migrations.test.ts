// The migration runner on the configured engine (PGlite in memory, or a fresh PostgreSQL database under DATABASE_URL).
import { afterEach, describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate, readMigrations } from '../../src/db/migrate.ts';
import { openTestDb, type TestDb } from '../helpers/db.ts';

let t: TestDb | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await t?.close();
  t = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function dirWith(files: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'cg-mig-'));
  dirs.push(dir);
  for (const [name, sql] of Object.entries(files)) writeFileSync(join(dir, name), sql);
  return dir;
}

describe('migrations', () => {
  test('apply once, in order, and are recorded', async () => {
    t = await openTestDb();
    const first = await migrate(t.db);
    expect(first.applied).toEqual(readMigrations().map((m) => m.version));
    expect((await migrate(t.db)).applied).toEqual([]);
    const { rows } = await t.db.query('SELECT version, name FROM schema_migration ORDER BY version');
    expect(rows[0]).toEqual({ version: 1, name: 'foundation' });
  });

  test('refuse duplicate versions and badly named files', () => {
    expect(() => readMigrations(dirWith({ '0001_a.sql': 'SELECT 1', '0001_b.sql': 'SELECT 1' }))).toThrow(/duplicate migration version 1/);
    expect(() => readMigrations(dirWith({ '1_a.sql': 'SELECT 1' }))).toThrow(/NNNN_name.sql/);
  });

  test('refuse a migration edited after it was applied', async () => {
    t = await openTestDb();
    await migrate(t.db, readMigrations(dirWith({ '0001_a.sql': 'CREATE TABLE a (x int)' })));
    await expect(migrate(t.db, readMigrations(dirWith({ '0001_a.sql': 'CREATE TABLE a (x bigint)' })))).rejects.toThrow(/was edited/);
  });

  test('a failing migration leaves nothing behind', async () => {
    t = await openTestDb();
    const dir = dirWith({ '0001_a.sql': 'CREATE TABLE a (x int)', '0002_b.sql': 'CREATE TABLE b (x int); SELECT no_such_function();' });
    await expect(migrate(t.db, readMigrations(dir))).rejects.toThrow();
    const { rows } = await t.db.query("SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name IN ('a', 'b')");
    expect(rows[0].n).toBe(0);
  });
});
