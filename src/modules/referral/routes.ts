// Two-way referral HTTP API: slot pools published by hospitals' referral desks, and booking/cancelling their slots.
// Booking goes through the FHIR Appointment kind, so REST and FHIR clients share one rule for taken and reserved
// slots (fhir/resources/booking.ts) and one audit trail.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../../context.ts';
import type { Queryable } from '../../db/engine.ts';
import { withRetry } from '../../db/engine.ts';
import { IdParam, PageQuery, auditContext, errorResponses, pageResponse, requirePrincipal } from '../../platform/http.ts';
import * as repo from '../../fhir/repository.ts';
import { viaService } from '../../fhir/resources/common.ts';
import * as svc from './service.ts';

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'YYYY-MM-DD');
const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM');

const Pool = z.object({
  id: z.number(), institutionId: z.number(), institutionName: z.string(), department: z.string().nullable(), practitionerId: z.number().nullable(),
  practitionerName: z.string().nullable(), start: z.string(), end: z.string(), reservedShare: z.number(), releaseHours: z.number(), comment: z.string().nullable(),
  capacity: z.number(), free: z.number(), booked: z.number(), reserved: z.number(), reservedFree: z.number(), released: z.number(),
});
const SlotItem = z.object({ id: z.number(), start: z.string(), end: z.string(), status: z.string(), reservedFor: z.string().nullable(), releaseAt: z.string().nullable(), releasedAt: z.string().nullable() });
const Booking = z.object({ appointmentId: z.number(), slotId: z.number(), residentId: z.number(), status: z.string(), start: z.string().nullable(), end: z.string().nullable() });

/** Field names of the Appointment's FHIR elements in this API's bodies. */
const FIELDS = { 'Appointment.slot[0]': 'slotId', 'Appointment.slot[0].reference': 'slotId', 'Appointment.participant[0].actor.reference': 'residentId', 'Appointment.basedOn[0].reference': 'serviceRequestId' };

export async function referralRoutes(fastify: FastifyInstance, ctx: AppContext) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { db, keys } = ctx;
  const tags = ['referral'];

  const fhirContext = (req: FastifyRequest, q: Queryable): repo.RequestContext => ({
    q, keys, principal: requirePrincipal(req), audit: auditContext(req), base: `${req.protocol}://${req.host}/fhir/R4`,
  });

  app.post('/slot-pools', {
    schema: {
      tags, summary: 'Publish a slot pool (号源池): a specialist session with a share of its slots reserved for primary care (referral desk or hospital administrator)',
      body: z.object({
        institutionId: z.number().int().positive().optional().describe('the hospital; a desk or administrator publishes for their own'),
        department: z.string().trim().min(1).max(100),
        practitionerId: z.number().int().positive().nullable().optional(),
        date: isoDate, startTime: clock, endTime: clock,
        slotMinutes: z.number().int().min(5).max(480).optional(),
        capacity: z.number().int().min(1).max(500).optional(),
        reservedShare: z.number().min(0).max(1).optional().describe('share reserved for referrals from primary care (default 0.3)'),
        releaseHours: z.number().int().min(0).max(720).optional().describe('reserved slots still free this many hours before the start become general (default 48)'),
        comment: z.string().max(1000).nullable().optional(),
      }),
      response: { 201: Pool.extend({ slots: z.array(SlotItem) }), ...errorResponses },
    },
  }, async (req, reply) => {
    const p = requirePrincipal(req);
    return reply.status(201).send(await db.tx((q) => svc.publishPool(q, p, req.body)));
  });

  app.get('/slot-pools', {
    schema: {
      tags, summary: 'Slot pools with their counts (free, booked, reserved still free, released), soonest first',
      querystring: PageQuery.extend({
        institutionId: z.coerce.number().int().optional(), department: z.string().max(100).optional(), practitionerId: z.coerce.number().int().optional(),
        from: isoDate.optional(), to: isoDate.optional(), hasFree: z.enum(['true', 'false']).optional().transform((v) => v === 'true'),
      }),
      response: { 200: pageResponse(Pool), ...errorResponses },
    },
  }, async (req) => {
    requirePrincipal(req);
    return svc.listPools(db, req.query);
  });

  app.get('/slot-pools/:id', {
    schema: { tags, summary: 'One slot pool and its slots', params: IdParam, response: { 200: Pool.extend({ slots: z.array(SlotItem) }), ...errorResponses } },
  }, async (req) => {
    requirePrincipal(req);
    await svc.releaseReservedSlots(db);
    return svc.getPool(db, req.params.id);
  });

  app.post('/slots/:id/appointments', {
    schema: {
      tags, summary: 'Book a slot for a resident (409 when it is taken, or reserved for primary care and the caller is not)', params: IdParam,
      body: z.object({ residentId: z.number().int().positive(), serviceRequestId: z.number().int().positive().optional(), description: z.string().max(1000).optional() }),
      response: { 201: Booking, ...errorResponses },
    },
  }, async (req, reply) => {
    const { residentId, serviceRequestId, description } = req.body;
    const out = await viaService(FIELDS, () => withRetry(() => db.tx(async (q) => {
      await svc.slotExists(q, req.params.id);
      return repo.create(fhirContext(req, q), 'Appointment', {
        resourceType: 'Appointment', status: 'booked', description,
        slot: [{ reference: `Slot/${req.params.id}` }],
        basedOn: serviceRequestId ? [{ reference: `ServiceRequest/${serviceRequestId}` }] : undefined,
        participant: [{ actor: { reference: `Patient/${residentId}` }, status: 'accepted' }],
      });
    })));
    return reply.status(201).send(bookingOf(out.resource));
  });

  app.post('/appointments/:id/cancel', {
    schema: { tags, summary: 'Cancel an appointment: its slot is free again', params: IdParam, response: { 200: Booking, ...errorResponses } },
  }, async (req) => {
    const out = await withRetry(() => db.tx(async (q) => {
      const rc = fhirContext(req, q);
      const current = await repo.read(rc, 'Appointment', req.params.id);
      return repo.update(rc, 'Appointment', req.params.id, { ...current, status: 'cancelled' }, null);
    }));
    return bookingOf(out.resource);
  });
}

type Json = Record<string, any>;
const idIn = (ref: string | undefined) => Number(/\/(\d+)$/.exec(ref ?? '')?.[1] ?? 0);

function bookingOf(a: Json) {
  return {
    appointmentId: Number(a.id), slotId: idIn(a.slot?.[0]?.reference), residentId: idIn(a.participant?.[0]?.actor?.reference),
    status: a.status, start: a.start ? new Date(a.start).toISOString() : null, end: a.end ? new Date(a.end).toISOString() : null,
  };
}
