// Worker of bench/detection-power.ts: builds the same synthetic world and computes the daily runs' signals it is asked
// for — the baseline's for a range of days, or one outbreak's (its series and kinds only) over its window.
import { parentPort, workerData } from 'node:worker_threads';
import { buildWorld, outbreakValues, signalsOfDays, type Levels } from './detection-sim.ts';
import type { OutbreakSpec } from '../src/synth/feeds.ts';

export type PowerTask =
  | { kind: 'baseline'; from: number; to: number }
  | { kind: 'trial'; index: number; spec: OutbreakSpec; seed: number; from: number; to: number };

const { seed, days, levels, replications, config } = workerData as { seed: number; days: number; levels: Levels; replications: number; config: unknown };
const w = buildWorld(seed, days, config as never);
const all = w.series.map((_, k) => k);
const kinds = w.kinds.map((_, k) => k);

parentPort!.on('message', (task: PowerTask) => {
  if (task.kind === 'baseline') {
    const signals = signalsOfDays(w, (k) => w.series[k].values, all, kinds, task.from, task.to, levels, replications);
    parentPort!.postMessage({ kind: 'baseline', from: task.from, to: task.to, signals });
  } else {
    const { values } = outbreakValues(w, task.spec, task.seed);
    const series = [...values.keys()].sort((a, b) => a - b);
    const affectedKinds = [...new Set(series.map((k) => w.series[k].kind))].sort((a, b) => a - b);
    const signals = signalsOfDays(w, (k) => values.get(k) ?? w.series[k].values, series, affectedKinds, task.from, task.to, levels, replications);
    parentPort!.postMessage({ kind: 'trial', index: task.index, series, kinds: affectedKinds, signals });
  }
});
