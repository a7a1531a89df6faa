// Lookup benchmark: GET /api/v1/residents?idNumber=… over HTTP against the real server (startServer, auditing on) on a
// seeded dongcheng district, plus the raw engine reference: the server's own statement(s) for the lookup (captured from
// the service: since e271973 the SELECT and its audit INSERT are one data-modifying CTE) and the two-statement shape
// (SELECT, then the audit INSERT), both issued straight through the Db by 32 concurrent loops.
//
// Identity numbers: the benchmark owns the master secret (BENCH_SECRET, passed to the server as config.secret), so it
// samples 2,000 residents spread over the whole table directly from the database and decrypts their id_number_enc
// with the same keys. That needs neither the reveal-id API (which would add 2,000 audited reveals and transactions
// before the measurement) nor a replay of the generator (whose output only carries ciphertext and hashes anyway).
//
// The load generator (autocannon) runs in a child process (bench/load.ts), so on a 2-core machine it competes with the
// server only for CPU time, not for the server's event loop.
import { performance } from 'node:perf_hooks';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.ts';
import { openDb, openPostgres, type Db, type Queryable } from '../src/db/engine.ts';
import { migrate } from '../src/db/migrate.ts';
import { decryptField, lookupHash, type Keys } from '../src/platform/crypto.ts';
import { auditResidents, type AuditContext } from '../src/platform/audit.ts';
import { loadPrincipal, type Principal } from '../src/platform/principal.ts';
import * as residentService from '../src/modules/residents/service.ts';
import { startServer } from '../src/server.ts';
import { Rng } from '../src/synth/random.ts';
import { isEmpty, seedDistrict } from '../src/synth/seed.ts';
import type { LoadJob, LoadSummary } from './load.ts';
import {
  ADMIN_PASSWORD, BENCH_KEYS, BENCH_SECRET, BENCH_SEED, DEMO_PASSWORD, concurrentLoops, cpuShares, loginCookie, cpuSnapshot, createPgDatabase, loadInChild as forkLoad, enginesOf, fmt, loadAverage, log, machine, table, type Engine,
} from './common.ts';

export interface LookupBenchOptions {
  engine?: string;
  residents?: number;
  dataDir?: string;
  databaseUrl?: string;
  connections?: number;
  duration?: number;
  warmup?: number;
  rawDuration?: number;
  ids?: number;
  adminPassword?: string;
}

interface LookupResult {
  engine: Engine;
  residents: number;
  seededSeconds: number | null;
  http: LoadSummary;
  serverCpuPercent: number;
  serverEventLoopUtilization: number;
  /** cores used during the measured HTTP run, by process group (from /proc) */
  cpu: ReturnType<typeof cpuShares>;
  auditGrowth: number;
  /** raw reference replaying the server's own statement(s) */
  raw: RawResult;
  /** raw reference with the SELECT and the audit INSERT as two statements */
  raw2: RawResult;
  rawStatements: number;
}

interface RawResult {
  label: string;
  seconds: number;
  lookups: number;
  perSecond: number;
  p50: number;
  p99: number;
  auditGrowth: number;
  cpu: ReturnType<typeof cpuShares>;
}

const CAPTURE_REQUEST_ID = 'bench-capture-request';

/** Runs searchResidents against a recording Queryable to get the exact statement(s) the server issues for a lookup. */
async function captureSearch(keys: Keys, principal: Principal, idNumber: string) {
  const statements: { sql: string; params: unknown[] }[] = [];
  const recorder: Queryable = {
    async query<T>(sql: string, params: unknown[] = []) {
      statements.push({ sql, params });
      return { rows: [] as T[], rowCount: 0 };
    },
    async exec() {},
  };
  const ctx: AuditContext = { principal, clientIp: '127.0.0.1', requestId: CAPTURE_REQUEST_ID, purpose: null };
  // (the 5th argument is the audit context since the search and its audit became one statement; older code ignores it)
  await (residentService.searchResidents as (...a: unknown[]) => Promise<unknown>)(recorder, keys, principal, { idNumber, page: 1, pageSize: 20 }, ctx);
  return { statements, hash: lookupHash(keys, 'id', idNumber), audits: statements.some((st) => /INSERT\s+INTO\s+audit_event/i.test(st.sql)) };
}

async function rawLoops(engine: Engine, db: Db, label: string, lookup: (h: Buffer, requestId: string) => Promise<number>, hashes: Buffer[], connections: number, seconds: number): Promise<RawResult> {
  log(`${engine}: raw engine reference (${label}), ${connections} loops for ${seconds} s`);
  const auditBefore = await countAudit(db);
  let next = 0;
  const loops = await concurrentLoops(connections, seconds, async (loop, n) => {
    const found = await lookup(hashes[next++ % hashes.length], `raw-${loop}-${n}`);
    if (found !== 1) throw new Error(`raw lookup (${label}) found ${found} rows`);
  });
  const auditGrowth = (await countAudit(db)) - auditBefore;
  const r = { label, seconds: loops.elapsed, lookups: loops.count, perSecond: loops.perSecond, p50: loops.p50, p99: loops.p99, auditGrowth, cpu: loops.cpu };
  log(`${engine}: raw (${label}) ${fmt.int(r.perSecond)} lookups/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, audit +${auditGrowth} for ${r.lookups}`);
  return r;
}

// The SELECT the resident search issued for a district-wide principal before the search and its audit became one
// statement (src/modules/residents/service.ts searchResidents with an identity number: scope TRUE, no count query);
// used for the two-statement raw reference together with auditResidents (src/platform/audit.ts).
const SEARCH_SQL = `SELECT r.id, r.name, r.sex, r.birth_date, r.id_number_mask, r.phone_mask, r.household_id, r.grid_id, g.name AS grid_name,
  r.community_id, c.name AS community_name, r.street_id, r.tags, r.status, r.version FROM resident r LEFT JOIN region g ON g.id = r.grid_id LEFT JOIN region c ON c.id = r.community_id WHERE TRUE AND r.id_number_hash = $1 AND r.status IN ('active', 'provisional') ORDER BY r.id LIMIT $2 OFFSET $3`;

export async function runLookupBench(opts: LookupBenchOptions): Promise<string> {
  const engines = enginesOf(opts.engine);
  if (opts.dataDir && engines.includes('postgres') && !opts.databaseUrl && engines.length === 1) throw new Error('--data-dir is for PGlite; use --database-url for PostgreSQL');
  log(`lookup benchmark: engines ${engines.join(', ')}; ${machine()}`);
  const results: LookupResult[] = [];
  for (const engine of engines) results.push(await runEngine(engine, opts));
  return report(results, opts);
}

async function countAudit(db: Db): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_event');
  return rows[0].n;
}

async function runEngine(engine: Engine, opts: LookupBenchOptions): Promise<LookupResult> {
  const residents = opts.residents ?? 700_000;
  const connections = opts.connections ?? 32;
  const duration = opts.duration ?? 20;
  const warmup = opts.warmup ?? 3;
  const rawDuration = opts.rawDuration ?? 10;
  const ownDataDir = !opts.dataDir || engine === 'postgres';
  const dataDir = engine === 'pglite' && opts.dataDir ? opts.dataDir : mkdtempSync(join(tmpdir(), 'cg-bench-lookup-'));
  const pgDatabase = engine === 'postgres' && !opts.databaseUrl ? await createPgDatabase(undefined, 'cg_bench_lookup') : null;
  const databaseUrl = engine === 'postgres' ? (opts.databaseUrl ?? pgDatabase!.url) : undefined;
  let seededSeconds: number | null = null;
  try {
    // ── 1. a seeded district (seeded here unless the data dir / database already holds one) ──
    {
      const db = engine === 'pglite' ? await openDb({ dataDir }) : await openPostgres(databaseUrl!, 4);
      try {
        await migrate(db);
        if (await isEmpty(db)) {
          log(`${engine}: seeding dongcheng with ${fmt.int(residents)} residents…`);
          const r = await seedDistrict(db, BENCH_KEYS, { profile: 'dongcheng', seed: BENCH_SEED, residents, adminPassword: ADMIN_PASSWORD, demoPassword: DEMO_PASSWORD });
          seededSeconds = r.seconds;
          log(`${engine}: seeded in ${fmt.s(r.seconds)} s`);
        } else log(`${engine}: reusing the seeded database`);
      } finally {
        await db.close();
      }
    }

    // ── 2. the real server ──
    const config = loadConfig({
      port: 0, host: '127.0.0.1', dataDir, databaseUrl, secret: BENCH_SECRET, adminPassword: opts.adminPassword ?? ADMIN_PASSWORD, demoPassword: DEMO_PASSWORD,
      firstStartSeed: 'none', logLevel: 'silent',
    });
    const started = await startServer(config);
    try {
      const base = await started.app.listen({ port: 0, host: '127.0.0.1' });
      const db = started.ctx.db;
      const cookie = await loginCookie(base, 'admin', opts.adminPassword ?? ADMIN_PASSWORD);

      // ── 3. identity numbers: a deterministic sample of residents, decrypted with the benchmark's keys ──
      const { rows: [{ n: count }] } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM resident');
      const { rows: [{ m: maxId }] } = await db.query<{ m: number }>('SELECT max(id)::int AS m FROM resident');
      const rng = new Rng(BENCH_SEED, 42);
      const wanted = new Set<number>();
      const n = Math.min(opts.ids ?? 2000, count);
      while (wanted.size < n * 1.2 && wanted.size < maxId) wanted.add(rng.int(1, maxId));
      const sample = await db.query<{ id: number; id_number_enc: Uint8Array }>(
        "SELECT id, id_number_enc FROM resident WHERE id = ANY($1::bigint[]) AND id_number_enc IS NOT NULL AND status = 'active' ORDER BY id", [[...wanted]],
      );
      const people = sample.rows.slice(0, n).map((r) => ({ id: r.id, idNumber: decryptField(started.ctx.keys, r.id_number_enc) }));
      for (let i = people.length - 1; i > 0; i--) {
        const j = rng.int(0, i);
        [people[i], people[j]] = [people[j], people[i]];
      }
      const ids = people.map((p) => p.idNumber);
      log(`${engine}: ${fmt.int(count)} residents; rotating through ${ids.length} identity numbers`);
      // sanity: the API finds the right person
      const probe = await fetch(`${base}/api/v1/residents?idNumber=${ids[0]}`, { headers: { cookie } });
      const probeBody: any = await probe.json();
      if (probe.status !== 200 || probeBody.items?.length !== 1 || probeBody.items[0].id !== people[0].id) {
        throw new Error(`lookup probe failed: ${probe.status} ${JSON.stringify(probeBody).slice(0, 300)}`);
      }

      // ── 4. HTTP load: warm-up, then the measured run; autocannon in a child process ──
      const job: LoadJob = { url: base, cookie, ids, connections, duration };
      if (warmup > 0) {
        log(`${engine}: warm-up ${warmup} s`);
        await loadInChild({ ...job, duration: warmup });
      }
      await new Promise((r) => setTimeout(r, 500));
      const auditBefore = await countAudit(db);
      log(`${engine}: ${connections} connections for ${duration} s (load average ${loadAverage()})`);
      const cpu0 = process.cpuUsage();
      const elu0 = performance.eventLoopUtilization();
      const snap0 = cpuSnapshot();
      const w0 = performance.now();
      const http = await loadInChild(job);
      const wall = (performance.now() - w0) / 1000;
      const snap1 = cpuSnapshot();
      const cpu = process.cpuUsage(cpu0);
      const elu = performance.eventLoopUtilization(elu0);
      const shares = cpuShares(snap0, snap1, wall, http.cpuSeconds);
      await new Promise((r) => setTimeout(r, 1000)); // requests cut off at the end of the run still finish on the server
      const auditGrowth = (await countAudit(db)) - auditBefore;
      log(`${engine}: ${fmt.int(http.okPerSecond)} 2xx/s, p50 ${http.p50Precise.toFixed(2)} ms, p99 ${http.p99Precise.toFixed(2)} ms, non-2xx ${http.non2xx}, audit +${auditGrowth} for ${http.ok2xx} 2xx`);

      // ── 5. raw engine reference, `connections` concurrent loops straight through the Db (server idle) ──
      //   a) the statement(s) the server itself issues for this search, captured from the service and replayed;
      //   b) the two-statement shape: the SELECT, then the audit INSERT (auditResidents).
      const hashes = ids.map((id) => lookupHash(started.ctx.keys, 'id', id));
      const adminId = (await db.query<{ id: number }>("SELECT id FROM app_user WHERE username = 'admin'")).rows[0].id;
      const principal = await loadPrincipal(db, adminId);
      if (!principal) throw new Error('admin principal not found');
      const captured = await captureSearch(started.ctx.keys, principal, ids[0]);
      log(`${engine}: the server issues ${captured.statements.length} statement(s) per lookup${captured.audits ? '' : ' (plus the route\'s separate audit INSERT)'}`);
      const serverShape = async (h: Buffer, requestId: string) => {
        let found: number[] = [];
        for (const st of captured.statements) {
          const params = st.params.map((v) => (Buffer.isBuffer(v) && v.equals(captured.hash) ? h : v === CAPTURE_REQUEST_ID ? requestId : v));
          const r = await db.query<{ id: number }>(st.sql, params);
          if (/^\s*(WITH|SELECT)/i.test(st.sql)) found = r.rows.map((x) => x.id);
        }
        if (!captured.audits) await auditResidents(db, { principal, clientIp: '127.0.0.1', requestId }, 'search', found);
        return found.length;
      };
      const twoStatements = async (h: Buffer, requestId: string) => {
        const found = await db.query<{ id: number }>(SEARCH_SQL, [h, 20, 0]);
        await auditResidents(db, { principal, clientIp: '127.0.0.1', requestId }, 'search', found.rows.map((r) => r.id));
        return found.rows.length;
      };
      const raw = await rawLoops(engine, db, 'server statement', serverShape, hashes, connections, rawDuration);
      const raw2 = await rawLoops(engine, db, 'SELECT + audit INSERT', twoStatements, hashes, connections, rawDuration);

      return {
        engine, residents: count, seededSeconds, http,
        serverCpuPercent: (100 * (cpu.user + cpu.system)) / 1e6 / wall, serverEventLoopUtilization: elu.utilization,
        cpu: shares, auditGrowth, raw, raw2, rawStatements: captured.statements.length,
      };
    } finally {
      await started.close();
    }
  } finally {
    if (pgDatabase) await pgDatabase.drop();
    if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

function loadInChild(job: LoadJob): Promise<LoadSummary> {
  return forkLoad<LoadJob, LoadSummary>(new URL('./load.ts', import.meta.url), job);
}

function report(results: LookupResult[], opts: LookupBenchOptions): string {
  const connections = opts.connections ?? 32;
  const out: string[] = [];
  out.push(`### lookup — ${new Date().toISOString().slice(0, 10)}, ${machine()}`);
  out.push('');
  out.push(table(
    ['engine', 'residents', 'connections', 'requests/s (2xx)', 'p50 ms', 'p99 ms', 'non-2xx', 'errors + timeouts', 'audit rows added / 2xx', 'raw: server statement /s', 'raw: SELECT + audit INSERT /s', 'HTTP / raw (server statement)', 'target ≥ 3,000 req/s, p99 ≤ 15 ms'],
    results.map((r) => [
      r.engine === 'pglite' ? 'PGlite (file)' : 'PostgreSQL', fmt.int(r.residents), connections, fmt.int(r.http.okPerSecond), r.http.p50Precise.toFixed(2), r.http.p99Precise.toFixed(2),
      r.http.non2xx, r.http.errors + r.http.timeouts, `${fmt.int(r.auditGrowth)} / ${fmt.int(r.http.ok2xx)}${auditOk(r, connections) ? ' ✓' : ' ✗'}`,
      fmt.int(r.raw.perSecond), fmt.int(r.raw2.perSecond), fmt.ratio(r.http.okPerSecond / r.raw.perSecond),
      `${r.http.okPerSecond >= 3000 ? 'rate ok' : 'rate MISSED'}, ${r.http.p99Precise <= 15 ? 'p99 ok' : 'p99 MISSED'}`,
    ]),
  ));
  out.push('');
  for (const r of results) {
    out.push(`- ${r.engine}: ${fmt.s(r.http.duration)} s measured${r.seededSeconds !== null ? ` (database seeded in ${fmt.s(r.seededSeconds)} s)` : ''}; autocannon requests/s ${fmt.int(r.http.requestsPerSecond)}, ` +
      `latency p50/p99 ${r.http.p50}/${r.http.p99} ms (autocannon, 1 ms resolution), p90 ${r.http.p90Precise.toFixed(2)} ms, max ${r.http.maxPrecise.toFixed(1)} ms; ` +
      `server process CPU ${r.serverCpuPercent.toFixed(0)} % (of one core), event-loop utilisation ${(100 * r.serverEventLoopUtilization).toFixed(0)} %; status codes ${JSON.stringify(r.http.statusCodes)}.`);
    if (r.cpu) {
      out.push(`  CPU during the HTTP run (cores of ${r.cpu.cores}): machine busy ${r.cpu.busy.toFixed(2)}, server process ${r.cpu.server.toFixed(2)}, postgres processes ${r.cpu.postgres.toFixed(2)}, ` +
        `load generator ${r.cpu.loadGen.toFixed(2)}, everything else ${r.cpu.other.toFixed(2)}; per request: server ${fmtUs(r.cpu.server / r.http.okPerSecond)}, ` +
        `postgres ${fmtUs(r.cpu.postgres / r.http.okPerSecond)}, load generator ${fmtUs(r.cpu.loadGen / r.http.okPerSecond)}.`);
    }
    for (const raw of [r.raw, r.raw2]) {
      out.push(`  raw (${raw.label}${raw === r.raw ? `, ${r.rawStatements} statement(s) as captured from the service` : ''}): ${fmt.int(raw.perSecond)} lookups/s, p50 ${raw.p50.toFixed(2)} ms, p99 ${raw.p99.toFixed(2)} ms, ` +
        `audit rows ${fmt.int(raw.auditGrowth)} / ${fmt.int(raw.lookups)}` +
        (raw.cpu ? `; CPU: machine ${raw.cpu.busy.toFixed(2)}, bench process ${raw.cpu.server.toFixed(2)}, postgres ${raw.cpu.postgres.toFixed(2)}, other ${raw.cpu.other.toFixed(2)} cores; ` +
          `per lookup: bench process ${fmtUs(raw.cpu.server / raw.perSecond)}, postgres ${fmtUs(raw.cpu.postgres / raw.perSecond)}` : '') + '.');
    }
  }
  out.push('');
  out.push(`load average at the end: ${loadAverage()}`);
  return out.join('\n');
}

const fmtUs = (coreSecondsPerRequest: number) => `${Math.round(coreSecondsPerRequest * 1e6)} µs`;

/** Every 2xx wrote its audit row; requests cut off when autocannon stopped may have been audited too (≤ connections). */
function auditOk(r: LookupResult, connections: number): boolean {
  const extra = r.auditGrowth - r.http.ok2xx;
  return extra >= 0 && extra <= connections;
}
