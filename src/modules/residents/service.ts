// Master person index: residents, identity numbers (encrypted, hashed, masked), households, key-population tags,
// matching of records without an identity number, and reversible merges. Every function that returns a person's data
// takes the principal, filters by its scope and leaves the audit to the caller's transaction.
import type { Queryable } from '../../db/engine.ts';
import type { Keys } from '../../platform/crypto.ts';
import { decryptField, encryptField, lookupHash } from '../../platform/crypto.ts';
import { AppError, notFound } from '../../platform/errors.ts';
import { ID_PROBLEM_TEXT, maskIdNumber, maskPhone, validateIdNumber } from '../../platform/idcard.ts';
import { residentScopeSql } from '../../platform/access.ts';
import type { Principal } from '../../platform/principal.ts';
import { Params } from '../../platform/sql.ts';
import { auditCte, type AuditContext } from '../../platform/audit.ts';
import { decideMatch, type Candidate } from './matching.ts';
import { DISTRICT_TODAY_SQL } from '../../platform/local-date.ts';

/** Tags stored with the resident (from diagnoses, registrations); age tags are derived on read. */
export const STORED_TAGS = ['hypertension', 'diabetes', 'pregnant', 'postpartum', 'severe_mental', 'tuberculosis', 'disability', 'special_family'] as const;
export const AGE_TAGS = ['elderly', 'child_0_6'] as const;
export const ALL_TAGS = [...AGE_TAGS, ...STORED_TAGS] as const;
export type Tag = (typeof ALL_TAGS)[number];

export function ageOn(birthDate: string, today = new Date()): number {
  const [y, m, d] = birthDate.split('-').map(Number);
  let age = today.getUTCFullYear() - y;
  if (today.getUTCMonth() + 1 < m || (today.getUTCMonth() + 1 === m && today.getUTCDate() < d)) age--;
  return age;
}

export function derivedTags(birthDate: string, stored: string[], today = new Date()): string[] {
  const age = ageOn(birthDate, today);
  const tags: string[] = [];
  if (age >= 65) tags.push('elderly');
  if (age <= 6) tags.push('child_0_6');
  return [...tags, ...stored];
}

const SUMMARY_COLUMNS = `r.id, r.name, r.sex, r.birth_date, r.id_number_mask, r.phone_mask, r.household_id, r.grid_id, g.name AS grid_name,
  r.community_id, c.name AS community_name, r.street_id, r.tags, r.status, r.version`;
const SUMMARY_FROM = `resident r LEFT JOIN region g ON g.id = r.grid_id LEFT JOIN region c ON c.id = r.community_id`;

export interface ResidentSummary {
  id: number; name: string; sex: 'male' | 'female'; birthDate: string; age: number; idNumberMasked: string | null; phoneMasked: string | null;
  householdId: number | null; gridId: number | null; gridName: string | null; communityId: number | null; communityName: string | null;
  streetId: number | null; tags: string[]; status: string; version: number;
}

function summary(r: any): ResidentSummary {
  return {
    id: r.id, name: r.name, sex: r.sex, birthDate: r.birth_date, age: ageOn(r.birth_date), idNumberMasked: r.id_number_mask, phoneMasked: r.phone_mask,
    householdId: r.household_id, gridId: r.grid_id, gridName: r.grid_name, communityId: r.community_id, communityName: r.community_name,
    streetId: r.street_id, tags: derivedTags(r.birth_date, r.tags), status: r.status, version: r.version,
  };
}

export function idNumberError(problem: keyof typeof ID_PROBLEM_TEXT): AppError {
  return new AppError('ID_NUMBER_INVALID', { detail: ID_PROBLEM_TEXT[problem] }, 'idNumber');
}

export interface ResidentFilter {
  idNumber?: string; q?: string; gridId?: number; communityId?: number; streetId?: number; householdId?: number; tag?: Tag; status?: string;
  page: number; pageSize: number;
}

export async function searchResidents(q: Queryable, keys: Keys, p: Principal, f: ResidentFilter, auditCtx: AuditContext) {
  const params = new Params();
  const where: string[] = [residentScopeSql(p, params)];
  if (f.idNumber !== undefined) {
    const parsed = validateIdNumber(f.idNumber);
    if (!parsed.ok) throw idNumberError(parsed.problem);
    where.push(`r.id_number_hash = ${params.add(lookupHash(keys, 'id', parsed.id.value))}`);
  }
  if (f.status) where.push(`r.status = ${params.add(f.status)}`);
  else where.push("r.status IN ('active', 'provisional')");
  if (f.q) {
    const term = f.q.trim();
    if (/^1\d{10}$/.test(term)) where.push(`r.phone_hash = ${params.add(lookupHash(keys, 'phone', term))}`);
    else where.push(`r.name LIKE ${params.add(term.replace(/[\\%_]/g, '\\$&') + '%')}`);
  }
  if (f.gridId) where.push(`r.grid_id = ${params.add(f.gridId)}`);
  if (f.communityId) where.push(`r.community_id = ${params.add(f.communityId)}`);
  if (f.streetId) where.push(`r.street_id = ${params.add(f.streetId)}`);
  if (f.householdId) where.push(`r.household_id = ${params.add(f.householdId)}`);
  if (f.tag === 'elderly') where.push(`r.birth_date <= (${DISTRICT_TODAY_SQL} - interval '65 years')::date`);
  else if (f.tag === 'child_0_6') where.push(`r.birth_date > (${DISTRICT_TODAY_SQL} - interval '7 years')::date`);
  else if (f.tag) where.push(`r.tags @> ARRAY[${params.add(f.tag)}]::text[]`);
  const w = where.join(' AND ');
  const countParams = params.values.slice();
  const limit = params.add(f.pageSize);
  const offset = params.add((f.page - 1) * f.pageSize);
  // The page and the audit of every person on it are one statement.
  const sql = `WITH page AS (SELECT ${SUMMARY_COLUMNS} FROM ${SUMMARY_FROM} WHERE ${w} ORDER BY r.id LIMIT ${limit} OFFSET ${offset}),
    audited AS (${auditCte(params, auditCtx, f.idNumber !== undefined ? 'search' : 'list', 'page')})
    SELECT * FROM page ORDER BY id`;
  const [rows, total] = await Promise.all([
    q.query(sql, params.values),
    f.idNumber !== undefined ? null : q.query<{ n: number }>(`SELECT count(*)::int AS n FROM resident r WHERE ${w}`, countParams),
  ]);
  const items = rows.rows.map(summary);
  return { items, total: total ? total.rows[0].n : items.length, page: f.page, pageSize: f.pageSize };
}

/** Reads one resident the principal may see: 404 when unknown, 403 when outside the principal's scope. */
export async function getResidentRow(q: Queryable, p: Principal, id: number) {
  const params = new Params();
  const idParam = params.add(id);
  const scope = residentScopeSql(p, params);
  const { rows } = await q.query(
    `SELECT ${SUMMARY_COLUMNS}, r.address, r.merged_into, r.id_number_enc IS NOT NULL AS has_id_number, ${scope} AS in_scope
       FROM ${SUMMARY_FROM} WHERE r.id = ${idParam}`,
    params.values,
  );
  const r = rows[0];
  if (!r) throw notFound('resident');
  if (!r.in_scope) throw new AppError('OUT_OF_SCOPE');
  return r;
}

export async function getResident(q: Queryable, p: Principal, id: number) {
  const r = await getResidentRow(q, p, id);
  const [household, sources] = await Promise.all([
    r.household_id
      ? q.query('SELECT h.id, h.address, (SELECT count(*)::int FROM resident m WHERE m.household_id = h.id AND m.status <> $2) AS member_count FROM household h WHERE h.id = $1', [r.household_id, 'merged'])
      : Promise.resolve({ rows: [] as any[] }),
    q.query('SELECT s.institution_id, i.name AS institution_name, s.source_id FROM resident_source_id s JOIN institution i ON i.id = s.institution_id WHERE s.resident_id = $1 ORDER BY s.created_at', [id]),
  ]);
  const h = household.rows[0];
  return {
    ...summary(r),
    address: r.address,
    mergedInto: r.merged_into,
    hasIdNumber: r.has_id_number,
    household: h ? { id: h.id, address: h.address, memberCount: h.member_count } : null,
    sourceIds: sources.rows.map((s) => ({ institutionId: s.institution_id, institutionName: s.institution_name, sourceId: s.source_id })),
  };
}

export async function revealIdNumber(q: Queryable, keys: Keys, p: Principal, id: number): Promise<string | null> {
  await getResidentRow(q, p, id);
  const { rows } = await q.query('SELECT id_number_enc FROM resident WHERE id = $1', [id]);
  return rows[0]?.id_number_enc ? decryptField(keys, rows[0].id_number_enc) : null;
}

export async function getHousehold(q: Queryable, p: Principal, id: number) {
  const h = await q.query('SELECT h.id, h.address, h.grid_id, g.name AS grid_name FROM household h JOIN region g ON g.id = h.grid_id WHERE h.id = $1', [id]);
  if (!h.rows[0]) throw notFound('household');
  const params = new Params();
  const hid = params.add(id);
  const members = await q.query(`SELECT ${SUMMARY_COLUMNS} FROM ${SUMMARY_FROM} WHERE r.household_id = ${hid} AND r.status <> 'merged' AND ${residentScopeSql(p, params)} ORDER BY r.birth_date`, params.values);
  if (members.rows.length === 0) throw new AppError('OUT_OF_SCOPE');
  return { id: h.rows[0].id, address: h.rows[0].address, gridId: h.rows[0].grid_id, gridName: h.rows[0].grid_name, members: members.rows.map(summary) };
}

export async function createHousehold(q: Queryable, h: { gridId: number; address: string }) {
  await regionChain(q, h.gridId);
  const { rows } = await q.query('INSERT INTO household (grid_id, address) VALUES ($1, $2) RETURNING id', [h.gridId, h.address]);
  return rows[0].id as number;
}

// ── Registration and matching ──
export interface ResidentInput {
  idNumber?: string | null;
  name: string;
  sex: 'male' | 'female';
  birthDate: string;
  phone?: string | null;
  gridId?: number | null;
  householdId?: number | null;
  address?: string | null;
  tags?: string[];
  sourceInstitutionId?: number | null;
  sourceId?: string | null;
}

export type RegisterOutcome = 'created' | 'matched' | 'existing' | 'review';

async function regionChain(q: Queryable, gridId: number) {
  const { rows } = await q.query(
    `SELECT g.id AS grid_id, c.id AS community_id, s.id AS street_id FROM region g JOIN region c ON c.id = g.parent_id JOIN region s ON s.id = c.parent_id WHERE g.id = $1 AND g.level = 'grid'`,
    [gridId],
  );
  if (!rows[0]) throw new AppError('VALIDATION_FAILED', { detail: `gridId ${gridId} is not a grid` }, 'gridId');
  return rows[0] as { grid_id: number; community_id: number; street_id: number };
}

export async function registerResident(q: Queryable, keys: Keys, input: ResidentInput): Promise<{ outcome: RegisterOutcome; residentId: number; reviewId?: number }> {
  if ((input.sourceInstitutionId == null) !== (input.sourceId == null)) {
    throw new AppError('VALIDATION_FAILED', { detail: 'sourceInstitutionId and sourceId go together' }, 'sourceId');
  }
  // Idempotent on the sender's own id.
  if (input.sourceInstitutionId != null) {
    const known = await q.query('SELECT resident_id FROM resident_source_id WHERE institution_id = $1 AND source_id = $2', [input.sourceInstitutionId, input.sourceId]);
    if (known.rows[0]) return { outcome: 'existing', residentId: await followMerges(q, known.rows[0].resident_id) };
  }
  let idValue: string | null = null;
  if (input.idNumber) {
    const parsed = validateIdNumber(input.idNumber, { sex: input.sex, birthDate: input.birthDate });
    if (!parsed.ok) throw idNumberError(parsed.problem);
    idValue = parsed.id.value;
    const idHash = lookupHash(keys, 'id', idValue);
    const existing = await q.query("SELECT id FROM resident WHERE id_number_hash = $1 AND status <> 'merged' FOR UPDATE", [idHash]);
    if (existing.rows[0]) {
      await linkSource(q, input, existing.rows[0].id);
      return { outcome: 'matched', residentId: existing.rows[0].id };
    }
    return { outcome: 'created', residentId: await insertResident(q, keys, input, idValue, 'active') };
  }
  const phoneHash = input.phone ? lookupHash(keys, 'phone', input.phone) : null;
  const swapped = input.birthDate.replace(/^(\d{4})-(\d{2})-(\d{2})$/, '$1-$3-$2');
  const cands = await q.query(
    `SELECT id, name, sex, birth_date, phone_hash FROM resident
      WHERE status IN ('active', 'provisional') AND (birth_date = $1::date OR (birth_date = $2::date AND $2 <> $1) OR ($3::bytea IS NOT NULL AND phone_hash = $3) OR name = $4)
      ORDER BY id LIMIT 200`,
    [input.birthDate, isValidDate(swapped) ? swapped : input.birthDate, phoneHash, input.name],
  );
  const candidates: Candidate[] = cands.rows.map((c) => ({
    id: c.id, name: c.name, sex: c.sex, birthDate: c.birth_date,
    phoneMatches: phoneHash && c.phone_hash ? Buffer.compare(Buffer.from(c.phone_hash), phoneHash) === 0 : null,
  }));
  const decision = decideMatch(input, candidates);
  if (decision.kind === 'link') {
    await linkSource(q, input, decision.candidate.id);
    return { outcome: 'matched', residentId: decision.candidate.id };
  }
  if (decision.kind === 'review') {
    const residentId = await insertResident(q, keys, input, null, 'provisional');
    const { rows } = await q.query(
      'INSERT INTO match_review (resident_id, candidate_id, score, reasons, institution_id) VALUES ($1,$2,$3,$4,$5) RETURNING id',
      [residentId, decision.candidate.id, decision.candidate.score, decision.candidate.reasons, input.sourceInstitutionId ?? null],
    );
    return { outcome: 'review', residentId, reviewId: rows[0].id };
  }
  return { outcome: 'created', residentId: await insertResident(q, keys, input, null, 'active') };
}

function isValidDate(s: string) {
  const d = new Date(s + 'T00:00:00Z');
  return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(s);
}

async function followMerges(q: Queryable, id: number): Promise<number> {
  for (let i = 0; i < 10; i++) {
    const { rows } = await q.query('SELECT merged_into FROM resident WHERE id = $1', [id]);
    if (!rows[0]?.merged_into) return id;
    id = rows[0].merged_into;
  }
  return id;
}

async function linkSource(q: Queryable, input: ResidentInput, residentId: number) {
  if (input.sourceInstitutionId == null) return;
  await q.query('INSERT INTO resident_source_id (institution_id, source_id, resident_id) VALUES ($1,$2,$3) ON CONFLICT DO NOTHING', [input.sourceInstitutionId, input.sourceId, residentId]);
}

async function insertResident(q: Queryable, keys: Keys, input: ResidentInput, idValue: string | null, status: 'active' | 'provisional'): Promise<number> {
  let chain: { grid_id: number | null; community_id: number | null; street_id: number | null } = { grid_id: null, community_id: null, street_id: null };
  let gridId = input.gridId ?? null;
  if (input.householdId) {
    const h = await q.query('SELECT grid_id FROM household WHERE id = $1', [input.householdId]);
    if (!h.rows[0]) throw new AppError('VALIDATION_FAILED', { detail: `householdId ${input.householdId} does not exist` }, 'householdId');
    gridId = h.rows[0].grid_id;
  }
  if (gridId) chain = await regionChain(q, gridId);
  const tags = (input.tags ?? []).filter((t) => (STORED_TAGS as readonly string[]).includes(t));
  const { rows } = await q.query(
    `INSERT INTO resident (id_number_enc, id_number_hash, id_number_mask, name, sex, birth_date, phone_enc, phone_hash, phone_mask,
       household_id, grid_id, community_id, street_id, address, tags, status)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16) RETURNING id`,
    [
      idValue ? encryptField(keys, idValue) : null, idValue ? lookupHash(keys, 'id', idValue) : null, idValue ? maskIdNumber(idValue) : null,
      input.name, input.sex, input.birthDate,
      input.phone ? encryptField(keys, input.phone) : null, input.phone ? lookupHash(keys, 'phone', input.phone) : null, input.phone ? maskPhone(input.phone) : null,
      input.householdId ?? null, chain.grid_id, chain.community_id, chain.street_id, input.address ?? null, tags, status,
    ],
  );
  const id = rows[0].id as number;
  await linkSource(q, input, id);
  return id;
}

export interface ResidentPatch {
  version: number;
  name?: string;
  sex?: 'male' | 'female';
  birthDate?: string;
  phone?: string | null;
  address?: string | null;
  gridId?: number;
  householdId?: number | null;
  tags?: string[];
  idNumber?: string;
}

/** Optimistic concurrency: the caller sends the version it read; a concurrent change makes this a 409, never a lost update. */
export async function updateResident(q: Queryable, keys: Keys, p: Principal, id: number, patch: ResidentPatch) {
  const current = await getResidentRow(q, p, id);
  if (current.status === 'merged') throw new AppError('INVALID_STATE', { detail: 'merged' });
  const sets: string[] = [];
  const params = new Params();
  const idP = params.add(id);
  const verP = params.add(patch.version);
  if (patch.phone !== undefined) {
    sets.push(`phone_enc = ${params.add(patch.phone ? encryptField(keys, patch.phone) : null)}`);
    sets.push(`phone_hash = ${params.add(patch.phone ? lookupHash(keys, 'phone', patch.phone) : null)}`);
    sets.push(`phone_mask = ${params.add(patch.phone ? maskPhone(patch.phone) : null)}`);
  }
  if (patch.address !== undefined) sets.push(`address = ${params.add(patch.address)}`);
  if (patch.name !== undefined) sets.push(`name = ${params.add(patch.name)}`);
  if (patch.sex !== undefined || patch.birthDate !== undefined) {
    // an identity number fixes sex and birth date (GB 11643): a change must agree with it
    if (current.has_id_number && patch.idNumber === undefined) {
      const { rows } = await q.query('SELECT id_number_enc FROM resident WHERE id = $1', [id]);
      const parsed = validateIdNumber(decryptField(keys, rows[0].id_number_enc), { sex: patch.sex ?? current.sex, birthDate: patch.birthDate ?? current.birth_date });
      if (!parsed.ok) throw idNumberError(parsed.problem);
    }
    if (patch.sex !== undefined) sets.push(`sex = ${params.add(patch.sex)}`);
    if (patch.birthDate !== undefined) sets.push(`birth_date = ${params.add(patch.birthDate)}`);
  }
  let gridId = patch.gridId;
  if (patch.householdId !== undefined) {
    sets.push(`household_id = ${params.add(patch.householdId)}`);
    if (patch.householdId) {
      const h = await q.query('SELECT grid_id FROM household WHERE id = $1', [patch.householdId]);
      if (!h.rows[0]) throw new AppError('VALIDATION_FAILED', { detail: `householdId ${patch.householdId} does not exist` }, 'householdId');
      gridId = h.rows[0].grid_id;
    }
  }
  if (gridId !== undefined) {
    const chain = await regionChain(q, gridId);
    sets.push(`grid_id = ${params.add(chain.grid_id)}`, `community_id = ${params.add(chain.community_id)}`, `street_id = ${params.add(chain.street_id)}`);
  }
  if (patch.tags !== undefined) sets.push(`tags = ${params.add(patch.tags.filter((t) => (STORED_TAGS as readonly string[]).includes(t)))}`);
  if (patch.idNumber !== undefined) {
    const parsed = validateIdNumber(patch.idNumber, { sex: patch.sex ?? current.sex, birthDate: patch.birthDate ?? current.birth_date });
    if (!parsed.ok) throw idNumberError(parsed.problem);
    const h = lookupHash(keys, 'id', parsed.id.value);
    const dup = await q.query("SELECT 1 FROM resident WHERE id_number_hash = $1 AND id <> $2 AND status <> 'merged'", [h, id]);
    if (dup.rows.length) throw new AppError('DUPLICATE_ID_NUMBER', {}, 'idNumber');
    sets.push(`id_number_enc = ${params.add(encryptField(keys, parsed.id.value))}`, `id_number_hash = ${params.add(h)}`, `id_number_mask = ${params.add(maskIdNumber(parsed.id.value))}`);
  }
  const { rowCount } = await q.query(
    `UPDATE resident SET ${[...sets, 'version = version + 1', 'updated_at = now()'].join(', ')} WHERE id = ${idP} AND version = ${verP}`, // the history trigger keeps the previous version
    params.values,
  );
  if (!rowCount) throw new AppError('STALE_VERSION');
  return getResident(q, p, id);
}

// ── Merges ──
/**
 * Other modules keep records about a resident (the shared record, contracts, …). On a merge each hook moves its rows
 * from the duplicate to the survivor and returns what it moved; on undo it gets that back to move them home.
 */
export interface MergeHook {
  name: string;
  move(q: Queryable, fromId: number, toId: number): Promise<unknown>;
  restore(q: Queryable, moved: unknown, toId: number): Promise<void>;
}
const mergeHooks: MergeHook[] = [];
export function onResidentMerge(hook: MergeHook) {
  if (!mergeHooks.some((h) => h.name === hook.name)) mergeHooks.push(hook);
}

export async function mergeResidents(q: Queryable, byUserId: number, survivorId: number, duplicateId: number, reason: string) {
  if (survivorId === duplicateId) throw new AppError('VALIDATION_FAILED', { detail: 'a resident cannot be merged into itself' }, 'duplicateId');
  const { rows } = await q.query('SELECT id, status, id_number_enc, id_number_hash, id_number_mask FROM resident WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE', [[survivorId, duplicateId]]);
  const survivor = rows.find((r) => r.id === survivorId);
  const dup = rows.find((r) => r.id === duplicateId);
  if (!survivor) throw notFound('resident');
  if (!dup) throw notFound('resident');
  if (survivor.status === 'merged' || dup.status === 'merged') throw new AppError('INVALID_STATE', { detail: 'already merged' });
  if (survivor.id_number_hash && dup.id_number_hash && Buffer.compare(Buffer.from(survivor.id_number_hash), Buffer.from(dup.id_number_hash)) !== 0) {
    throw new AppError('INVALID_STATE', { detail: 'the two records carry different identity numbers' });
  }
  const sources = await q.query('UPDATE resident_source_id SET resident_id = $1 WHERE resident_id = $2 RETURNING institution_id, source_id', [survivorId, duplicateId]);
  const rels = await q.query<{ id: number }>('SELECT id FROM care_relationship WHERE resident_id = $1', [duplicateId]);
  await q.query(
    `INSERT INTO care_relationship (resident_id, kind, team_id, institution_id, practitioner_id, user_id, valid_from, valid_to, source_ref)
     SELECT $1, kind, team_id, institution_id, practitioner_id, user_id, valid_from, valid_to, 'merge:' || id FROM care_relationship WHERE resident_id = $2`,
    [survivorId, duplicateId],
  );
  await q.query("UPDATE resident SET status = 'merged', merged_into = $1, version = version + 1, updated_at = now() WHERE id = $2", [survivorId, duplicateId]);
  const takeIdNumber = !survivor.id_number_hash && !!dup.id_number_hash;
  if (takeIdNumber) {
    await q.query('UPDATE resident SET id_number_enc = $2, id_number_hash = $3, id_number_mask = $4, version = version + 1, updated_at = now() WHERE id = $1', [survivorId, dup.id_number_enc, dup.id_number_hash, dup.id_number_mask]);
  }
  const hooks: Record<string, unknown> = {};
  for (const h of mergeHooks) hooks[h.name] = await h.move(q, duplicateId, survivorId);
  const moved = {
    hooks,
    duplicateStatus: dup.status,
    sourceIds: sources.rows.map((s) => ({ institutionId: s.institution_id, sourceId: s.source_id })),
    careRelationshipIds: rels.rows.map((r) => r.id),
    tookIdNumber: takeIdNumber,
  };
  const m = await q.query('INSERT INTO resident_merge (survivor_id, merged_id, reason, moved, merged_by) VALUES ($1,$2,$3,$4,$5) RETURNING id, merged_at', [survivorId, duplicateId, reason, JSON.stringify(moved), byUserId]);
  return { id: m.rows[0].id as number, survivorId, mergedId: duplicateId, reason, mergedAt: new Date(m.rows[0].merged_at).toISOString(), undoneAt: null as string | null };
}

export async function undoMerge(q: Queryable, byUserId: number, mergeId: number) {
  const { rows } = await q.query('SELECT * FROM resident_merge WHERE id = $1 FOR UPDATE', [mergeId]);
  const m = rows[0];
  if (!m) throw notFound('merge');
  if (m.undone_at) throw new AppError('INVALID_STATE', { detail: 'already undone' });
  const later = await q.query('SELECT 1 FROM resident_merge WHERE merged_id = $1 AND id > $2 AND undone_at IS NULL', [m.survivor_id, mergeId]);
  if (later.rows.length) throw new AppError('INVALID_STATE', { detail: 'the surviving record was merged again; undo that merge first' });
  const moved = typeof m.moved === 'string' ? JSON.parse(m.moved) : m.moved;
  if (moved.tookIdNumber) await q.query('UPDATE resident SET id_number_enc = NULL, id_number_hash = NULL, id_number_mask = NULL, version = version + 1 WHERE id = $1', [m.survivor_id]);
  await q.query('UPDATE resident SET status = $2, merged_into = NULL, version = version + 1, updated_at = now() WHERE id = $1', [m.merged_id, moved.duplicateStatus]);
  for (const s of moved.sourceIds as { institutionId: number; sourceId: string }[]) {
    await q.query('UPDATE resident_source_id SET resident_id = $1 WHERE institution_id = $2 AND source_id = $3', [m.merged_id, s.institutionId, s.sourceId]);
  }
  await q.query(`DELETE FROM care_relationship WHERE resident_id = $1 AND source_ref = ANY($2::text[])`, [m.survivor_id, (moved.careRelationshipIds as number[]).map((i) => 'merge:' + i)]);
  for (const h of mergeHooks) if (moved.hooks?.[h.name] !== undefined) await h.restore(q, moved.hooks[h.name], m.merged_id);
  await q.query('UPDATE resident_merge SET undone_by = $2, undone_at = now() WHERE id = $1', [mergeId, byUserId]);
  await q.query("UPDATE match_review SET status = 'pending', decided_by = NULL, decided_at = NULL, merge_id = NULL WHERE merge_id = $1", [mergeId]);
  const r = await q.query('SELECT id, survivor_id, merged_id, reason, merged_at, undone_at FROM resident_merge WHERE id = $1', [mergeId]);
  return mergeView(r.rows[0]);
}

const mergeView = (r: any) => ({ id: r.id, survivorId: r.survivor_id, mergedId: r.merged_id, reason: r.reason, mergedAt: new Date(r.merged_at).toISOString(), undoneAt: r.undone_at ? new Date(r.undone_at).toISOString() : null });

// ── Review queue ──
export async function listReviews(q: Queryable, p: Principal, f: { status: string; page: number; pageSize: number }) {
  const params = new Params();
  const where = [`m.status = ${params.add(f.status)}`];
  if (!p.roles.includes('district_admin')) where.push(`m.institution_id = ${params.add(p.institutionId ?? -1)}`);
  const w = where.join(' AND ');
  const total = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM match_review m WHERE ${w}`, params.values);
  const { rows } = await q.query(
    `SELECT m.id, m.score, m.reasons, m.status, m.created_at, m.institution_id,
            a.id AS a_id, a.name AS a_name, a.sex AS a_sex, a.birth_date AS a_birth, a.phone_mask AS a_phone, a.id_number_mask AS a_idm,
            b.id AS b_id, b.name AS b_name, b.sex AS b_sex, b.birth_date AS b_birth, b.phone_mask AS b_phone, b.id_number_mask AS b_idm
       FROM match_review m JOIN resident a ON a.id = m.resident_id JOIN resident b ON b.id = m.candidate_id
      WHERE ${w} ORDER BY m.id LIMIT ${params.add(f.pageSize)} OFFSET ${params.add((f.page - 1) * f.pageSize)}`,
    params.values,
  );
  const side = (r: any, k: 'a' | 'b') => ({ id: r[`${k}_id`], name: r[`${k}_name`], sex: r[`${k}_sex`], birthDate: r[`${k}_birth`], phoneMasked: r[`${k}_phone`], idNumberMasked: r[`${k}_idm`] });
  return {
    items: rows.map((r) => ({ id: r.id, score: Number(r.score), reasons: r.reasons, status: r.status, createdAt: new Date(r.created_at).toISOString(), institutionId: r.institution_id, incoming: side(r, 'a'), candidate: side(r, 'b') })),
    total: total.rows[0].n, page: f.page, pageSize: f.pageSize,
  };
}

export async function decideReview(q: Queryable, p: Principal, reviewId: number, decision: 'merge' | 'distinct') {
  const { rows } = await q.query('SELECT * FROM match_review WHERE id = $1 FOR UPDATE', [reviewId]);
  const r = rows[0];
  if (!r || (!p.roles.includes('district_admin') && r.institution_id !== p.institutionId)) throw notFound('review');
  if (r.status !== 'pending') throw new AppError('INVALID_STATE', { detail: r.status });
  let mergeId: number | null = null;
  if (decision === 'merge') {
    mergeId = (await mergeResidents(q, p.userId, r.candidate_id, r.resident_id, `match review ${reviewId}`)).id;
  } else {
    await q.query("UPDATE resident SET status = 'active', version = version + 1, updated_at = now() WHERE id = $1 AND status = 'provisional'", [r.resident_id]);
  }
  await q.query('UPDATE match_review SET status = $2, decided_by = $3, decided_at = now(), merge_id = $4 WHERE id = $1', [reviewId, decision === 'merge' ? 'merged' : 'distinct', p.userId, mergeId]);
  return { id: reviewId, status: decision === 'merge' ? 'merged' : 'distinct', mergeId, residentId: r.resident_id, candidateId: r.candidate_id };
}
