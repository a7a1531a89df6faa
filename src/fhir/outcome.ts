// AppErrors as OperationOutcome (https://hl7.org/fhir/R4/operationoutcome.html): the message in the request's
// language, the element that is wrong in `expression`, CareGrid's stable error code in `details`.
import { AppError, formatMessage, type ErrorCode, type Locale } from '../platform/errors.ts';
import { toAppError } from '../platform/error-mapping.ts';
import type { Json } from './datatypes.ts';

const ISSUE_CODE: Partial<Record<ErrorCode, string>> = {
  VALIDATION_FAILED: 'invalid',
  MALFORMED_JSON: 'structure',
  FHIR_INVALID: 'value',
  FHIR_REQUIRED: 'required',
  FHIR_BAD_REFERENCE: 'not-found',
  FHIR_UNSUPPORTED: 'not-supported',
  FHIR_UNKNOWN_PARAMETER: 'not-supported',
  ID_NUMBER_INVALID: 'value',
  UNSUPPORTED_MEDIA_TYPE: 'not-supported',
  METHOD_NOT_ALLOWED: 'not-supported',
  UNAUTHENTICATED: 'login',
  LOGIN_FAILED: 'login',
  TOKEN_INVALID: 'login',
  FORBIDDEN: 'forbidden',
  OUT_OF_SCOPE: 'forbidden',
  WRONG_INSTITUTION: 'forbidden',
  NOT_FOUND: 'not-found',
  ROUTE_NOT_FOUND: 'not-found',
  CONFLICT: 'duplicate',
  DUPLICATE_ID_NUMBER: 'duplicate',
  STALE_VERSION: 'conflict',
  PRECONDITION_FAILED: 'conflict',
  INVALID_STATE: 'business-rule',
  SLOT_TAKEN: 'conflict',
  SLOT_RESERVED: 'business-rule',
  UNPROCESSABLE: 'processing',
  PAYLOAD_TOO_LARGE: 'too-costly',
  RATE_LIMITED: 'throttled',
  ACCOUNT_LOCKED: 'lock-error',
  BUSY: 'transient',
  INTERNAL: 'exception',
};

export const ERROR_SYSTEM = 'https://caregrid.dev/fhir/CodeSystem/error';

export function operationOutcome(err: unknown, locale: Locale, requestId?: string): { status: number; body: Json } {
  const e = err instanceof AppError ? err : toAppError(err);
  const params = e.code === 'INTERNAL' ? { requestId: requestId ?? '-' } : e.params;
  const message = formatMessage(e.code, params, locale);
  const issue: Json = {
    severity: e.status >= 500 ? 'fatal' : 'error',
    code: ISSUE_CODE[e.code] ?? 'processing',
    details: { coding: [{ system: ERROR_SYSTEM, code: e.code }], text: message },
    diagnostics: message,
  };
  if (e.field) issue.expression = [e.field];
  return { status: e.status, body: { resourceType: 'OperationOutcome', issue: [issue] } };
}
