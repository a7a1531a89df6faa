// Audit of personal data: who (user, role, institution), what (action on a resource), which person, when, why.
// Written in the same transaction or statement as the read/change it records, so an unaudited read cannot succeed.
// A refusal (outcome 'denied') is the exception: the error that refuses rolls back the transaction it was found in, so
// during a request it is kept on the request (`AuditContext.refusals`) and written once that work has ended, on its own
// connection, before the response leaves (writeRefusals, called by the request hooks in app.ts).
import type { Queryable } from '../db/engine.ts';
import type { Principal } from './principal.ts';
import { Params } from './sql.ts';

export type AuditAction = 'read' | 'search' | 'list' | 'create' | 'update' | 'reveal' | 'merge' | 'unmerge' | 'match' | 'review' | 'login' | 'login_failed' | 'logout' | 'token_create' | 'token_revoke' | 'export' | 'break_glass' | 'import';

export interface AuditEntry {
  action: AuditAction;
  resourceType: string;
  resourceId?: string | number | null;
  residentId?: number | null;
  purpose?: string | null;
  outcome?: 'success' | 'denied' | 'failure';
}

export interface AuditContext {
  principal: Principal | null;
  clientIp?: string;
  requestId?: string;
  /** Optional purpose of use from the X-Purpose-Of-Use header. */
  purpose?: string | null;
  /** The request's refusals, written after its transaction has ended; absent outside a request (jobs, CLI). */
  refusals?: Refusals;
}

/** Denied attempts of one request, kept until writeRefusals; once it has run (`open` false) they are written at once. */
export interface Refusals {
  open: boolean;
  entries: { ctx: AuditContext; entry: AuditEntry }[];
}

export function newRefusals(): Refusals {
  return { open: true, entries: [] };
}

/**
 * Writes a request's refusals on `db` (its own connection: the request's transactions have committed or rolled back),
 * one statement per audit context, and closes the list.
 */
export async function writeRefusals(db: Queryable, refusals: Refusals): Promise<void> {
  refusals.open = false;
  const pending = refusals.entries.splice(0);
  const byContext = new Map<AuditContext, AuditEntry[]>();
  for (const { ctx, entry } of pending) byContext.set(ctx, [...(byContext.get(ctx) ?? []), entry]);
  for (const [ctx, entries] of byContext) await auditMany(db, ctx, entries);
}

const COLUMNS = '(user_id, username, role, institution_id, action, resource_type, resource_id, resident_id, purpose, outcome, client_ip, request_id)';

function base(ctx: AuditContext) {
  const p = ctx.principal;
  return [p?.userId ?? null, p?.username ?? null, p?.roles[0] ?? null, p?.institutionId ?? null];
}

export async function audit(q: Queryable, ctx: AuditContext, e: AuditEntry): Promise<void> {
  if (e.outcome === 'denied' && ctx.refusals?.open) {
    ctx.refusals.entries.push({ ctx, entry: e }); // survives the rollback the refusal causes (see the top of this file)
    return;
  }
  await q.query(`INSERT INTO audit_event ${COLUMNS} VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)`, [
    ...base(ctx),
    e.action,
    e.resourceType,
    e.resourceId == null ? null : String(e.resourceId),
    e.residentId ?? null,
    e.purpose ?? ctx.purpose ?? null,
    e.outcome ?? 'success',
    ctx.clientIp ?? null,
    ctx.requestId ?? null,
  ]);
}

/** Several events of one request in a single statement (the writes of a FHIR transaction Bundle). */
export async function auditMany(q: Queryable, ctx: AuditContext, entries: AuditEntry[]): Promise<void> {
  if (ctx.refusals?.open && entries.some((e) => e.outcome === 'denied')) {
    for (const e of entries) if (e.outcome === 'denied') ctx.refusals.entries.push({ ctx, entry: e });
    entries = entries.filter((e) => e.outcome !== 'denied');
  }
  if (entries.length === 0) return;
  const v = new Params();
  await q.query(auditManySql(v, ctx, entries), v.values);
}

/** auditMany as SQL text, for a caller that folds it into a larger statement; `when` is a condition it also needs. */
export function auditManySql(v: Params, ctx: AuditContext, entries: AuditEntry[], when = 'TRUE'): string {
  const [userId, username, role, institutionId] = base(ctx);
  const col = <T>(f: (e: AuditEntry) => T) => entries.map(f);
  return `INSERT INTO audit_event ${COLUMNS}
     SELECT ${v.add(userId)}::bigint, ${v.add(username)}::text, ${v.add(role)}::text, ${v.add(institutionId)}::bigint, e.action, e.resource_type, e.resource_id, e.resident_id,
            coalesce(e.purpose, ${v.add(ctx.purpose ?? null)}::text), e.outcome, ${v.add(ctx.clientIp ?? null)}::text, ${v.add(ctx.requestId ?? null)}::text
       FROM unnest(${v.add(col((e) => e.action))}::text[], ${v.add(col((e) => e.resourceType))}::text[], ${v.add(col((e) => (e.resourceId == null ? null : String(e.resourceId))))}::text[],
                   ${v.add(col((e) => e.residentId ?? null))}::bigint[], ${v.add(col((e) => e.purpose ?? null))}::text[], ${v.add(col((e) => e.outcome ?? 'success'))}::text[])
            WITH ORDINALITY AS e(action, resource_type, resource_id, resident_id, purpose, outcome, n)
      WHERE ${when}
      ORDER BY e.n`;
}

/** One event per person shown, in a single statement (lists and searches). */
export async function auditResidents(q: Queryable, ctx: AuditContext, action: AuditAction, residentIds: number[], resourceType = 'Resident'): Promise<void> {
  if (residentIds.length === 0) return;
  await q.query(
    `INSERT INTO audit_event ${COLUMNS}
     SELECT $1, $2, $3, $4, $5, $6, rid::text, rid, $7, 'success', $8, $9 FROM unnest($10::bigint[]) AS rid`,
    [...base(ctx), action, resourceType, ctx.purpose ?? null, ctx.clientIp ?? null, ctx.requestId ?? null, residentIds],
  );
}

/**
 * The audit insert as a data-modifying CTE over `source` (a CTE with an `id` column of residents): the read and its
 * audit are one statement, so they commit together and cost one round trip.
 */
export function auditCte(params: { add(v: unknown): string }, ctx: AuditContext, action: AuditAction, source: string, resourceType = 'Resident'): string {
  const [userId, username, role, institutionId] = base(ctx);
  return `INSERT INTO audit_event ${COLUMNS}
    SELECT ${params.add(userId)}::bigint, ${params.add(username)}::text, ${params.add(role)}::text, ${params.add(institutionId)}::bigint, ${params.add(action)}::text,
           ${params.add(resourceType)}::text, ${source}.id::text, ${source}.id, ${params.add(ctx.purpose ?? null)}::text, 'success', ${params.add(ctx.clientIp ?? null)}::text, ${params.add(ctx.requestId ?? null)}::text
      FROM ${source}`;
}
