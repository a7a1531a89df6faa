// `caregrid seed`: loads a synthetic district with COPY. Registry rows are built in memory; residents are built in
// chunks by worker threads (one per core) and streamed to the database as they complete.
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Db, Queryable } from '../db/engine.ts';
import { copyValue } from '../db/engine.ts';
import type { Keys } from '../platform/crypto.ts';
import { hashPassword } from '../platform/auth.ts';
import { buildDistrict, type District, type HouseholdSpec } from './district.ts';
import { profileNamed } from './profiles.ts';
import { seedSlotPools } from './slots.ts';
import { seedSurveillance, type SurveillanceSeedResult } from './surveillance.ts';
import { seedChronic, type ChronicSeedResult } from './chronic.ts';
import { recompute } from '../modules/chronic/kpis.ts';
import { livePeriods } from '../modules/chronic/kpi-periods.ts';
import { withWorklistDeferred } from '../modules/family-doctor/worklist.ts';
import { RESIDENT_COLUMNS, HOUSEHOLD_COLUMNS, generateChunk, householdsCopy, type ChunkKeys, type ChunkSpec } from './residents.ts';

/** A generated chunk as the loader sees it: COPY text, or its UTF-8 bytes when it comes from a worker thread. */
interface LoadChunk {
  count: number;
  residents: string | Uint8Array;
}

export interface SeedOptions {
  profile: string;
  seed: number;
  residents?: number;
  adminPassword?: string;
  demoPassword?: string;
  workers?: number;
  /** the day slot pools are planned from and surveillance feeds run up to (default: now) */
  now?: Date;
  /** days of surveillance feed history (default: the profile's); 0 loads no feeds or case reports */
  feedDays?: number;
  /** contracts, enrolments and follow-ups (default: the profile's) */
  chronic?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface DemoAccount { username: string; role: string; institution: string; note: string }
export interface SeedResult {
  profile: string;
  residents: number;
  households: number;
  institutions: number;
  grids: number;
  teams: number;
  adminPassword: string;
  demoPassword: string;
  accounts: DemoAccount[];
  /** surveillance feeds and case reports, with the injected outbreak; null when feedDays was 0 */
  surveillance: SurveillanceSeedResult | null;
  /** contracts, enrolments, follow-ups and tasks, with the seconds of the KPI computation; null when not seeded */
  chronic: (ChronicSeedResult & { kpiSeconds: number }) | null;
  seconds: number;
}

const CHUNK_RESIDENTS = 10_000;
const TABLES_IN_LOAD_ORDER = ['region', 'institution', 'consortium', 'consortium_member', 'consortium_grid', 'practitioner', 'team', 'team_member', 'team_grid', 'household', 'resident'];

export async function isEmpty(q: Queryable): Promise<boolean> {
  const { rows } = await q.query('SELECT NOT EXISTS (SELECT 1 FROM region) AS empty');
  return rows[0].empty;
}

export async function resetData(db: Db) {
  await db.exec(`TRUNCATE audit_event, api_token, app_user, care_relationship, resident_merge, match_review, resident_source_id, resident, household,
    team_grid, team_member, team, practitioner, consortium_grid, consortium_member, consortium, institution, region RESTART IDENTITY CASCADE`);
}

const rowsOf = <T extends object>(items: T[], cols: (keyof T)[]) => items.map((r) => cols.map((c) => copyValue(r[c])).join('\t') + '\n').join('');

async function loadRegistry(db: Db, d: District) {
  const regionCols = ['id', 'code', 'name', 'name_en', 'level', 'parent_id', 'kind', 'lon', 'lat'] as const;
  await db.copyFrom('region', regionCols, [rowsOf(d.regions, [...regionCols])]);
  await db.copyFrom('region_adjacency', ['region_id', 'neighbour_id'], [rowsOf(d.adjacency, ['region_id', 'neighbour_id'])]);
  // stations reference their centre: load institutions without parent, then set parents
  const instCols = ['id', 'code', 'name', 'name_en', 'type', 'level', 'grade', 'capabilities', 'region_id', 'address', 'beds'] as const;
  await db.copyFrom('institution', instCols, [rowsOf(d.institutions, [...instCols])]);
  const withParent = d.institutions.filter((i) => i.parent_id);
  await db.query('UPDATE institution i SET parent_id = x.p FROM unnest($1::bigint[], $2::bigint[]) AS x(id, p) WHERE i.id = x.id', [withParent.map((i) => i.id), withParent.map((i) => i.parent_id)]);
  await db.copyFrom('consortium', ['id', 'name', 'kind', 'integration', 'specialty', 'lead_institution_id'], [rowsOf(d.consortia, ['id', 'name', 'kind', 'integration', 'specialty', 'lead_institution_id'])]);
  await db.copyFrom('consortium_member', ['consortium_id', 'institution_id', 'role'], [rowsOf(d.consortiumMembers, ['consortium_id', 'institution_id', 'role'])]);
  await db.copyFrom('consortium_grid', ['consortium_id', 'grid_id'], [rowsOf(d.consortiumGrids, ['consortium_id', 'grid_id'])]);
  await db.copyFrom('practitioner', ['id', 'code', 'name', 'sex', 'institution_id', 'profession', 'specialty', 'title'], [rowsOf(d.practitioners, ['id', 'code', 'name', 'sex', 'institution_id', 'profession', 'specialty', 'title'])]);
  await db.copyFrom('team', ['id', 'code', 'name', 'kind', 'institution_id', 'community_id'], [rowsOf(d.teams, ['id', 'code', 'name', 'kind', 'institution_id', 'community_id'])]);
  await db.copyFrom('team_member', ['team_id', 'practitioner_id', 'role'], [rowsOf(d.teamMembers, ['team_id', 'practitioner_id', 'role'])]);
  await db.copyFrom('team_grid', ['team_id', 'grid_id'], [rowsOf(d.teamGrids, ['team_id', 'grid_id'])]);
}

/** Households grouped into chunks of about CHUNK_RESIDENTS residents; ids are fixed by the order, not by timing. */
export function planChunks(households: HouseholdSpec[], seed: number): ChunkSpec[] {
  const groups: HouseholdSpec[][] = [];
  let cur: HouseholdSpec[] = [];
  let n = 0;
  for (const h of households) {
    cur.push(h);
    n += h.size;
    if (n >= CHUNK_RESIDENTS) {
      groups.push(cur);
      cur = [];
      n = 0;
    }
  }
  if (cur.length) groups.push(cur);
  let next = 1;
  return groups.map((g, i) => {
    const spec: ChunkSpec = { seed, chunkIndex: i, chunkCount: groups.length, firstResidentId: next, households: g };
    for (const h of g) next += h.size;
    return spec;
  });
}

/**
 * Builds resident chunks on worker threads from the moment it is created, so generation overlaps the household load.
 * Finished chunks queue up to `maxReady` (a few MB each) and are handed out in completion order; ids are fixed by the
 * plan, so the order does not change the data.
 */
class ChunkPipeline {
  private readonly pool: Worker[] = [];
  private readonly ready: LoadChunk[] = [];
  private readonly idle: Worker[] = [];
  private readonly waiting: (() => void)[] = [];
  private failure: unknown = null;
  private sent = 0;
  private handedOut = 0;
  private readonly specs: ChunkSpec[];
  private readonly keys: ChunkKeys;
  private readonly maxReady: number;

  constructor(specs: ChunkSpec[], keys: ChunkKeys, workers: number, maxReady = 16) {
    this.specs = specs;
    this.keys = keys;
    this.maxReady = maxReady;
    if (workers <= 1 || specs.length <= 1) return; // generated inline by next()
    for (let i = 0; i < Math.min(workers, specs.length); i++) {
      const w = new Worker(new URL('./worker.ts', import.meta.url), { workerData: keys });
      w.on('message', (out: LoadChunk) => {
        this.ready.push(out);
        this.feed(w);
        this.wake();
      });
      w.on('error', (err) => {
        this.failure = err;
        this.wake();
      });
      this.pool.push(w);
      this.feed(w);
    }
  }

  private feed(w: Worker) {
    if (this.sent < this.specs.length && this.ready.length < this.maxReady) w.postMessage(this.specs[this.sent++]);
    else this.idle.push(w);
  }

  private wake() {
    for (const w of this.waiting.splice(0)) w();
  }

  /** The next finished chunk, or null when all have been handed out. Several consumers may wait at once. */
  async next(): Promise<LoadChunk | null> {
    if (this.handedOut >= this.specs.length) return null;
    if (!this.pool.length) return generateChunk(this.specs[this.handedOut++], this.keys);
    this.handedOut++; // claimed now, so two consumers never wait for the same last chunk
    while (!this.ready.length) {
      if (this.failure) throw this.failure;
      await new Promise<void>((r) => this.waiting.push(r));
    }
    const out = this.ready.shift()!;
    while (this.idle.length && this.sent < this.specs.length && this.ready.length < this.maxReady) this.feed(this.idle.shift()!);
    return out;
  }

  async close() {
    await Promise.all(this.pool.map((w) => w.terminate()));
  }
}

export async function seedDistrict(db: Db, keys: Keys, opts: SeedOptions): Promise<SeedResult> {
  const started = performance.now();
  const profile = profileNamed(opts.profile, opts.residents);
  if (!(await isEmpty(db))) throw new Error('the database already holds a district; run `caregrid seed --reset` to replace it');
  const d = buildDistrict(profile, opts.seed);
  await loadRegistry(db, d);
  const chunkKeys: ChunkKeys = { enc: keys.raw.enc, lookup: keys.raw.lookup, keyId: keys.keyId };
  const specs = planChunks(d.households, opts.seed);
  const total = d.households.reduce((s, h) => s + h.size, 0);
  const workers = opts.workers ?? (total >= 2 * CHUNK_RESIDENTS ? Math.max(1, Math.min(availableParallelism(), 4)) : 1);
  let loaded = 0;
  opts.onProgress?.(0, total);
  const chunks = new ChunkPipeline(specs, chunkKeys, workers);
  try {
    await withoutSecondaryIndexes(db, ['household', 'resident'], async () => {
      const households = () => db.copyFrom('household', HOUSEHOLD_COLUMNS, specs.map(householdsCopy));
      // Each consumer pulls the next finished chunk. PostgreSQL gets two resident COPY streams and the household COPY
      // at once, on separate connections (residents carry no foreign key to households); PGlite runs one statement
      // at a time, so there the loads follow each other while the workers keep generating.
      const consumer = async function* () {
        for (let out = await chunks.next(); out; out = await chunks.next()) {
          loaded += out.count;
          opts.onProgress?.(loaded, total);
          yield out.residents;
        }
      };
      if (db.engine === 'postgres' && specs.length > 1) {
        await Promise.all([households(), db.copyFrom('resident', RESIDENT_COLUMNS, consumer()), db.copyFrom('resident', RESIDENT_COLUMNS, consumer())]);
      } else {
        await households();
        await db.copyFrom('resident', RESIDENT_COLUMNS, consumer());
      }
    });
  } finally {
    await chunks.close();
  }
  const passwords = {
    admin: opts.adminPassword ?? randomBytes(9).toString('base64url'),
    demo: opts.demoPassword ?? randomBytes(9).toString('base64url'),
  };
  const accounts = await seedUsers(db, d, passwords);
  await resetSequences(db);
  // specialist slot pools for referrals in the coming two weeks (small: a few thousand slots)
  await seedSlotPools(db, d, profile, opts.now);
  const surveillance = opts.feedDays === 0 ? null : await seedSurveillance(db, d, profile, { seed: opts.seed, now: opts.now ?? new Date(), historyDays: opts.feedDays });
  // the worklist summary (modules/family-doctor/worklist.ts) is built once after the history's load
  const chronic = (opts.chronic ?? profile.chronic) ? await withWorklistDeferred(db, () => seedChronic(db, { seed: opts.seed, now: opts.now ?? new Date() })) : null;
  await db.exec('ANALYZE');
  let kpiSeconds = 0;
  if (chronic) {
    // the KPIs of this and the last month, quarter and year, so that a fresh start shows its dashboard at once
    const t = performance.now();
    const now = opts.now ?? new Date();
    await recompute(db, livePeriods(now, 366), now);
    kpiSeconds = (performance.now() - t) / 1000;
  }
  return {
    profile: profile.name, residents: total, households: d.households.length, institutions: d.institutions.length, grids: d.grids.length, teams: d.teams.length,
    adminPassword: passwords.admin, demoPassword: passwords.demo, accounts, surveillance, chronic: chronic && { ...chronic, kpiSeconds }, seconds: (performance.now() - started) / 1000,
  };
}

/**
 * Bulk loads into an empty table are several times faster without its secondary indexes and foreign keys (a foreign
 * key runs a query per row: it took the household COPY from 0.3 s to 1.4 s of PostgreSQL CPU). They are dropped, and
 * after the load each index is built once and each foreign key validated with one join (two at a time on
 * PostgreSQL). Definitions are read from the catalogue, so the migrations stay their only source. Primary keys and
 * unique constraints stay: other tables may reference them.
 */
export async function withoutSecondaryIndexes(db: Db, tables: string[], load: () => Promise<void>) {
  const { rows: indexes } = await db.query<{ tbl: string; name: string; def: string }>(
    `SELECT i.tablename AS tbl, i.indexname AS name, i.indexdef AS def FROM pg_indexes i
      WHERE i.schemaname = current_schema() AND i.tablename = ANY($1::text[])
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname AND c.contype IN ('p', 'u', 'x'))`,
    [tables],
  );
  const { rows: foreignKeys } = await db.query<{ tbl: string; name: string; def: string }>(
    `SELECT t.relname AS tbl, c.conname AS name, pg_get_constraintdef(c.oid) AS def FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
      WHERE c.contype = 'f' AND t.relname = ANY($1::text[]) AND t.relnamespace = current_schema()::regnamespace`,
    [tables],
  );
  const ident = (s: string) => `"${s.replaceAll('"', '')}"`;
  for (const f of foreignKeys) await db.exec(`ALTER TABLE ${ident(f.tbl)} DROP CONSTRAINT ${ident(f.name)}`);
  for (const r of indexes) await db.exec(`DROP INDEX ${ident(r.name)}`);
  try {
    await load();
  } finally {
    // Largest table first and the foreign keys (one quick join each) last, so the two builders finish close together.
    const { rows: sizes } = await db.query<{ tbl: string; bytes: number }>(
      'SELECT relname AS tbl, pg_relation_size(oid)::float8 AS bytes FROM pg_class WHERE relname = ANY($1::text[]) AND relnamespace = current_schema()::regnamespace',
      [tables],
    );
    const size = (t: string) => sizes.find((s) => s.tbl === t)?.bytes ?? 0;
    const pending = [
      ...[...indexes].sort((x, y) => size(y.tbl) - size(x.tbl)).map((r) => r.def),
      ...foreignKeys.map((f) => `ALTER TABLE ${ident(f.tbl)} ADD CONSTRAINT ${ident(f.name)} ${f.def}`),
    ];
    // On the server, each build gets more sort memory than the 64 MB default and no parallel workers: two builds
    // already keep the cores busy, and parallel workers only add coordination (both scoped to the build's transaction).
    const build = (def: string) =>
      db.engine === 'postgres' ? `BEGIN; SET LOCAL maintenance_work_mem = '256MB'; SET LOCAL max_parallel_maintenance_workers = 0; ${def}; COMMIT;` : def;
    const builder = async () => {
      for (let def = pending.shift(); def; def = pending.shift()) await db.exec(build(def));
    };
    await Promise.all(Array.from({ length: db.engine === 'postgres' ? 2 : 1 }, builder));
  }
}

export async function resetSequences(q: Queryable) {
  for (const t of TABLES_IN_LOAD_ORDER.filter((t) => !['consortium_member', 'consortium_grid', 'team_member', 'team_grid'].includes(t))) {
    await q.query(`SELECT setval(pg_get_serial_sequence('${t}', 'id'), coalesce((SELECT max(id) FROM ${t}), 0) + 1, false)`);
  }
}

/** Demo accounts: one or more per role, family doctors on teams of different streets. */
async function seedUsers(db: Db, d: District, passwords: { admin: string; demo: string }): Promise<DemoAccount[]> {
  const byType = (t: string) => d.institutions.filter((i) => i.type === t);
  const hospital = byType('tertiary_hospital')[0];
  const cdc = byType('cdc')[0];
  const ems = byType('ems_centre')[0];
  const sup = byType('supervision_institute')[0];
  const leadOf = (teamId: number) => d.teamMembers.find((m) => m.team_id === teamId && m.role === 'lead_gp')!.practitioner_id;
  const nurseOf = (teamId: number) => d.teamMembers.find((m) => m.team_id === teamId && m.role === 'nurse')!.practitioner_id;
  // first team of each street, up to six: family doctors in different communities
  const seenInst = new Set<number>();
  const doctorTeams = d.teams.filter((t) => (seenInst.has(t.institution_id) ? false : (seenInst.add(t.institution_id), true))).slice(0, 6);
  const specialist = d.practitioners.find((p) => p.institution_id === hospital.id && p.profession === 'specialist')!;
  const instName = (id: number) => d.institutions.find((i) => i.id === id)!.name;
  const rows: { username: string; display: string; roles: string[]; inst: number | null; team?: number; prac?: number; region?: number; note: string }[] = [
    { username: 'admin', display: '区卫健委管理员', roles: ['district_admin'], inst: null, region: d.regions[0].id, note: 'district health commission' },
    { username: 'inst.admin', display: '机构管理员', roles: ['institution_admin'], inst: doctorTeams[0].institution_id, note: 'administrator of a community health centre' },
    ...doctorTeams.map((t, i) => ({ username: `doctor${i + 1}`, display: `家庭医生${i + 1}`, roles: ['family_doctor'], inst: t.institution_id, team: t.id, prac: leadOf(t.id), note: `lead GP of team ${t.code}` })),
    { username: 'nurse1', display: '社区护士1', roles: ['nurse'], inst: doctorTeams[0].institution_id, team: doctorTeams[0].id, prac: nurseOf(doctorTeams[0].id), note: `nurse of team ${doctorTeams[0].code}` },
    { username: 'specialist1', display: '专科医生1', roles: ['specialist'], inst: hospital.id, prac: specialist.id, note: 'hospital specialist; sees referred patients' },
    { username: 'referral1', display: '转诊服务台1', roles: ['referral_desk'], inst: hospital.id, note: 'referral desk of a tertiary hospital' },
    { username: 'hospital.admin', display: '医院管理员', roles: ['institution_admin'], inst: hospital.id, note: 'administrator of a tertiary hospital' },
    { username: 'cdc1', display: '疾控流调员1', roles: ['cdc_epidemiologist'], inst: cdc.id, note: 'district CDC' },
    { username: 'investigator1', display: '流调队员1', roles: ['investigator'], inst: cdc.id, note: 'tracing team member; sees assigned contacts' },
    { username: 'ems1', display: '120调度员1', roles: ['ems_dispatcher'], inst: ems.id, note: 'EMS dispatch' },
    { username: 'supervisor1', display: '卫生监督员1', roles: ['supervisor'], inst: sup.id, note: 'health supervision institute' },
  ];
  const adminHash = await hashPassword(passwords.admin);
  const demoHash = await hashPassword(passwords.demo);
  for (const r of rows) {
    const region = r.region ?? (r.team ? d.teams.find((t) => t.id === r.team)!.community_id : r.inst ? d.institutions.find((i) => i.id === r.inst)!.region_id : null);
    await db.query(
      `INSERT INTO app_user (username, display_name, password_hash, roles, institution_id, region_id, team_id, practitioner_id) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
      [r.username, r.display, r.username === 'admin' ? adminHash : demoHash, r.roles, r.inst, region, r.team ?? null, r.prac ?? null],
    );
  }
  // A few care relationships so the specialist, the referral desk and the investigator see someone in the demo.
  const users = await db.query<{ id: number; username: string }>("SELECT id, username FROM app_user WHERE username IN ('investigator1')");
  const investigator = users.rows[0].id;
  await db.query(
    `INSERT INTO care_relationship (resident_id, kind, institution_id, practitioner_id, source_ref)
     SELECT id, 'referral', $1, $2, 'demo' FROM resident WHERE tags @> ARRAY['hypertension'] ORDER BY id LIMIT 20`,
    [hospital.id, specialist.id],
  );
  await db.query(`INSERT INTO care_relationship (resident_id, kind, user_id, source_ref) SELECT id, 'investigation', $1, 'demo' FROM resident ORDER BY id DESC LIMIT 10`, [investigator]);
  return rows.map((r) => ({ username: r.username, role: r.roles[0], institution: r.inst ? instName(r.inst) : '东城区卫生健康委员会', note: r.note }));
}
