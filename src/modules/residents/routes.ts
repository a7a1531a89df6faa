// Resident (master person index) routes. Each read of a person's data is audited before the response leaves.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../../context.ts';
import { IdParam, PageQuery, auditContext, auditingRefusal, errorResponses, pageResponse, requirePrincipal, requireRole, IsoDate } from '../../platform/http.ts';
import { audit, auditResidents } from '../../platform/audit.ts';
import { assertActsForInstitution } from '../../platform/access.ts';
import { AppError } from '../../platform/errors.ts';
import { withRetry } from '../../db/engine.ts';
import { CareChain } from '../registry/routes.ts';
import { careChainForGrid } from '../registry/service.ts';
import * as svc from './service.ts';
import { ensureTreatmentRelationship } from '../../fhir/resources/encounter.ts';

const ResidentSummary = z.object({
  id: z.number(), name: z.string(), sex: z.enum(['male', 'female']), birthDate: z.string(), age: z.number(),
  idNumberMasked: z.string().nullable(), phoneMasked: z.string().nullable(), householdId: z.number().nullable(),
  gridId: z.number().nullable(), gridName: z.string().nullable(), communityId: z.number().nullable(), communityName: z.string().nullable(),
  streetId: z.number().nullable(), tags: z.array(z.string()), status: z.string(), version: z.number(),
});
const ResidentDetail = ResidentSummary.extend({
  address: z.string().nullable(), mergedInto: z.number().nullable(), hasIdNumber: z.boolean(),
  household: z.object({ id: z.number(), address: z.string(), memberCount: z.number() }).nullable(),
  sourceIds: z.array(z.object({ institutionId: z.number(), institutionName: z.string(), sourceId: z.string() })),
});
const isoDate = IsoDate.refine((s) => new Date(`${s}T00:00:00Z`) <= new Date(), 'not a valid past date');
const phone = z.string().regex(/^1\d{10}$|^0\d{2,3}-?\d{7,8}$/, 'a mobile number (11 digits) or a landline with area code');
const WRITERS = ['district_admin', 'institution_admin', 'family_doctor', 'nurse', 'specialist', 'referral_desk'] as const;
const Merge = z.object({ id: z.number(), survivorId: z.number(), mergedId: z.number(), reason: z.string(), mergedAt: z.string(), undoneAt: z.string().nullable() });

export async function residentRoutes(fastify: FastifyInstance, ctx: AppContext) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { db, keys } = ctx;
  const tags = ['residents'];

  app.get('/residents', {
    schema: {
      tags, summary: 'Residents in the caller’s scope; exact lookup by identity number via its keyed hash',
      querystring: PageQuery.extend({
        idNumber: z.string().max(30).optional(),
        q: z.string().min(1).max(30).optional().describe('name prefix, or an 11-digit mobile number'),
        gridId: z.coerce.number().int().optional(), communityId: z.coerce.number().int().optional(), streetId: z.coerce.number().int().optional(),
        householdId: z.coerce.number().int().optional(),
        tag: z.enum(svc.ALL_TAGS).optional(),
        status: z.enum(['active', 'provisional', 'merged', 'deceased']).optional(),
      }),
      response: { 200: pageResponse(ResidentSummary), ...errorResponses },
    },
  }, async (req) => {
    const p = requirePrincipal(req);
    return svc.searchResidents(db, keys, p, req.query, auditContext(req));
  });

  app.get('/residents/:id', { schema: { tags, summary: 'One resident (403 outside the caller’s scope)', params: IdParam, response: { 200: ResidentDetail, ...errorResponses } } }, async (req) => {
    const p = requirePrincipal(req);
    const attempt = { action: 'read', resourceType: 'Resident', resourceId: req.params.id, residentId: req.params.id } as const;
    const r = await auditingRefusal(db, req, attempt, () => svc.getResident(db, p, req.params.id));
    await audit(db, auditContext(req), attempt);
    return r;
  });

  app.get('/residents/:id/care-chain', { schema: { tags, summary: 'Grid → community health centre → consortium → partner hospital → family-doctor team', params: IdParam, response: { 200: CareChain.nullable(), ...errorResponses } } }, async (req) => {
    const p = requirePrincipal(req);
    const attempt = { action: 'read', resourceType: 'CareChain', resourceId: req.params.id, residentId: req.params.id } as const;
    const r = await auditingRefusal(db, req, attempt, () => svc.getResidentRow(db, p, req.params.id));
    await audit(db, auditContext(req), attempt);
    return r.grid_id ? careChainForGrid(db, r.grid_id) : null;
  });

  app.post('/residents/:id/reveal-id', {
    schema: { tags, summary: 'Reveal the identity number in full (audited with the stated purpose)', params: IdParam, body: z.object({ purpose: z.string().trim().min(2).max(200) }), response: { 200: z.object({ idNumber: z.string().nullable() }), ...errorResponses } },
  }, async (req) => {
    const p = requirePrincipal(req);
    const attempt = { action: 'reveal', resourceType: 'Resident.identifier', resourceId: req.params.id, residentId: req.params.id, purpose: req.body.purpose } as const;
    return auditingRefusal(db, req, attempt, () => db.tx(async (q) => {
      const idNumber = await svc.revealIdNumber(q, keys, p, req.params.id);
      await audit(q, auditContext(req), attempt);
      return { idNumber };
    }));
  });

  app.post('/residents', {
    schema: {
      tags, summary: 'Register a resident, or match an institution’s record to one (by identity number, else name + birth date + sex + phone)',
      body: z.object({
        idNumber: z.string().max(30).nullable().optional(),
        name: z.string().trim().min(1).max(50),
        sex: z.enum(['male', 'female']),
        birthDate: isoDate,
        phone: phone.nullable().optional(),
        gridId: z.number().int().nullable().optional(),
        householdId: z.number().int().nullable().optional(),
        address: z.string().max(200).nullable().optional(),
        tags: z.array(z.enum(svc.STORED_TAGS)).optional(),
        sourceInstitutionId: z.number().int().nullable().optional(),
        sourceId: z.string().min(1).max(100).nullable().optional(),
      }),
      response: { 200: z.object({ outcome: z.enum(['matched', 'existing']), residentId: z.number() }), 201: z.object({ outcome: z.enum(['created', 'review']), residentId: z.number(), reviewId: z.number().optional() }), ...errorResponses },
    },
  }, async (req, reply) => {
    const p = requireRole(req, ...WRITERS);
    const body = { ...req.body, sourceInstitutionId: req.body.sourceInstitutionId ?? (req.body.sourceId ? p.tokenInstitutionId ?? p.institutionId : null) };
    assertActsForInstitution(p, body.sourceInstitutionId);
    const result = await withRetry(() => db.tx(async (q) => {
      const r = await svc.registerResident(q, keys, body);
      // The institution that registers (or matches) its patient treats them: the same care relationship a FHIR Patient
      // create gives, so its staff reach the resident through this API (records, diagnoses) as through FHIR.
      const own = p.tokenInstitutionId ?? p.institutionId;
      if (own) await ensureTreatmentRelationship(q, r.residentId, own, 'consultation', new Date());
      await audit(q, auditContext(req), { action: r.outcome === 'created' || r.outcome === 'review' ? 'create' : 'match', resourceType: 'Resident', resourceId: r.residentId, residentId: r.residentId });
      return r;
    }));
    reply.status(result.outcome === 'created' || result.outcome === 'review' ? 201 : 200);
    return result as any;
  });

  app.patch('/residents/:id', {
    schema: {
      tags, summary: 'Update contact, address, grid, household, tags or add the identity number (optimistic concurrency on `version`)', params: IdParam,
      body: z.object({
        version: z.number().int(),
        phone: phone.nullable().optional(), address: z.string().max(200).nullable().optional(),
        gridId: z.number().int().optional(), householdId: z.number().int().nullable().optional(),
        tags: z.array(z.enum(svc.STORED_TAGS)).optional(), idNumber: z.string().max(30).optional(),
      }),
      response: { 200: ResidentDetail, ...errorResponses },
    },
  }, async (req) => {
    const p = requireRole(req, ...WRITERS);
    if (p.tokenInstitutionId !== null) throw new AppError('FORBIDDEN');
    const attempt = { action: 'update', resourceType: 'Resident', resourceId: req.params.id, residentId: req.params.id } as const;
    return auditingRefusal(db, req, attempt, () => db.tx(async (q) => {
      const r = await svc.updateResident(q, keys, p, req.params.id, req.body);
      await audit(q, auditContext(req), attempt);
      return r;
    }));
  });

  app.get('/households/:id', {
    schema: { tags, summary: 'A household and the members the caller may see', params: IdParam, response: { 200: z.object({ id: z.number(), address: z.string(), gridId: z.number(), gridName: z.string(), members: z.array(ResidentSummary) }), ...errorResponses } },
  }, async (req) => {
    const p = requirePrincipal(req);
    const h = await auditingRefusal(db, req, { action: 'read', resourceType: 'Household', resourceId: req.params.id }, () => svc.getHousehold(db, p, req.params.id));
    await auditResidents(db, auditContext(req), 'read', h.members.map((m) => m.id), 'Household');
    return h;
  });

  app.post('/households', {
    schema: { tags, summary: 'Register a household (户) at an address in a grid', body: z.object({ gridId: z.number().int(), address: z.string().trim().min(2).max(200) }), response: { 201: z.object({ id: z.number() }), ...errorResponses } },
  }, async (req, reply) => {
    requireRole(req, ...WRITERS);
    const id = await db.tx((q) => svc.createHousehold(q, req.body));
    return reply.status(201).send({ id });
  });

  app.get('/match-reviews', {
    schema: { tags, summary: 'Doubtful matches waiting for a decision', querystring: PageQuery.extend({ status: z.enum(['pending', 'merged', 'distinct']).default('pending') }), response: { 200: pageResponse(z.any()), ...errorResponses } },
  }, async (req) => {
    const p = requireRole(req, 'district_admin', 'institution_admin');
    const result = await svc.listReviews(db, p, req.query);
    await auditResidents(db, auditContext(req), 'list', result.items.flatMap((i) => [i.incoming.id, i.candidate.id]), 'MatchReview');
    return result;
  });

  app.post('/match-reviews/:id/decision', {
    schema: { tags, summary: 'Merge the two records, or mark them as different people', params: IdParam, body: z.object({ decision: z.enum(['merge', 'distinct']) }), response: { 200: z.object({ id: z.number(), status: z.string(), mergeId: z.number().nullable(), residentId: z.number(), candidateId: z.number() }), ...errorResponses } },
  }, async (req) => {
    const p = requireRole(req, 'district_admin', 'institution_admin');
    return db.tx(async (q) => {
      const d = await svc.decideReview(q, p, req.params.id, req.body.decision);
      for (const residentId of [d.candidateId, d.residentId]) {
        await audit(q, auditContext(req), { action: req.body.decision === 'merge' ? 'merge' : 'review', resourceType: 'MatchReview', resourceId: d.id, residentId });
      }
      return d;
    });
  });

  app.post('/residents/:id/merge', {
    schema: { tags, summary: 'Merge a duplicate record into this resident (reversible)', params: IdParam, body: z.object({ duplicateId: z.number().int(), reason: z.string().trim().min(2).max(200) }), response: { 200: Merge, ...errorResponses } },
  }, async (req) => {
    const p = requireRole(req, 'district_admin');
    return db.tx(async (q) => {
      const m = await svc.mergeResidents(q, p.userId, req.params.id, req.body.duplicateId, req.body.reason);
      await audit(q, auditContext(req), { action: 'merge', resourceType: 'Resident', resourceId: m.mergedId, residentId: m.survivorId, purpose: req.body.reason });
      await audit(q, auditContext(req), { action: 'merge', resourceType: 'Resident', resourceId: m.mergedId, residentId: m.mergedId, purpose: req.body.reason });
      return m;
    });
  });

  app.post('/merges/:id/undo', { schema: { tags, summary: 'Reverse a merge', params: IdParam, response: { 200: Merge, ...errorResponses } } }, async (req) => {
    const p = requireRole(req, 'district_admin');
    return db.tx(async (q) => {
      const m = await svc.undoMerge(q, p.userId, req.params.id);
      await audit(q, auditContext(req), { action: 'unmerge', resourceType: 'Resident', resourceId: m.mergedId, residentId: m.survivorId });
      await audit(q, auditContext(req), { action: 'unmerge', resourceType: 'Resident', resourceId: m.mergedId, residentId: m.mergedId });
      return m;
    });
  });
}
