// In-app notifications: my list (newest first, unread count) and marking them read.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../../context.ts';
import { PageQuery, errorResponses, localeOf, requirePrincipal } from '../../platform/http.ts';
import * as svc from './service.ts';

const Item = z.object({
  id: z.number(), kind: z.string(), priority: z.enum(['normal', 'high', 'urgent']), referralId: z.number().nullable(), alertId: z.number().nullable(), message: z.string(), createdAt: z.string(), readAt: z.string().nullable(),
});

export async function notificationRoutes(fastify: FastifyInstance, ctx: AppContext) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const tags = ['notifications'];

  app.get('/notifications', {
    schema: {
      tags, summary: 'My notifications, newest first, with the unread count',
      querystring: PageQuery.extend({ unread: z.enum(['true', 'false']).optional().transform((v) => v === 'true') }),
      response: { 200: z.object({ items: z.array(Item), total: z.number(), unread: z.number(), page: z.number(), pageSize: z.number() }), ...errorResponses },
    },
  }, async (req) => {
    const p = requirePrincipal(req);
    return svc.listNotifications(ctx.db, p.userId, { ...req.query, locale: localeOf(req, p.locale) });
  });

  app.post('/notifications/read', {
    schema: {
      tags, summary: 'Mark my notifications read: the given ids, or all',
      body: z.object({ ids: z.array(z.number().int().positive()).max(500).optional(), all: z.boolean().optional() }).refine((b) => !!b.all !== !!b.ids, 'give ids or all'),
      response: { 200: z.object({ marked: z.number() }), ...errorResponses },
    },
  }, async (req) => {
    const p = requirePrincipal(req);
    return { marked: await svc.markRead(ctx.db, p.userId, req.body.all ? 'all' : req.body.ids!) };
  });
}
