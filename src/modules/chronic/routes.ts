// Chronic-disease management HTTP API (慢病管理): programmes and their versioned rules, enrolments (recording a
// diagnosis enrols), follow-ups classified by the rules. The worklist is the family-doctor module's.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../../context.ts';
import type { Queryable } from '../../db/engine.ts';
import { withRetry } from '../../db/engine.ts';
import type * as repo from '../../fhir/repository.ts';
import { IdParam, auditContext, errorResponses, requirePrincipal, requireRole } from '../../platform/http.ts';
import './fusion.ts'; // registers the hooks that enrol residents and create tasks from what institutions record
import { endEnrolment, enrolmentsOf, recordDiagnosis } from './enrolments.ts';
import { ADHERENCE, MODES, SALT, followUpsOf, recordFollowUp } from './follow-ups.ts';
import { currentProgrammes, invalidateProgrammes, ruleVersions, setRules } from './programmes.ts';
import { CLASSIFICATIONS } from './rules.ts';
import { chronicCare, chronicReadings } from './resident-view.ts';
import { ESCALATED_CODES, escalationRules, runEscalations, setEscalationRule } from './escalation.ts';

const Reading = z.object({ value: z.number(), at: z.string(), institutionId: z.number(), institutionName: z.string().nullable() }).nullable();
export const Readings = z.object({ sbp: Reading, dbp: Reading, fpg: Reading, glucose: Reading, heartRate: Reading });
const Enrolment = z.object({
  id: z.number(), version: z.number(), residentId: z.number(), programme: z.string(), programmeName: z.string(), status: z.string(), source: z.string(), conditionId: z.number().nullable(),
  diagnosis: z.object({ system: z.string(), code: z.string() }).nullable(), institutionId: z.number(), startedAt: z.string(), endedAt: z.string().nullable(),
  nextDueAt: z.string().nullable(), nextTaskId: z.number().nullable(), lastFollowUpAt: z.string().nullable(), lastClassification: z.string().nullable(), uncontrolledStreak: z.number(),
});
const ReasonSchema = z.object({ kind: z.string(), measure: z.string().optional(), value: z.number().optional(), rule: z.string().optional(), sign: z.string().optional(), count: z.number().optional() });
const FollowUp = z.object({
  id: z.number(), enrolmentId: z.number(), residentId: z.number(), programme: z.string(), ruleVersion: z.number(), visitAt: z.string(), mode: z.string(), institutionId: z.number(),
  sbp: z.number().nullable(), dbp: z.number().nullable(), fpg: z.number().nullable(), heartRate: z.number().nullable(), weightKg: z.number().nullable(), heightCm: z.number().nullable(), bmi: z.number().nullable(),
  symptoms: z.array(z.string()), adherence: z.string().nullable(), adverseReaction: z.boolean(), newComplication: z.boolean(),
  medications: z.array(z.object({ name: z.string(), dose: z.string().nullable().optional() })), lifestyle: z.record(z.string(), z.unknown()), note: z.string().nullable(),
  classification: z.enum(CLASSIFICATIONS), danger: z.boolean(), reasons: z.array(ReasonSchema), referral: z.enum(['urgent']).nullable(),
  nextDueAt: z.string(), closedTaskIds: z.array(z.number()), nextTaskId: z.number().nullable(), encounterId: z.number().nullable(), sessionId: z.number().nullable(),
});
const ResidentCare = z.object({
  residentId: z.number(), enrolments: z.array(Enrolment),
  openTasks: z.array(z.object({
    id: z.number(), kind: z.string(), priority: z.string(), status: z.string(), dueAt: z.string().nullable(), overdue: z.boolean(), description: z.string().nullable(), enrolmentId: z.number().nullable(),
    source: z.object({ institutionId: z.number(), institutionName: z.string() }), team: z.object({ id: z.number(), name: z.string() }).nullable(),
  })),
  lastReadings: Readings, medications: z.array(z.object({ name: z.string(), dose: z.string().nullable() })), lastFollowUp: FollowUp.nullable(),
});
const ReadingPoint = z.object({ at: z.string(), sbp: z.number().nullable(), dbp: z.number().nullable(), glucose: z.number().nullable(), fasting: z.boolean(), institutionId: z.number(), institutionName: z.string().nullable() });
const EscalationRule = z.object({ taskCode: z.enum(ESCALATED_CODES), leadAfterHours: z.number(), adminAfterHours: z.number(), active: z.boolean(), updatedAt: z.string() });
const Programme = z.object({ code: z.string(), name: z.string(), nameEn: z.string().nullable(), icd10Prefixes: z.array(z.string()), active: z.boolean(), version: z.number(), rules: z.unknown() });

export async function chronicRoutes(fastify: FastifyInstance, ctx: AppContext) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { db, keys } = ctx;
  const tags = ['chronic'];
  const rc = (req: FastifyRequest, q: Queryable): repo.RequestContext => ({ q, keys, principal: requirePrincipal(req), audit: auditContext(req), base: `${req.protocol}://${req.host}/fhir/R4` });

  app.get('/chronic/programmes', {
    schema: { tags, summary: 'Programmes with their current rules (version)', response: { 200: z.object({ items: z.array(Programme) }), ...errorResponses } },
  }, async (req) => {
    requirePrincipal(req);
    return { items: await currentProgrammes(db) };
  });

  app.get('/chronic/programmes/:code/rules', {
    schema: { tags, summary: 'Every version of a programme’s rules, newest first', params: z.object({ code: z.string().max(40) }), response: { 200: z.object({ items: z.array(z.object({ version: z.number(), rules: z.unknown(), note: z.string().nullable(), createdAt: z.string(), createdBy: z.string().nullable() })) }), ...errorResponses } },
  }, async (req) => {
    requirePrincipal(req);
    return { items: await ruleVersions(db, req.params.code) };
  });

  app.put('/chronic/programmes/:code/rules', {
    schema: {
      tags, summary: 'A new version of a programme’s rules (district administrator); earlier evaluations keep the version they used',
      params: z.object({ code: z.string().max(40) }), body: z.object({ rules: z.record(z.string(), z.unknown()), note: z.string().max(500).nullable().optional() }).strict(),
      response: { 200: z.object({ programme: z.string(), version: z.number() }), ...errorResponses },
    },
  }, async (req) => {
    const p = requireRole(req, 'district_admin');
    const version = await db.tx((q) => setRules(q, req.params.code, req.body.rules, req.body.note ?? null, p.userId));
    invalidateProgrammes(); // again after the commit: a read in between may have cached the old version
    return { programme: req.params.code, version };
  });

  app.post('/chronic/enrolments', {
    schema: {
      tags, summary: 'Record a hypertension (ICD-10 I10–I15) or type 2 diabetes (E11) diagnosis for a resident: it enrols them (once) as every institution’s diagnosis does',
      body: z.object({
        residentId: z.number().int().positive(), code: z.string().trim().min(3).max(20).describe('ICD-10, e.g. I10 or E11.900'),
        system: z.string().max(200).optional().describe('http://hl7.org/fhir/sid/icd-10 (default) or the Chinese national edition https://caregrid.dev/fhir/CodeSystem/icd-10-cn'),
        display: z.string().max(200).nullable().optional(), sourceId: z.string().trim().min(1).max(200).nullable().optional(),
      }).strict(),
      response: { 200: z.object({ conditionId: z.number(), enrolments: z.array(Enrolment.extend({ created: z.boolean() })) }), 201: z.object({ conditionId: z.number(), enrolments: z.array(Enrolment.extend({ created: z.boolean() })) }), ...errorResponses },
    },
  }, async (req, reply) => {
    const out = await withRetry(() => db.tx((q) => recordDiagnosis(rc(req, q), req.body)));
    return reply.status(out.enrolments.some((e) => e.created) ? 201 : 200).send(out);
  });

  app.get('/chronic/enrolments', {
    schema: { tags, summary: 'A resident’s enrolments', querystring: z.object({ residentId: z.coerce.number().int().positive() }), response: { 200: z.object({ items: z.array(Enrolment) }), ...errorResponses } },
  }, async (req) => ({ items: await db.tx((q) => enrolmentsOf(rc(req, q), req.query.residentId)) }));

  app.post('/chronic/enrolments/:id/end', {
    schema: {
      tags, summary: 'End an enrolment (finished: moved away, died…; entered-in-error: the diagnosis was wrong); its open tasks are cancelled', params: IdParam,
      body: z.object({ status: z.enum(['finished', 'entered-in-error']), reason: z.string().trim().min(1).max(500), version: z.number().int().positive().optional() }).strict(),
      response: { 200: Enrolment, ...errorResponses },
    },
  }, async (req) => withRetry(() => db.tx((q) => endEnrolment(rc(req, q), req.params.id, req.body))));

  const num = (min: number, max: number) => z.number().min(min).max(max).optional();
  app.post('/chronic/follow-ups', {
    schema: {
      tags, summary: 'Record a follow-up: classified by the programme’s rules; closes the due task and schedules the next',
      body: z.object({
        enrolmentId: z.number().int().positive(), visitAt: z.string().datetime({ offset: true }).optional(), mode: z.enum(MODES),
        sbp: num(40, 300), dbp: num(20, 200), fpg: num(0.5, 50).describe('fasting glucose, mmol/L'), heartRate: num(20, 250), weightKg: num(2, 400), heightCm: num(30, 250),
        symptoms: z.array(z.string().regex(/^[a-z][a-z0-9_]{1,59}$/)).max(30).optional().describe('codes; the programme’s dangerSigns are danger signs'),
        adherence: z.enum(ADHERENCE).optional(), adverseReaction: z.boolean().optional(), newComplication: z.boolean().optional(),
        medications: z.array(z.object({ name: z.string().trim().min(1).max(200), dose: z.string().max(200).nullable().optional() }).strict()).max(30).optional(),
        lifestyle: z.object({
          smokingPerDay: num(0, 200), drinkingPerDay: num(0, 5000).describe('ml'), exerciseTimesPerWeek: num(0, 50), exerciseMinutes: num(0, 1000),
          salt: z.enum(SALT).optional(), targetWeightKg: num(2, 400),
        }).strict().optional(),
        note: z.string().max(2000).nullable().optional(), sourceId: z.string().trim().min(1).max(200).nullable().optional(),
        sessionId: z.number().int().positive().nullable().optional().describe('the health-post session (健康驿站) the visit was made at (mode health_post, on its date)'),
      }).strict(),
      response: { 200: FollowUp, 201: FollowUp, ...errorResponses },
    },
  }, async (req, reply) => {
    const out = await withRetry(() => db.tx((q) => recordFollowUp(rc(req, q), req.body)));
    return reply.status(out.created ? 201 : 200).send(out.followUp);
  });

  app.get('/chronic/enrolments/:id/follow-ups', {
    schema: { tags, summary: 'Follow-ups of an enrolment, newest first', params: IdParam, response: { 200: z.object({ items: z.array(FollowUp) }), ...errorResponses } },
  }, async (req) => ({ items: await db.tx((q) => followUpsOf(rc(req, q), req.params.id)) }));

  app.get('/chronic/residents/:id', {
    schema: {
      tags, summary: 'A resident’s chronic-disease care: enrolments, open tasks, last readings (any institution) and medications, the last follow-up — what the follow-up form is pre-filled with',
      params: IdParam, response: { 200: ResidentCare, ...errorResponses },
    },
  }, async (req) => db.tx((q) => chronicCare(rc(req, q), req.params.id)));

  app.get('/chronic/residents/:id/readings', {
    schema: {
      tags, summary: 'Blood pressure and glucose readings from every institution, oldest first (for trend charts)', params: IdParam,
      querystring: z.object({ since: z.string().datetime({ offset: true }).optional() }),
      response: { 200: z.object({ items: z.array(ReadingPoint) }), ...errorResponses },
    },
  }, async (req) => db.tx((q) => chronicReadings(rc(req, q), req.params.id, req.query.since ? new Date(req.query.since) : null)));
  app.get('/chronic/escalation-rules', {
    schema: { tags, summary: 'Escalation delays of overdue tasks per task code: to the team lead, then to the centre’s administrator', response: { 200: z.object({ items: z.array(EscalationRule) }), ...errorResponses } },
  }, async (req) => {
    requirePrincipal(req);
    return { items: await escalationRules(db) };
  });

  app.put('/chronic/escalation-rules/:taskCode', {
    schema: {
      tags, summary: 'Change a task code’s escalation delays (district administrator)', params: z.object({ taskCode: z.string().max(40) }),
      body: z.object({
        leadAfterHours: z.number().int().min(0).max(8784).describe('hours past the due time before the team lead is told'),
        adminAfterHours: z.number().int().min(1).max(8784).describe('hours after that before the centre’s administrators are'), active: z.boolean().optional(),
      }).strict(),
      response: { 200: EscalationRule, ...errorResponses },
    },
  }, async (req) => {
    const p = requireRole(req, 'district_admin');
    return db.tx((q) => setEscalationRule(q, req.params.taskCode, req.body, p.userId));
  });

  app.post('/chronic/escalations/run', {
    schema: {
      tags, summary: 'Run the escalation job now (district administrator; it also runs every few minutes)',
      response: { 200: z.object({ lead: z.number(), admin: z.number(), notified: z.number() }), ...errorResponses },
    },
  }, async (req) => {
    requireRole(req, 'district_admin');
    return runEscalations(db);
  });
}
