// withoutSecondaryIndexes: the load runs without the tables' secondary indexes and foreign keys, and afterwards the
// catalogue is exactly what the migrations made (on PGlite, or on PostgreSQL when DATABASE_URL is set).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { migrate } from '../db/migrate.ts';
import type { Queryable } from '../db/engine.ts';
import { openTestDb, type TestDb } from '../../test/helpers/db.ts';
import { withoutSecondaryIndexes } from './seed.ts';

let t: TestDb;
beforeAll(async () => {
  t = await openTestDb();
  await migrate(t.db);
});
afterAll(async () => t?.close());

const catalogue = async (q: Queryable) => {
  const indexes = await q.query(`SELECT tablename, indexname, indexdef FROM pg_indexes WHERE tablename IN ('household', 'resident') ORDER BY indexname`);
  const constraints = await q.query(`SELECT conrelid::regclass::text AS tbl, conname, contype, pg_get_constraintdef(oid) AS def FROM pg_constraint
    WHERE conrelid IN ('household'::regclass, 'resident'::regclass) ORDER BY conname`);
  return { indexes: indexes.rows, constraints: constraints.rows };
};

describe('bulk load without secondary indexes and foreign keys', () => {
  test('drops them for the load, then rebuilds the same indexes and foreign keys, validated', async () => {
    const before = await catalogue(t.db);
    expect(before.constraints.some((c) => c.conname === 'household_grid_id_fkey' && c.contype === 'f')).toBe(true);
    await t.db.query("INSERT INTO region (id, code, name, level) VALUES (1, '110101', '东城区', 'district')");
    await withoutSecondaryIndexes(t.db, ['household', 'resident'], async () => {
      const during = await catalogue(t.db);
      expect(during.indexes.map((i) => i.indexname).sort()).toEqual(['household_pkey', 'resident_pkey']);
      expect(during.constraints.filter((c) => c.contype === 'f')).toEqual([]);
      await t.db.copyFrom('household', ['id', 'grid_id', 'address'], ['1\t1\tA\n2\t1\tB\n']);
    });
    expect(await catalogue(t.db)).toEqual(before);
    // the foreign key is in force again
    await expect(t.db.query("INSERT INTO household (id, grid_id, address) VALUES (3, 999, 'x')")).rejects.toThrow(/foreign key/);
  });

  test('a load that breaks a foreign key fails when the key is restored', async () => {
    await expect(withoutSecondaryIndexes(t.db, ['household'], () => t.db.copyFrom('household', ['id', 'grid_id', 'address'], ['10\t999\tC\n']))).rejects.toThrow(/foreign key/);
  });
});
