// Referral benchmark on the seeded dongcheng district, against the real server over HTTP:
//   booking   200 concurrent family-doctor clients refer residents upward with a slot, from 50 fresh pools of 100 places,
//             until every place is taken: bookings/s, then counted in the database — no slot with two live appointments,
//             every 201 a referral holding its appointment, no referral left by a failed booking. The raw engine
//             reference books the places of 50 more pools with the essential statements only (lock the slot, mark it
//             busy, insert the appointment) from 200 concurrent loops straight through the Db.
//   worklist  the referral desk's inbox with 100,000 historical referrals (inserted set-based): p50/p99 over HTTP for
//             page 1, a state filter, the overdue filter and a deep page; the raw reference replays the statements the
//             service issues for one call (captured) straight through the Db.
import { performance } from 'node:perf_hooks';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.ts';
import type { Db, Queryable } from '../src/db/engine.ts';
import { openDb } from '../src/db/engine.ts';
import { migrate } from '../src/db/migrate.ts';
import { loadPrincipal } from '../src/platform/principal.ts';
import { listReferrals } from '../src/modules/referral/cases.ts';
import { startServer } from '../src/server.ts';
import { isEmpty, seedDistrict } from '../src/synth/seed.ts';
import type { BookJob, BookSummary, WorklistJob, WorklistSummary } from './referral-load.ts';
import {
  ADMIN_PASSWORD, BENCH_KEYS, BENCH_SECRET, BENCH_SEED, DEMO_PASSWORD, concurrentLoops, createPgDatabase, loginCookie, enginesOf, fmt, loadAverage, loadInChild, log, machine, table, type Engine,
} from './common.ts';

export interface ReferralBenchOptions {
  engine?: string;
  residents?: number;
  connections?: number;
  pools?: number;
  capacity?: number;
  history?: number;
  duration?: number;
  warmup?: number;
}

const LOAD = new URL('./referral-load.ts', import.meta.url);
/** Milliseconds from the child (NaN travels over IPC as null: no successful request). */
const ms = (x: number | null) => (x === null || Number.isNaN(x) ? 'n/a' : x.toFixed(2));

async function countOf(q: Queryable, sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await q.query<{ n: number }>(sql, params);
  return Number(rows[0].n);
}

function localDate(days: number): string {
  return new Date(Date.now() + 8 * 3600_000 + days * 86_400_000).toISOString().slice(0, 10);
}

/** Publishes `pools` sessions of `capacity` places (09:00–17:40, ≥ 5 minutes a place) as the desk; returns their slot ids. */
async function publishPools(base: string, desk: string, pools: number, capacity: number, firstDay: number, department: string): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < pools; i++) {
    const r = await fetch(`${base}/api/v1/slot-pools`, {
      method: 'POST', headers: { cookie: desk, 'content-type': 'application/json' },
      body: JSON.stringify({ department: `${department}${i % 5}`, date: localDate(firstDay + Math.floor(i / 5)), startTime: '08:00', endTime: '17:20', capacity }),
    });
    if (r.status !== 201) throw new Error(`publish: ${r.status} ${await r.text()}`);
    ids.push(...((await r.json()) as { slots: { id: number }[] }).slots.map((s) => s.id));
  }
  return ids;
}

/** 100,000 historical referrals to the desk's hospital from the district's primary-care institutions, set-based. */
async function insertHistory(db: Db, hospital: number, n: number): Promise<void> {
  const ids = await db.query<{ lo: number; hi: number }>('SELECT min(id)::bigint AS lo, max(id)::bigint AS hi FROM resident');
  const { lo, hi } = ids.rows[0];
  await db.query(
    `WITH src AS (
       SELECT g, r.id AS resident_id, c.ids[1 + g % cardinality(c.ids)] AS source,
              now() - make_interval(days => g % 720, mins => g % 1440) AS at,
              CASE WHEN g % 100 = 0 THEN 'requested' WHEN g % 100 = 1 THEN 'accepted' WHEN g % 100 = 2 THEN 'scheduled'
                   WHEN g % 10 < 7 THEN 'closed' WHEN g % 10 = 7 THEN 'cancelled' WHEN g % 10 = 8 THEN 'rejected' ELSE 'expired' END AS state,
              CASE WHEN g % 50 = 0 THEN 'green_channel' WHEN g % 7 = 0 THEN 'urgent' ELSE 'routine' END AS urgency
         FROM generate_series(1, $1::int) g JOIN resident r ON r.id = $2::bigint + (g::bigint * 7919) % ($3::bigint - $2::bigint + 1)
        CROSS JOIN (SELECT array_agg(id ORDER BY id) AS ids FROM institution WHERE type IN ('community_health_centre', 'community_health_station')) c
     ), sr AS (
       INSERT INTO service_request (resident_id, institution_id, status, intent, category, code_system, code, display, authored_at, performer_institution_id, source_id)
       SELECT resident_id, source, CASE WHEN state IN ('requested', 'accepted', 'scheduled') THEN 'active' WHEN state = 'closed' THEN 'completed' ELSE 'revoked' END,
              'order', 'referral', 'http://snomed.info/sct', '3457005', 'Patient referral', at, $4, 'bench-' || g FROM src
       RETURNING id, source_id
     ), t AS (
       INSERT INTO task (resident_id, institution_id, status, intent, priority, code, focus_type, focus_id, owner_institution_id, authored_at, source_id)
       SELECT src.resident_id, src.source, CASE src.state WHEN 'requested' THEN 'requested' WHEN 'accepted' THEN 'accepted' WHEN 'scheduled' THEN 'ready' WHEN 'closed' THEN 'completed'
              WHEN 'cancelled' THEN 'cancelled' WHEN 'rejected' THEN 'rejected' ELSE 'failed' END,
              'order', CASE src.urgency WHEN 'green_channel' THEN 'stat' ELSE src.urgency END, 'referral', 'ServiceRequest', sr.id, $4, src.at, sr.source_id
         FROM src JOIN sr ON sr.source_id = 'bench-' || src.g
       RETURNING id, source_id
     )
     INSERT INTO referral (resident_id, direction, urgency, state, source_institution_id, target_institution_id, target_department, reason, service_request_id, task_id,
                           requested_at, responded_at, completed_at, closed_at, ended_at, due_at, result_summary, source_id)
     SELECT src.resident_id, 'up', src.urgency, src.state, src.source, $4, '心内科', '专科评估', sr.id, t.id, src.at,
            CASE WHEN src.state NOT IN ('requested', 'cancelled', 'expired') THEN src.at + interval '5 hours' END,
            CASE WHEN src.state = 'closed' THEN src.at + interval '10 days' END, CASE WHEN src.state = 'closed' THEN src.at + interval '11 days' END,
            CASE WHEN src.state IN ('cancelled', 'expired') THEN src.at + interval '3 days' END,
            CASE WHEN src.state IN ('requested', 'accepted', 'scheduled') THEN src.at + interval '72 hours' END,
            CASE WHEN src.state = 'closed' THEN '诊疗结果' END, 'bench-' || src.g
       FROM src JOIN sr ON sr.source_id = 'bench-' || src.g JOIN t ON t.source_id = sr.source_id`,
    [n, lo, hi, hospital],
  );
  await db.query('ANALYZE referral');
  await db.query('ANALYZE service_request');
  await db.query('ANALYZE task');
}

/** The statements the service issues for one call, captured, to replay straight through the Db. */
export function recorder(db: Db): { q: Queryable; statements: { sql: string; params: unknown[] }[] } {
  const statements: { sql: string; params: unknown[] }[] = [];
  return {
    statements,
    q: {
      ...db,
      query: (sql: string, params?: unknown[]) => {
        statements.push({ sql, params: params ?? [] });
        return db.query(sql, params);
      },
    } as Queryable,
  };
}

export async function runReferralBench(opts: ReferralBenchOptions): Promise<string> {
  const engines = enginesOf(opts.engine);
  const residents = opts.residents ?? 700_000;
  const connections = opts.connections ?? 200;
  const pools = opts.pools ?? 50;
  const capacity = opts.capacity ?? 100;
  const history = opts.history ?? 100_000;
  const duration = opts.duration ?? 15;
  const warmup = opts.warmup ?? 3;
  const bookingRows: (string | number)[][] = [];
  const worklistRows: (string | number)[][] = [];
  const notes: string[] = [];

  for (const engine of engines) {
    const dataDir = mkdtempSync(join(tmpdir(), 'cg-bench-referral-'));
    const database = engine === 'postgres' ? await createPgDatabase() : null;
    try {
      {
        const db = await openDb({ databaseUrl: database?.url, dataDir });
        await migrate(db);
        if (await isEmpty(db)) {
          log(`${engine}: seeding dongcheng (${fmt.int(residents)} residents)…`);
          await seedDistrict(db, BENCH_KEYS, { profile: 'dongcheng', seed: BENCH_SEED, residents, adminPassword: ADMIN_PASSWORD, demoPassword: DEMO_PASSWORD });
        }
        await db.close();
      }
      const config = loadConfig({
        port: 0, host: '127.0.0.1', dataDir, databaseUrl: database?.url, secret: BENCH_SECRET, adminPassword: ADMIN_PASSWORD, demoPassword: DEMO_PASSWORD,
        firstStartSeed: 'none', logLevel: 'silent', pgPoolSize: 16,
      });
      const started = await startServer(config);
      try {
        const base = await started.app.listen({ port: 0, host: '127.0.0.1' });
        const db = started.ctx.db;
        const desk = await loginCookie(base, 'referral1', DEMO_PASSWORD);
        const hospital = await countOf(db, "SELECT institution_id AS n FROM app_user WHERE username = 'referral1'");
        const doctorNames = (await db.query<{ username: string }>("SELECT username FROM app_user WHERE 'family_doctor' = ANY(roles) ORDER BY id")).rows.map((r) => r.username);
        const doctors = await Promise.all(doctorNames.map(async (username) => ({
          cookie: await loginCookie(base, username, DEMO_PASSWORD),
          residents: (await db.query<{ id: number }>(
            `SELECT r.id FROM resident r JOIN team_grid tg ON tg.grid_id = r.grid_id JOIN app_user u ON u.team_id = tg.team_id
              WHERE u.username = $1 AND r.status = 'active' ORDER BY r.id LIMIT 3000`, [username])).rows.map((r) => Number(r.id)),
        })));

        // ── booking ──
        log(`${engine}: publishing ${pools} pools of ${capacity} places…`);
        const slotIds = await publishPools(base, desk, pools, capacity, 20, '心内科');
        const referralsBefore = await countOf(db, 'SELECT count(*)::int AS n FROM referral');
        log(`${engine}: ${connections} clients booking ${fmt.int(slotIds.length)} places…`);
        const book = await loadInChild<BookJob, BookSummary>(LOAD, { mode: 'book', base, doctors, targetInstitutionId: hospital, slotIds, connections });
        const busy = await countOf(db, "SELECT count(*)::int AS n FROM slot WHERE id = ANY($1::bigint[]) AND status = 'busy'", [slotIds]);
        const free = await countOf(db, "SELECT count(*)::int AS n FROM slot WHERE id = ANY($1::bigint[]) AND status = 'free'", [slotIds]);
        const doubles = await countOf(db, `SELECT count(*)::int AS n FROM (SELECT slot_id FROM appointment WHERE slot_id = ANY($1::bigint[]) AND status = 'booked' GROUP BY slot_id HAVING count(*) > 1) x`, [slotIds]);
        const live = await countOf(db, "SELECT count(*)::int AS n FROM appointment WHERE slot_id = ANY($1::bigint[]) AND status = 'booked'", [slotIds]);
        const held = await countOf(db, `SELECT count(*)::int AS n FROM referral f JOIN appointment a ON a.id = f.appointment_id WHERE f.id = ANY($1::bigint[]) AND a.status = 'booked' AND a.slot_id = ANY($2::bigint[])`, [book.referralIds, slotIds]);
        const created = (await countOf(db, 'SELECT count(*)::int AS n FROM referral')) - referralsBefore;
        const lost = book.booked - held;
        const orphans = created - book.booked;
        if (doubles || lost || orphans || free || book.errors) notes.push(`${engine}: CHECK FAILED — doubles ${doubles}, lost ${lost}, orphans ${orphans}, free ${free}, errors ${book.errors} ${book.errorSamples.join(' · ')}`);

        // raw reference: the essential booking statements from as many loops, on 50 more pools
        const rawSlots = await publishPools(base, desk, pools, capacity, 40, '内分泌科');
        const residentPool = doctors.flatMap((d) => d.residents);
        let next = 0;
        const rawStart = performance.now();
        let rawBooked = 0;
        await Promise.all(Array.from({ length: connections }, async (_, c) => {
          for (let i = next++; i < rawSlots.length; i = next++) {
            const ok = await db.tx(async (q) => {
              const s = await q.query("SELECT id, institution_id, start_at, end_at FROM slot WHERE id = $1 AND status = 'free' FOR UPDATE", [rawSlots[i]]);
              if (!s.rows[0]) return false;
              await q.query("UPDATE slot SET status = 'busy' WHERE id = $1", [rawSlots[i]]);
              await q.query(`INSERT INTO appointment (resident_id, institution_id, slot_id, status, start_at, end_at) VALUES ($1, $2, $3, 'booked', $4, $5)`,
                [residentPool[(i + c) % residentPool.length], s.rows[0].institution_id, rawSlots[i], s.rows[0].start_at, s.rows[0].end_at]);
              return true;
            });
            if (ok) rawBooked++;
          }
        }));
        const rawSeconds = (performance.now() - rawStart) / 1000;
        const perSecond = book.booked / book.seconds;
        const rawPerSecond = rawBooked / rawSeconds;
        bookingRows.push([
          engine, fmt.int(slotIds.length), connections, fmt.s(book.seconds), fmt.int(perSecond), fmt.int(book.conflicts), `${doubles} / ${lost} / ${orphans}`,
          `${ms(book.latency.p50)} / ${ms(book.latency.p99)}`, fmt.int(rawPerSecond), fmt.ratio(rawPerSecond / perSecond),
        ]);
        log(`${engine}: ${fmt.int(perSecond)} bookings/s (raw ${fmt.int(rawPerSecond)}/s); doubles ${doubles}, lost ${lost}, orphans ${orphans}, busy ${busy}/${live}`);

        // ── worklist ──
        log(`${engine}: inserting ${fmt.int(history)} historical referrals…`);
        const t0 = performance.now();
        await insertHistory(db, hospital, history);
        const inbox = await countOf(db, 'SELECT count(*)::int AS n FROM referral WHERE target_institution_id = $1', [hospital]);
        notes.push(`${engine}: the desk's inbox holds ${fmt.int(inbox)} referrals (${fmt.int(history)} historical inserted in ${fmt.s((performance.now() - t0) / 1000)} s)`);
        const paths = ['/api/v1/referrals?box=inbox', '/api/v1/referrals?box=inbox&state=requested,accepted', '/api/v1/referrals?box=inbox&overdue=true', '/api/v1/referrals?box=inbox&page=200'];
        const wl = await loadInChild<WorklistJob, WorklistSummary>(LOAD, { mode: 'worklist', base, cookie: desk, paths, connections: 8, duration, warmup });
        // raw: the statements of one page-1 call, replayed from 8 loops
        const deskUser = await countOf(db, "SELECT id AS n FROM app_user WHERE username = 'referral1'");
        const principal = (await loadPrincipal(db, deskUser))!;
        const rec = recorder(db);
        await listReferrals({ q: rec.q, keys: BENCH_KEYS, principal, audit: { principal }, base: '' }, { box: 'inbox', page: 1, pageSize: 20 });
        const raw = await concurrentLoops(8, Math.min(duration, 10), async () => {
          for (const st of rec.statements) await db.query(st.sql, st.params);
        });
        if (wl.non2xx) log(`${engine}: worklist errors: ${wl.errorSample}`);
        for (const p of wl.perPath) worklistRows.push([engine, p.path.replace('/api/v1/referrals?', ''), fmt.int(p.count), ms(p.p50), ms(p.p99), ms(p.max), '', '']);
        worklistRows.push([engine, 'all four, 8 clients', fmt.int(wl.all.count), ms(wl.all.p50), ms(wl.all.p99), ms(wl.all.max), `${fmt.s(raw.p50)} / ${fmt.s(raw.p99)}`, fmt.ratio(wl.all.p50 / raw.p50)]);
        if (wl.non2xx) notes.push(`${engine}: ${wl.non2xx} worklist responses were not 200, e.g. ${wl.errorSample}`);
      } finally {
        await started.close();
      }
    } finally {
      await database?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  return [
    `Referral benchmark — ${new Date().toISOString().slice(0, 10)} — ${machine()} — dongcheng, ${fmt.int(residents)} residents; load average at the end ${loadAverage()}`,
    '',
    table(['engine', 'places', 'clients', 'seconds', 'bookings/s', '409 SLOT_TAKEN', 'double / lost / orphan', 'latency p50 / p99 ms', 'raw bookings/s', 'raw ÷ server'], bookingRows),
    '',
    table(['engine', 'worklist query (desk inbox)', 'requests', 'p50 ms', 'p99 ms', 'max ms', 'raw statements p50 / p99 ms', 'server ÷ raw (p50)'], worklistRows),
    '',
    ...notes.map((n) => `- ${n}`),
  ].join('\n');
}
