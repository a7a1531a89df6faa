// Audit log search for district administrators: by person, by user, by action and time.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../../context.ts';
import { PageQuery, errorResponses, pageResponse, requireRole } from '../../platform/http.ts';
import { Params } from '../../platform/sql.ts';

const AuditEvent = z.object({ id: z.number(), at: z.string(), userId: z.number().nullable(), username: z.string().nullable(), role: z.string().nullable(), institutionId: z.number().nullable(), action: z.string(), resourceType: z.string(), resourceId: z.string().nullable(), residentId: z.number().nullable(), purpose: z.string().nullable(), outcome: z.string(), clientIp: z.string().nullable() });

export async function auditRoutes(fastify: FastifyInstance, ctx: AppContext) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  app.get('/audit', {
    schema: {
      tags: ['audit'], summary: 'Search the audit log (district admin)',
      querystring: PageQuery.extend({
        residentId: z.coerce.number().int().optional(), userId: z.coerce.number().int().optional(), username: z.string().max(60).optional(),
        action: z.string().max(30).optional(), outcome: z.enum(['success', 'denied', 'failure']).optional(),
        from: z.iso.datetime({ offset: true }).or(z.iso.date()).optional(), to: z.iso.datetime({ offset: true }).or(z.iso.date()).optional(),
      }),
      response: { 200: pageResponse(AuditEvent), ...errorResponses },
    },
  }, async (req) => {
    requireRole(req, 'district_admin');
    const f = req.query;
    const params = new Params();
    const where: string[] = ['TRUE'];
    if (f.residentId) where.push(`resident_id = ${params.add(f.residentId)}`);
    if (f.userId) where.push(`user_id = ${params.add(f.userId)}`);
    if (f.username) where.push(`username = ${params.add(f.username)}`);
    if (f.action) where.push(`action = ${params.add(f.action)}`);
    if (f.outcome) where.push(`outcome = ${params.add(f.outcome)}`);
    if (f.from) where.push(`at >= ${params.add(f.from)}::timestamptz`);
    if (f.to) where.push(`at < ${params.add(f.to)}::timestamptz`);
    const w = where.join(' AND ');
    const total = await ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_event WHERE ${w}`, params.values);
    const { rows } = await ctx.db.query(
      `SELECT id, at, user_id, username, role, institution_id, action, resource_type, resource_id, resident_id, purpose, outcome, client_ip
         FROM audit_event WHERE ${w} ORDER BY id DESC LIMIT ${params.add(f.pageSize)} OFFSET ${params.add((f.page - 1) * f.pageSize)}`,
      params.values,
    );
    return {
      items: rows.map((r) => ({ id: r.id, at: new Date(r.at).toISOString(), userId: r.user_id, username: r.username, role: r.role, institutionId: r.institution_id, action: r.action, resourceType: r.resource_type, resourceId: r.resource_id, residentId: r.resident_id, purpose: r.purpose, outcome: r.outcome, clientIp: r.client_ip })),
      total: total.rows[0].n, page: f.page, pageSize: f.pageSize,
    };
  });
}
