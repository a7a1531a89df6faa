// PGlite on its own thread. In-process PGlite runs SQL on the server's event loop, so HTTP and SQL share one core;
// here the database lives in a worker thread and the Db interface forwards to it by message. Transactions stay
// PGlite's own: the worker opens one, runs the statements that carry its id, and commits or rolls back on request,
// while statements from outside it wait for PGlite's transaction lock exactly as in-process.
import { Worker } from 'node:worker_threads';
import { setLocalSql, type CopyChunk, type Db, type Queryable, type QueryResult } from './engine.ts';

export type Request =
  | { id: number; op: 'query'; sql: string; params: unknown[]; tx?: number }
  | { id: number; op: 'exec'; sql: string; tx?: number }
  | { id: number; op: 'begin'; isolation?: 'read committed' | 'serializable' }
  | { id: number; op: 'end'; tx: number; commit: boolean }
  | { id: number; op: 'copy'; table: string; columns: readonly string[]; chunk: CopyChunk }
  | { id: number; op: 'close' };
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;
export type Reply = { id: number; ok: true; result?: any } | { id: number; ok: false; error: { message: string; code?: string } };

export async function openPgliteThread(dataDir: string | undefined): Promise<Db> {
  const worker = new Worker(new URL('./pglite-worker.ts', import.meta.url), { workerData: { dataDir } });
  const pending = new Map<number, { resolve: (v: any) => void; reject: (e: unknown) => void }>();
  let nextId = 1;
  let failure: Error | null = null;
  worker.on('message', (m: Reply | { ready: true } | { ready: false; error: string }) => {
    if ('ready' in m) {
      const p = pending.get(0);
      pending.delete(0);
      if (m.ready) p?.resolve(undefined);
      else p?.reject(new Error(m.error));
      return;
    }
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.ok) p.resolve(m.result);
    else p.reject(Object.assign(new Error(m.error.message), m.error.code ? { code: m.error.code } : {}));
  });
  const fail = (err: Error) => {
    failure = err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`the PGlite thread exited (${code})`)));
  const call = <T>(req: WithoutId<Request>, transfer: ArrayBuffer[] = []): Promise<T> => {
    if (failure) return Promise.reject(failure);
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...req, id }, transfer);
    });
  };
  await new Promise<void>((resolve, reject) => pending.set(0, { resolve, reject }));

  const queryable = (tx?: number): Queryable => ({
    query<T>(sql: string, params: unknown[] = []) {
      return call<QueryResult<T>>({ op: 'query', sql, params, tx });
    },
    async exec(sql: string) {
      await call({ op: 'exec', sql, tx });
    },
  });
  return {
    engine: 'pglite',
    ...queryable(),
    async tx(fn, options) {
      const tx = await call<number>({ op: 'begin', isolation: options?.isolation });
      let result;
      try {
        if (options?.settings) await call({ op: 'exec', sql: setLocalSql(options.settings), tx });
        result = await fn(queryable(tx));
      } catch (err) {
        await call({ op: 'end', tx, commit: false }).catch(() => {});
        throw err;
      }
      await call({ op: 'end', tx, commit: true });
      return result;
    },
    async copyFrom(table, columns, chunks) {
      for await (const chunk of chunks) {
        if (!chunk.length) continue;
        // bytes that own their whole buffer move to the thread without a copy
        const movable = typeof chunk !== 'string' && chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength && chunk.buffer instanceof ArrayBuffer;
        await call({ op: 'copy', table, columns, chunk }, movable ? [chunk.buffer as ArrayBuffer] : []);
      }
    },
    async close() {
      if (!failure) await call({ op: 'close' }).catch(() => {});
      worker.removeAllListeners('exit');
      await worker.terminate();
    },
  };
}
