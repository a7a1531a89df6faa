// Medication coupons (用药券) for managed chronic patients: each year a managed (enrolled) resident is issued
// chronic.coupons_per_year coupons of chronic.coupon_value_yuan each (seed 004: 12 of 10 yuan), on demand or by the
// yearly issue, once per resident and year (coupon_ledger_issue_uq). Coupons are redeemed against a prescription and
// a redemption can be voided. Every event is a row of coupon_ledger; the balance is the ledger's sum:
// issued − redeemed + voided. Redemptions of one resident and year queue on the row lock of that year's issue row,
// so concurrent redemptions never overdraw.
//
// Contents: settings · issuing · balance · redeeming · voiding · ledger
import type { Db, Queryable, Row } from '../../db/engine.ts';
import { startPeriodicJob, type PeriodicJob } from '../../platform/jobs.ts';
import type * as repo from '../../fhir/repository.ts';
import { writeContext } from '../../fhir/repository.ts';
import { residentScopeSql } from '../../platform/access.ts';
import { audit } from '../../platform/audit.ts';
import { AppError, notFound } from '../../platform/errors.ts';
import { hasRole } from '../../platform/principal.ts';
import { Params } from '../../platform/sql.ts';
import { onResidentMerge } from '../residents/service.ts';
import { prescriptionRow, residentInScope, scopedPage } from './prescriptions.ts';
import { districtDate } from '../../platform/local-date.ts';

const WRITERS = ['family_doctor', 'nurse', 'institution_admin', 'district_admin'] as const;
export const LEDGER_KINDS = ['issue', 'redeem', 'void'] as const;

// ── settings ──

export async function couponSettings(q: Queryable): Promise<{ perYear: number; valueYuan: number }> {
  const { rows } = await q.query("SELECT key, value FROM setting WHERE key IN ('chronic.coupons_per_year', 'chronic.coupon_value_yuan')");
  const get = (k: string, d: number) => {
    const n = Number(rows.find((r) => r.key === k)?.value);
    return Number.isFinite(n) && n >= 0 ? n : d;
  };
  return { perYear: get('chronic.coupons_per_year', 12), valueYuan: get('chronic.coupon_value_yuan', 10) };
}

/** The current year in Beijing. */
async function thisYear(_q: Queryable): Promise<number> {
  return Number(districtDate().slice(0, 4));
}

// ── issuing ──

/**
 * Issues a year's coupons to the managed residents matched by `where` (SQL over the resident r) that have none for the
 * year yet, in one statement; returns the residents issued to. The row names the managing institution: the contracted
 * team's, else the institution whose diagnosis enrolled them.
 */
async function issueWhere(q: Queryable, year: number, userId: number | null, where: string, v: Params): Promise<number[]> {
  const s = await couponSettings(q);
  if (s.perYear <= 0) return [];
  const { rows } = await q.query(
    `INSERT INTO coupon_ledger (resident_id, year, kind, count, amount_yuan, institution_id, user_id, note)
     SELECT r.id, ${v.add(year)}::int, 'issue', ${v.add(s.perYear)}::int, ${v.add(s.perYear * s.valueYuan)}::numeric,
            coalesce((SELECT c.institution_id FROM contract c WHERE c.resident_id = r.id AND c.status = 'active' ORDER BY c.id DESC LIMIT 1),
                     (SELECT e.institution_id FROM chronic_enrolment e WHERE e.resident_id = r.id AND e.status = 'active' ORDER BY e.id LIMIT 1)),
            ${v.add(userId)}::bigint, 'annual issue'
       FROM resident r
      WHERE r.status <> 'merged' AND EXISTS (SELECT 1 FROM chronic_enrolment e WHERE e.resident_id = r.id AND e.status = 'active') AND ${where}
        AND NOT EXISTS (SELECT 1 FROM coupon_ledger x WHERE x.resident_id = r.id AND x.year = ${v.add(year)}::int AND x.kind = 'issue')
     ON CONFLICT (resident_id, year) WHERE kind = 'issue' DO NOTHING
     RETURNING resident_id`,
    v.values,
  );
  return rows.map((r) => Number(r.resident_id));
}

/**
 * The yearly issue (年度发放): every managed resident within the caller's scope gets the year's coupons once. Run again,
 * it issues only to residents enrolled since; a district administrator runs it for the district.
 */
export async function issueYear(rc: repo.RequestContext, year?: number) {
  const p = rc.principal;
  if (!hasRole(p, 'district_admin', 'institution_admin')) throw new AppError('FORBIDDEN');
  const y = year ?? (await thisYear(rc.q));
  const v = new Params();
  const issued = await issueWhere(rc.q, y, p.userId, residentScopeSql(p, v, 'r'), v);
  await audit(rc.q, rc.audit, { action: 'create', resourceType: 'CouponLedger', resourceId: `issue:${y}`, purpose: `annual issue to ${issued.length} residents` });
  const s = await couponSettings(rc.q);
  return { year: y, issued: issued.length, perResident: s.perYear, valueYuan: s.valueYuan };
}

/** Issues this year's coupons to one managed resident if not yet issued (on demand); the resident's balance after. */
export async function issueToResident(rc: repo.RequestContext, residentId: number, year?: number) {
  if (!hasRole(rc.principal, ...WRITERS)) throw new AppError('FORBIDDEN');
  await residentInScope(rc, residentId, { action: 'create', resourceType: 'CouponLedger' });
  const y = year ?? (await thisYear(rc.q));
  const v = new Params();
  const issued = await issueWhere(rc.q, y, rc.principal.userId, `r.id = ${v.add(residentId)}`, v);
  if (!issued.length) await assertManaged(rc.q, residentId, y);
  await audit(rc.q, rc.audit, { action: 'create', resourceType: 'CouponLedger', residentId, purpose: `issue ${y}` });
  return { ...(await sums(rc.q, residentId, y)), created: issued.length > 0 };
}

/** A resident without an issue row for the year is not managed (nothing to issue to). */
async function assertManaged(q: Queryable, residentId: number, year: number) {
  const { rows } = await q.query("SELECT 1 FROM coupon_ledger WHERE resident_id = $1 AND year = $2 AND kind = 'issue'", [residentId, year]);
  if (!rows[0]) {
    throw new AppError('UNPROCESSABLE', { detail: { zh: '居民未纳入慢病管理，没有用药券', en: 'the resident is not a managed chronic patient and has no coupons' } }, 'residentId');
  }
}

/**
 * The yearly issue as a server job: every few hours this year's coupons go to managed residents who have none yet, so
 * the new year's arrive on its first day and a resident enrolled since gets theirs the same day. Idempotent; the first
 * run is one interval after start.
 */
export function startCouponIssueJob(db: Db, onError: (err: unknown) => void, intervalMs = 6 * 3600_000): PeriodicJob {
  return startPeriodicJob(() => runCouponIssue(db), onError, intervalMs, { runAtStart: false });
}

/** One run of the job: this year's coupons to every managed resident without them; how many were issued. */
export async function runCouponIssue(db: Db): Promise<number> {
  return (await db.tx(async (q) => issueWhere(q, await thisYear(q), null, 'TRUE', new Params()))).length;
}

// ── balance ──

async function sums(q: Queryable, residentId: number, year: number) {
  const { rows } = await q.query(
    `SELECT coalesce(sum(count) FILTER (WHERE kind = 'issue'), 0)::int AS issued, coalesce(sum(count) FILTER (WHERE kind = 'redeem'), 0)::int AS redeemed,
            coalesce(sum(count) FILTER (WHERE kind = 'void'), 0)::int AS voided,
            coalesce(sum(amount_yuan) FILTER (WHERE kind = 'issue'), 0) - coalesce(sum(amount_yuan) FILTER (WHERE kind = 'redeem'), 0) + coalesce(sum(amount_yuan) FILTER (WHERE kind = 'void'), 0) AS balance_yuan
       FROM coupon_ledger WHERE resident_id = $1 AND year = $2`,
    [residentId, year],
  );
  const r = rows[0];
  return { residentId, year, issued: r.issued, redeemed: r.redeemed, voided: r.voided, balance: r.issued - r.redeemed + r.voided, balanceYuan: Number(r.balance_yuan) };
}

export async function balance(rc: repo.RequestContext, residentId: number, year?: number) {
  await residentInScope(rc, residentId, { action: 'read', resourceType: 'CouponLedger' });
  const y = year ?? (await thisYear(rc.q));
  await audit(rc.q, rc.audit, { action: 'read', resourceType: 'CouponLedger', residentId, purpose: `balance ${y}` });
  return sums(rc.q, residentId, y);
}

// ── redeeming ──

function toEntry(r: Row) {
  return {
    id: Number(r.id), residentId: Number(r.resident_id), year: Number(r.year), kind: r.kind as (typeof LEDGER_KINDS)[number], count: Number(r.count), amountYuan: Number(r.amount_yuan),
    institution: { id: Number(r.institution_id), name: (r.institution_name ?? null) as string | null },
    prescriptionId: r.prescription_id === null ? null : Number(r.prescription_id), voidsId: r.voids_id === null ? null : Number(r.voids_id),
    user: (r.username ?? null) as string | null, at: new Date(r.at).toISOString(), sourceId: r.source_id ?? null, note: r.note ?? null,
  };
}
export type LedgerEntry = ReturnType<typeof toEntry>;

async function entry(q: Queryable, id: number): Promise<LedgerEntry> {
  const { rows } = await q.query('SELECT l.*, i.name AS institution_name, u.username FROM coupon_ledger l JOIN institution i ON i.id = l.institution_id LEFT JOIN app_user u ON u.id = l.user_id WHERE l.id = $1', [id]);
  if (!rows[0]) throw Object.assign(notFound('couponEntry'), { field: 'id' });
  return toEntry(rows[0]);
}

/** Locks the resident's issue row of the year: every change to that year's balance queues here. */
async function lockYear(q: Queryable, residentId: number, year: number): Promise<{ count: number; amount: number }> {
  const { rows } = await q.query("SELECT count, amount_yuan FROM coupon_ledger WHERE resident_id = $1 AND year = $2 AND kind = 'issue' FOR UPDATE", [residentId, year]);
  if (!rows[0]) await assertManaged(q, residentId, year);
  return { count: Number(rows[0].count), amount: Number(rows[0].amount_yuan) };
}

/**
 * Redeems coupons against a prescription at the caller's institution (idempotent on sourceId). This year's coupons are
 * issued first if the resident has none yet. 409 COUPONS_INSUFFICIENT when the balance is short.
 */
export async function redeem(rc: repo.RequestContext, input: { residentId: number; prescriptionId: number; count: number; note?: string | null; sourceId?: string | null }) {
  const p = rc.principal;
  if (!hasRole(p, ...WRITERS)) throw new AppError('FORBIDDEN');
  const institutionId = await writeContext(rc).recordingInstitution(null, 'institution');
  if (input.sourceId) {
    const { rows } = await rc.q.query('SELECT id FROM coupon_ledger WHERE institution_id = $1 AND source_id = $2', [institutionId, input.sourceId]);
    if (rows[0]) return { entry: await entry(rc.q, Number(rows[0].id)), created: false };
  }
  await residentInScope(rc, input.residentId, { action: 'create', resourceType: 'CouponLedger' });
  // locked: a cancellation waits for the redemption, or the redemption sees the cancellation (cancelled_at is the locked row's own)
  const rx = await prescriptionRow(rc.q, input.prescriptionId, true);
  if (Number(rx.resident_id) !== input.residentId) throw new AppError('VALIDATION_FAILED', { detail: { zh: '处方不属于该居民', en: 'the prescription is another resident’s' } }, 'prescriptionId');
  if (rx.cancelled_at) rx.status = 'cancelled';
  if (rx.status !== 'active') throw Object.assign(new AppError('INVALID_STATE', { detail: { zh: `处方状态为 ${rx.status}`, en: `the prescription is ${rx.status}` } }), { field: 'prescriptionId' });
  const year = await thisYear(rc.q);
  const v = new Params();
  await issueWhere(rc.q, year, p.userId, `r.id = ${v.add(input.residentId)}`, v);
  const issue = await lockYear(rc.q, input.residentId, year);
  const now = await sums(rc.q, input.residentId, year);
  if (input.count > now.balance) throw new AppError('COUPONS_INSUFFICIENT', { year, balance: now.balance, count: input.count }, 'count');
  const unit = issue.count ? issue.amount / issue.count : 0;
  const { rows } = await rc.q.query(
    `INSERT INTO coupon_ledger (resident_id, year, kind, count, amount_yuan, institution_id, prescription_id, user_id, source_id, note)
     VALUES ($1, $2, 'redeem', $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
    [input.residentId, year, input.count, Math.round(unit * input.count * 100) / 100, institutionId, input.prescriptionId, p.userId, input.sourceId ?? null, input.note ?? null],
  );
  await audit(rc.q, rc.audit, { action: 'create', resourceType: 'CouponLedger', resourceId: Number(rows[0].id), residentId: input.residentId, purpose: 'redeem' });
  return { entry: await entry(rc.q, Number(rows[0].id)), created: true };
}

// ── voiding ──

/** Voids a redemption (the medicines were not dispensed): its coupons return to the balance. Once per redemption. */
export async function voidRedemption(rc: repo.RequestContext, id: number, input: { reason: string }) {
  const p = rc.principal;
  if (!hasRole(p, ...WRITERS)) throw new AppError('FORBIDDEN');
  const target = await entry(rc.q, id);
  await residentInScope(rc, target.residentId, { action: 'update', resourceType: 'CouponLedger' }, 'id');
  const own = p.tokenInstitutionId ?? p.institutionId;
  if (!hasRole(p, 'district_admin') && own !== target.institution.id) throw new AppError('WRONG_INSTITUTION', {}, 'id');
  if (target.kind !== 'redeem') throw new AppError('INVALID_STATE', { detail: { zh: '只能作废兑付记录', en: 'only a redemption can be voided' } }, 'id');
  await lockYear(rc.q, target.residentId, target.year);
  const done = await rc.q.query('SELECT id FROM coupon_ledger WHERE voids_id = $1', [id]);
  if (done.rows[0]) throw new AppError('INVALID_STATE', { detail: { zh: '该兑付已作废', en: 'the redemption is already void' } }, 'id');
  const { rows } = await rc.q.query(
    `INSERT INTO coupon_ledger (resident_id, year, kind, count, amount_yuan, institution_id, prescription_id, voids_id, user_id, note)
     SELECT resident_id, year, 'void', count, amount_yuan, $2, prescription_id, id, $3, $4 FROM coupon_ledger WHERE id = $1 RETURNING id`,
    [id, own ?? target.institution.id, p.userId, input.reason],
  );
  await audit(rc.q, rc.audit, { action: 'create', resourceType: 'CouponLedger', resourceId: Number(rows[0].id), residentId: target.residentId, purpose: 'void' });
  return entry(rc.q, Number(rows[0].id));
}

// ── ledger ──

export interface LedgerFilter { residentId?: number; year?: number; kind?: (typeof LEDGER_KINDS)[number]; institutionId?: number; prescriptionId?: number; page: number; pageSize: number }

/** Ledger rows of the residents the caller may see, newest first. */
export async function ledger(rc: repo.RequestContext, f: LedgerFilter) {
  const { rows, ...page } = await scopedPage(rc, f, {
    resourceType: 'CouponLedger', select: 'l.*, i.name AS institution_name, u.username', order: 'l.id DESC',
    from: 'coupon_ledger l JOIN resident r ON r.id = l.resident_id JOIN institution i ON i.id = l.institution_id LEFT JOIN app_user u ON u.id = l.user_id',
    filters: (v) => [
      f.residentId && `l.resident_id = ${v.add(f.residentId)}`, f.year && `l.year = ${v.add(f.year)}`, f.kind && `l.kind = ${v.add(f.kind)}`,
      f.institutionId && `l.institution_id = ${v.add(f.institutionId)}`, f.prescriptionId && `l.prescription_id = ${v.add(f.prescriptionId)}`,
    ],
  });
  return { items: rows.map(toEntry), ...page };
}

// ── merges of duplicate residents ──

/**
 * A merge moves the duplicate's ledger to the survivor, except an issue row of a year the survivor was issued too (one
 * person has one year's coupons): that row stays with the merged record, and what the duplicate redeemed counts
 * against the survivor's balance. An undo moves the rows back.
 */
onResidentMerge({
  name: 'coupons',
  async move(q, fromId, toId) {
    const { rows } = await q.query(
      `UPDATE coupon_ledger l SET resident_id = $2 WHERE l.resident_id = $1
          AND NOT (l.kind = 'issue' AND EXISTS (SELECT 1 FROM coupon_ledger s WHERE s.resident_id = $2 AND s.year = l.year AND s.kind = 'issue'))
        RETURNING l.id`,
      [fromId, toId],
    );
    return { ledger: rows.map((r) => Number(r.id)) };
  },
  async restore(q, moved, toId) {
    const m = moved as { ledger: number[] };
    if (m.ledger.length) await q.query('UPDATE coupon_ledger SET resident_id = $2 WHERE id = ANY($1::bigint[])', [m.ledger, toId]);
  },
});
