// Background work of the server process: a task run at once and then every `intervalMs`, never two runs at a time,
// with `kick` for a run now (coalesced with one in progress) and `stop` that waits for the run in progress.
export interface PeriodicJob {
  kick(): void;
  stop(): Promise<void>;
}

export function startPeriodicJob(task: () => Promise<unknown>, onError: (err: unknown) => void, intervalMs: number, opts: { runAtStart?: boolean } = {}): PeriodicJob {
  let running: Promise<unknown> | null = null;
  let again = false;
  let stopped = false;
  const run = () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = task().catch(onError).finally(() => {
      running = null;
      if (again && !stopped) {
        again = false;
        run();
      }
    });
  };
  const first = opts.runAtStart === false ? null : setTimeout(run, 0);
  const timer = setInterval(run, intervalMs);
  first?.unref();
  timer.unref();
  return {
    kick: run,
    async stop() {
      stopped = true;
      if (first) clearTimeout(first);
      clearInterval(timer);
      await running;
    },
  };
}
