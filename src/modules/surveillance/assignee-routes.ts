// Who an alert may be assigned to (the console's assignee picker): active CDC epidemiologists and investigators.
// Staff names and roles only; the users API itself stays with the administrators.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../../context.ts';
import { errorResponses, requireRole } from '../../platform/http.ts';
import { SIGNAL_READERS } from './run-routes.ts';

const Assignee = z.object({ id: z.number(), displayName: z.string(), roles: z.array(z.string()), institutionName: z.string().nullable() });

export async function assigneeRoutes(fastify: FastifyInstance, ctx: AppContext) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  app.get('/surveillance/assignees', {
    schema: {
      tags: ['surveillance'],
      summary: 'Staff an alert may be assigned to: active CDC epidemiologists and investigators (name, roles, institution)',
      response: { 200: z.object({ items: z.array(Assignee) }), ...errorResponses },
    },
  }, async (req) => {
    requireRole(req, ...SIGNAL_READERS);
    const { rows } = await ctx.db.query<{ id: number | string; display_name: string; roles: string[]; institution_name: string | null }>(
      `SELECT u.id, u.display_name, u.roles, i.name AS institution_name FROM app_user u LEFT JOIN institution i ON i.id = u.institution_id
        WHERE u.active AND u.kind = 'person' AND u.roles && ARRAY['cdc_epidemiologist', 'investigator']::text[] ORDER BY u.display_name, u.id LIMIT 500`,
    );
    return { items: rows.map((r) => ({ id: Number(r.id), displayName: r.display_name, roles: r.roles.filter((x) => x === 'cdc_epidemiologist' || x === 'investigator'), institutionName: r.institution_name })) };
  });
}
