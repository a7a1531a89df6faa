// Request-level helpers shared by routes: the caller, the request's language, paging, audit context.
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError, type Locale } from './errors.ts';
import type { Principal } from './principal.ts';
import { audit, type AuditContext, type AuditEntry, type Refusals } from './audit.ts';
import type { Queryable } from '../db/engine.ts';
import type { Role } from './roles.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
    locale: Locale;
    localeExplicit: boolean;
    /** Denied attempts seen while serving the request, written by app.ts's hooks after its transactions ended. */
    refusals: Refusals | null;
  }
}

/** Whether the request chose its language itself (query or Accept-Language), over the user's saved preference. */
export function explicitLocale(req: FastifyRequest): boolean {
  const q = (req.query as Record<string, unknown> | undefined)?.lang;
  return q === 'en' || q === 'zh-CN' || typeof req.headers['accept-language'] === 'string';
}

export function localeOf(req: FastifyRequest, fallback: Locale): Locale {
  const q = (req.query as Record<string, unknown> | undefined)?.lang;
  if (q === 'en' || q === 'zh-CN') return q;
  const header = req.headers['accept-language'];
  if (typeof header === 'string' && header.length) {
    const first = header.split(',')[0].trim().toLowerCase();
    if (first.startsWith('en')) return 'en';
    if (first.startsWith('zh')) return 'zh-CN';
  }
  return fallback;
}

export function requirePrincipal(req: FastifyRequest): Principal {
  if (!req.principal) throw new AppError('UNAUTHENTICATED');
  return req.principal;
}

export function requireRole(req: FastifyRequest, ...roles: Role[]): Principal {
  const p = requirePrincipal(req);
  if (!p.roles.some((r) => roles.includes(r))) throw new AppError('FORBIDDEN');
  return p;
}

export function auditContext(req: FastifyRequest): AuditContext {
  const purpose = req.headers['x-purpose-of-use'];
  return {
    principal: req.principal,
    clientIp: req.ip,
    requestId: req.id,
    purpose: typeof purpose === 'string' ? purpose.slice(0, 200) : null,
    refusals: req.refusals ?? undefined,
  };
}

/**
 * Runs `fn` (which may open its own transaction); when it refuses the caller for scope (403 OUT_OF_SCOPE), the attempt is
 * audited as `denied` — after that transaction rolled back, like every refusal (platform/audit.ts) — and the error goes
 * on. For services that check scope without auditing their refusals themselves.
 */
export async function auditingRefusal<T>(q: Queryable, req: FastifyRequest, attempt: Omit<AuditEntry, 'outcome'>, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof AppError && err.code === 'OUT_OF_SCOPE') await audit(q, auditContext(req), { ...attempt, outcome: 'denied' });
    throw err;
  }
}

/** A calendar date YYYY-MM-DD (2024-02-30 is refused here, not rolled over in code or refused later by the database). */
export const IsoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'YYYY-MM-DD').refine((s) => {
  const t = Date.parse(`${s}T00:00:00Z`);
  return !Number.isNaN(t) && new Date(t).toISOString().startsWith(s);
}, 'not a calendar date (YYYY-MM-DD)');

export const PageQuery = z.object({
  page: z.coerce.number().int().min(1).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(20),
});
export type PageQuery = z.infer<typeof PageQuery>;

export function pageResponse<T extends z.ZodTypeAny>(item: T) {
  return z.object({ items: z.array(item), total: z.number().int(), page: z.number().int(), pageSize: z.number().int() });
}

export const ErrorBody = z.object({ code: z.string(), message: z.string(), field: z.string().optional() });

/** Standard error responses for the OpenAPI document. */
export const errorResponses = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };

export const IdParam = z.object({ id: z.coerce.number().int().positive() });
