// Benchmark dispatcher: `npm run bench -- <seed|lookup|records> [options]`. Progress goes to stderr; the markdown result
// tables go to stdout at the end (paste them into bench/README.md).
import { parseArgs } from 'node:util';

const USAGE = `usage: npm run bench -- <name> [options]

  seed     seeding dongcheng vs a raw COPY of the same rows
             --engine pglite|postgres|both   (default both)
             --residents N                   (default 700000)
             --pglite-double                 also seed PGlite at 2 × N residents and report time and peak memory
             --no-raw                        skip the raw COPY reference
  lookup   GET /api/v1/residents?idNumber=… over HTTP with auditing, plus the raw engine reference
             --engine pglite|postgres|both   (default both)
             --residents N                   (default 700000; used when the benchmark seeds the database itself)
             --data-dir DIR                  PGlite: reuse (or create and keep) a seeded data dir
             --database-url URL              PostgreSQL: reuse (or seed and keep) this database instead of a fresh one
             --connections N                 (default 32)
             --duration S                    seconds of load (default 20)
             --warmup S                      seconds of unmeasured load first (default 3)
             --raw-duration S                seconds of the raw engine reference (default 10)
             --ids N                         identity numbers to rotate through (default 2000)
             --admin-password P              when reusing a database seeded with another password
  bulk-import  NDJSON import of Observations + their Encounters (FHIR $import path) vs a raw COPY of the same rows
             --engine pglite|postgres|both   (default both)
             --observations N                (default 1000000; N/5 Encounters)
             --residents N                   (default 700000, the dongcheng district seeded first)
             --batch N                       lines per batch (default 5000)
             --seed-cache                    keep the seeded database (a PostgreSQL template / a PGlite data dir) and
                                             start each run from a copy of it instead of seeding again

  referral 200 family-doctor clients booking every place of 50 pools, (a) creating referrals with a slot
           (POST /api/v1/referrals) and (b) for referrals that already exist (POST /api/v1/referrals/{id}/schedule),
           counted for double bookings and lost referrals, vs the essential booking statements; the desk's inbox with
           100,000 historical referrals (p50/p99) vs the service's statements replayed
             --engine pglite|postgres|both   (default both)
             --residents N                   (default 700000)
             --connections N                 booking clients (default 200)
             --pools N / --capacity N        (default 50 / 100 places)
             --history N                     historical referrals in the inbox (default 100000)
             --duration S / --warmup S       worklist load (default 15 / 3)
             --only booking|worklist         one of the two measurements
             --workers N                     PostgreSQL: the server as caregrid serve --workers N (default 1: in-process)
             --pg-pool-size N                PostgreSQL connections per server process (default 16)
             --seed-cache                    PostgreSQL: start from a copy of the kept seed (bulk-import's template)

  records  FHIR transaction bundles (100 entries, 8 clients, institution token) and Patient/$everything + the
           timeline API for residents with 200 records, on 700,000 residents and 5,000,000 encounters
             --engine pglite|postgres|both   (default both)
             --residents N                   (default 700000)
             --encounters N                  bulk encounters COPYed in (default 5000000)
             --data-dir DIR / --database-url URL   reuse (or create and keep) a prepared database
             --only bundles|reads            one of the two measurements
             --connections N                 (default 8)
             --duration S / --warmup S / --raw-duration S   (default 20 / 3 / 10)
             --targets N                     residents with 200 records (default 200)
             --minimal                       bundles with Prefer: return=minimal

  detect   caregrid detect on 100 real weekly series (last 52 weeks, farringtonFlexible defaults) vs R's
           farringtonFlexible on the same jobs; every point compared (needs Rscript with surveillance, jsonlite)
             --runs N                        runs of caregrid detect, median reported (default 5)

  surveillance  the daily detection run for dongcheng (168 communities × every source × category, 168 weeks of feeds):
           EARS on daily series, Farrington on weekly aggregates, the space-time scan with 999 replications; worker
           threads vs one thread
             --engine pglite|postgres|both   (default both)
             --residents N                   residents seeded (default 50000; the run reads none)
             --threads N                     threads of the parallel runs (default: the cores)
             --profile NAME                  seed profile (default dongcheng; test checks the benchmark quickly)
  chronic  family doctors and chronic disease on dongcheng with its 3-year history: the district's KPIs recomputed
           (live periods) and served over HTTP; a team's worklist with 3,000 contracted residents (p50/p99); a FHIR bulk
           import of 100,000 hypertension/diabetes Conditions (enrolments and tasks), then again (idempotent)
             --engine pglite|postgres|both   (default both)
             --residents N                   (default 700000)
             --conditions N                  Conditions imported (default 100000)
             --batch N                       lines per import batch (default 5000)
             --duration S / --warmup S       HTTP load per measurement (default 15 / 3)
             --only kpis,worklist,import     some of the three (default all)
             --database-url URL / --data-dir DIR   reuse (or seed and keep) a seeded database (the import adds to it)
  detection-power  sensitivity, false alarms per 100 series-years and median days to detection of every algorithm
           and of the fused multi-source alerts, on synthetic outbreaks injected into the synthetic dongcheng feeds
             --outbreaks N                   outbreaks injected one at a time (default 48)
             --replications N                Monte Carlo replications of the scan (default 99)
             --days N                        days of baseline daily runs evaluated (default 364)
             --threads N                     worker threads (default 2)
             --config JSON                   run settings instead of the defaults (as PUT /surveillance/run-settings)
             --seed N                        outbreaks and synthetic feeds (default 20260601; another seed checks that
                                             fusion settings chosen on one set of outbreaks hold on another)
             --signals-cache FILE            keep the runs' signals in FILE and reuse them when the options match (the
                                             runs are 99 % of the time; fusion and scoring then take a few minutes)
             --fusion-grid JSON              multi_source variants: every combination of the values listed per parameter, e.g.
                                             {"windowDays":[…],"minObserved":[…],"strongFactor":[…],"maxCombinedP":[…],"minDays":[…]}
                                             (any multi_source parameter; unlisted ones: 2 sources, 7 days, adjacent, else the
                                             rule's defaults; with --signals-cache)

PostgreSQL: BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres) is the maintenance database used to
create and drop the per-run databases.`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    engine: { type: 'string' },
    residents: { type: 'string' },
    'pglite-double': { type: 'boolean', default: false },
    'no-raw': { type: 'boolean', default: false },
    'data-dir': { type: 'string' },
    'database-url': { type: 'string' },
    'seed-cache': { type: 'boolean', default: false },
    connections: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    'raw-duration': { type: 'string' },
    ids: { type: 'string' },
    observations: { type: 'string' },
    conditions: { type: 'string' },
    batch: { type: 'string' },
    'admin-password': { type: 'string' },
    encounters: { type: 'string' },
    only: { type: 'string' },
    targets: { type: 'string' },
    minimal: { type: 'boolean', default: false },
    runs: { type: 'string' },
    pools: { type: 'string' },
    capacity: { type: 'string' },
    history: { type: 'string' },
    threads: { type: 'string' },
    profile: { type: 'string' },
    outbreaks: { type: 'string' },
    replications: { type: 'string' },
    days: { type: 'string' },
    config: { type: 'string' },
    'signals-cache': { type: 'string' },
    'fusion-grid': { type: 'string' },
    seed: { type: 'string' },
    workers: { type: 'string' },
    'pg-pool-size': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

const num = (v: string | undefined) => {
  if (v === undefined) return undefined;
  const n = Number(v.replaceAll('_', ''));
  if (!Number.isFinite(n) || n <= 0) throw new Error(`not a positive number: ${v}`);
  return n;
};

async function main() {
  const name = positionals[0];
  if (values.help || !name) {
    process.stdout.write(USAGE + '\n');
    process.exit(name || values.help ? 0 : 2);
  }
  let output: string;
  if (name === 'seed') {
    const { runSeedBench } = await import('./seed.ts');
    output = await runSeedBench({ engine: values.engine, residents: num(values.residents), pgliteDouble: values['pglite-double'], noRaw: values['no-raw'] });
  } else if (name === 'lookup') {
    const { runLookupBench } = await import('./lookup.ts');
    output = await runLookupBench({
      engine: values.engine, residents: num(values.residents), dataDir: values['data-dir'], databaseUrl: values['database-url'],
      connections: num(values.connections), duration: num(values.duration), warmup: values.warmup === '0' ? 0 : num(values.warmup),
      rawDuration: num(values['raw-duration']), ids: num(values.ids), adminPassword: values['admin-password'],
    });
  } else if (name === 'records') {
    const { runRecordsBench } = await import('./records.ts');
    output = await runRecordsBench({
      engine: values.engine, residents: num(values.residents), encounters: values.encounters === '0' ? 0 : num(values.encounters), dataDir: values['data-dir'], databaseUrl: values['database-url'],
      connections: num(values.connections), duration: num(values.duration), warmup: values.warmup === '0' ? 0 : num(values.warmup), rawDuration: num(values['raw-duration']),
      targets: num(values.targets), only: values.only, minimal: values.minimal,
    });
  } else if (name === 'referral') {
    const { runReferralBench } = await import('./referral.ts');
    output = await runReferralBench({
      engine: values.engine, residents: num(values.residents), connections: num(values.connections), pools: num(values.pools), capacity: num(values.capacity),
      history: num(values.history), duration: num(values.duration), warmup: values.warmup === '0' ? 0 : num(values.warmup), only: values.only,
      workers: num(values.workers), pgPoolSize: num(values['pg-pool-size']), seedCache: !!values['seed-cache'],
    });
  } else if (name === 'bulk-import') {
    const { runBulkImportBench } = await import('./bulk-import.ts');
    output = await runBulkImportBench({ engine: values.engine, observations: num(values.observations), residents: num(values.residents), batch: num(values.batch), seedCache: !!values['seed-cache'] });
  } else if (name === 'chronic') {
    const { runChronicBench } = await import('./chronic.ts');
    output = await runChronicBench({
      engine: values.engine, residents: num(values.residents), conditions: num(values.conditions), batch: num(values.batch),
      duration: num(values.duration), warmup: values.warmup === '0' ? 0 : num(values.warmup), only: values.only,
      databaseUrl: values['database-url'], dataDir: values['data-dir'],
    });
  } else if (name === 'detect') {
    const { runDetectBench } = await import('./detect.ts');
    output = await runDetectBench({ runs: num(values.runs) });
  } else if (name === 'surveillance') {
    const { runSurveillanceBench } = await import('./surveillance.ts');
    output = await runSurveillanceBench({ engine: values.engine, residents: num(values.residents), threads: num(values.threads), profile: values.profile });
  } else if (name === 'detection-power') {
    const { runDetectionPowerBench } = await import('./detection-power.ts');
    output = await runDetectionPowerBench({ outbreaks: num(values.outbreaks), replications: num(values.replications), evalDays: num(values.days), threads: num(values.threads), config: values.config === undefined ? undefined : JSON.parse(values.config), signalsCache: values['signals-cache'], seed: num(values.seed),
      fusionGrid: values['fusion-grid'] === undefined ? undefined : JSON.parse(values['fusion-grid']) });
  } else {
    process.stderr.write(`unknown benchmark "${name}"\n\n${USAGE}\n`);
    process.exit(2);
  }
  process.stdout.write('\n' + output + '\n');
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(`bench: ${err?.stack ?? err}\n`);
  process.exit(1);
});
