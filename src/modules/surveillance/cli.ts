// `caregrid detect [file]`: a detection job (or an array of jobs) as JSON from the file or standard input, the
// results as JSON on standard output. A bad job is reported on standard error, exit code 2.
import { readFile } from 'node:fs/promises';
import { text } from 'node:stream/consumers';
import type { Db } from '../../db/engine.ts';
import { AppError, formatMessage } from '../../platform/errors.ts';
import { addDays, districtDate } from '../../platform/local-date.ts';
import { detect } from './detect.ts';

export async function detectCommand(file: string | undefined): Promise<number> {
  const input = file && file !== '-' ? await readFile(file, 'utf8') : await text(process.stdin);
  let body: unknown;
  try {
    body = JSON.parse(input);
  } catch (err) {
    process.stderr.write(`caregrid detect: the input is not valid JSON (${(err as Error).message})\n`);
    return 2;
  }
  try {
    process.stdout.write(`${JSON.stringify(detect(body))}\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    process.stderr.write(`caregrid detect: ${formatMessage(err.code, err.params, 'en')}\n`);
    return 2;
  }
}

/** `caregrid surveillance run [--as-of DATE] [--threads N]`: one on-demand run; the run as JSON on standard output. */
export async function runCommand(db: Db, opts: { asOf?: string; threads?: number }): Promise<number> {
  const { runSurveillance } = await import('./run.ts');
  (await import('./alerts.ts')).registerAlertHooks(); // fusion into alerts after the run
  const asOf = opts.asOf ?? addDays(districtDate(), -1);
  try {
    const run = await runSurveillance(db, { asOf, kind: 'on_demand', threads: opts.threads });
    process.stdout.write(`${JSON.stringify(run)}\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    process.stderr.write(`caregrid surveillance run: ${formatMessage(err.code, err.params, 'en')}\n`);
    return 2;
  }
}
