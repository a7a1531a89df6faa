// Two-way referral HTTP API: slot pools published by hospitals' referral desks, and booking/cancelling their slots.
// Booking goes through the FHIR Appointment kind, so REST and FHIR clients share one rule for taken and reserved
// slots (fhir/resources/booking.ts) and one audit trail.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../../context.ts';
import type { Queryable } from '../../db/engine.ts';
import { withRetry } from '../../db/engine.ts';
import { IdParam, PageQuery, auditContext, errorResponses, pageResponse, requirePrincipal, IsoDate } from '../../platform/http.ts';
import * as repo from '../../fhir/repository.ts';
import { viaService } from '../../fhir/resources/common.ts';
import * as svc from './service.ts';
import * as cases from './cases.ts';
import { kpiWorkbook, referralKpis } from './kpis.ts';
import { ACTIONS, STATES, URGENCIES } from './state.ts';

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

const Party = z.object({ institutionId: z.number(), institutionName: z.string() });
const ReferralItem = z.object({
  id: z.number(), version: z.number(), direction: z.enum(['up', 'down']), urgency: z.enum(URGENCIES), state: z.enum(STATES), stateReason: z.string().nullable(),
  resident: z.object({ id: z.number(), name: z.string(), sex: z.string(), birthDate: z.string(), idNumberMasked: z.string().nullable() }),
  source: Party.extend({ practitionerId: z.number().nullable(), practitionerName: z.string().nullable() }),
  target: Party.extend({ department: z.string().nullable(), teamId: z.number().nullable(), teamName: z.string().nullable() }),
  reason: z.string(), diagnosis: z.object({ code: z.string(), display: z.string().nullable() }).nullable(), summary: z.string().nullable(),
  attachments: z.array(z.object({ type: z.string(), id: z.number() })), medications: z.array(z.object({ name: z.string(), dose: z.string().nullable().optional() })).nullable(),
  followUpPlan: z.string().nullable(),
  appointment: z.object({ id: z.number(), slotId: z.number().nullable(), start: z.string().nullable(), status: z.string() }).nullable(),
  serviceRequestId: z.number(), taskId: z.number(), redirectedFrom: z.number().nullable(), redirectedTo: z.number().nullable(),
  dueAt: z.string().nullable(), expiresAt: z.string().nullable(), overdue: z.boolean(), escalatedAt: z.string().nullable(),
  requestedAt: z.string(), respondedAt: z.string().nullable(), scheduledAt: z.string().nullable(), arrivedAt: z.string().nullable(), completedAt: z.string().nullable(),
  closedAt: z.string().nullable(), endedAt: z.string().nullable(), resultSummary: z.string().nullable(), resultDocumentId: z.number().nullable(),
  followUpDueAt: z.string().nullable(), followedUpAt: z.string().nullable(), followUpNote: z.string().nullable(),
  side: z.enum(['source', 'target', 'system']).nullable(), actions: z.array(z.enum(ACTIONS)),
});
const ReferralDetail = ReferralItem.extend({
  events: z.array(z.object({ action: z.string(), fromState: z.string().nullable(), toState: z.string(), at: z.string(), note: z.string().nullable(), user: z.string().nullable() })),
});
const text = (max: number) => z.string().trim().min(1).max(max);

export async function referralRoutes(fastify: FastifyInstance, ctx: AppContext) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { db, keys } = ctx;
  const tags = ['referral'];

  const fhirContext = (req: FastifyRequest, q: Queryable): repo.RequestContext => ({
    q, keys, principal: requirePrincipal(req), audit: auditContext(req), base: `${req.protocol}://${req.host}/fhir/R4`,
  });

  // ── referral cases (转诊单) ──

  app.post('/referrals', {
    schema: {
      tags, summary: 'Create a referral: upward to a hospital (optionally booking a reserved slot in the same step) or downward from a hospital at discharge',
      body: z.object({
        direction: z.enum(['up', 'down']),
        residentId: z.number().int().positive(),
        targetInstitutionId: z.number().int().positive().optional().describe('upward: the hospital; downward: defaults to the community health centre of the resident’s team or grid'),
        targetDepartment: z.string().trim().max(100).nullable().optional(),
        urgency: z.enum(URGENCIES).optional().describe('routine (default), urgent, green_channel (绿色通道: the desk is told at once; no slot is needed)'),
        reason: text(2000),
        diagnosis: z.object({ code: z.string().trim().min(3).max(10), display: z.string().max(200).nullable().optional() }).nullable().optional().describe('ICD-10'),
        summary: z.string().max(20000).nullable().optional().describe('the referral letter, or the discharge summary going down'),
        attachments: z.array(z.object({ type: z.string(), id: z.number().int().positive() })).max(50).optional().describe('records of the shared health record sent along'),
        slotId: z.number().int().positive().optional(),
        medications: z.array(z.object({ name: text(200), dose: z.string().max(200).nullable().optional() })).max(50).optional(),
        followUpPlan: z.string().max(5000).nullable().optional(),
        followUpDays: z.number().int().min(1).max(90).optional().describe('downward: days the community team has to follow up (default 7)'),
        sourceId: z.string().trim().min(1).max(200).nullable().optional().describe('your own id of the referral: sending it again returns the same case'),
      }),
      response: { 200: ReferralItem, 201: ReferralItem, ...errorResponses },
    },
  }, async (req, reply) => {
    // no transaction around it: a creation is one read and one atomic write (see createReferral)
    const out = await withRetry(() => cases.createReferral(fhirContext(req, db), req.body));
    ctx.jobs.kickWebhooks();
    return reply.status(out.created ? 201 : 200).send(out.referral);
  });

  app.get('/referrals', {
    schema: {
      tags, summary: 'Referral worklists: inbox (sent to my institution), outbox (sent by it), or all of mine; the district admin sees every case',
      querystring: PageQuery.extend({
        box: z.enum(['inbox', 'outbox', 'all']).default('all'),
        state: z.string().optional().transform((v, c) => {
          const list = v ? v.split(',').map((x) => x.trim()).filter(Boolean) : [];
          for (const x of list) if (!(STATES as readonly string[]).includes(x)) c.addIssue({ code: 'custom', message: `unknown state ${x}` });
          return list as (typeof STATES)[number][];
        }).describe('comma-separated states'),
        direction: z.enum(['up', 'down']).optional(), urgency: z.enum(URGENCIES).optional(),
        overdue: z.enum(['true', 'false']).optional().transform((v) => v === 'true'),
        residentId: z.coerce.number().int().positive().optional(), from: IsoDate.optional(), to: IsoDate.optional(),
      }),
      response: { 200: pageResponse(ReferralItem).extend({ totalCapped: z.boolean().describe(`true when there are more than ${cases.COUNT_CAP} (total is then ${cases.COUNT_CAP})`) }), ...errorResponses },
    },
  }, async (req) => cases.listReferrals(fhirContext(req, db), req.query)); // one statement: no transaction needed

  app.get('/referrals/:id', {
    schema: { tags, summary: 'One referral with its history and the actions open to me', params: IdParam, response: { 200: ReferralDetail, ...errorResponses } },
  }, async (req) => db.tx((q) => cases.getReferral(fhirContext(req, q), req.params.id)));

  app.post('/referrals/:id/:action', {
    schema: {
      tags, summary: 'Move a referral on: accept, reject, redirect, schedule, arrive, complete, return-summary, cancel, no-show, follow-up (illegal moves: 409)',
      params: z.object({ id: z.coerce.number().int().positive(), action: z.enum(ACTIONS).refine((a) => a !== 'expire', 'expiry is the deadline job’s') }),
      body: z.object({
        version: z.number().int().positive().optional().describe('the version you saw; a case changed meanwhile is refused with 409'),
        note: z.string().max(2000).nullable().optional(), slotId: z.number().int().positive().optional(),
        targetInstitutionId: z.number().int().positive().optional(), targetDepartment: z.string().max(100).nullable().optional(),
        summary: z.string().max(20000).nullable().optional(), at: z.string().datetime({ offset: true }).optional(),
      }).default({}),
      response: { 200: ReferralItem, ...errorResponses },
    },
  }, async (req) => {
    const input = { ...req.body, action: req.params.action };
    // booking a slot for a case without one is one read and one atomic write (scheduleAtOnce); every other move, and a
    // booking that path hands back, is a transaction
    const out = await withRetry(async () => (input.action === 'schedule' ? await cases.scheduleAtOnce(fhirContext(req, db), req.params.id, input) : null)
      ?? db.tx((q) => cases.act(fhirContext(req, q), req.params.id, input)));
    ctx.jobs.kickWebhooks();
    return out;
  });

  app.get('/referral-targets', {
    schema: {
      tags, summary: 'Hospitals to refer a resident to: the consortium of their grid first, with departments that have free places reserved for primary care',
      querystring: z.object({ residentId: z.coerce.number().int().positive() }),
      response: {
        200: z.array(z.object({ institutionId: z.number(), name: z.string(), type: z.string(), inConsortium: z.boolean(), departments: z.array(z.object({ department: z.string(), reservedFree: z.number(), nextFree: z.string().nullable() })) })),
        ...errorResponses,
      },
    },
  }, async (req) => db.tx((q) => cases.suggestTargets(fhirContext(req, q), req.query.residentId)));

  const month = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'YYYY-MM');
  const KpiQuery = z.object({
    from: month, to: month, groupBy: z.enum(['institution', 'consortium']).default('institution'),
    institutionId: z.coerce.number().int().positive().optional(), consortiumId: z.coerce.number().int().positive().optional(),
  });
  const KpiRow = z.object({
    month: z.string(), unitId: z.number(), unitName: z.string(), upSent: z.number(), upReceived: z.number(), downSent: z.number(), downReceived: z.number(),
    answered: z.number(), medianAcceptanceHours: z.number().nullable(), reservedSlots: z.number(), reservedUsed: z.number(), reservedReleased: z.number(),
    reservedUsedRate: z.number().nullable(), reservedReleasedRate: z.number().nullable(), scheduled: z.number(), noShows: z.number(), noShowRate: z.number().nullable(),
    completedUp: z.number(), closedUp: z.number(), loopClosureRate: z.number().nullable(), downDue: z.number(), downInTime: z.number(), downInTimeRate: z.number().nullable(),
  });

  app.get('/referral-kpis', {
    schema: {
      tags, summary: 'Referral KPIs per month and institution or consortium: cases up and down, acceptance time, reserved slots used and released, no-shows, loop closure, down follow-up in time',
      querystring: KpiQuery, response: { 200: z.array(KpiRow), ...errorResponses },
    },
  }, async (req) => referralKpis(db, requirePrincipal(req), req.query));

  app.get('/referral-kpis.xlsx', {
    schema: { tags, summary: 'The same KPIs as an Excel workbook', querystring: KpiQuery },
  }, async (req, reply) => {
    const rows = await referralKpis(db, requirePrincipal(req), req.query);
    const body = await kpiWorkbook(rows, `双向转诊指标 Referral KPIs ${req.query.from} – ${req.query.to}`);
    const name = `referral-kpis-${req.query.from}-${req.query.to}.xlsx`;
    return reply.type('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')
      .header('content-disposition', `attachment; filename="${name}"`).header('cache-control', 'no-store').send(body);
  });

  app.post('/slot-pools', {
    schema: {
      tags, summary: 'Publish a slot pool (号源池): a specialist session with a share of its slots reserved for primary care (referral desk or hospital administrator)',
      body: z.object({
        institutionId: z.number().int().positive().optional().describe('the hospital; a desk or administrator publishes for their own'),
        department: z.string().trim().min(1).max(100),
        practitionerId: z.number().int().positive().nullable().optional(),
        date: IsoDate, startTime: clock, endTime: clock,
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
        from: IsoDate.optional(), to: IsoDate.optional(), hasFree: z.enum(['true', 'false']).optional().transform((v) => v === 'true'),
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
