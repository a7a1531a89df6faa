// Slot pools (号源池) for two-way referral: a hospital's referral desk publishes a specialist session as a schedule
// with its slots, a share of them reserved for referrals from primary care (基层预留号源, seed 001: on average 30%),
// and a release rule: reserved slots still free N hours before their start (default 48) are opened to everyone.
// Pools are the `schedule` and `slot` tables the FHIR facade serves as Schedule and Slot; booking goes through the
// Appointment kind, whose write locks and claims the slot (fhir/resources/booking.ts).
import { startPeriodicJob, type PeriodicJob } from '../../platform/jobs.ts';
import type { Db, Queryable, Row } from '../../db/engine.ts';
import { AppError, notFound } from '../../platform/errors.ts';
import { hasRole, type Principal } from '../../platform/principal.ts';
import { Params } from '../../platform/sql.ts';
import { DEFAULT_RELEASE_HOURS, DEFAULT_RESERVED_SHARE } from '../../fhir/resources/booking.ts';

/** Institutions that run specialist clinics and publish slot pools. */
export const HOSPITAL_TYPES = ['tertiary_hospital', 'secondary_hospital', 'tcm_hospital', 'mch_hospital', 'specialty_hospital'];
/** How often the server applies the release rule (it is also applied whenever pools are listed or a slot is booked). */
export const RELEASE_INTERVAL_MS = 5 * 60_000;
/** The district's local time: sessions are published as Beijing dates and clock times. */
const UTC_OFFSET = '+08:00';

export interface PoolInput {
  institutionId?: number;
  department: string;
  practitionerId?: number | null;
  /** YYYY-MM-DD, local date */
  date: string;
  /** HH:MM, local time */
  startTime: string;
  endTime: string;
  /** give one of slotMinutes and capacity */
  slotMinutes?: number;
  capacity?: number;
  reservedShare?: number;
  releaseHours?: number;
  comment?: string | null;
}

export interface SlotPlan {
  start: Date;
  end: Date;
  reserved: boolean;
}

/** How many of `capacity` places are reserved: ceil(share × capacity) (a share of 30% of 20 places keeps 6). */
export function reservedCount(capacity: number, share: number): number {
  return Math.min(capacity, Math.ceil(capacity * share - 1e-9));
}

/**
 * The slots of a session: `capacity` equal places from start to end (or as many `slotMinutes` places as fit), the
 * reserved ones spread evenly over the session so primary care gets early and late times alike. The first place is
 * general unless every place is reserved.
 */
export function planSlots(start: Date, end: Date, opts: { slotMinutes?: number; capacity?: number; reservedShare: number }): SlotPlan[] {
  const span = end.getTime() - start.getTime();
  const minute = 60_000;
  const length = opts.slotMinutes ? opts.slotMinutes * minute : Math.floor(span / opts.capacity! / minute) * minute;
  const n = opts.slotMinutes ? Math.floor(span / length) : opts.capacity!;
  if (length < 5 * minute || n < 1) throw new AppError('VALIDATION_FAILED', { detail: 'a slot must last at least 5 minutes within the session' }, opts.slotMinutes ? 'slotMinutes' : 'capacity');
  const r = reservedCount(n, opts.reservedShare);
  return Array.from({ length: n }, (_, i) => ({
    start: new Date(start.getTime() + i * length),
    end: new Date(start.getTime() + (i + 1) * length),
    reserved: Math.floor(((i + 1) * r) / n) > Math.floor((i * r) / n),
  }));
}

/** The caller's hospital (a district admin names it): the referral desk or administrator publishes for their own. */
async function publishingInstitution(q: Queryable, p: Principal, named: number | undefined): Promise<number> {
  const own = p.tokenInstitutionId ?? p.institutionId;
  let id: number | null;
  if (hasRole(p, 'district_admin') && p.tokenInstitutionId === null) id = named ?? null;
  else if (hasRole(p, 'referral_desk', 'institution_admin')) {
    if (named !== undefined && named !== own) throw new AppError('WRONG_INSTITUTION', {}, 'institutionId');
    id = own;
  } else throw new AppError('FORBIDDEN');
  if (!id) throw new AppError('VALIDATION_FAILED', { detail: 'institutionId is required' }, 'institutionId');
  const { rows } = await q.query('SELECT type FROM institution WHERE id = $1', [id]);
  if (!rows[0]) throw new AppError('NOT_FOUND', { noun: 'institution' });
  if (!HOSPITAL_TYPES.includes(rows[0].type)) throw new AppError('FORBIDDEN');
  return id;
}

/** Publishes a pool: the Schedule and its Slots, ceil(share × capacity) of them reserved for primary care. */
export async function publishPool(q: Queryable, p: Principal, input: PoolInput, now = new Date()): Promise<PoolView & { slots: SlotView[] }> {
  const institutionId = await publishingInstitution(q, p, input.institutionId);
  if (input.practitionerId) {
    const { rows } = await q.query('SELECT institution_id FROM practitioner WHERE id = $1', [input.practitionerId]);
    if (!rows[0]) throw new AppError('NOT_FOUND', { noun: 'practitioner' });
    if (Number(rows[0].institution_id) !== institutionId) throw new AppError('VALIDATION_FAILED', { detail: 'the practitioner works at another institution' }, 'practitionerId');
  }
  if ((input.slotMinutes === undefined) === (input.capacity === undefined)) throw new AppError('VALIDATION_FAILED', { detail: 'give slotMinutes or capacity' }, 'capacity');
  const start = new Date(`${input.date}T${input.startTime}:00${UTC_OFFSET}`);
  const end = new Date(`${input.date}T${input.endTime}:00${UTC_OFFSET}`);
  if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime())) throw new AppError('VALIDATION_FAILED', { detail: 'not a valid date or time' }, 'date');
  if (end <= start) throw new AppError('VALIDATION_FAILED', { detail: 'the session ends before it starts' }, 'endTime');
  if (start <= now) throw new AppError('VALIDATION_FAILED', { detail: 'the session has already started' }, 'startTime');
  const share = input.reservedShare ?? DEFAULT_RESERVED_SHARE;
  const releaseHours = input.releaseHours ?? DEFAULT_RELEASE_HOURS;
  const plan = planSlots(start, end, { slotMinutes: input.slotMinutes, capacity: input.capacity, reservedShare: share });
  const sched = await q.query(
    `INSERT INTO schedule (institution_id, practitioner_id, department, planning_start, planning_end, comment, reserved_share, release_hours)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
    [institutionId, input.practitionerId ?? null, input.department, start, end, input.comment ?? null, share, releaseHours],
  );
  const scheduleId = Number(sched.rows[0].id);
  await insertSlots(q, [{ scheduleId, institutionId, releaseHours, slots: plan }]);
  return getPool(q, scheduleId, now);
}

/** Inserts the slots of several pools in one statement (the seed loads every pool of the district with it). */
export async function insertSlots(q: Queryable, pools: { scheduleId: number; institutionId: number; releaseHours: number; slots: SlotPlan[] }[]): Promise<void> {
  const sched: number[] = [], inst: number[] = [], starts: string[] = [], ends: string[] = [], reserved: boolean[] = [], release: number[] = [];
  for (const pool of pools) {
    for (const s of pool.slots) {
      sched.push(pool.scheduleId);
      inst.push(pool.institutionId);
      starts.push(s.start.toISOString());
      ends.push(s.end.toISOString());
      reserved.push(s.reserved);
      release.push(pool.releaseHours);
    }
  }
  if (!sched.length) return;
  await q.query(
    `INSERT INTO slot (schedule_id, institution_id, status, start_at, end_at, reserved_for, release_at)
     SELECT s, i, 'free', st, en, CASE WHEN r THEN 'primary_care' END, CASE WHEN r THEN st - make_interval(hours => h) END
       FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::timestamptz[], $5::boolean[], $6::int[]) AS x(s, i, st, en, r, h)
      ORDER BY st, s`,
    [sched, inst, starts, ends, reserved, release],
  );
}

/**
 * The release rule: reserved slots still free at their release time (start − the pool's release hours) become general
 * slots. `released_at` is the release time itself, so the record does not depend on when this ran. Returns how many.
 */
export async function releaseReservedSlots(q: Queryable, now: Date = new Date()): Promise<number> {
  const { rowCount } = await q.query(
    `UPDATE slot SET released_at = release_at
      WHERE reserved_for IS NOT NULL AND released_at IS NULL AND release_at <= $1 AND status = 'free'`,
    [now],
  );
  return rowCount;
}

/** Applies the release rule every `intervalMs` (and once at once); `stop` waits for a run in progress. */
export function startReleaseJob(db: Db, onError: (err: unknown) => void, intervalMs = RELEASE_INTERVAL_MS): PeriodicJob {
  return startPeriodicJob(() => releaseReservedSlots(db), onError, intervalMs);
}

// ── reading ──

export interface PoolView {
  id: number;
  institutionId: number;
  institutionName: string;
  department: string | null;
  practitionerId: number | null;
  practitionerName: string | null;
  start: string;
  end: string;
  reservedShare: number;
  releaseHours: number;
  comment: string | null;
  capacity: number;
  free: number;
  booked: number;
  reserved: number;
  reservedFree: number;
  released: number;
}

export interface SlotView {
  id: number;
  start: string;
  end: string;
  status: string;
  /** 'primary_care' while the reservation is in force */
  reservedFor: string | null;
  releaseAt: string | null;
  releasedAt: string | null;
}

const POOL_SQL = `
  SELECT sc.id, sc.institution_id, i.name AS institution_name, sc.department, sc.practitioner_id, pr.name AS practitioner_name,
         sc.planning_start, sc.planning_end, coalesce(sc.reserved_share::float8, ${DEFAULT_RESERVED_SHARE}) AS reserved_share,
         coalesce(sc.release_hours, ${DEFAULT_RELEASE_HOURS}) AS release_hours, sc.comment,
         count(s.id)::int AS capacity,
         (count(*) FILTER (WHERE s.status = 'free'))::int AS free,
         (count(*) FILTER (WHERE s.status IN ('busy', 'busy-tentative')))::int AS booked,
         (count(*) FILTER (WHERE s.reserved_for IS NOT NULL))::int AS reserved,
         (count(*) FILTER (WHERE s.status = 'free' AND s.reserved_for IS NOT NULL AND s.released_at IS NULL AND s.release_at > $1))::int AS reserved_free,
         (count(*) FILTER (WHERE s.released_at IS NOT NULL))::int AS released
    FROM schedule sc
    JOIN institution i ON i.id = sc.institution_id
    LEFT JOIN practitioner pr ON pr.id = sc.practitioner_id
    LEFT JOIN slot s ON s.schedule_id = sc.id`;

const iso = (v: unknown) => (v ? new Date(v as string).toISOString() : null);

function poolView(r: Row): PoolView {
  return {
    id: Number(r.id), institutionId: Number(r.institution_id), institutionName: r.institution_name, department: r.department,
    practitionerId: r.practitioner_id === null ? null : Number(r.practitioner_id), practitionerName: r.practitioner_name ?? null,
    start: iso(r.planning_start)!, end: iso(r.planning_end)!, reservedShare: Number(r.reserved_share), releaseHours: Number(r.release_hours), comment: r.comment,
    capacity: r.capacity, free: r.free, booked: r.booked, reserved: r.reserved, reservedFree: r.reserved_free, released: r.released,
  };
}

export interface PoolFilter {
  institutionId?: number;
  department?: string;
  practitionerId?: number;
  /** YYYY-MM-DD (local); default: pools not yet over */
  from?: string;
  to?: string;
  /** only pools with a free place */
  hasFree?: boolean;
  page: number;
  pageSize: number;
}

/** Pools with their counts, soonest first. The release rule is applied first, so counts never wait for the job. */
export async function listPools(q: Queryable, f: PoolFilter, now = new Date()): Promise<{ items: PoolView[]; total: number; page: number; pageSize: number }> {
  await releaseReservedSlots(q, now);
  const params = new Params();
  params.add(now);
  const where: string[] = [];
  if (f.institutionId !== undefined) where.push(`sc.institution_id = ${params.add(f.institutionId)}`);
  if (f.practitionerId !== undefined) where.push(`sc.practitioner_id = ${params.add(f.practitionerId)}`);
  if (f.department) where.push(`sc.department LIKE ${params.add(f.department.replace(/[\\%_]/g, (x) => '\\' + x) + '%')}`);
  where.push(f.from ? `sc.planning_end >= ${params.add(`${f.from}T00:00:00${UTC_OFFSET}`)}::timestamptz` : 'sc.planning_end >= $1');
  if (f.to) where.push(`sc.planning_start < ${params.add(`${f.to}T00:00:00${UTC_OFFSET}`)}::timestamptz + interval '1 day'`);
  where.push('sc.reserved_share IS NOT NULL OR EXISTS (SELECT 1 FROM slot x WHERE x.schedule_id = sc.id)');
  const having = f.hasFree ? "HAVING count(*) FILTER (WHERE s.status = 'free') > 0" : '';
  const base = `${POOL_SQL} WHERE ${where.map((w) => `(${w})`).join(' AND ')} GROUP BY sc.id, i.name, pr.name ${having}`;
  const countParams = [...params.values];
  const list = await q.query(`${base} ORDER BY sc.planning_start, sc.id LIMIT ${params.add(f.pageSize)} OFFSET ${params.add((f.page - 1) * f.pageSize)}`, params.values);
  const total = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM (${base}) x`, countParams);
  return { items: list.rows.map(poolView), total: total.rows[0].n, page: f.page, pageSize: f.pageSize };
}

/** One pool with its slots in time order (no personal data: who booked a slot is the Appointment's business). */
export async function getPool(q: Queryable, id: number, now = new Date()): Promise<PoolView & { slots: SlotView[] }> {
  const { rows } = await q.query(`${POOL_SQL} WHERE sc.id = $2 GROUP BY sc.id, i.name, pr.name`, [now, id]);
  if (!rows[0]) throw notFound('slotPool');
  const slots = await q.query('SELECT id, start_at, end_at, status, reserved_for, release_at, released_at FROM slot WHERE schedule_id = $1 ORDER BY start_at, id', [id]);
  return {
    ...poolView(rows[0]),
    slots: slots.rows.map((s) => ({
      id: Number(s.id), start: iso(s.start_at)!, end: iso(s.end_at)!, status: s.status,
      reservedFor: s.reserved_for && !s.released_at && new Date(s.release_at) > now ? s.reserved_for : null,
      releaseAt: iso(s.release_at), releasedAt: iso(s.released_at),
    })),
  };
}

/** The slot an appointment may be booked into: exists, else 404. */
export async function slotExists(q: Queryable, id: number): Promise<void> {
  const { rows } = await q.query('SELECT 1 FROM slot WHERE id = $1', [id]);
  if (!rows[0]) throw notFound('slot');
}
