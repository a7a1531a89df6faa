// The seed's family-doctor history: contracts with their care relationships, enrolments of the tagged residents,
// three years of follow-ups at about four a year, each enrolment's tasks, and the live KPI periods computed.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { migrate } from '../../src/db/migrate.ts';
import { deriveKeys } from '../../src/platform/crypto.ts';
import { seedDistrict, type SeedResult } from '../../src/synth/seed.ts';
import { openTestDb, type TestDb } from '../helpers/db.ts';

let t: TestDb;
let r: SeedResult;
const now = new Date('2026-06-15T04:00:00Z');
const one = async (sql: string) => (await t.db.query(sql)).rows[0];

beforeAll(async () => {
  t = await openTestDb();
  await migrate(t.db);
  r = await seedDistrict(t.db, deriveKeys('s'.repeat(40)), { profile: 'test', seed: 5, residents: 4000, feedDays: 0, chronic: true, now });
}, 300_000);
afterAll(async () => t?.close());

describe('seeding contracts, enrolments and follow-ups', () => {
  test('contracts: one in force at most per resident, each with its care relationship over its term', async () => {
    expect(r.chronic!.contracts).toBeGreaterThan(1000);
    expect(await one("SELECT count(*)::int AS n FROM (SELECT resident_id FROM contract WHERE status = 'active' GROUP BY 1 HAVING count(*) > 1) x")).toEqual({ n: 0 });
    expect(await one(`SELECT count(*)::int AS n FROM contract c LEFT JOIN care_relationship cr ON cr.resident_id = c.resident_id AND cr.id = c.care_relationship_id
                       WHERE cr.id IS NULL OR cr.team_id <> c.team_id OR cr.valid_from <> c.start_date OR cr.valid_to <> c.end_date`)).toEqual({ n: 0 });
    // key populations are contracted more often than the rest
    const cov = await one(`SELECT avg((c.id IS NOT NULL)::int) FILTER (WHERE r.birth_date <= '1961-06-15') AS elderly, avg((c.id IS NOT NULL)::int) FILTER (WHERE r.birth_date > '1961-06-15' AND r.tags = '{}') AS other
                             FROM resident r LEFT JOIN contract c ON c.resident_id = r.id AND c.status = 'active'`);
    expect(Number(cov.elderly)).toBeGreaterThan(Number(cov.other) + 0.3);
  });

  test('enrolments of tagged residents, about four follow-ups a year each, ordered, and the open task on the worklist', async () => {
    const e = await one(`SELECT count(*)::int AS n, count(*) FILTER (WHERE NOT r.tags @> ARRAY[e.programme_code])::int AS untagged
                           FROM chronic_enrolment e JOIN resident r ON r.id = e.resident_id`);
    expect(e.n).toBe(r.chronic!.enrolments);
    expect(e.untagged).toBe(0);
    const perYear = await one(`SELECT (count(*)::float8 / count(DISTINCT f.enrolment_id)) AS v FROM chronic_follow_up f
                                WHERE f.visit_at >= '2025-06-15' AND f.visit_at < '2026-06-15'`);
    expect(perYear.v).toBeGreaterThan(3);
    expect(perYear.v).toBeLessThan(6.5);
    expect(await one(`SELECT count(*)::int AS n FROM chronic_follow_up WHERE visit_at >= '2026-06-15T04:00:00Z' OR visit_at < '2023-06-01'`)).toEqual({ n: 0 });
    // each enrolment's next task is an open follow-up (or its first, if never seen), owned as the fusion owns it
    expect(await one(`SELECT count(*)::int AS n FROM chronic_enrolment e JOIN task t ON t.id = e.next_task_id
                       WHERE t.status <> 'requested' OR t.focus_id <> e.id OR t.due_at <> e.next_due_at`)).toEqual({ n: 0 });
    expect(await one('SELECT count(*)::int AS n FROM chronic_enrolment WHERE next_task_id IS NULL')).toEqual({ n: 0 });
  });

  test('sequences continue after the loaded ids; the live KPI periods are computed', async () => {
    const next = await one("SELECT nextval(pg_get_serial_sequence('chronic_follow_up', 'id'))::int AS n, (SELECT max(id)::int FROM chronic_follow_up) AS max");
    expect(next.n).toBe(next.max + 1);
    const periods = (await t.db.query('SELECT period_label FROM chronic_kpi_period ORDER BY 1')).rows.map((x) => x.period_label);
    expect(periods).toEqual(['2025', '2026', '2026-05', '2026-06', '2026-Q1', '2026-Q2']);
    const d = await one("SELECT htn_managed, htn_standardised, follow_ups_due, follow_ups_on_time FROM chronic_kpi WHERE period_label = '2025' AND level = 'district'");
    expect(d.htn_standardised / d.htn_managed).toBeGreaterThan(0.5);
    expect(d.follow_ups_on_time / d.follow_ups_due).toBeGreaterThan(0.5);
  });
});
