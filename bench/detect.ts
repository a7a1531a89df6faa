// Detection benchmark (issue 6, Performance): `caregrid detect` on a batch of 100 real weekly series, each evaluated
// over its last 52 weeks with farringtonFlexible's defaults — seconds for the whole process (node start, loading, JSON
// in and out) — against R's surveillance::farringtonFlexible on the same jobs, timed in the same run, and every
// point compared (alarms identical, upper bounds within 1e-6 relative, null where R gives NA).
//
// The jobs and R's side come from scripts/r/farrington-bench.R (public data sets of the surveillance package: 29
// series — salmNewport's 16 states and total, momo's 8 age groups, campyDE, stsNewport, salmAllOnset,
// salmHospitalized — and the same cut 39, 78, 117 weeks before their end, until there are 100).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fmt, loadAverage, log, machine, table } from './common.ts';

export interface DetectBenchOptions {
  /** runs of `caregrid detect` (default 5); the median is reported */
  runs?: number;
}

interface RResults {
  R: string;
  surveillance: string;
  seconds: number;
  names: string[];
  results: { upperbound: (number | null)[]; alarm: (boolean | null)[] }[];
}

interface Result {
  points: { upperbound: number | null; alarm: boolean | null }[];
}

const root = join(import.meta.dirname, '..');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Every point against R's: alarms, nulls, and the largest relative difference of the upper bounds. */
function compare(ours: Result[], r: RResults) {
  let points = 0, alarmsSame = 0, nullsSame = 0, alarms = 0, worst = 0;
  const mismatches: string[] = [];
  r.results.forEach((rr, j) => {
    rr.alarm.forEach((alarm, i) => {
      const p = ours[j].points[i];
      const ub = rr.upperbound[i];
      points++;
      if (alarm) alarms++;
      if (p.alarm === alarm) alarmsSame++;
      else mismatches.push(`${r.names[j]} point ${i}: alarm ${p.alarm} vs R ${alarm}`);
      if ((p.upperbound === null) === (ub === null)) nullsSame++;
      else mismatches.push(`${r.names[j]} point ${i}: upperbound ${p.upperbound} vs R ${ub}`);
      if (p.upperbound !== null && ub !== null) {
        const scale = Math.max(Math.abs(p.upperbound), Math.abs(ub));
        if (scale > 0) worst = Math.max(worst, Math.abs(p.upperbound - ub) / scale);
      }
    });
  });
  return { points, alarms, alarmsSame, nullsSame, worst, mismatches };
}

export async function runDetectBench(opts: DetectBenchOptions = {}): Promise<string> {
  const runs = opts.runs ?? 5;
  const dir = mkdtempSync(join(tmpdir(), 'cg-bench-detect-'));
  try {
    const loadBefore = loadAverage();
    log('R: building the 100 jobs and timing farringtonFlexible on them (about a minute)…');
    const rStarted = performance.now();
    const r = spawnSync('Rscript', [join(root, 'scripts/r/farrington-bench.R'), dir], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.error || r.status !== 0) throw new Error(`Rscript failed (${r.error?.message ?? `exit ${r.status}`}); R with surveillance and jsonlite is needed`);
    const rProcess = (performance.now() - rStarted) / 1000;
    const rResults = JSON.parse(readFileSync(join(dir, 'r-results.json'), 'utf8')) as RResults;

    const jobs = join(dir, 'jobs.json');
    const out = join(dir, 'caregrid.json');
    const seconds: number[] = [];
    for (let i = 0; i < runs; i++) {
      const fd = openSync(out, 'w');
      const started = performance.now();
      // what `npx caregrid detect jobs.json` runs: the launcher, which starts src/main.ts on the pinned Node 24
      const c = spawnSync(process.execPath, [join(root, 'bin/caregrid.js'), 'detect', jobs], { stdio: ['ignore', fd, 'inherit'] });
      seconds.push((performance.now() - started) / 1000);
      closeSync(fd);
      if (c.status !== 0) throw new Error(`caregrid detect failed (exit ${c.status})`);
      log(`caregrid detect run ${i + 1}/${runs}: ${fmt.s(seconds[i])} s`);
    }
    const ours = JSON.parse(readFileSync(out, 'utf8')) as Result[];
    const cmp = compare(ours, rResults);
    for (const m of cmp.mismatches.slice(0, 20)) log(`mismatch: ${m}`);

    // where the process's time goes: the same jobs through detect() in this process, first (cold) call
    const { detect } = await import('../src/modules/surveillance/detect.ts');
    const body = JSON.parse(readFileSync(jobs, 'utf8')) as unknown;
    const t0 = performance.now();
    detect(body);
    const inProcess = (performance.now() - t0) / 1000;

    const ours50 = median(seconds);
    const ratio = rResults.seconds / ours50;
    const rows = [[
      `${rResults.results.length} × 52 = ${fmt.int(cmp.points)}`,
      fmt.s(rResults.seconds),
      `**${fmt.s(ours50)}** (${fmt.s(Math.min(...seconds))}–${fmt.s(Math.max(...seconds))}, ${runs} runs)`,
      fmt.s(inProcess),
      `**${ratio.toFixed(1)}×** ${ratio >= 30 ? '✓' : '✗'}`,
      `${fmt.int(cmp.alarmsSame)} / ${fmt.int(cmp.points)} (${cmp.alarms} alarms)`,
      cmp.worst.toExponential(1),
      `${fmt.int(cmp.nullsSame)} / ${fmt.int(cmp.points)}`,
      `${loadBefore} → ${loadAverage()}`,
    ]];
    return [
      `### detect — farringtonFlexible defaults, 100 weekly series × last 52 weeks (${new Date().toISOString().slice(0, 10)})`,
      '',
      `Machine: ${machine()}. R ${rResults.R}, surveillance ${rResults.surveillance} (R process ${fmt.s(rProcess)} s including data loading).`,
      '',
      table(['points', "R farringtonFlexible s", 'caregrid detect s (median)', 'of which detect() in-process s', 'R / caregrid', 'alarms identical', 'max upper-bound rel. diff', 'null where R NA', 'load average before → after'], rows),
    ].join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
