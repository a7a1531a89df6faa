// Alerts HTTP API (多点触发预警): the CDC's inbox and alert detail, the workflow actions, the fusion rules a district
// admin edits, and the response metrics. Thin: alerts.ts decides everything.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../../context.ts';
import { withRetry } from '../../db/engine.ts';
import { IdParam, PageQuery, auditContext, errorResponses, pageResponse, requirePrincipal, IsoDate } from '../../platform/http.ts';
import { ALERT_ACTIONS, ALERT_STATES, act, alertMetrics, assertCanRead, getAlert, listAlerts, listRules, putRule, registerAlertHooks } from './alerts.ts';
import { RISK_LEVELS, RULE_KINDS } from './fusion.ts';

/** `a,b` or a single value, each from `values`. */
const listOf = <T extends readonly [string, ...string[]]>(values: T) => {
  const split = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
  return z.string()
    .refine((s) => split(s).length > 0 && split(s).every((x) => (values as readonly string[]).includes(x)), `one or more of ${values.join(', ')}, comma-separated`)
    .transform((s) => split(s) as T[number][]);
};

const Named = z.object({ id: z.number(), name: z.string() });
const AlertItem = z.object({
  id: z.number(), version: z.number(), state: z.enum(ALERT_STATES), riskLevel: z.enum(RISK_LEVELS), syndrome: z.string(),
  rule: z.object({ id: z.number(), code: z.string(), version: z.number(), kind: z.enum(RULE_KINDS), name: z.string(), nameEn: z.string() }),
  communities: z.array(z.object({ id: z.number(), name: z.string(), nameEn: z.string().nullable() })),
  firstDate: z.string(), lastDate: z.string(), sources: z.array(z.string()), signalCount: z.number(), caseReportCount: z.number(), diseaseCode: z.string().nullable(),
  assignee: Named.nullable(), createdAt: z.string(), updatedAt: z.string(), reviewedAt: z.string().nullable(), investigatingAt: z.string().nullable(), closedAt: z.string().nullable(),
  actions: z.array(z.enum(ALERT_ACTIONS)),
});
const Coded = z.object({ code: z.string(), name: z.string(), nameEn: z.string() });
const AlertDetail = AlertItem.extend({
  rule: AlertItem.shape.rule.extend({ params: z.unknown(), riskLevel: z.enum(RISK_LEVELS) }),
  /** a rule combining the sources' evidence: each independence group's strongest signal and Fisher's combination */
  evidence: z.object({
    groups: z.array(z.object({ group: z.string(), source: z.string(), signalId: z.number(), algorithm: z.string(), date: z.string(), pValue: z.number().nullable() })),
    statistic: z.number(), df: z.number(), pValue: z.number(), days: z.number(),
  }).nullable(),
  signals: z.array(z.object({
    id: z.number(), algorithm: z.string(), source: Coded, category: Coded, syndrome: z.string(), communityId: z.number(), communityIds: z.array(z.number()),
    startDate: z.string(), date: z.string(), observed: z.number(), expected: z.number().nullable(), threshold: z.number().nullable(), statistic: z.number().nullable(),
    pValue: z.number().nullable(), high: z.boolean(), support: z.boolean().describe("a sub-threshold score that supported the alert (multi_source supportP), not an alarm"),
    series: z.object({
      frequency: z.enum(['daily', 'weekly']), points: z.array(z.object({ date: z.string(), value: z.number() })),
      alarms: z.array(z.object({ date: z.string(), algorithm: z.string(), observed: z.number(), threshold: z.number().nullable() })),
    }),
  })),
  caseReports: z.array(z.object({
    id: z.number(), disease: z.object({ code: z.string(), name: z.string(), nameEn: z.string(), class: z.string(), managedAsA: z.boolean() }), communityId: z.number(),
    caseClass: z.string(), diagnosedAt: z.string(), reportedAt: z.string(), late: z.boolean(),
  })),
  events: z.array(z.object({ id: z.number(), action: z.string(), fromState: z.string().nullable(), toState: z.string().nullable(), at: z.string(), note: z.string().nullable(), user: Named.nullable() })),
});
const Rule = z.object({
  id: z.number(), code: z.string(), version: z.number(), name: z.string(), nameEn: z.string(), kind: z.enum(RULE_KINDS), params: z.unknown(),
  riskLevel: z.enum(RISK_LEVELS), active: z.boolean(), createdAt: z.string(), createdBy: z.string().nullable(),
});
const Stats = z.object({ median: z.number().nullable(), mean: z.number().nullable() });
const Metrics = z.object({
  closed: z.number(), closedTrue: z.number(), closedFalse: z.number(), truePositiveRate: z.number().nullable(),
  hoursToReview: Stats, hoursToInvestigate: Stats, hoursToClose: Stats,
  byRule: z.array(z.object({ ruleCode: z.string(), closed: z.number(), closedTrue: z.number(), closedFalse: z.number() })),
});
const note = z.string().trim().min(1).max(5000);
const version = z.number().int().positive().describe('the alert version you saw (409 STALE_VERSION when it changed meanwhile)');

/** The body of each action: what it needs besides the alert. */
const ACTION_BODIES = {
  review: z.object({ version, note: note.optional(), assigneeId: z.number().int().positive().optional() }).strict(),
  investigate: z.object({ version, note: note.describe('the investigation opened (流调记录): who, where, first findings'), assigneeId: z.number().int().positive().optional() }).strict(),
  close: z.object({ version, outcome: z.enum(['true', 'false']).describe('true alarm (a real event) or false alarm'), note: note.describe('the conclusion') }).strict(),
  assign: z.object({ version, assigneeId: z.number().int().positive(), note: note.optional() }).strict(),
  note: z.object({ note, version: z.number().int().positive().optional() }).strict(),
} as const;
const SUMMARIES: Record<keyof typeof ACTION_BODIES, string> = {
  review: 'Start reviewing a new alert (核实): under_review; the reviewer becomes the assignee unless one is named',
  investigate: 'Open an investigation (流调) for an alert under review: investigating, with the investigation as a note',
  close: 'Close an alert under review or investigation as a true or a false alarm, with the conclusion',
  assign: 'Assign an open alert to a CDC epidemiologist or investigator (they are notified)',
  note: 'Add a note to the alert’s history (investigators too); the alert itself does not change',
};

export async function alertRoutes(fastify: FastifyInstance, ctx: AppContext) {
  registerAlertHooks();
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { db } = ctx;
  const tags = ['surveillance'];

  app.get('/surveillance/alerts', {
    schema: {
      tags, summary: 'The alert inbox (CDC epidemiologists, investigators, district admin): highest risk and latest evidence first, or newest first',
      querystring: PageQuery.extend({
        state: listOf(ALERT_STATES).optional().describe('one state or several, comma-separated'),
        risk: listOf(RISK_LEVELS).optional().describe('one risk level or several, comma-separated'),
        syndrome: z.string().max(40).optional(), regionId: z.coerce.number().int().positive().optional().describe('a community, or a street (its communities)'),
        ruleCode: z.string().max(60).optional(), assigneeId: z.coerce.number().int().positive().optional(),
        from: IsoDate.optional().describe('alerts with evidence on or after this day'), to: IsoDate.optional().describe('alerts with evidence on or before this day'),
        sort: z.enum(['risk', 'newest']).default('risk'),
      }),
      response: { 200: pageResponse(AlertItem), ...errorResponses },
    },
  }, async (req) => listAlerts(db, requirePrincipal(req), req.query));

  app.get('/surveillance/alerts/:id', {
    schema: {
      tags, summary: 'One alert: its rule and version, communities, every contributing signal with its series over the last 8 weeks and thresholds, case reports (without identity) and history',
      params: IdParam, response: { 200: AlertDetail, ...errorResponses },
    },
  }, async (req) => db.tx((q) => getAlert(q, requirePrincipal(req), req.params.id, auditContext(req))));

  for (const action of ALERT_ACTIONS) {
    app.post(`/surveillance/alerts/:id/${action}`, {
      schema: { tags, summary: SUMMARIES[action], params: IdParam, body: ACTION_BODIES[action], response: { 200: AlertItem, ...errorResponses } },
    }, async (req) => {
      const p = requirePrincipal(req);
      const body = req.body as z.infer<(typeof ACTION_BODIES)[typeof action]>;
      const out = await withRetry(() => db.tx((q) => act(q, p, req.params.id, { action, ...body })));
      ctx.jobs.kickWebhooks();
      return out;
    });
  }

  app.get('/surveillance/alert-metrics', {
    schema: {
      tags, summary: 'Response to alerts closed in a period: true and false alarms, hours to review, to investigation and to closing (median and mean)',
      querystring: z.object({ from: IsoDate.optional(), to: IsoDate.optional(), ruleCode: z.string().max(60).optional() }),
      response: { 200: Metrics, ...errorResponses },
    },
  }, async (req) => {
    assertCanRead(requirePrincipal(req));
    return alertMetrics(db, req.query);
  });

  app.get('/surveillance/fusion-rules', {
    schema: {
      tags, summary: 'Fusion rules (多点触发规则): each rule’s latest version, or with history=true every version',
      querystring: z.object({ history: z.enum(['true', 'false']).optional().transform((v) => v === 'true') }),
      response: { 200: z.array(Rule), ...errorResponses },
    },
  }, async (req) => listRules(db, requirePrincipal(req), { history: req.query.history }));

  app.put('/surveillance/fusion-rules/:code', {
    schema: {
      tags, summary: 'Edit a fusion rule (district admin): a new version replaces the active one; a new code creates a rule. Parameters are checked per kind',
      params: z.object({ code: z.string().regex(/^[a-z][a-z0-9_]{1,59}$/, 'lower-case letters, digits and _') }),
      body: z.object({
        version: z.number().int().positive().optional().describe('the version you edited; omit for a new code'),
        kind: z.enum(RULE_KINDS).optional(), name: z.string().trim().min(1).max(200).optional(), nameEn: z.string().trim().min(1).max(200).optional(),
        params: z.record(z.string(), z.unknown()).describe('multi_source: minSources, windowDays, adjacency (same|adjacent), minObserved, strongFactor, maxCombinedP, minDays, supportP; high_threshold: factor, minObserved, maxP; case_report_class: classes, managedAsA'),
        riskLevel: z.enum(RISK_LEVELS), active: z.boolean().optional(),
      }).strict(),
      response: { 200: Rule, ...errorResponses },
    },
  }, async (req) => withRetry(() => db.tx((q) => putRule(q, requirePrincipal(req), req.params.code, req.body))));
}
