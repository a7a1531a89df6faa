// `caregrid serve --workers N`: several server processes behind one port on PostgreSQL (refused on PGlite). Booking
// stays safe across processes (exactly one of concurrent bookings of a slot wins), a logout everywhere reaches every
// process's principal cache, and a process that dies is replaced.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPgDatabase } from '../helpers/db.ts';

const root = join(import.meta.dirname, '..', '..');
const DEMO = 'Workers-Demo-2026!';
let dataDir: string;
let database: Awaited<ReturnType<typeof createPgDatabase>> | null = null;

function env(): NodeJS.ProcessEnv {
  const e = {
    ...process.env, CAREGRID_DATA_DIR: dataDir, CAREGRID_SECRET: 'workers-test-secret-'.padEnd(40, 'x'), CAREGRID_DEMO_PASSWORD: DEMO,
    CAREGRID_ADMIN_PASSWORD: 'Workers-Admin-2026!', CAREGRID_FIRST_START_SEED: 'test', CAREGRID_SURVEILLANCE_RUN_HOUR: 'off', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn',
  } as NodeJS.ProcessEnv;
  if (database) e.DATABASE_URL = database.url;
  else delete e.DATABASE_URL;
  return e;
}

/** One HTTP request on a connection of its own (so consecutive requests are spread over the processes). */
function call(base: string, method: string, path: string, cookie: string | null, body?: unknown): Promise<{ status: number; json: any; cookie: string | null }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(`${base}${path}`, {
      method, agent: false,
      headers: { ...(cookie ? { cookie } : {}), ...(data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {}) },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        const set = res.headers['set-cookie']?.find((c) => c.startsWith('cg_session='));
        resolve({ status: res.statusCode!, json: text ? JSON.parse(text) : null, cookie: set ? set.split(';')[0] : null });
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

/** Pids of a process's children (the server processes the primary forked). */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((d) => {
    try {
      return Number(readFileSync(`/proc/${d}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[1]) === pid;
    } catch {
      return false;
    }
  }).map(Number);
}

async function until<T>(what: string, f: () => T | Promise<T>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'cg-workers-'));
  if (process.env.DATABASE_URL) database = await createPgDatabase(process.env.DATABASE_URL);
});
afterAll(async () => {
  await database?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe.runIf(!process.env.DATABASE_URL)('serve --workers on PGlite', () => {
  test('is refused: PGlite is one embedded process', () => {
    const r = spawnSync(process.execPath, [join(root, 'src', 'main.ts'), 'serve', '--workers', '2'], { env: env(), encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('workers: more than one server process needs PostgreSQL (DATABASE_URL)');
  });
});

describe.runIf(!!process.env.DATABASE_URL)('serve --workers 2 on PostgreSQL', () => {
  let server: ChildProcess;
  let base: string;
  let out = '';

  beforeAll(async () => {
    server = spawn(process.execPath, [join(root, 'src', 'main.ts'), 'serve', '--workers', '2'], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout!.on('data', (c) => (out += c));
    server.stderr!.on('data', (c) => (out += c));
    const line = await until('the server to start', () => /running on PostgreSQL, 2 server processes: (http:\/\/[^/]+)\//.exec(out), 120_000);
    base = line![1];
  }, 180_000);
  afterAll(async () => {
    if (server.exitCode === null) {
      server.kill('SIGTERM');
      await until('the server to stop', () => server.exitCode !== null, 30_000);
    }
  });

  test('the primary seeds once and runs two server processes', () => {
    expect(out).toMatch(/demo district "test": 600 residents/);
    expect(childrenOf(server.pid!)).toHaveLength(2);
  });

  test('of eight concurrent bookings of one slot, over both processes, exactly one wins; the other cases are intact', async () => {
    const login = async (username: string) => (await call(base, 'POST', '/api/v1/auth/login', null, { username, password: DEMO })).cookie!;
    const desk = await login('referral1');
    const doctor = await login('doctor1');
    const day = new Date(Date.now() + 8 * 3600_000 + 12 * 86_400_000).toISOString().slice(0, 10);
    const pool = await call(base, 'POST', '/api/v1/slot-pools', desk, { department: '心内科', date: day, startTime: '08:00', endTime: '10:00', capacity: 8 });
    expect(pool.status).toBe(201);
    const patients = (await call(base, 'GET', '/fhir/R4/Patient?_count=8', doctor)).json.entry.map((e: any) => Number(e.resource.id));
    const refs = [];
    for (const residentId of patients) {
      const r = await call(base, 'POST', '/api/v1/referrals', doctor, { direction: 'up', residentId, targetInstitutionId: pool.json.institutionId, reason: '专科评估' });
      expect(r.status).toBe(201);
      refs.push(r.json);
    }
    const slotId = pool.json.slots[0].id;
    const res = await Promise.all(refs.map((r) => call(base, 'POST', `/api/v1/referrals/${r.id}/schedule`, doctor, { slotId })));
    expect(res.map((r) => r.status).sort()).toEqual([200, 409, 409, 409, 409, 409, 409, 409]);
    for (const [i, r] of res.entries()) {
      const now = (await call(base, 'GET', `/api/v1/referrals/${refs[i].id}`, doctor)).json;
      if (r.status === 200) expect(now).toMatchObject({ version: refs[i].version + 1, appointment: { slotId, status: 'booked' } });
      else expect(now).toMatchObject({ version: refs[i].version, state: 'requested', appointment: null });
    }
  });

  test('a logout everywhere reaches the cached sessions of every process', async () => {
    const cookie = (await call(base, 'POST', '/api/v1/auth/login', null, { username: 'doctor2', password: DEMO })).cookie!;
    // consecutive connections go to the processes in turn: both cache the session
    for (let i = 0; i < 6; i++) expect((await call(base, 'GET', '/api/v1/auth/me', cookie)).status).toBe(200);
    expect((await call(base, 'POST', '/api/v1/auth/logout', cookie, { everywhere: true })).status).toBe(200);
    for (let i = 0; i < 6; i++) expect((await call(base, 'GET', '/api/v1/auth/me', cookie)).status).toBe(401);
  });

  test('a server process that dies is replaced, and the server answers on', async () => {
    const [first] = childrenOf(server.pid!);
    process.kill(first, 'SIGKILL');
    await until('a replacement process', () => {
      const now = childrenOf(server.pid!);
      return now.length === 2 && !now.includes(first);
    });
    for (let i = 0; i < 4; i++) expect((await until('an answer', () => call(base, 'GET', '/api/v1/health', null).catch(() => null)))!.status).toBe(200);
  });

  test('SIGTERM stops every process', async () => {
    const children = childrenOf(server.pid!);
    server.kill('SIGTERM');
    await until('the primary to exit', () => server.exitCode !== null || server.signalCode !== null, 30_000);
    expect(server.exitCode).toBe(0);
    expect(children.filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    })).toEqual([]);
  });
});
