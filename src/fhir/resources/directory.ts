// The registry as FHIR: Organization (institution), Location (region tree), Practitioner and PractitionerRole (one
// practitioner row each, same id), CareTeam (team with members and the grids it covers). Reference data, readable by
// every logged-in user; written only by district administrators and only through the registry service, so the same
// rules apply as in the console.
import type { Row } from '../../db/engine.ts';
import { createInstitution, createRegion, saveTeam, savePractitioner, updateInstitution, updateRegion, INSTITUTION_TYPES, REGION_LEVELS } from '../../modules/registry/service.ts';
import type { RegionLevel } from '../../modules/registry/vocabulary.ts';
import { EXT, SYSTEM, array, bool, clean, code, codeIn, codeable, concept, extensionsOf, humanName, identifierValue, invalid, nameText, num, object, parseReference, ref, required, str, type Json } from '../datatypes.ts';
import { referenceParam, specialParam, stringParam, tokenParam, or } from '../search.ts';
import type { ResourceKind, SearchParam, WriteContext, WriteResult } from '../types.ts';
import { REGISTRY_WRITERS, idsOf, meta, viaService } from './common.ts';

const CODE_RE = /^[A-Za-z0-9_-]{2,40}$/;
const REGION_CODE_RE = /^\d{6,20}$/;
export const PROFESSIONS = ['gp', 'nurse', 'public_health', 'specialist', 'epidemiologist', 'pharmacist', 'technician', 'other'] as const;
export const TEAM_KINDS = ['family_doctor', 'tracing', 'emergency', 'other'] as const;
export const TEAM_ROLES = ['lead_gp', 'gp', 'nurse', 'public_health', 'specialist_partner', 'member'] as const;

/** id, meta, the registry code as the official identifier, and `active` where the row has it. */
function registryHead(type: string, row: Row, system: string): Json {
  return { resourceType: type, id: String(row.id), meta: meta(row), identifier: [{ use: 'official', system, value: row.code }], active: row.active };
}

const activeParam: SearchParam = specialParam('token', (values, _m, params) => or(values.map((v) => (v === 'true' || v === 'false' ? `t.active = ${params.add(v === 'true')}` : 'FALSE'))), 'true or false');

/** Registry rows have no status: they are active while they exist (Location.status, CareTeam.status). */
function onlyActive(value: unknown, allowed: readonly string[], path: string) {
  const s = code(value, allowed, path);
  if (s !== null && s !== 'active') throw invalid(path, 'CareGrid keeps this as active while it exists');
}

function sameCode(given: string, existing: string, path: string) {
  if (given !== existing) throw invalid(path, `the code is ${existing} and cannot change`);
}

/** The first Reference of a list (managingOrganization, performer …). */
function firstRef(value: unknown, path: string, allowed: string[]) {
  const list = array(value, path);
  return list.length ? parseReference(list[0], `${path}[0]`, allowed) : null;
}

// ── Organization ──

interface OrgInput { code: string; name: string; nameEn: string | null; type: string; regionId: number | null; parentId: number | null; address: string | null; active: boolean }

async function parseOrganization(r: Json, ctx: WriteContext): Promise<OrgInput> {
  const codeValue = required(identifierValue(r, SYSTEM.institution, 'Organization', CODE_RE), 'Organization.identifier');
  const name = required(str(r.name, 'Organization.name', 100), 'Organization.name');
  if (name.trim().length < 2) throw invalid('Organization.name', 'at least 2 characters');
  let type: string | null = null;
  for (const [i, t] of array(r.type, 'Organization.type').entries()) type ??= codeIn(t, SYSTEM.institutionType, INSTITUTION_TYPES, `Organization.type[${i}]`);
  const aliases = array(r.alias, 'Organization.alias');
  const addresses = array(r.address, 'Organization.address');
  const a0 = addresses.length ? object(addresses[0], 'Organization.address[0]')! : null;
  const address = a0 ? str(a0.text, 'Organization.address[0].text', 200) ?? (array(a0.line, 'Organization.address[0].line').join('').slice(0, 200) || null) : null;
  const regions = extensionsOf(r, EXT.region, 'Organization');
  const regionId = regions.length ? await ctx.resolve(parseReference(regions[0].ext.valueReference, `${regions[0].path}.valueReference`, ['Location']), `${regions[0].path}.valueReference`) : null;
  return {
    code: codeValue,
    name,
    nameEn: aliases.length ? str(aliases[0], 'Organization.alias[0]', 200) : null,
    type: required(type, 'Organization.type'),
    regionId,
    parentId: await ctx.resolve(parseReference(r.partOf, 'Organization.partOf', ['Organization']), 'Organization.partOf'),
    address,
    active: bool(r.active, 'Organization.active') ?? true,
  };
}

const ORG_FIELDS = { code: 'Organization.identifier', regionId: 'Organization.extension', parentId: 'Organization.partOf', type: 'Organization.type' };

/** Where an institution without a region extension sits: its parent's region, else the district. */
async function defaultRegion(ctx: WriteContext, parentId: number | null): Promise<number> {
  const { rows } = await ctx.q.query(
    `SELECT coalesce((SELECT region_id FROM institution WHERE id = $1), (SELECT id FROM region WHERE level = 'district' ORDER BY id LIMIT 1)) AS id`,
    [parentId],
  );
  return required(rows[0]?.id as number | null, 'Organization.extension');
}

export const organizationKind: ResourceKind = {
  type: 'Organization',
  table: 'institution',
  from: 'institution t',
  select: 't.*',
  residentColumn: null,
  order: 't.code',
  writers: REGISTRY_WRITERS,
  include: { 'Organization:partof': { target: 'Organization', column: 'parent_id' } },
  toFhir(row: Row): Json {
    return clean({
      ...registryHead('Organization', row, SYSTEM.institution),
      extension: [{ url: EXT.region, valueReference: ref('Location', row.region_id) }],
      type: [concept(SYSTEM.institutionType, row.type)],
      name: row.name,
      alias: row.name_en ? [row.name_en] : undefined,
      address: row.address ? [{ text: row.address, country: 'CN' }] : undefined,
      partOf: ref('Organization', row.parent_id),
    });
  },
  search: {
    identifier: tokenParam('t.code', null, SYSTEM.institution, 'institution code'),
    name: stringParam(['t.name', 't.name_en'], 'name or English name (prefix; :contains, :exact)'),
    type: tokenParam('t.type', null, SYSTEM.institutionType, 'institution type'),
    active: activeParam,
    partof: referenceParam('t.parent_id', ['Organization'], 'the institution this one belongs to'),
    address: stringParam(['t.address'], 'address text (prefix; :contains)'),
  },
  async create(r: Json, ctx: WriteContext): Promise<WriteResult> {
    const o = await parseOrganization(r, ctx);
    const regionId = o.regionId ?? (await defaultRegion(ctx, o.parentId));
    const created = await viaService(ORG_FIELDS, () => createInstitution(ctx.q, {
      code: o.code, name: o.name, nameEn: o.nameEn, type: o.type, regionId, parentId: o.parentId, address: o.address,
    }));
    if (!o.active) await updateInstitution(ctx.q, created.id, { active: false });
    return { id: created.id, created: true, residentId: null };
  },
  async update(id: number, r: Json, ctx: WriteContext, existing: Row): Promise<WriteResult> {
    const o = await parseOrganization(r, ctx);
    sameCode(o.code, existing.code, 'Organization.identifier');
    if (o.parentId === id) throw invalid('Organization.partOf', 'an organization cannot be part of itself');
    await viaService(ORG_FIELDS, () => updateInstitution(ctx.q, id, {
      name: o.name, nameEn: o.nameEn, type: o.type, regionId: o.regionId ?? existing.region_id, parentId: o.parentId, address: o.address, active: o.active,
    }));
    return { id, created: false, residentId: null };
  },
};

// ── Location ──

// location-physical-type: administrative areas are jurisdictions; a grid is an area on the ground
const PHYSICAL: Record<RegionLevel, { code: string; display: string }> = {
  district: { code: 'jdn', display: 'Jurisdiction' }, street: { code: 'jdn', display: 'Jurisdiction' }, community: { code: 'jdn', display: 'Jurisdiction' }, grid: { code: 'area', display: 'Area' },
};

interface LocationInput { code: string; name: string; nameEn: string | null; level: RegionLevel; parentId: number | null; population: number | null | undefined }

async function parseLocation(r: Json, ctx: WriteContext): Promise<LocationInput> {
  onlyActive(r.status, ['active', 'suspended', 'inactive'], 'Location.status');
  const name = required(str(r.name, 'Location.name', 60), 'Location.name');
  const aliases = array(r.alias, 'Location.alias');
  let level: RegionLevel | null = null;
  for (const [i, t] of array(r.type, 'Location.type').entries()) level ??= codeIn(t, SYSTEM.regionLevel, REGION_LEVELS, `Location.type[${i}]`);
  const pops = extensionsOf(r, EXT.population, 'Location');
  let population: number | null | undefined;
  if (pops.length) {
    population = num(pops[0].ext.valueInteger, `${pops[0].path}.valueInteger`);
    if (population !== null && (!Number.isInteger(population) || population < 0)) throw invalid(`${pops[0].path}.valueInteger`, 'a whole number of people');
  }
  return {
    code: required(identifierValue(r, SYSTEM.region, 'Location', REGION_CODE_RE), 'Location.identifier'),
    name,
    nameEn: aliases.length ? str(aliases[0], 'Location.alias[0]', 100) : null,
    level: required(level, 'Location.type'),
    parentId: await ctx.resolve(parseReference(r.partOf, 'Location.partOf', ['Location']), 'Location.partOf'),
    population,
  };
}

export const locationKind: ResourceKind = {
  type: 'Location',
  table: 'region',
  from: 'region t',
  select: 't.*',
  residentColumn: null,
  order: 't.code',
  writers: REGISTRY_WRITERS,
  include: { 'Location:partof': { target: 'Location', column: 'parent_id' } },
  toFhir(row: Row): Json {
    const phys = PHYSICAL[row.level as RegionLevel] ?? PHYSICAL.grid;
    return clean({
      ...registryHead('Location', row, SYSTEM.region),
      extension: row.population !== null && row.population !== undefined ? [{ url: EXT.population, valueInteger: Number(row.population) }] : undefined,
      status: 'active',
      name: row.name,
      alias: row.name_en ? [row.name_en] : undefined,
      mode: 'instance',
      type: [concept(SYSTEM.regionLevel, row.level)],
      physicalType: { coding: [{ system: SYSTEM.locationPhysicalType, code: phys.code, display: phys.display }] },
      partOf: ref('Location', row.parent_id),
    });
  },
  search: {
    identifier: tokenParam('t.code', null, SYSTEM.region, 'region code (GB/T 2260 prefix)'),
    name: stringParam(['t.name', 't.name_en'], 'name or English name (prefix; :contains, :exact)'),
    type: tokenParam('t.level', null, SYSTEM.regionLevel, 'district, street, community or grid'),
    partof: referenceParam('t.parent_id', ['Location'], 'the region this one lies in'),
    status: specialParam('token', (values) => or(values.map((v) => (v === 'active' ? 'TRUE' : 'FALSE'))), 'always active'),
  },
  async create(r: Json, ctx: WriteContext): Promise<WriteResult> {
    const l = await parseLocation(r, ctx);
    const created = await viaService({ code: 'Location.identifier', parentId: 'Location.partOf', level: 'Location.type' }, () =>
      createRegion(ctx.q, { code: l.code, name: l.name, nameEn: l.nameEn ?? undefined, level: l.level, parentId: l.parentId }));
    if (l.population !== undefined) await updateRegion(ctx.q, created.id, { population: l.population });
    return { id: created.id, created: true, residentId: null };
  },
  async update(id: number, r: Json, ctx: WriteContext, existing: Row): Promise<WriteResult> {
    const l = await parseLocation(r, ctx);
    sameCode(l.code, existing.code, 'Location.identifier');
    // the tree is fixed once built: people, institutions and scopes hang on it
    if (l.level !== existing.level) throw invalid('Location.type', `a ${existing.level} stays a ${existing.level}`);
    if (l.parentId !== (existing.parent_id ?? null)) throw invalid('Location.partOf', 'a region does not move to another parent');
    await updateRegion(ctx.q, id, { name: l.name, nameEn: l.nameEn, population: l.population });
    return { id, created: false, residentId: null };
  },
};

// ── Practitioner and PractitionerRole ──

async function practitionerRow(ctx: WriteContext, id: number): Promise<Row> {
  const { rows } = await ctx.q.query('SELECT * FROM practitioner WHERE id = $1', [id]);
  return rows[0];
}

/** savePractitioner takes the whole row: what this resource does not carry is kept as it is. */
function practitionerInput(row: Row) {
  return { code: row.code as string, name: row.name as string, sex: row.sex ?? null, institutionId: row.institution_id as number, profession: row.profession as string, specialty: row.specialty ?? null, title: row.title ?? null, active: row.active as boolean };
}

const PRACTITIONER_FIELDS = { code: 'Practitioner.identifier', institutionId: 'PractitionerRole.organization' };

function parsePractitioner(r: Json) {
  const name = required(nameText(r.name, 'Practitioner.name'), 'Practitioner.name');
  if (name.length > 50) throw invalid('Practitioner.name[0]', 'longer than 50 characters');
  const gender = code(r.gender, ['male', 'female', 'other', 'unknown'], 'Practitioner.gender');
  if (gender === 'other' || gender === 'unknown') throw invalid('Practitioner.gender', 'CareGrid records sex as male or female (GB/T 2261.1)');
  const quals = array(r.qualification, 'Practitioner.qualification');
  const title = quals.length ? codeable(object(quals[0], 'Practitioner.qualification[0]')!.code, 'Practitioner.qualification[0].code', { required: true })!.display : null;
  if (title && title.length > 30) throw invalid('Practitioner.qualification[0].code', 'longer than 30 characters');
  return {
    code: required(identifierValue(r, SYSTEM.practitioner, 'Practitioner', CODE_RE), 'Practitioner.identifier'),
    name,
    sex: gender as 'male' | 'female' | null,
    title,
    active: bool(r.active, 'Practitioner.active') ?? true,
  };
}

export const practitionerKind: ResourceKind = {
  type: 'Practitioner',
  table: 'practitioner',
  from: 'practitioner t',
  select: 't.*',
  residentColumn: null,
  order: 't.code',
  writers: REGISTRY_WRITERS,
  toFhir(row: Row): Json {
    return clean({
      ...registryHead('Practitioner', row, SYSTEM.practitioner),
      name: [humanName(String(row.name))],
      gender: row.sex ?? undefined,
      qualification: row.title ? [{ code: { text: row.title } }] : undefined,
    });
  },
  search: {
    identifier: tokenParam('t.code', null, SYSTEM.practitioner, 'practitioner code'),
    name: stringParam(['t.name'], 'name (prefix; :contains, :exact)'),
    family: stringParam(['t.name'], 'family name (prefix)'),
    gender: tokenParam('t.sex'),
    active: activeParam,
  },
  async create(r: Json, ctx: WriteContext): Promise<WriteResult> {
    const p = parsePractitioner(r);
    // a new practitioner works for the caller's institution until a PractitionerRole says otherwise
    const institutionId = await ctx.recordingInstitution(null, 'PractitionerRole.organization');
    const saved = await viaService(PRACTITIONER_FIELDS, () => savePractitioner(ctx.q, null, { ...p, institutionId, profession: 'other', specialty: null }));
    return { id: saved.id, created: true, residentId: null };
  },
  async update(id: number, r: Json, ctx: WriteContext, existing: Row): Promise<WriteResult> {
    const p = parsePractitioner(r);
    sameCode(p.code, existing.code, 'Practitioner.identifier');
    await viaService(PRACTITIONER_FIELDS, () => savePractitioner(ctx.q, id, { ...practitionerInput(existing), name: p.name, sex: p.sex, title: p.title, active: p.active }));
    return { id, created: false, residentId: null };
  },
};

async function parseRole(r: Json, ctx: WriteContext) {
  const practitionerId = required(await ctx.resolve(parseReference(required(r.practitioner, 'PractitionerRole.practitioner'), 'PractitionerRole.practitioner', ['Practitioner']), 'PractitionerRole.practitioner'), 'PractitionerRole.practitioner');
  const institutionId = required(await ctx.resolve(parseReference(required(r.organization, 'PractitionerRole.organization'), 'PractitionerRole.organization', ['Organization']), 'PractitionerRole.organization'), 'PractitionerRole.organization');
  let profession: string | null = null;
  for (const [i, c] of array(r.code, 'PractitionerRole.code').entries()) profession ??= codeIn(c, SYSTEM.profession, PROFESSIONS, `PractitionerRole.code[${i}]`);
  const specialties = array(r.specialty, 'PractitionerRole.specialty');
  const specialty = specialties.length ? codeable(specialties[0], 'PractitionerRole.specialty[0]')?.display ?? null : null;
  if (specialty && specialty.length > 50) throw invalid('PractitionerRole.specialty[0]', 'longer than 50 characters');
  return { practitionerId, institutionId, profession: required(profession, 'PractitionerRole.code'), specialty, active: bool(r.active, 'PractitionerRole.active') };
}

async function saveRole(ctx: WriteContext, id: number, role: Awaited<ReturnType<typeof parseRole>>, existing: Row) {
  await viaService(PRACTITIONER_FIELDS, () => savePractitioner(ctx.q, id, {
    ...practitionerInput(existing), institutionId: role.institutionId, profession: role.profession, specialty: role.specialty, active: role.active ?? existing.active,
  }));
}

export const practitionerRoleKind: ResourceKind = {
  type: 'PractitionerRole',
  table: 'practitioner',
  from: 'practitioner t',
  select: 't.*',
  residentColumn: null,
  order: 't.code',
  writers: REGISTRY_WRITERS,
  include: { 'PractitionerRole:practitioner': { target: 'Practitioner', column: 'id' }, 'PractitionerRole:organization': { target: 'Organization', column: 'institution_id' } },
  toFhir(row: Row): Json {
    return clean({
      ...registryHead('PractitionerRole', row, SYSTEM.practitioner),
      practitioner: ref('Practitioner', row.id, row.name),
      organization: ref('Organization', row.institution_id),
      code: [concept(SYSTEM.profession, row.profession)],
      specialty: row.specialty ? [{ text: row.specialty }] : undefined,
    });
  },
  search: {
    identifier: tokenParam('t.code', null, SYSTEM.practitioner, 'the practitioner’s code'),
    practitioner: referenceParam('t.id', ['Practitioner']),
    organization: referenceParam('t.institution_id', ['Organization']),
    role: tokenParam('t.profession', null, SYSTEM.profession, 'profession'),
    specialty: specialParam('token', (values, _m, params) => or(values.map((v) => `t.specialty = ${params.add(v.includes('|') ? v.slice(v.indexOf('|') + 1) : v)}`)), 'specialty (its text)'),
    active: activeParam,
  },
  // Every practitioner has exactly one role, kept on the same row: "creating" one for a practitioner sets it.
  async create(r: Json, ctx: WriteContext): Promise<WriteResult> {
    const role = await parseRole(r, ctx);
    await saveRole(ctx, role.practitionerId, role, await practitionerRow(ctx, role.practitionerId));
    return { id: role.practitionerId, created: false, residentId: null };
  },
  async update(id: number, r: Json, ctx: WriteContext, existing: Row): Promise<WriteResult> {
    const role = await parseRole(r, ctx);
    if (role.practitionerId !== id) throw invalid('PractitionerRole.practitioner', `the role ${id} belongs to Practitioner/${id}`);
    await saveRole(ctx, id, role, existing);
    return { id, created: false, residentId: null };
  },
};

// ── CareTeam ──

const CARE_TEAM_STATUSES = ['proposed', 'active', 'suspended', 'inactive', 'entered-in-error'] as const;

async function parseCareTeam(r: Json, ctx: WriteContext) {
  onlyActive(r.status, CARE_TEAM_STATUSES, 'CareTeam.status');
  const name = required(str(r.name, 'CareTeam.name', 60), 'CareTeam.name');
  let kind: string | null = null;
  for (const [i, c] of array(r.category, 'CareTeam.category').entries()) kind ??= codeIn(c, SYSTEM.teamKind, TEAM_KINDS, `CareTeam.category[${i}]`);
  const institutionId = await ctx.resolve(required(firstRef(r.managingOrganization, 'CareTeam.managingOrganization', ['Organization']), 'CareTeam.managingOrganization'), 'CareTeam.managingOrganization[0]');
  const members: { practitionerId: number; role: string }[] = [];
  for (const [i, raw] of array(r.participant, 'CareTeam.participant').entries()) {
    const p = object(raw, `CareTeam.participant[${i}]`)!;
    const path = `CareTeam.participant[${i}].member`;
    const practitionerId = (await ctx.resolve(parseReference(required(p.member, path), path, ['Practitioner', 'PractitionerRole']), path))!;
    const roles = array(p.role, `CareTeam.participant[${i}].role`);
    const role = roles.length ? codeIn(roles[0], SYSTEM.teamRole, TEAM_ROLES, `CareTeam.participant[${i}].role[0]`) : null;
    members.push({ practitionerId, role: role ?? 'member' });
  }
  const community = extensionsOf(r, EXT.community, 'CareTeam');
  const communityId = community.length ? await ctx.resolve(parseReference(community[0].ext.valueReference, `${community[0].path}.valueReference`, ['Location']), `${community[0].path}.valueReference`) : null;
  const gridIds: number[] = [];
  for (const g of extensionsOf(r, EXT.coversGrid, 'CareTeam')) {
    gridIds.push((await ctx.resolve(parseReference(required(g.ext.valueReference, `${g.path}.valueReference`), `${g.path}.valueReference`, ['Location']), `${g.path}.valueReference`))!);
  }
  return {
    code: required(identifierValue(r, SYSTEM.team, 'CareTeam', CODE_RE), 'CareTeam.identifier'),
    name, kind: kind ?? 'family_doctor', institutionId: institutionId!, communityId, members, gridIds,
  };
}

const TEAM_FIELDS = { code: 'CareTeam.identifier', institutionId: 'CareTeam.managingOrganization', communityId: 'CareTeam.extension', gridIds: 'CareTeam.extension', members: 'CareTeam.participant' };

export const careTeamKind: ResourceKind = {
  type: 'CareTeam',
  table: 'team',
  from: 'team t',
  select: `t.*,
    (SELECT jsonb_agg(jsonb_build_object('practitioner_id', m.practitioner_id, 'role', m.role) ORDER BY m.role, m.practitioner_id) FROM team_member m WHERE m.team_id = t.id) AS members,
    (SELECT jsonb_agg(g.grid_id ORDER BY g.grid_id) FROM team_grid g WHERE g.team_id = t.id) AS grid_ids`,
  residentColumn: null,
  order: 't.code',
  writers: REGISTRY_WRITERS,
  include: { 'CareTeam:managing-organization': { target: 'Organization', column: 'institution_id' } },
  toFhir(row: Row): Json {
    const members = (row.members as { practitioner_id: number; role: string }[] | null) ?? [];
    const grids = (row.grid_ids as number[] | null) ?? [];
    return clean({
      ...registryHead('CareTeam', row, SYSTEM.team),
      extension: [
        ...(row.community_id ? [{ url: EXT.community, valueReference: ref('Location', row.community_id) }] : []),
        // the grids whose residents this team signs family-doctor contracts with (its scope of care)
        ...grids.map((g) => ({ url: EXT.coversGrid, valueReference: ref('Location', g) })),
      ],
      status: 'active',
      category: [concept(SYSTEM.teamKind, row.kind)],
      name: row.name,
      participant: members.map((m) => ({ role: [concept(SYSTEM.teamRole, m.role)], member: ref('Practitioner', m.practitioner_id) })),
      managingOrganization: [ref('Organization', row.institution_id)],
    });
  },
  search: {
    identifier: tokenParam('t.code', null, SYSTEM.team, 'team code'),
    name: stringParam(['t.name'], 'team name (prefix; :contains, :exact)'),
    category: tokenParam('t.kind', null, SYSTEM.teamKind, 'team kind'),
    status: specialParam('token', (values) => or(values.map((v) => (v === 'active' ? 'TRUE' : 'FALSE'))), 'always active'),
    participant: specialParam('reference', (values, _m, params) => {
      const ids = idsOf(values);
      return ids.length ? `t.id IN (SELECT m.team_id FROM team_member m WHERE m.practitioner_id = ANY(${params.add(ids)}::bigint[]))` : 'FALSE';
    }, 'a member (Practitioner)'),
    'managing-organization': referenceParam('t.institution_id', ['Organization']),
    grid: specialParam('reference', (values, _m, params) => {
      const ids = idsOf(values);
      return ids.length ? `t.id IN (SELECT g.team_id FROM team_grid g WHERE g.grid_id = ANY(${params.add(ids)}::bigint[]))` : 'FALSE';
    }, 'a grid the team covers (Location)'),
  },
  async create(r: Json, ctx: WriteContext): Promise<WriteResult> {
    const t = await parseCareTeam(r, ctx);
    const saved = await viaService(TEAM_FIELDS, () => saveTeam(ctx.q, null, t));
    return { id: saved.id, created: true, residentId: null };
  },
  async update(id: number, r: Json, ctx: WriteContext, existing: Row): Promise<WriteResult> {
    const t = await parseCareTeam(r, ctx);
    sameCode(t.code, existing.code, 'CareTeam.identifier');
    await viaService(TEAM_FIELDS, () => saveTeam(ctx.q, id, t));
    return { id, created: false, residentId: null };
  },
};
