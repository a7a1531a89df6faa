// FHIR R4 REST endpoints under /fhir/R4 (https://hl7.org/fhir/R4/http.html). JSON only; application/fhir+json
// and application/json both accepted. Errors leave as OperationOutcome (app.ts's single error handler).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AppContext } from '../context.ts';
import { AppError } from '../platform/errors.ts';
import { auditContext, requirePrincipal } from '../platform/http.ts';
import { withRetry } from '../db/engine.ts';
import { capabilityStatement } from './capability.ts';
import { processBundle } from './bundle.ts';
import { everything } from './everything.ts';
import * as repo from './repository.ts';
import { KINDS } from './registry.ts';
import type { Json } from './datatypes.ts';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const VERSION = (JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'package.json'), 'utf8')) as { version: string }).version;

/** Extra routes that live beside the core interactions (bulk data, operations); registered by their modules. */
export type FhirExtension = (app: FastifyInstance, ctx: AppContext, helpers: FhirHelpers) => Promise<void> | void;
export interface FhirHelpers {
  requestContext(req: FastifyRequest, q?: AppContext['db']): repo.RequestContext;
  base(req: FastifyRequest): string;
  send(reply: FastifyReply, status: number, body: Json): FastifyReply;
}
const extensions: FhirExtension[] = [];
export function extendFhir(ext: FhirExtension) {
  extensions.push(ext);
}

function baseUrl(req: FastifyRequest): string {
  return `${req.protocol}://${req.host}/fhir/R4`;
}

function idOf(raw: string, type: string): number {
  if (!/^\d{1,15}$/.test(raw)) throw new AppError('NOT_FOUND', { noun: 'resource', what: type });
  return Number(raw);
}

function typeOf(raw: string): string {
  if (!KINDS.has(raw)) throw new AppError('NOT_FOUND', { noun: 'resource', what: raw.slice(0, 40) });
  return raw;
}

function send(reply: FastifyReply, status: number, body: Json) {
  return reply.status(status).type(FHIR_JSON).send(JSON.stringify(body));
}

function withHeaders(reply: FastifyReply, res: Json, type: string) {
  if (res.meta?.versionId) reply.header('etag', `W/"${res.meta.versionId}"`);
  if (res.meta?.lastUpdated) reply.header('last-modified', new Date(res.meta.lastUpdated).toUTCString());
  reply.header('location', `${type}/${res.id}/_history/${res.meta?.versionId ?? 1}`);
  return reply;
}

function ifMatchOf(req: FastifyRequest): number | null {
  const h = req.headers['if-match'];
  if (typeof h !== 'string') return null;
  const m = /^(?:W\/)?"?(\d+)"?$/.exec(h.trim());
  if (!m) throw new AppError('FHIR_INVALID', { path: 'If-Match', detail: 'expected W/"<version>"' }, 'If-Match');
  return Number(m[1]);
}

function wantsMinimal(req: FastifyRequest): boolean {
  return /return=minimal/.test(String(req.headers.prefer ?? ''));
}

export async function fhirRoutes(app: FastifyInstance, ctx: AppContext) {
  const { db, keys } = ctx;
  const tags = ['fhir'];
  const json = (_req: FastifyRequest, body: string, done: (err: Error | null, value?: unknown) => void) => {
    try {
      done(null, body.length ? JSON.parse(body) : undefined);
    } catch {
      done(new AppError('MALFORMED_JSON'));
    }
  };
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(['application/json', 'application/fhir+json', 'application/json+fhir'], { parseAs: 'string', bodyLimit: 64 * 1024 * 1024 }, json);

  const requestContext = (req: FastifyRequest, q: AppContext['db'] = db): repo.RequestContext => ({
    q, keys, principal: requirePrincipal(req), audit: auditContext(req), base: baseUrl(req),
    lenient: /handling=lenient/.test(String(req.headers.prefer ?? '')),
  });

  app.get('/metadata', { schema: { tags, summary: 'CapabilityStatement: what this FHIR server supports' } }, async (req, reply) => send(reply, 200, capabilityStatement(baseUrl(req), VERSION)));

  app.post('/', { schema: { tags, summary: 'batch or transaction Bundle (a transaction is all-or-nothing; urn:uuid references resolved)' } }, async (req, reply) => {
    const rc = requestContext(req);
    const { q: _q, ...rest } = rc;
    return send(reply, 200, await processBundle(db, rest, req.body, req.locale, wantsMinimal(req)));
  });

  for (const ext of extensions) await ext(app, ctx, { requestContext, base: baseUrl, send });

  app.get('/:type', { schema: { tags, summary: 'Search (common parameters, _include, _count/_offset paging, _sort, _summary=count)' } }, async (req, reply) => {
    const { type } = req.params as { type: string };
    const { bundle } = await repo.search(requestContext(req), typeOf(type), req.query as Record<string, string | string[]>);
    return send(reply, 200, bundle);
  });

  app.post('/:type/_search', { schema: { tags, summary: 'Search with parameters in the query string' } }, async (req, reply) => {
    const { type } = req.params as { type: string };
    const { bundle } = await repo.search(requestContext(req), typeOf(type), req.query as Record<string, string | string[]>);
    return send(reply, 200, bundle);
  });

  app.post('/:type', { schema: { tags, summary: 'Create (If-None-Exist for conditional create); idempotent on the sender’s identifier' } }, async (req, reply) => {
    const type = typeOf((req.params as { type: string }).type);
    const ifNoneExist = req.headers['if-none-exist'];
    const out = await withRetry(() => db.tx(async (q) => {
      const rc = requestContext(req, q as any);
      if (typeof ifNoneExist === 'string') {
        const query = Object.fromEntries(new URLSearchParams(ifNoneExist));
        const { bundle } = await repo.search(rc, type, { ...query, _count: '2', _total: 'none' });
        const matches = (bundle.entry as Json[]).filter((e) => e.search?.mode === 'match');
        if (matches.length > 1) throw new AppError('PRECONDITION_FAILED', { current: 'several matches' }, 'If-None-Exist');
        if (matches.length === 1) return { resource: matches[0].resource as Json, created: false };
      }
      return repo.create(rc, type, req.body);
    }));
    withHeaders(reply, out.resource, type);
    if (wantsMinimal(req)) return reply.status(out.created ? 201 : 200).send();
    return send(reply, out.created ? 201 : 200, out.resource);
  });

  app.get('/:type/:id', { schema: { tags, summary: 'Read' } }, async (req, reply) => {
    const { type, id } = req.params as { type: string; id: string };
    const t = typeOf(type);
    const res = await repo.read(requestContext(req), t, idOf(id, t));
    withHeaders(reply, res, t).removeHeader('location');
    return send(reply, 200, res);
  });

  app.put('/:type/:id', { schema: { tags, summary: 'Update (If-Match: W/"version" for optimistic locking); every update is a new version' } }, async (req, reply) => {
    const { type, id } = req.params as { type: string; id: string };
    const t = typeOf(type);
    const out = await withRetry(() => db.tx((q) => repo.update(requestContext(req, q as any), t, idOf(id, t), req.body, ifMatchOf(req))));
    withHeaders(reply, out.resource, t);
    if (wantsMinimal(req)) return reply.status(200).send();
    return send(reply, 200, out.resource);
  });

  app.delete('/:type/:id', { schema: { tags, summary: 'Not supported: records are corrected (status entered-in-error), never deleted' } }, async (req) => {
    throw new AppError('METHOD_NOT_ALLOWED', { type: typeOf((req.params as { type: string }).type) });
  });

  app.get('/:type/:id/_history', { schema: { tags, summary: 'Version history of one resource' } }, async (req, reply) => {
    const { type, id } = req.params as { type: string; id: string };
    const t = typeOf(type);
    return send(reply, 200, await repo.history(requestContext(req), t, idOf(id, t)));
  });

  app.get('/:type/:id/_history/:vid', { schema: { tags, summary: 'One version of a resource' } }, async (req, reply) => {
    const { type, id, vid } = req.params as { type: string; id: string; vid: string };
    const t = typeOf(type);
    if (!/^\d{1,9}$/.test(vid)) throw new AppError('NOT_FOUND', { noun: 'version' });
    const res = await repo.vread(requestContext(req), t, idOf(id, t), Number(vid));
    withHeaders(reply, res, t).removeHeader('location');
    return send(reply, 200, res);
  });

  app.get('/Patient/:id/$everything', { schema: { tags, summary: 'Everything in the shared record of one resident (audited)' } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    return send(reply, 200, await everything(requestContext(req), idOf(id, 'Patient'), req.query as Record<string, string>));
  });
}
