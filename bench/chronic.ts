// Chronic-disease management benchmark: `npm run bench -- chronic`. On dongcheng seeded with its family-doctor history
// (contracts, about 130,000 hypertension and 50,000 diabetes enrolments, 3 years of follow-ups):
//   kpis     — recomputing the district's live KPI periods (this month, quarter and year) through
//              recompute(), each period timed; then GET /api/v1/chronic/kpis at four levels over HTTP (4 clients),
//              p50/p99, against the raw engine: the statements of one read replayed straight through the Db.
//   worklist — GET /api/v1/worklist for a team with 3,000 contracted residents (the largest team, topped up with
//              contracts when short), five filters over HTTP (4 clients), p50/p99, against the service's statements
//              of one call replayed.
//   import   — a FHIR NDJSON bulk import (importStream, as `caregrid import` and $import run it) of 100,000
//              hypertension/diabetes Conditions of residents not yet enrolled in that programme: every one enrols and
//              gets its first follow-up task. Then the same file again (idempotent: no new enrolment or task). Raw: the
//              rows it wrote (conditions, enrolments, tasks), deleted and COPYed back.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db, Queryable } from '../src/db/engine.ts';
import { openDb } from '../src/db/engine.ts';
import { migrate } from '../src/db/migrate.ts';
import { loadConfig } from '../src/config.ts';
import { startServer } from '../src/server.ts';
import { isEmpty, seedDistrict } from '../src/synth/seed.ts';
import { loadPrincipal } from '../src/platform/principal.ts';
import { hashPassword } from '../src/platform/auth.ts';
import { importStream } from '../src/fhir/bulk/import.ts';
import { fileLines } from '../src/fhir/bulk/ndjson.ts';
import { readKpis, recompute } from '../src/modules/chronic/kpis.ts';
import { PERIOD_KINDS, periodContaining } from '../src/modules/chronic/kpi-periods.ts';
import { WORKLIST_SETTINGS, worklist } from '../src/modules/family-doctor/worklist.ts';
import { copyText, cst, writeLines } from './bulk-import.ts';
import { recorder } from './referral.ts';
import type { WorklistJob, WorklistSummary } from './referral-load.ts';
import {
  ADMIN_PASSWORD, BENCH_KEYS, BENCH_SECRET, BENCH_SEED, DEMO_PASSWORD, concurrentLoops, createPgDatabase, enginesOf, fmt, loadAverage, loadInChild, log, loginCookie, machine, table, type Engine,
} from './common.ts';

export interface ChronicBenchOptions {
  engine?: string;
  residents?: number;
  conditions?: number;
  batch?: number;
  duration?: number;
  warmup?: number;
  only?: string;
  /** PostgreSQL: reuse (or seed and keep) this database */
  databaseUrl?: string;
  /** PGlite: reuse (or seed and keep) this data dir */
  dataDir?: string;
}

const LOAD = new URL('./referral-load.ts', import.meta.url);
const ms = (x: number | null) => (x === null || Number.isNaN(x) ? 'n/a' : x.toFixed(2));

async function one(q: Queryable, sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await q.query(sql, params);
  return Number(Object.values(rows[0])[0]);
}

/** The team with the most contracts in force, topped up to `size` with contracts for residents of its grids. */
async function bigTeam(db: Db, size: number): Promise<{ team: number; institution: number; contracted: number; added: number }> {
  const { rows } = await db.query(
    `SELECT c.team_id, t.institution_id, count(*)::int AS n FROM contract c JOIN team t ON t.id = c.team_id
      WHERE c.status = 'active' AND c.end_date >= current_date GROUP BY 1, 2 ORDER BY n DESC, 1 LIMIT 1`,
  );
  const team = Number(rows[0].team_id);
  const institution = Number(rows[0].institution_id);
  const short = size - rows[0].n;
  if (short > 0) {
    await db.query(
      `WITH r AS (SELECT r.id FROM resident r JOIN team_grid tg ON tg.grid_id = r.grid_id AND tg.team_id = $1
                   WHERE r.status = 'active' AND NOT EXISTS (SELECT 1 FROM contract c WHERE c.resident_id = r.id AND c.status = 'active') ORDER BY r.id LIMIT $3),
       k AS (INSERT INTO contract (resident_id, team_id, institution_id, packages, status, start_date, end_date, consent_method, consent_signed_by, consent_at, care_relationship_id)
             SELECT r.id, $1, $2, '{basic}', 'active', current_date - 30, current_date + 335, 'written', 'self', now(), nextval(pg_get_serial_sequence('care_relationship', 'id')) FROM r
             RETURNING id, resident_id, care_relationship_id, start_date, end_date)
       INSERT INTO care_relationship (resident_id, id, kind, team_id, institution_id, valid_from, valid_to, source_ref)
       SELECT resident_id, care_relationship_id, 'contract', $1, $2, start_date, end_date, 'contract:' || id FROM k`,
      [team, institution, short],
    );
  }
  const contracted = await one(db, "SELECT count(*)::int FROM contract WHERE team_id = $1 AND status = 'active' AND end_date >= current_date", [team]);
  return { team, institution, contracted, added: Math.max(0, short) };
}

interface EngineResult {
  engine: Engine;
  kpi?: { periods: { label: string; seconds: number }[]; total: number; serve: { p50: number; p99: number; count: number }; raw: { p50: number; p99: number }; rows: Record<string, number> };
  worklist?: { team: number; contracted: number; added: number; open: number; serve: WorklistSummary; raw: { p50: number; p99: number } };
  import?: { conditions: number; seconds: number; enrolled: number; tasks: number; again: { seconds: number; enrolled: number; tasks: number }; rawSeconds: number; rawRows: number; failed: number };
  load: string;
}

async function runEngine(engine: Engine, o: Required<Omit<ChronicBenchOptions, 'databaseUrl' | 'dataDir'>> & ChronicBenchOptions): Promise<EngineResult> {
  const keepDir = engine === 'pglite' && o.dataDir;
  const dataDir = keepDir ? o.dataDir! : mkdtempSync(join(tmpdir(), 'cg-bench-chronic-'));
  const database = engine === 'postgres' ? (o.databaseUrl ? { url: o.databaseUrl, drop: async () => {} } : await createPgDatabase()) : null;
  const result: EngineResult = { engine, load: '' };
  const want = (x: string) => o.only === 'all' || o.only.split(',').includes(x);
  try {
    {
      const db = await openDb({ databaseUrl: database?.url, dataDir });
      await migrate(db);
      if (await isEmpty(db)) {
        log(`${engine}: seeding dongcheng with its family-doctor history (${fmt.int(o.residents)} residents, untimed)…`);
        const s = await seedDistrict(db, BENCH_KEYS, { profile: 'dongcheng', seed: BENCH_SEED, residents: o.residents, adminPassword: ADMIN_PASSWORD, demoPassword: DEMO_PASSWORD, feedDays: 0 });
        log(`${engine}: seeded in ${fmt.s(s.seconds)} s: ${JSON.stringify(s.chronic)}`);
      }
      await db.close();
    }
    const config = loadConfig({
      port: 0, host: '127.0.0.1', dataDir, databaseUrl: database?.url, secret: BENCH_SECRET, adminPassword: ADMIN_PASSWORD, demoPassword: DEMO_PASSWORD,
      firstStartSeed: 'none', logLevel: 'silent', pgPoolSize: 16, surveillanceRunHour: 'off', kpiRecomputeMinutes: 'off',
    });
    const started = await startServer(config);
    try {
      const base = await started.app.listen({ port: 0, host: '127.0.0.1' });
      const db = started.ctx.db;
      // a reused database may have been seeded with other passwords
      await db.query("UPDATE app_user SET password_hash = $1 WHERE username = 'admin'", [await hashPassword(ADMIN_PASSWORD)]);
      const admin = await loginCookie(base, 'admin', ADMIN_PASSWORD);
      const adminId = await one(db, "SELECT id FROM app_user WHERE username = 'admin'");
      const adminPrincipal = (await loadPrincipal(db, adminId))!;
      result.load = loadAverage();

      if (want('kpis')) {
        log(`${engine}: recomputing the live KPI periods…`);
        const t0 = performance.now();
        const periods = await recompute(db);
        const total = (performance.now() - t0) / 1000;
        log(`${engine}: recompute ${fmt.s(total)} s (${periods.map((p) => `${p.label} ${fmt.s(p.seconds)}`).join(', ')})`);
        const [month, quarter, year] = PERIOD_KINDS.map((k) => periodContaining(k, new Date()));
        const district = await one(db, "SELECT id FROM region WHERE level = 'district' ORDER BY id LIMIT 1");
        const street = await one(db, "SELECT id FROM region WHERE level = 'street' ORDER BY id LIMIT 1");
        const community = await one(db, 'SELECT id FROM region WHERE parent_id = $1 ORDER BY id LIMIT 1', [street]);
        const centre = await one(db, "SELECT institution_id FROM team WHERE kind = 'family_doctor' ORDER BY id LIMIT 1");
        const queries = [
          { level: 'street', parent: district, period: 'month', at: month.label }, { level: 'community', parent: street, period: 'quarter', at: quarter.label },
          { level: 'grid', parent: community, period: 'year', at: year.label }, { level: 'team', parent: centre, period: 'month', at: month.label },
        ] as const;
        const paths = queries.map((q) => `/api/v1/chronic/kpis?level=${q.level}&parent=${q.parent}&period=${q.period}&at=${q.at}`);
        const serve = await loadInChild<WorklistJob, WorklistSummary>(LOAD, { mode: 'worklist', base, cookie: admin, paths, connections: 4, duration: o.duration, warmup: o.warmup });
        if (serve.non2xx) log(`${engine}: KPI errors: ${serve.errorSample}`);
        const recs = await Promise.all(queries.map(async (q) => {
          const rec = recorder(db);
          await readKpis(rec.q as Db, adminPrincipal, q);
          return rec.statements;
        }));
        const raw = await concurrentLoops(4, Math.min(o.duration, 10), async (_, n) => {
          for (const st of recs[n % recs.length]) await db.query(st.sql, st.params);
        });
        const rows = Object.fromEntries((await db.query("SELECT level, count(*)::int AS n FROM chronic_kpi WHERE period_label = $1 GROUP BY level", [month.label])).rows.map((r) => [r.level, r.n]));
        result.kpi = { periods: periods.map((p) => ({ label: p.label, seconds: p.seconds })), total, serve: serve.all, raw, rows };
      }

      if (want('worklist')) {
        const t = await bigTeam(db, 3000);
        const open = await one(db, `SELECT count(*)::int FROM task WHERE owner_team_id = $1 AND status IN ('requested', 'received', 'accepted', 'ready', 'in-progress', 'on-hold')`, [t.team]);
        await db.query("UPDATE app_user SET team_id = $1, institution_id = $2, password_hash = $3 WHERE username = 'doctor1'", [t.team, t.institution, await hashPassword(DEMO_PASSWORD)]);
        started.ctx.principals.clear();
        const doctor = await loginCookie(base, 'doctor1', DEMO_PASSWORD);
        const paths = ['/api/v1/worklist', '/api/v1/worklist?kind=follow_up', '/api/v1/worklist?priority=urgent', '/api/v1/worklist?programme=diabetes', '/api/v1/worklist?page=5'];
        log(`${engine}: worklist of team ${t.team} (${fmt.int(t.contracted)} contracted, ${fmt.int(t.added)} added; ${fmt.int(open)} open tasks)…`);
        const serve = await loadInChild<WorklistJob, WorklistSummary>(LOAD, { mode: 'worklist', base, cookie: doctor, paths, connections: 4, duration: o.duration, warmup: o.warmup });
        if (serve.non2xx) log(`${engine}: worklist errors: ${serve.errorSample}`);
        const doctorId = await one(db, "SELECT id FROM app_user WHERE username = 'doctor1'");
        const principal = (await loadPrincipal(db, doctorId))!;
        const rec = recorder(db);
        await db.tx((q) => worklist({ q: { query: (sql: string, params?: unknown[]) => { rec.statements.push({ sql, params: params ?? [] }); return q.query(sql, params); }, exec: q.exec }, principal, audit: { principal } }, { page: 1, pageSize: 20 }), { settings: WORKLIST_SETTINGS });
        const raw = await concurrentLoops(4, Math.min(o.duration, 10), async () => {
          await db.tx(async (q) => {
            for (const st of rec.statements) await q.query(st.sql, st.params);
          }, { settings: WORKLIST_SETTINGS });
        });
        result.worklist = { team: t.team, contracted: t.contracted, added: t.added, open, serve, raw };
      }

      if (want('import')) {
        const dir = mkdtempSync(join(tmpdir(), 'cg-bench-conditions-'));
        try {
          // residents not enrolled in the programme of their diagnosis: 70% hypertension, 30% diabetes
          const htn = Math.round(o.conditions * 0.7);
          const pick = async (programme: string, n: number) => (await db.query(
            `SELECT r.id FROM resident r WHERE r.status = 'active' AND NOT EXISTS (SELECT 1 FROM chronic_enrolment e WHERE e.resident_id = r.id AND e.programme_code = $1 AND e.status = 'active')
              ORDER BY md5(r.id::text) LIMIT $2`, [programme, n])).rows.map((r) => Number(r.id));
          const list = [...(await pick('hypertension', htn)).map((id) => ({ id, code: 'I10' })), ...(await pick('diabetes', o.conditions - htn)).map((id) => ({ id, code: 'E11.9' }))];
          const hospitals = (await db.query("SELECT id FROM institution WHERE type LIKE '%hospital%' ORDER BY id")).rows.map((r) => Number(r.id));
          const at0 = Date.now() - 20 * 86_400_000;
          await writeLines(join(dir, 'Condition.ndjson'), list.length, (i) => JSON.stringify({
            resourceType: 'Condition', id: `c${i}`, identifier: [{ system: 'https://bench.example/his/diagnosis', value: `D${i}` }],
            clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
            verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' }] },
            category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'encounter-diagnosis' }] }],
            code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10', code: list[i].code }] }, subject: { reference: `Patient/${list[i].id}` },
            recorder: { reference: `Organization/${hospitals[i % hospitals.length]}` }, recordedDate: cst(at0 + (i % 1000) * 60_000),
          }));
          const counts = async () => ({
            conditions: await one(db, 'SELECT max(id)::bigint FROM condition').catch(() => 0), enrolments: await one(db, 'SELECT count(*)::int FROM chronic_enrolment'),
            tasks: await one(db, "SELECT count(*)::int FROM task WHERE code = 'chronic-enrolment'"), maxEnrolment: await one(db, 'SELECT coalesce(max(id), 0)::bigint FROM chronic_enrolment'),
            maxTask: await one(db, 'SELECT coalesce(max(id), 0)::bigint FROM task'),
          });
          const run = async () => {
            const c0 = await counts();
            if (engine === 'postgres') await db.exec('CHECKPOINT');
            const t0 = performance.now();
            const s = await importStream(
              { db, keys: BENCH_KEYS, principal: adminPrincipal, audit: { principal: adminPrincipal, requestId: 'bench' }, dataDir, base: 'bench', locale: 'en', batchSize: o.batch, timings: {} },
              [{ name: 'Condition.ndjson', lines: fileLines(join(dir, 'Condition.ndjson')) }],
            );
            const seconds = (performance.now() - t0) / 1000;
            const c1 = await counts();
            return { c0, seconds, failed: s.failed, enrolled: c1.enrolments - c0.enrolments, tasks: c1.tasks - c0.tasks, first: s.error[0] };
          };
          log(`${engine}: importing ${fmt.int(list.length)} Conditions…`);
          const first = await run();
          if (first.failed) log(`${engine}: ${first.failed} failed lines, e.g. ${JSON.stringify(first.first)}`);
          log(`${engine}: ${fmt.s(first.seconds)} s, ${fmt.int(list.length / first.seconds)}/s; ${fmt.int(first.enrolled)} enrolments, ${fmt.int(first.tasks)} tasks; again…`);
          const again = await run();
          // raw: the rows the first import wrote, deleted and COPYed back
          const cond = await copyText(db, 'condition', o.batch, first.c0.conditions || 0);
          const enr = await copyText(db, 'chronic_enrolment', o.batch, first.c0.maxEnrolment);
          const tsk = await copyText(db, 'task', o.batch, first.c0.maxTask);
          const rawRows = [cond, enr, tsk].reduce((n, t) => n + t.chunks.reduce((m, c) => m + c.split('\n').length - 1, 0), 0);
          await db.query('DELETE FROM task WHERE id > $1', [first.c0.maxTask]);
          await db.query('DELETE FROM chronic_enrolment WHERE id > $1', [first.c0.maxEnrolment]);
          await db.query('DELETE FROM condition WHERE id > $1', [first.c0.conditions || 0]);
          if (engine === 'postgres') await db.exec('CHECKPOINT');
          const r0 = performance.now();
          await db.copyFrom('condition', cond.columns, cond.chunks);
          await db.copyFrom('chronic_enrolment', enr.columns, enr.chunks);
          await db.copyFrom('task', tsk.columns, tsk.chunks);
          const rawSeconds = (performance.now() - r0) / 1000;
          result.import = { conditions: list.length, seconds: first.seconds, enrolled: first.enrolled, tasks: first.tasks, again: { seconds: again.seconds, enrolled: again.enrolled, tasks: again.tasks }, rawSeconds, rawRows, failed: first.failed };
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }
    } finally {
      await started.close();
    }
  } finally {
    await database?.drop();
    if (!keepDir) rmSync(dataDir, { recursive: true, force: true });
  }
  return result;
}

export async function runChronicBench(opts: ChronicBenchOptions): Promise<string> {
  const o = {
    engine: opts.engine ?? 'both', residents: opts.residents ?? 700_000, conditions: opts.conditions ?? 100_000, batch: opts.batch ?? 5000,
    duration: opts.duration ?? 15, warmup: opts.warmup ?? 3, only: opts.only ?? 'all', databaseUrl: opts.databaseUrl, dataDir: opts.dataDir,
  };
  log(`chronic benchmark; ${machine()}`);
  const results: EngineResult[] = [];
  for (const engine of enginesOf(o.engine)) results.push(await runEngine(engine, o));
  const name = (e: Engine) => (e === 'pglite' ? 'PGlite (file, own thread)' : 'PostgreSQL');
  const out = [`Chronic-disease benchmark — ${new Date().toISOString().slice(0, 10)} — ${machine()} — dongcheng, ${fmt.int(o.residents)} residents`, ''];
  const k = results.filter((r) => r.kpi);
  if (k.length) {
    out.push(table(['engine', 'recompute (live periods) s', 'per period s', 'KPI rows per period', 'serve p50 / p99 ms (4 clients)', 'raw p50 / p99 ms', 'serve / raw (p50)', 'target'],
      k.map((r) => {
        const x = r.kpi!;
        return [name(r.engine), `**${fmt.s(x.total)}**`, x.periods.map((p) => `${p.label} ${fmt.s(p.seconds)}`).join(', '), Object.entries(x.rows).map(([l, n]) => `${l} ${n}`).join(', '),
          `${ms(x.serve.p50)} / **${ms(x.serve.p99)}**`, `${fmt.s(x.raw.p50)} / ${fmt.s(x.raw.p99)}`, fmt.ratio(x.serve.p50 / x.raw.p50),
          `recompute < 10 s: ${x.total < 10 ? 'met' : 'not met'}; serve < 200 ms: ${x.serve.p99 < 200 ? 'met' : 'not met'}`];
      })), '');
  }
  const w = results.filter((r) => r.worklist);
  if (w.length) {
    out.push(table(['engine', 'team: contracted (added) / open tasks', 'requests', 'p50 / p99 ms (4 clients)', 'raw p50 / p99 ms', 'serve / raw (p50)', 'target'],
      w.map((r) => {
        const x = r.worklist!;
        return [name(r.engine), `${fmt.int(x.contracted)} (${fmt.int(x.added)}) / ${fmt.int(x.open)}`, fmt.int(x.serve.all.count), `${ms(x.serve.all.p50)} / **${ms(x.serve.all.p99)}**`,
          `${fmt.s(x.raw.p50)} / ${fmt.s(x.raw.p99)}`, fmt.ratio(x.serve.all.p50 / x.raw.p50), `p99 < 50 ms: ${x.serve.all.p99 < 50 ? 'met' : 'not met'}`];
      })), '');
  }
  const i = results.filter((r) => r.import);
  if (i.length) {
    out.push(table(['engine', 'Conditions', 'import s', 'diagnoses/s', 'enrolments / tasks', 're-import s: new enrolments / tasks', 'raw COPY s (rows)', 'import / raw', 'target'],
      i.map((r) => {
        const x = r.import!;
        const rate = x.conditions / x.seconds;
        return [name(r.engine), fmt.int(x.conditions), fmt.s(x.seconds), `**${fmt.int(rate)}**`, `${fmt.int(x.enrolled)} / ${fmt.int(x.tasks)}`, `${fmt.s(x.again.seconds)}: ${x.again.enrolled} / ${x.again.tasks}`,
          `${fmt.s(x.rawSeconds)} (${fmt.int(x.rawRows)})`, fmt.ratio(x.seconds / x.rawSeconds), r.engine === 'postgres' ? `≥ 2,000/s: ${rate >= 2000 ? 'met' : 'not met'}` : 'a figure'];
      })), '');
  }
  for (const r of results) out.push(`- ${r.engine}: load average at the start of the measurements ${r.load}; at the end ${loadAverage()}.`);
  return out.join('\n');
}
