// `caregrid detect [file]`: a detection job (or an array of jobs) as JSON from the file or standard input, the
// results as JSON on standard output. A bad job is reported on standard error, exit code 2.
import { readFile } from 'node:fs/promises';
import { text } from 'node:stream/consumers';
import { AppError, formatMessage } from '../../platform/errors.ts';
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
