// The detection run over HTTP: start one on demand (the CDC, the district administrator), list runs and signals.
// Signals are counts per community, no personal data; they are read district-wide by the roles that act on them.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../../context.ts';
import { PageQuery, errorResponses, pageResponse, requireRole, IsoDate } from '../../platform/http.ts';
import type { Role } from '../../platform/roles.ts';
import { districtDate } from '../../platform/local-date.ts';
import { listRuns, listSignals, runConfigOf, runSurveillance, saveRunConfig } from './run.ts';

/** Who may start a run, and who may read runs and signals. */
export const RUN_STARTERS: Role[] = ['cdc_epidemiologist', 'district_admin'];
export const SIGNAL_READERS: Role[] = ['cdc_epidemiologist', 'district_admin', 'investigator'];


const Run = z.object({
  id: z.number(), kind: z.enum(['daily', 'on_demand']), asOf: z.string(), status: z.enum(['running', 'succeeded', 'failed']),
  startedAt: z.string(), finishedAt: z.string().nullable(), seriesCount: z.number().nullable(), signalCount: z.number().nullable(),
  alertCount: z.number().nullable(), timings: z.record(z.string(), z.number()), error: z.string().nullable(), requestedBy: z.number().nullable(),
  config: z.unknown(),
});

const Signal = z.object({
  id: z.number(), runId: z.number().nullable(), algorithm: z.string(), sourceCode: z.string(), categoryCode: z.string(), syndrome: z.string(),
  regionId: z.number(), regionIds: z.array(z.number()), startDate: z.string(), onDate: z.string(), observed: z.number(),
  expected: z.number().nullable(), threshold: z.number().nullable(), statistic: z.number().nullable(), pValue: z.number().nullable(),
  high: z.boolean(), support: z.boolean().describe("a sub-threshold score kept as supporting evidence for fusion, not an alarm (never listed among the signals)"), createdAt: z.string(),
});

export async function runRoutes(fastify: FastifyInstance, ctx: AppContext) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const tags = ['surveillance'];

  app.post('/surveillance/runs', {
    schema: {
      tags,
      summary: 'Run detection now for a date (default: today in Beijing): EARS on daily series, Farrington on weekly aggregates, the space-time scan; returns the finished run',
      body: z.object({ asOf: IsoDate.optional() }).strict().optional(),
      response: { 200: Run, ...errorResponses },
    },
  }, async (req) => {
    const p = requireRole(req, ...RUN_STARTERS);
    return runSurveillance(ctx.db, { asOf: req.body?.asOf ?? districtDate(), kind: 'on_demand', requestedBy: p.kind === 'person' ? p.userId : null });
  });

  app.get('/surveillance/runs', {
    schema: { tags, summary: 'Detection runs, newest first', querystring: PageQuery, response: { 200: pageResponse(Run), ...errorResponses } },
  }, async (req) => {
    requireRole(req, ...SIGNAL_READERS);
    return listRuns(ctx.db, req.query.page, req.query.pageSize);
  });

  app.get('/surveillance/run-settings', {
    schema: { tags, summary: 'The detection run’s settings, defaults filled in (EARS method and params, Farrington params, scan params)', response: { 200: z.unknown(), ...errorResponses } },
  }, async (req) => {
    requireRole(req, ...SIGNAL_READERS);
    return runConfigOf(ctx.db);
  });

  app.put('/surveillance/run-settings', {
    schema: {
      tags,
      summary: 'Replace the detection run’s settings ({} = the defaults); R’s control names for EARS and Farrington, unknown keys refused',
      body: z.record(z.string(), z.unknown()),
      response: { 200: z.unknown(), ...errorResponses },
    },
  }, async (req) => {
    const p = requireRole(req, 'district_admin');
    return saveRunConfig(ctx.db, req.body, p.kind === 'person' ? p.userId : null);
  });

  app.get('/surveillance/signals', {
    schema: {
      tags,
      summary: 'Signals (alarms of the detection algorithms), newest first; regionId also finds the clusters a community belongs to',
      querystring: PageQuery.extend({
        date: IsoDate.optional(), from: IsoDate.optional(), to: IsoDate.optional(), sourceCode: z.string().max(40).optional(),
        categoryCode: z.string().max(40).optional(), regionId: z.coerce.number().int().positive().optional(), algorithm: z.string().max(40).optional(),
        runId: z.coerce.number().int().positive().optional(),
      }),
      response: { 200: pageResponse(Signal), ...errorResponses },
    },
  }, async (req) => {
    requireRole(req, ...SIGNAL_READERS);
    const { page, pageSize, ...filter } = req.query;
    return listSignals(ctx.db, filter, page, pageSize);
  });
}
