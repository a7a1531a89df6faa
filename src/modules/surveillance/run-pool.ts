// Worker threads for the daily run: tasks go to whichever thread is free (a queue), results come back as promises.
// With one thread the tasks run inline, in this thread: the single-thread reference of the benchmark.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { runTask, type RunTask, type ScanTask, type ScanTaskResult, type SeriesTask, type SeriesTaskResult } from './run-tasks.ts';

interface Pending {
  task: RunTask;
  resolve(result: unknown): void;
  reject(err: unknown): void;
}

export class RunPool {
  readonly threads: number;
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: Pending[] = [];
  private readonly inFlight = new Map<Worker, Pending>();
  private nextId = 0;

  /** `threads` defaults to the machine's cores (at most 4: the run's batches are few and large). */
  constructor(threads = Math.min(4, availableParallelism())) {
    this.threads = Math.max(1, threads);
    if (this.threads === 1) return;
    for (let i = 0; i < this.threads; i++) {
      const w = new Worker(new URL('./run-worker.ts', import.meta.url));
      w.on('message', (msg: { id: number; result?: unknown; error?: string }) => {
        const p = this.inFlight.get(w)!;
        this.inFlight.delete(w);
        if (msg.error !== undefined) p.reject(new Error(`detection worker: ${msg.error}`));
        else p.resolve(msg.result);
        this.feed(w);
      });
      w.on('error', (err) => {
        const p = this.inFlight.get(w);
        this.inFlight.delete(w);
        p?.reject(err);
      });
      this.workers.push(w);
      this.idle.push(w);
    }
  }

  run(task: SeriesTask): Promise<SeriesTaskResult>;
  run(task: ScanTask): Promise<ScanTaskResult>;
  run(task: RunTask): Promise<unknown> {
    if (this.threads === 1) {
      // inline, but after the caller has queued its other tasks (as a worker would take them)
      return new Promise((resolve, reject) => setImmediate(() => {
        try {
          resolve(runTask(task));
        } catch (err) {
          reject(err);
        }
      }));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ task, resolve, reject });
      const w = this.idle.pop();
      if (w) this.feed(w);
    });
  }

  private feed(w: Worker) {
    const next = this.queue.shift();
    if (!next) {
      this.idle.push(w);
      return;
    }
    this.inFlight.set(w, next);
    w.postMessage({ id: this.nextId++, task: next.task });
  }

  async close(): Promise<void> {
    for (const p of this.queue.splice(0)) p.reject(new Error('the detection pool was closed'));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
