// Registry through the HTTP API: region tree, institutions, consortia and their grids, teams.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let s: TestServer;
let admin: string;
const get = (url: string, cookie = admin) => s.app.inject({ url, headers: { cookie } });
const send = (method: 'POST' | 'PATCH', url: string, payload: unknown, cookie = admin) => s.app.inject({ method, url, headers: { cookie }, payload: payload as any });

beforeAll(async () => {
  s = await startTestServer();
  admin = await s.login('admin');
});
afterAll(async () => s?.close());

describe('region tree', () => {
  test('district → street → community → grid, each node with its ancestors', async () => {
    const top = (await get('/api/v1/regions')).json().items;
    expect(top).toEqual([expect.objectContaining({ level: 'district', code: '110101', parentId: null })]);
    const streets = (await get(`/api/v1/regions?parentId=${top[0].id}`)).json().items;
    expect(streets.length).toBe(3);
    expect(streets.every((x: any) => x.level === 'street' && x.childCount > 0)).toBe(true);
    const communities = (await get(`/api/v1/regions?parentId=${streets[0].id}`)).json().items;
    const grids = (await get(`/api/v1/regions?parentId=${communities[0].id}`)).json().items;
    expect(grids[0].level).toBe('grid');
    const g = (await get(`/api/v1/regions/${grids[0].id}`)).json();
    expect(g.path.map((p: any) => p.level)).toEqual(['district', 'street', 'community']);
  });

  test('a region must sit under the level above it', async () => {
    const street = (await get('/api/v1/regions?level=street')).json().items[0];
    const bad = await send('POST', '/api/v1/regions', { code: '110101999', name: '错层网格', level: 'grid', parentId: street.id });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'level' });
    const ok = await send('POST', '/api/v1/regions', { code: '110101999', name: '新建社区', level: 'community', parentId: street.id });
    expect(ok.statusCode).toBe(201);
    expect((await send('POST', '/api/v1/regions', { code: '110101999', name: '重复', level: 'community', parentId: street.id })).statusCode).toBe(409);
    const renamed = await send('PATCH', `/api/v1/regions/${ok.json().id}`, { name: '新建社区二', population: 3200 });
    expect(renamed.json()).toMatchObject({ name: '新建社区二', population: 3200 });
    expect((await send('POST', '/api/v1/regions', { code: '110101998', name: 'x', level: 'community', parentId: street.id }, await s.login('doctor1'))).statusCode).toBe(403);
  });
});

describe('institutions', () => {
  test('filtered by type, capability and region subtree, paged', async () => {
    const centres = (await get('/api/v1/institutions?type=community_health_centre')).json();
    expect(centres.total).toBe(3);
    const fever = (await get('/api/v1/institutions?capability=fever_clinic')).json();
    expect(fever.items.every((i: any) => i.capabilities.includes('fever_clinic'))).toBe(true);
    const street = centres.items[0].regionId;
    const inStreet = (await get(`/api/v1/institutions?regionId=${street}&pageSize=100`)).json();
    expect(inStreet.items.map((i: any) => i.id)).toContain(centres.items[0].id);
    expect(inStreet.items.some((i: any) => i.type === 'community_health_station')).toBe(true);
    const page = (await get('/api/v1/institutions?pageSize=2&page=2')).json();
    expect(page).toMatchObject({ page: 2, pageSize: 2 });
    expect(page.items).toHaveLength(2);
  });

  test('registration is validated, and updates keep the code', async () => {
    const community = (await get('/api/v1/regions?level=community')).json().items[0];
    const bad = await send('POST', '/api/v1/institutions', { code: 'X1', name: '某诊所', type: 'spaceport', regionId: community.id });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().field).toBe('type');
    const noRegion = await send('POST', '/api/v1/institutions', { code: 'X2', name: '某诊所', type: 'village_clinic', regionId: 999999 });
    expect(noRegion.json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'regionId' });
    const ok = await send('POST', '/api/v1/institutions', { code: 'X3', name: '某村卫生室', type: 'village_clinic', level: 'primary', capabilities: ['fever_sentinel'], regionId: community.id });
    expect(ok.statusCode).toBe(201);
    const up = await send('PATCH', `/api/v1/institutions/${ok.json().id}`, { capabilities: ['fever_sentinel', 'internet_clinic'], beds: 2 });
    expect(up.json()).toMatchObject({ code: 'X3', capabilities: ['fever_sentinel', 'internet_clinic'], beds: 2 });
    expect((await get('/api/v1/institutions/987654')).statusCode).toBe(404);
  });
});

describe('consortia and coverage', () => {
  test('every grid is covered by a comprehensive consortium and by the specialty ones', async () => {
    const cov = (await get('/api/v1/coverage/grids')).json();
    expect(cov.items.length).toBeGreaterThan(0);
    expect(cov.uncovered).toBe(0);
    expect(cov.items.every((g: any) => g.consortia.some((c: any) => c.kind === 'specialty'))).toBe(true);
    const consortia = (await get('/api/v1/consortia')).json().items;
    expect(consortia.filter((c: any) => c.kind === 'specialty')).toHaveLength(6);
    const one = (await get(`/api/v1/consortia/${consortia[0].id}`)).json();
    expect(one.members.find((m: any) => m.role === 'lead').institutionId).toBe(one.leadInstitutionId);
    expect(one.gridIds.length).toBe(one.gridCount);
  });

  test('moving a grid out of its consortium shows up as uncovered', async () => {
    const comprehensive = (await get('/api/v1/consortia?kind=comprehensive')).json().items[0];
    const detail = (await get(`/api/v1/consortia/${comprehensive.id}`)).json();
    const [dropped, ...rest] = detail.gridIds;
    const r = await send('PATCH', `/api/v1/consortia/${detail.id}`, { name: detail.name, kind: 'comprehensive', leadInstitutionId: detail.leadInstitutionId, gridIds: rest });
    expect(r.statusCode).toBe(200);
    const cov = (await get('/api/v1/coverage/grids')).json();
    expect(cov.uncovered).toBe(1);
    expect(cov.items.find((g: any) => g.gridId === dropped).consortia.every((c: any) => c.kind === 'specialty')).toBe(true);
    const notGrid = await send('PATCH', `/api/v1/consortia/${detail.id}`, { name: detail.name, kind: 'comprehensive', leadInstitutionId: detail.leadInstitutionId, gridIds: [1] });
    expect(notGrid.json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'gridIds' });
    await send('PATCH', `/api/v1/consortia/${detail.id}`, { name: detail.name, kind: 'comprehensive', leadInstitutionId: detail.leadInstitutionId, gridIds: detail.gridIds });
  });
});

describe('practitioners and teams', () => {
  test('family-doctor teams have a GP lead, a nurse, a public-health physician and a hospital specialist', async () => {
    const teams = (await get('/api/v1/teams')).json();
    expect(teams.total).toBe(6);
    const t = (await get(`/api/v1/teams/${teams.items[0].id}`)).json();
    expect(t.members.map((m: any) => m.role).sort()).toEqual(['lead_gp', 'nurse', 'public_health', 'specialist_partner']);
    expect(t.members.find((m: any) => m.role === 'specialist_partner').institutionId).not.toBe(t.institutionId);
    expect(t.gridIds.length).toBeGreaterThan(0);
    const gps = (await get(`/api/v1/practitioners?institutionId=${t.institutionId}&profession=gp`)).json();
    expect(gps.total).toBeGreaterThan(0);
    const overview = (await get('/api/v1/stats/overview')).json();
    expect(overview).toMatchObject({ streets: 3, familyDoctorTeams: 6 });
    expect(overview.residents).toBeGreaterThanOrEqual(600);
  });
});

describe('registering practitioners and teams', () => {
  test('a new family-doctor team with a grid gives its doctor exactly that grid’s residents', async () => {
    const centre = (await get('/api/v1/institutions?type=community_health_centre')).json().items[0];
    const badProfession = await send('POST', '/api/v1/practitioners', { code: 'PX1', name: '新医生', institutionId: centre.id, profession: 'wizard' });
    expect(badProfession.json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'profession' });
    const noInstitution = await send('POST', '/api/v1/practitioners', { code: 'PX1', name: '新医生', institutionId: 999999, profession: 'gp' });
    expect(noInstitution.json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'institutionId' });
    const gp = await send('POST', '/api/v1/practitioners', { code: 'PX1', name: '新医生', sex: 'female', institutionId: centre.id, profession: 'gp', title: '主治医师' });
    expect(gp.statusCode).toBe(201);
    expect((await send('POST', '/api/v1/practitioners', { code: 'PX1', name: '重复', institutionId: centre.id, profession: 'gp' })).statusCode).toBe(409);
    const renamed = await send('PATCH', `/api/v1/practitioners/${gp.json().id}`, { name: '新医生乙', institutionId: centre.id, profession: 'gp' });
    expect(renamed.json()).toMatchObject({ code: 'PX1', name: '新医生乙' });

    const grid = (await get('/api/v1/coverage/grids')).json().items.at(-1);
    const team = await send('POST', '/api/v1/teams', { code: 'TX1', name: '新团队', institutionId: centre.id, communityId: grid.communityId, members: [{ practitionerId: gp.json().id, role: 'lead_gp' }], gridIds: [grid.gridId] });
    expect(team.statusCode).toBe(201);
    expect(team.json()).toMatchObject({ code: 'TX1', gridIds: [grid.gridId], members: [expect.objectContaining({ practitionerId: gp.json().id, role: 'lead_gp' })] });
    expect((await send('POST', '/api/v1/teams', { code: 'TX2', name: 'x', institutionId: centre.id, gridIds: [grid.communityId] })).json().field).toBe('gridIds');

    const user = await send('POST', '/api/v1/users', { username: 'doctor.new', displayName: '新医生乙', password: 'New-Doctor-2026!', roles: ['family_doctor'], institutionId: centre.id, teamId: team.json().id, practitionerId: gp.json().id });
    expect(user.statusCode).toBe(201);
    const cookie = await s.login('doctor.new', 'New-Doctor-2026!');
    const seen = (await get('/api/v1/residents?pageSize=200', cookie)).json();
    const inGrid = (await get(`/api/v1/residents?gridId=${grid.gridId}&pageSize=200`)).json();
    expect(seen.total).toBe(inGrid.total);
    expect(seen.items.every((r: any) => r.gridId === grid.gridId)).toBe(true);

    // moving the grid away from the team takes the residents out of the doctor's scope at once
    await send('PATCH', `/api/v1/teams/${team.json().id}`, { name: '新团队', institutionId: centre.id, gridIds: [] });
    expect((await get('/api/v1/residents?pageSize=5', cookie)).json().total).toBe(0);
    // an institution admin cannot manage another institution's teams
    const other = (await get('/api/v1/institutions?type=community_health_centre')).json().items[1];
    const foreign = await send('POST', '/api/v1/teams', { code: 'TX3', name: 'x', institutionId: other.id }, await s.login('inst.admin'));
    expect(foreign.statusCode).toBe(403);
  });
});
