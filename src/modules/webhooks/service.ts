// Webhooks (机构系统对接): an institution's own systems are told when its cases change. Deliveries are an outbox
// written in the same transaction as the change, then sent by a background loop with retries and an HMAC-SHA256
// signature, so an event is never lost, never sent for a change that rolled back, and can be verified by the receiver.
// Payloads carry ids and states only; the receiver reads details over FHIR with its own institution token.
import { createHmac, randomBytes } from 'node:crypto';
import { startPeriodicJob, type PeriodicJob } from '../../platform/jobs.ts';
import type { Db, Queryable } from '../../db/engine.ts';
import { AppError, notFound } from '../../platform/errors.ts';
import { decryptField, encryptField, type Keys } from '../../platform/crypto.ts';
import { hasRole, type Principal } from '../../platform/principal.ts';
import { Params } from '../../platform/sql.ts';

export const EVENTS = [
  'referral.requested', 'referral.accepted', 'referral.rejected', 'referral.redirected', 'referral.scheduled', 'referral.arrived',
  'referral.completed', 'referral.closed', 'referral.cancelled', 'referral.expired', 'referral.discharged', 'referral.followed_up', 'referral.overdue',
  'alert.created', 'alert.updated',
] as const;
export type WebhookEvent = (typeof EVENTS)[number];

/** Retries back off 10 s, 20 s, 40 s … up to an hour; after MAX_ATTEMPTS the delivery is given up (and listed). */
export const MAX_ATTEMPTS = 10;
const TIMEOUT_MS = 5_000;
/** A claimed delivery is not picked again for this long (a crashed sender's claim lapses). */
const LEASE_MS = 60_000;

export function backoffMs(attempts: number): number {
  return Math.min(10_000 * 2 ** Math.max(0, attempts - 1), 3_600_000);
}

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, as the receiver recomputes it with the shared secret. */
export function signature(secret: string, body: string, at: number): string {
  return `t=${at},v1=${createHmac('sha256', secret).update(`${at}.${body}`).digest('hex')}`;
}

function ownInstitution(p: Principal, named?: number): number {
  const own = p.tokenInstitutionId ?? p.institutionId;
  if (hasRole(p, 'district_admin') && p.tokenInstitutionId === null) {
    if (!named) throw new AppError('VALIDATION_FAILED', { detail: 'institutionId is required' }, 'institutionId');
    return named;
  }
  if (!hasRole(p, 'institution_admin') || !own) throw new AppError('FORBIDDEN');
  if (named !== undefined && named !== own) throw new AppError('WRONG_INSTITUTION', {}, 'institutionId');
  return own;
}

export interface WebhookView {
  id: number;
  institutionId: number;
  url: string;
  events: string[];
  active: boolean;
  createdAt: string;
  delivered: number;
  pending: number;
  failed: number;
}

/** Registers a webhook; the signing secret is returned once, here, and stored encrypted. */
export async function createWebhook(q: Queryable, keys: Keys, p: Principal, input: { institutionId?: number; url: string; events?: string[] }): Promise<WebhookView & { secret: string }> {
  const institutionId = ownInstitution(p, input.institutionId);
  let url: URL;
  try {
    url = new URL(input.url);
  } catch {
    throw new AppError('VALIDATION_FAILED', { detail: 'not a URL' }, 'url');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new AppError('VALIDATION_FAILED', { detail: 'only http and https URLs' }, 'url');
  if (url.username || url.password) throw new AppError('VALIDATION_FAILED', { detail: 'no credentials in the URL; verify the signature instead' }, 'url');
  const events = [...new Set(input.events ?? [])];
  const unknown = events.find((e) => !(EVENTS as readonly string[]).includes(e));
  if (unknown) throw new AppError('VALIDATION_FAILED', { detail: `unknown event ${unknown}` }, 'events');
  const { rows } = await q.query('SELECT 1 FROM institution WHERE id = $1', [institutionId]);
  if (!rows[0]) throw notFound('institution');
  const secret = randomBytes(24).toString('base64url');
  const ins = await q.query('INSERT INTO webhook (institution_id, url, secret_enc, events, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING id',
    [institutionId, url.toString(), encryptField(keys, secret), events, p.userId]);
  return { ...(await getWebhook(q, p, Number(ins.rows[0].id))), secret };
}

const VIEW_SQL = `SELECT w.id, w.institution_id, w.url, w.events, w.active, w.created_at,
    (SELECT count(*)::int FROM webhook_delivery d WHERE d.webhook_id = w.id AND d.delivered_at IS NOT NULL) AS delivered,
    (SELECT count(*)::int FROM webhook_delivery d WHERE d.webhook_id = w.id AND d.delivered_at IS NULL AND d.failed_at IS NULL) AS pending,
    (SELECT count(*)::int FROM webhook_delivery d WHERE d.webhook_id = w.id AND d.failed_at IS NOT NULL) AS failed
  FROM webhook w`;

function view(r: Record<string, any>): WebhookView {
  return { id: Number(r.id), institutionId: Number(r.institution_id), url: r.url, events: r.events, active: r.active, createdAt: new Date(r.created_at).toISOString(), delivered: r.delivered, pending: r.pending, failed: r.failed };
}

function visible(p: Principal, institutionId: number): boolean {
  return (hasRole(p, 'district_admin') && p.tokenInstitutionId === null) || (hasRole(p, 'institution_admin') && (p.tokenInstitutionId ?? p.institutionId) === institutionId);
}

export async function getWebhook(q: Queryable, p: Principal, id: number): Promise<WebhookView> {
  const { rows } = await q.query(`${VIEW_SQL} WHERE w.id = $1`, [id]);
  if (!rows[0] || !visible(p, Number(rows[0].institution_id))) throw notFound('webhook');
  return view(rows[0]);
}

export async function listWebhooks(q: Queryable, p: Principal): Promise<WebhookView[]> {
  const all = hasRole(p, 'district_admin') && p.tokenInstitutionId === null;
  if (!all && !hasRole(p, 'institution_admin')) throw new AppError('FORBIDDEN');
  const { rows } = await q.query(`${VIEW_SQL} WHERE w.active AND ($1::bigint IS NULL OR w.institution_id = $1) ORDER BY w.id`, [all ? null : (p.tokenInstitutionId ?? p.institutionId)]);
  return rows.map(view);
}

export async function deactivateWebhook(q: Queryable, p: Principal, id: number): Promise<void> {
  await getWebhook(q, p, id);
  await q.query('UPDATE webhook SET active = false WHERE id = $1', [id]);
}

export interface DeliveryView {
  id: number;
  event: string;
  attempts: number;
  deliveredAt: string | null;
  failedAt: string | null;
  nextAttemptAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: string;
}

export async function listDeliveries(q: Queryable, p: Principal, webhookId: number, page: number, pageSize: number) {
  await getWebhook(q, p, webhookId);
  const { rows } = await q.query(
    'SELECT id, event, attempts, delivered_at, failed_at, next_attempt_at, last_status, last_error, created_at FROM webhook_delivery WHERE webhook_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3',
    [webhookId, pageSize, (page - 1) * pageSize],
  );
  const total = await q.query<{ n: number }>('SELECT count(*)::int AS n FROM webhook_delivery WHERE webhook_id = $1', [webhookId]);
  const iso = (v: unknown) => (v ? new Date(v as string).toISOString() : null);
  const items: DeliveryView[] = rows.map((r) => ({
    id: Number(r.id), event: r.event, attempts: r.attempts, deliveredAt: iso(r.delivered_at), failedAt: iso(r.failed_at),
    nextAttemptAt: r.delivered_at || r.failed_at ? null : iso(r.next_attempt_at), lastStatus: r.last_status, lastError: r.last_error, createdAt: iso(r.created_at)!,
  }));
  return { items, total: total.rows[0].n, page, pageSize };
}

/** Set when a delivery was queued since the sender last ran: a kick without news costs nothing. */
let queuedSinceKick = false;

/** Queues `event` for the active webhooks of these institutions that want it (in the caller's transaction). */
export async function enqueue(q: Queryable, institutionIds: number[], event: WebhookEvent, payload: Record<string, unknown>): Promise<number> {
  const v = new Params();
  const { rowCount } = await q.query(enqueueSql(v, institutionIds, event, payload), v.values);
  noteQueued(rowCount);
  return rowCount;
}

/**
 * enqueue as SQL text (`INSERT … RETURNING 1`), for a caller that folds it into a larger statement; the caller
 * passes the number of rows it inserted to noteQueued. `when` is a condition the insert also needs.
 */
export function enqueueSql(v: Params, institutionIds: number[], event: WebhookEvent, payload: Record<string, unknown>, when = 'TRUE'): string {
  const ev = v.add(event);
  return `INSERT INTO webhook_delivery (webhook_id, event, payload)
     SELECT w.id, ${ev}, ${v.add(JSON.stringify({ event, occurredAt: new Date().toISOString(), ...payload }))}::jsonb FROM webhook w
      WHERE w.active AND w.institution_id = ANY(${v.add([...new Set(institutionIds)])}::bigint[]) AND (cardinality(w.events) = 0 OR ${ev} = ANY(w.events)) AND ${when}
     RETURNING 1`;
}

/** Deliveries were queued: the next kick sends them. */
export function noteQueued(count: number): void {
  if (count > 0) queuedSinceKick = true;
}

/**
 * Sends the deliveries that are due: each is claimed (its next attempt pushed out by a lease) before the request, so two
 * senders never post the same delivery at once, then marked delivered, or rescheduled with back-off, or given up.
 */
export async function deliverDue(db: Db, keys: Keys, opts: { limit?: number; now?: Date; fetch?: typeof fetch } = {}): Promise<{ sent: number; failed: number }> {
  const send = opts.fetch ?? fetch;
  const now = opts.now ?? new Date();
  const claimed = await db.query(
    `UPDATE webhook_delivery d SET next_attempt_at = $2::timestamptz + make_interval(secs => $3), attempts = d.attempts + 1
      FROM webhook w
     WHERE d.id IN (SELECT id FROM webhook_delivery WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $2 ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED)
       AND w.id = d.webhook_id
    RETURNING d.id, d.event, d.payload, d.attempts, w.url, w.secret_enc, w.active`,
    [opts.limit ?? 50, now, LEASE_MS / 1000],
  );
  let sent = 0, failed = 0;
  await Promise.all(claimed.rows.map(async (d) => {
    if (!d.active) {
      await db.query("UPDATE webhook_delivery SET failed_at = now(), last_error = 'webhook deactivated' WHERE id = $1", [d.id]);
      return;
    }
    const body = JSON.stringify({ id: Number(d.id), ...d.payload });
    let status: number | null = null;
    let error: string | null = null;
    try {
      const res = await send(d.url, {
        method: 'POST', body, redirect: 'manual', signal: AbortSignal.timeout(TIMEOUT_MS),
        headers: {
          'content-type': 'application/json', 'user-agent': 'CareGrid-Webhook/1', 'x-caregrid-event': d.event, 'x-caregrid-delivery': String(d.id),
          'x-caregrid-signature': signature(decryptField(keys, d.secret_enc), body, Math.floor(Date.now() / 1000)),
        },
      });
      status = res.status;
      await res.body?.cancel();
      if (status < 200 || status >= 300) error = `HTTP ${status}`;
    } catch (err) {
      error = err instanceof Error ? err.name === 'TimeoutError' ? 'timed out' : (err.cause as Error | undefined)?.message ?? err.message : String(err);
    }
    if (!error) {
      sent++;
      await db.query('UPDATE webhook_delivery SET delivered_at = now(), last_status = $2, last_error = NULL WHERE id = $1', [d.id, status]);
    } else {
      failed++;
      const giveUp = d.attempts >= MAX_ATTEMPTS;
      await db.query(
        `UPDATE webhook_delivery SET last_status = $2, last_error = $3, failed_at = CASE WHEN $4 THEN now() END,
                next_attempt_at = now() + make_interval(secs => $5) WHERE id = $1`,
        [d.id, status, error.slice(0, 300), giveUp, backoffMs(d.attempts) / 1000],
      );
    }
  }));
  return { sent, failed };
}

/** The sender loop: every `intervalMs`, and at once when `kick` is called after a commit that queued events. */
export function startWebhookJob(db: Db, keys: Keys, onError: (err: unknown) => void, intervalMs = 5_000): PeriodicJob {
  const job = startPeriodicJob(() => deliverDue(db, keys), onError, intervalMs, { runAtStart: false });
  return {
    kick() {
      if (!queuedSinceKick) return;
      queuedSinceKick = false;
      job.kick();
    },
    stop: job.stop,
  };
}
