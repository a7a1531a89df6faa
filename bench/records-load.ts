// Load generator for the records benchmark, run as a child process (as bench/load.ts for the lookup benchmark) so
// autocannon does not share the server's event loop. Two shapes of job: transaction Bundles built per request from a
// list of patients (every bundle new resources with fresh sender identifiers), or GETs rotating over a list of paths.
import autocannon from 'autocannon';
import { bundleOf, nextVisits, type BundlePatient } from './records-data.ts';

export interface RecordsLoadJob {
  url: string;
  headers: Record<string, string>;
  connections: number;
  duration: number;
  /** bundles: POST /fhir/R4 with `visitsPerBundle` visits of distinct patients each */
  bundles?: { patients: BundlePatient[]; visitsPerBundle: number; tag: string };
  /** gets: the paths to rotate through */
  paths?: string[];
}

export interface RecordsLoadSummary {
  duration: number;
  ok2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  okPerSecond: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** CPU seconds the load generator used (user + system), bundle building included */
  cpuSeconds: number;
  firstError: string | null;
}

function pct(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export function runRecordsLoad(job: RecordsLoadJob): Promise<RecordsLoadSummary> {
  let next = 0;
  let firstError: string | null = null;
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  const b = job.bundles;
  const request = b
    ? {
      method: 'POST' as const,
      setupRequest(req: any) {
        const visits = nextVisits(b.patients, next++, b.visitsPerBundle, b.tag);
        return { ...req, path: '/fhir/R4', body: JSON.stringify(bundleOf(visits)) };
      },
    }
    : {
      method: 'GET' as const,
      setupRequest(req: any) {
        return { ...req, path: job.paths![next++ % job.paths!.length] };
      },
    };
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      { url: job.url, connections: job.connections, duration: job.duration, timeout: 60, headers: job.headers, requests: [request] },
      (err: Error | null, result: any) => {
        if (err) return reject(err);
        const sorted = Float64Array.from(times).sort();
        resolve({
          duration: result.duration,
          ok2xx: result['2xx'],
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([k, v]: [string, any]) => [k, v.count])),
          okPerSecond: result['2xx'] / result.duration,
          p50: pct(sorted, 50),
          p90: pct(sorted, 90),
          p99: pct(sorted, 99),
          max: sorted.length ? sorted[sorted.length - 1] : NaN,
          cpuSeconds: ((c) => (c.user + c.system) / 1e6)(process.cpuUsage(cpu0)),
          firstError,
        });
      },
    );
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      if (statusCode >= 200 && statusCode < 300) times.push(responseTime);
    });
    instance.on('reqError', (e: Error) => {
      firstError ??= String(e);
    });
  });
}

if (process.argv[2] === '--child') {
  process.once('message', (job: RecordsLoadJob) => {
    runRecordsLoad(job).then(
      (summary) => process.send!({ summary }, () => process.exit(0)),
      (err) => process.send!({ error: String(err?.stack ?? err) }, () => process.exit(1)),
    );
  });
}
