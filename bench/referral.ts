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
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
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
import type { BookJob, BookSummary, ScheduleJob, ScheduleSummary, WorklistJob, WorklistSummary } from './referral-load.ts';
import {
  ADMIN_PASSWORD, BENCH_KEYS, BENCH_SECRET, BENCH_SEED, DEMO_PASSWORD, concurrentLoops, createPgDatabase, seededDb, loginCookie, enginesOf, fmt, loadAverage, loadInChild, log, machine, table, type Engine,
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
  /** booking (both booking operations and the raw reference) or worklist; default both */
  only?: string;
  /** PostgreSQL: server processes (`caregrid serve --workers N` in a child process); 1 runs the server in this process */
  workers?: number;
  /** PostgreSQL connections per server process (default 16) */
  pgPoolSize?: number;
  /** PostgreSQL: start from a copy of the kept seeded database (seededDb) instead of seeding */
  seedCache?: boolean;
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

/**
 * The server under test: in this process (one server process, as `caregrid serve`), or `caregrid serve --workers N`
 * as a child process with a pool of this process's own for the counts and the raw reference.
 */
async function startBenchServer(settings: Record<string, unknown> & { workers: number; databaseUrl?: string }): Promise<{ base: string; db: Db; close(): Promise<void> }> {
  if (settings.workers === 1) {
    const started = await startServer(loadConfig(settings));
    const base = await started.app.listen({ port: 0, host: '127.0.0.1' });
    return { base, db: started.ctx.db, close: () => started.close() };
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env, DATABASE_URL: settings.databaseUrl, CAREGRID_DATA_DIR: settings.dataDir as string, CAREGRID_SECRET: BENCH_SECRET,
    CAREGRID_ADMIN_PASSWORD: ADMIN_PASSWORD, CAREGRID_DEMO_PASSWORD: DEMO_PASSWORD, CAREGRID_FIRST_START_SEED: 'none', LOG_LEVEL: 'silent',
    CAREGRID_PG_POOL_SIZE: String(settings.pgPoolSize), CAREGRID_SURVEILLANCE_RUN_HOUR: 'off', PORT: '0', HOST: '127.0.0.1',
  };
  const child = spawn(process.execPath, [fileURLToPath(new URL('../src/main.ts', import.meta.url)), 'serve', '--workers', String(settings.workers)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const base = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c) => {
      out += c;
      const m = /running on [^:]+: (http:\/\/[^/]+)\//.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`caregrid serve exited with ${code}: ${out}`)));
  });
  const db = await openDb({ databaseUrl: settings.databaseUrl, poolSize: settings.pgPoolSize as number });
  return {
    base, db,
    async close() {
      await db.close();
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

interface BookingCounts {
  /** slots with two live appointments */
  doubles: number;
  /** successful bookings whose referral does not hold a live appointment on that slot (plus, for existing referrals, referrals changed by failed bookings) */
  lost: number;
  /** live appointments on these slots that no successful booking's referral holds */
  orphans: number;
  free: number;
}

/** Counts in the database what the clients were told: `booked` is [referral, slot] of each success (slot null: the referral's own). */
async function bookingCounts(db: Db, slotIds: number[], booked: [number, number | null][]): Promise<BookingCounts> {
  const free = await countOf(db, "SELECT count(*)::int AS n FROM slot WHERE id = ANY($1::bigint[]) AND status = 'free'", [slotIds]);
  const doubles = await countOf(db, `SELECT count(*)::int AS n FROM (SELECT slot_id FROM appointment WHERE slot_id = ANY($1::bigint[]) AND status = 'booked' GROUP BY slot_id HAVING count(*) > 1) x`, [slotIds]);
  const live = await countOf(db, "SELECT count(*)::int AS n FROM appointment WHERE slot_id = ANY($1::bigint[]) AND status = 'booked'", [slotIds]);
  const held = await countOf(db,
    `SELECT count(*)::int AS n FROM unnest($1::bigint[], $2::bigint[]) AS x(referral_id, slot_id)
       JOIN referral f ON f.id = x.referral_id JOIN appointment a ON a.id = f.appointment_id
      WHERE a.status = 'booked' AND a.slot_id = ANY($3::bigint[]) AND (x.slot_id IS NULL OR a.slot_id = x.slot_id)`,
    [booked.map(([r]) => r), booked.map(([, s]) => s), slotIds]);
  return { doubles, lost: booked.length - held, orphans: live - held, free };
}

function check(notes: string[], engine: string, what: string, c: BookingCounts, orphanReferrals: number, run: { errors: number; errorSamples: string[] }) {
  if (c.doubles || c.lost || c.orphans || orphanReferrals || c.free || run.errors) {
    notes.push(`${engine} ${what}: CHECK FAILED — doubles ${c.doubles}, lost ${c.lost}, orphans ${c.orphans + orphanReferrals}, free ${c.free}, errors ${run.errors} ${run.errorSamples.join(' · ')}`);
  }
}

/** `n` open upward referrals without a slot, spread over the doctors (each on their own residents), created through the API. */
async function createOpenReferrals(base: string, doctors: { cookie: string; residents: number[] }[], hospital: number, n: number): Promise<number[][]> {
  const out = doctors.map(() => [] as number[]);
  let next = 0;
  await Promise.all(Array.from({ length: 32 }, async () => {
    for (let i = next++; i < n; i = next++) {
      const d = i % doctors.length;
      const doctor = doctors[d];
      const r = await fetch(`${base}/api/v1/referrals`, {
        method: 'POST', headers: { cookie: doctor.cookie, 'content-type': 'application/json' },
        body: JSON.stringify({ direction: 'up', residentId: doctor.residents[Math.floor(i / doctors.length) % doctor.residents.length], targetInstitutionId: hospital, targetDepartment: '神经内科', reason: '专科评估 (benchmark)' }),
      });
      if (r.status !== 201) throw new Error(`referral: ${r.status} ${await r.text()}`);
      out[d].push(((await r.json()) as { id: number }).id);
    }
  }));
  return out;
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

/**
 * ANALYZE after the untimed set-up, before each timed phase. A production server runs autovacuum, which analyzes a
 * table once a tenth of it has changed; the benchmark's PostgreSQL runs without it (autovacuum = off), so the tables the
 * set-up fills (the pools' slots, the 5,500 open referrals with their tasks, orders, events, audit records,
 * notifications) would keep the statistics of the seed's final ANALYZE — empty — and the server's generic plans and
 * foreign-key checks, planned for an empty table, scan `referral` sequentially for every booking (measured: one scan of
 * ~4,000 rows per request in (b) on the 700,000-resident database). `BENCH_REFERRAL_ANALYZE=0` leaves it out.
 */
async function analyzeSetUp(db: Db): Promise<void> {
  if (process.env.BENCH_REFERRAL_ANALYZE === '0') return;
  const t0 = performance.now();
  await db.query('ANALYZE');
  log(`ANALYZE after the set-up: ${fmt.s((performance.now() - t0) / 1000)} s (untimed)`);
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
  const only = opts.only;
  const workers = opts.workers ?? 1;
  const pgPoolSize = opts.pgPoolSize ?? 16;
  if (only !== undefined && only !== 'booking' && only !== 'worklist') throw new Error(`--only must be booking or worklist (got ${only})`);
  const bookingRows: (string | number)[][] = [];
  const worklistRows: (string | number)[][] = [];
  const notes: string[] = [];

  for (const engine of engines) {
    const dataDir = mkdtempSync(join(tmpdir(), 'cg-bench-referral-'));
    const seed = (db: Db) => seedDistrict(db, BENCH_KEYS, { profile: 'dongcheng', seed: BENCH_SEED, residents, adminPassword: ADMIN_PASSWORD, demoPassword: DEMO_PASSWORD });
    // --seed-cache (PostgreSQL): a copy of the kept seed, the same template as the bulk-import bench's
    const cached = engine === 'postgres' && opts.seedCache ? await seededDb(engine, `bulk_${residents}`, seed) : null;
    const database = cached ? { url: cached.databaseUrl, drop: () => cached.dispose() } : engine === 'postgres' ? await createPgDatabase() : null;
    try {
      if (cached) await cached.db.close();
      else {
        const db = await openDb({ databaseUrl: database?.url, dataDir });
        await migrate(db);
        if (await isEmpty(db)) {
          log(`${engine}: seeding dongcheng (${fmt.int(residents)} residents)…`);
          await seed(db);
        }
        await db.close();
      }
      // the daily detection run is off: it would start computing at the server's start, in the middle of the bookings
      const settings = {
        port: 0, host: '127.0.0.1', dataDir, databaseUrl: database?.url, secret: BENCH_SECRET, adminPassword: ADMIN_PASSWORD, demoPassword: DEMO_PASSWORD,
        firstStartSeed: 'none', logLevel: 'silent', pgPoolSize, surveillanceRunHour: 'off', workers: engine === 'postgres' ? workers : 1,
      } as const;
      const started = await startBenchServer(settings);
      try {
        const { base, db } = started;
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
        if (only !== 'worklist') {
          // (b)'s open referrals are created first (untimed), so that (a) does not start on an empty referral table —
          // planned as empty, its lookups and foreign-key checks scan the table while it grows (autovacuum is off)
          const schedSlots = await publishPools(base, desk, pools, capacity, 60, '神经内科');
          const open = await createOpenReferrals(base, doctors, hospital, Math.ceil(schedSlots.length * 1.1));
          // (a) a referral created with its booking in one request
          log(`${engine}: publishing ${pools} pools of ${capacity} places…`);
          const slotIds = await publishPools(base, desk, pools, capacity, 20, '心内科');
          await analyzeSetUp(db);
          const referralsBefore = await countOf(db, 'SELECT count(*)::int AS n FROM referral');
          log(`${engine}: ${connections} clients creating referrals with a booking for ${fmt.int(slotIds.length)} places…`);
          const book = await loadInChild<BookJob, BookSummary>(LOAD, { mode: 'book', base, doctors, targetInstitutionId: hospital, slotIds, connections });
          const a = await bookingCounts(db, slotIds, book.referralIds.map((id) => [id, null]));
          const created = (await countOf(db, 'SELECT count(*)::int AS n FROM referral')) - referralsBefore;
          const orphanReferrals = created - book.booked;
          check(notes, engine, 'create + book', a, orphanReferrals, book);

          // (b) booking a slot for referrals that already exist
          await analyzeSetUp(db);
          log(`${engine}: ${connections} clients booking ${fmt.int(schedSlots.length)} places for ${fmt.int(open.reduce((n, d) => n + d.length, 0))} existing referrals…`);
          const sched = await loadInChild<ScheduleJob, ScheduleSummary>(LOAD, {
            mode: 'schedule', base, doctors: doctors.map((d, i) => ({ cookie: d.cookie, referrals: open[i] })), slotIds: schedSlots, connections,
          });
          const b = await bookingCounts(db, schedSlots, sched.pairs);
          // a referral none of whose bookings succeeded is exactly as it was created
          const bookedIds = new Set(sched.pairs.map(([r]) => r));
          const untouched = open.flat().filter((id) => !bookedIds.has(id));
          const changed = await countOf(db, `SELECT count(*)::int AS n FROM referral f WHERE f.id = ANY($1::bigint[])
              AND (f.version <> 1 OR f.appointment_id IS NOT NULL OR f.state <> 'requested' OR (SELECT count(*) FROM referral_event e WHERE e.referral_id = f.id) <> 1)`, [untouched]);
          b.lost += changed;
          check(notes, engine, 'book for existing', b, 0, sched);

          // raw reference: the essential booking statements from as many loops, on 50 more pools
          const rawSlots = await publishPools(base, desk, pools, capacity, 40, '内分泌科');
          await analyzeSetUp(db);
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
          const rawPerSecond = rawBooked / rawSeconds;
          for (const [operation, run, counts, orphans] of [
            ['create referral + book (POST /referrals {slotId})', book, a, a.orphans + orphanReferrals],
            ['book for an existing referral (POST /referrals/{id}/schedule)', sched, b, b.orphans],
          ] as const) {
            const perSecond = run.booked / run.seconds;
            bookingRows.push([
              engine, operation, fmt.int(slotIds.length), connections, fmt.s(run.seconds), fmt.int(perSecond), fmt.int(run.conflicts), `${counts.doubles} / ${counts.lost} / ${orphans}`,
              `${ms(run.latency.p50)} / ${ms(run.latency.p99)}`, fmt.int(rawPerSecond), fmt.ratio(rawPerSecond / perSecond),
            ]);
            log(`${engine}: ${operation}: ${fmt.int(perSecond)} bookings/s (raw ${fmt.int(rawPerSecond)}/s); doubles ${counts.doubles}, lost ${counts.lost}, orphans ${orphans}, free ${counts.free}`);
          }
        }

        // ── worklist ──
        if (only === 'booking') continue;
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
    `Referral benchmark — ${new Date().toISOString().slice(0, 10)} — ${machine()} — dongcheng, ${fmt.int(residents)} residents; PostgreSQL server: ${workers > 1 ? `caregrid serve --workers ${workers}` : 'one process'}, ${pgPoolSize} connections per process; load average at the end ${loadAverage()}`,
    '',
    ...(bookingRows.length ? [table(['engine', 'booking', 'places', 'clients', 'seconds', 'bookings/s', '409 SLOT_TAKEN', 'double / lost / orphan', 'latency p50 / p99 ms', 'raw bookings/s', 'raw ÷ server'], bookingRows), ''] : []),
    ...(worklistRows.length ? [table(['engine', 'worklist query (desk inbox)', 'requests', 'p50 ms', 'p99 ms', 'max ms', 'raw statements p50 / p99 ms', 'server ÷ raw (p50)'], worklistRows)] : []),
    '',
    ...notes.map((n) => `- ${n}`),
  ].join('\n');
}
