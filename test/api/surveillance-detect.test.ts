// POST /api/v1/surveillance/detect: the same jobs and results as `caregrid detect`, for any logged-in account.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { expectAgreement, jobOf, loadFixture } from '../helpers/r-fixtures.ts';

let s: TestServer;
let cookie: string;
beforeAll(async () => {
  s = await startTestServer({ listen: false });
  cookie = await s.login('cdc1');
});
afterAll(async () => s?.close());

const ears = loadFixture('ears.json');
const cusum = loadFixture('cusum.json');
const url = '/api/v1/surveillance/detect';

describe('POST /api/v1/surveillance/detect', () => {
  test('refuses callers who are not logged in', async () => {
    const r = await s.app.inject({ method: 'POST', url, payload: jobOf(ears, ears.cases[0]) });
    expect(r.statusCode).toBe(401);
    expect(r.json()).toEqual({ code: 'UNAUTHENTICATED', message: '请先登录' });
  });

  test('one job gives R’s result; any logged-in account may call it', async () => {
    for (const user of [cookie, await s.login('doctor1')]) {
      const r = await s.app.inject({ method: 'POST', url, headers: { cookie: user }, payload: jobOf(cusum, cusum.cases[7]) });
      expect(r.statusCode).toBe(200);
      expectAgreement(r.json().points, cusum.cases[7].points);
    }
  });

  test('every fixture case in one array: results in the same order', async () => {
    const cases = [...ears.cases.map((c) => [ears, c] as const), ...cusum.cases.map((c) => [cusum, c] as const)];
    const r = await s.app.inject({ method: 'POST', url, headers: { cookie }, payload: cases.map(([f, c]) => jobOf(f, c)) });
    expect(r.statusCode).toBe(200);
    const results = r.json();
    expect(results).toHaveLength(cases.length);
    results.forEach((res: { points: never[] }, i: number) => expectAgreement(res.points, cases[i][1].points));
  });

  test('a bad job: 400 naming the field, in the request language', async () => {
    const body = [jobOf(ears, ears.cases[0]), { ...jobOf(ears, ears.cases[0]), counts: [1, 2, -3] }];
    const en = await s.app.inject({ method: 'POST', url: `${url}?lang=en`, headers: { cookie }, payload: body });
    expect(en.statusCode).toBe(400);
    expect(en.json()).toEqual({ code: 'VALIDATION_FAILED', message: 'Invalid input: [1].counts[2]: must be a non-negative integer', field: '[1].counts[2]' });
    const zh = await s.app.inject({ method: 'POST', url, headers: { cookie }, payload: { ...jobOf(ears, ears.cases[0]), params: { window: 3 } } });
    expect(zh.statusCode).toBe(400);
    expect(zh.json()).toEqual({ code: 'VALIDATION_FAILED', message: '输入有误：params.window: unknown parameter; known: baseline, minSigma, alpha', field: 'params.window' });
  });

  test('the OpenAPI document describes the body and the response', async () => {
    const doc = (await s.app.inject({ url: '/docs/json' })).json();
    const op = doc.paths['/api/v1/surveillance/detect'].post;
    expect(JSON.stringify(op.requestBody)).toContain('farringtonFlexible');
    expect(JSON.stringify(op.responses['200'])).toContain('upperbound');
  });

  test('a body that is not JSON', async () => {
    const r = await s.app.inject({ method: 'POST', url, headers: { cookie, 'content-type': 'application/json' }, payload: '{"method":' });
    expect(r.statusCode).toBe(400);
    expect(r.json().code).toBe('MALFORMED_JSON');
  });
});
