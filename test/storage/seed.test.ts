// Seeding through worker threads and concurrent COPY streams, on the configured engine.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { migrate } from '../../src/db/migrate.ts';
import { deriveKeys } from '../../src/platform/crypto.ts';
import { seedDistrict } from '../../src/synth/seed.ts';
import { openTestDb, type TestDb } from '../helpers/db.ts';

let t: TestDb;
beforeAll(async () => {
  t = await openTestDb();
  await migrate(t.db);
});
afterAll(async () => t?.close());

describe('seeding a district larger than one chunk', () => {
  test('every resident arrives once, with the indexes rebuilt and the sequences past the loaded ids', async () => {
    const progress: number[] = [];
    const r = await seedDistrict(t.db, deriveKeys('s'.repeat(40)), { profile: 'test', seed: 11, residents: 35_000, workers: 2, onProgress: (d) => progress.push(d) });
    expect(r.residents).toBe(35_000);
    const { rows } = await t.db.query(`SELECT count(*)::int AS n, count(DISTINCT id_number_hash)::int AS ids, min(id)::int AS lo, max(id)::int AS hi,
      count(DISTINCT household_id)::int AS households FROM resident`);
    expect(rows[0]).toEqual({ n: 35_000, ids: 35_000, lo: 1, hi: 35_000, households: r.households });
    expect(progress.at(-1)).toBe(35_000);
    const idx = await t.db.query<{ indexname: string }>("SELECT indexname FROM pg_indexes WHERE tablename = 'resident' ORDER BY indexname");
    expect(idx.rows.map((i) => i.indexname)).toEqual(expect.arrayContaining(['resident_id_number_hash_uq', 'resident_community_idx', 'resident_tags_idx', 'resident_name_idx']));
    const next = await t.db.query("INSERT INTO household (grid_id, address) SELECT id, 'x' FROM region WHERE level = 'grid' LIMIT 1 RETURNING id");
    expect(next.rows[0].id).toBe(r.households + 1);
  });
});
