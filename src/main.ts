// CLI entry: `caregrid serve | seed | migrate | import | export | detect`.
// Each command loads what it needs when it runs: the server and the database code take ~2 s to load, which a
// command such as `detect` (pure computation) should not pay.
import { Command } from 'commander';
import type { SeedResult } from './synth/seed.ts';

const program = new Command().name('caregrid').description('CareGrid — integrated care-and-prevention platform for a health district');

function printAccounts(r: SeedResult, showAdmin: boolean, showDemo: boolean) {
  const lines = [
    `demo district "${r.profile}": ${r.residents} residents in ${r.households} households, ${r.grids} grids, ${r.institutions} institutions, ${r.teams} family-doctor teams (${r.seconds.toFixed(1)} s)`,
    ...(r.surveillance
      ? [`surveillance feeds ${r.surveillance.from} … ${r.surveillance.to}: ${r.surveillance.feedRows} daily values, ${r.surveillance.caseReports} case reports; injected ${r.surveillance.outbreak.syndrome} outbreak in communities ${r.surveillance.outbreak.communityIds.join(', ')} (onsets ${r.surveillance.outbreak.start} … ${r.surveillance.outbreak.end}, ${r.surveillance.seconds.toFixed(1)} s)`]
      : []),
    ...(r.chronic
      ? [`family doctors and chronic disease: ${r.chronic.contracts} contracts, ${r.chronic.enrolments} enrolments, ${r.chronic.followUps} follow-ups, ${r.chronic.tasks} tasks (${r.chronic.seconds.toFixed(1)} s; KPIs ${r.chronic.kpiSeconds.toFixed(1)} s)`]
      : []),
    'accounts (username · role · institution):',
    ...r.accounts.map((a) => `  ${a.username.padEnd(15)} ${a.role.padEnd(20)} ${a.institution}`),
    `  password of admin: ${showAdmin ? r.adminPassword : '(from CAREGRID_ADMIN_PASSWORD)'}`,
    `  password of the other demo accounts: ${showDemo ? r.demoPassword : '(from CAREGRID_DEMO_PASSWORD)'}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

program
  .command('serve')
  .description('start the HTTP API, the FHIR facade and the web console')
  .option('--workers <n>', 'server processes sharing the port, on PostgreSQL (default: CAREGRID_WORKERS, else 1)', (v) => Number.parseInt(v, 10))
  .action(async (opts: { workers?: number }) => {
    const { configFromEnv } = await import('./config.ts');
    const config = configFromEnv(process.env, opts.workers === undefined ? {} : { workers: opts.workers });
    const cluster = config.workers > 1 ? await import('./cluster.ts') : null;
    if (cluster?.isClusterWorker()) return cluster.runWorker(config);
    const { progressReporter } = await import('./cli/progress.ts');
    const progress = progressReporter('creating the demo district');
    const onProgress = (d: number, t: number) => progress.update(d, t);
    let port: number;
    let engine: string;
    let stop: () => Promise<void>;
    if (cluster) {
      // the database is prepared once, here; the workers only open it
      const { openContext, seedOnFirstStart } = await import('./server.ts');
      const ctx = await openContext(config);
      const seeded = await seedOnFirstStart(ctx, onProgress).finally(() => ctx.db.close());
      if (seeded) printAccounts(seeded, !config.adminPassword, !config.demoPassword);
      const primary = await cluster.startPrimary(config, (line) => process.stderr.write(`caregrid: ${line}\n`));
      port = primary.port;
      engine = `PostgreSQL, ${config.workers} server processes`;
      stop = primary.stop;
    } else {
      const { startServer } = await import('./server.ts');
      const s = await startServer(config, { onProgress });
      if (s.seeded) printAccounts(s.seeded, !config.adminPassword, !config.demoPassword);
      await s.app.listen({ port: config.port, host: config.host });
      port = Number((s.app.server.address() as { port: number }).port);
      engine = s.ctx.db.engine === 'pglite' ? `PGlite (${config.dataDir})` : 'PostgreSQL';
      stop = s.close;
    }
    const shown = config.host === '0.0.0.0' ? 'localhost' : config.host;
    process.stdout.write(`CareGrid is running on ${engine}: http://${shown}:${port}/  (API docs: /docs)\n`);
    const exit = async () => {
      await stop();
      process.exit(0);
    };
    process.once('SIGINT', exit);
    process.once('SIGTERM', exit);
  });

program
  .command('seed')
  .description('build a deterministic synthetic district')
  .option('--profile <name>', 'demo | dongcheng | test', 'demo')
  .option('--seed <n>', 'random seed', (v) => Number.parseInt(v, 10), 20260101)
  .option('--residents <n>', 'override the number of residents', (v) => Number.parseInt(v, 10))
  .option('--reset', 'delete the existing district first', false)
  .action(async (opts) => {
    const { configFromEnv } = await import('./config.ts');
    const { openContext } = await import('./server.ts');
    const { resetData, seedDistrict } = await import('./synth/seed.ts');
    const { progressReporter } = await import('./cli/progress.ts');
    const { profileNamed } = await import('./synth/profiles.ts');
    const config = configFromEnv(process.env, { firstStartSeed: 'none' });
    profileNamed(opts.profile); // refuse an unknown profile before anything is reset
    const ctx = await openContext(config);
    try {
      if (opts.reset) await resetData(ctx.db);
      const progress = progressReporter(`seeding ${opts.profile}`);
      const r = await seedDistrict(ctx.db, ctx.keys, {
        profile: opts.profile, seed: opts.seed, residents: opts.residents, adminPassword: config.adminPassword, demoPassword: config.demoPassword,
        onProgress: (d, t) => progress.update(d, t),
      });
      ctx.principals.clear();
      printAccounts(r, !config.adminPassword, !config.demoPassword);
    } finally {
      await ctx.db.close();
    }
  });

program
  .command('migrate')
  .description('apply pending database migrations')
  .action(async () => {
    const { configFromEnv } = await import('./config.ts');
    const { openDb } = await import('./db/engine.ts');
    const { migrate } = await import('./db/migrate.ts');
    const config = configFromEnv(process.env);
    const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    const r = await migrate(db);
    process.stdout.write(r.applied.length ? `applied migrations: ${r.applied.join(', ')}\n` : 'the database is up to date\n');
    await db.close();
  });

program
  .command('import')
  .description('bulk import FHIR NDJSON files (idempotent on the senders\' ids; failed lines reported, valid ones kept)')
  .argument('<files...>', 'NDJSON files, one resource per line (<Type>.ndjson files are taken in dependency order)')
  .option('--user <username>', 'district administrator the import is recorded for', 'admin')
  .option('--batch <n>', 'lines per batch', (v) => Number.parseInt(v, 10))
  .action(async (files: string[], opts) => {
    const { importCommand } = await import('./fhir/bulk/cli.ts');
    const { configFromEnv } = await import('./config.ts');
    const s = await importCommand(configFromEnv(process.env, { firstStartSeed: 'none' }), files, opts);
    process.stdout.write(`imported ${s.imported} resources (${s.created} created, ${s.updated} updated, ${s.unchanged} unchanged), ${s.failed} failed lines; job ${s.job}\n`);
    for (const e of s.error) process.stdout.write(`  ${e.outcome.issue.map((i: { diagnostics: string; expression?: string[] }) => `${i.diagnostics}${i.expression ? ` [${i.expression.join(', ')}]` : ''}`).join('; ')}\n`);
    if (s.failed) process.exitCode = 1;
  });

program
  .command('export')
  .description('bulk export FHIR resources as NDJSON files (<Type>.ndjson), as a system-level $export')
  .requiredOption('--out <dir>', 'directory for the files')
  .option('--type <types>', 'comma-separated resource types (default: all)')
  .option('--since <instant>', 'only resources changed since')
  .option('--user <username>', 'district administrator the export is recorded for', 'admin')
  .action(async (opts) => {
    const { exportCommand } = await import('./fhir/bulk/cli.ts');
    const { configFromEnv } = await import('./config.ts');
    const r = await exportCommand(configFromEnv(process.env, { firstStartSeed: 'none' }), opts);
    for (const o of r.output) process.stdout.write(`${o.type}: ${o.count} resources → ${o.file}\n`);
  });

program
  .command('detect')
  .description('run outbreak detection (EARS C1/C2/C3, CUSUM, Farrington) on a JSON job or array of jobs; results as JSON')
  .argument('[file]', 'JSON file with the job(s); standard input when absent or -')
  .action(async (file?: string) => {
    const { detectCommand } = await import('./modules/surveillance/cli.ts');
    process.exitCode = await detectCommand(file);
  });

program
  .command('surveillance')
  .description('infectious disease surveillance')
  .command('run')
  .description('run detection for a date (EARS, Farrington, the space-time scan) and write the signals')
  .option('--as-of <date>', 'the last day evaluated, YYYY-MM-DD (default: yesterday in Beijing)')
  .option('--threads <n>', 'worker threads (1: compute in the main thread)', (v) => Number.parseInt(v, 10))
  .action(async (opts) => {
    const { configFromEnv } = await import('./config.ts');
    const { openContext } = await import('./server.ts');
    const { runCommand } = await import('./modules/surveillance/cli.ts');
    const ctx = await openContext(configFromEnv(process.env, { firstStartSeed: 'none' }));
    try {
      process.exitCode = await runCommand(ctx.db, opts);
    } finally {
      await ctx.db.close();
    }
  });

program.parseAsync(process.argv).catch((err) => {
  process.stderr.write(`caregrid: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
