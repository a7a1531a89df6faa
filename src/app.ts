// Builds the Fastify application from the modules. No socket here: tests drive it with app.inject.
import './fhir/bulk/routes.ts'; // registers $export / $import through extendFhir before fhirRoutes runs
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fastifyStatic from '@fastify/static';
import { serializerCompiler, validatorCompiler, jsonSchemaTransform, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AppContext } from './context.ts';
import { AppError, formatMessage, type Locale } from './platform/errors.ts';
import { toAppError } from './platform/error-mapping.ts';
import { operationOutcome } from './fhir/outcome.ts';
import { fhirRoutes } from './fhir/routes.ts';
import { explicitLocale, localeOf } from './platform/http.ts';
import { newRefusals, writeRefusals } from './platform/audit.ts';
import { SESSION_COOKIE, principalFromSession, principalFromToken } from './platform/auth.ts';
import { authRoutes } from './modules/users/routes.ts';
import { registryRoutes } from './modules/registry/routes.ts';
import { residentRoutes } from './modules/residents/routes.ts';
import { auditRoutes } from './modules/audit/routes.ts';
import { importRoutes } from './modules/imports/routes.ts';
import { recordRoutes } from './modules/records/routes.ts';
import { referralRoutes } from './modules/referral/routes.ts';
import { surveillanceRoutes } from './modules/surveillance/routes.ts';
import { notificationRoutes } from './modules/notifications/routes.ts';
import { webhookRoutes } from './modules/webhooks/routes.ts';
import { familyDoctorRoutes, worklistRoutes } from './modules/family-doctor/routes.ts';
import { chronicRoutes } from './modules/chronic/routes.ts';
import { kpiRoutes } from './modules/chronic/kpi-routes.ts';
import { elderlyRoutes } from './modules/elderly/routes.ts';
import { healthPostRoutes } from './modules/family-doctor/health-post-routes.ts';
import { prescriptionRoutes } from './modules/chronic/prescription-routes.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const PUBLIC_API = new Set(['/api/v1/health', '/api/v1/auth/login', '/fhir/R4/metadata']);

export async function buildApp(ctx: AppContext): Promise<FastifyInstance> {
  const app = Fastify({
    logger: ctx.config.logLevel === 'silent' ? false : {
      level: ctx.config.logLevel,
      // Request logs carry method, route and status only: no query strings (they may hold identity numbers), no bodies.
      serializers: {
        req: (req) => ({ method: req.method, url: req.url.split('?')[0], id: req.id }),
        res: (res) => ({ statusCode: res.statusCode }),
      },
      redact: ['req.headers.authorization', 'req.headers.cookie'],
    },
    bodyLimit: 10 * 1024 * 1024,
    trustProxy: ctx.config.trustProxy,
    genReqId: () => Math.random().toString(36).slice(2, 12),
  }).withTypeProvider<ZodTypeProvider>();

  const webRoot = resolveWebRoot(ctx.config.webDir);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorateRequest('principal', null);
  app.decorateRequest('locale', 'zh-CN');
  app.decorateRequest('localeExplicit', false);
  app.decorateRequest('refusals', null);

  await app.register(cookie);
  await app.register(swagger, {
    openapi: {
      info: { title: 'CareGrid API', version: '1', description: '整合型医防协同服务平台 HTTP API. Sessions use the cg_session cookie; institution systems send Authorization: Bearer cgt_….' },
      components: {
        securitySchemes: {
          session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE },
          token: { type: 'http', scheme: 'bearer' },
        },
      },
      security: [{ session: [] }, { token: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.addHook('onRequest', async (req) => {
    // decided before validation strips `lang` from the query
    req.locale = localeOf(req, ctx.config.defaultLocale);
    req.localeExplicit = explicitLocale(req);
    req.refusals = newRefusals();
  });

  // A denied attempt is audited after the work it refused was rolled back, before the response leaves (onSend);
  // onResponse catches a response that skipped onSend. The log line names the request only, never the person.
  const writeRequestRefusals = async (req: FastifyRequest) => {
    if (!req.refusals) return;
    try {
      await writeRefusals(ctx.db, req.refusals);
    } catch (err) {
      req.log.error({ err: { type: (err as Error).name, code: (err as { code?: string }).code } }, 'audit of a refused access failed');
    }
  };
  app.addHook('onSend', async (req, _reply, payload) => {
    await writeRequestRefusals(req);
    return payload;
  });
  app.addHook('onResponse', writeRequestRefusals);

  // Authentication for the API: cookie (console) or bearer token (institution systems).
  app.addHook('preHandler', async (req) => {
    const path = req.url.split('?')[0];
    if (!path.startsWith('/api/') && !path.startsWith('/fhir/')) return;
    // unknown route (no route, or only the console's static wildcard): the 404 handler answers, whoever asks
    if (!req.routeOptions.url || req.routeOptions.url === '/*') return;
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ')) {
      req.principal = await principalFromToken(ctx.db, ctx.principals, auth.slice(7).trim());
    } else if (req.cookies[SESSION_COOKIE]) {
      try {
        req.principal = await principalFromSession(ctx.db, ctx.keys, ctx.principals, req.cookies[SESSION_COOKIE]!);
      } catch (err) {
        if (!PUBLIC_API.has(path)) throw err;
      }
    }
    if (!req.principal && !PUBLIC_API.has(path)) throw new AppError('UNAUTHENTICATED');
    if (req.principal && !req.localeExplicit) req.locale = req.principal.locale;
  });

  app.setErrorHandler((err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    const appErr = toAppError(err);
    if (appErr.status >= 500) req.log.error({ err: { type: err.name, code: (err as any).code, message: err.message, stack: err.stack } }, 'request failed');
    return sendError(reply, req, appErr);
  });

  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0];
    // client-side routes of the console have no file extension; a missing asset stays a 404
    if (req.method === 'GET' && webRoot && !path.startsWith('/api/') && !path.startsWith('/fhir/') && !path.startsWith('/docs') && !/\.[a-z0-9]+$/i.test(path)) {
      return reply.header('cache-control', 'no-cache').sendFile('index.html');
    }
    return sendError(reply, req, new AppError('ROUTE_NOT_FOUND', { method: req.method, url: path }));
  });

  app.get('/api/v1/health', { schema: { tags: ['platform'], summary: 'Liveness' } }, async () => {
    await ctx.db.query('SELECT 1');
    return { status: 'ok' };
  });

  await app.register(async (api) => {
    await authRoutes(api, ctx);
    await registryRoutes(api, ctx);
    await residentRoutes(api, ctx);
    await auditRoutes(api, ctx);
    await importRoutes(api, ctx);
    await recordRoutes(api, ctx);
    await referralRoutes(api, ctx);
    await surveillanceRoutes(api, ctx);
    await notificationRoutes(api, ctx);
    await webhookRoutes(api, ctx);
    await familyDoctorRoutes(api, ctx);
    await worklistRoutes(api, ctx);
    await chronicRoutes(api, ctx);
    await kpiRoutes(api, ctx);
    await elderlyRoutes(api, ctx);
    await healthPostRoutes(api, ctx);
    await prescriptionRoutes(api, ctx);
  }, { prefix: '/api/v1' });
  await app.register(async (fhir) => fhirRoutes(fhir, ctx), { prefix: '/fhir/R4' });

  if (webRoot) {
    await app.register(fastifyStatic, { root: webRoot, prefix: '/', wildcard: true, index: ['index.html'] }); // files looked up per request: a rebuilt console is served without a restart
  }
  return app;
}

function resolveWebRoot(configured?: string): string | undefined {
  const dir = configured ?? join(ROOT, 'web', 'dist');
  return existsSync(join(dir, 'index.html')) ? dir : undefined;
}

function sendError(reply: FastifyReply, req: FastifyRequest, err: AppError) {
  const locale: Locale = req.locale ?? 'zh-CN';
  if (req.url.startsWith('/fhir/')) {
    const o = operationOutcome(err, locale, req.id);
    return reply.status(o.status).header('content-language', locale).type('application/fhir+json; charset=utf-8').send(JSON.stringify(o.body));
  }
  const params = err.code === 'INTERNAL' ? { requestId: req.id } : err.params;
  const body: { code: string; message: string; field?: string } = { code: err.code, message: formatMessage(err.code, params, locale) };
  if (err.field) body.field = err.field;
  return reply.status(err.status).header('content-language', locale).send(body);
}
