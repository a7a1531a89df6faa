// Login, logout, the current user, user administration and institution tokens.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../../context.ts';
import { SESSION_COOKIE, checkLogin, issueSession } from '../../platform/auth.ts';
import { loadPrincipal } from '../../platform/principal.ts';
import { AppError, notFound } from '../../platform/errors.ts';
import { audit } from '../../platform/audit.ts';
import { IdParam, PageQuery, auditContext, errorResponses, pageResponse, requirePrincipal, requireRole } from '../../platform/http.ts';
import { ROLES } from '../../platform/roles.ts';
import { createInstitutionToken, createUser, getUser, listUsers } from './service.ts';

const User = z.object({
  id: z.number(),
  username: z.string(),
  displayName: z.string(),
  roles: z.array(z.string()),
  institutionId: z.number().nullable(),
  institutionName: z.string().nullable(),
  regionId: z.number().nullable(),
  teamId: z.number().nullable(),
  practitionerId: z.number().nullable(),
  locale: z.string(),
  active: z.boolean(),
});

export async function authRoutes(fastify: FastifyInstance, ctx: AppContext) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { db, keys, config } = ctx;

  app.post('/auth/login', {
    schema: {
      tags: ['auth'],
      summary: 'Log in with username and password; sets the HTTP-only session cookie',
      security: [],
      body: z.object({ username: z.string().min(1).max(100), password: z.string().min(1).max(200) }),
      response: { 200: z.object({ user: User }), ...errorResponses },
    },
  }, async (req, reply) => {
    let userId: number;
    try {
      ({ userId } = await checkLogin(db, req.body.username, req.body.password));
    } catch (err) {
      await audit(db, { principal: null, clientIp: req.ip, requestId: req.id }, { action: 'login_failed', resourceType: 'User', resourceId: req.body.username.slice(0, 100), outcome: 'denied' });
      throw err;
    }
    const p = await loadPrincipal(db, userId);
    if (!p) throw new AppError('LOGIN_FAILED');
    const token = await issueSession(keys, p, config.sessionTtlHours);
    reply.setCookie(SESSION_COOKIE, token, {
      httpOnly: true,
      sameSite: 'lax',
      secure: config.secureCookies,
      path: '/',
      maxAge: config.sessionTtlHours * 3600,
    });
    await audit(db, { principal: p, clientIp: req.ip, requestId: req.id }, { action: 'login', resourceType: 'User', resourceId: p.userId });
    return { user: await getUser(db, userId) };
  });

  app.post('/auth/logout', { schema: { tags: ['auth'], summary: 'Log out (this browser); `everywhere: true` ends every session of the user', body: z.object({ everywhere: z.boolean().default(false) }).nullish() } }, async (req, reply) => {
    const p = requirePrincipal(req);
    if (req.body?.everywhere) {
      await db.query('UPDATE app_user SET session_version = session_version + 1 WHERE id = $1', [p.userId]);
      ctx.principals.invalidateUser(p.userId);
    }
    await audit(db, auditContext(req), { action: 'logout', resourceType: 'User', resourceId: p.userId });
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return { ok: true };
  });

  app.get('/auth/me', { schema: { tags: ['auth'], summary: 'The logged-in user', response: { 200: z.object({ user: User }), ...errorResponses } } }, async (req) => {
    const p = requirePrincipal(req);
    return { user: await getUser(db, p.userId) };
  });

  app.get('/users', {
    schema: {
      tags: ['users'],
      summary: 'List users (district admin: all; institution admin: own institution)',
      querystring: PageQuery.extend({ role: z.enum(ROLES).optional(), institutionId: z.coerce.number().int().optional(), q: z.string().max(50).optional() }),
      response: { 200: pageResponse(User), ...errorResponses },
    },
  }, async (req) => {
    const p = requireRole(req, 'district_admin', 'institution_admin');
    return listUsers(db, p, req.query);
  });

  app.post('/users', {
    schema: {
      tags: ['users'],
      summary: 'Create a user',
      body: z.object({
        username: z.string().regex(/^[a-z0-9._-]{3,40}$/),
        displayName: z.string().min(1).max(60),
        password: z.string().min(10).max(200),
        roles: z.array(z.enum(ROLES)).min(1),
        institutionId: z.number().int().nullable().optional(),
        regionId: z.number().int().nullable().optional(),
        teamId: z.number().int().nullable().optional(),
        practitionerId: z.number().int().nullable().optional(),
        locale: z.enum(['zh-CN', 'en']).optional(),
      }),
      response: { 201: User, ...errorResponses },
    },
  }, async (req, reply) => {
    const p = requireRole(req, 'district_admin', 'institution_admin');
    const user = await createUser(db, p, req.body);
    reply.status(201);
    return user;
  });

  app.get('/tokens', {
    schema: { tags: ['users'], summary: 'Institution tokens (never the secret itself)', response: { 200: z.object({ items: z.array(z.object({ id: z.number(), name: z.string(), institutionId: z.number(), createdAt: z.string(), revokedAt: z.string().nullable() })) }), ...errorResponses } },
  }, async (req) => {
    const p = requireRole(req, 'district_admin', 'institution_admin');
    const { rows } = await db.query(
      'SELECT id, name, institution_id, created_at, revoked_at FROM api_token WHERE $1::bigint IS NULL OR institution_id = $1 ORDER BY id',
      [p.roles.includes('district_admin') ? null : (p.institutionId ?? -1)],
    );
    return { items: rows.map((r) => ({ id: r.id, name: r.name, institutionId: r.institution_id, createdAt: new Date(r.created_at).toISOString(), revokedAt: r.revoked_at ? new Date(r.revoked_at).toISOString() : null })) };
  });

  app.delete('/tokens/:id', { schema: { tags: ['users'], summary: 'Revoke an institution token', params: IdParam, response: { 200: z.object({ ok: z.boolean() }), ...errorResponses } } }, async (req) => {
    const p = requireRole(req, 'district_admin', 'institution_admin');
    const { rows } = await db.query(
      'UPDATE api_token SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL AND ($2::bigint IS NULL OR institution_id = $2) RETURNING id',
      [req.params.id, p.roles.includes('district_admin') ? null : (p.institutionId ?? -1)],
    );
    if (!rows[0]) throw notFound('token');
    ctx.principals.clear(); // drop cached token principals at once
    await audit(db, auditContext(req), { action: 'token_revoke', resourceType: 'ApiToken', resourceId: req.params.id });
    return { ok: true };
  });

  app.post('/tokens', {
    schema: {
      tags: ['users'],
      summary: 'Create a bearer token for an institution system (shown once)',
      body: z.object({ institutionId: z.number().int(), name: z.string().min(1).max(80) }),
      response: { 201: z.object({ id: z.number(), token: z.string(), institutionId: z.number(), name: z.string() }), ...errorResponses },
    },
  }, async (req, reply) => {
    const p = requireRole(req, 'district_admin', 'institution_admin');
    if (p.tokenInstitutionId !== null) throw new AppError('FORBIDDEN');
    const t = await db.tx((q) => createInstitutionToken(q, p, req.body.institutionId, req.body.name));
    await audit(db, auditContext(req), { action: 'token_create', resourceType: 'ApiToken', resourceId: t.id });
    reply.status(201);
    return t;
  });
}
