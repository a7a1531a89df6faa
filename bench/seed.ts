// Seeding benchmark: `caregrid seed --profile dongcheng` (seedDistrict) against a raw COPY of the same rows.
//
// Every measurement runs in its own child process (fresh JIT, fresh heap, a clean VmHWM):
//   seed  — an empty migrated database (temp PGlite data dir, or a fresh PostgreSQL database), then seedDistrict()
//           timed end to end: registry, households, residents (generated on worker threads), demo users, ANALYZE.
//   raw   — the same household and resident rows, generated beforehand by the project's own generator
//           (buildDistrict + planChunks + generateChunk, in the same 10,000-resident chunks) and kept in a temp file;
//           the child reads them into memory, then times only db.copyFrom('household') + db.copyFrom('resident')
//           on an empty migrated database (same schema and indexes; the region rows are loaded first, untimed,
//           because household.grid_id references region).
// The parent samples each child's VmRSS from /proc every 200 ms as well, so a child whose event loop is blocked by a
// long synchronous PGlite call is still observed.
import { fork } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Db } from '../src/db/engine.ts';
import { copyValue } from '../src/db/engine.ts';
import { buildDistrict } from '../src/synth/district.ts';
import { profileNamed } from '../src/synth/profiles.ts';
import { HOUSEHOLD_COLUMNS, RESIDENT_COLUMNS, householdsCopy, type ChunkKeys } from '../src/synth/residents.ts';
import { planChunks, seedDistrict, withoutSecondaryIndexes } from '../src/synth/seed.ts';
import {
  ADMIN_PASSWORD, BENCH_KEYS, BENCH_SEED, DEMO_PASSWORD, cpuShares, cpuSnapshot, enginesOf, fmt, freshDb, loadAverage, log, machine, memorySampler, table, vmRssMb,
  type Engine,
} from './common.ts';

export interface SeedBenchOptions {
  engine?: string;
  residents?: number;
  pgliteDouble?: boolean;
  /** skip the raw COPY reference */
  noRaw?: boolean;
}

const REGION_COLUMNS = ['id', 'code', 'name', 'name_en', 'level', 'parent_id', 'kind'] as const;
const chunkKeys = (): ChunkKeys => ({ enc: BENCH_KEYS.raw.enc, lookup: BENCH_KEYS.raw.lookup, keyId: BENCH_KEYS.keyId });

// ── results passed from the children ──
interface SeedChild {
  kind: 'seed';
  engine: Engine;
  residents: number;
  households: number;
  migrateSeconds: number;
  seedSeconds: number;
  /** seconds per phase, from a wrapper around the Db: copyFrom per table, statements, ANALYZE */
  phases: Record<string, number>;
  /** seconds the resident COPY spent waiting for the generator (worker threads) */
  residentGeneratorWait: number;
  /** from the start of the resident load to the first finished chunk (worker start-up + one chunk) */
  firstChunkSeconds: number;
  /** largest gap between two later progress callbacks (one per 10,000-resident chunk): a stall shows here */
  maxProgressGapSeconds: number;
  /** resident rows/s over the first and the second half of the resident load */
  firstHalfRate: number;
  secondHalfRate: number;
  rowCount: number;
  peakRssMb: number;
  vmHwmMb: number;
  dataDirMb: number | null;
  /** cores used during the timed part: this process (incl. worker threads), postgres processes, everything else */
  cpu: ReturnType<typeof cpuShares>;
}
interface RawChild {
  kind: 'raw';
  engine: Engine;
  residents: number;
  households: number;
  householdSeconds: number;
  residentSeconds: number;
  rawSeconds: number;
  /** COPY without secondary indexes, then the index builds */
  rawDeferredSeconds: number;
  rowCount: number;
  peakRssMb: number;
  vmHwmMb: number;
  cpu: ReturnType<typeof cpuShares>;
}
type ChildResult = (SeedChild | RawChild) & { parentPeakRssMb: number };

// ── parent ──
export async function runSeedBench(opts: SeedBenchOptions): Promise<string> {
  const engines = enginesOf(opts.engine);
  const residents = opts.residents ?? 700_000;
  log(`seed benchmark: engines ${engines.join(', ')}, ${fmt.int(residents)} residents; ${machine()}`);
  const results: ChildResult[] = [];
  let copyDir: string | null = null;
  try {
    if (!opts.noRaw) {
      copyDir = mkdtempSync(join(tmpdir(), 'cg-bench-copy-'));
      const t = performance.now();
      const info = await writeCopyFiles(copyDir, residents);
      log(`generated the COPY text for the raw reference: ${fmt.int(info.residents)} residents, ${fmt.int(info.households)} households, ${(info.bytes / 2 ** 20).toFixed(0)} MiB in ${fmt.s((performance.now() - t) / 1000)} s (not timed)`);
    }
    for (const engine of engines) {
      results.push(await runChild(['seed', '--engine', engine, '--residents', String(residents)]));
      if (copyDir) results.push(await runChild(['raw', '--engine', engine, '--copy-dir', copyDir]));
    }
    if (opts.pgliteDouble) results.push(await runChild(['seed', '--engine', 'pglite', '--residents', String(residents * 2)]));
  } finally {
    if (copyDir) rmSync(copyDir, { recursive: true, force: true });
  }
  return report(results, residents, engines, opts);
}

function report(results: ChildResult[], residents: number, engines: Engine[], opts: SeedBenchOptions): string {
  const out: string[] = [];
  const seeds = results.filter((r): r is SeedChild & { parentPeakRssMb: number } => r.kind === 'seed');
  const raws = results.filter((r): r is RawChild & { parentPeakRssMb: number } => r.kind === 'raw');
  const rows = engines.map((engine) => {
    const s = seeds.find((x) => x.engine === engine && x.residents === residents)!;
    const r = raws.find((x) => x.engine === engine);
    const target = engine === 'postgres' ? 10 : 30;
    return [
      engine === 'pglite' ? 'PGlite (file)' : 'PostgreSQL', fmt.int(s.residents), fmt.s(s.seedSeconds), fmt.int(s.residents / s.seedSeconds),
      r ? fmt.s(r.rawSeconds) : 'n/a', r ? fmt.ratio(s.seedSeconds / r.rawSeconds) : 'n/a',
      r ? fmt.s(r.rawDeferredSeconds) : 'n/a', r ? fmt.ratio(s.seedSeconds / r.rawDeferredSeconds) : 'n/a',
      (s.residents === 700_000 ? `≤ ${target} s: ${s.seedSeconds <= target ? 'ok' : 'MISSED'}; ` : '(time targets are for 700,000); ')
        + (r ? `≤ 1.30×: ${s.seedSeconds / r.rawSeconds <= 1.3 ? 'ok' : 'MISSED'} / ${s.seedSeconds / r.rawDeferredSeconds <= 1.3 ? 'ok' : 'MISSED'}` : ''),
    ];
  });
  out.push(`### seed — ${new Date().toISOString().slice(0, 10)}, ${machine()}`);
  out.push('');
  out.push(table(['engine', 'residents', 'seed s', 'resident rows/s', 'raw COPY s (indexes maintained)', 'seed / raw', 'raw COPY s (indexes built after)', 'seed / raw', 'target'], rows));
  out.push('');
  out.push('Breakdown of the seed runs (seconds; from a timing wrapper around the Db):');
  out.push('');
  out.push(table(
    ['engine', 'residents', 'migrate (not in seed s)', 'registry', 'household COPY', 'resident COPY', 'of which waiting for generator', 'users + relationships', 'ANALYZE', 'other (district build, argon2)', 'peak RSS MiB (sampled / VmHWM)', 'first chunk after s', 'max gap between later chunks s', 'rows/s 1st half / 2nd half'],
    seeds.map((s) => [
      s.engine, fmt.int(s.residents), fmt.s(s.migrateSeconds), fmt.s(s.phases.registry ?? 0), fmt.s(s.phases['copy household'] ?? 0), fmt.s(s.phases['copy resident'] ?? 0),
      fmt.s(s.residentGeneratorWait), fmt.s(s.phases.users ?? 0), fmt.s(s.phases.analyze ?? 0),
      fmt.s(s.seedSeconds - Object.values(s.phases).reduce((a, b) => a + b, 0)),
      `${fmt.mb(Math.max(s.peakRssMb, s.parentPeakRssMb))} / ${fmt.mb(s.vmHwmMb)}`, fmt.s(s.firstChunkSeconds), fmt.s(s.maxProgressGapSeconds), `${fmt.int(s.firstHalfRate)} / ${fmt.int(s.secondHalfRate)}`,
    ]),
  ));
  if (raws.length) {
    out.push('');
    out.push('Raw COPY reference (seconds):');
    out.push('');
    out.push(table(['engine', 'residents', 'household COPY', 'resident COPY', 'total', 'resident rows/s', 'peak RSS MiB (VmHWM)'],
      raws.map((r) => [r.engine, fmt.int(r.residents), fmt.s(r.householdSeconds), fmt.s(r.residentSeconds), fmt.s(r.rawSeconds), fmt.int(r.residents / r.rawSeconds), fmt.mb(r.vmHwmMb)])));
  }
  const withCpu = results.filter((r) => r.cpu);
  if (withCpu.length) {
    out.push('');
    out.push('CPU during the timed part (average cores busy, from /proc; the machine has ' + withCpu[0].cpu!.cores + '):');
    out.push('');
    out.push(table(['run', 'engine', 'residents', 'machine busy', 'benchmark process (main + workers)', 'postgres processes', 'everything else'],
      withCpu.map((r) => [r.kind, r.engine, fmt.int(r.residents), r.cpu!.busy.toFixed(2), r.cpu!.server.toFixed(2), r.cpu!.postgres.toFixed(2), r.cpu!.other.toFixed(2)])));
  }
  const dbl = seeds.find((s) => s.engine === 'pglite' && s.residents === residents * 2);
  if (opts.pgliteDouble && dbl) {
    out.push('');
    out.push(`PGlite at 2× (${fmt.int(dbl.residents)} residents): ${fmt.s(dbl.seedSeconds)} s, ${fmt.int(dbl.residents / dbl.seedSeconds)} rows/s, ` +
      `peak RSS ${fmt.mb(Math.max(dbl.peakRssMb, dbl.parentPeakRssMb))} MiB (VmHWM ${fmt.mb(dbl.vmHwmMb)} MiB), longest gap between chunks (after the first) ${fmt.s(dbl.maxProgressGapSeconds)} s, ` +
      `rows/s first half ${fmt.int(dbl.firstHalfRate)} vs second half ${fmt.int(dbl.secondHalfRate)}, data dir ${dbl.dataDirMb ?? 'n/a'} MiB, ${fmt.int(dbl.rowCount)} rows loaded.`);
  }
  out.push('');
  out.push(`load average at the end: ${loadAverage()}`);
  return out.join('\n');
}

/** Runs one measurement in a child process; samples the child's VmRSS from here as well. */
function runChild(args: string[]): Promise<ChildResult> {
  log(`child: ${args.join(' ')}`);
  return new Promise((resolve, reject) => {
    const child = fork(new URL(import.meta.url).pathname, ['--child', ...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: process.execArgv });
    let peak = 0;
    const timer = setInterval(() => {
      const rss = child.pid ? vmRssMb(child.pid) : NaN;
      if (rss > peak) peak = rss;
    }, 200);
    let result: SeedChild | RawChild | null = null;
    child.on('message', (m: any) => {
      if (m?.kind) result = m;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(timer);
      if (code === 0 && result) {
        log(`child done: ${JSON.stringify(result)}`);
        resolve({ ...result, parentPeakRssMb: peak });
      } else reject(new Error(`benchmark child ${args.join(' ')} exited with ${code}`));
    });
  });
}

/** Generates households and residents with the project's generator (worker threads running src/synth/worker.ts). */
export async function writeCopyFiles(dir: string, residents: number): Promise<{ residents: number; households: number; bytes: number }> {
  const d = buildDistrict(profileNamed('dongcheng', residents), BENCH_SEED);
  const specs = planChunks(d.households, BENCH_SEED);
  writeFileSync(join(dir, 'region.copy'), d.regions.map((r) => REGION_COLUMNS.map((c) => copyValue(r[c])).join('\t') + '\n').join(''));
  const outputs: ({ count: number; residents: Uint8Array } | undefined)[] = new Array(specs.length); // as src/synth/worker.ts posts them
  const workers = Math.max(1, Math.min(availableParallelism(), 4));
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(workers, specs.length) }, () => new Promise<void>((resolve, reject) => {
    const w = new Worker(new URL('../src/synth/worker.ts', import.meta.url), { workerData: chunkKeys() });
    let current = -1;
    const feed = () => {
      if (next >= specs.length) {
        void w.terminate().then(() => resolve());
        return;
      }
      current = next++;
      w.postMessage(specs[current]);
    };
    w.on('message', (out: { count: number; residents: Uint8Array }) => {
      outputs[current] = out;
      feed();
    });
    w.on('error', reject);
    feed();
  })));
  // one file per table plus the byte length of each chunk, so the children replay exactly the seed's chunks
  const index: { households: number[]; residents: number[] } = { households: [], residents: [] };
  const hf = openSync(join(dir, 'household.copy'), 'w');
  const rf = openSync(join(dir, 'resident.copy'), 'w');
  let bytes = 0;
  for (const [i, out] of outputs.entries()) {
    const hb = Buffer.from(householdsCopy(specs[i]));
    const rb = Buffer.from(out!.residents);
    writeSync(hf, hb);
    writeSync(rf, rb);
    index.households.push(hb.length);
    index.residents.push(rb.length);
    bytes += hb.length + rb.length;
  }
  closeSync(hf);
  closeSync(rf);
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ ...index, residentCount: outputs.reduce((s, o) => s + o!.count, 0), householdCount: d.households.length }));
  return { residents: outputs.reduce((s, o) => s + o!.count, 0), households: d.households.length, bytes };
}

// ── children ──
/** Wraps a Db to time copyFrom per table, generator waits, and the statements after the load. */
function timedDb(db: Db, phases: Record<string, number>, waits: Record<string, number>): Db {
  const add = (k: string, s: number) => (phases[k] = (phases[k] ?? 0) + s);
  let residentsLoaded = false;
  const phaseOfStatement = (sql: string) => (/^\s*ANALYZE/i.test(sql) ? 'analyze' : residentsLoaded ? 'users' : 'registry');
  return {
    engine: db.engine,
    tx: db.tx.bind(db),
    close: db.close.bind(db),
    async query(sql, params) {
      const t = performance.now();
      try {
        return await db.query(sql, params);
      } finally {
        add(phaseOfStatement(sql), (performance.now() - t) / 1000);
      }
    },
    async exec(sql) {
      const t = performance.now();
      try {
        return await db.exec(sql);
      } finally {
        add(phaseOfStatement(sql), (performance.now() - t) / 1000);
      }
    },
    async copyFrom(tableName, columns, chunks) {
      const t = performance.now();
      const wrapped = (async function* () {
        const it = (chunks as AsyncIterable<string>)[Symbol.asyncIterator] ? (chunks as AsyncIterable<string>)[Symbol.asyncIterator]() : (chunks as Iterable<string>)[Symbol.iterator]();
        for (;;) {
          const w = performance.now();
          const r = await it.next();
          waits[tableName] = (waits[tableName] ?? 0) + (performance.now() - w) / 1000;
          if (r.done) return;
          yield r.value;
        }
      })();
      try {
        return await db.copyFrom(tableName, columns, wrapped);
      } finally {
        const s = (performance.now() - t) / 1000;
        if (tableName === 'household' || tableName === 'resident') add(`copy ${tableName}`, s);
        else add('registry', s);
        if (tableName === 'resident') residentsLoaded = true;
      }
    },
  };
}

function dirSizeMb(dir: string): number | null {
  try {
    let total = 0;
    const walk = (p: string) => {
      for (const e of readdirSyncSafe(p)) {
        const full = join(p, e.name);
        if (e.isDirectory()) walk(full);
        else if (e.isFile()) total += statSize(full);
      }
    };
    walk(dir);
    return Math.round(total / 2 ** 20);
  } catch {
    return null;
  }
}
const readdirSyncSafe = (p: string) => readdirSync(p, { withFileTypes: true });
const statSize = (p: string) => statSync(p).size;

async function childSeed(engine: Engine, residents: number): Promise<SeedChild> {
  const t0 = performance.now();
  const bench = await freshDb(engine);
  const migrateSeconds = (performance.now() - t0) / 1000;
  const mem = memorySampler(200);
  const phases: Record<string, number> = {};
  const waits: Record<string, number> = {};
  const progress: { t: number; done: number }[] = [];
  try {
    const snap0 = cpuSnapshot();
    const started = performance.now();
    const r = await seedDistrict(timedDb(bench.db, phases, waits), BENCH_KEYS, {
      profile: 'dongcheng', seed: BENCH_SEED, residents, adminPassword: ADMIN_PASSWORD, demoPassword: DEMO_PASSWORD,
      onProgress: (done) => progress.push({ t: performance.now(), done }),
    });
    const seedSeconds = (performance.now() - started) / 1000;
    const cpu = cpuShares(snap0, cpuSnapshot(), seedSeconds, 0);
    const m = mem.stop();
    const { rows } = await bench.db.query<{ n: number }>('SELECT count(*)::int AS n FROM resident');
    let maxGap = 0;
    for (let i = 2; i < progress.length; i++) maxGap = Math.max(maxGap, progress[i].t - progress[i - 1].t);
    const half = progress.findIndex((p) => p.done >= r.residents / 2);
    const first = progress[0], mid = progress[half] ?? progress[progress.length - 1], last = progress[progress.length - 1];
    return {
      kind: 'seed', engine, residents: r.residents, households: r.households, migrateSeconds, seedSeconds, phases,
      residentGeneratorWait: waits.resident ?? 0, maxProgressGapSeconds: maxGap / 1000,
      firstChunkSeconds: progress.length > 1 ? (progress[1].t - progress[0].t) / 1000 : 0,
      firstHalfRate: (mid.done - first.done) / Math.max(1e-9, (mid.t - first.t) / 1000),
      secondHalfRate: (last.done - mid.done) / Math.max(1e-9, (last.t - mid.t) / 1000),
      rowCount: rows[0].n, peakRssMb: m.peakRssMb, vmHwmMb: m.vmHwmMb, dataDirMb: engine === 'pglite' ? dirSizeMb(bench.dataDir) : null, cpu,
    };
  } finally {
    await bench.dispose();
  }
}

async function childRaw(engine: Engine, copyDir: string): Promise<RawChild> {
  const index = JSON.parse(readFileSync(join(copyDir, 'index.json'), 'utf8')) as { households: number[]; residents: number[]; residentCount: number; householdCount: number };
  const split = (file: string, lengths: number[]) => {
    const buf = readFileSync(join(copyDir, file));
    const out: string[] = [];
    let at = 0;
    for (const n of lengths) {
      out.push(buf.subarray(at, at + n).toString('utf8'));
      at += n;
    }
    return out;
  };
  const householdChunks = split('household.copy', index.households);
  const residentChunks = split('resident.copy', index.residents);
  const regionText = readFileSync(join(copyDir, 'region.copy'), 'utf8');
  const bench = await freshDb(engine);
  const mem = memorySampler(200);
  try {
    await bench.db.copyFrom('region', REGION_COLUMNS, [regionText]); // household.grid_id references region: untimed
    const snap0 = cpuSnapshot();
    const t0 = performance.now();
    await bench.db.copyFrom('household', HOUSEHOLD_COLUMNS, householdChunks);
    const t1 = performance.now();
    await bench.db.copyFrom('resident', RESIDENT_COLUMNS, residentChunks);
    const t2 = performance.now();
    const cpu = cpuShares(snap0, cpuSnapshot(), (t2 - t0) / 1000, 0);
    const { rows } = await bench.db.query<{ n: number }>('SELECT count(*)::int AS n FROM resident');
    // Second reference: the fastest plain way to load the same rows — COPY into the table without its secondary
    // indexes (one stream), then build them (the same helper the seed uses).
    await bench.db.exec('TRUNCATE resident, household');
    const t3 = performance.now();
    await bench.db.copyFrom('household', HOUSEHOLD_COLUMNS, householdChunks);
    await withoutSecondaryIndexes(bench.db, ['resident'], () => bench.db.copyFrom('resident', RESIDENT_COLUMNS, residentChunks));
    const t4 = performance.now();
    const m = mem.stop();
    return {
      kind: 'raw', engine, residents: index.residentCount, households: index.householdCount,
      householdSeconds: (t1 - t0) / 1000, residentSeconds: (t2 - t1) / 1000, rawSeconds: (t2 - t0) / 1000, rawDeferredSeconds: (t4 - t3) / 1000, rowCount: rows[0].n,
      peakRssMb: m.peakRssMb, vmHwmMb: m.vmHwmMb, cpu,
    };
  } finally {
    await bench.dispose();
  }
}

async function childMain(argv: string[]) {
  const [kind, ...rest] = argv;
  const opt = (name: string) => {
    const i = rest.indexOf(name);
    return i >= 0 ? rest[i + 1] : undefined;
  };
  const engine = enginesOf(opt('--engine'))[0];
  const result = kind === 'seed' ? await childSeed(engine, Number(opt('--residents'))) : await childRaw(engine, opt('--copy-dir')!);
  // let the IPC message flush, then exit (PGlite or pg may keep handles open)
  process.send!(result, () => process.exit(0));
}

if (process.argv[2] === '--child') {
  childMain(process.argv.slice(3)).catch((err) => {
    process.stderr.write(`benchmark child failed: ${err?.stack ?? err}\n`);
    process.exit(1);
  });
}
