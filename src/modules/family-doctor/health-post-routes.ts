// Health-post sessions HTTP API (健康驿站): a team records its session at a community health post and lists them;
// the follow-ups and checks made there name the session (sessionId).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../../context.ts';
import type { Queryable } from '../../db/engine.ts';
import { withRetry } from '../../db/engine.ts';
import { IdParam, PageQuery, auditContext, errorResponses, pageResponse, requirePrincipal, IsoDate } from '../../platform/http.ts';
import type { Ctx } from './contracts.ts';
import { createSession, getSession, listSessions } from './health-posts.ts';

const Session = z.object({
  id: z.number(), team: z.object({ id: z.number(), name: z.string() }), institutionId: z.number(), sessionDate: z.string(), postName: z.string(), location: z.string().nullable(),
  community: z.object({ id: z.number(), name: z.string() }).nullable(), attendees: z.number(), staff: z.array(z.number()), topic: z.string().nullable(), note: z.string().nullable(),
  followUps: z.number(), checks: z.number(), createdAt: z.string(),
});
const SessionDetail = Session.extend({
  visits: z.array(z.object({
    kind: z.enum(['follow_up', 'elderly_check']), id: z.number(), resident: z.object({ id: z.number(), name: z.string() }), at: z.string(),
    programme: z.string().nullable(), classification: z.string().nullable(), urgent: z.boolean(),
  })),
});

export async function healthPostRoutes(fastify: FastifyInstance, ctx: AppContext) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { db } = ctx;
  const tags = ['family-doctor'];
  const c = (req: FastifyRequest, q: Queryable): Ctx => ({ q, principal: requirePrincipal(req), audit: auditContext(req) });

  app.post('/health-post-sessions', {
    schema: {
      tags, summary: 'Record a team’s session at a community health post (健康驿站)',
      body: z.object({
        teamId: z.number().int().positive().optional().describe('default: the caller’s team'), sessionDate: IsoDate, postName: z.string().trim().min(1).max(200),
        location: z.string().trim().max(500).nullable().optional(), communityId: z.number().int().positive().nullable().optional(),
        attendees: z.number().int().min(0).max(100000).describe('residents who came'), staff: z.array(z.number().int().positive()).max(30).optional().describe('practitioners of the team present'),
        topic: z.string().max(500).nullable().optional(), note: z.string().max(2000).nullable().optional(), sourceId: z.string().trim().min(1).max(200).nullable().optional(),
      }).strict(),
      response: { 200: Session, 201: Session, ...errorResponses },
    },
  }, async (req, reply) => {
    const out = await withRetry(() => db.tx((q) => createSession(c(req, q), req.body)));
    return reply.status(out.created ? 201 : 200).send(out.session);
  });

  app.get('/health-post-sessions', {
    schema: {
      tags, summary: 'Sessions, newest first: a team member sees the team’s, a centre’s administrator the centre’s, the district administrator all',
      querystring: PageQuery.extend({ teamId: z.coerce.number().int().positive().optional(), institutionId: z.coerce.number().int().positive().optional(), from: IsoDate.optional(), to: IsoDate.optional() }),
      response: { 200: pageResponse(Session), ...errorResponses },
    },
  }, async (req) => db.tx((q) => listSessions(c(req, q), req.query)));

  app.get('/health-post-sessions/:id', {
    schema: { tags, summary: 'One session with the follow-ups and checks made at it', params: IdParam, response: { 200: SessionDetail, ...errorResponses } },
  }, async (req) => db.tx((q) => getSession(c(req, q), req.params.id)));
}
