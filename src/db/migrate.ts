// Forward-only migrations: numbered `NNNN_name.sql` files, each applied once in its own transaction and recorded
// with a checksum. A recorded migration whose file changed is refused: released migrations are never edited.
import { readdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Db } from './engine.ts';

export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  const seen = new Map<number, string>();
  const list: Migration[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.sql')).sort()) {
    const m = /^(\d{4})_([a-z0-9_]+)\.sql$/.exec(file);
    if (!m) throw new Error(`migration file name must be NNNN_name.sql: ${file}`);
    const version = Number(m[1]);
    if (seen.has(version)) throw new Error(`duplicate migration version ${version}: ${seen.get(version)} and ${file}`);
    seen.set(version, file);
    const sql = readFileSync(join(dir, file), 'utf8');
    list.push({ version, name: m[2], sql, checksum: createHash('sha256').update(sql).digest('hex') });
  }
  return list;
}

export async function migrate(db: Db, migrations = readMigrations()): Promise<{ applied: number[] }> {
  await db.exec(`CREATE TABLE IF NOT EXISTS schema_migration (
    version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  const applied: number[] = [];
  // Serialise concurrent starters (several server processes on one PostgreSQL) with an advisory lock.
  return db.tx(async (q) => {
    await q.query('SELECT pg_advisory_xact_lock(7283001)');
    const { rows } = await q.query<{ version: number; checksum: string }>('SELECT version, checksum FROM schema_migration');
    const done = new Map(rows.map((r) => [Number(r.version), r.checksum]));
    for (const m of migrations) {
      const prior = done.get(m.version);
      if (prior !== undefined) {
        if (prior !== m.checksum) throw new Error(`migration ${m.version}_${m.name} was edited after it was applied`);
        continue;
      }
      await q.exec(m.sql);
      await q.query('INSERT INTO schema_migration (version, name, checksum) VALUES ($1, $2, $3)', [m.version, m.name, m.checksum]);
      applied.push(m.version);
    }
    return { applied };
  });
}
