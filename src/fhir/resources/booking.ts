// Booking a slot (号源) with an Appointment, safely under contention. The appointment's write locks the slot row
// (SELECT … FOR UPDATE) before anything is stored, so bookings of one slot run one after another: the first finds it
// free and marks it busy, the others find it busy and get SLOT_TAKEN (409) — all in the write's transaction, so a
// refused booking leaves nothing behind. The partial unique index appointment_slot_uq backs this up for writers that
// do not take the lock (bulk import); errors.ts maps its violation to the same 409.
import type { Queryable, Row } from '../../db/engine.ts';
import { AppError } from '../../platform/errors.ts';
import { PRIMARY_CARE, hasRole, type Principal } from '../../platform/principal.ts';
import type { WriteContext } from '../types.ts';

/** Appointment statuses that no longer hold their slot (the same list as appointment_slot_uq). */
export const RELEASING_STATUSES = ['cancelled', 'noshow', 'entered-in-error'];
/** FHIR Slot.status while a proposed or pending appointment holds it: "busy-tentative"; otherwise "busy". */
const TENTATIVE = ['proposed', 'pending', 'waitlist'];

/** Default share of a pool kept for primary care (seed 001: on average 30%) and the release lead time. */
export const DEFAULT_RESERVED_SHARE = 0.3;
export const DEFAULT_RELEASE_HOURS = 48;

/** SQL over a slot alias: the slot's primary-care reservation is still in force. */
export const reservationInForceSql = (a: string) => `${a}.reserved_for IS NOT NULL AND ${a}.released_at IS NULL AND ${a}.release_at > now()`;
export const RESERVATION_IN_FORCE_SQL = reservationInForceSql('t');

/** Whether a slot row's reservation is still in force at `now`. */
export function reservationInForce(slot: Row, now = new Date()): boolean {
  return !!slot.reserved_for && !slot.released_at && !!slot.release_at && new Date(slot.release_at) > now;
}

/**
 * Whether the caller books for primary care: family doctors and nurses (team members of a community centre), and
 * the administrators and desks of a primary-care institution.
 */
export async function isPrimaryCare(q: Queryable, p: Principal): Promise<boolean> {
  if (hasRole(p, 'family_doctor', 'nurse')) return true;
  const institution = p.tokenInstitutionId ?? p.institutionId;
  if (!institution || !hasRole(p, 'institution_admin', 'referral_desk')) return false;
  const { rows } = await q.query('SELECT type FROM institution WHERE id = $1', [institution]);
  return primaryCareCaller(p, rows[0]?.type ?? null);
}

/** isPrimaryCare with the type of the caller's institution already read. */
export function primaryCareCaller(p: Principal, institutionType: string | null): boolean {
  return hasRole(p, 'family_doctor', 'nurse') || (hasRole(p, 'institution_admin', 'referral_desk') && PRIMARY_CARE.includes(institutionType as string));
}

/** A referral from primary care: the order the appointment fulfils was written by a primary-care institution. */
async function referredByPrimaryCare(q: Queryable, serviceRequestId: number | null): Promise<boolean> {
  if (!serviceRequestId) return false;
  const { rows } = await q.query('SELECT i.type FROM service_request sr JOIN institution i ON i.id = sr.institution_id WHERE sr.id = $1', [serviceRequestId]);
  return PRIMARY_CARE.includes(rows[0]?.type);
}

const holds = (slotId: unknown, status: unknown): number | null => (slotId && !RELEASING_STATUSES.includes(status as string) ? (slotId as number) : null);

/** The stored appointment this write replaces: the updated row, or the one a create matches by the sender's identifier. */
async function previousOf(q: Queryable, values: Record<string, unknown>, existing: Row | null): Promise<Row | null> {
  if (existing) return existing;
  if (!values.source_id) return null;
  const { rows } = await q.query('SELECT id, slot_id, status FROM appointment WHERE institution_id = $1 AND source_id = $2 FOR UPDATE', [values.institution_id, values.source_id]);
  return rows[0] ?? null;
}

/**
 * Claims and frees slots for an appointment write (Appointment's beforeWrite): the slot it held is freed when it is
 * cancelled or moved, the slot it now takes is claimed. Slots are locked in id order so two moves never deadlock.
 */
export async function bookSlot(values: Record<string, unknown>, ctx: WriteContext, existing: Row | null): Promise<void> {
  const q = ctx.q;
  const prev = await previousOf(q, values, existing);
  const before = prev ? holds(prev.slot_id, prev.status) : null;
  const after = holds(values.slot_id, values.status);
  if (!before && !after) return;
  const ids = [...new Set([before, after].filter((x): x is number => x !== null))].sort((a, b) => a - b);
  const { rows } = await q.query('SELECT id, status, reserved_for, release_at, released_at, start_at FROM slot WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE', [ids]);
  const slot = (id: number) => rows.find((r) => Number(r.id) === id)!;
  const busy = TENTATIVE.includes(values.status as string) ? 'busy-tentative' : 'busy';
  if (before && before !== after) {
    // only a slot this appointment made busy is freed; one the desk closed (busy-unavailable) stays closed
    await q.query("UPDATE slot SET status = 'free' WHERE id = $1 AND status IN ('busy', 'busy-tentative')", [before]);
  }
  if (!after) return;
  const s = slot(after);
  if (before === after) {
    if (s.status !== busy && (s.status === 'busy' || s.status === 'busy-tentative')) await q.query('UPDATE slot SET status = $2 WHERE id = $1', [after, busy]);
    return;
  }
  if (s.status !== 'free') throw new AppError('SLOT_TAKEN', {}, 'Appointment.slot[0]');
  const now = new Date();
  if (reservationInForce(s, now) && !(await isPrimaryCare(q, ctx.principal)) && !(await referredByPrimaryCare(q, values.service_request_id as number | null))) {
    throw new AppError('SLOT_RESERVED', { releaseAt: localTime(s.release_at) }, 'Appointment.slot[0]');
  }
  // a reservation that has lapsed is released now (lazily), whether or not the release job has run
  const lapsed = s.reserved_for && !s.released_at && !reservationInForce(s, now);
  await q.query(`UPDATE slot SET status = $2${lapsed ? ', released_at = release_at' : ''} WHERE id = $1`, [after, busy]);
}

/** Beijing time for messages, e.g. 2026-12-01 09:00. */
export function localTime(at: Date | string): string {
  return new Date(new Date(at).getTime() + 8 * 3600_000).toISOString().slice(0, 16).replace('T', ' ');
}
