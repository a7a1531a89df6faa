// The command line: seed, re-seed refusal, --reset, migrate; on PGlite (data dir) or PostgreSQL (DATABASE_URL).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPgDatabase } from '../helpers/db.ts';

const root = join(import.meta.dirname, '..', '..');
let dataDir: string;
let database: Awaited<ReturnType<typeof createPgDatabase>> | null = null;

function caregrid(...args: string[]) {
  const env = { ...process.env, CAREGRID_DATA_DIR: dataDir, CAREGRID_SECRET: 'cli-test-secret-'.padEnd(40, 'x'), CAREGRID_DEMO_PASSWORD: 'Cli-Demo-2026!' } as NodeJS.ProcessEnv;
  if (database) env.DATABASE_URL = database.url;
  else delete env.DATABASE_URL;
  const r = spawnSync(process.execPath, [join(root, 'src', 'main.ts'), ...args], { env, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'cg-cli-'));
  if (process.env.DATABASE_URL) database = await createPgDatabase(process.env.DATABASE_URL);
});
afterAll(async () => {
  await database?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('caregrid CLI', () => {
  test('migrate, seed, refuse to seed twice, reseed with --reset', () => {
    const m = caregrid('migrate');
    expect(m.code).toBe(0);
    expect(m.out).toMatch(/applied migrations: 1|up to date/);
    const s = caregrid('seed', '--profile', 'test', '--seed', '3');
    expect(s.code).toBe(0);
    expect(s.out).toMatch(/demo district "test": 600 residents/);
    expect(s.out).toMatch(/doctor1\s+family_doctor/);
    expect(s.out).toContain('(from CAREGRID_DEMO_PASSWORD)');
    expect(s.out).not.toContain('Cli-Demo-2026!');
    // not a terminal: plain progress lines with rows/s
    expect(s.err).toMatch(/seeding test: 600\/600 rows \(\d+ rows\/s/);
    const again = caregrid('seed', '--profile', 'test');
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/already holds a district; run `caregrid seed --reset`/);
    const reset = caregrid('seed', '--profile', 'test', '--seed', '4', '--reset', '--residents', '300');
    expect(reset.code).toBe(0);
    expect(reset.out).toMatch(/"test": 300 residents/);
    expect(caregrid('seed', '--profile', 'nowhere', '--reset').err).toMatch(/unknown seed profile "nowhere"/);
    // the failed command reset nothing
    expect(caregrid('seed', '--profile', 'test').err).toMatch(/already holds a district/);
  }, 300_000); // six processes, each starting the engine and migrating: minutes on a busy machine
});
