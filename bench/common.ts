// Shared helpers for the benchmarks: engines (a temp PGlite data dir or a fresh PostgreSQL database per run),
// memory sampling, machine description and markdown output.
import { fork } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createPgDatabase as createTestPgDatabase } from '../test/helpers/db.ts';
import { openDb, openPostgres, type Db } from '../src/db/engine.ts';
import { migrate } from '../src/db/migrate.ts';
import { deriveKeys } from '../src/platform/crypto.ts';

export type Engine = 'pglite' | 'postgres';

/** The master secret every benchmark uses (≥ 32 characters as the config requires). */
export const BENCH_SECRET = 'bench-secret-caregrid-2026-11-24-0000000000';
export const BENCH_KEYS = deriveKeys(BENCH_SECRET);
export const BENCH_SEED = 20260101;
export const ADMIN_PASSWORD = 'Bench-Admin-2026!';
export const DEMO_PASSWORD = 'Bench-Demo-2026!';
export const DEFAULT_PG_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function enginesOf(opt: string | undefined): Engine[] {
  const v = opt ?? 'both';
  if (v === 'both') return ['pglite', 'postgres'];
  if (v === 'pglite' || v === 'postgres') return [v];
  throw new Error(`--engine must be pglite, postgres or both (got ${v})`);
}

/** A fresh PostgreSQL database next to DEFAULT_PG_URL's (the test helper's, with a benchmark prefix). */
export function createPgDatabase(adminUrl = DEFAULT_PG_URL, prefix = 'cg_bench', template?: string) {
  return createTestPgDatabase(adminUrl, prefix, template);
}

export interface BenchDb {
  db: Db;
  engine: Engine;
  /** PGlite: the data dir (the database lives in dataDir/pglite); PostgreSQL: a temp dir for the server's files */
  dataDir: string;
  databaseUrl?: string;
  /** closes the connection and removes the temp data dir / drops the database */
  dispose(): Promise<void>;
}

/** Opens an empty, migrated database on a temp PGlite data dir (file storage) or a fresh PostgreSQL database. */
export async function freshDb(engine: Engine, opts: { pgPoolSize?: number } = {}): Promise<BenchDb> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cg-bench-'));
  if (engine === 'pglite') {
    const db = await openDb({ dataDir }); // as the server and the CLI run it: PGlite on its own thread
    await migrate(db);
    return {
      db, engine, dataDir,
      async dispose() {
        await db.close().catch(() => {});
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  const database = await createPgDatabase();
  const db = await openPostgres(database.url, opts.pgPoolSize ?? 16);
  await migrate(db);
  return {
    db, engine, dataDir, databaseUrl: database.url,
    async dispose() {
      await db.close().catch(() => {});
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Peak memory: process.memoryUsage().rss sampled every `everyMs` plus the kernel's high-water mark (VmHWM). */
export function memorySampler(everyMs = 200) {
  let peakRss = process.memoryUsage().rss;
  let samples = 0;
  const timer = setInterval(() => {
    const rss = process.memoryUsage().rss;
    samples++;
    if (rss > peakRss) peakRss = rss;
  }, everyMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      const rss = process.memoryUsage().rss;
      if (rss > peakRss) peakRss = rss;
      return { peakRssMb: peakRss / 2 ** 20, vmHwmMb: vmHwmMb(), samples };
    },
  };
}

/** VmHWM of this process (or of `pid`) in MiB, from /proc/…/status; NaN where /proc is missing. */
export function vmHwmMb(pid: number | 'self' = 'self'): number {
  return procStatusKb(pid, 'VmHWM') / 1024;
}
export function vmRssMb(pid: number | 'self' = 'self'): number {
  return procStatusKb(pid, 'VmRSS') / 1024;
}
function procStatusKb(pid: number | 'self', field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

export function machine(): string {
  const c = cpus();
  const [l1, l5, l15] = loadavg();
  return `${c.length} × ${c[0]?.model.trim() ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.versions.node}, load average ${l1.toFixed(2)} / ${l5.toFixed(2)} / ${l15.toFixed(2)}`;
}

export function loadAverage(): string {
  return loadavg().map((x) => x.toFixed(2)).join(' / ');
}

export function table(headers: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.map(String).join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

export const fmt = {
  s: (x: number) => x.toFixed(2),
  int: (x: number) => Math.round(x).toLocaleString('en-US'),
  mb: (x: number) => (Number.isFinite(x) ? x.toFixed(0) : 'n/a'),
  ratio: (x: number) => x.toFixed(2) + '×',
};

/** Logs in over HTTP and returns the session cookie (`cg_session=…`) for the load generators. */
export async function loginCookie(base: string, username: string, password: string): Promise<string> {
  const r = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  if (r.status !== 200) throw new Error(`login ${username} failed: ${r.status} ${await r.text()}`);
  const cookie = r.headers.getSetCookie().map((c) => c.split(';')[0]).find((c) => c.startsWith('cg_session='));
  if (!cookie) throw new Error(`no cg_session cookie after logging in ${username}`);
  return cookie;
}

export function log(msg: string) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

/** CPU accounting from /proc: the whole machine, this process, and every `postgres` process (in clock ticks). */
export interface CpuSnapshot {
  totalTicks: number;
  idleTicks: number;
  selfTicks: number;
  postgresTicks: number;
}
function procTicks(pid: number | 'self'): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]); // utime + stime (fields 14 and 15)
  } catch {
    return 0;
  }
}
export function cpuSnapshot(): CpuSnapshot | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const total = line.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = line[3] + line[4];
    let postgres = 0;
    for (const e of readdirSync('/proc')) {
      if (!/^\d+$/.test(e)) continue;
      try {
        if (readFileSync(`/proc/${e}/comm`, 'utf8').trim() === 'postgres') postgres += procTicks(Number(e));
      } catch {
        /* gone */
      }
    }
    return { totalTicks: total, idleTicks: idle, selfTicks: procTicks('self'), postgresTicks: postgres };
  } catch {
    return null;
  }
}
/** Cores used over the interval: machine busy, this process, postgres, given the load generator's own CPU seconds. */
export function cpuShares(a: CpuSnapshot | null, b: CpuSnapshot | null, seconds: number, loadGenCpuSeconds: number) {
  if (!a || !b) return null;
  const n = cpus().length;
  const perTick = n / (b.totalTicks - a.totalTicks); // cores per tick of the summed counters
  const busy = (b.totalTicks - a.totalTicks - (b.idleTicks - a.idleTicks)) * perTick;
  const hz = (b.totalTicks - a.totalTicks) / n / seconds; // ticks per second per core
  const server = (b.selfTicks - a.selfTicks) / hz / seconds;
  const postgres = (b.postgresTicks - a.postgresTicks) / hz / seconds;
  const loadGen = loadGenCpuSeconds / seconds;
  return { cores: n, busy, server, postgres, loadGen, other: Math.max(0, busy - server - postgres - loadGen) };
}

/**
 * Runs a load generator script (bench/load.ts, bench/records-load.ts) in a child process with `--child`: sends it one
 * job over IPC and resolves with the summary it sends back, so the load does not share the server's event loop.
 */
export function loadInChild<J, S>(script: URL, job: J): Promise<S> {
  return new Promise((resolve, reject) => {
    const child = fork(script.pathname, ['--child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let summary: S | null = null;
    let error: string | null = null;
    child.on('message', (m: any) => {
      if (m.summary) summary = m.summary;
      if (m.error) error = m.error;
    });
    child.on('error', reject);
    child.on('exit', (code) => (summary ? resolve(summary) : reject(new Error(`load generator exited with ${code}: ${error ?? ''}`))));
    child.send(job as any);
  });
}

/** `connections` concurrent loops calling `op` for `seconds` (the raw engine references): latencies (ms, sorted), wall seconds, CPU. */
export async function concurrentLoops(connections: number, seconds: number, op: (loop: number, n: number) => Promise<void>) {
  let n = 0;
  const latencies: number[] = [];
  const snap0 = cpuSnapshot();
  const start = performance.now();
  const until = start + seconds * 1000;
  await Promise.all(Array.from({ length: connections }, async (_, loop) => {
    while (performance.now() < until) {
      const t = performance.now();
      await op(loop, n++);
      latencies.push(performance.now() - t);
    }
  }));
  const elapsed = (performance.now() - start) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
  return { count: sorted.length, elapsed, perSecond: sorted.length / elapsed, p50: pct(0.5), p99: pct(0.99), cpu: cpuShares(snap0, cpuSnapshot(), elapsed, 0) };
}

/**
 * A fresh database that starts as a copy of a seeded one kept between runs (`--seed-cache`): the first run seeds a
 * PostgreSQL template database (or a PGlite data dir) named after `key` and the latest migration; later runs copy it
 * (CREATE DATABASE … TEMPLATE, or a copy of the data dir) in seconds instead of seeding again. Untimed set-up only.
 */
export async function seededDb(engine: Engine, key: string, seed: (db: Db) => Promise<unknown>): Promise<BenchDb> {
  const migrations = readdirSync(join(import.meta.dirname, '../src/db/migrations')).filter((f) => f.endsWith('.sql')).sort();
  const tag = `${key}_${migrations[migrations.length - 1]?.slice(0, 4) ?? '0'}`.replace(/[^a-z0-9_]/gi, '_').toLowerCase();
  if (engine === 'pglite') {
    const cached = join(tmpdir(), `cg-bench-seed-${tag}`);
    if (!existsSync(join(cached, 'complete'))) {
      rmSync(cached, { recursive: true, force: true });
      const db = await openDb({ dataDir: cached });
      await migrate(db);
      await seed(db);
      await db.close();
      writeFileSync(join(cached, 'complete'), '');
    }
    const dataDir = mkdtempSync(join(tmpdir(), 'cg-bench-'));
    cpSync(cached, dataDir, { recursive: true });
    const db = await openDb({ dataDir });
    await migrate(db);
    return { db, engine, dataDir, async dispose() { await db.close().catch(() => {}); rmSync(dataDir, { recursive: true, force: true }); } };
  }
  const template = `cg_bench_seed_${tag}`;
  const admin = await openPostgres(DEFAULT_PG_URL, 1);
  try {
    const { rows } = await admin.query('SELECT datname FROM pg_database WHERE datname = $1', [template]);
    if (!rows.length) {
      const url = new URL(DEFAULT_PG_URL);
      url.pathname = '/' + template + '_wip';
      await admin.exec(`DROP DATABASE IF EXISTS ${template}_wip WITH (FORCE)`);
      await admin.exec(`CREATE DATABASE ${template}_wip`);
      const db = await openPostgres(url.toString(), 16);
      await migrate(db);
      await seed(db);
      await db.close();
      await admin.exec(`ALTER DATABASE ${template}_wip RENAME TO ${template}`);
    }
    const database = await createPgDatabase(DEFAULT_PG_URL, 'cg_bench', template);
    const db = await openPostgres(database.url, 16);
    await migrate(db);
    const dataDir = mkdtempSync(join(tmpdir(), 'cg-bench-'));
    return { db, engine, dataDir, databaseUrl: database.url, async dispose() { await db.close().catch(() => {}); await database.drop(); rmSync(dataDir, { recursive: true, force: true }); } };
  } finally {
    await admin.close();
  }
}
