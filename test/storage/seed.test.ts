// Seeding through worker threads and concurrent COPY streams, on the configured engine.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { migrate } from '../../src/db/migrate.ts';
import { deriveKeys } from '../../src/platform/crypto.ts';
import { seedDistrict } from '../../src/synth/seed.ts';
import { buildDistrict } from '../../src/synth/district.ts';
import { FEED_CATEGORIES } from '../../src/synth/feeds.ts';
import { profileNamed } from '../../src/synth/profiles.ts';
import { planSurveillance } from '../../src/synth/surveillance.ts';
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

describe('surveillance data of the seeded district', () => {
  const now = new Date('2026-03-18T02:00:00Z'); // 10:00 in Beijing on Wednesday 18 March
  let s: TestDb;
  let seeded: Awaited<ReturnType<typeof seedDistrict>>;
  beforeAll(async () => {
    s = await openTestDb();
    await migrate(s.db);
    seeded = await seedDistrict(s.db, deriveKeys('s'.repeat(40)), { profile: 'test', seed: 5, now });
  });
  afterAll(async () => s?.close());

  test('communities have centroids and a symmetric adjacency', async () => {
    const { rows } = await s.db.query(`SELECT count(*)::int AS n, count(lon)::int AS placed FROM region WHERE level = 'community'`);
    expect(rows[0].n).toBe(6);
    expect(rows[0].placed).toBe(6);
    const asym = await s.db.query(`SELECT count(*)::int AS n FROM region_adjacency a WHERE NOT EXISTS (SELECT 1 FROM region_adjacency b WHERE b.region_id = a.neighbour_id AND b.neighbour_id = a.region_id)`);
    expect(asym.rows[0].n).toBe(0);
    const { rows: deg } = await s.db.query(`SELECT min(n)::int AS lo, max(n)::int AS hi FROM (SELECT count(*) AS n FROM region_adjacency GROUP BY region_id) x`);
    expect(deg[0].lo).toBeGreaterThanOrEqual(2);
  });

  test('feeds cover every category of the schema up to yesterday, exactly as the generator made them', async () => {
    const sv = seeded.surveillance!;
    expect(sv.to).toBe('2026-03-17');
    const { rows: cats } = await s.db.query<{ k: string }>(`SELECT source_code || '/' || code AS k FROM surveillance_category ORDER BY 1`);
    expect(FEED_CATEGORIES.map((c) => `${c.source}/${c.category}`).sort()).toEqual(cats.map((c) => c.k));
    const { rows: present } = await s.db.query<{ k: string }>(`SELECT DISTINCT source_code || '/' || category_code AS k FROM feed_count ORDER BY 1`);
    expect(present.map((c) => c.k)).toEqual(cats.map((c) => c.k));
    const { rows } = await s.db.query(`SELECT count(*)::int AS n, min(on_date)::text AS lo, max(on_date)::text AS hi, sum(value)::float8 AS total, min(value)::float8 AS least,
      count(*) FILTER (WHERE source_code = 'wastewater' AND extract(isodow FROM on_date) NOT IN (1, 4))::int AS off_day_samples FROM feed_count`);
    const plan = planSurveillance(buildDistrict(profileNamed('test'), 5), profileNamed('test'), { seed: 5, now });
    const total = plan.set.series.reduce((sum, x) => sum + x.values.reduce((a, b) => a + b, 0), 0);
    expect(rows[0]).toEqual({ n: sv.feedRows, lo: sv.from, hi: sv.to, total, least: expect.any(Number), off_day_samples: 0 });
    expect(rows[0].least).toBeGreaterThan(0);
    // one reporting institution per community and series
    const { rows: dup } = await s.db.query(`SELECT count(*)::int AS n FROM (SELECT 1 FROM feed_count GROUP BY source_code, category_code, region_id, on_date HAVING count(*) > 1) x`);
    expect(dup[0].n).toBe(0);
  });

  test('the injected outbreak: three adjacent communities, ending before today, above their usual level in several sources', async () => {
    const o = seeded.surveillance!.outbreak;
    expect(o.syndrome).toBe('gastrointestinal');
    expect(o.communityIds).toHaveLength(3);
    expect(o.end < '2026-03-18').toBe(true);
    const [a, b, c] = o.communityIds;
    const { rows: adj } = await s.db.query(`SELECT count(*)::int AS n FROM region_adjacency WHERE (region_id, neighbour_id) IN (($1::bigint, $2::bigint), ($1, $3), ($2, $3))`, [a, b, c]);
    expect(adj[0].n).toBe(3);
    // daily means in the outbreak's communities: the outbreak's window against the weeks before it
    const { rows } = await s.db.query<{ source_code: string; during: number; before: number }>(
      `SELECT source_code, sum(value) FILTER (WHERE on_date BETWEEN $2::date AND $2::date + 12)::float8 / 13 AS during,
              sum(value) FILTER (WHERE on_date BETWEEN $2::date - 56 AND $2::date - 1)::float8 / 56 AS before
         FROM feed_count WHERE region_id = ANY($1::bigint[]) AND category_code IN ('diarrhoea', 'antidiarrhoeal', 'norovirus') GROUP BY source_code ORDER BY source_code`,
      [o.communityIds, o.start],
    );
    const risen = rows.filter((r) => r.during > 2 * r.before);
    expect(risen.map((r) => r.source_code)).toEqual(expect.arrayContaining(['pharmacy', 'sentinel', 'wastewater']));
  });

  test('case reports: none of class A, deadlines from the disease, some late, none reported after today', async () => {
    const { rows } = await s.db.query(`SELECT count(*)::int AS n, count(*) FILTER (WHERE d.class = 'A' OR d.managed_as_a)::int AS class_a,
        count(*) FILTER (WHERE c.late)::int AS late, count(*) FILTER (WHERE c.late <> (c.reported_at > c.deadline_at))::int AS wrong_flag,
        count(*) FILTER (WHERE c.deadline_at <> c.diagnosed_at + make_interval(hours => d.report_hours))::int AS wrong_deadline,
        count(*) FILTER (WHERE c.reported_at > $1::timestamptz)::int AS future
       FROM case_report c JOIN notifiable_disease d ON d.code = c.disease_code`, [now.toISOString()]);
    expect(rows[0]).toMatchObject({ class_a: 0, wrong_flag: 0, wrong_deadline: 0, future: 0 });
    expect(rows[0].n).toBe(seeded.surveillance!.caseReports);
    expect(rows[0].n).toBeGreaterThan(10);
    expect(rows[0].late).toBeLessThan(rows[0].n / 4);
  });

  test('feedDays 0 seeds no surveillance data', async () => {
    const e = await openTestDb();
    try {
      await migrate(e.db);
      const r = await seedDistrict(e.db, deriveKeys('s'.repeat(40)), { profile: 'test', seed: 5, now, feedDays: 0 });
      expect(r.surveillance).toBeNull();
      const { rows } = await e.db.query('SELECT (SELECT count(*) FROM feed_count)::int AS feeds, (SELECT count(*) FROM case_report)::int AS reports');
      expect(rows[0]).toEqual({ feeds: 0, reports: 0 });
    } finally {
      await e.close();
    }
  });
});
