// Family-doctor contracts HTTP API (家庭医生签约): sign, list, read, renew, change team, cancel; service packages.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../../context.ts';
import type { Queryable } from '../../db/engine.ts';
import { withRetry } from '../../db/engine.ts';
import { IdParam, PageQuery, auditContext, errorResponses, pageResponse, requirePrincipal, IsoDate } from '../../platform/http.ts';
import * as svc from './contracts.ts';
import { COUNT_CAP, WORK_KINDS, WORKLIST_SETTINGS, worklist } from './worklist.ts';
import { Readings } from '../chronic/routes.ts';

const Consent = z.object({
  method: z.enum(svc.CONSENT_METHODS).describe('written (纸质签字), electronic (电子签名), verbal_witnessed (口头同意并有见证)'),
  signedBy: z.enum(svc.CONSENT_SIGNERS).describe('self, guardian (监护人) or agent (委托人)'),
  signedAt: z.string().datetime({ offset: true }).optional().describe('default: now'),
  document: z.string().trim().max(500).nullable().optional().describe('reference to the signed form kept elsewhere'),
}).strict();
const Packages = z.array(z.string().trim().min(2).max(40)).min(1).max(10);

const ContractItem = z.object({
  id: z.number(), version: z.number(), status: z.enum(svc.CONTRACT_STATUSES),
  resident: z.object({ id: z.number(), name: z.string(), sex: z.string(), age: z.number(), idNumberMasked: z.string().nullable(), gridId: z.number().nullable(), gridName: z.string().nullable() }),
  team: z.object({ id: z.number(), name: z.string() }), institution: z.object({ id: z.number(), name: z.string() }),
  packages: z.array(z.string()), startDate: z.string(), endDate: z.string(),
  consent: z.object({ method: z.string(), signedBy: z.string(), signedAt: z.string(), document: z.string().nullable() }),
  practitionerId: z.number().nullable(), renewals: z.number(), previousContractId: z.number().nullable(), endReason: z.string().nullable(), endedAt: z.string().nullable(),
  dueForRenewal: z.boolean(), createdAt: z.string(),
});
const ContractDetail = ContractItem.extend({ events: z.array(z.object({ action: z.string(), at: z.string(), user: z.string().nullable(), detail: z.unknown() })) });
const Package = z.object({ code: z.string(), name: z.string(), nameEn: z.string().nullable(), kind: z.enum(['basic', 'paid']), feeYuan: z.number(), description: z.string().nullable(), active: z.boolean() });

export async function familyDoctorRoutes(fastify: FastifyInstance, ctx: AppContext) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { db } = ctx;
  const tags = ['family-doctor'];
  const c = (req: FastifyRequest, q: Queryable): svc.Ctx => ({ q, principal: requirePrincipal(req), audit: auditContext(req) });

  app.post('/contracts', {
    schema: {
      tags, summary: 'Sign a resident with a family-doctor team (a resident has at most one active contract: 409 CONTRACT_EXISTS)',
      body: z.object({
        residentId: z.number().int().positive(), teamId: z.number().int().positive(), packages: Packages.describe('service package codes, e.g. ["basic", "chronic"]'),
        startDate: IsoDate.optional().describe('default: today'), endDate: IsoDate.optional().describe('default: the term (family_doctor.contract_term_months, 12) from the start'),
        consent: Consent, practitionerId: z.number().int().positive().nullable().optional().describe('the team member who signed'),
        sourceId: z.string().trim().min(1).max(200).nullable().optional().describe('your own id: sending it again returns the same contract'),
      }).strict(),
      response: { 200: ContractItem, 201: ContractItem, ...errorResponses },
    },
  }, async (req, reply) => {
    const out = await withRetry(() => db.tx((q) => svc.createContract(c(req, q), req.body)));
    return reply.status(out.created ? 201 : 200).send(out.contract);
  });

  app.get('/contracts', {
    schema: {
      tags, summary: 'Contracts: a team member sees the team’s, a centre’s administrator the centre’s teams’, the district administrator all',
      querystring: PageQuery.extend({
        teamId: z.coerce.number().int().positive().optional(), institutionId: z.coerce.number().int().positive().optional(), status: z.enum(svc.CONTRACT_STATUSES).optional(),
        packageCode: z.string().max(40).optional(), gridId: z.coerce.number().int().positive().optional(), residentId: z.coerce.number().int().positive().optional(),
        dueForRenewal: z.enum(['true', 'false']).optional().transform((v) => v === 'true').describe('active contracts ending within family_doctor.renewal_notice_days (30)'),
      }),
      response: { 200: pageResponse(ContractItem), ...errorResponses },
    },
  }, async (req) => db.tx((q) => svc.listContracts(c(req, q), req.query)));

  app.get('/contracts/:id', {
    schema: { tags, summary: 'One contract with its history', params: IdParam, response: { 200: ContractDetail, ...errorResponses } },
  }, async (req) => db.tx((q) => svc.getContract(c(req, q), req.params.id)));

  app.post('/contracts/:id/renew', {
    schema: {
      tags, summary: 'Renew (续约): extend the term, the consent given again', params: IdParam,
      body: z.object({ endDate: IsoDate.optional(), packages: Packages.optional(), consent: Consent, version: z.number().int().positive().optional() }).strict(),
      response: { 200: ContractItem, ...errorResponses },
    },
  }, async (req) => withRetry(() => db.tx((q) => svc.renewContract(c(req, q), req.params.id, req.body))));

  app.post('/contracts/:id/change-team', {
    schema: {
      tags, summary: 'Change of team: the contract ends today and the new team signs the resident for the rest of the term (returns the new contract)', params: IdParam,
      body: z.object({
        teamId: z.number().int().positive(), reason: z.string().trim().min(1).max(500), consent: Consent, packages: Packages.optional(),
        practitionerId: z.number().int().positive().nullable().optional(), version: z.number().int().positive().optional(),
      }).strict(),
      response: { 200: ContractItem, ...errorResponses },
    },
  }, async (req) => withRetry(() => db.tx((q) => svc.changeTeam(c(req, q), req.params.id, req.body))));

  app.post('/contracts/:id/cancel', {
    schema: {
      tags, summary: 'Cancel (解约) with a reason: the team’s access ends', params: IdParam,
      body: z.object({ reason: z.string().trim().min(1).max(500), version: z.number().int().positive().optional() }).strict(),
      response: { 200: ContractItem, ...errorResponses },
    },
  }, async (req) => withRetry(() => db.tx((q) => svc.cancelContract(c(req, q), req.params.id, req.body))));

  app.get('/service-packages', {
    schema: { tags, summary: 'Service packages (服务包)', response: { 200: z.object({ items: z.array(Package) }), ...errorResponses } },
  }, async () => ({ items: await svc.listPackages(db) }));

  app.put('/service-packages/:code', {
    schema: {
      tags, summary: 'Create or change a service package (district administrator)', params: z.object({ code: z.string().regex(/^[a-z][a-z0-9_]{1,39}$/) }),
      body: z.object({ name: z.string().trim().min(1).max(100), nameEn: z.string().max(100).nullable().optional(), kind: z.enum(['basic', 'paid']), feeYuan: z.number().min(0).max(100000), description: z.string().max(1000).nullable().optional(), active: z.boolean().default(true) }).strict(),
      response: { 200: Package, ...errorResponses },
    },
  }, async (req) => svc.putPackage(db, requirePrincipal(req), { ...req.body, code: req.params.code }));
}

const WorkItem = z.object({
  kind: z.enum(WORK_KINDS), taskId: z.number().nullable(), contractId: z.number().nullable(), priority: z.string(), status: z.string(), dueAt: z.string().nullable(), overdue: z.boolean(),
  description: z.string().nullable(), focus: z.string().nullable(), programmes: z.array(z.string()), contractingLead: z.boolean(),
  team: z.object({ id: z.number(), name: z.string() }).nullable(), source: z.object({ institutionId: z.number(), institutionName: z.string() }).nullable(), contractEndDate: z.string().nullable(),
  escalationLevel: z.number().describe('0: not escalated; 1: to the team lead; 2: to the centre’s administrator'), escalatedAt: z.string().nullable(),
  resident: z.object({ id: z.number(), name: z.string(), sex: z.string(), age: z.number(), gridId: z.number().nullable(), gridName: z.string().nullable() }),
  lastReadings: Readings.nullable(), medications: z.array(z.object({ name: z.string(), dose: z.string().nullable() })),
  couponBalance: z.number().nullable().describe('medication coupons left this year (null: none issued yet)'),
});

export async function worklistRoutes(fastify: FastifyInstance, ctx: AppContext) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  app.get('/worklist', {
    schema: {
      tags: ['family-doctor'], summary: 'A family doctor’s worklist for a day: due and overdue follow-ups, new enrolments, danger values, discharges, contracts due for renewal, elderly health checks due this year',
      querystring: PageQuery.extend({
        date: IsoDate.optional().describe('default: today (Beijing)'), teamId: z.coerce.number().int().positive().optional(), gridId: z.coerce.number().int().positive().optional(),
        programme: z.string().max(40).optional(), priority: z.enum(['urgent', 'routine']).optional(), kind: z.enum(WORK_KINDS).optional(),
        escalation: z.coerce.number().int().min(1).max(2).optional().describe('only tasks escalated to at least this level') as z.ZodType<1 | 2 | undefined>,
      }),
      response: { 200: pageResponse(WorkItem).extend({ date: z.string(), totalCapped: z.boolean().describe(`true when there are more than ${COUNT_CAP} items (total is then ${COUNT_CAP})`) }), ...errorResponses },
    },
  }, async (req) => ctx.db.tx((q) => worklist({ q, principal: requirePrincipal(req), audit: auditContext(req) }, req.query), { settings: WORKLIST_SETTINGS }));
}
