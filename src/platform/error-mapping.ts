// Turns anything thrown while serving a request into an AppError: the only place that picks a status for errors
// that are not already AppErrors (validation, body parsing, database).
import type { FastifyError } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, translateDbError } from './errors.ts';

export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (hasZodFastifySchemaValidationErrors(err)) {
    const first = err.validation[0];
    const field = first?.instancePath?.replace(/^\//, '').replaceAll('/', '.') || (first?.params as any)?.issue?.path?.join('.') || undefined;
    const detail = err.validation.map((v) => `${v.instancePath?.replace(/^\//, '').replaceAll('/', '.') || (err as any).validationContext || ''} ${v.message ?? ''}`.trim()).join('; ');
    return new AppError('VALIDATION_FAILED', { detail }, field);
  }
  const e = err as FastifyError;
  if (e?.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new AppError('UNSUPPORTED_MEDIA_TYPE');
  if (e?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new AppError('PAYLOAD_TOO_LARGE');
  if (e?.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return new AppError('VALIDATION_FAILED', { detail: 'empty body' });
  if (e?.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || (e instanceof SyntaxError && e.statusCode === 400) || e?.statusCode === 400 && /JSON/i.test(e.message)) {
    return new AppError('MALFORMED_JSON');
  }
  const db = translateDbError(err);
  if (db) return db;
  if (e?.statusCode && e.statusCode >= 400 && e.statusCode < 500) return new AppError('VALIDATION_FAILED', { detail: e.code ?? 'bad request' });
  return new AppError('INTERNAL');
}
