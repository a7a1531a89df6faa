// Feeds HTTP API: sending counts and line-list items, reading series and epidemic curves, and the catalogue of
// sources, categories and notifiable diseases. Thin: checks and SQL live in feeds.ts and feed-queries.ts.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../../context.ts';
import { withRetry } from '../../db/engine.ts';
import { AppError } from '../../platform/errors.ts';
import { errorResponses, requirePrincipal } from '../../platform/http.ts';
import * as feeds from './feeds.ts';

const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'YYYY-MM-DD');
const codes = z.string().max(400).optional().transform((s) => (s ? s.split(',').map((x) => x.trim()).filter(Boolean) : undefined));

const RowResult = z.object({ index: z.number().int(), outcome: z.enum(['created', 'updated', 'unchanged', 'withdrawn', 'rejected']), revision: z.number().int().nullable(), sourceId: z.string().optional() });
const Problem = z.object({ field: z.string(), code: z.string(), message: z.string() });
const Tally = z.object({ created: z.number().int(), updated: z.number().int(), unchanged: z.number().int(), withdrawn: z.number().int() });
const FeedResponse = z.object({
  institutionId: z.number().int(), accepted: z.number().int(), rejected: z.number().int(), tally: Tally,
  counts: z.array(RowResult), items: z.array(RowResult), errors: z.array(Problem),
});

const SeriesQuery = z.object({
  from: date, to: date,
  sourceCode: codes.describe('one source or several, comma-separated'),
  categoryCode: codes.describe('one category or several, comma-separated'),
  regionId: z.coerce.number().int().positive().optional().describe('a community, or a street / the district: its communities'),
  perCommunity: z.enum(['true', 'false']).default('false').transform((v) => v === 'true').describe('one series per community instead of the sum over the region'),
});
const SeriesResponse = z.object({
  from: z.string(), to: z.string(), days: z.number().int(), dates: z.array(z.string()),
  series: z.array(z.object({ regionId: z.number().int().nullable(), sourceCode: z.string(), categoryCode: z.string(), values: z.array(z.number()) })),
});

const EpicurveQuery = z.object({
  from: date, to: date,
  by: z.enum(['category', 'syndrome']).default('category'),
  sourceCode: codes,
  regionId: z.coerce.number().int().positive().optional(),
});
const EpicurveResponse = z.object({
  from: z.string(), to: z.string(), by: z.enum(['category', 'syndrome']), dates: z.array(z.string()),
  series: z.array(z.object({ sourceCode: z.string(), key: z.string(), name: z.string(), nameEn: z.string(), total: z.number(), values: z.array(z.number()) })),
});

const Named = { code: z.string(), name: z.string(), nameEn: z.string(), active: z.boolean() };
const SourcesResponse = z.object({
  sources: z.array(z.object({ ...Named, unit: z.string(), independence: z.string(), senderTypes: z.array(z.string()), categories: z.array(z.object({ ...Named, syndrome: z.string() })) })),
  diseases: z.array(z.object({ ...Named, class: z.string(), managedAsA: z.boolean(), reportHours: z.number().int(), syndrome: z.string() })),
});

export async function feedRoutes(fastify: FastifyInstance, ctx: AppContext) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const tags = ['surveillance'];

  app.post('/surveillance/feeds', {
    schema: {
      tags,
      summary: 'Send aggregate counts and/or line-list items (one transaction; per-row results; a resend of a key replaces it, revision + 1; rows with problems are rejected and named)',
      body: feeds.FeedBody,
      response: { 200: FeedResponse, ...errorResponses },
    },
  }, async (req) => {
    const p = requirePrincipal(req);
    return withRetry(() => ctx.db.tx((q) => feeds.receiveFeeds(q, p, req.body, req.locale)));
  });

  app.get('/surveillance/series', {
    schema: {
      tags,
      summary: 'Daily series (sum over institutions of counts plus active items; days without data are 0). CDC and district administrator: all institutions; senders: their own institution',
      querystring: SeriesQuery,
      response: { 200: SeriesResponse, ...errorResponses },
    },
  }, async (req) => {
    const p = requirePrincipal(req);
    const institutionId = feeds.readScope(p);
    const qy = req.query;
    if (!qy.sourceCode?.length) throw new AppError('VALIDATION_FAILED', { detail: 'sourceCode: required' }, 'sourceCode');
    const set = await feeds.loadSeries(ctx.db, {
      from: qy.from, to: qy.to, sourceCodes: qy.sourceCode, categoryCodes: qy.categoryCode, regionIds: qy.regionId ? [qy.regionId] : undefined,
      institutionId, aggregate: !qy.perCommunity,
    });
    // the sum over a region is named by the region asked for
    const series = set.series.map((s) => ({ ...s, regionId: s.regionId ?? qy.regionId ?? null }));
    return { ...set, series, dates: Array.from({ length: set.days }, (_, i) => feeds.dateAfter(set.from, i)) };
  });

  app.get('/surveillance/epicurve', {
    schema: {
      tags,
      summary: 'Epidemic curve: daily totals per source and category (or syndrome), for the district or a region, with statutory case reports as source case_report',
      querystring: EpicurveQuery,
      response: { 200: EpicurveResponse, ...errorResponses },
    },
  }, async (req) => {
    const p = requirePrincipal(req);
    const institutionId = feeds.readScope(p);
    const qy = req.query;
    return feeds.epicurve(ctx.db, { from: qy.from, to: qy.to, by: qy.by, sourceCodes: qy.sourceCode, regionIds: qy.regionId ? [qy.regionId] : undefined, institutionId });
  });

  app.get('/surveillance/sources', {
    schema: { tags, summary: 'Surveillance sources with their categories, and the notifiable diseases (zh/en names)', response: { 200: SourcesResponse, ...errorResponses } },
  }, async (req) => {
    requirePrincipal(req);
    return feeds.listSources(ctx.db);
  });
}
