// Registry: region tree (district → street → community → grid), institutions, medical consortia and the grids they
// cover, practitioners and teams. Reference data: readable by every logged-in user, changed by district admins.
import type { Queryable } from '../../db/engine.ts';
import { AppError, notFound } from '../../platform/errors.ts';
import { Params } from '../../platform/sql.ts';
import type { RegionLevel } from './vocabulary.ts';

export { REGION_LEVELS, INSTITUTION_TYPES, CAPABILITIES, type RegionLevel } from './vocabulary.ts';
const CHILD_LEVEL: Record<RegionLevel, RegionLevel | null> = { district: 'street', street: 'community', community: 'grid', grid: null };

// ── Regions ──
const REGION_SELECT = `SELECT r.id, r.code, r.name, r.name_en, r.level, r.parent_id, r.kind, r.population, r.lon, r.lat,
  (SELECT count(*)::int FROM region c WHERE c.parent_id = r.id) AS child_count FROM region r`;
const regionView = (r: any) => ({ id: r.id, code: r.code, name: r.name, nameEn: r.name_en, level: r.level, parentId: r.parent_id, kind: r.kind, population: r.population, childCount: r.child_count, lon: r.lon, lat: r.lat });

export async function listRegions(q: Queryable, f: { parentId?: number; level?: RegionLevel }) {
  const params = new Params();
  const where: string[] = [];
  if (f.parentId) where.push(`r.parent_id = ${params.add(f.parentId)}`);
  else if (!f.level) where.push('r.parent_id IS NULL');
  if (f.level) where.push(`r.level = ${params.add(f.level)}`);
  const { rows } = await q.query(`${REGION_SELECT} ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY r.code`, params.values);
  return { items: rows.map(regionView) };
}

export async function getRegion(q: Queryable, id: number) {
  const { rows } = await q.query(`${REGION_SELECT} WHERE r.id = $1`, [id]);
  if (!rows[0]) throw notFound('region');
  const path = await q.query<{ id: number; code: string; name: string; nameEn: string | null; level: string }>(
    `WITH RECURSIVE up AS (SELECT id, code, name, name_en, level, parent_id, 0 AS depth FROM region WHERE id = $1
       UNION ALL SELECT p.id, p.code, p.name, p.name_en, p.level, p.parent_id, up.depth + 1 FROM region p JOIN up ON p.id = up.parent_id)
     SELECT id, code, name, name_en AS "nameEn", level FROM up WHERE depth > 0 ORDER BY depth DESC`,
    [id],
  );
  return { ...regionView(rows[0]), path: path.rows };
}

export async function createRegion(q: Queryable, r: { code: string; name: string; nameEn?: string; level: RegionLevel; parentId?: number | null; kind?: string }) {
  if (r.level === 'district') {
    if (r.parentId) throw new AppError('VALIDATION_FAILED', { detail: 'a district has no parent' }, 'parentId');
  } else {
    if (!r.parentId) throw new AppError('VALIDATION_FAILED', { detail: 'parentId is required' }, 'parentId');
    const parent = await q.query('SELECT level FROM region WHERE id = $1', [r.parentId]);
    if (!parent.rows[0]) throw new AppError('VALIDATION_FAILED', { detail: 'parent region does not exist' }, 'parentId');
    if (CHILD_LEVEL[parent.rows[0].level as RegionLevel] !== r.level) {
      throw new AppError('VALIDATION_FAILED', { detail: `a ${r.level} cannot sit under a ${parent.rows[0].level}` }, 'level');
    }
  }
  await assertUnique(q, 'region', 'code', r.code);
  const { rows } = await q.query('INSERT INTO region (code, name, name_en, level, parent_id, kind) VALUES ($1,$2,$3,$4,$5,$6) RETURNING id', [r.code, r.name, r.nameEn ?? null, r.level, r.parentId ?? null, r.kind ?? null]);
  return getRegion(q, rows[0].id);
}

export async function updateRegion(q: Queryable, id: number, r: { name?: string; nameEn?: string | null; population?: number | null }) {
  const { rowCount } = await q.query(
    `UPDATE region SET name = coalesce($2, name), name_en = CASE WHEN $3::boolean THEN $4 ELSE name_en END,
       population = CASE WHEN $5::boolean THEN $6 ELSE population END, updated_at = now() WHERE id = $1`,
    [id, r.name ?? null, r.nameEn !== undefined, r.nameEn ?? null, r.population !== undefined, r.population ?? null],
  );
  if (!rowCount) throw notFound('region');
  return getRegion(q, id);
}

// ── Institutions ──
const INST_SELECT = `SELECT i.id, i.code, i.name, i.name_en, i.type, i.level, i.grade, i.capabilities, i.region_id, rg.name AS region_name,
  i.parent_id, i.address, i.beds, i.active FROM institution i JOIN region rg ON rg.id = i.region_id`;
const instView = (r: any) => ({ id: r.id, code: r.code, name: r.name, nameEn: r.name_en, type: r.type, level: r.level, grade: r.grade, capabilities: r.capabilities, regionId: r.region_id, regionName: r.region_name, parentId: r.parent_id, address: r.address, beds: r.beds, active: r.active });

export async function listInstitutions(q: Queryable, f: { type?: string; regionId?: number; capability?: string; q?: string; page: number; pageSize: number }) {
  const params = new Params();
  const where: string[] = ['TRUE'];
  if (f.type) where.push(`i.type = ${params.add(f.type)}`);
  if (f.capability) where.push(`${params.add(f.capability)} = ANY(i.capabilities)`);
  if (f.regionId) {
    // the region and everything below it
    where.push(`i.region_id IN (WITH RECURSIVE d AS (SELECT id FROM region WHERE id = ${params.add(f.regionId)} UNION ALL SELECT c.id FROM region c JOIN d ON c.parent_id = d.id) SELECT id FROM d)`);
  }
  if (f.q) where.push(`(i.name ILIKE ${params.add('%' + f.q + '%')} OR i.code ILIKE $${params.values.length})`);
  const w = where.join(' AND ');
  const total = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM institution i WHERE ${w}`, params.values);
  const { rows } = await q.query(`${INST_SELECT} WHERE ${w} ORDER BY i.code LIMIT ${params.add(f.pageSize)} OFFSET ${params.add((f.page - 1) * f.pageSize)}`, params.values);
  return { items: rows.map(instView), total: total.rows[0].n, page: f.page, pageSize: f.pageSize };
}

export async function getInstitution(q: Queryable, id: number) {
  const { rows } = await q.query(`${INST_SELECT} WHERE i.id = $1`, [id]);
  if (!rows[0]) throw notFound('institution');
  return instView(rows[0]);
}

export interface InstitutionInput {
  code: string; name: string; nameEn?: string | null; type: string; level?: string | null; grade?: string | null;
  capabilities?: string[]; regionId: number; parentId?: number | null; address?: string | null; beds?: number | null;
}

export async function createInstitution(q: Queryable, i: InstitutionInput) {
  await assertUnique(q, 'institution', 'code', i.code);
  await assertExists(q, 'region', i.regionId, 'regionId');
  const { rows } = await q.query(
    `INSERT INTO institution (code, name, name_en, type, level, grade, capabilities, region_id, parent_id, address, beds)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) RETURNING id`,
    [i.code, i.name, i.nameEn ?? null, i.type, i.level ?? null, i.grade ?? null, i.capabilities ?? [], i.regionId, i.parentId ?? null, i.address ?? null, i.beds ?? null],
  );
  return getInstitution(q, rows[0].id);
}

export async function updateInstitution(q: Queryable, id: number, i: Partial<Omit<InstitutionInput, 'code'>> & { active?: boolean }) {
  const current = await getInstitution(q, id);
  if (i.regionId !== undefined) await assertExists(q, 'region', i.regionId, 'regionId');
  const next = { ...current, ...Object.fromEntries(Object.entries(i).filter(([, v]) => v !== undefined)) } as any;
  await q.query(
    `UPDATE institution SET name=$2, name_en=$3, type=$4, level=$5, grade=$6, capabilities=$7, region_id=$8, parent_id=$9, address=$10, beds=$11, active=$12, updated_at=now() WHERE id=$1`,
    [id, next.name, next.nameEn, next.type, next.level, next.grade, next.capabilities, next.regionId, next.parentId, next.address, next.beds, next.active],
  );
  return getInstitution(q, id);
}

// ── Consortia ──
const CONS_SELECT = `SELECT c.id, c.name, c.kind, c.integration, c.specialty, c.lead_institution_id, i.name AS lead_institution_name,
  (SELECT count(*)::int FROM consortium_member m WHERE m.consortium_id = c.id) AS member_count,
  (SELECT count(*)::int FROM consortium_grid g WHERE g.consortium_id = c.id) AS grid_count
  FROM consortium c JOIN institution i ON i.id = c.lead_institution_id`;
const consView = (r: any) => ({ id: r.id, name: r.name, kind: r.kind, integration: r.integration, specialty: r.specialty, leadInstitutionId: r.lead_institution_id, leadInstitutionName: r.lead_institution_name, memberCount: r.member_count, gridCount: r.grid_count });

export async function listConsortia(q: Queryable, f: { kind?: string }) {
  const params = new Params();
  const where = f.kind ? `WHERE c.kind = ${params.add(f.kind)}` : '';
  const { rows } = await q.query(`${CONS_SELECT} ${where} ORDER BY c.kind, c.id`, params.values);
  return { items: rows.map(consView) };
}

export async function getConsortium(q: Queryable, id: number) {
  const { rows } = await q.query(`${CONS_SELECT} WHERE c.id = $1`, [id]);
  if (!rows[0]) throw notFound('consortium');
  const members = await q.query(
    `SELECT m.institution_id, m.role, i.name, i.type, i.level FROM consortium_member m JOIN institution i ON i.id = m.institution_id
      WHERE m.consortium_id = $1 ORDER BY m.role, i.code`,
    [id],
  );
  const grids = await q.query<{ grid_id: number }>('SELECT grid_id FROM consortium_grid WHERE consortium_id = $1 ORDER BY grid_id', [id]);
  return {
    ...consView(rows[0]),
    members: members.rows.map((m) => ({ institutionId: m.institution_id, role: m.role, name: m.name, type: m.type, level: m.level })),
    gridIds: grids.rows.map((g) => g.grid_id),
  };
}

export interface ConsortiumInput {
  name: string; kind: 'comprehensive' | 'specialty'; integration?: 'tight' | 'loose'; specialty?: string | null;
  leadInstitutionId: number; memberIds?: number[]; gridIds?: number[];
}

export async function saveConsortium(q: Queryable, id: number | null, c: ConsortiumInput) {
  await assertExists(q, 'institution', c.leadInstitutionId, 'leadInstitutionId');
  for (const g of c.gridIds ?? []) {
    const r = await q.query('SELECT level FROM region WHERE id = $1', [g]);
    if (r.rows[0]?.level !== 'grid') throw new AppError('VALIDATION_FAILED', { detail: `region ${g} is not a grid` }, 'gridIds');
  }
  let consortiumId = id;
  if (consortiumId === null) {
    await assertUnique(q, 'consortium', 'name', c.name);
    const { rows } = await q.query('INSERT INTO consortium (name, kind, integration, specialty, lead_institution_id) VALUES ($1,$2,$3,$4,$5) RETURNING id', [c.name, c.kind, c.integration ?? 'tight', c.specialty ?? null, c.leadInstitutionId]);
    consortiumId = rows[0].id as number;
  } else {
    const { rowCount } = await q.query('UPDATE consortium SET name=$2, kind=$3, integration=$4, specialty=$5, lead_institution_id=$6, updated_at=now() WHERE id=$1', [consortiumId, c.name, c.kind, c.integration ?? 'tight', c.specialty ?? null, c.leadInstitutionId]);
    if (!rowCount) throw notFound('consortium');
  }
  if (c.memberIds) {
    await q.query('DELETE FROM consortium_member WHERE consortium_id = $1', [consortiumId]);
    const ids = [...new Set([c.leadInstitutionId, ...c.memberIds])];
    await q.query(
      `INSERT INTO consortium_member (consortium_id, institution_id, role) SELECT $1, x, CASE WHEN x = $2 THEN 'lead' ELSE 'member' END FROM unnest($3::bigint[]) x`,
      [consortiumId, c.leadInstitutionId, ids],
    );
  }
  if (c.gridIds) {
    await q.query('DELETE FROM consortium_grid WHERE consortium_id = $1', [consortiumId]);
    await q.query('INSERT INTO consortium_grid (consortium_id, grid_id) SELECT $1, x FROM unnest($2::bigint[]) x', [consortiumId, [...new Set(c.gridIds)]]);
  }
  return getConsortium(q, consortiumId);
}

/** Which consortia cover each grid; `uncovered` counts grids without a comprehensive consortium. */
export async function gridCoverage(q: Queryable, f: { streetId?: number }) {
  const params = new Params();
  const where = f.streetId ? `WHERE s.id = ${params.add(f.streetId)}` : '';
  const { rows } = await q.query(
    `SELECT g.id AS grid_id, g.name AS grid_name, c.id AS community_id, c.name AS community_name, s.id AS street_id, s.name AS street_name,
            coalesce(json_agg(json_build_object('id', k.id, 'name', k.name, 'kind', k.kind) ORDER BY k.kind, k.id) FILTER (WHERE k.id IS NOT NULL), '[]') AS consortia
       FROM region g JOIN region c ON c.id = g.parent_id JOIN region s ON s.id = c.parent_id
       LEFT JOIN consortium_grid cg ON cg.grid_id = g.id LEFT JOIN consortium k ON k.id = cg.consortium_id
      ${where ? where + " AND g.level = 'grid'" : "WHERE g.level = 'grid'"}
      GROUP BY g.id, c.id, s.id ORDER BY g.code`,
    params.values,
  );
  const items = rows.map((r) => ({ gridId: r.grid_id, gridName: r.grid_name, communityId: r.community_id, communityName: r.community_name, streetId: r.street_id, streetName: r.street_name, consortia: typeof r.consortia === 'string' ? JSON.parse(r.consortia) : r.consortia }));
  const uncovered = items.filter((i) => !i.consortia.some((c: any) => c.kind === 'comprehensive')).length;
  return { items, uncovered };
}

// ── Practitioners and teams ──
export async function listPractitioners(q: Queryable, f: { id?: number; institutionId?: number; profession?: string; q?: string; page: number; pageSize: number }) {
  const params = new Params();
  const where: string[] = ['TRUE'];
  if (f.id) where.push(`p.id = ${params.add(f.id)}`);
  if (f.institutionId) where.push(`p.institution_id = ${params.add(f.institutionId)}`);
  if (f.profession) where.push(`p.profession = ${params.add(f.profession)}`);
  if (f.q) where.push(`p.name ILIKE ${params.add('%' + f.q + '%')}`);
  const w = where.join(' AND ');
  const total = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM practitioner p WHERE ${w}`, params.values);
  const { rows } = await q.query(
    `SELECT p.id, p.code, p.name, p.sex, p.institution_id, i.name AS institution_name, p.profession, p.specialty, p.title, p.active
       FROM practitioner p JOIN institution i ON i.id = p.institution_id WHERE ${w} ORDER BY p.code LIMIT ${params.add(f.pageSize)} OFFSET ${params.add((f.page - 1) * f.pageSize)}`,
    params.values,
  );
  return {
    items: rows.map((r) => ({ id: r.id, code: r.code, name: r.name, sex: r.sex, institutionId: r.institution_id, institutionName: r.institution_name, profession: r.profession, specialty: r.specialty, title: r.title, active: r.active })),
    total: total.rows[0].n, page: f.page, pageSize: f.pageSize,
  };
}

export interface PractitionerInput {
  code: string; name: string; sex?: 'male' | 'female' | null; institutionId: number; profession: string;
  specialty?: string | null; title?: string | null; active?: boolean;
}

export async function getPractitioner(q: Queryable, id: number) {
  const r = await listPractitioners(q, { id, page: 1, pageSize: 1 });
  if (!r.items[0]) throw notFound('practitioner');
  return r.items[0];
}

/** Creates (id null, code required) or updates a practitioner; the code never changes. */
export async function savePractitioner(q: Queryable, id: number | null, p: Omit<PractitionerInput, 'code'> & { code?: string }) {
  await assertExists(q, 'institution', p.institutionId, 'institutionId');
  if (id === null) {
    if (!p.code) throw new AppError('VALIDATION_FAILED', { detail: 'code is required' }, 'code');
    const dup = await q.query('SELECT 1 FROM practitioner WHERE code = $1', [p.code]);
    if (dup.rows.length) throw new AppError('CONFLICT', { detail: `code ${p.code}` }, 'code');
    const { rows } = await q.query(
      'INSERT INTO practitioner (code, name, sex, institution_id, profession, specialty, title, active) VALUES ($1,$2,$3,$4,$5,$6,$7,$8) RETURNING id',
      [p.code, p.name, p.sex ?? null, p.institutionId, p.profession, p.specialty ?? null, p.title ?? null, p.active ?? true],
    );
    return getPractitioner(q, rows[0].id);
  }
  const { rowCount } = await q.query(
    'UPDATE practitioner SET name=$2, sex=$3, institution_id=$4, profession=$5, specialty=$6, title=$7, active=$8, updated_at=now() WHERE id=$1',
    [id, p.name, p.sex ?? null, p.institutionId, p.profession, p.specialty ?? null, p.title ?? null, p.active ?? true],
  );
  if (!rowCount) throw notFound('practitioner');
  return getPractitioner(q, id);
}

export interface TeamInput {
  code: string; name: string; kind?: string; institutionId: number; communityId?: number | null;
  members?: { practitionerId: number; role: string }[]; gridIds?: number[];
}

export async function saveTeam(q: Queryable, id: number | null, t: TeamInput) {
  await assertExists(q, 'institution', t.institutionId, 'institutionId');
  if (t.communityId != null) {
    const c = await q.query('SELECT level FROM region WHERE id = $1', [t.communityId]);
    if (c.rows[0]?.level !== 'community') throw new AppError('VALIDATION_FAILED', { detail: `region ${t.communityId} is not a community` }, 'communityId');
  }
  for (const g of t.gridIds ?? []) {
    const r = await q.query('SELECT level FROM region WHERE id = $1', [g]);
    if (r.rows[0]?.level !== 'grid') throw new AppError('VALIDATION_FAILED', { detail: `region ${g} is not a grid` }, 'gridIds');
  }
  for (const m of t.members ?? []) {
    const r = await q.query('SELECT 1 FROM practitioner WHERE id = $1', [m.practitionerId]);
    if (!r.rows.length) throw new AppError('VALIDATION_FAILED', { detail: `practitioner ${m.practitionerId} does not exist` }, 'members');
  }
  let teamId = id;
  if (teamId === null) {
    const dup = await q.query('SELECT 1 FROM team WHERE code = $1', [t.code]);
    if (dup.rows.length) throw new AppError('CONFLICT', { detail: `code ${t.code}` }, 'code');
    const { rows } = await q.query('INSERT INTO team (code, name, kind, institution_id, community_id) VALUES ($1,$2,$3,$4,$5) RETURNING id', [t.code, t.name, t.kind ?? 'family_doctor', t.institutionId, t.communityId ?? null]);
    teamId = rows[0].id as number;
  } else {
    const { rowCount } = await q.query('UPDATE team SET name=$2, kind=$3, institution_id=$4, community_id=$5, updated_at=now() WHERE id=$1', [teamId, t.name, t.kind ?? 'family_doctor', t.institutionId, t.communityId ?? null]);
    if (!rowCount) throw notFound('team');
  }
  if (t.members) {
    await q.query('DELETE FROM team_member WHERE team_id = $1', [teamId]);
    await q.query('INSERT INTO team_member (team_id, practitioner_id, role) SELECT $1, p, r FROM unnest($2::bigint[], $3::text[]) AS x(p, r)', [teamId, t.members.map((m) => m.practitionerId), t.members.map((m) => m.role)]);
  }
  if (t.gridIds) {
    await q.query('DELETE FROM team_grid WHERE team_id = $1', [teamId]);
    await q.query('INSERT INTO team_grid (team_id, grid_id) SELECT $1, x FROM unnest($2::bigint[]) x', [teamId, [...new Set(t.gridIds)]]);
  }
  return getTeam(q, teamId);
}

const TEAM_SELECT = `SELECT t.id, t.code, t.name, t.kind, t.institution_id, i.name AS institution_name, t.community_id,
  (SELECT count(*)::int FROM team_member m WHERE m.team_id = t.id) AS member_count,
  (SELECT count(*)::int FROM team_grid g WHERE g.team_id = t.id) AS grid_count
  FROM team t JOIN institution i ON i.id = t.institution_id`;
const teamView = (r: any) => ({ id: r.id, code: r.code, name: r.name, kind: r.kind, institutionId: r.institution_id, institutionName: r.institution_name, communityId: r.community_id, memberCount: r.member_count, gridCount: r.grid_count });

export async function listTeams(q: Queryable, f: { institutionId?: number; communityId?: number; page: number; pageSize: number }) {
  const params = new Params();
  const where: string[] = ['TRUE'];
  if (f.institutionId) where.push(`t.institution_id = ${params.add(f.institutionId)}`);
  if (f.communityId) where.push(`t.community_id = ${params.add(f.communityId)}`);
  const w = where.join(' AND ');
  const total = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM team t WHERE ${w}`, params.values);
  const { rows } = await q.query(`${TEAM_SELECT} WHERE ${w} ORDER BY t.code LIMIT ${params.add(f.pageSize)} OFFSET ${params.add((f.page - 1) * f.pageSize)}`, params.values);
  return { items: rows.map(teamView), total: total.rows[0].n, page: f.page, pageSize: f.pageSize };
}

export async function getTeam(q: Queryable, id: number) {
  const { rows } = await q.query(`${TEAM_SELECT} WHERE t.id = $1`, [id]);
  if (!rows[0]) throw notFound('team');
  const members = await q.query(
    `SELECT m.practitioner_id, m.role, p.name, p.profession, p.institution_id, i.name AS institution_name
       FROM team_member m JOIN practitioner p ON p.id = m.practitioner_id JOIN institution i ON i.id = p.institution_id WHERE m.team_id = $1 ORDER BY m.role`,
    [id],
  );
  const grids = await q.query<{ grid_id: number }>('SELECT grid_id FROM team_grid WHERE team_id = $1 ORDER BY grid_id', [id]);
  return {
    ...teamView(rows[0]),
    members: members.rows.map((m) => ({ practitionerId: m.practitioner_id, role: m.role, name: m.name, profession: m.profession, institutionId: m.institution_id, institutionName: m.institution_name })),
    gridIds: grids.rows.map((g) => g.grid_id),
  };
}

/**
 * The chain a resident's grid determines: grid → community → street, the comprehensive consortium covering the grid,
 * the community health centre serving the street, the consortium's lead hospital, and the family-doctor team of the grid.
 */
export async function careChainForGrid(q: Queryable, gridId: number) {
  const { rows } = await q.query(
    `SELECT g.id AS grid_id, g.name AS grid_name, c.id AS community_id, c.name AS community_name, s.id AS street_id, s.name AS street_name,
            k.id AS consortium_id, k.name AS consortium_name, k.integration,
            h.id AS hospital_id, h.name AS hospital_name, h.type AS hospital_type, h.level AS hospital_level,
            chc.id AS chc_id, chc.name AS chc_name,
            st.id AS station_id, st.name AS station_name,
            t.id AS team_id, t.name AS team_name
       FROM region g JOIN region c ON c.id = g.parent_id JOIN region s ON s.id = c.parent_id
       LEFT JOIN LATERAL (SELECT k.* FROM consortium_grid cg JOIN consortium k ON k.id = cg.consortium_id
                           WHERE cg.grid_id = g.id AND k.kind = 'comprehensive' ORDER BY k.id LIMIT 1) k ON TRUE
       LEFT JOIN institution h ON h.id = k.lead_institution_id
       LEFT JOIN LATERAL (SELECT i.id, i.name FROM institution i WHERE i.region_id = s.id AND i.type IN ('community_health_centre', 'township_health_centre') AND i.active ORDER BY i.id LIMIT 1) chc ON TRUE
       LEFT JOIN LATERAL (SELECT i.id, i.name FROM institution i WHERE i.region_id = c.id AND i.type IN ('community_health_station', 'village_clinic') AND i.active ORDER BY i.id LIMIT 1) st ON TRUE
       LEFT JOIN LATERAL (SELECT t.id, t.name FROM team_grid tg JOIN team t ON t.id = tg.team_id WHERE tg.grid_id = g.id ORDER BY t.id LIMIT 1) t ON TRUE
      WHERE g.id = $1 AND g.level = 'grid'`,
    [gridId],
  );
  const r = rows[0];
  if (!r) throw notFound('region');
  const specialty = await q.query(
    `SELECT k.id, k.name, k.specialty FROM consortium_grid cg JOIN consortium k ON k.id = cg.consortium_id WHERE cg.grid_id = $1 AND k.kind = 'specialty' ORDER BY k.id`,
    [gridId],
  );
  return {
    grid: { id: r.grid_id, name: r.grid_name },
    community: { id: r.community_id, name: r.community_name },
    street: { id: r.street_id, name: r.street_name },
    consortium: r.consortium_id ? { id: r.consortium_id, name: r.consortium_name, integration: r.integration } : null,
    partnerHospital: r.hospital_id ? { id: r.hospital_id, name: r.hospital_name, type: r.hospital_type, level: r.hospital_level } : null,
    communityHealthCentre: r.chc_id ? { id: r.chc_id, name: r.chc_name } : null,
    communityHealthStation: r.station_id ? { id: r.station_id, name: r.station_name } : null,
    familyDoctorTeam: r.team_id ? { id: r.team_id, name: r.team_name } : null,
    specialtyConsortia: specialty.rows.map((k) => ({ id: k.id, name: k.name, specialty: k.specialty })),
  };
}

export async function overview(q: Queryable) {
  const { rows } = await q.query(`SELECT
    (SELECT count(*)::int FROM region WHERE level = 'street') AS streets,
    (SELECT count(*)::int FROM region WHERE level = 'community') AS communities,
    (SELECT count(*)::int FROM region WHERE level = 'grid') AS grids,
    (SELECT count(*)::int FROM institution WHERE active) AS institutions,
    (SELECT count(*)::int FROM consortium) AS consortia,
    (SELECT count(*)::int FROM practitioner WHERE active) AS practitioners,
    (SELECT count(*)::int FROM team WHERE kind = 'family_doctor') AS family_doctor_teams,
    (SELECT count(*)::int FROM resident WHERE status IN ('active', 'provisional')) AS residents,
    (SELECT count(*)::int FROM household) AS households,
    (SELECT count(*)::int FROM match_review WHERE status = 'pending') AS pending_match_reviews`);
  const r = rows[0];
  return { streets: r.streets, communities: r.communities, grids: r.grids, institutions: r.institutions, consortia: r.consortia, practitioners: r.practitioners, familyDoctorTeams: r.family_doctor_teams, residents: r.residents, households: r.households, pendingMatchReviews: r.pending_match_reviews };
}

async function assertUnique(q: Queryable, table: 'region' | 'institution' | 'consortium', column: 'code' | 'name', value: string) {
  const { rows } = await q.query(`SELECT 1 FROM ${table} WHERE ${column} = $1`, [value]);
  if (rows.length) throw new AppError('CONFLICT', { detail: `${column} ${value}` }, column);
}

async function assertExists(q: Queryable, table: 'region' | 'institution' | 'practitioner', id: number, field: string) {
  const { rows } = await q.query(`SELECT 1 FROM ${table} WHERE id = $1`, [id]);
  if (!rows.length) throw new AppError('VALIDATION_FAILED', { detail: `${field} ${id} does not exist` }, field);
}
