// batch and transaction Bundles (https://hl7.org/fhir/R4/http.html#transaction). A transaction is one database
// transaction: every entry succeeds or nothing is kept. `urn:uuid:` fullUrls are resolved as entries are created, in
// an order where an entry comes after the entries it refers to.
import type { Db } from '../db/engine.ts';
import { withRetry } from '../db/engine.ts';
import { AppError, type Locale } from '../platform/errors.ts';
import { type Json, invalid } from './datatypes.ts';
import { KINDS } from './registry.ts';
import * as repo from './repository.ts';
import { operationOutcome } from './outcome.ts';

interface Entry {
  index: number;
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  fullUrl: string | null;
  resource: Json | null;
  ifNoneExist: string | null;
  ifMatch: number | null;
}

const MAX_ENTRIES = 5000;

function parseEntries(bundle: unknown): { type: 'batch' | 'transaction'; entries: Entry[] } {
  if (!bundle || typeof bundle !== 'object' || Array.isArray(bundle)) throw invalid('Bundle', 'the body must be a JSON object');
  const b = bundle as Json;
  if (b.resourceType !== 'Bundle') throw invalid('resourceType', `expected Bundle, got ${String(b.resourceType ?? 'nothing').slice(0, 40)}`);
  if (b.type !== 'batch' && b.type !== 'transaction') throw invalid('Bundle.type', 'must be batch or transaction');
  const raw = b.entry ?? [];
  if (!Array.isArray(raw)) throw invalid('Bundle.entry', 'must be an array');
  if (raw.length > MAX_ENTRIES) throw new AppError('PAYLOAD_TOO_LARGE');
  const entries = raw.map((e: Json, index: number): Entry => {
    const path = `Bundle.entry[${index}]`;
    if (!e || typeof e !== 'object') throw invalid(path, 'must be an object');
    const req = e.request;
    if (!req || typeof req !== 'object') throw new AppError('FHIR_REQUIRED', { path: `${path}.request` }, `${path}.request`);
    const method = String(req.method ?? '').toUpperCase();
    if (method !== 'GET' && method !== 'POST' && method !== 'PUT') throw new AppError('FHIR_UNSUPPORTED', { detail: `${path}.request.method ${String(req.method).slice(0, 10)}` }, `${path}.request.method`);
    if (typeof req.url !== 'string' || !req.url) throw new AppError('FHIR_REQUIRED', { path: `${path}.request.url` }, `${path}.request.url`);
    if ((method === 'POST' || method === 'PUT') && (!e.resource || typeof e.resource !== 'object')) throw new AppError('FHIR_REQUIRED', { path: `${path}.resource` }, `${path}.resource`);
    const ifMatch = typeof req.ifMatch === 'string' ? Number(/\d+/.exec(req.ifMatch)?.[0]) : null;
    return {
      index, method: method as Entry['method'], url: req.url.replace(/^\/+/, ''), fullUrl: typeof e.fullUrl === 'string' ? e.fullUrl : null,
      resource: e.resource ?? null, ifNoneExist: typeof req.ifNoneExist === 'string' ? req.ifNoneExist : null, ifMatch: Number.isFinite(ifMatch) ? ifMatch : null,
    };
  });
  return { type: b.type, entries };
}

function referencedPlaceholders(value: unknown, out: Set<string>) {
  if (Array.isArray(value)) for (const v of value) referencedPlaceholders(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'reference' && typeof v === 'string' && v.startsWith('urn:')) out.add(v);
      else referencedPlaceholders(v, out);
    }
  }
}

/** Writes before reads; among writes, an entry after those whose placeholders it uses. Cycles are refused. */
function processingOrder(entries: Entry[]): Entry[] {
  const writes = entries.filter((e) => e.method !== 'GET');
  const byFullUrl = new Map(writes.filter((e) => e.fullUrl).map((e) => [e.fullUrl!, e]));
  const done = new Set<number>();
  const visiting = new Set<number>();
  const order: Entry[] = [];
  const visit = (e: Entry) => {
    if (done.has(e.index)) return;
    if (visiting.has(e.index)) throw invalid(`Bundle.entry[${e.index}]`, 'circular references between entries');
    visiting.add(e.index);
    const refs = new Set<string>();
    referencedPlaceholders(e.resource, refs);
    for (const r of refs) {
      const dep = byFullUrl.get(r);
      if (dep && dep !== e) visit(dep);
    }
    visiting.delete(e.index);
    done.add(e.index);
    order.push(e);
  };
  writes.forEach(visit);
  return [...order, ...entries.filter((e) => e.method === 'GET')];
}

function splitUrl(url: string): { type: string; id: number | null; query: Record<string, string | string[]> | null; rest: string[] } {
  const [path, qs] = url.split('?', 2);
  const parts = path.split('/').filter(Boolean);
  const type = parts[0] ?? '';
  if (!KINDS.has(type)) throw new AppError('NOT_FOUND', { noun: 'resource' });
  const id = parts[1] && /^\d{1,15}$/.test(parts[1]) ? Number(parts[1]) : null;
  if (parts[1] && id === null) throw new AppError('NOT_FOUND', { noun: 'resource' });
  let query: Record<string, string | string[]> | null = null;
  if (qs !== undefined) {
    query = {};
    for (const [k, v] of new URLSearchParams(qs)) {
      const prev = query[k];
      query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
  }
  return { type, id, query, rest: parts.slice(2) };
}

function located(type: string, res: Json) {
  return `${type}/${res.id}/_history/${res.meta?.versionId ?? '1'}`;
}

async function runEntry(rc: repo.RequestContext, e: Entry, placeholders: repo.PlaceholderMap, batch: repo.WriteBatch): Promise<Json> {
  const { type, id, query, rest } = splitUrl(e.url);
  if (e.method === 'GET') {
    if (id !== null && rest.length === 0) {
      const res = await repo.read(rc, type, id);
      return { resource: res, response: { status: '200 OK', etag: `W/"${res.meta?.versionId}"` } };
    }
    if (id !== null && rest[0] === '_history') {
      const res = rest[1] ? await repo.vread(rc, type, id, Number(rest[1])) : await repo.history(rc, type, id);
      return { resource: res, response: { status: '200 OK' } };
    }
    const { bundle } = await repo.search(rc, type, query ?? {});
    return { resource: bundle, response: { status: '200 OK' } };
  }
  if (e.resource!.resourceType !== type) throw invalid(`Bundle.entry[${e.index}].resource.resourceType`, `expected ${type}`);
  if (e.method === 'POST') {
    if (e.ifNoneExist) {
      const q = Object.fromEntries(new URLSearchParams(e.ifNoneExist));
      const { bundle } = await repo.search(rc, type, { ...q, _count: '2', _total: 'none' });
      const matches = (bundle.entry as Json[]).filter((x) => x.search?.mode === 'match');
      if (matches.length > 1) throw new AppError('PRECONDITION_FAILED', { current: 'several matches' }, `Bundle.entry[${e.index}].request.ifNoneExist`);
      if (matches.length === 1) {
        const res = matches[0].resource as Json;
        if (e.fullUrl) placeholders.set(e.fullUrl, { type, id: Number(res.id) });
        return { resource: res, response: { status: '200 OK', location: located(type, res), etag: `W/"${res.meta?.versionId}"` } };
      }
    }
    const out = await repo.create(rc, type, e.resource, placeholders, batch);
    if (e.fullUrl) placeholders.set(e.fullUrl, { type, id: out.id });
    return { resource: out.resource, response: { status: out.created ? '201 Created' : '200 OK', location: located(type, out.resource), etag: `W/"${out.resource.meta?.versionId}"`, lastModified: out.resource.meta?.lastUpdated } };
  }
  // PUT
  let targetId = id;
  if (targetId === null && query) {
    const { bundle } = await repo.search(rc, type, { ...query, _count: '2', _total: 'none' });
    const matches = (bundle.entry as Json[]).filter((x) => x.search?.mode === 'match');
    if (matches.length > 1) throw new AppError('PRECONDITION_FAILED', { current: 'several matches' }, `Bundle.entry[${e.index}].request.url`);
    if (matches.length === 0) {
      const out = await repo.create(rc, type, e.resource, placeholders, batch);
      if (e.fullUrl) placeholders.set(e.fullUrl, { type, id: out.id });
      return { resource: out.resource, response: { status: '201 Created', location: located(type, out.resource) } };
    }
    targetId = Number(matches[0].resource.id);
  }
  if (targetId === null) throw invalid(`Bundle.entry[${e.index}].request.url`, 'PUT needs Type/id or a conditional Type?search');
  const out = await repo.update(rc, type, targetId, { ...e.resource, id: String(targetId) }, e.ifMatch, batch);
  if (e.fullUrl) placeholders.set(e.fullUrl, { type, id: targetId });
  return { resource: out.resource, response: { status: '200 OK', location: located(type, out.resource), etag: `W/"${out.resource.meta?.versionId}"`, lastModified: out.resource.meta?.lastUpdated } };
}

function prefixField(err: unknown, index: number): unknown {
  if (err instanceof AppError) {
    const field = err.field ? `Bundle.entry[${index}].resource.${err.field.replace(/^[A-Z][A-Za-z]+\./, '')}` : `Bundle.entry[${index}]`;
    return Object.assign(err, { field });
  }
  return err;
}

export async function processBundle(db: Db, rc: Omit<repo.RequestContext, 'q'>, body: unknown, locale: Locale, minimal: boolean): Promise<Json> {
  const { type, entries } = parseEntries(body);
  if (type === 'transaction') {
    const fullUrls = new Set<string>();
    for (const e of entries) {
      if (e.fullUrl && e.method !== 'GET') {
        if (fullUrls.has(e.fullUrl)) throw invalid(`Bundle.entry[${e.index}].fullUrl`, 'appears twice');
        fullUrls.add(e.fullUrl);
      }
    }
    const results = await withRetry(() => db.tx(async (q) => {
      const placeholders: repo.PlaceholderMap = new Map();
      const batch = repo.writeBatch();
      const out: Json[] = new Array(entries.length);
      for (const e of processingOrder(entries)) {
        try {
          out[e.index] = await runEntry({ ...rc, q }, e, placeholders, batch);
        } catch (err) {
          throw prefixField(err, e.index);
        }
      }
      await repo.flushBatch(q, rc.audit, batch);
      return out;
    }));
    return { resourceType: 'Bundle', type: 'transaction-response', entry: results.map((r) => (minimal ? { response: r.response } : r)) };
  }
  const out: Json[] = [];
  for (const e of entries) {
    try {
      const r = await withRetry(() => db.tx(async (q) => {
        const batch = repo.writeBatch();
        const res = await runEntry({ ...rc, q }, e, new Map(), batch);
        await repo.flushBatch(q, rc.audit, batch);
        return res;
      }));
      out.push(minimal ? { response: r.response } : r);
    } catch (err) {
      const o = operationOutcome(prefixField(err, e.index), locale);
      out.push({ response: { status: String(o.status), outcome: o.body } });
    }
  }
  return { resourceType: 'Bundle', type: 'batch-response', entry: out };
}
