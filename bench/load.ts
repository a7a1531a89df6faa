// Load generator for the lookup benchmark, run as a child process so autocannon does not share the server's event
// loop (or its process) on a small machine. The parent sends one job over IPC and receives one summary back.
import autocannon from 'autocannon';

export interface LoadJob {
  url: string;
  cookie: string;
  /** identity numbers to rotate through, one per request */
  ids: string[];
  connections: number;
  duration: number;
}

export interface LoadSummary {
  duration: number;
  total: number;
  ok2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  /** autocannon's requests/s (mean of its per-second samples) */
  requestsPerSecond: number;
  /** 2xx responses / duration */
  okPerSecond: number;
  /** autocannon's latency percentiles (ms, 1 ms resolution) */
  p50: number;
  p99: number;
  /** the same from the raw response times (ms, µs resolution) */
  p50Precise: number;
  p90Precise: number;
  p99Precise: number;
  maxPrecise: number;
  /** CPU seconds the load generator itself used (user + system) */
  cpuSeconds: number;
}

function pct(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export function runLoad(job: LoadJob): Promise<LoadSummary> {
  let next = 0;
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: job.url,
        connections: job.connections,
        duration: job.duration,
        headers: { cookie: job.cookie, accept: 'application/json' },
        requests: [
          {
            method: 'GET',
            setupRequest(req: any) {
              const id = job.ids[next++ % job.ids.length];
              return { ...req, path: `/api/v1/residents?idNumber=${id}` };
            },
          },
        ],
      },
      (err: Error | null, result: any) => {
        if (err) return reject(err);
        const sorted = Float64Array.from(times).sort();
        resolve({
          duration: result.duration,
          total: result['1xx'] + result['2xx'] + result['3xx'] + result['4xx'] + result['5xx'],
          ok2xx: result['2xx'],
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([k, v]: [string, any]) => [k, v.count])),
          requestsPerSecond: result.requests.average,
          okPerSecond: result['2xx'] / result.duration,
          p50: result.latency.p50,
          p99: result.latency.p99,
          p50Precise: pct(sorted, 50),
          p90Precise: pct(sorted, 90),
          p99Precise: pct(sorted, 99),
          maxPrecise: sorted.length ? sorted[sorted.length - 1] : NaN,
          cpuSeconds: ((c) => (c.user + c.system) / 1e6)(process.cpuUsage(cpu0)),
        });
      },
    );
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      if (statusCode >= 200 && statusCode < 300) times.push(responseTime);
    });
  });
}

if (process.argv[2] === '--child') {
  process.once('message', (job: LoadJob) => {
    runLoad(job).then(
      (summary) => process.send!({ summary }, () => process.exit(0)),
      (err) => process.send!({ error: String(err?.stack ?? err) }, () => process.exit(1)),
    );
  });
}
