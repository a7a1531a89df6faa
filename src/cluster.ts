// `caregrid serve --workers N` (PostgreSQL only): N processes of the server share one port (node:cluster), so HTTP,
// JSON and the PostgreSQL protocol use every core instead of one Node thread. PGlite is an embedded database inside
// one process and always runs in one (the config refuses workers > 1 without DATABASE_URL).
//
// The primary prepares the database once (migrations, the secret, the demo district on an empty first start), forks
// the workers and relays what must reach all of them; it serves no requests itself.
// - Scheduled jobs (slot release, referral deadlines, chronic escalation, the daily detection run, KPIs, coupons) run
//   in one worker only, so no job runs twice at a time; a worker started to replace it takes the role over. Webhook
//   delivery runs in every worker (deliveries are claimed with FOR UPDATE SKIP LOCKED), so a commit that queued
//   deliveries sends them at once from the worker that made it.
// - Cached principals: a worker that drops entries (logout everywhere, a revoked token, changed team grids) tells the
//   primary, which tells the other workers, so no worker goes on serving a revoked session from its cache.
// - A worker that dies is replaced; SIGINT/SIGTERM stop the workers (each closes its server and jobs), then the primary.
import cluster, { type Worker } from 'node:cluster';
import type { Config } from './config.ts';
import type { PrincipalInvalidation } from './platform/principal.ts';
import { startServer } from './server.ts';

/** The environment variable that tells a forked worker its role. */
const ROLE_VAR = 'CAREGRID_WORKER_ROLE';
type Role = 'jobs' | 'api';
interface Relay { caregrid: 'principals'; m: PrincipalInvalidation }
const isRelay = (x: unknown): x is Relay => (x as Relay | null)?.caregrid === 'principals';

export const isClusterWorker = () => cluster.isWorker;

/**
 * The primary: forks `config.workers` workers (the first runs the scheduled jobs) and resolves with the port once all
 * of them listen. A worker that fails before every worker listens stops the start (its error is on stderr).
 */
export function startPrimary(config: Config, log: (line: string) => void): Promise<{ port: number; stop(): Promise<void> }> {
  const roles = new Map<Worker, Role>();
  let stopping = false;
  let started = false;
  const others = (from: Worker) => [...roles.keys()].filter((w) => w !== from && w.isConnected());
  const fork = (role: Role) => {
    const w = cluster.fork({ [ROLE_VAR]: role });
    roles.set(w, role);
    w.on('message', (msg: unknown) => {
      if (isRelay(msg)) for (const o of others(w)) o.send(msg);
    });
    return w;
  };
  const stop = () => new Promise<void>((resolve) => {
    stopping = true;
    if (!roles.size) return resolve();
    cluster.on('exit', () => roles.size === 0 && resolve());
    for (const w of roles.keys()) w.process.kill('SIGTERM');
  });
  return new Promise((resolve, reject) => {
    let listening = 0;
    cluster.on('listening', (_w, address) => {
      if (!started && ++listening === config.workers) {
        started = true;
        resolve({ port: address.port, stop });
      }
    });
    cluster.on('exit', (w, code, signal) => {
      const role = roles.get(w)!;
      roles.delete(w);
      if (stopping) return;
      if (!started) {
        void stop().then(() => reject(new Error(`a server process failed to start (exit ${signal ?? code})`)));
        return;
      }
      log(`server process ${w.process.pid} (${role === 'jobs' ? 'API and scheduled jobs' : 'API'}) ended (${signal ?? `exit ${code}`}); starting another`);
      setTimeout(() => !stopping && fork(role), 1000);
    });
    for (let i = 0; i < config.workers; i++) fork(i === 0 ? 'jobs' : 'api');
  });
}

/** A worker: the server without first-start seeding (the primary did it), scheduled jobs if its role says so. */
export async function runWorker(config: Config): Promise<void> {
  const role = (process.env[ROLE_VAR] ?? 'api') as Role;
  const s = await startServer({ ...config, firstStartSeed: 'none' }, {
    scheduledJobs: role === 'jobs',
    principalPeers: (m) => process.send?.({ caregrid: 'principals', m } satisfies Relay),
  });
  process.on('message', (msg: unknown) => {
    if (isRelay(msg)) s.ctx.principals.apply(msg.m);
  });
  await s.app.listen({ port: config.port, host: config.host });
  let closing: Promise<void> | null = null;
  const stop = () => {
    closing ??= s.close().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
