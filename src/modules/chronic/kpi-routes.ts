// Family-doctor and chronic-disease KPIs HTTP API: the dashboard's read (one indexed range of precomputed rows), the
// same as an Excel workbook, and a recompute now (district administrator). Aggregates only: no personal data.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../../context.ts';
import { errorResponses, requirePrincipal, requireRole } from '../../platform/http.ts';
import { AppError } from '../../platform/errors.ts';
import { PERIOD_KINDS, livePeriods } from './kpi-periods.ts';
import { LEVELS, kpiWorkbook, periodOf, readKpis, recompute } from './kpis.ts';

const Rate = z.number().min(0).max(1).nullable();
const KeyPopulation = z.object({ population: z.number(), contracted: z.number(), coverage: Rate });
const Programme = z.object({ managed: z.number(), standardised: z.number(), standardisedRate: Rate, controlled: z.number(), controlRate: Rate });
const Figures = z.object({
  population: z.number(), contracted: z.number(), coverage: Rate,
  keyPopulations: z.object({
    elderly: KeyPopulation, hypertension: KeyPopulation, diabetes: KeyPopulation, pregnant: KeyPopulation,
    children: KeyPopulation, mental: KeyPopulation, disability: KeyPopulation, special: KeyPopulation,
  }),
  gps: z.number(), gpsPer10k: z.number().nullable(), hypertension: Programme, diabetes: Programme,
  followUpsDue: z.number(), followUpsOnTime: z.number(), timeliness: Rate,
  couponsIssued: z.number(), couponsUsed: z.number(),
});
const Level = z.enum(LEVELS);
const KpiResponse = z.object({
  period: z.object({ kind: z.enum(PERIOD_KINDS), label: z.string(), from: z.string(), to: z.string() }),
  computedAt: z.string(), computedThrough: z.string(), level: Level, parent: z.number().nullable(),
  rows: z.array(Figures.extend({ id: z.number(), name: z.string(), level: Level })),
  total: Figures.extend({ name: z.string().nullable(), level: Level.nullable() }),
});
const KpiQuery = z.object({
  level: Level.default('district').describe('district → street → community → grid; district → centre → team'),
  parent: z.coerce.number().int().positive().optional().describe('the parent unit: a region id, a centre (institution) id for teams; absent: every unit of the level in scope'),
  period: z.enum(PERIOD_KINDS).default('month'),
  at: z.string().max(10).describe('YYYY-MM, YYYY-Qn or YYYY (Beijing calendar)'),
});
const ComputeResult = z.object({ kind: z.enum(PERIOD_KINDS), label: z.string(), computedAt: z.string(), computedThrough: z.string(), rows: z.number(), seconds: z.number() });

export async function kpiRoutes(fastify: FastifyInstance, ctx: AppContext) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { db } = ctx;
  const tags = ['chronic'];

  app.get('/chronic/kpis', {
    schema: {
      tags, summary: 'Family-doctor and chronic-disease KPIs of one level under a parent for a month, quarter or year: contract coverage (overall and by key population), GPs per 10,000, standardised-management and control rates, follow-up timeliness, coupons (definitions: docs/api.md)',
      querystring: KpiQuery, response: { 200: KpiResponse, ...errorResponses },
    },
  }, async (req) => readKpis(db, requirePrincipal(req), req.query));

  app.get('/chronic/kpis.xlsx', {
    schema: { tags, summary: 'The same KPIs as an Excel workbook (the rows and their total)', querystring: KpiQuery },
  }, async (req, reply) => {
    const k = await readKpis(db, requirePrincipal(req), req.query);
    const body = await kpiWorkbook(k);
    return reply.type('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')
      .header('content-disposition', `attachment; filename="chronic-kpis-${k.level}-${k.period.label}.xlsx"`).header('cache-control', 'no-store').send(body);
  });

  app.post('/chronic/kpis/recompute', {
    schema: {
      tags, summary: 'Recompute now (district administrator): one period, or the live ones (this month, quarter and year, and the last ones for 10 days after they close)',
      body: z.object({ period: z.enum(PERIOD_KINDS), at: z.string().max(10) }).strict().partial().nullish(),
      response: { 200: z.object({ items: z.array(ComputeResult) }), ...errorResponses },
    },
  }, async (req) => {
    const p = requireRole(req, 'district_admin');
    if (p.tokenInstitutionId !== null) throw new AppError('FORBIDDEN');
    const b = req.body ?? {};
    if ((b.period === undefined) !== (b.at === undefined)) throw new AppError('VALIDATION_FAILED', { detail: { zh: 'period 与 at 须同时给出', en: 'period and at go together' } }, b.period === undefined ? 'period' : 'at');
    const now = new Date();
    return { items: await recompute(db, b.period && b.at ? [periodOf(b.period, b.at, now)] : livePeriods(now), now) };
  });
}
