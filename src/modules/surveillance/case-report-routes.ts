// Statutory case reports HTTP API (传染病报告卡): filing and revising cards, the audited list, timeliness.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../../context.ts';
import { withRetry } from '../../db/engine.ts';
import { auditContext, errorResponses, pageResponse, requirePrincipal } from '../../platform/http.ts';
import * as svc from './case-reports.ts';

const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'YYYY-MM-DD');

const CaseReport = z.object({
  id: z.number().int(), institutionId: z.number().int(), institutionName: z.string(), sourceId: z.string(), residentId: z.number().int().nullable(),
  regionId: z.number().int(), regionName: z.string(), diseaseCode: z.string(), diseaseName: z.string(), diseaseNameEn: z.string(),
  diseaseClass: z.enum(['A', 'B', 'C']), managedAsA: z.boolean(), caseClass: z.string(), onsetDate: z.string().nullable(),
  diagnosedAt: z.string(), reportedAt: z.string(), deadlineAt: z.string(), late: z.boolean(), delayHours: z.number(),
  status: z.enum(['active', 'revised', 'entered-in-error']), revision: z.number().int(), updatedAt: z.string(),
});
const Figures = z.object({
  institutionId: z.number().int().nullable(), institutionName: z.string().nullable(), reports: z.number().int(), late: z.number().int(), onTime: z.number().int(),
  onTimeRate: z.number().nullable(), medianDelayHours: z.number().nullable(), p90DelayHours: z.number().nullable(),
});

export async function caseReportRoutes(fastify: FastifyInstance, ctx: AppContext) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const tags = ['surveillance'];

  app.post('/surveillance/case-reports', {
    schema: {
      tags,
      summary: 'File a case report (传染病报告卡) or revise it under the same card number; deadline 2 h (class A, managed as A) or 24 h from diagnosis, late flagged',
      body: svc.CaseReportIn,
      response: { 200: z.object({ outcome: z.enum(['updated', 'unchanged', 'withdrawn']), report: CaseReport }), 201: z.object({ outcome: z.literal('created'), report: CaseReport }), ...errorResponses },
    },
  }, async (req, reply) => {
    const p = requirePrincipal(req);
    const out = await withRetry(() => ctx.db.tx((q) => svc.fileCaseReport(q, p, auditContext(req), req.body)));
    reply.status(out.outcome === 'created' ? 201 : 200);
    return out;
  });

  app.get('/surveillance/case-reports', {
    schema: {
      tags,
      summary: 'Case reports, newest diagnosis first (CDC and district administrator: all; an institution: its own); patients only by resident id; audited',
      querystring: svc.CaseReportListQuery,
      response: { 200: pageResponse(CaseReport), ...errorResponses },
    },
  }, async (req) => {
    const p = requirePrincipal(req);
    return ctx.db.tx((q) => svc.listCaseReports(q, p, auditContext(req), req.query));
  });

  app.get('/surveillance/case-reports/timeliness', {
    schema: {
      tags,
      summary: 'Reporting timeliness per institution over cards diagnosed from..to: reports, late, on-time rate, median and 90th percentile hours from diagnosis to report',
      querystring: z.object({ from: date, to: date }),
      response: { 200: z.object({ from: z.string(), to: z.string(), institutions: z.array(Figures), total: Figures }), ...errorResponses },
    },
  }, async (req) => {
    const p = requirePrincipal(req);
    return svc.caseReportTimeliness(ctx.db, p, req.query.from, req.query.to);
  });
}
