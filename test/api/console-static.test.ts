// The server's side of the console: static files, client-side routes, missing assets, logout without a body.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let s: TestServer;
let web: string;
beforeAll(async () => {
  web = mkdtempSync(join(tmpdir(), 'cg-web-'));
  mkdirSync(join(web, 'assets'));
  writeFileSync(join(web, 'index.html'), '<!doctype html><title>CareGrid</title>');
  writeFileSync(join(web, 'assets', 'app-1.js'), 'console.log(1)');
  s = await startTestServer({ webDir: web, listen: false });
});
afterAll(async () => {
  await s?.close();
  rmSync(web, { recursive: true, force: true });
});

describe('console hosting', () => {
  test('index, assets, client-side routes; a missing asset is a 404, not the page', async () => {
    expect((await s.app.inject({ url: '/' })).body).toContain('<title>CareGrid</title>');
    expect((await s.app.inject({ url: '/residents/12' })).body).toContain('<title>CareGrid</title>');
    expect((await s.app.inject({ url: '/assets/app-1.js' })).body).toBe('console.log(1)');
    expect((await s.app.inject({ url: '/assets/app-2.js' })).statusCode).toBe(404);
    // an asset added after start (a rebuilt console) is served without a restart
    writeFileSync(join(web, 'assets', 'app-2.js'), 'console.log(2)');
    expect((await s.app.inject({ url: '/assets/app-2.js' })).body).toBe('console.log(2)');
    expect((await s.app.inject({ url: '/api/v1/unknown' })).json().code).toBe('ROUTE_NOT_FOUND');
  });

  test('logout works without a body', async () => {
    const cookie = await s.login('doctor3');
    const r = await s.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { cookie } });
    expect(r.statusCode).toBe(200);
    expect(r.cookies.find((c) => c.name === 'cg_session')?.value).toBe('');
  });
});
