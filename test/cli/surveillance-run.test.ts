// `caregrid surveillance run`: one detection run on the database of the data dir (or DATABASE_URL), the run as JSON.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPgDatabase } from '../helpers/db.ts';

const root = join(import.meta.dirname, '..', '..');
let dataDir: string;
let database: Awaited<ReturnType<typeof createPgDatabase>> | null = null;

function caregrid(...args: string[]) {
  const env = { ...process.env, CAREGRID_DATA_DIR: dataDir, CAREGRID_SECRET: 'cli-test-secret-'.padEnd(40, 'x'), LOG_LEVEL: 'silent' } as NodeJS.ProcessEnv;
  if (database) env.DATABASE_URL = database.url;
  else delete env.DATABASE_URL;
  const r = spawnSync(process.execPath, [join(root, 'src', 'main.ts'), ...args], { env, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'cg-cli-run-'));
  if (process.env.DATABASE_URL) database = await createPgDatabase(process.env.DATABASE_URL);
  expect(caregrid('seed', '--profile', 'test', '--seed', '5').code).toBe(0);
});
afterAll(async () => {
  await database?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

test('runs detection for a date on one thread or two, with the same signals', () => {
  const yesterday = new Date(Date.now() + 8 * 3_600_000 - 86_400_000).toISOString().slice(0, 10);
  const runs = ['1', '2'].map((threads) => {
    const r = caregrid('surveillance', 'run', '--as-of', yesterday, '--threads', threads);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    return JSON.parse(r.out);
  });
  for (const [i, run] of runs.entries()) {
    expect(run).toMatchObject({ kind: 'on_demand', asOf: yesterday, status: 'succeeded', timings: { threads: i + 1 } });
    expect(run.seriesCount).toBeGreaterThan(0);
  }
  // the seeded feeds hold an outbreak: some alarm, and the second run finds the same ones
  expect(runs[0].signalCount).toBeGreaterThan(0);
  expect(runs[1].signalCount).toBe(runs[0].signalCount);
});

test('a bad date is refused with exit code 2', () => {
  const r = caregrid('surveillance', 'run', '--as-of', '2026-13-01');
  expect(r.code).toBe(2);
  expect(r.err).toContain('asOf');
});
