// Elderly health management HTTP API (老年人健康管理): the annual health check — recording one, a resident's checks,
// and the check's versioned rules. Who is due is on the family doctor's worklist (kind elderly_check).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../../context.ts';
import type { Queryable } from '../../db/engine.ts';
import { withRetry } from '../../db/engine.ts';
import type * as repo from '../../fhir/repository.ts';
import { auditContext, auditingRefusal, errorResponses, requirePrincipal, requireRole } from '../../platform/http.ts';
import { checkRuleVersions, checksOf, currentCheckRules, invalidateCheckRules, recordCheck, setCheckRules } from './checks.ts';
import { CheckResults } from './rules.ts';

const Finding = z.object({
  code: z.string(), zh: z.string(), en: z.string(), urgent: z.boolean(), measure: z.string().optional(), value: z.number().optional(), rule: z.string().optional(),
  component: z.string().optional(), programme: z.string().optional(),
});
const Check = z.object({
  id: z.number(), residentId: z.number(), year: z.number(), checkDate: z.string(), ruleVersion: z.number(), institutionId: z.number(), teamId: z.number().nullable(),
  sessionId: z.number().nullable(), results: z.record(z.string(), z.unknown()), measures: z.record(z.string(), z.number()), missing: z.array(z.string()), complete: z.boolean(),
  findings: z.array(Finding), urgent: z.boolean(), followUpTaskId: z.number().nullable(), encounterId: z.number().nullable(), note: z.string().nullable(), createdAt: z.string(),
});
const RuleVersion = z.object({ version: z.number(), rules: z.unknown(), note: z.string().nullable(), createdAt: z.string(), createdBy: z.string().nullable() });

export async function elderlyRoutes(fastify: FastifyInstance, ctx: AppContext) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { db, keys } = ctx;
  const tags = ['elderly'];
  const rc = (req: FastifyRequest, q: Queryable): repo.RequestContext => ({ q, keys, principal: requirePrincipal(req), audit: auditContext(req), base: `${req.protocol}://${req.host}/fhir/R4` });

  app.post('/elderly-checks', {
    schema: {
      tags, summary: 'Record a resident’s annual health check (65 and over; one per calendar year): judged by the rules, abnormal findings create a follow-up task',
      body: z.object({
        residentId: z.number().int().positive(), checkedAt: z.string().datetime({ offset: true }).optional().describe('default: now'),
        results: CheckResults.describe('the components: lifestyle, symptoms, physical, selfAssessment, cognitive, emotional, bloodRoutine, urineRoutine, fastingGlucose, bloodLipids, liverFunction, kidneyFunction, ecg, abdominalUltrasound'),
        sessionId: z.number().int().positive().nullable().optional().describe('the health-post session it was made at'),
        note: z.string().max(2000).nullable().optional(), sourceId: z.string().trim().min(1).max(200).nullable().optional(),
      }).strict(),
      response: { 200: Check, 201: Check, ...errorResponses },
    },
  }, async (req, reply) => {
    const attempt = { action: 'create', resourceType: 'ElderlyCheck', residentId: req.body.residentId } as const;
    const out = await auditingRefusal(db, req, attempt, () => withRetry(() => db.tx((q) => recordCheck(rc(req, q), req.body))));
    return reply.status(out.created ? 201 : 200).send(out.check);
  });

  app.get('/elderly-checks', {
    schema: { tags, summary: 'A resident’s health checks, newest first', querystring: z.object({ residentId: z.coerce.number().int().positive() }), response: { 200: z.object({ items: z.array(Check) }), ...errorResponses } },
  }, async (req) => ({ items: await checksOf(rc(req, db), req.query.residentId) }));

  app.get('/elderly-checks/rules', {
    schema: { tags, summary: 'The check’s rules: the current version first, then every earlier one', response: { 200: z.object({ current: z.number(), items: z.array(RuleVersion) }), ...errorResponses } },
  }, async (req) => {
    requirePrincipal(req);
    return { current: (await currentCheckRules(db)).version, items: await checkRuleVersions(db) };
  });

  app.put('/elderly-checks/rules', {
    schema: {
      tags, summary: 'A new version of the check’s rules (district administrator); earlier checks keep the version they were judged by',
      body: z.object({ rules: z.record(z.string(), z.unknown()), note: z.string().max(500).nullable().optional() }).strict(),
      response: { 200: z.object({ version: z.number() }), ...errorResponses },
    },
  }, async (req) => {
    const p = requireRole(req, 'district_admin');
    const version = await db.tx((q) => setCheckRules(q, req.body.rules, req.body.note ?? null, p.userId));
    invalidateCheckRules(); // again after the commit: a read in between may have cached the old version
    return { version };
  });
}
