// Starting CareGrid: open the configured engine, migrate, create the demo district on an empty first start,
// build the app. Used by `caregrid serve`, the tests and the benchmarks alike.
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.ts';
import { openDb, type Db } from './db/engine.ts';
import { migrate } from './db/migrate.ts';
import { deriveKeys, loadOrCreateSecret } from './platform/crypto.ts';
import { PrincipalCache, type PrincipalInvalidation } from './platform/principal.ts';
import type { PeriodicJob } from './platform/jobs.ts';
import { buildApp } from './app.ts';
import { isEmpty, seedDistrict, type SeedResult } from './synth/seed.ts';
import type { AppContext } from './context.ts';
import { startReleaseJob } from './modules/referral/service.ts';
import { startDeadlineJob } from './modules/referral/cases.ts';
import { startEscalationJob } from './modules/chronic/escalation.ts';
import { startWebhookJob } from './modules/webhooks/service.ts';
import { startDailyRunJob } from './modules/surveillance/run.ts';
import { startKpiJob } from './modules/chronic/kpis.ts';
import { startCouponIssueJob } from './modules/chronic/coupons.ts';

export interface Started {
  app: FastifyInstance;
  ctx: AppContext;
  seeded: SeedResult | null;
  close(): Promise<void>;
}

export interface ContextOptions {
  memory?: boolean;
  /** several server processes (`serve --workers N`): where this one sends its principal-cache invalidations */
  principalPeers?: (m: PrincipalInvalidation) => void;
}

export async function openContext(config: Config, opts: ContextOptions = {}): Promise<AppContext> {
  const db: Db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, memory: opts.memory, poolSize: config.pgPoolSize });
  await migrate(db);
  const keys = deriveKeys(loadOrCreateSecret(config.secret, config.dataDir));
  return { config, db, keys, principals: new PrincipalCache(undefined, opts.principalPeers ?? null), jobs: { kickWebhooks() {} } };
}

/** Creates the configured demo district when the database is empty (first start); null when it was not. */
export async function seedOnFirstStart(ctx: AppContext, onProgress?: (done: number, total: number) => void): Promise<SeedResult | null> {
  const config = ctx.config;
  if (config.firstStartSeed === 'none' || !(await isEmpty(ctx.db))) return null;
  return seedDistrict(ctx.db, ctx.keys, {
    profile: config.firstStartSeed, seed: config.seed, adminPassword: config.adminPassword, demoPassword: config.demoPassword, onProgress,
  });
}

export interface StartOptions extends ContextOptions {
  onProgress?: (done: number, total: number) => void;
  /**
   * false: run no scheduled job but webhook delivery (another process of the same server runs them, see cluster.ts);
   * deliveries are claimed with FOR UPDATE SKIP LOCKED, so every process may send its own at once.
   */
  scheduledJobs?: boolean;
}

export async function startServer(config: Config, opts: StartOptions = {}): Promise<Started> {
  const ctx = await openContext(config, opts);
  const seeded = await seedOnFirstStart(ctx, opts.onProgress);
  const app = await buildApp(ctx);
  const scheduled = opts.scheduledJobs !== false;
  const warn = (what: string) => (err: unknown) => app.log.warn({ err: { message: (err as Error)?.message } }, what);
  // webhook deliveries: sent after each commit that queued some, and retried on a timer
  const webhooks = startWebhookJob(ctx.db, ctx.keys, warn('webhook delivery failed'));
  ctx.jobs.kickWebhooks = webhooks.kick;
  const jobs: PeriodicJob[] = !scheduled ? [] : [
    // reserved referral slots still free at their release time open to general booking (also applied lazily)
    startReleaseJob(ctx.db, warn('releasing reserved slots failed')),
    // referral deadlines: escalation of overdue cases and expiry
    startDeadlineJob(ctx.db, warn('referral deadline job failed')),
    // overdue chronic-disease tasks: escalation to the team lead, then the centre's administrator
    startEscalationJob(ctx.db, warn('chronic escalation job failed')),
    // the daily detection run (EARS, Farrington, space-time scan → signals → alerts), once per date
    ...(config.surveillanceRunHour === 'off' ? [] : [startDailyRunJob(ctx.db, config.surveillanceRunHour, warn('daily surveillance run failed'))]),
    // chronic-disease KPIs: the live periods recomputed on a timer (a district administrator can also recompute now)
    ...(config.kpiRecomputeMinutes === 'off' ? [] : [startKpiJob(ctx.db, config.kpiRecomputeMinutes, warn('chronic KPI recompute failed'))]),
    // medication coupons: the yearly issue to managed chronic patients (idempotent, every few hours)
    startCouponIssueJob(ctx.db, warn('coupon issue job failed')),
  ];
  return {
    app, ctx, seeded,
    async close() {
      for (const job of jobs) await job.stop();
      await webhooks.stop();
      await app.close();
      await ctx.db.close();
    },
  };
}
