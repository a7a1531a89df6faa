// Bulk NDJSON import benchmark: `npm run bench -- bulk-import`.
//
// For each engine: an empty migrated database (temp PGlite data dir or a fresh PostgreSQL database), seeded with the
// dongcheng district (seedDistrict, untimed). The NDJSON is generated beforehand (untimed) into temp files:
// E Encounters (with the hospital's identifier, at one of the district's hospitals, for a random resident) and
// O Observations (sender id only, five vital signs per encounter, each pointing at its Encounter by the sender's id).
// Timed:
//   import — importStream() over the two files, as `caregrid import` and POST $import run it: streaming lines, batches
//            of 5,000, toRow validation per line, references resolved per batch, COPY of new rows, care relationships.
//   raw    — the same rows (read back from the tables after the import, untimed), the tables truncated, then only
//            db.copyFrom('encounter') + db.copyFrom('observation') in the same 5,000-row chunks, indexes maintained
//            as in the import.
// The ratio import ÷ raw is the overhead of FHIR parsing, validation, mapping and reference resolution.
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from '../src/db/engine.ts';
import { copyValue } from '../src/db/engine.ts';
import { seedDistrict } from '../src/synth/seed.ts';
import { loadPrincipal } from '../src/platform/principal.ts';
import { importStream } from '../src/fhir/bulk/import.ts';
import { fileLines } from '../src/fhir/bulk/ndjson.ts';
import { ADMIN_PASSWORD, BENCH_KEYS, BENCH_SEED, DEMO_PASSWORD, cpuShares, cpuSnapshot, enginesOf, fmt, freshDb, loadAverage, seededDb, log, machine, table, type Engine } from './common.ts';

export interface BulkImportBenchOptions {
  engine?: string;
  observations?: number;
  /** observations per encounter (default 5) */
  perEncounter?: number;
  residents?: number;
  batch?: number;
  /** keep the seeded database between runs and start each run from a copy of it (untimed set-up only) */
  seedCache?: boolean;
}

interface Result {
  engine: Engine;
  encounters: number;
  observations: number;
  importSeconds: number;
  rawSeconds: number;
  failed: number;
  timings: Record<string, number>;
  cpu: ReturnType<typeof cpuShares>;
  load: string;
}

const VITALS = [
  { code: '8480-6', display: 'Systolic blood pressure', unit: 'mm[Hg]', lo: 100, hi: 170 },
  { code: '8462-4', display: 'Diastolic blood pressure', unit: 'mm[Hg]', lo: 60, hi: 105 },
  { code: '8867-4', display: 'Heart rate', unit: '/min', lo: 55, hi: 110 },
  { code: '8310-5', display: 'Body temperature', unit: 'Cel', lo: 36, hi: 38.5 },
  { code: '29463-7', display: 'Body weight', unit: 'kg', lo: 40, hi: 95 },
];

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function cst(ms: number): string {
  return new Date(ms + 8 * 3600_000).toISOString().slice(0, 19) + '+08:00';
}

export async function writeLines(path: string, count: number, line: (i: number) => string) {
  const out = createWriteStream(path, { highWaterMark: 1 << 20 });
  let buf = '';
  for (let i = 0; i < count; i++) {
    buf += line(i) + '\n';
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await new Promise<void>((r) => out.once('drain', () => r()));
      buf = '';
    }
  }
  out.write(buf);
  await new Promise<void>((r) => out.end(() => r()));
}

/** The NDJSON input: Encounters then Observations (five vital signs each) for residents 1..maxResident. */
async function generate(dir: string, encounters: number, perEncounter: number, maxResident: number, hospitals: number[]) {
  const r = rng(BENCH_SEED);
  const enc: { resident: number; org: number; start: number }[] = [];
  // care over the 600 days up to the run (whole days, so the data is the same all day): about 15 % of it recent
  // enough (90 days) that its care relationships still grant access and are written
  const t0 = Math.floor(Date.now() / 86_400_000) * 86_400_000 - 600 * 86_400_000;
  for (let i = 0; i < encounters; i++) enc.push({ resident: 1 + Math.floor(r() * maxResident), org: hospitals[Math.floor(r() * hospitals.length)], start: t0 + Math.floor(r() * 600 * 86400) * 1000 });
  await writeLines(join(dir, 'Encounter.ndjson'), encounters, (i) => {
    const e = enc[i];
    return JSON.stringify({
      resourceType: 'Encounter', id: `e${i}`, identifier: [{ system: 'https://bench.example/his/encounter', value: `V${i}` }], status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: i % 20 === 0 ? 'IMP' : 'AMB' },
      subject: { reference: `Patient/${e.resident}` }, serviceProvider: { reference: `Organization/${e.org}` },
      period: { start: cst(e.start), end: cst(e.start + 20 * 60_000) },
    });
  });
  await writeLines(join(dir, 'Observation.ndjson'), encounters * perEncounter, (i) => {
    const e = enc[Math.floor(i / perEncounter)];
    const v = VITALS[i % VITALS.length];
    const value = Math.round((v.lo + r() * (v.hi - v.lo)) * 10) / 10;
    return JSON.stringify({
      resourceType: 'Observation', id: `o${i}`, status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
      code: { coding: [{ system: 'http://loinc.org', code: v.code, display: v.display }] },
      subject: { reference: `Patient/${e.resident}` }, encounter: { reference: `Encounter/e${Math.floor(i / perEncounter)}` },
      effectiveDateTime: cst(e.start + 5 * 60_000), performer: [{ reference: `Organization/${e.org}` }],
      valueQuantity: { value, unit: v.unit, system: 'http://unitsofmeasure.org', code: v.unit },
    });
  });
}

/** The imported rows as COPY text in 5,000-row chunks (untimed), for the raw reference. */
export async function copyText(db: Db, tableName: string, chunk: number, after = 0): Promise<{ columns: string[]; chunks: string[] }> {
  const { rows: cols } = await db.query(
    `SELECT a.attname AS name FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, [tableName]);
  const columns = cols.map((c) => c.name as string);
  const chunks: string[] = [];
  for (let last = after; ;) {
    const { rows } = await db.query(`SELECT ${columns.map((c) => (c === 'extra' || c === 'components' ? `${c}::text AS ${c}` : c)).join(', ')} FROM ${tableName} WHERE id > $1 ORDER BY id LIMIT ${chunk}`, [last]);
    if (!rows.length) break;
    chunks.push(rows.map((row) => columns.map((c) => copyValue(row[c])).join('\t')).join('\n') + '\n');
    last = rows[rows.length - 1].id;
  }
  return { columns, chunks };
}

async function runEngine(engine: Engine, dir: string, opts: Required<BulkImportBenchOptions>, generated: { done: boolean }): Promise<Result> {
  const seed = (db: Db) => seedDistrict(db, BENCH_KEYS, { profile: 'dongcheng', seed: BENCH_SEED, residents: opts.residents, adminPassword: ADMIN_PASSWORD, demoPassword: DEMO_PASSWORD });
  log(`${engine}: seeding dongcheng (${fmt.int(opts.residents)} residents, untimed${opts.seedCache ? ', or copying the kept seed' : ''})`);
  const b = opts.seedCache ? await seededDb(engine, `bulk_${opts.residents}`, seed) : await freshDb(engine);
  try {
    if (!opts.seedCache) await seed(b.db);
    const encounters = Math.ceil(opts.observations / opts.perEncounter);
    if (!generated.done) {
      const { rows } = await b.db.query("SELECT max(id)::bigint AS max FROM resident");
      const hosp = await b.db.query("SELECT id FROM institution WHERE type LIKE '%hospital%' ORDER BY id");
      const hospitals = hosp.rows.length ? hosp.rows.map((x) => x.id) : (await b.db.query('SELECT id FROM institution ORDER BY id LIMIT 5')).rows.map((x) => x.id);
      const t = performance.now();
      await generate(dir, encounters, opts.perEncounter, Number(rows[0].max), hospitals);
      generated.done = true;
      const mb = (statSync(join(dir, 'Encounter.ndjson')).size + statSync(join(dir, 'Observation.ndjson')).size) / 2 ** 20;
      log(`generated ${fmt.int(encounters)} Encounters + ${fmt.int(encounters * opts.perEncounter)} Observations as NDJSON (${mb.toFixed(0)} MiB) in ${fmt.s((performance.now() - t) / 1000)} s (untimed)`);
    }
    const { rows: u } = await b.db.query("SELECT id FROM app_user WHERE username = 'admin'");
    const principal = (await loadPrincipal(b.db, u[0].id))!;
    const timings: Record<string, number> = {};
    // both timed phases start from a checkpoint (the raw COPY below too): the seed's dirty pages are not written
    // during one and not the other
    if (engine === 'postgres') await b.db.exec('CHECKPOINT');
    let lastLog = 0;
    const started = performance.now();
    const cpu0 = cpuSnapshot();
    const load = loadAverage();
    const summary = await importStream(
      { db: b.db, keys: BENCH_KEYS, principal, audit: { principal, requestId: 'bench' }, dataDir: b.dataDir, base: 'bench', locale: 'en', batchSize: opts.batch, timings,
        onBatch: (s) => {
          const now = performance.now();
          if (now - lastLog > 10_000) {
            lastLog = now;
            log(`${engine}: ${fmt.int(s.imported)} imported, ${fmt.int(s.imported / ((now - started) / 1000))}/s`);
          }
        } },
      [{ name: 'Encounter.ndjson', lines: fileLines(join(dir, 'Encounter.ndjson')) }, { name: 'Observation.ndjson', lines: fileLines(join(dir, 'Observation.ndjson')) }],
    );
    const importSeconds = (performance.now() - started) / 1000;
    const cpu = cpuShares(cpu0, cpuSnapshot(), importSeconds, 0);
    log(`${engine}: import ${fmt.s(importSeconds)} s, ${fmt.int(summary.imported / importSeconds)} resources/s, ${summary.failed} failed lines`);
    if (summary.failed) log(`first error: ${JSON.stringify(summary.error[0])}`);
    // raw reference: the same rows, COPYed into the emptied tables
    const enc = await copyText(b.db, 'encounter', opts.batch);
    const obs = await copyText(b.db, 'observation', opts.batch);
    await b.db.exec('TRUNCATE observation, encounter');
    if (engine === 'postgres') await b.db.exec('CHECKPOINT');
    const r0 = performance.now();
    await b.db.copyFrom('encounter', enc.columns, enc.chunks);
    const r1 = performance.now();
    await b.db.copyFrom('observation', obs.columns, obs.chunks);
    const rawSeconds = (performance.now() - r0) / 1000;
    log(`${engine}: raw COPY of the same ${fmt.int(summary.imported)} rows ${fmt.s(rawSeconds)} s (Encounter ${fmt.s((r1 - r0) / 1000)} s, Observation ${fmt.s((performance.now() - r1) / 1000)} s)`);
    return { engine, encounters, observations: encounters * opts.perEncounter, importSeconds, rawSeconds, failed: summary.failed, timings, cpu, load };
  } finally {
    await b.dispose();
  }
}

export async function runBulkImportBench(o: BulkImportBenchOptions): Promise<string> {
  const opts: Required<BulkImportBenchOptions> = { engine: o.engine ?? 'both', observations: o.observations ?? 1_000_000, perEncounter: o.perEncounter ?? 5, residents: o.residents ?? 700_000, batch: o.batch ?? 5000, seedCache: o.seedCache ?? false };
  log(`bulk-import benchmark: ${fmt.int(opts.observations)} Observations, ${opts.perEncounter} per Encounter; ${machine()}`);
  const dir = mkdtempSync(join(tmpdir(), 'cg-bench-ndjson-'));
  const results: Result[] = [];
  try {
    const generated = { done: false };
    for (const engine of enginesOf(opts.engine)) results.push(await runEngine(engine, dir, opts, generated));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const rows = results.map((r) => {
    const n = r.encounters + r.observations;
    const target = r.engine === 'postgres' ? 10_000 : 3_000;
    const rate = n / r.importSeconds;
    const ratio = r.importSeconds / r.rawSeconds;
    return [r.engine === 'pglite' ? 'PGlite (file, own thread)' : 'PostgreSQL', fmt.int(r.encounters), fmt.int(r.observations), fmt.s(r.importSeconds), `**${fmt.int(rate)}**`,
      fmt.s(r.rawSeconds), fmt.int(n / r.rawSeconds), `**${fmt.ratio(ratio)}**`, r.failed,
      `≥ ${fmt.int(target)}/s: ${rate >= target ? 'met' : 'not met'}; ≤ 2×: ${ratio <= 2 ? 'met' : 'not met'}`];
  });
  const out = [table(['engine', 'Encounters', 'Observations', 'import s', 'resources/s', 'raw COPY s', 'raw rows/s', 'import / raw', 'failed lines', 'target'], rows), ''];
  for (const r of results) {
    const phases = Object.entries(r.timings).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${fmt.s(v)}`).join(', ');
    const c = r.cpu;
    out.push(`- ${r.engine}: phases (s, summed over batches): ${phases}. CPU (cores of ${c?.cores ?? '?'}): busy ${c ? c.busy.toFixed(2) : '?'}, this process ${c ? c.server.toFixed(2) : '?'}, postgres ${c ? c.postgres.toFixed(2) : '?'}, other ${c ? c.other.toFixed(2) : '?'}; load average at start ${r.load}.`);
  }
  return out.join('\n');
}
