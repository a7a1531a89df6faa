// A worker thread of the daily run: takes tasks (run-tasks.ts) and answers each with its result, in order.
import { parentPort } from 'node:worker_threads';
import { runTask, type RunTask } from './run-tasks.ts';

parentPort!.on('message', (msg: { id: number; task: RunTask }) => {
  try {
    const result = runTask(msg.task);
    const transfer = 'maxima' in result ? [result.maxima.buffer as ArrayBuffer] : [];
    parentPort!.postMessage({ id: msg.id, result }, transfer);
  } catch (err) {
    parentPort!.postMessage({ id: msg.id, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
  }
});
