// Progress for long runs: a bar with rows/s on a terminal, plain log lines otherwise (CI, files).
import cliProgress from 'cli-progress';

export function progressReporter(label: string, stream: NodeJS.WriteStream = process.stderr) {
  const started = performance.now();
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar({
      format: `${label} [{bar}] {percentage}% | {value}/{total} | {rate} rows/s | {duration_formatted}`,
      stream, hideCursor: true,
    }, cliProgress.Presets.shades_classic);
    let begun = false;
    return {
      update(done: number, total: number) {
        if (!begun) {
          bar.start(total, 0, { rate: 0 });
          begun = true;
        }
        const rate = Math.round(done / Math.max(0.001, (performance.now() - started) / 1000));
        bar.update(done, { rate });
        if (done >= total) bar.stop();
      },
    };
  }
  let lastLogged = -1;
  return {
    update(done: number, total: number) {
      const pct = total ? Math.floor((done * 10) / total) : 10;
      if (pct === lastLogged) return;
      lastLogged = pct;
      const secs = (performance.now() - started) / 1000;
      stream.write(`${label}: ${done}/${total} rows (${Math.round(done / Math.max(secs, 0.001))} rows/s, ${secs.toFixed(1)} s)\n`);
    },
  };
}
