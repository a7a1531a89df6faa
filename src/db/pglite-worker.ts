// The PGlite thread (see pglite-thread.ts): one in-process PGlite Db, driven by messages.
import { parentPort, workerData } from 'node:worker_threads';
import { openPglite, type Queryable } from './engine.ts';
import type { Reply, Request } from './pglite-thread.ts';

const port = parentPort!;
const ROLLBACK = Symbol('rollback');
const open = new Map<number, { q: Queryable; end: (commit: boolean) => void }>();
const ended = new Map<number, (o: { ok: boolean; err?: unknown }) => void>();

try {
  const db = await openPglite(workerData.dataDir);
  const reply = (m: Reply) => port.postMessage(m);
  const target = (tx?: number): Queryable => {
    if (tx === undefined) return db;
    const t = open.get(tx);
    if (!t) throw Object.assign(new Error('transaction is closed'), { code: '25P01' });
    return t.q;
  };
  port.on('message', async (r: Request) => {
    try {
      switch (r.op) {
        case 'query':
          return reply({ id: r.id, ok: true, result: await target(r.tx).query(r.sql, r.params) });
        case 'exec':
          await target(r.tx).exec(r.sql);
          return reply({ id: r.id, ok: true });
        case 'copy':
          await db.copyFrom(r.table, r.columns, [r.chunk]);
          return reply({ id: r.id, ok: true });
        case 'begin': {
          // The transaction stays open until the main thread ends it; its reply is sent once it has begun.
          const txId = r.id;
          let began = false;
          db.tx(async (q) => {
            const commit = await new Promise<boolean>((end) => {
              open.set(txId, { q, end });
              began = true;
              reply({ id: r.id, ok: true, result: txId });
            });
            if (!commit) throw ROLLBACK;
          }, { isolation: r.isolation }).then(
            () => ended.get(txId)?.({ ok: true }),
            (err) => {
              if (!began) {
                const e = err as { message?: string; code?: string };
                reply({ id: r.id, ok: false, error: { message: String(e?.message ?? err), code: e?.code } });
              } else ended.get(txId)?.(err === ROLLBACK ? { ok: true } : { ok: false, err });
            },
          ).finally(() => open.delete(txId));
          return;
        }
        case 'end': {
          const t = open.get(r.tx);
          if (!t) throw Object.assign(new Error('transaction is closed'), { code: '25P01' });
          const outcome = new Promise<{ ok: boolean; err?: unknown }>((resolve) => ended.set(r.tx, resolve));
          t.end(r.commit);
          const o = await outcome;
          ended.delete(r.tx);
          if (!o.ok) throw o.err;
          return reply({ id: r.id, ok: true });
        }
        case 'close':
          await db.close();
          reply({ id: r.id, ok: true });
          return;
      }
    } catch (err) {
      const e = err as { message?: string; code?: string };
      reply({ id: r.id, ok: false, error: { message: String(e?.message ?? err), code: e?.code } });
    }
  });
  port.postMessage({ ready: true });
} catch (err) {
  port.postMessage({ ready: false, error: String((err as Error)?.message ?? err) });
}

