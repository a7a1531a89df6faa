// Records benchmark (issue 4, Performance): on a seeded dongcheng district (700,000 residents) with 5,000,000
// synthetic encounters,
//   1. transaction Bundles of 100 entries (4 visits: an Encounter by urn:uuid, 20 Observations, 4 Conditions each;
//      patients named by a conditional reference to their identity number or by Patient/<id>; every entry with the
//      sender's identifier) posted to POST /fhir/R4 by 8 concurrent clients with an institution bearer token —
//      resources/s and p50/p99 per bundle, against the raw reference: the same rows with plain multi-row INSERTs, one
//      transaction per bundle, 8 concurrent connections;
//   2. GET /fhir/R4/Patient/{id}/$everything and GET /api/v1/residents/{id}/timeline?pageSize=200 for residents with
//      exactly 200 records (8 visits written through the FHIR API, and none of the bulk encounters), auditing on —
//      p50/p99 at 8 connections, against the raw reference: the server's own statements, captured and replayed.
//
// Both loads run autocannon in a child process (bench/records-load.ts), as the lookup benchmark does.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../src/config.ts';
import { openDb, openPostgres, type Db, type Queryable } from '../src/db/engine.ts';
import { migrate } from '../src/db/migrate.ts';
import { SYSTEM } from '../src/fhir/datatypes.ts';
import { everything } from '../src/fhir/everything.ts';
import { decryptField } from '../src/platform/crypto.ts';
import type { AuditContext } from '../src/platform/audit.ts';
import { loadPrincipal, type Principal } from '../src/platform/principal.ts';
import * as records from '../src/modules/records/service.ts';
import { startServer } from '../src/server.ts';
import { Rng } from '../src/synth/random.ts';
import { isEmpty, seedDistrict, withoutSecondaryIndexes } from '../src/synth/seed.ts';
import {
  ADMIN_PASSWORD, BENCH_KEYS, BENCH_SECRET, BENCH_SEED, DEMO_PASSWORD, concurrentLoops, cpuShares, cpuSnapshot, loginCookie, createPgDatabase, loadInChild as forkLoad, enginesOf, fmt, loadAverage, log, machine, table, type Engine,
} from './common.ts';
import { RESOURCES_PER_VISIT, bundleOf, insertVisitsRaw, nextVisits, type BundlePatient } from './records-data.ts';
import type { RecordsLoadJob, RecordsLoadSummary } from './records-load.ts';

export interface RecordsBenchOptions {
  engine?: string;
  residents?: number;
  encounters?: number;
  dataDir?: string;
  databaseUrl?: string;
  connections?: number;
  duration?: number;
  warmup?: number;
  rawDuration?: number;
  /** residents with 200 records each for the read measurement */
  targets?: number;
  only?: string;
  minimal?: boolean;
}

const VISITS_PER_BUNDLE = 4; // 4 × 25 = 100 entries
const TARGET_VISITS = 8; // 8 × 25 = 200 records
const TARGET_TAG = 'target';

interface Load {
  summary: RecordsLoadSummary;
  cpu: ReturnType<typeof cpuShares>;
  loadBefore: string;
  loadAfter: string;
}
interface RawRun {
  perSecond: number;
  p50: number;
  p99: number;
  count: number;
  cpu: ReturnType<typeof cpuShares>;
}
interface EngineResult {
  engine: Engine;
  residents: number;
  encounters: number;
  prep: string[];
  bundles?: { http: Load; resourcesPerSecond: number; rowsAdded: number; raw: RawRun; rawResourcesPerSecond: number };
  reads?: { everything: Load; timeline: Load; rawEverything: RawRun; rawTimeline: RawRun; targets: number; everythingEntries: number; timelineItems: number; auditRows: number; okRequests: number; everythingStatements: number; timelineStatements: number };
}

export async function runRecordsBench(opts: RecordsBenchOptions): Promise<string> {
  const engines = enginesOf(opts.engine);
  log(`records benchmark: engines ${engines.join(', ')}; ${machine()}`);
  const results: EngineResult[] = [];
  for (const engine of engines) results.push(await runEngine(engine, opts));
  return report(results, opts);
}

async function countOf(q: Queryable, sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await q.query<{ n: number }>(sql, params);
  return Number(rows[0].n);
}

// ── preparation ──

/** A community health centre of the seeded registry and the residents it serves (its region), for the token. */
async function centreAndArea(db: Queryable) {
  const { rows } = await db.query<{ id: number; region_id: number; level: string }>(
    `SELECT i.id, i.region_id, g.level FROM institution i JOIN region g ON g.id = i.region_id
      WHERE i.type = 'community_health_centre' AND g.level IN ('street', 'community') ORDER BY i.id LIMIT 1`,
  );
  if (!rows[0]) throw new Error('no community health centre in the seeded registry');
  const c = rows[0];
  const column = c.level === 'street' ? 'street_id' : 'community_id';
  const { rows: area } = await db.query<{ id: number; id_number_enc: Uint8Array }>(
    `SELECT id, id_number_enc FROM resident WHERE ${column} = $1 AND status = 'active' AND id_number_enc IS NOT NULL ORDER BY id`, [c.region_id],
  );
  return { institutionId: c.id, area };
}

/** Deterministic sample of `n` of the area's residents: the 200-record targets first, then the bundle patients. */
function sample<T>(items: T[], n: number, stream: number): T[] {
  const rng = new Rng(BENCH_SEED, stream);
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy.slice(0, n);
}

const CLASSES = ['outpatient', 'outpatient', 'outpatient', 'outpatient', 'emergency', 'inpatient', 'home_visit', 'health_check', 'follow_up', 'fever_clinic'];
const DEPARTMENTS = ['全科', '内科', '心内科', '内分泌科', '呼吸科', '急诊科', '儿科', '妇科', '骨科', '眼科'];

/** `total` synthetic encounters spread over the residents (targets excluded), COPYed in 100,000-row chunks. */
async function loadEncounters(db: Db, total: number, maxResidentId: number, exclude: Set<number>) {
  const { rows: inst } = await db.query<{ id: number }>("SELECT id FROM institution WHERE type <> 'health_commission' ORDER BY id");
  const institutions = inst.map((r) => r.id);
  const rng = new Rng(BENCH_SEED, 77);
  const base = Date.UTC(2016, 0, 1);
  const span = 10 * 365 * 86400_000;
  const pad = (n: number) => (n < 10 ? '0' : '') + n;
  const ts = (ms: number) => {
    const d = new Date(ms);
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}+00`;
  };
  function* chunks() {
    const CHUNK = 100_000;
    for (let done = 0; done < total; done += CHUNK) {
      const lines: string[] = [];
      for (let i = 0; i < Math.min(CHUNK, total - done); i++) {
        let rid = rng.int(1, maxResidentId);
        while (exclude.has(rid)) rid = rng.int(1, maxResidentId);
        const cls = rng.pick(CLASSES);
        const start = base + Math.floor(rng.next() * span);
        const end = start + (cls === 'inpatient' ? rng.int(2, 14) * 86400_000 : rng.int(10, 90) * 60_000);
        lines.push(`${rid}\t${rng.pick(institutions)}\t${cls}\tfinished\t${rng.pick(DEPARTMENTS)}\t${ts(start)}\t${ts(end)}\n`);
      }
      yield lines.join('');
      if ((done / CHUNK) % 10 === 9) log(`  … ${fmt.int(done + CHUNK)} encounters`);
    }
  }
  await withoutSecondaryIndexes(db, ['encounter'], () => db.copyFrom('encounter', ['resident_id', 'institution_id', 'class', 'status', 'department', 'start_at', 'end_at'], chunks()));
  await db.exec('ANALYZE encounter');
}

// ── the server and its clients ──

function loadInChild(job: RecordsLoadJob): Promise<RecordsLoadSummary> {
  return forkLoad<RecordsLoadJob, RecordsLoadSummary>(new URL('./records-load.ts', import.meta.url), job);
}

async function measured(job: RecordsLoadJob): Promise<Load> {
  const loadBefore = loadAverage();
  const snap0 = cpuSnapshot();
  const t0 = performance.now();
  const summary = await loadInChild(job);
  for (const k of ['p50', 'p90', 'p99', 'max'] as const) summary[k] ??= NaN; // NaN crosses IPC as null
  const wall = (performance.now() - t0) / 1000;
  const cpu = cpuShares(snap0, cpuSnapshot(), wall, summary.cpuSeconds);
  return { summary, cpu, loadBefore, loadAfter: loadAverage() };
}

/** `connections` loops issuing `op` for `seconds`; `op` returns the resources it wrote. */
async function rawLoops(connections: number, seconds: number, op: (loop: number, n: number) => Promise<number>): Promise<RawRun> {
  let count = 0;
  const r = await concurrentLoops(connections, seconds, async (loop, n) => {
    count += await op(loop, n);
  });
  return { perSecond: r.perSecond, p50: r.p50, p99: r.p99, count, cpu: r.cpu };
}

/** A Queryable over `db` that records every statement it passes on. */
function recording(db: Queryable) {
  const statements: { sql: string; params: unknown[] }[] = [];
  const q: Queryable = {
    async query<T>(sql: string, params: unknown[] = []) {
      statements.push({ sql, params });
      return db.query<T>(sql, params);
    },
    exec: (sql: string) => db.exec(sql),
  };
  return { q, statements };
}

async function post(url: string, headers: Record<string, string>, body: unknown) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': url.includes('/fhir/') ? 'application/fhir+json' : 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json().catch(() => null)) as any };
}

async function runEngine(engine: Engine, opts: RecordsBenchOptions): Promise<EngineResult> {
  const residents = opts.residents ?? 700_000;
  const encounters = opts.encounters ?? 5_000_000;
  const connections = opts.connections ?? 8;
  const duration = opts.duration ?? 20;
  const warmup = opts.warmup ?? 3;
  const rawDuration = opts.rawDuration ?? 10;
  const targetsWanted = opts.targets ?? 200;
  const parts = opts.only ? opts.only.split(',') : ['bundles', 'reads'];
  const ownDataDir = !opts.dataDir || engine === 'postgres';
  const dataDir = engine === 'pglite' && opts.dataDir ? opts.dataDir : mkdtempSync(join(tmpdir(), 'cg-bench-records-'));
  const pgDatabase = engine === 'postgres' && !opts.databaseUrl ? await createPgDatabase(undefined, 'cg_bench_records') : null;
  const databaseUrl = engine === 'postgres' ? (opts.databaseUrl ?? pgDatabase!.url) : undefined;
  const prep: string[] = [];
  try {
    // ── 1. the district, the bulk encounters (targets excluded) ──
    let targetIds: number[];
    let patients: BundlePatient[];
    let institutionId: number;
    let encounterCount: number;
    let residentCount: number;
    {
      const db = engine === 'pglite' ? await openDb({ dataDir }) : await openPostgres(databaseUrl!, 4);
      try {
        await migrate(db);
        if (await isEmpty(db)) {
          log(`${engine}: seeding dongcheng with ${fmt.int(residents)} residents…`);
          const r = await seedDistrict(db, BENCH_KEYS, { profile: 'dongcheng', seed: BENCH_SEED, residents, adminPassword: ADMIN_PASSWORD, demoPassword: DEMO_PASSWORD });
          prep.push(`seeded ${fmt.int(residents)} residents in ${fmt.s(r.seconds)} s`);
        } else log(`${engine}: reusing the seeded database`);
        const centre = await centreAndArea(db);
        institutionId = centre.institutionId;
        const shuffled = sample(centre.area, centre.area.length, 5);
        if (shuffled.length < targetsWanted + 400) throw new Error(`the centre's area has only ${shuffled.length} residents`);
        targetIds = shuffled.slice(0, targetsWanted).map((r) => r.id);
        // bundle patients: half named by identity number (conditional reference), half by Patient/<id>
        patients = shuffled.slice(targetsWanted, targetsWanted + 2000).map((r, i) => ({
          residentId: r.id,
          reference: i % 2 === 0 ? `Patient?identifier=${encodeURIComponent(`${SYSTEM.idCard}|${decryptField(BENCH_KEYS, r.id_number_enc)}`)}` : `Patient/${r.id}`,
        }));
        residentCount = await countOf(db, 'SELECT count(*)::int AS n FROM resident');
        const have = await countOf(db, 'SELECT count(*)::int AS n FROM encounter WHERE source_id IS NULL');
        if (have === 0 && encounters > 0) {
          const maxId = await countOf(db, 'SELECT max(id)::int AS n FROM resident');
          log(`${engine}: COPY ${fmt.int(encounters)} encounters…`);
          const t0 = performance.now();
          await loadEncounters(db, encounters, maxId, new Set(targetIds));
          const s = (performance.now() - t0) / 1000;
          prep.push(`${fmt.int(encounters)} encounters COPYed (indexes rebuilt after) in ${fmt.s(s)} s`);
          log(`${engine}: encounters loaded in ${fmt.s(s)} s`);
        } else if (have) log(`${engine}: reusing ${fmt.int(have)} bulk encounters`);
        encounterCount = await countOf(db, 'SELECT count(*)::int AS n FROM encounter');
      } finally {
        await db.close();
      }
    }

    // ── 2. the real server, an institution token for the centre, the admin session ──
    const config = loadConfig({
      port: 0, host: '127.0.0.1', dataDir, databaseUrl, secret: BENCH_SECRET, adminPassword: ADMIN_PASSWORD, demoPassword: DEMO_PASSWORD, firstStartSeed: 'none', logLevel: 'silent',
    });
    const started = await startServer(config);
    const result: EngineResult = { engine, residents: residentCount, encounters: encounterCount, prep };
    try {
      const base = await started.app.listen({ port: 0, host: '127.0.0.1' });
      const db = started.ctx.db;
      const cookie = await loginCookie(base, 'admin', ADMIN_PASSWORD);
      const tok = await post(`${base}/api/v1/tokens`, { cookie }, { institutionId, name: `bench ${new Date().toISOString()}` });
      if (tok.status !== 201) throw new Error(`token: ${tok.status} ${JSON.stringify(tok.body)}`);
      const bearer = { authorization: `Bearer ${tok.body.token}`, ...(opts.minimal ? { prefer: 'return=minimal' } : {}) };

      // ── 3. the 200-record residents, written through the FHIR API (8 visits each, 2 per bundle) ──
      const targetPatients: BundlePatient[] = targetIds.map((id) => ({ residentId: id, reference: `Patient/${id}` }));
      const haveTarget = await countOf(db, `SELECT count(*)::int AS n FROM encounter WHERE resident_id = ANY($1::bigint[])`, [targetIds]);
      if (haveTarget === 0 && parts.includes('reads')) {
        log(`${engine}: writing ${TARGET_VISITS} visits for each of ${targetIds.length} residents through POST /fhir/R4…`);
        const t0 = performance.now();
        const per = targetIds.length / VISITS_PER_BUNDLE;
        const jobs = Array.from({ length: TARGET_VISITS * per }, (_, n) => n);
        await Promise.all(Array.from({ length: connections }, async () => {
          for (let n = jobs.shift(); n !== undefined; n = jobs.shift()) {
            const r = await post(`${base}/fhir/R4`, bearer, bundleOf(nextVisits(targetPatients, n, VISITS_PER_BUNDLE, TARGET_TAG)));
            if (r.status !== 200) throw new Error(`target bundle: ${r.status} ${JSON.stringify(r.body).slice(0, 500)}`);
          }
        }));
        prep.push(`${fmt.int(targetIds.length * TARGET_VISITS * RESOURCES_PER_VISIT)} records of the 200-record residents written through the FHIR API in ${fmt.s((performance.now() - t0) / 1000)} s`);
      }
      if (parts.includes('reads')) {
        const per = await db.query<{ n: number }>(
          `SELECT (SELECT count(*) FROM encounter e WHERE e.resident_id = r.id) + (SELECT count(*) FROM observation o WHERE o.resident_id = r.id) + (SELECT count(*) FROM condition c WHERE c.resident_id = r.id) AS n
             FROM unnest($1::bigint[]) AS r(id)`, [targetIds]);
        const bad = per.rows.filter((r) => Number(r.n) !== TARGET_VISITS * RESOURCES_PER_VISIT);
        if (bad.length) throw new Error(`${bad.length} target residents do not have exactly 200 records (e.g. ${bad[0].n})`);
      }

      // ── 4. bundles ──
      if (parts.includes('bundles')) {
        const tag = `run${Date.now()}`;
        const probe = await post(`${base}/fhir/R4`, bearer, bundleOf(nextVisits(patients, 1_000_000, VISITS_PER_BUNDLE, `${tag}-probe`)));
        if (probe.status !== 200 || probe.body.entry.length !== 100 || !probe.body.entry.every((e: any) => e.response.status === '201 Created')) {
          throw new Error(`probe bundle: ${probe.status} ${JSON.stringify(probe.body).slice(0, 800)}`);
        }
        const job: RecordsLoadJob = { url: base, headers: { ...bearer, 'content-type': 'application/fhir+json', accept: 'application/fhir+json' }, connections, duration, bundles: { patients, visitsPerBundle: VISITS_PER_BUNDLE, tag } };
        if (warmup > 0) {
          log(`${engine}: bundles warm-up ${warmup} s`);
          await loadInChild({ ...job, duration: warmup, bundles: { ...job.bundles!, tag: `${tag}-warm` } });
        }
        await new Promise((r) => setTimeout(r, 3000)); // bundles still in flight when the warm-up stopped finish first
        const rows = () => countOf(db, 'SELECT (SELECT count(*) FROM encounter) + (SELECT count(*) FROM observation) + (SELECT count(*) FROM condition) AS n');
        const before = await rows();
        log(`${engine}: bundles, ${connections} clients for ${duration} s (load average ${loadAverage()})`);
        const http = await measured(job);
        await new Promise((r) => setTimeout(r, 2000));
        const rowsAdded = (await rows()) - before;
        const resourcesPerSecond = (http.summary.ok2xx * 100) / http.summary.duration;
        log(`${engine}: ${fmt.int(resourcesPerSecond)} resources/s (${http.summary.okPerSecond.toFixed(1)} bundles/s), p50 ${http.summary.p50.toFixed(0)} ms, p99 ${http.summary.p99.toFixed(0)} ms, non-2xx ${http.summary.non2xx}, errors ${http.summary.errors}, timeouts ${http.summary.timeouts} ${JSON.stringify(http.summary.statusCodes)} ${http.summary.firstError ?? ''}, rows +${rowsAdded}`);
        log(`${engine}: raw multi-row INSERTs, ${connections} connections for ${rawDuration} s`);
        const raw = await rawLoops(connections, rawDuration, (loop, n) => db.tx((q) => insertVisitsRaw(q, nextVisits(patients, n, VISITS_PER_BUNDLE, `${tag}-raw`), institutionId)));
        const rawResourcesPerSecond = raw.perSecond * 100; // every bundle is 100 rows
        log(`${engine}: raw ${fmt.int(rawResourcesPerSecond)} resources/s, p50 ${raw.p50.toFixed(1)} ms, p99 ${raw.p99.toFixed(1)} ms`);
        result.bundles = { http, resourcesPerSecond, rowsAdded, raw, rawResourcesPerSecond };
      }

      // ── 5. $everything and the timeline ──
      if (parts.includes('reads')) {
        const headers = { cookie, accept: 'application/json' };
        const ev = await fetch(`${base}/fhir/R4/Patient/${targetIds[0]}/$everything`, { headers }).then((r) => r.json() as any);
        const everythingEntries = ev.entry?.length ?? 0;
        if (ev.entry?.filter((e: any) => e.search.mode === 'match').length !== 201) throw new Error(`$everything probe: ${JSON.stringify(ev).slice(0, 500)}`);
        const tl = await fetch(`${base}/api/v1/residents/${targetIds[0]}/timeline?pageSize=200`, { headers }).then((r) => r.json() as any);
        if (tl.items?.length !== 200 || tl.total !== 200) throw new Error(`timeline probe: ${JSON.stringify(tl).slice(0, 500)}`);
        let auditRows = 0;
        const run = async (label: string, paths: string[]) => {
          const job: RecordsLoadJob = { url: base, headers, connections, duration, paths };
          if (warmup > 0) await loadInChild({ ...job, duration: warmup });
          await new Promise((r) => setTimeout(r, 1000));
          const auditBefore = await countOf(db, 'SELECT count(*)::int AS n FROM audit_event');
          log(`${engine}: ${label}, ${connections} connections for ${duration} s (load average ${loadAverage()})`);
          const m = await measured(job);
          await new Promise((r) => setTimeout(r, 1000));
          auditRows += (await countOf(db, 'SELECT count(*)::int AS n FROM audit_event')) - auditBefore;
          log(`${engine}: ${label} ${m.summary.okPerSecond.toFixed(0)}/s, p50 ${m.summary.p50.toFixed(1)} ms, p99 ${m.summary.p99.toFixed(1)} ms, non-2xx ${m.summary.non2xx}`);
          return m;
        };
        const everythingLoad = await run('$everything', targetIds.map((id) => `/fhir/R4/Patient/${id}/$everything`));
        const timelineLoad = await run('timeline', targetIds.map((id) => `/api/v1/residents/${id}/timeline?pageSize=200`));

        // raw: the server's statements for one call, captured on the real database and replayed per target
        const adminId = await countOf(db, "SELECT id AS n FROM app_user WHERE username = 'admin'");
        const principal = (await loadPrincipal(db, adminId)) as Principal;
        const actx: AuditContext = { principal, clientIp: '127.0.0.1', requestId: 'bench-capture', purpose: null };
        const capEv = recording(db);
        await everything({ q: capEv.q, keys: started.ctx.keys, principal, audit: actx, base: `${base}/fhir/R4` }, targetIds[0], {});
        const capTl = recording(db);
        await records.timeline(capTl.q, { principal, audit: actx }, targetIds[0], { page: 1, pageSize: 200 });
        const replay = (statements: { sql: string; params: unknown[] }[]) => async (q: Queryable, id: number) => {
          for (const st of statements) {
            await q.query(st.sql, st.params.map((v) => (v === targetIds[0] ? id : v === String(targetIds[0]) ? String(id) : v)));
          }
          return 1;
        };
        const evReplay = replay(capEv.statements);
        const tlReplay = replay(capTl.statements);
        log(`${engine}: raw $everything (${capEv.statements.length} statements), timeline (${capTl.statements.length})`);
        const rawEverything = await rawLoops(connections, rawDuration, (_l, n) => evReplay(db, targetIds[n % targetIds.length]));
        const rawTimeline = await rawLoops(connections, rawDuration, (_l, n) => tlReplay(db, targetIds[n % targetIds.length]));
        log(`${engine}: raw $everything p50 ${rawEverything.p50.toFixed(1)} ms p99 ${rawEverything.p99.toFixed(1)} ms; timeline p50 ${rawTimeline.p50.toFixed(1)} ms p99 ${rawTimeline.p99.toFixed(1)} ms`);
        result.reads = {
          everything: everythingLoad, timeline: timelineLoad, rawEverything, rawTimeline, targets: targetIds.length, everythingEntries, timelineItems: tl.items.length, auditRows,
          okRequests: everythingLoad.summary.ok2xx + timelineLoad.summary.ok2xx, everythingStatements: capEv.statements.length, timelineStatements: capTl.statements.length,
        };
      }
    } finally {
      await started.close();
    }
    return result;
  } finally {
    if (pgDatabase) await pgDatabase.drop();
    if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

// ── report ──

const engineName = (e: Engine) => (e === 'pglite' ? 'PGlite (file, own thread)' : 'PostgreSQL');
const cpuLine = (c: ReturnType<typeof cpuShares>) => (c ? `machine busy ${c.busy.toFixed(2)} of ${c.cores} cores (server ${c.server.toFixed(2)}, postgres ${c.postgres.toFixed(2)}, load generator ${c.loadGen.toFixed(2)}, other ${c.other.toFixed(2)})` : 'n/a');

function report(results: EngineResult[], opts: RecordsBenchOptions): string {
  const connections = opts.connections ?? 8;
  const out: string[] = [`### records — ${new Date().toISOString().slice(0, 10)}, ${machine()}`, ''];
  const withBundles = results.filter((r) => r.bundles);
  if (withBundles.length) {
    out.push(`Transaction bundles of 100 entries, ${connections} clients, institution token${opts.minimal ? ', Prefer: return=minimal' : ''}:`, '');
    out.push(table(
      ['engine', 'residents / encounters', 'resources/s', 'bundles/s', 'p50 ms', 'p99 ms', 'non-2xx', 'rows added / 2xx × 100', 'raw multi-row INSERT resources/s (p50 / p99 ms)', 'HTTP / raw', 'load average before → after', 'target ≥ 5,000/s (PostgreSQL)'],
      withBundles.map((r) => {
        const b = r.bundles!;
        const s = b.http.summary;
        return [engineName(r.engine), `${fmt.int(r.residents)} / ${fmt.int(r.encounters)}`, `**${fmt.int(b.resourcesPerSecond)}**`, s.okPerSecond.toFixed(1), s.p50.toFixed(0), s.p99.toFixed(0), s.non2xx + s.errors + s.timeouts,
          `${fmt.int(b.rowsAdded)} / ${fmt.int(s.ok2xx * 100)}`, `${fmt.int(b.rawResourcesPerSecond)} (${b.raw.p50.toFixed(1)} / ${b.raw.p99.toFixed(1)})`, fmt.ratio(b.resourcesPerSecond / b.rawResourcesPerSecond),
          `${b.http.loadBefore} → ${b.http.loadAfter}`, r.engine === 'postgres' ? (b.resourcesPerSecond >= 5000 ? 'met' : 'MISSED') : '—'];
      }),
    ));
    out.push('');
    for (const r of withBundles) out.push(`- ${r.engine}: CPU during the HTTP run: ${cpuLine(r.bundles!.http.cpu)}; raw run: ${cpuLine(r.bundles!.raw.cpu)}.`);
    out.push('');
  }
  const withReads = results.filter((r) => r.reads);
  if (withReads.length) {
    out.push(`Reads of residents with 200 records, ${connections} connections, auditing on (admin session):`, '');
    const rows: (string | number)[][] = [];
    for (const r of withReads) {
      const x = r.reads!;
      for (const [label, m, raw] of [['Patient/$everything', x.everything, x.rawEverything], ['timeline?pageSize=200', x.timeline, x.rawTimeline]] as const) {
        const s = m.summary;
        rows.push([engineName(r.engine), `${fmt.int(r.residents)} / ${fmt.int(r.encounters)}`, label, fmt.int(s.okPerSecond), s.p50.toFixed(1), `**${s.p99.toFixed(1)}**`, s.non2xx + s.errors + s.timeouts,
          `${fmt.int(raw.perSecond)} (${raw.p50.toFixed(1)} / ${raw.p99.toFixed(1)})`, fmt.ratio(s.p50 / raw.p50), `${m.loadBefore} → ${m.loadAfter}`, s.p99 < 50 ? 'met' : 'MISSED']);
      }
    }
    out.push(table(['engine', 'residents / encounters', 'request', 'requests/s', 'p50 ms', 'p99 ms', 'non-2xx', 'raw statements /s (p50 / p99 ms)', 'p50 HTTP / raw', 'load average before → after', 'target p99 < 50 ms'], rows));
    out.push('');
    for (const r of withReads) {
      const x = r.reads!;
      out.push(`- ${r.engine}: ${x.targets} residents with 200 records each; $everything returns ${x.everythingEntries} entries (201 matches + organizations), the timeline ${x.timelineItems} items; ` +
        `audit rows added ${fmt.int(x.auditRows)} for ${fmt.int(x.okRequests)} 2xx; raw = the server's statements captured on the real database and replayed (${x.everythingStatements} for $everything, ${x.timelineStatements} for the timeline, each run as the server runs it, without a transaction). ` +
        `CPU: $everything ${cpuLine(x.everything.cpu)}; timeline ${cpuLine(x.timeline.cpu)}.`);
    }
    out.push('');
  }
  for (const r of results) if (r.prep.length) out.push(`- ${r.engine} preparation: ${r.prep.join('; ')}.`);
  out.push('', `load average at the end: ${loadAverage()}`);
  return out.join('\n');
}
