// Worker thread: builds resident chunks (the CPU-heavy part: names, identity numbers, encryption) off the main thread.
import { parentPort, workerData } from 'node:worker_threads';
import { generateChunk, type ChunkKeys, type ChunkSpec } from './residents.ts';

const keys = workerData as ChunkKeys;
// The COPY text goes back as UTF-8 bytes in a transferred buffer: no copy on the way, and the database driver
// needs bytes anyway, so the encoding happens here rather than on the main thread.
parentPort!.on('message', (spec: ChunkSpec) => {
  const out = generateChunk(spec, keys);
  const bytes = new Uint8Array(Buffer.byteLength(out.residents));
  Buffer.from(bytes.buffer).write(out.residents);
  parentPort!.postMessage({ count: out.count, residents: bytes }, [bytes.buffer]);
});
