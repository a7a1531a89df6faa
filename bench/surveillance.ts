// Daily detection run benchmark (issue 6, Performance): the full run for the dongcheng district — 168 communities ×
// every source × every category (and the notifiable diseases' case reports), 168 weeks of daily feeds as
// `caregrid seed` loads them, EARS (earsC2) on the daily series, farringtonFlexible on the weekly aggregates and the
// space-time permutation scan with 999 replications per source × category — timed end to end and per phase, on
// worker threads (both cores) and in one thread, on each engine.
//
// The district is seeded with the dongcheng profile (its feeds: 700,000 residents' worth over 168 communities), with
// fewer residents than the real 700,000 by default because the run reads no resident (--residents to change it).
// Seeding is not timed. The as-of date is the last day of the feeds (the seed's yesterday), so the seeded norovirus
// outbreak, which ends four days before the seed's today, is in the scan's windows.
import { performance } from 'node:perf_hooks';
import { cpus } from 'node:os';
import { seedDistrict } from '../src/synth/seed.ts';
import { runSurveillance, type RunView } from '../src/modules/surveillance/run.ts';
import { BENCH_KEYS, BENCH_SEED, ADMIN_PASSWORD, DEMO_PASSWORD, enginesOf, fmt, freshDb, loadAverage, log, machine, table } from './common.ts';

export interface SurveillanceBenchOptions {
  engine?: string;
  /** residents seeded (default 50,000; the run reads none) */
  residents?: number;
  /** threads of the parallel runs (default: the machine's cores) */
  threads?: number;
  /** seed profile (default dongcheng; test for a quick check of the benchmark itself) */
  profile?: string;
}

/** The seed's "today": a fixed instant, so every run of the benchmark evaluates the same data. */
const NOW = new Date('2026-11-24T02:00:00Z');

interface Measured {
  engine: string;
  threads: number;
  run: RunView;
  wall: number;
  load: string;
}

export async function runSurveillanceBench(opts: SurveillanceBenchOptions = {}): Promise<string> {
  const engines = enginesOf(opts.engine);
  const threads = opts.threads ?? cpus().length;
  const measured: Measured[] = [];
  const facts: string[] = [];
  for (const engine of engines) {
    const b = await freshDb(engine);
    try {
      const profile = opts.profile ?? 'dongcheng';
      log(`${engine}: seeding ${profile} (${opts.residents ?? (profile === 'test' ? 'the profile’s' : fmt.int(50_000))} residents, the profile’s feeds)…`);
      const t0 = performance.now();
      const seeded = await seedDistrict(b.db, BENCH_KEYS, {
        profile, seed: BENCH_SEED, residents: opts.residents ?? (profile === 'test' ? undefined : 50_000), adminPassword: ADMIN_PASSWORD, demoPassword: DEMO_PASSWORD, now: NOW,
      });
      const sv = seeded.surveillance!;
      log(`${engine}: seeded in ${fmt.s((performance.now() - t0) / 1000)} s: ${fmt.int(sv.feedRows)} feed rows ${sv.from}…${sv.to}, ${fmt.int(sv.caseReports)} case reports; outbreak ${sv.outbreak.syndrome} in ${sv.outbreak.communityIds.join(', ')} ${sv.outbreak.start}…${sv.outbreak.end}`);
      await b.db.query('ANALYZE');
      const asOf = sv.to;
      if (engine === engines[0]) facts.push(`Data: ${fmt.int(sv.feedRows)} feed rows (${sv.from} … ${sv.to}), ${fmt.int(sv.caseReports)} case reports; as-of date ${asOf}; the seeded outbreak: ${sv.outbreak.syndrome}, communities ${sv.outbreak.communityIds.join(', ')}, onsets ${sv.outbreak.start} … ${sv.outbreak.end}.`);
      // parallel, then one thread, then parallel again (the second parallel run shows how much the first paid for a cold engine)
      for (const n of [threads, 1, threads]) {
        const load = loadAverage();
        const started = performance.now();
        const run = await runSurveillance(b.db, { asOf, kind: 'on_demand', threads: n });
        const wall = (performance.now() - started) / 1000;
        log(`${engine}, ${n} thread(s): ${fmt.s(wall)} s, ${run.seriesCount} series, ${run.signalCount} signals, timings ${JSON.stringify(run.timings)}`);
        measured.push({ engine, threads: n, run, wall, load: `${load} → ${loadAverage()}` });
      }
      const { rows } = await b.db.query<{ algorithm: string; n: number; outbreak: number }>(
        `SELECT algorithm, count(*)::int AS n, count(*) FILTER (WHERE region_ids && $2::bigint[])::int AS outbreak
           FROM signal WHERE run_id = $1 GROUP BY 1 ORDER BY 1`,
        [measured[measured.length - 1].run.id, sv.outbreak.communityIds],
      );
      facts.push(`${engine}: signals of the last run by algorithm (of which touching the outbreak's communities): ${rows.map((r) => `${r.algorithm} ${r.n} (${r.outbreak})`).join(', ')}.`);
    } finally {
      await b.dispose();
    }
  }
  const t = (m: Measured, k: string) => fmt.s(m.run.timings[k] ?? NaN);
  const rows = measured.map((m) => [
    m.engine, m.threads, `**${fmt.s(m.wall)}** ${m.wall < 60 ? '✓' : '✗'}`, t(m, 'read'), t(m, 'series'), `${t(m, 'ears')} / ${t(m, 'farrington')}`,
    t(m, 'scan'), `${m.run.timings.scans} / ${t(m, 'scanReplications')}`, t(m, 'write'),
    `${fmt.int(m.run.seriesCount ?? 0)} (${fmt.int(m.run.timings.earsPoints)} / ${fmt.int(m.run.timings.farringtonPoints)})`, fmt.int(m.run.signalCount ?? 0), m.load,
  ]);
  return [
    `### surveillance — the daily run for dongcheng (${new Date().toISOString().slice(0, 10)})`,
    '',
    `Machine: ${machine()}.`,
    '',
    ...facts.map((f) => `${f}  `),
    '',
    table(['engine', 'threads', 'end to end s (< 60)', 'read s', 'EARS + Farrington s', 'of which EARS / Farrington CPU s', 'scan s', 'scans / replication CPU s', 'write s', 'series (EARS / Farrington points computed)', 'signals', 'load average before → after'], rows),
  ].join('\n');
}
