// Worker thread: builds resident chunks (the CPU-heavy part: names, identity numbers, encryption) off the main thread.
import { parentPort, workerData } from 'node:worker_threads';
import { generateChunk, type ChunkKeys, type ChunkSpec } from './residents.ts';

const keys = workerData as ChunkKeys;
parentPort!.on('message', (spec: ChunkSpec) => {
  parentPort!.postMessage(generateChunk(spec, keys));
});
