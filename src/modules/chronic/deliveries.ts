// Home delivery of medicines (送药上门) for a prescription: requested → dispatched → delivered, or cancelled / failed
// with a reason. The transitions are a table (TRANSITIONS); anything else is refused with INVALID_STATE naming both
// states. The address is the resident's in the registry when delivery is requested; lists show it masked, one
// delivery's detail shows it whole (an audited read). One open delivery per prescription (medication_delivery_open_uq).
import type { Queryable, Row } from '../../db/engine.ts';
import type * as repo from '../../fhir/repository.ts';
import { writeContext } from '../../fhir/repository.ts';
import { audit } from '../../platform/audit.ts';
import { AppError, notFound } from '../../platform/errors.ts';
import { hasRole } from '../../platform/principal.ts';
import { prescriptionRow, residentInScope, scopedPage } from './prescriptions.ts';

export const DELIVERY_STATUSES = ['requested', 'dispatched', 'delivered', 'cancelled', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** The state machine: from each state, the states it may move to. Delivered, cancelled and failed are final. */
export const TRANSITIONS: Record<DeliveryStatus, readonly DeliveryStatus[]> = {
  requested: ['dispatched', 'cancelled'],
  dispatched: ['delivered', 'failed', 'cancelled'],
  delivered: [],
  cancelled: [],
  failed: [],
};
/** Moves that need a reason. */
const NEEDS_REASON: readonly DeliveryStatus[] = ['cancelled', 'failed'];
const STAMP: Partial<Record<DeliveryStatus, string>> = { dispatched: 'dispatched_at', delivered: 'delivered_at', cancelled: 'cancelled_at', failed: 'failed_at' };
const WRITERS = ['family_doctor', 'nurse', 'institution_admin', 'district_admin'] as const;

/** Whether a delivery may move from one state to another (pure; the service refuses what this refuses). */
export function mayMove(from: DeliveryStatus, to: DeliveryStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** An address with its house, unit and room numbers hidden (lists): the street and community stay readable. */
export function maskAddress(address: string | null): string | null {
  return address === null ? null : address.replace(/\d/g, '*');
}

function toDelivery(r: Row, full: boolean) {
  const iso = (d: unknown) => (d ? new Date(d as string).toISOString() : null);
  return {
    id: Number(r.id), version: Number(r.version), status: r.status as DeliveryStatus, prescriptionId: Number(r.prescription_id),
    resident: { id: Number(r.resident_id), name: r.resident_name as string },
    institution: { id: Number(r.institution_id), name: r.institution_name as string }, team: r.team_id === null ? null : { id: Number(r.team_id), name: r.team_name as string },
    address: full ? (r.address ?? null) : maskAddress(r.address ?? null), addressMasked: !full,
    note: r.note ?? null, courier: r.courier ?? null, trackingNo: r.tracking_no ?? null, reason: r.reason ?? null,
    requestedAt: iso(r.requested_at)!, dispatchedAt: iso(r.dispatched_at), deliveredAt: iso(r.delivered_at), cancelledAt: iso(r.cancelled_at), failedAt: iso(r.failed_at),
    actions: [...TRANSITIONS[r.status as DeliveryStatus]],
  };
}
export type Delivery = ReturnType<typeof toDelivery>;

const SELECT = 'd.*, r.name AS resident_name, i.name AS institution_name, tm.name AS team_name';
const FROM = 'medication_delivery d JOIN resident r ON r.id = d.resident_id JOIN institution i ON i.id = d.institution_id LEFT JOIN team tm ON tm.id = d.team_id';

async function deliveryRow(q: Queryable, id: number, forUpdate = false): Promise<Row> {
  const { rows } = await q.query(`SELECT ${SELECT} FROM ${FROM} WHERE d.id = $1${forUpdate ? ' FOR UPDATE OF d' : ''}`, [id]);
  if (!rows[0]) throw Object.assign(notFound('delivery'), { field: 'id' });
  return rows[0];
}

/** Requests delivery of a prescription to the resident's registered address (idempotent on sourceId). */
export async function requestDelivery(rc: repo.RequestContext, input: { prescriptionId: number; note?: string | null; sourceId?: string | null }): Promise<{ delivery: Delivery; created: boolean }> {
  const p = rc.principal;
  if (!hasRole(p, ...WRITERS)) throw new AppError('FORBIDDEN');
  const institutionId = await writeContext(rc).recordingInstitution(null, 'institution');
  if (input.sourceId) {
    const { rows } = await rc.q.query('SELECT id FROM medication_delivery WHERE institution_id = $1 AND source_id = $2', [institutionId, input.sourceId]);
    if (rows[0]) return { delivery: toDelivery(await deliveryRow(rc.q, Number(rows[0].id)), true), created: false };
  }
  const rx = await prescriptionRow(rc.q, input.prescriptionId, true);
  const resident = await residentInScope(rc, Number(rx.resident_id), { action: 'create', resourceType: 'MedicationDelivery' }, 'prescriptionId');
  if (rx.cancelled_at) rx.status = 'cancelled'; // a cancellation committed while this waited for the lock
  if (rx.status !== 'active') throw Object.assign(new AppError('INVALID_STATE', { detail: { zh: `处方状态为 ${rx.status}`, en: `the prescription is ${rx.status}` } }), { field: 'prescriptionId' });
  const open = await rc.q.query("SELECT id FROM medication_delivery WHERE prescription_id = $1 AND status IN ('requested', 'dispatched')", [input.prescriptionId]);
  if (open.rows[0]) throw Object.assign(new AppError('INVALID_STATE', { detail: { zh: `该处方已有进行中的送药 #${open.rows[0].id}`, en: `delivery #${open.rows[0].id} of this prescription is still open` } }), { field: 'prescriptionId' });
  // the registry's address: the resident's own, else their household's
  const address = resident.address ?? (resident.household_id ? (await rc.q.query('SELECT address FROM household WHERE id = $1', [resident.household_id])).rows[0]?.address ?? null : null);
  if (!address) throw new AppError('UNPROCESSABLE', { detail: { zh: '居民档案中没有住址', en: 'the resident has no address in the registry' } }, 'prescriptionId');
  const { rows } = await rc.q.query(
    `INSERT INTO medication_delivery (resident_id, prescription_id, institution_id, team_id, status, address, note, requested_by, source_id, updated_by)
     VALUES ($1, $2, $3, $4, 'requested', $5, $6, $7, $8, $7) RETURNING id`,
    [rx.resident_id, input.prescriptionId, institutionId, rx.team_id, address, input.note ?? null, p.userId, input.sourceId ?? null],
  );
  const id = Number(rows[0].id);
  await audit(rc.q, rc.audit, { action: 'create', resourceType: 'MedicationDelivery', resourceId: id, residentId: Number(rx.resident_id) });
  return { delivery: toDelivery(await deliveryRow(rc.q, id), true), created: true };
}

export interface Transition { status: DeliveryStatus; reason?: string | null; courier?: string | null; trackingNo?: string | null; version?: number }

/** Moves a delivery along the state machine, stamping the time of the new state. */
export async function moveDelivery(rc: repo.RequestContext, id: number, t: Transition): Promise<Delivery> {
  const p = rc.principal;
  if (!hasRole(p, ...WRITERS)) throw new AppError('FORBIDDEN');
  const row = await deliveryRow(rc.q, id, true);
  await residentInScope(rc, Number(row.resident_id), { action: 'update', resourceType: 'MedicationDelivery' }, 'id');
  if (t.version !== undefined && Number(row.version) !== t.version) throw new AppError('STALE_VERSION', {}, 'version');
  const from = row.status as DeliveryStatus;
  if (!mayMove(from, t.status)) throw Object.assign(new AppError('INVALID_STATE', { detail: { zh: `送药状态 ${from} 不能变为 ${t.status}`, en: `a ${from} delivery cannot become ${t.status}` } }), { field: 'status' });
  if (NEEDS_REASON.includes(t.status) && !t.reason) throw new AppError('VALIDATION_FAILED', { detail: { zh: '请填写原因', en: 'a reason is required' } }, 'reason');
  await rc.q.query(
    `UPDATE medication_delivery SET status = $2, ${STAMP[t.status]} = now(), reason = coalesce($3, reason), courier = coalesce($4, courier), tracking_no = coalesce($5, tracking_no), updated_by = $6
      WHERE id = $1`,
    [id, t.status, t.reason ?? null, t.courier ?? null, t.trackingNo ?? null, p.userId],
  );
  await audit(rc.q, rc.audit, { action: 'update', resourceType: 'MedicationDelivery', resourceId: id, residentId: Number(row.resident_id), purpose: t.status });
  return toDelivery(await deliveryRow(rc.q, id), true);
}

export async function getDelivery(rc: repo.RequestContext, id: number): Promise<Delivery> {
  const row = await deliveryRow(rc.q, id);
  await residentInScope(rc, Number(row.resident_id), { action: 'read', resourceType: 'MedicationDelivery' }, 'id');
  await audit(rc.q, rc.audit, { action: 'read', resourceType: 'MedicationDelivery', resourceId: id, residentId: Number(row.resident_id) });
  return toDelivery(row, true);
}

export interface DeliveryFilter { status?: DeliveryStatus; teamId?: number; institutionId?: number; residentId?: number; prescriptionId?: number; page: number; pageSize: number }

/** Deliveries of the residents the caller may see (a team its residents', a centre its area's), newest first, addresses masked. */
export async function listDeliveries(rc: repo.RequestContext, f: DeliveryFilter) {
  const { rows, ...page } = await scopedPage(rc, f, {
    resourceType: 'MedicationDelivery', select: SELECT, from: FROM, order: 'd.id DESC',
    filters: (v) => [
      f.status && `d.status = ${v.add(f.status)}`, f.teamId && `d.team_id = ${v.add(f.teamId)}`, f.institutionId && `d.institution_id = ${v.add(f.institutionId)}`,
      f.residentId && `d.resident_id = ${v.add(f.residentId)}`, f.prescriptionId && `d.prescription_id = ${v.add(f.prescriptionId)}`,
    ],
  });
  return { items: rows.map((r) => toDelivery(r, false)), ...page };
}
