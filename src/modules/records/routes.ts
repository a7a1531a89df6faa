// Cross-institution record view (调阅), result trends, mutual recognition and break-glass. Each read of a resident's
// record checks scope first (403 OUT_OF_SCOPE, itself audited as denied) and is audited in the same transaction.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../../context.ts';
import type { Queryable } from '../../db/engine.ts';
import { IdParam, PageQuery, auditContext, auditingRefusal, errorResponses, pageResponse, requirePrincipal, requireRole, IsoDate } from '../../platform/http.ts';
import { audit } from '../../platform/audit.ts';
import { AppError } from '../../platform/errors.ts';
import { getResidentRow } from '../residents/service.ts';
import * as svc from './service.ts';

const month = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'YYYY-MM');
const CLINICIANS = ['institution_admin', 'family_doctor', 'nurse', 'specialist', 'referral_desk', 'ems_dispatcher', 'investigator'] as const;

const TimelineItem = z.object({
  type: z.enum(svc.TIMELINE_TYPES), id: z.number(), fhirType: z.string(), at: z.string(), institutionId: z.number(), institutionName: z.string(),
  encounterId: z.number().nullable(), title: z.string(), code: z.string().nullable(), codeSystem: z.string().nullable(), category: z.string().nullable(),
  status: z.string().nullable(), value: z.number().nullable(), valueText: z.string().nullable(), unit: z.string().nullable(),
  refLow: z.number().nullable(), refHigh: z.number().nullable(), abnormal: z.boolean().nullable(), detail: z.string().nullable(),
  recognition: z.object({ validUntil: z.string(), windowDays: z.number() }).nullable(),
});
const Reusable = z.object({
  observationId: z.number().nullable(), reportId: z.number().nullable(), code: z.string(), codeSystem: z.string(), display: z.string(), category: z.string(),
  at: z.string(), validUntil: z.string(), windowDays: z.number(), institutionId: z.number(), institutionName: z.string(),
  value: z.number().nullable(), valueText: z.string().nullable(), unit: z.string().nullable(),
});
const Rule = z.object({ codeSystem: z.string().min(1).max(300), code: z.string().min(1).max(100), category: z.enum(['laboratory', 'imaging', 'exam']), name: z.string().min(1).max(100), nameEn: z.string().max(100).nullable().optional(), windowDays: z.number().int().min(0).max(3650), active: z.boolean() });
const BreakGlassItem = z.object({
  id: z.number(), residentId: z.number(), residentName: z.string(), userId: z.number(), username: z.string(), institutionId: z.number().nullable(), institutionName: z.string().nullable(),
  reason: z.string(), grantedAt: z.string(), expiresAt: z.string(), reviewStatus: z.enum(['pending', 'justified', 'unjustified']), reviewedBy: z.number().nullable(), reviewedAt: z.string().nullable(), reviewNote: z.string().nullable(),
});

export async function recordRoutes(fastify: FastifyInstance, ctx: AppContext) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { db } = ctx;
  const tags = ['records'];

  /** Runs `fn`; a refusal for scope is audited as a denied read (the refused work did not happen). */
  const auditingDenial = <T>(req: FastifyRequest, residentId: number, what: string, fn: () => Promise<T>): Promise<T> =>
    auditingRefusal(db, req, { action: 'read', resourceType: what, resourceId: residentId, residentId }, fn);

  /** Runs `fn` in a transaction after checking scope and auditing the view; a refusal is audited as denied. */
  async function viewing<T>(req: FastifyRequest, residentId: number, what: string, fn: (q: Queryable) => Promise<T>): Promise<T> {
    const p = requirePrincipal(req);
    return auditingDenial(req, residentId, what, () => db.tx(async (q) => {
      await getResidentRow(q, p, residentId);
      await audit(q, auditContext(req), { action: 'read', resourceType: what, resourceId: residentId, residentId });
      return fn(q);
    }));
  }

  app.get('/residents/:id/timeline', {
    schema: {
      tags, summary: 'The resident’s record from every institution, newest first (audited)', params: IdParam,
      querystring: PageQuery.extend({
        pageSize: z.coerce.number().int().min(1).max(500).default(50),
        from: IsoDate.optional(), to: IsoDate.optional(), institutionId: z.coerce.number().int().optional(),
        types: z.string().optional().transform((s, c) => {
          if (!s) return undefined;
          const list = s.split(',').map((x) => x.trim()).filter(Boolean);
          for (const t of list) if (!(svc.TIMELINE_TYPES as readonly string[]).includes(t)) c.addIssue({ code: 'custom', message: `unknown type ${t.slice(0, 20)}` });
          return list as svc.TimelineType[];
        }).describe(`comma-separated: ${svc.TIMELINE_TYPES.join(', ')}`),
      }),
      response: { 200: pageResponse(TimelineItem), ...errorResponses },
    },
  }, async (req) => {
    // the timeline checks scope and audits the view in its own single statement
    const viewer = { principal: requirePrincipal(req), audit: auditContext(req) };
    return auditingDenial(req, req.params.id, 'Timeline', () => svc.timeline(db, viewer, req.params.id, req.query));
  });

  app.get('/residents/:id/trends', {
    schema: {
      tags, summary: 'Numeric result series (no code: the list of series; with code: its points, oldest first)', params: IdParam,
      querystring: z.object({ code: z.string().min(1).max(100).optional(), system: z.string().max(300).optional() }),
      response: {
        200: z.union([
          z.object({ code: z.string(), codeSystem: z.string().nullable(), display: z.string(), unit: z.string().nullable(), refLow: z.number().nullable(), refHigh: z.number().nullable(), points: z.array(z.object({ at: z.string(), value: z.number(), institutionId: z.number(), institutionName: z.string(), observationId: z.number() })) }),
          z.object({ series: z.array(z.object({ code: z.string(), codeSystem: z.string(), display: z.string(), unit: z.string().nullable(), count: z.number(), lastAt: z.string() })) }),
        ]),
        ...errorResponses,
      },
    },
  }, async (req) => viewing(req, req.params.id, 'Trend', (q): Promise<object> => (req.query.code ? svc.trend(q, req.params.id, req.query.code, req.query.system) : svc.trendSeries(q, req.params.id))) as any);

  app.get('/residents/:id/recognition', {
    schema: {
      tags, summary: 'Before ordering: recent results from any institution still within their recognition window (检查检验结果互认)', params: IdParam,
      querystring: z.object({ code: z.string().min(1).max(100).optional(), system: z.string().max(300).optional() }),
      response: { 200: z.object({ items: z.array(Reusable) }), ...errorResponses },
    },
  }, async (req) => viewing(req, req.params.id, 'Recognition', (q) => svc.reusableResults(q, req.params.id, req.query)));

  app.post('/residents/:id/recognition/reuse', {
    schema: {
      tags, summary: 'Reuse a recognised result instead of ordering the test again (counted as a duplicate test avoided)', params: IdParam,
      body: z.object({ observationId: z.number().int().positive().optional(), reportId: z.number().int().positive().optional() }).refine((b) => (b.observationId === undefined) !== (b.reportId === undefined), 'give observationId or reportId'),
      response: { 201: z.object({ id: z.number(), code: z.string(), codeSystem: z.string(), institutionId: z.number(), at: z.string() }), ...errorResponses },
    },
  }, async (req, reply) => {
    const p = requireRole(req, ...CLINICIANS);
    const out = await viewing(req, req.params.id, 'Recognition', (q) => svc.recordReuse(q, p, req.params.id, req.body));
    return reply.status(201).send(out);
  });

  app.get('/recognition/rules', { schema: { tags, summary: 'Recognition windows per result code and category defaults', response: { 200: z.object({ items: z.array(Rule.extend({ nameEn: z.string().nullable() })) }), ...errorResponses } } }, async (req) => {
    requirePrincipal(req);
    return svc.listRules(db);
  });

  app.put('/recognition/rules', { schema: { tags, summary: 'Set a recognition window (district admin)', body: Rule, response: { 200: Rule.extend({ nameEn: z.string().nullable() }), ...errorResponses } } }, async (req) => {
    const p = requireRole(req, 'district_admin');
    return svc.saveRule(db, p.userId, req.body);
  });

  app.get('/recognition/stats', {
    schema: { tags, summary: 'Duplicate tests avoided per institution and month', querystring: z.object({ from: month.optional(), to: month.optional(), institutionId: z.coerce.number().int().optional() }), response: { 200: z.object({ items: z.array(z.object({ month: z.string(), institutionId: z.number(), institutionName: z.string(), avoided: z.number() })) }), ...errorResponses } },
  }, async (req) => {
    const p = requireRole(req, 'district_admin', 'institution_admin');
    const institutionId = p.roles.includes('district_admin') ? req.query.institutionId : p.institutionId ?? -1;
    return svc.recognitionStats(db, { ...req.query, institutionId });
  });

  app.post('/residents/:id/break-glass', {
    schema: {
      tags, summary: 'Emergency access to a resident outside the caller’s scope, with a reason the district admin reviews', params: IdParam,
      body: z.object({ reason: z.string().trim().min(10).max(500) }),
      response: { 201: z.object({ id: z.number(), residentId: z.number(), expiresAt: z.string(), reason: z.string() }), ...errorResponses },
    },
  }, async (req, reply) => {
    const p = requireRole(req, ...CLINICIANS);
    if (p.tokenInstitutionId !== null) throw new AppError('FORBIDDEN'); // a person, not a system, breaks the glass
    const out = await db.tx(async (q) => {
      const g = await svc.breakGlass(q, p, req.params.id, req.body.reason);
      await audit(q, auditContext(req), { action: 'break_glass', resourceType: 'Resident', resourceId: req.params.id, residentId: req.params.id, purpose: req.body.reason });
      return g;
    });
    return reply.status(201).send(out);
  });

  app.get('/break-glass', {
    schema: { tags, summary: 'Break-glass uses for review (district admin)', querystring: PageQuery.extend({ status: z.enum(['pending', 'justified', 'unjustified']).optional() }), response: { 200: pageResponse(BreakGlassItem), ...errorResponses } },
  }, async (req) => {
    requireRole(req, 'district_admin');
    return svc.listBreakGlass(db, req.query);
  });

  app.post('/break-glass/:id/review', {
    schema: { tags, summary: 'Review one break-glass use; an unjustified one ends at once', params: IdParam, body: z.object({ decision: z.enum(['justified', 'unjustified']), note: z.string().max(500).optional() }), response: { 200: BreakGlassItem, ...errorResponses } },
  }, async (req) => {
    const p = requireRole(req, 'district_admin');
    return db.tx(async (q) => {
      const out = await svc.reviewBreakGlass(q, p.userId, req.params.id, req.body.decision, req.body.note ?? null);
      await audit(q, auditContext(req), { action: 'review', resourceType: 'BreakGlass', resourceId: req.params.id, residentId: out.residentId });
      return out;
    });
  });
}
