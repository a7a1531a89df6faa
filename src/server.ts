// Starting CareGrid: open the configured engine, migrate, create the demo district on an empty first start,
// build the app. Used by `caregrid serve`, the tests and the benchmarks alike.
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.ts';
import { openDb, type Db } from './db/engine.ts';
import { migrate } from './db/migrate.ts';
import { deriveKeys, loadOrCreateSecret } from './platform/crypto.ts';
import { PrincipalCache } from './platform/principal.ts';
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

export async function openContext(config: Config, opts: { memory?: boolean } = {}): Promise<AppContext> {
  const db: Db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, memory: opts.memory, poolSize: config.pgPoolSize });
  await migrate(db);
  const keys = deriveKeys(loadOrCreateSecret(config.secret, config.dataDir));
  return { config, db, keys, principals: new PrincipalCache(), jobs: { kickWebhooks() {} } };
}

export async function startServer(config: Config, opts: { memory?: boolean; onProgress?: (done: number, total: number) => void } = {}): Promise<Started> {
  const ctx = await openContext(config, opts);
  let seeded: SeedResult | null = null;
  if (config.firstStartSeed !== 'none' && (await isEmpty(ctx.db))) {
    seeded = await seedDistrict(ctx.db, ctx.keys, {
      profile: config.firstStartSeed, seed: config.seed, adminPassword: config.adminPassword, demoPassword: config.demoPassword, onProgress: opts.onProgress,
    });
  }
  const app = await buildApp(ctx);
  // reserved referral slots still free at their release time open to general booking (also applied lazily)
  const releases = startReleaseJob(ctx.db, (err) => app.log.warn({ err: { message: (err as Error)?.message } }, 'releasing reserved slots failed'));
  // referral deadlines: escalation of overdue cases and expiry
  const deadlines = startDeadlineJob(ctx.db, (err) => app.log.warn({ err: { message: (err as Error)?.message } }, 'referral deadline job failed'));
  // overdue chronic-disease tasks: escalation to the team lead, then the centre's administrator
  const escalations = startEscalationJob(ctx.db, (err) => app.log.warn({ err: { message: (err as Error)?.message } }, 'chronic escalation job failed'));
  // webhook deliveries: sent after each commit that queued some, and retried on a timer
  const webhooks = startWebhookJob(ctx.db, ctx.keys, (err) => app.log.warn({ err: { message: (err as Error)?.message } }, 'webhook delivery failed'));
  ctx.jobs.kickWebhooks = webhooks.kick;
  // the daily detection run (EARS, Farrington, space-time scan → signals → alerts), once per date
  const detection = config.surveillanceRunHour === 'off' ? null
    : startDailyRunJob(ctx.db, config.surveillanceRunHour, (err) => app.log.warn({ err: { message: (err as Error)?.message } }, 'daily surveillance run failed'));
  // chronic-disease KPIs: the live periods recomputed on a timer (a district administrator can also recompute now)
  const kpis = config.kpiRecomputeMinutes === 'off' ? null
    : startKpiJob(ctx.db, config.kpiRecomputeMinutes, (err) => app.log.warn({ err: { message: (err as Error)?.message } }, 'chronic KPI recompute failed'));
  // medication coupons: the yearly issue to managed chronic patients (idempotent, every few hours)
  const coupons = startCouponIssueJob(ctx.db, (err) => app.log.warn({ err: { message: (err as Error)?.message } }, 'coupon issue job failed'));
  return {
    app, ctx, seeded,
    async close() {
      await coupons.stop();
      await releases.stop();
      await deadlines.stop();
      await escalations.stop();
      await webhooks.stop();
      await detection?.stop();
      await kpis?.stop();
      await app.close();
      await ctx.db.close();
    },
  };
}
