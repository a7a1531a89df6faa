// `caregrid import <file.ndjson…>` and `caregrid export --out dir [--type …]`: the bulk operations from the command
// line, on the configured database, as a named district administrator (audited like the HTTP operations).
import { copyFileSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Config } from '../../config.ts';
import { openContext } from '../../server.ts';
import { AppError, formatMessage } from '../../platform/errors.ts';
import { loadPrincipal, type Principal } from '../../platform/principal.ts';
import type { AuditContext } from '../../platform/audit.ts';
import type { Json } from '../datatypes.ts';
import { KINDS } from '../registry.ts';
import { kickOffExport, parseExportRequest, runExport } from './export.ts';
import { importStream, orderFiles, type ImportSummary } from './import.ts';
import { getJob, jobDir } from './jobs.ts';
import { fileLines } from './ndjson.ts';
import type { AppContext } from '../../context.ts';

const BASE = 'caregrid:fhir/R4';

async function operator(ctx: AppContext, username: string): Promise<{ principal: Principal; audit: AuditContext }> {
  const { rows } = await ctx.db.query('SELECT id FROM app_user WHERE username = $1', [username]);
  const principal = rows[0] ? await loadPrincipal(ctx.db, rows[0].id) : null;
  if (!principal) throw new Error(`no active user "${username}"`);
  return { principal, audit: { principal, clientIp: 'cli', requestId: 'cli', purpose: 'command line' } };
}

function message(err: unknown): string {
  return err instanceof AppError ? formatMessage(err.code, err.params, 'en') : String((err as Error)?.message ?? err);
}

export async function importCommand(config: Config, files: string[], opts: { user: string; batch?: number }): Promise<ImportSummary> {
  const ctx = await openContext(config);
  try {
    const { principal, audit } = await operator(ctx, opts.user);
    const sources = orderFiles(files.map((f) => ({ f, type: /^([A-Z][A-Za-z]+)(?:\.\d+)?\.ndjson$/.exec(basename(f))?.[1] ?? null })));
    const started = performance.now();
    const summary = await importStream(
      { db: ctx.db, keys: ctx.keys, principal, audit, dataDir: config.dataDir, base: BASE, locale: 'en', batchSize: opts.batch,
        onBatch: (s) => process.stderr.write(`imported ${s.imported} resources (${s.failed} failed lines) — ${Math.round(s.imported / ((performance.now() - started) / 1000))} resources/s\n`) },
      sources.map((s) => ({ name: s.f, lines: fileLines(s.f) })),
    );
    return summary;
  } catch (err) {
    throw new Error(message(err));
  } finally {
    await ctx.db.close();
  }
}

export async function exportCommand(config: Config, opts: { out: string; type?: string; since?: string; user: string }): Promise<Json> {
  const ctx = await openContext(config);
  try {
    const { principal, audit } = await operator(ctx, opts.user);
    const query: Record<string, string> = {};
    if (opts.type) query._type = opts.type;
    if (opts.since) query._since = opts.since;
    const req = parseExportRequest('system', query, `${BASE}/$export`);
    const jobId = await ctx.db.tx((q) => kickOffExport(q, principal, audit, req));
    await runExport(ctx, jobId, BASE, { stopped: false });
    const job = await getJob(ctx.db, jobId);
    if (job?.status !== 'completed') throw new Error(`export failed: ${job?.error ?? job?.status}`);
    mkdirSync(opts.out, { recursive: true });
    const output = (job.result!.output as { type: string; count: number }[]).map((o) => {
      const file = join(opts.out, `${o.type}.ndjson`);
      copyFileSync(join(jobDir(config.dataDir, jobId), `${o.type}.ndjson`), file);
      return { type: o.type, count: o.count, file };
    });
    return { job: jobId, transactionTime: job.result!.transactionTime, output };
  } catch (err) {
    throw new Error(message(err));
  } finally {
    await ctx.db.close();
  }
}

export const KNOWN_TYPES = () => [...KINDS.keys()].join(', ');
