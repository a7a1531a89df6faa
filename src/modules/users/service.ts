// Users and institution tokens: the people and systems that act in CareGrid.
import type { Queryable } from '../../db/engine.ts';
import { AppError, notFound } from '../../platform/errors.ts';
import { hashPassword, newApiToken, tokenHash } from '../../platform/auth.ts';
import type { Principal } from '../../platform/principal.ts';
import { Params } from '../../platform/sql.ts';
import type { Role } from '../../platform/roles.ts';

export interface UserView {
  id: number;
  username: string;
  displayName: string;
  roles: string[];
  institutionId: number | null;
  institutionName: string | null;
  regionId: number | null;
  teamId: number | null;
  practitionerId: number | null;
  locale: string;
  active: boolean;
}

const SELECT_USER = `SELECT u.id, u.username, u.display_name, u.roles, u.institution_id, i.name AS institution_name,
  u.region_id, u.team_id, u.practitioner_id, u.locale, u.active FROM app_user u LEFT JOIN institution i ON i.id = u.institution_id`;

function toView(r: any): UserView {
  return {
    id: r.id,
    username: r.username,
    displayName: r.display_name,
    roles: r.roles,
    institutionId: r.institution_id,
    institutionName: r.institution_name,
    regionId: r.region_id,
    teamId: r.team_id,
    practitionerId: r.practitioner_id,
    locale: r.locale,
    active: r.active,
  };
}

export async function getUser(q: Queryable, id: number): Promise<UserView> {
  const { rows } = await q.query(`${SELECT_USER} WHERE u.id = $1`, [id]);
  if (!rows[0]) throw notFound('user');
  return toView(rows[0]);
}

export async function listUsers(
  q: Queryable,
  viewer: Principal,
  f: { role?: string; institutionId?: number; q?: string; page: number; pageSize: number },
) {
  const params = new Params();
  const where: string[] = ["u.kind = 'person'"];
  if (!viewer.scope.all || !viewer.roles.includes('district_admin')) {
    // institution admins see their own institution's users only
    where.push(`u.institution_id = ${params.add(viewer.institutionId ?? -1)}`);
  }
  if (f.role) where.push(`${params.add(f.role)} = ANY(u.roles)`);
  if (f.institutionId) where.push(`u.institution_id = ${params.add(f.institutionId)}`);
  if (f.q) where.push(`(u.username ILIKE ${params.add('%' + f.q + '%')} OR u.display_name ILIKE $${params.values.length})`);
  const w = where.join(' AND ');
  const total = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM app_user u WHERE ${w}`, params.values);
  const rows = await q.query(
    `${SELECT_USER} WHERE ${w} ORDER BY u.username LIMIT ${params.add(f.pageSize)} OFFSET ${params.add((f.page - 1) * f.pageSize)}`,
    params.values,
  );
  return { items: rows.rows.map(toView), total: total.rows[0].n, page: f.page, pageSize: f.pageSize };
}

export interface NewUser {
  username: string;
  displayName: string;
  password: string;
  roles: Role[];
  institutionId?: number | null;
  regionId?: number | null;
  teamId?: number | null;
  practitionerId?: number | null;
  locale?: 'zh-CN' | 'en';
}

export async function createUser(q: Queryable, viewer: Principal, u: NewUser): Promise<UserView> {
  if (!viewer.roles.includes('district_admin')) {
    if (u.institutionId !== viewer.institutionId) throw new AppError('FORBIDDEN');
    if (u.roles.includes('district_admin') || u.roles.includes('cdc_epidemiologist')) throw new AppError('FORBIDDEN');
  }
  const exists = await q.query('SELECT 1 FROM app_user WHERE username = $1', [u.username]);
  if (exists.rows.length) throw new AppError('CONFLICT', { detail: u.username }, 'username');
  const { rows } = await q.query(
    `INSERT INTO app_user (username, display_name, password_hash, roles, institution_id, region_id, team_id, practitioner_id, locale)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) RETURNING id`,
    [u.username, u.displayName, await hashPassword(u.password), u.roles, u.institutionId ?? null, u.regionId ?? null, u.teamId ?? null, u.practitionerId ?? null, u.locale ?? 'zh-CN'],
  );
  return getUser(q, rows[0].id);
}

/** Creates a system user for the institution (once) and a bearer token bound to it; the token is shown only now. */
export async function createInstitutionToken(q: Queryable, viewer: Principal, institutionId: number, name: string) {
  if (!viewer.roles.includes('district_admin') && viewer.institutionId !== institutionId) throw new AppError('FORBIDDEN');
  const inst = await q.query('SELECT id, code FROM institution WHERE id = $1', [institutionId]);
  if (!inst.rows[0]) throw notFound('institution');
  const username = `system.${inst.rows[0].code}`;
  let user = await q.query('SELECT id FROM app_user WHERE username = $1', [username]);
  if (!user.rows[0]) {
    user = await q.query(
      `INSERT INTO app_user (username, display_name, roles, institution_id, kind) VALUES ($1, $2, $3, $4, 'system') RETURNING id`,
      [username, `system ${inst.rows[0].code}`, ['institution_admin'], institutionId],
    );
  }
  const token = newApiToken();
  const { rows } = await q.query(
    'INSERT INTO api_token (token_hash, name, user_id, institution_id, created_by) VALUES ($1,$2,$3,$4,$5) RETURNING id, created_at',
    [tokenHash(token), name, user.rows[0].id, institutionId, viewer.userId],
  );
  return { id: rows[0].id as number, token, institutionId, name };
}
