// HTTP API of prescriptions for stable chronic patients (长处方 / 延伸处方), their eligibility rules and the hospitals'
// formularies, medication coupons (用药券) and home delivery (送药上门), under /chronic.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../../context.ts';
import type { Queryable } from '../../db/engine.ts';
import { withRetry } from '../../db/engine.ts';
import type * as repo from '../../fhir/repository.ts';
import { IdParam, PageQuery, auditContext, errorResponses, pageResponse, requirePrincipal } from '../../platform/http.ts';
import * as rx from './prescriptions.ts';
import * as coupons from './coupons.ts';
import * as deliveries from './deliveries.ts';
import { PRESCRIPTION_KINDS, PrescriptionRules, RULE_NAMES } from './prescription-rules.ts';

const Text = z.object({ zh: z.string(), en: z.string() });
const CheckSchema = z.object({ rule: z.enum(RULE_NAMES), ok: z.boolean(), detail: Text, field: z.string() });
const Prescription = z.object({
  id: z.number(), version: z.number(), kind: z.enum(PRESCRIPTION_KINDS), programme: z.string(), weeks: z.number(),
  status: z.enum(rx.PRESCRIPTION_STATUSES).describe('read from its MedicationRequests'),
  resident: z.object({ id: z.number(), name: z.string() }), institution: z.object({ id: z.number(), name: z.string() }), team: z.object({ id: z.number(), name: z.string() }).nullable(),
  contractId: z.number().nullable(), enrolmentId: z.number().nullable(), practitionerId: z.number().nullable(),
  prescriber: z.object({ institutionId: z.number(), institutionName: z.string(), practitionerId: z.number().nullable() }).nullable(),
  ruleVersion: z.number(), checks: z.array(CheckSchema),
  items: z.array(z.object({
    medicationRequestId: z.number(), name: z.string(), system: z.string().nullable(), code: z.string().nullable(), dosage: z.string().nullable(), status: z.string(),
    quantity: z.object({ value: z.number(), unit: z.string().nullable() }).nullable(),
  })),
  authoredAt: z.string(), validUntil: z.string(), cancelledAt: z.string().nullable(), cancelReason: z.string().nullable(),
});
const Item = z.object({
  name: z.string().trim().min(1).max(200), system: z.string().trim().min(1).max(300).optional().describe(`drug code system (default ${rx.RX.drug})`),
  code: z.string().trim().min(1).max(100).nullable().optional().describe('required to match an extended prescription against the hospital’s formulary'),
  dosage: z.string().trim().max(500).nullable().optional(), quantity: z.number().positive().max(100000).nullable().optional(), unit: z.string().trim().max(40).nullable().optional(),
}).strict();
const EligibilityBody = {
  kind: z.enum(PRESCRIPTION_KINDS).describe('long (长处方) or extended (延伸处方)'), residentId: z.number().int().positive(), programme: z.string().max(40).describe('hypertension, diabetes'),
  weeks: z.number().int().min(1).max(52), prescriberInstitutionId: z.number().int().positive().nullable().optional().describe('extended: the consortium hospital'),
};
const Eligibility = z.object({ kind: z.enum(PRESCRIPTION_KINDS), eligible: z.boolean(), ruleVersion: z.number(), checks: z.array(CheckSchema) });
const RuleSetSchema = z.object({ kind: z.enum(PRESCRIPTION_KINDS), version: z.number(), rules: PrescriptionRules, note: z.string().nullable(), createdAt: z.string(), createdBy: z.string().nullable() });
const FormularyItem = z.object({ system: z.string(), code: z.string(), display: z.string(), form: z.string().nullable(), active: z.boolean() });

const Balance = z.object({ residentId: z.number(), year: z.number(), issued: z.number(), redeemed: z.number(), voided: z.number(), balance: z.number(), balanceYuan: z.number() });
const Entry = z.object({
  id: z.number(), residentId: z.number(), year: z.number(), kind: z.enum(coupons.LEDGER_KINDS), count: z.number(), amountYuan: z.number(),
  institution: z.object({ id: z.number(), name: z.string().nullable() }), prescriptionId: z.number().nullable(), voidsId: z.number().nullable(),
  user: z.string().nullable(), at: z.string(), sourceId: z.string().nullable(), note: z.string().nullable(),
});
const year = z.coerce.number().int().min(2000).max(2100);

const Delivery = z.object({
  id: z.number(), version: z.number(), status: z.enum(deliveries.DELIVERY_STATUSES), prescriptionId: z.number(),
  resident: z.object({ id: z.number(), name: z.string() }), institution: z.object({ id: z.number(), name: z.string() }), team: z.object({ id: z.number(), name: z.string() }).nullable(),
  address: z.string().nullable(), addressMasked: z.boolean(), note: z.string().nullable(), courier: z.string().nullable(), trackingNo: z.string().nullable(), reason: z.string().nullable(),
  requestedAt: z.string(), dispatchedAt: z.string().nullable(), deliveredAt: z.string().nullable(), cancelledAt: z.string().nullable(), failedAt: z.string().nullable(),
  actions: z.array(z.enum(deliveries.DELIVERY_STATUSES)).describe('the states it may move to'),
});
const sourceId = z.string().trim().min(1).max(200).nullable().optional().describe('your own id: sending it again returns the same record');

export async function prescriptionRoutes(fastify: FastifyInstance, ctx: AppContext) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { db, keys } = ctx;
  const rc = (req: FastifyRequest, q: Queryable): repo.RequestContext => ({ q, keys, principal: requirePrincipal(req), audit: auditContext(req), base: `${req.protocol}://${req.host}/fhir/R4` });

  // ── prescriptions ──
  const tags = ['chronic-prescriptions'];
  app.get('/chronic/prescription-rules', {
    schema: { tags, summary: 'Eligibility rules of long and extended prescriptions: the current version of each (history=true: every version)', querystring: z.object({ history: z.enum(['true', 'false']).optional() }), response: { 200: z.object({ items: z.array(RuleSetSchema) }), ...errorResponses } },
  }, async (req) => {
    requirePrincipal(req);
    return { items: await rx.ruleSets(db, req.query.history === 'true') };
  });

  app.put('/chronic/prescription-rules/:kind', {
    schema: {
      tags, summary: 'A new version of a kind’s eligibility rules (district administrator); issued prescriptions keep the version they were checked against',
      params: z.object({ kind: z.enum(PRESCRIPTION_KINDS) }), body: z.object({ rules: z.record(z.string(), z.unknown()), note: z.string().max(500).nullable().optional() }).strict(),
      response: { 200: z.object({ kind: z.enum(PRESCRIPTION_KINDS), version: z.number() }), ...errorResponses },
    },
  }, async (req) => ({ kind: req.params.kind, version: await db.tx((q) => rx.setRules(q, requirePrincipal(req), req.params.kind, req.body.rules, req.body.note ?? null)) }));

  app.get('/chronic/formulary', {
    schema: { tags, summary: 'A hospital’s formulary (药品目录) for extended prescriptions', querystring: z.object({ institutionId: z.coerce.number().int().positive() }), response: { 200: z.object({ items: z.array(FormularyItem) }), ...errorResponses } },
  }, async (req) => {
    requirePrincipal(req);
    return { items: await rx.formulary(db, req.query.institutionId) };
  });

  app.put('/chronic/formulary/:institutionId', {
    schema: {
      tags, summary: 'Add or change items of a hospital’s formulary (its administrator, or the district’s)', params: z.object({ institutionId: z.coerce.number().int().positive() }),
      body: z.object({ items: z.array(z.object({ system: z.string().trim().min(1).max(300).optional(), code: z.string().trim().min(1).max(100), display: z.string().trim().min(1).max(200), form: z.string().max(200).nullable().optional(), active: z.boolean().optional() }).strict()).min(1).max(2000) }).strict(),
      response: { 200: z.object({ items: z.array(FormularyItem) }), ...errorResponses },
    },
  }, async (req) => ({ items: await db.tx((q) => rx.putFormulary(q, requirePrincipal(req), req.params.institutionId, req.body.items)) }));

  app.post('/chronic/prescriptions/eligibility', {
    schema: {
      tags, summary: 'Whether the caller could issue this prescription now, rule by rule (writes nothing)',
      body: z.object({ ...EligibilityBody, items: z.array(Item).max(30).optional() }).strict(), response: { 200: Eligibility, ...errorResponses },
    },
  }, async (req) => db.tx((q) => rx.eligibility(rc(req, q), req.body)));

  app.post('/chronic/prescriptions', {
    schema: {
      tags, summary: 'Issue a long (长处方) or extended (延伸处方) prescription; its drugs become MedicationRequests of the shared record. 422 PRESCRIPTION_REFUSED names each rule broken',
      body: z.object({
        ...EligibilityBody, items: z.array(Item).min(1).max(30), prescriberPractitionerId: z.number().int().positive().nullable().optional().describe('extended: the hospital’s prescriber'),
        note: z.string().max(1000).nullable().optional(), sourceId,
      }).strict(),
      response: { 200: Prescription, 201: Prescription, ...errorResponses },
    },
  }, async (req, reply) => {
    const out = await withRetry(() => db.tx((q) => rx.issuePrescription(rc(req, q), req.body)));
    return reply.status(out.created ? 201 : 200).send(out.prescription);
  });

  app.get('/chronic/prescriptions', {
    schema: {
      tags, summary: 'Prescriptions of the residents in the caller’s scope, newest first',
      querystring: PageQuery.extend({
        residentId: z.coerce.number().int().positive().optional(), teamId: z.coerce.number().int().positive().optional(), institutionId: z.coerce.number().int().positive().optional(),
        kind: z.enum(PRESCRIPTION_KINDS).optional(), status: z.enum(rx.PRESCRIPTION_STATUSES).optional(),
      }),
      response: { 200: pageResponse(Prescription), ...errorResponses },
    },
  }, async (req) => db.tx((q) => rx.listPrescriptions(rc(req, q), req.query)));

  app.get('/chronic/prescriptions/:id', {
    schema: { tags, summary: 'One prescription with its drugs and the checks it passed', params: IdParam, response: { 200: Prescription, ...errorResponses } },
  }, async (req) => db.tx((q) => rx.getPrescription(rc(req, q), req.params.id)));

  app.post('/chronic/prescriptions/:id/cancel', {
    schema: {
      tags, summary: 'Cancel a prescription (its institution): its drugs are cancelled in the shared record; refused while a delivery is open', params: IdParam,
      body: z.object({ reason: z.string().trim().min(1).max(500), version: z.number().int().positive().optional() }).strict(), response: { 200: Prescription, ...errorResponses },
    },
  }, async (req) => withRetry(() => db.tx((q) => rx.cancelPrescription(rc(req, q), req.params.id, req.body))));

  // ── coupons ──
  const ctags = ['chronic-coupons'];
  app.post('/chronic/coupons/issue', {
    schema: {
      tags: ctags, summary: 'The yearly issue: this year’s (or `year`’s) coupons to every managed resident in the caller’s scope who has none yet (district or institution administrator; idempotent)',
      body: z.object({ year: year.optional() }).strict(), response: { 200: z.object({ year: z.number(), issued: z.number(), perResident: z.number(), valueYuan: z.number() }), ...errorResponses },
    },
  }, async (req) => withRetry(() => db.tx((q) => coupons.issueYear(rc(req, q), req.body.year))));

  app.post('/chronic/coupons/issue/:residentId', {
    schema: {
      tags: ctags, summary: 'Issue the year’s coupons to one managed resident now, if not yet issued (on demand); the balance after',
      params: z.object({ residentId: z.coerce.number().int().positive() }), body: z.object({ year: year.optional() }).strict().optional(),
      response: { 200: Balance.extend({ created: z.boolean() }), 201: Balance.extend({ created: z.boolean() }), ...errorResponses },
    },
  }, async (req, reply) => {
    const out = await withRetry(() => db.tx((q) => coupons.issueToResident(rc(req, q), req.params.residentId, req.body?.year)));
    return reply.status(out.created ? 201 : 200).send(out);
  });

  app.get('/chronic/coupons/balance', {
    schema: { tags: ctags, summary: 'A resident’s coupons of a year (default this year): issued, redeemed, voided, balance', querystring: z.object({ residentId: z.coerce.number().int().positive(), year: year.optional() }), response: { 200: Balance, ...errorResponses } },
  }, async (req) => db.tx((q) => coupons.balance(rc(req, q), req.query.residentId, req.query.year)));

  app.post('/chronic/coupons/redeem', {
    schema: {
      tags: ctags, summary: 'Redeem coupons against a prescription at the caller’s institution (this year’s coupons are issued first if need be); 409 COUPONS_INSUFFICIENT',
      body: z.object({ residentId: z.number().int().positive(), prescriptionId: z.number().int().positive(), count: z.number().int().min(1).max(100), note: z.string().max(500).nullable().optional(), sourceId }).strict(),
      response: { 200: Entry, 201: Entry, ...errorResponses },
    },
  }, async (req, reply) => {
    const out = await withRetry(() => db.tx((q) => coupons.redeem(rc(req, q), req.body)));
    return reply.status(out.created ? 201 : 200).send(out.entry);
  });

  app.post('/chronic/coupons/ledger/:id/void', {
    schema: {
      tags: ctags, summary: 'Void a redemption (the redeeming institution): its coupons return to the balance', params: IdParam,
      body: z.object({ reason: z.string().trim().min(1).max(500) }).strict(), response: { 201: Entry, ...errorResponses },
    },
  }, async (req, reply) => reply.status(201).send(await withRetry(() => db.tx((q) => coupons.voidRedemption(rc(req, q), req.params.id, req.body)))));

  app.get('/chronic/coupons/ledger', {
    schema: {
      tags: ctags, summary: 'Coupon ledger rows of the residents in the caller’s scope, newest first',
      querystring: PageQuery.extend({
        residentId: z.coerce.number().int().positive().optional(), year: year.optional(), kind: z.enum(coupons.LEDGER_KINDS).optional(),
        institutionId: z.coerce.number().int().positive().optional(), prescriptionId: z.coerce.number().int().positive().optional(),
      }),
      response: { 200: pageResponse(Entry), ...errorResponses },
    },
  }, async (req) => db.tx((q) => coupons.ledger(rc(req, q), req.query)));

  // ── home delivery ──
  const dtags = ['chronic-deliveries'];
  app.post('/chronic/deliveries', {
    schema: {
      tags: dtags, summary: 'Request home delivery (送药上门) of a prescription to the resident’s registered address',
      body: z.object({ prescriptionId: z.number().int().positive(), note: z.string().max(500).nullable().optional(), sourceId }).strict(),
      response: { 200: Delivery, 201: Delivery, ...errorResponses },
    },
  }, async (req, reply) => {
    const out = await withRetry(() => db.tx((q) => deliveries.requestDelivery(rc(req, q), req.body)));
    return reply.status(out.created ? 201 : 200).send(out.delivery);
  });

  app.post('/chronic/deliveries/:id/status', {
    schema: {
      tags: dtags, summary: 'Move a delivery: requested → dispatched | cancelled; dispatched → delivered | failed | cancelled (reason required for cancelled and failed); 409 INVALID_STATE otherwise',
      params: IdParam,
      body: z.object({
        status: z.enum(['dispatched', 'delivered', 'cancelled', 'failed']), reason: z.string().trim().min(1).max(500).nullable().optional(),
        courier: z.string().trim().max(100).nullable().optional(), trackingNo: z.string().trim().max(100).nullable().optional(), version: z.number().int().positive().optional(),
      }).strict(),
      response: { 200: Delivery, ...errorResponses },
    },
  }, async (req) => withRetry(() => db.tx((q) => deliveries.moveDelivery(rc(req, q), req.params.id, req.body))));

  app.get('/chronic/deliveries', {
    schema: {
      tags: dtags, summary: 'Deliveries of the residents in the caller’s scope (a team’s residents, a centre’s area), newest first; addresses masked',
      querystring: PageQuery.extend({
        status: z.enum(deliveries.DELIVERY_STATUSES).optional(), teamId: z.coerce.number().int().positive().optional(), institutionId: z.coerce.number().int().positive().optional(),
        residentId: z.coerce.number().int().positive().optional(), prescriptionId: z.coerce.number().int().positive().optional(),
      }),
      response: { 200: pageResponse(Delivery), ...errorResponses },
    },
  }, async (req) => db.tx((q) => deliveries.listDeliveries(rc(req, q), req.query)));

  app.get('/chronic/deliveries/:id', {
    schema: { tags: dtags, summary: 'One delivery with the full address (an audited read)', params: IdParam, response: { 200: Delivery, ...errorResponses } },
  }, async (req) => db.tx((q) => deliveries.getDelivery(rc(req, q), req.params.id)));
}
