// Family-doctor contracts (家庭医生签约服务): a team signs a resident with service packages, for a term, with the
// resident's consent; renewal extends the term, a change of team ends the contract and signs the new team for the rest
// of it, cancellation ends it. At most one active contract per resident (contract_one_active_uq: safe under
// concurrent writers). Each contract holds a care_relationship of kind 'contract' for its team, valid over its term:
// that is what gives the team's members access to the resident (platform/access.ts) and what routes the resident's
// chronic-disease work to the team (modules/chronic). Who may act: the team's own members, the administrators of the
// team's institution, the district administrator.
//
// Contents: who may act · reading · signing · renewal · change of team · cancellation · service packages
import type { Queryable, Row } from '../../db/engine.ts';
import { audit, auditResidents, type AuditContext } from '../../platform/audit.ts';
import { addDays, districtDate } from '../../platform/local-date.ts';
import { AppError, notFound } from '../../platform/errors.ts';
import { hasRole, type Principal } from '../../platform/principal.ts';
import { Params } from '../../platform/sql.ts';
import { ageOn, onResidentMerge } from '../residents/service.ts';
import { settings } from '../chronic/programmes.ts';
import { residentInScope } from '../chronic/prescriptions.ts';

export interface Ctx {
  q: Queryable;
  principal: Principal;
  audit: AuditContext;
}

export const CONSENT_METHODS = ['written', 'electronic', 'verbal_witnessed'] as const;
export const CONSENT_SIGNERS = ['self', 'guardian', 'agent'] as const;
export const CONTRACT_STATUSES = ['active', 'expired', 'cancelled', 'transferred'] as const;

export interface Consent {
  method: (typeof CONSENT_METHODS)[number];
  signedBy: (typeof CONSENT_SIGNERS)[number];
  signedAt?: string;
  document?: string | null;
}

// ── who may act ──

interface TeamRow { id: number; name: string; institution_id: number; kind: string }

export async function teamRow(q: Queryable, id: number, field: string): Promise<TeamRow> {
  const { rows } = await q.query<TeamRow>('SELECT id, name, institution_id, kind FROM team WHERE id = $1', [id]);
  if (!rows[0]) throw Object.assign(notFound('team'), { field });
  if (rows[0].kind !== 'family_doctor') throw new AppError('VALIDATION_FAILED', { detail: { zh: '不是家庭医生团队', en: 'not a family-doctor team' } }, field);
  return { ...rows[0], id: Number(rows[0].id), institution_id: Number(rows[0].institution_id) };
}

export function mayManage(p: Principal, team: { id: number; institution_id: number }): boolean {
  if (hasRole(p, 'district_admin')) return true;
  const own = p.tokenInstitutionId ?? p.institutionId;
  if (hasRole(p, 'institution_admin') && own === team.institution_id) return true;
  if (p.tokenInstitutionId !== null && p.tokenInstitutionId !== team.institution_id) return false;
  return hasRole(p, 'family_doctor', 'nurse') && p.teamId === team.id;
}

export function assertManage(p: Principal, team: { id: number; institution_id: number }) {
  if (!mayManage(p, team)) throw new AppError('FORBIDDEN');
}

/**
 * What a caller may list of a team's records (contracts, health-post sessions), as SQL over the record's institution
 * and team columns: a team member their team's, a centre's administrator the centre's, the district administrator all.
 */
export function teamScopeSql(p: Principal, v: Params, institutionColumn: string, teamColumn: string): string {
  if (hasRole(p, 'district_admin')) return 'TRUE';
  const parts: string[] = [];
  const own = p.tokenInstitutionId ?? p.institutionId;
  if (hasRole(p, 'institution_admin') && own) parts.push(`${institutionColumn} = ${v.add(own)}`);
  if (hasRole(p, 'family_doctor', 'nurse') && p.teamId) parts.push(`${teamColumn} = ${v.add(p.teamId)}`);
  if (!parts.length) throw new AppError('FORBIDDEN');
  return `(${parts.join(' OR ')})`;
}

/** Contracts a caller may list, as SQL over the contract aliased c and its team tm. */
function contractScopeSql(p: Principal, v: Params): string {
  return teamScopeSql(p, v, 'tm.institution_id', 'c.team_id');
}

// ── reading ──

const SELECT = `c.*, tm.name AS team_name, i.name AS institution_name, r.name AS resident_name, r.sex, r.birth_date, r.id_number_mask, r.grid_id, g.name AS grid_name,
  CASE WHEN c.status = 'active' AND c.end_date < $2::date THEN 'expired' ELSE c.status END AS effective_status,
  (c.status = 'active' AND c.end_date >= $2::date AND c.end_date < $2::date + $1::int) AS due_for_renewal`;
const FROM = `contract c JOIN team tm ON tm.id = c.team_id JOIN institution i ON i.id = c.institution_id JOIN resident r ON r.id = c.resident_id LEFT JOIN region g ON g.id = r.grid_id`;

function toContract(r: Row) {
  const iso = (d: unknown) => (d ? new Date(d as string).toISOString() : null);
  return {
    id: Number(r.id), version: Number(r.version), status: r.effective_status as (typeof CONTRACT_STATUSES)[number],
    resident: { id: Number(r.resident_id), name: r.resident_name, sex: r.sex, age: ageOn(r.birth_date), idNumberMasked: r.id_number_mask, gridId: r.grid_id === null ? null : Number(r.grid_id), gridName: r.grid_name ?? null },
    team: { id: Number(r.team_id), name: r.team_name }, institution: { id: Number(r.institution_id), name: r.institution_name },
    packages: r.packages as string[], startDate: r.start_date as string, endDate: r.end_date as string,
    consent: { method: r.consent_method, signedBy: r.consent_signed_by, signedAt: iso(r.consent_at)!, document: r.consent_document ?? null },
    practitionerId: r.practitioner_id === null ? null : Number(r.practitioner_id), renewals: Number(r.renewals),
    previousContractId: r.previous_contract_id === null ? null : Number(r.previous_contract_id), endReason: r.end_reason ?? null, endedAt: iso(r.ended_at),
    dueForRenewal: !!r.due_for_renewal, createdAt: iso(r.created_at)!,
  };
}
export type Contract = ReturnType<typeof toContract>;

async function loadContract(c: Ctx, id: number, forUpdate = false): Promise<Row> {
  const s = await settings(c.q);
  const { rows } = await c.q.query(`SELECT ${SELECT} FROM ${FROM} WHERE c.id = $3${forUpdate ? ' FOR UPDATE OF c' : ''}`, [s.renewalNoticeDays, districtDate(), id]);
  if (!rows[0]) throw notFound('contract');
  return rows[0];
}

export async function getContract(c: Ctx, id: number): Promise<Contract & { events: { action: string; at: string; user: string | null; detail: unknown }[] }> {
  const row = await loadContract(c, id);
  const v = new Params();
  const scope = contractScopeSql(c.principal, v);
  const ok = await c.q.query(`SELECT ${scope} AS ok FROM contract c JOIN team tm ON tm.id = c.team_id WHERE c.id = ${v.add(id)}`, v.values);
  if (!ok.rows[0]?.ok) {
    await audit(c.q, c.audit, { action: 'read', resourceType: 'Contract', resourceId: id, residentId: Number(row.resident_id), outcome: 'denied' });
    throw new AppError('FORBIDDEN');
  }
  await audit(c.q, c.audit, { action: 'read', resourceType: 'Contract', resourceId: id, residentId: Number(row.resident_id) });
  const ev = await c.q.query('SELECT e.action, e.at, e.detail, u.username FROM contract_event e LEFT JOIN app_user u ON u.id = e.user_id WHERE e.contract_id = $1 ORDER BY e.id', [id]);
  return { ...toContract(row), events: ev.rows.map((e) => ({ action: e.action, at: new Date(e.at).toISOString(), user: e.username ?? null, detail: e.detail })) };
}

export interface ContractFilter {
  teamId?: number; institutionId?: number; status?: (typeof CONTRACT_STATUSES)[number]; packageCode?: string; gridId?: number; residentId?: number;
  dueForRenewal?: boolean; page: number; pageSize: number;
}

/** A team's (or a centre's, or the district's) contracts, newest first; every listed resident is audited. */
export async function listContracts(c: Ctx, f: ContractFilter) {
  const s = await settings(c.q);
  const v = new Params();
  v.add(s.renewalNoticeDays);
  v.add(districtDate());
  const where = [contractScopeSql(c.principal, v)];
  if (f.teamId) where.push(`c.team_id = ${v.add(f.teamId)}`);
  if (f.institutionId) where.push(`tm.institution_id = ${v.add(f.institutionId)}`);
  if (f.status === 'active') where.push(`c.status = 'active' AND c.end_date >= $2::date`);
  else if (f.status === 'expired') where.push(`(c.status = 'expired' OR (c.status = 'active' AND c.end_date < $2::date))`);
  else if (f.status) where.push(`c.status = ${v.add(f.status)}`);
  if (f.packageCode) where.push(`${v.add(f.packageCode)} = ANY(c.packages)`);
  if (f.gridId) where.push(`r.grid_id = ${v.add(f.gridId)}`);
  if (f.residentId) where.push(`c.resident_id = ${v.add(f.residentId)}`);
  if (f.dueForRenewal) where.push(`c.status = 'active' AND c.end_date >= $2::date AND c.end_date < $2::date + $1::int`);
  const whereSql = where.join(' AND ');
  const countValues = [...v.values];
  const list = await c.q.query(`SELECT ${SELECT} FROM ${FROM} WHERE ${whereSql} ORDER BY c.id DESC LIMIT ${v.add(f.pageSize)} OFFSET ${v.add((f.page - 1) * f.pageSize)}`, v.values);
  const total = await c.q.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${FROM} WHERE ${whereSql} AND $1::int IS NOT NULL AND $2::date IS NOT NULL`, countValues);
  await auditResidents(c.q, c.audit, 'list', [...new Set(list.rows.map((r) => Number(r.resident_id)))], 'Contract');
  return { items: list.rows.map(toContract), total: total.rows[0].n, page: f.page, pageSize: f.pageSize };
}

// ── signing ──

export interface NewContract {
  residentId: number;
  teamId: number;
  packages: string[];
  startDate?: string;
  endDate?: string;
  consent: Consent;
  practitionerId?: number | null;
  sourceId?: string | null;
}

async function checkPackages(q: Queryable, codes: string[]) {
  const { rows } = await q.query('SELECT code FROM service_package WHERE code = ANY($1::text[]) AND active', [codes]);
  const known = new Set(rows.map((r) => r.code));
  codes.forEach((code, i) => {
    if (!known.has(code)) throw new AppError('VALIDATION_FAILED', { detail: { zh: `没有启用的服务包 ${code}`, en: `no active service package ${code}` } }, `packages[${i}]`);
  });
  if (new Set(codes).size !== codes.length) throw new AppError('VALIDATION_FAILED', { detail: { zh: '服务包重复', en: 'a package is listed twice' } }, 'packages');
}

async function checkPractitioner(q: Queryable, teamId: number, practitionerId: number | null | undefined) {
  if (practitionerId == null) return;
  const { rows } = await q.query('SELECT 1 FROM team_member WHERE team_id = $1 AND practitioner_id = $2', [teamId, practitionerId]);
  if (!rows[0]) throw new AppError('VALIDATION_FAILED', { detail: { zh: '签约医生不是该团队成员', en: 'the practitioner is not a member of the team' } }, 'practitionerId');
}

/** Marks the resident's lapsed active contracts expired (their care relationship already ended on its date). */
async function expireLapsed(q: Queryable, residentId: number) {
  await q.query(
    `WITH x AS (UPDATE contract SET status = 'expired', ended_at = now() WHERE resident_id = $1 AND status = 'active' AND end_date < $2::date RETURNING id)
     INSERT INTO contract_event (contract_id, action) SELECT id, 'expired' FROM x`,
    [residentId, districtDate()],
  );
}

function termEnd(start: string, months: number): string {
  const [y, m, d] = start.split('-').map(Number);
  const end = new Date(Date.UTC(y, m - 1 + months, d) - 86_400_000);
  return end.toISOString().slice(0, 10);
}

function checkDate(value: string, field: string) {
  const d = new Date(value + 'T00:00:00Z');
  if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== value) throw new AppError('VALIDATION_FAILED', { detail: { zh: '日期无效', en: 'not a date' } }, field);
}

/** Inserts a contract with its care relationship and its first event, in one statement. */
async function insertContract(c: Ctx, x: { residentId: number; team: TeamRow; packages: string[]; start: string; end: string; consent: Consent; practitionerId: number | null; previousId: number | null; sourceId: string | null; event: Record<string, unknown> }): Promise<number> {
  const v = new Params();
  const { rows } = await c.q.query(
    `WITH ids AS (SELECT nextval(pg_get_serial_sequence('care_relationship', 'id')) AS cr_id),
     k AS (
       INSERT INTO contract (resident_id, team_id, institution_id, packages, status, start_date, end_date, consent_method, consent_signed_by, consent_at, consent_document,
                             practitioner_id, previous_contract_id, care_relationship_id, source_id, created_by)
       SELECT ${v.add(x.residentId)}, ${v.add(x.team.id)}, ${v.add(x.team.institution_id)}, ${v.add(x.packages)}::text[], 'active', ${v.add(x.start)}::date, ${v.add(x.end)}::date,
              ${v.add(x.consent.method)}, ${v.add(x.consent.signedBy)}, coalesce(${v.add(x.consent.signedAt ?? null)}::timestamptz, now()), ${v.add(x.consent.document ?? null)},
              ${v.add(x.practitionerId)}::bigint, ${v.add(x.previousId)}::bigint, ids.cr_id, ${v.add(x.sourceId)}, ${v.add(c.principal.userId)}
         FROM ids RETURNING id, resident_id, team_id, institution_id, start_date, end_date, care_relationship_id),
     cr AS (
       INSERT INTO care_relationship (resident_id, id, kind, team_id, institution_id, valid_from, valid_to, source_ref)
       SELECT resident_id, care_relationship_id, 'contract', team_id, institution_id, start_date, end_date, 'contract:' || id FROM k RETURNING 1),
     ev AS (INSERT INTO contract_event (contract_id, action, user_id, detail) SELECT id, 'signed', ${v.add(c.principal.userId)}, ${v.add(JSON.stringify(x.event))}::jsonb FROM k RETURNING 1)
     SELECT k.id, (SELECT count(*) FROM cr) + (SELECT count(*) FROM ev) AS written FROM k`,
    v.values,
  );
  return Number(rows[0].id);
}

export async function createContract(c: Ctx, input: NewContract): Promise<{ contract: Contract; created: boolean }> {
  const team = await teamRow(c.q, input.teamId, 'teamId');
  assertManage(c.principal, team);
  if (input.sourceId) {
    const { rows } = await c.q.query('SELECT id FROM contract WHERE institution_id = $1 AND source_id = $2', [team.institution_id, input.sourceId]);
    if (rows[0]) return { contract: toContract(await loadContract(c, Number(rows[0].id))), created: false };
  }
  await checkPackages(c.q, input.packages);
  await checkPractitioner(c.q, team.id, input.practitionerId);
  const resident = await residentInScope(c, input.residentId, { action: 'create', resourceType: 'Contract' });
  if (resident.status === 'deceased') throw new AppError('UNPROCESSABLE', { detail: { zh: '居民已登记死亡', en: 'the resident is recorded as deceased' } }, 'residentId');
  const s = await settings(c.q);
  const now = districtDate();
  const start = input.startDate ?? now;
  checkDate(start, 'startDate');
  const end = input.endDate ?? termEnd(start, s.contractTermMonths);
  checkDate(end, 'endDate');
  if (end < start) throw new AppError('VALIDATION_FAILED', { detail: { zh: '结束日期早于开始日期', en: 'ends before it starts' } }, 'endDate');
  if (end < now) throw new AppError('VALIDATION_FAILED', { detail: { zh: '结束日期已过', en: 'the end date has passed' } }, 'endDate');
  await expireLapsed(c.q, input.residentId);
  const { rows: active } = await c.q.query("SELECT id FROM contract WHERE resident_id = $1 AND status = 'active'", [input.residentId]);
  if (active[0]) throw Object.assign(new AppError('CONTRACT_EXISTS'), { field: 'residentId' });
  const id = await insertContract(c, {
    residentId: input.residentId, team, packages: input.packages, start, end, consent: input.consent, practitionerId: input.practitionerId ?? null,
    previousId: null, sourceId: input.sourceId ?? null, event: { packages: input.packages, startDate: start, endDate: end },
  });
  await audit(c.q, c.audit, { action: 'create', resourceType: 'Contract', resourceId: id, residentId: input.residentId });
  return { contract: toContract(await loadContract(c, id)), created: true };
}

// ── renewal, change of team, cancellation ──

/** A change to a contract of a team the caller does not manage: audited as a denied update, then 403. */
async function refuseUpdate(c: Ctx, row: Row): Promise<never> {
  await audit(c.q, c.audit, { action: 'update', resourceType: 'Contract', resourceId: Number(row.id), residentId: Number(row.resident_id), outcome: 'denied' });
  throw new AppError('FORBIDDEN');
}

async function openContract(c: Ctx, id: number, version: number | undefined): Promise<Row> {
  const row = await loadContract(c, id, true);
  if (!mayManage(c.principal, { id: Number(row.team_id), institution_id: Number(row.institution_id) })) await refuseUpdate(c, row);
  if (version !== undefined && Number(row.version) !== version) throw new AppError('STALE_VERSION', {}, 'version');
  if (row.status !== 'active') throw new AppError('INVALID_STATE', { detail: { zh: `签约状态为 ${row.status}`, en: `the contract is ${row.status}` } });
  return row;
}

async function event(c: Ctx, contractId: number, action: string, detail: Record<string, unknown>) {
  await c.q.query('INSERT INTO contract_event (contract_id, action, user_id, detail) VALUES ($1, $2, $3, $4::jsonb)', [contractId, action, c.principal.userId, JSON.stringify(detail)]);
}

/** Renewal (续约): a new term from the end of the current one (or the date given), with the consent given again. */
export async function renewContract(c: Ctx, id: number, input: { endDate?: string; packages?: string[]; consent: Consent; version?: number }): Promise<Contract> {
  const row = await openContract(c, id, input.version);
  if (input.packages) await checkPackages(c.q, input.packages);
  const s = await settings(c.q);
  const now = districtDate();
  // the new term follows the current one without a gap (or starts today when the contract has lapsed)
  const from = row.end_date < now ? now : addDays(row.end_date, 1);
  const end = input.endDate ?? termEnd(from, s.contractTermMonths);
  checkDate(end, 'endDate');
  if (end <= row.end_date || end < now) throw new AppError('VALIDATION_FAILED', { detail: { zh: '续约后的结束日期须晚于当前结束日期', en: 'the new end date must be after the current one' } }, 'endDate');
  await c.q.query(
    `UPDATE contract SET end_date = $2::date, packages = coalesce($3::text[], packages), consent_method = $4, consent_signed_by = $5, consent_at = coalesce($6::timestamptz, now()),
            consent_document = $7, renewals = renewals + 1 WHERE id = $1`,
    [id, end, input.packages ?? null, input.consent.method, input.consent.signedBy, input.consent.signedAt ?? null, input.consent.document ?? null],
  );
  await c.q.query('UPDATE care_relationship SET valid_to = $3::date WHERE resident_id = $1 AND id = $2', [row.resident_id, row.care_relationship_id, end]);
  await event(c, id, 'renewed', { fromEndDate: row.end_date, toEndDate: end, packages: input.packages ?? row.packages });
  await audit(c.q, c.audit, { action: 'update', resourceType: 'Contract', resourceId: id, residentId: Number(row.resident_id), purpose: 'renew' });
  return toContract(await loadContract(c, id));
}

/** Ends a contract today: its team's access ends with yesterday. */
async function endContract(c: Ctx, row: Row, status: 'cancelled' | 'transferred', reason: string) {
  await c.q.query(
    `UPDATE contract SET status = $2, end_reason = $3, ended_at = now(), end_date = greatest(start_date, LEAST(end_date, $4::date - 1)) WHERE id = $1`,
    [row.id, status, reason, districtDate()],
  );
  await c.q.query('UPDATE care_relationship SET valid_to = $3::date - 1 WHERE resident_id = $1 AND id = $2', [row.resident_id, row.care_relationship_id, districtDate()]);
}

/**
 * Change of team (变更签约团队): the current contract ends today and the new team signs the resident for the rest of the
 * term, with the same packages unless others are given. The caller manages either team.
 */
export async function changeTeam(c: Ctx, id: number, input: { teamId: number; reason: string; consent: Consent; packages?: string[]; practitionerId?: number | null; version?: number }): Promise<Contract> {
  const row = await loadContract(c, id, true);
  const newTeam = await teamRow(c.q, input.teamId, 'teamId');
  const oldTeam = { id: Number(row.team_id), institution_id: Number(row.institution_id) };
  if (!mayManage(c.principal, oldTeam) && !mayManage(c.principal, newTeam)) await refuseUpdate(c, row);
  if (input.version !== undefined && Number(row.version) !== input.version) throw new AppError('STALE_VERSION', {}, 'version');
  if (row.effective_status !== 'active') throw new AppError('INVALID_STATE', { detail: { zh: `签约状态为 ${row.effective_status}`, en: `the contract is ${row.effective_status}` } });
  if (newTeam.id === oldTeam.id) throw new AppError('VALIDATION_FAILED', { detail: { zh: '新团队与原团队相同', en: 'the new team is the current team' } }, 'teamId');
  if (input.packages) await checkPackages(c.q, input.packages);
  await checkPractitioner(c.q, newTeam.id, input.practitionerId);
  const now = districtDate();
  await endContract(c, row, 'transferred', input.reason);
  const newId = await insertContract(c, {
    residentId: Number(row.resident_id), team: newTeam, packages: input.packages ?? row.packages, start: now, end: row.end_date, consent: input.consent,
    practitionerId: input.practitionerId ?? null, previousId: Number(row.id), sourceId: null, event: { fromContract: Number(row.id), fromTeam: oldTeam.id, reason: input.reason },
  });
  await event(c, Number(row.id), 'team_changed', { toTeam: newTeam.id, newContract: newId, reason: input.reason });
  await audit(c.q, c.audit, { action: 'update', resourceType: 'Contract', resourceId: Number(row.id), residentId: Number(row.resident_id), purpose: 'change team' });
  await audit(c.q, c.audit, { action: 'create', resourceType: 'Contract', resourceId: newId, residentId: Number(row.resident_id) });
  return toContract(await loadContract(c, newId));
}

/** Cancellation (解约), with its reason: the team's access ends with yesterday. */
export async function cancelContract(c: Ctx, id: number, input: { reason: string; version?: number }): Promise<Contract> {
  const row = await openContract(c, id, input.version);
  await endContract(c, row, 'cancelled', input.reason);
  await event(c, id, 'cancelled', { reason: input.reason });
  await audit(c.q, c.audit, { action: 'update', resourceType: 'Contract', resourceId: id, residentId: Number(row.resident_id), purpose: 'cancel' });
  return toContract(await loadContract(c, id));
}

// ── service packages ──

export async function listPackages(q: Queryable) {
  const { rows } = await q.query('SELECT * FROM service_package ORDER BY kind, code');
  return rows.map(toPackage);
}

function toPackage(r: Row) {
  return { code: r.code as string, name: r.name as string, nameEn: r.name_en ?? null, kind: r.kind as 'basic' | 'paid', feeYuan: Number(r.fee_yuan), description: r.description ?? null, active: r.active as boolean };
}

/** Creates or changes a package (district administrator). */
export async function putPackage(q: Queryable, p: Principal, x: { code: string; name: string; nameEn?: string | null; kind: 'basic' | 'paid'; feeYuan: number; description?: string | null; active: boolean }) {
  if (!hasRole(p, 'district_admin')) throw new AppError('FORBIDDEN');
  const { rows } = await q.query(
    `INSERT INTO service_package (code, name, name_en, kind, fee_yuan, description, active, updated_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, name_en = EXCLUDED.name_en, kind = EXCLUDED.kind, fee_yuan = EXCLUDED.fee_yuan,
       description = EXCLUDED.description, active = EXCLUDED.active, updated_by = EXCLUDED.updated_by, updated_at = now() RETURNING *`,
    [x.code, x.name, x.nameEn ?? null, x.kind, x.feeYuan, x.description ?? null, x.active, p.userId],
  );
  return toPackage(rows[0]);
}

// ── merges of duplicate residents ──

/**
 * A merge moves the duplicate's contracts to the survivor, each pointing at its care relationship's copy on the
 * survivor. When both had an active contract the survivor's stays and the duplicate's is cancelled (one active
 * contract per resident), its copied relationship ended; an undo puts everything back.
 */
onResidentMerge({
  name: 'contracts',
  async move(q, fromId, toId) {
    const { rows } = await q.query('SELECT id, status, care_relationship_id FROM contract WHERE resident_id = $1 ORDER BY id', [fromId]);
    if (!rows.length) return { contracts: [], cancelled: null };
    const survivorActive = await q.query("SELECT 1 FROM contract WHERE resident_id = $1 AND status = 'active'", [toId]);
    const dupActive = rows.find((r) => r.status === 'active');
    let cancelled: number | null = null;
    if (dupActive && survivorActive.rows.length) {
      cancelled = Number(dupActive.id);
      await q.query("UPDATE contract SET status = 'cancelled', end_reason = 'merged duplicate record', ended_at = now() WHERE id = $1", [cancelled]);
      await q.query("UPDATE care_relationship SET valid_to = $3::date - 1 WHERE resident_id = $1 AND source_ref = 'merge:' || $2::text", [toId, dupActive.care_relationship_id, districtDate()]);
      await q.query("INSERT INTO contract_event (contract_id, action, detail) VALUES ($1, 'cancelled', $2::jsonb)", [cancelled, JSON.stringify({ reason: 'merge', survivor: toId })]);
    }
    await q.query(
      `UPDATE contract c SET resident_id = $2,
              care_relationship_id = coalesce((SELECT cr.id FROM care_relationship cr WHERE cr.resident_id = $2 AND cr.source_ref = 'merge:' || c.care_relationship_id::text), c.care_relationship_id)
        WHERE c.resident_id = $1`,
      [fromId, toId],
    );
    return { contracts: rows.map((r) => [Number(r.id), r.care_relationship_id === null ? null : Number(r.care_relationship_id)]), cancelled };
  },
  async restore(q, moved, toId) {
    const m = moved as { contracts: [number, number | null][]; cancelled: number | null };
    for (const [id, cr] of m.contracts) await q.query('UPDATE contract SET resident_id = $2, care_relationship_id = $3 WHERE id = $1', [id, toId, cr]);
    if (m.cancelled !== null) {
      await q.query("UPDATE contract SET status = 'active', end_reason = NULL, ended_at = NULL WHERE id = $1", [m.cancelled]);
      await q.query("INSERT INTO contract_event (contract_id, action, detail) VALUES ($1, 'signed', $2::jsonb)", [m.cancelled, JSON.stringify({ reason: 'merge undone' })]);
    }
  },
});
