// `caregrid detect`: jobs from a file or standard input, results on standard output, bad jobs on standard error
// with exit code 2. No database is involved.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectAgreement, jobOf, loadFixture } from '../helpers/r-fixtures.ts';

const root = join(import.meta.dirname, '..', '..');
let dir: string;

function caregrid(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [join(root, 'src', 'main.ts'), 'detect', ...args], { input, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cg-detect-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('caregrid detect', () => {
  const fixture = loadFixture('ears.json');
  const cases = fixture.cases.slice(0, 3);

  test('an array of jobs from a file gives R’s results in the same order', () => {
    const file = join(dir, 'jobs.json');
    writeFileSync(file, JSON.stringify(cases.map((c) => jobOf(fixture, c))));
    const r = caregrid([file]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const results = JSON.parse(r.out);
    expect(results).toHaveLength(3);
    results.forEach((res: { points: never[] }, i: number) => expectAgreement(res.points, cases[i].points));
  });

  test('one job from standard input gives one result', () => {
    const r = caregrid([], JSON.stringify(jobOf(fixture, cases[0])));
    expect(r.code).toBe(0);
    expectAgreement(JSON.parse(r.out).points, cases[0].points);
    expect(caregrid(['-'], JSON.stringify({ method: 'cusum', frequency: 'daily', start: '2024-01-01', counts: [1, 2, 9], from: '2024-01-03' }))).toMatchObject({ code: 0 });
  });

  test('a bad job: exit code 2 and the field on standard error, nothing on standard output', () => {
    const r = caregrid([], JSON.stringify([jobOf(fixture, cases[0]), { ...jobOf(fixture, cases[1]), params: { alpha: 2 } }]));
    expect(r).toEqual({ code: 2, out: '', err: 'caregrid detect: Invalid input: [1].params.alpha: must be < 1\n' });
  });

  test('input that is not JSON: exit code 2', () => {
    const r = caregrid([], '{"method": ');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^caregrid detect: the input is not valid JSON/);
  });
});
