// Bulk data endpoints under /fhir/R4, registered through extendFhir (app.ts imports this module for its side effect):
//   GET    /$export, /Patient/$export, /Group/{region id}/$export   kick-off (Prefer: respond-async) → 202 + Content-Location
//   GET    /$export-status/{job}                                    202 + X-Progress while running, 200 + manifest when done
//   DELETE /$export-status/{job}                                    cancels (or discards a finished export's files)
//   GET    /$export-file/{job}/{Type}.ndjson                        an output file, to the user who asked only
//   POST   /$import                                                 NDJSON body (streamed) or a Parameters manifest
// (https://hl7.org/fhir/uv/bulkdata/export.html; import follows the Bulk Data $import proposal's manifest shape)
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createReadStream, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { AppContext } from '../../context.ts';
import { audit } from '../../platform/audit.ts';
import { AppError } from '../../platform/errors.ts';
import { auditContext, requirePrincipal } from '../../platform/http.ts';
import { registerOperation } from '../capability.ts';
import { extendFhir, type FhirHelpers } from '../routes.ts';
import { assertExporter, kickOffExport, manifest, parseExportRequest, runExport, type ExportLevel } from './export.ts';
import { importFromManifest, importStream, assertImporter, type ImportSummary } from './import.ts';
import { jobDir, ownJob, setJob } from './jobs.ts';
import { linesOf } from './ndjson.ts';

registerOperation({ name: 'export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export', types: 'system' });
registerOperation({ name: 'export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export', types: ['Patient'] });
registerOperation({ name: 'import', definition: 'https://caregrid.dev/fhir/OperationDefinition/import', types: 'system' });

const NDJSON = 'application/fhir+ndjson';

/** Exports run one at a time in the server process; queued and interrupted ones resume when the server starts. */
function exportRunner(ctx: AppContext) {
  const stop = { stopped: false };
  let chain: Promise<void> = Promise.resolve();
  const enqueue = (jobId: string, base: string) => {
    chain = chain.then(() => (stop.stopped ? undefined : runExport(ctx, jobId, base, stop))).catch(() => {});
  };
  return {
    enqueue,
    async resume(base: string) {
      const { rows } = await ctx.db.query("SELECT id FROM job WHERE kind = 'fhir-export' AND status IN ('queued', 'running') ORDER BY created_at");
      for (const r of rows) enqueue(r.id, base);
    },
    async close() {
      stop.stopped = true;
      await chain;
    },
  };
}

function requireAsync(req: FastifyRequest) {
  if (!/respond-async/.test(String(req.headers.prefer ?? ''))) {
    throw new AppError('FHIR_INVALID', { path: 'Prefer', detail: 'bulk export is asynchronous: send Prefer: respond-async' }, 'Prefer');
  }
}

function origin(req: FastifyRequest) {
  return `${req.protocol}://${req.host}`;
}

async function exportRoutes(app: FastifyInstance, ctx: AppContext, h: FhirHelpers) {
  const runner = exportRunner(ctx);
  app.addHook('onClose', async () => runner.close());
  app.addHook('onReady', async () => runner.resume(`http://${ctx.config.host}:${ctx.config.port}/fhir/R4`));
  const tags = ['fhir'];

  const kickOff = (level: ExportLevel) => async (req: FastifyRequest, reply: FastifyReply) => {
    const p = requirePrincipal(req);
    assertExporter(p);
    requireAsync(req);
    let groupId: number | undefined;
    if (level === 'group') {
      const raw = (req.params as { id: string }).id;
      if (!/^\d{1,15}$/.test(raw)) throw new AppError('NOT_FOUND', { noun: 'resource', what: `Group/${raw.slice(0, 20)}` });
      groupId = Number(raw);
    }
    const request = parseExportRequest(level, req.query as Record<string, string>, origin(req) + req.url, groupId);
    const jobId = await ctx.db.tx((q) => kickOffExport(q, p, auditContext(req), request));
    runner.enqueue(jobId, h.base(req));
    return reply.status(202).header('content-location', `${h.base(req)}/$export-status/${jobId}`).type('application/fhir+json; charset=utf-8')
      .send(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational', diagnostics: `export ${jobId} accepted` }] }));
  };
  const summary = 'Bulk export kick-off (Prefer: respond-async; _type, _since, _outputFormat=application/fhir+ndjson); district administrators only';
  app.get('/$export', { schema: { tags, summary: `System-level ${summary}` } }, kickOff('system'));
  app.get('/Patient/$export', { schema: { tags, summary: `Patient-level ${summary}` } }, kickOff('patient'));
  app.get('/Group/:id/$export', { schema: { tags, summary: `Group-level ${summary}. A Group id is a region id (district, street, community, grid): its residents` } }, kickOff('group'));

  app.get('/$export-status/:job', { schema: { tags, summary: 'Bulk export status: 202 with X-Progress while running, 200 with the manifest when done' } }, async (req, reply) => {
    const p = requirePrincipal(req);
    const job = await ownJob(ctx.db, (req.params as { job: string }).job, 'fhir-export', p.userId);
    if (job.status === 'queued' || job.status === 'running') {
      return reply.status(202).header('x-progress', String(job.result?.progress ?? job.status)).header('retry-after', '2').send();
    }
    if (job.status === 'cancelled') throw new AppError('NOT_FOUND', { noun: 'job' });
    if (job.status === 'failed') throw new AppError('UNPROCESSABLE', { detail: job.error ?? 'export failed' });
    return reply.status(200).header('expires', new Date(Date.now() + 24 * 3600_000).toUTCString()).type('application/json; charset=utf-8').send(JSON.stringify(manifest(job.result!, h.base(req))));
  });

  app.delete('/$export-status/:job', { schema: { tags, summary: 'Cancel a bulk export (or discard a finished one)' } }, async (req, reply) => {
    const p = requirePrincipal(req);
    const job = await ownJob(ctx.db, (req.params as { job: string }).job, 'fhir-export', p.userId);
    if (job.status === 'cancelled') throw new AppError('NOT_FOUND', { noun: 'job' });
    await setJob(ctx.db, job.id, { status: 'cancelled' });
    // the runner may be creating a file in the directory at this moment (ENOTEMPTY): retried, and a running job's
    // runner removes the directory itself when it sees the cancellation
    rmSync(jobDir(ctx.config.dataDir, job.id), { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
    return reply.status(202).send();
  });

  app.get('/$export-file/:job/:file', { schema: { tags, summary: 'One NDJSON output file of a finished export (the requester only)' } }, async (req, reply) => {
    const p = requirePrincipal(req);
    const { job: jobId, file } = req.params as { job: string; file: string };
    const job = await ownJob(ctx.db, jobId, 'fhir-export', p.userId);
    const out = job.status === 'completed' ? (job.result?.output as { type: string }[]).find((o) => `${o.type}.ndjson` === file) : undefined;
    const path = join(jobDir(ctx.config.dataDir, job.id), file);
    if (!out || !existsSync(path)) throw new AppError('NOT_FOUND', { noun: 'resource', what: file.slice(0, 60) });
    await audit(ctx.db, auditContext(req), { action: 'read', resourceType: 'Bulk$export-file', resourceId: `${job.id}/${file}` });
    return reply.status(200).type(NDJSON).send(createReadStream(path));
  });
}

async function importRoutes(app: FastifyInstance, ctx: AppContext, h: FhirHelpers) {
  // NDJSON bodies reach the handler as the raw request stream: lines are read and written batch by batch, never
  // buffered whole (hundreds of MB), so no body limit applies.
  app.addContentTypeParser(['application/fhir+ndjson', 'application/x-ndjson', 'application/ndjson'], (_req, payload, done) => done(null, payload));
  app.post('/$import', { schema: { tags: ['fhir'], summary: 'Bulk import: an NDJSON body (application/fhir+ndjson, streamed) or a Parameters manifest whose inputs are files this server exported; idempotent on the senders’ ids; district administrators only' } }, async (req, reply) => {
    const p = requirePrincipal(req);
    assertImporter(p);
    const type = String(req.headers['content-type'] ?? '').split(';')[0].trim();
    const opts = { db: ctx.db, keys: ctx.keys, principal: p, audit: auditContext(req), dataDir: ctx.config.dataDir, base: h.base(req), locale: req.locale };
    let result: ImportSummary;
    if (['application/fhir+ndjson', 'application/x-ndjson', 'application/ndjson'].includes(type)) {
      result = await importStream(opts, [{ name: 'body', lines: linesOf(req.body as Readable) }]);
    } else if (type === 'application/fhir+json' || type === 'application/json') {
      result = await importFromManifest(opts, req.body);
    } else {
      throw new AppError('UNSUPPORTED_MEDIA_TYPE');
    }
    return reply.status(200).type('application/json; charset=utf-8').send(JSON.stringify(result));
  });
}

extendFhir(async (app, ctx, helpers) => {
  await exportRoutes(app, ctx, helpers);
  await importRoutes(app, ctx, helpers);
});
