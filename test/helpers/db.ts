// A bare database for storage tests: in-memory PGlite, or a fresh PostgreSQL database when DATABASE_URL is set.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDb, type Db } from '../../src/db/engine.ts';

export interface TestDb {
  db: Db;
  close(): Promise<void>;
}

/** A fresh PostgreSQL database next to `adminUrl`'s; `drop` removes it WITH (FORCE), so leftover clients do not block it. */
/** A fresh database (a copy of `template` when given: a benchmark's kept seed). */
export async function createPgDatabase(adminUrl: string, prefix = 'cg_test', template?: string): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ''}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = '/' + name;
  return {
    url: url.toString(),
    name,
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export async function openTestDb(): Promise<TestDb> {
  if (process.env.DATABASE_URL) {
    const created = await createPgDatabase(process.env.DATABASE_URL);
    const db = await openDb({ databaseUrl: created.url, poolSize: 8 });
    return {
      db,
      async close() {
        await db.close();
        await created.drop();
      },
    };
  }
  const db = await openDb({ memory: true });
  return { db, close: () => db.close() };
}
