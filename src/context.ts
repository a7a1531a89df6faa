// What every module receives: configuration, the database, keys and caches. Passed explicitly, never global.
import type { Config } from './config.ts';
import type { Db } from './db/engine.ts';
import type { Keys } from './platform/crypto.ts';
import type { PrincipalCache } from './platform/principal.ts';

export interface AppContext {
  readonly config: Config;
  readonly db: Db;
  readonly keys: Keys;
  readonly principals: PrincipalCache;
  /** Background work a request can nudge after its commit (the server replaces the no-ops with its jobs). */
  readonly jobs: { kickWebhooks(): void };
}
