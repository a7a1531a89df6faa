// Webhooks of an institution's own systems: register (the signing secret is shown once), list, remove, deliveries.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../../context.ts';
import { IdParam, PageQuery, errorResponses, pageResponse, requirePrincipal } from '../../platform/http.ts';
import * as svc from './service.ts';

const Webhook = z.object({
  id: z.number(), institutionId: z.number(), url: z.string(), events: z.array(z.string()), active: z.boolean(), createdAt: z.string(),
  delivered: z.number(), pending: z.number(), failed: z.number(),
});
const Delivery = z.object({
  id: z.number(), event: z.string(), attempts: z.number(), deliveredAt: z.string().nullable(), failedAt: z.string().nullable(), nextAttemptAt: z.string().nullable(),
  lastStatus: z.number().nullable(), lastError: z.string().nullable(), createdAt: z.string(),
});

export async function webhookRoutes(fastify: FastifyInstance, ctx: AppContext) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const tags = ['webhooks'];

  app.post('/webhooks', {
    schema: {
      tags,
      summary: 'Register a webhook for my institution (institution admin). Each POST carries X-CareGrid-Event and X-CareGrid-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>"> with the secret returned here once',
      body: z.object({ institutionId: z.number().int().positive().optional(), url: z.string().max(2000), events: z.array(z.enum(svc.EVENTS)).max(svc.EVENTS.length).optional() }),
      response: { 201: Webhook.extend({ secret: z.string() }), ...errorResponses },
    },
  }, async (req, reply) => reply.status(201).send(await ctx.db.tx((q) => svc.createWebhook(q, ctx.keys, requirePrincipal(req), req.body))));

  app.get('/webhooks', {
    schema: { tags, summary: 'My institution’s active webhooks with delivery counts', response: { 200: z.array(Webhook), ...errorResponses } },
  }, async (req) => svc.listWebhooks(ctx.db, requirePrincipal(req)));

  app.delete('/webhooks/:id', {
    schema: { tags, summary: 'Stop a webhook (its pending deliveries are dropped)', params: IdParam, response: { 204: z.null(), ...errorResponses } },
  }, async (req, reply) => {
    await ctx.db.tx((q) => svc.deactivateWebhook(q, requirePrincipal(req), req.params.id));
    return reply.status(204).send(null);
  });

  app.get('/webhooks/:id/deliveries', {
    schema: { tags, summary: 'Deliveries of a webhook, newest first: attempts, status, last error', params: IdParam, querystring: PageQuery, response: { 200: pageResponse(Delivery), ...errorResponses } },
  }, async (req) => svc.listDeliveries(ctx.db, requirePrincipal(req), req.params.id, req.query.page, req.query.pageSize));
}
