// Load generators of the referral benchmark, run in a child process (bench/common.ts loadInChild) so the clients do
// not share the server's event loop:
//   book      `connections` clients refer residents upward with a slot (POST /api/v1/referrals {slotId}) until every
//             slot is taken; a client that gets 409 SLOT_TAKEN learns the slot is gone (as a console refresh would)
//             and picks another. Returns the ids of the referrals created, so the parent can count them in the database.
//   schedule  `connections` clients book slots for referrals that already exist (POST /api/v1/referrals/{id}/schedule
//             {slotId}), each client for its own share of its doctor's referrals, until every slot is taken; a referral
//             whose booking got 409 SLOT_TAKEN tries the client's next slot. Returns (referral, slot) of every 200.
//   worklist  `connections` clients GET worklist URLs in turn for `duration` seconds; latency percentiles.
// Bookings go over one kept-alive HTTP/1.1 connection per client (a plain TCP socket, HttpConnection below): a
// request is one write of its head and JSON body, the answer is read by its Content-Length and its JSON parsed. It
// costs the client less CPU than node:http's agent (measured: ~0.1 against ~0.27 ms per request, which in turn was a
// third of fetch's), CPU the server under test shares on this two-core machine. The worklist clients use fetch
// (keep-alive, as many connections per origin as there are clients: undici's default).
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface BookJob {
  mode: 'book';
  base: string;
  /** one session per family doctor, with residents in that doctor's scope */
  doctors: { cookie: string; residents: number[] }[];
  targetInstitutionId: number;
  slotIds: number[];
  connections: number;
}

export interface ScheduleJob {
  mode: 'schedule';
  base: string;
  /** one session per family doctor, with the open referrals (no appointment yet) that doctor sent */
  doctors: { cookie: string; referrals: number[] }[];
  slotIds: number[];
  connections: number;
}

export interface ScheduleSummary extends Omit<BookSummary, 'referralIds'> {
  /** [referral id, slot id] of every booking answered 200 */
  booked: number;
  pairs: [number, number][];
}

export interface WorklistJob {
  mode: 'worklist';
  base: string;
  cookie: string;
  paths: string[];
  connections: number;
  duration: number;
  warmup: number;
}

export interface Latency {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export interface BookSummary {
  seconds: number;
  booked: number;
  conflicts: number;
  errors: number;
  errorSamples: string[];
  referralIds: number[];
  latency: Latency;
  cpuSeconds: number;
}

export interface WorklistSummary {
  seconds: number;
  perPath: (Latency & { path: string })[];
  all: Latency & { perSecond: number };
  non2xx: number;
  errorSample: string | null;
  cpuSeconds: number;
}

/**
 * One client's HTTP/1.1 connection, kept alive: `post` sends a request and resolves with the status and the parsed
 * JSON body of its answer (read by Content-Length; the server answers JSON with one). One request at a time.
 */
class HttpConnection {
  private readonly socket: Socket;
  private readonly host: string;
  private buf: Buffer = Buffer.alloc(0);
  private pending: { resolve: (r: { status: number; body: any }) => void; reject: (e: Error) => void } | null = null;
  private error: Error | null = null;
  constructor(base: string) {
    const u = new URL(base);
    this.host = u.host;
    this.socket = connect({ host: u.hostname, port: Number(u.port), noDelay: true });
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    const fail = (e: Error) => {
      this.error ??= e;
      const p = this.pending;
      this.pending = null;
      p?.reject(e);
    };
    this.socket.on('error', fail);
    this.socket.on('close', () => fail(new Error('connection closed by the server')));
  }
  post(path: string, cookie: string, body: unknown): Promise<{ status: number; body: any }> {
    if (this.error) return Promise.reject(this.error);
    const data = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(`POST ${path} HTTP/1.1\r\nHost: ${this.host}\r\nCookie: ${cookie}\r\nContent-Type: application/json\r\nAccept: application/json\r\n`
        + `Content-Length: ${Buffer.byteLength(data)}\r\n\r\n${data}`);
    });
  }
  private onData(chunk: Buffer) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0 || !this.pending) return;
    const head = this.buf.toString('latin1', 0, end);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (!length) return this.fail(new Error(`answer without Content-Length: ${head.slice(0, 200)}`));
    const total = end + 4 + Number(length[1]);
    if (this.buf.length < total) return;
    const text = this.buf.toString('utf8', end + 4, total);
    this.buf = this.buf.subarray(total);
    const p = this.pending;
    this.pending = null;
    try {
      p.resolve({ status: Number(head.slice(9, 12)), body: JSON.parse(text) });
    } catch (err) {
      p.reject(err as Error);
    }
  }
  private fail(e: Error) {
    this.error = e;
    this.pending?.reject(e);
    this.pending = null;
    this.socket.destroy();
  }
  close() {
    this.socket.destroy();
  }
}

function latency(times: number[]): Latency {
  const s = Float64Array.from(times).sort();
  const pct = (p: number) => (s.length ? s[Math.min(s.length - 1, Math.floor(s.length * p))] : NaN);
  return { count: s.length, p50: pct(0.5), p99: pct(0.99), max: s.length ? s[s.length - 1] : NaN };
}

/** Fisher–Yates with a small deterministic generator: every client its own order over the same slots. */
function shuffled<T>(xs: T[], seed: number): T[] {
  const a = xs.slice();
  let x = seed * 2654435761 >>> 0 || 1;
  for (let i = a.length - 1; i > 0; i--) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    const j = x % (i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

export async function runBook(job: BookJob): Promise<BookSummary> {
  const conns = Array.from({ length: job.connections }, () => new HttpConnection(job.base));
  const taken = new Set<number>();
  const ids: number[] = [];
  const times: number[] = [];
  const errorSamples: string[] = [];
  let conflicts = 0, errors = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: job.connections }, async (_, c) => {
    const doctor = job.doctors[c % job.doctors.length];
    const order = shuffled(job.slotIds, c + 1);
    let n = c;
    for (const slotId of order) {
      if (taken.has(slotId)) continue;
      const residentId = doctor.residents[n++ % doctor.residents.length];
      const t = performance.now();
      const res = await conns[c].post('/api/v1/referrals', doctor.cookie,
        { direction: 'up', residentId, targetInstitutionId: job.targetInstitutionId, targetDepartment: '心内科', reason: '专科评估 (benchmark)', slotId });
      const body = res.body as { id?: number; code?: string };
      times.push(performance.now() - t);
      taken.add(slotId);
      if (res.status === 201) ids.push(body.id!);
      else if (res.status === 409 && body.code === 'SLOT_TAKEN') conflicts++;
      else {
        errors++;
        if (errorSamples.length < 5) errorSamples.push(`${res.status} ${JSON.stringify(body).slice(0, 200)}`);
      }
    }
  }));
  const cpu = process.cpuUsage(cpu0);
  for (const conn of conns) conn.close();
  return {
    seconds: (performance.now() - t0) / 1000, booked: ids.length, conflicts, errors, errorSamples, referralIds: ids, latency: latency(times),
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

export async function runSchedule(job: ScheduleJob): Promise<ScheduleSummary> {
  const conns = Array.from({ length: job.connections }, () => new HttpConnection(job.base));
  const taken = new Set<number>();
  const pairs: [number, number][] = [];
  const times: number[] = [];
  const errorSamples: string[] = [];
  let conflicts = 0, errors = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const nd = job.doctors.length;
  await Promise.all(Array.from({ length: job.connections }, async (_, c) => {
    const doctor = job.doctors[c % nd];
    // the doctor's clients share out the doctor's referrals: client k of m takes every m-th
    const m = Math.floor(job.connections / nd) + (c % nd < job.connections % nd ? 1 : 0);
    const k = Math.floor(c / nd);
    const mine = doctor.referrals.filter((_, i) => i % m === k);
    const order = shuffled(job.slotIds, c + 1);
    let at = 0;
    for (const referralId of mine) {
      for (; at < order.length; at++) {
        const slotId = order[at];
        if (taken.has(slotId)) continue;
        const t = performance.now();
        const res = await conns[c].post(`/api/v1/referrals/${referralId}/schedule`, doctor.cookie, { slotId });
        const body = res.body as { id?: number; code?: string };
        times.push(performance.now() - t);
        taken.add(slotId);
        if (res.status === 200) {
          pairs.push([referralId, slotId]);
          at++;
          break;
        }
        if (res.status === 409 && body.code === 'SLOT_TAKEN') conflicts++;
        else {
          errors++;
          if (errorSamples.length < 5) errorSamples.push(`${res.status} ${JSON.stringify(body).slice(0, 200)}`);
        }
      }
      if (at >= order.length) break;
    }
  }));
  const cpu = process.cpuUsage(cpu0);
  for (const conn of conns) conn.close();
  return {
    seconds: (performance.now() - t0) / 1000, booked: pairs.length, pairs, conflicts, errors, errorSamples, latency: latency(times),
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

export async function runWorklist(job: WorklistJob): Promise<WorklistSummary> {
  const per = job.paths.map(() => [] as number[]);
  let non2xx = 0;
  let errorSample: string | null = null;
  const cpu0 = process.cpuUsage();
  const once = async (i: number, record: boolean) => {
    const t = performance.now();
    const res = await fetch(`${job.base}${job.paths[i]}`, { headers: { cookie: job.cookie, accept: 'application/json' } });
    const body = await res.text();
    if (res.status !== 200) {
      non2xx++;
      errorSample ??= `${res.status} ${job.paths[i]} ${body.slice(0, 300)}`;
    }
    else if (record) per[i].push(performance.now() - t);
  };
  const loop = async (seconds: number, record: boolean) => {
    const until = performance.now() + seconds * 1000;
    // each client goes through the paths in turn from its own starting point (a counter shared by all clients would,
    // with responses coming back in order, keep handing each client the same path)
    await Promise.all(Array.from({ length: job.connections }, async (_, c) => {
      for (let n = c; performance.now() < until; n++) await once(n % job.paths.length, record);
    }));
  };
  await loop(job.warmup, false);
  const t0 = performance.now();
  await loop(job.duration, true);
  const seconds = (performance.now() - t0) / 1000;
  const all = per.flat();
  const cpu = process.cpuUsage(cpu0);
  return {
    seconds, perPath: job.paths.map((path, i) => ({ path, ...latency(per[i]) })), all: { ...latency(all), perSecond: all.length / seconds }, non2xx, errorSample,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

if (process.argv[2] === '--child') {
  process.once('message', (job: BookJob | ScheduleJob | WorklistJob) => {
    (job.mode === 'book' ? runBook(job) : job.mode === 'schedule' ? runSchedule(job) : runWorklist(job)).then(
      (summary) => process.send!({ summary }, () => process.exit(0)),
      (err) => process.send!({ error: String(err?.stack ?? err) }, () => process.exit(1)),
    );
  });
}
