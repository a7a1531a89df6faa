// Starts a real CareGrid for a test file: an in-memory PGlite by default, or — when DATABASE_URL is set — a fresh
// PostgreSQL database created for this file and dropped afterwards, so runs never interfere. Seeded with the tiny
// `test` profile and known passwords.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPgDatabase } from './db.ts';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { loadConfig } from '../../src/config.ts';
import { startServer, type Started } from '../../src/server.ts';

export const ADMIN_PASSWORD = 'Test-Admin-2026!';
export const DEMO_PASSWORD = 'Test-Demo-2026!';

export interface TestServer {
  app: FastifyInstance;
  started: Started;
  engine: 'pglite' | 'postgres';
  baseUrl: string;
  adminPassword: string;
  demoPassword: string;
  /** logs in and returns the cookie header value */
  login(username: string, password?: string): Promise<string>;
  close(): Promise<void>;
}

export async function startTestServer(opts: { listen?: boolean; profile?: 'test' | 'none'; webDir?: string } = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cg-test-'));
  const database = process.env.DATABASE_URL ? await createPgDatabase(process.env.DATABASE_URL) : null;
  const config = loadConfig({
    port: 0, host: '127.0.0.1', dataDir, databaseUrl: database?.url, secret: 'test-secret-'.padEnd(40, 'x'),
    adminPassword: ADMIN_PASSWORD, demoPassword: DEMO_PASSWORD, firstStartSeed: opts.profile ?? 'test', seed: 7, logLevel: 'silent', pgPoolSize: 8, webDir: opts.webDir, surveillanceRunHour: 'off',
  });
  const started = await startServer(config, { memory: !database });
  let baseUrl = '';
  if (opts.listen === false) await started.app.ready();
  else baseUrl = await started.app.listen({ port: 0, host: '127.0.0.1' });
  const app = started.app;
  return {
    app, started, engine: started.ctx.db.engine, baseUrl, adminPassword: ADMIN_PASSWORD, demoPassword: DEMO_PASSWORD,
    async login(username, password) {
      const res = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password: password ?? (username === 'admin' ? ADMIN_PASSWORD : DEMO_PASSWORD) } });
      if (res.statusCode !== 200) throw new Error(`login ${username} failed: ${res.statusCode} ${res.body}`);
      return cookieOf(res);
    },
    async close() {
      await started.close();
      await database?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function cookieOf(res: LightMyRequestResponse): string {
  const c = res.cookies.find((x) => x.name === 'cg_session');
  if (!c) throw new Error('no session cookie');
  return `cg_session=${c.value}`;
}
