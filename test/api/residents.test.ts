// Master person index through the HTTP API: identity numbers, scope, audit, matching, merges.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { makeIdNumber } from '../../src/platform/idcard.ts';

let s: TestServer;
let admin: string;
const get = (url: string, cookie: string, headers: Record<string, string> = {}) => s.app.inject({ url, headers: { cookie, ...headers } });
const post = (url: string, cookie: string, payload: unknown) => s.app.inject({ method: 'POST', url, headers: { cookie }, payload: payload as any });

beforeAll(async () => {
  s = await startTestServer();
  admin = await s.login('admin');
});
afterAll(async () => s?.close());

async function aGrid(): Promise<number> {
  const cov = (await get('/api/v1/coverage/grids', admin)).json();
  return cov.items[0].gridId;
}

describe('identity numbers', () => {
  test('an invalid number is a 400 naming the problem, in Chinese or English', async () => {
    const zh = await get('/api/v1/residents?idNumber=110101199003074515', admin);
    expect(zh.statusCode).toBe(400);
    expect(zh.json()).toEqual({ code: 'ID_NUMBER_INVALID', message: '身份证号无效：校验码不正确', field: 'idNumber' });
    const en = await get('/api/v1/residents?idNumber=110101199003074515&lang=en', admin);
    expect(en.json()).toEqual({ code: 'ID_NUMBER_INVALID', message: 'Invalid identity number: the check character is wrong', field: 'idNumber' });
  });

  test('registration stores the number encrypted, finds it by exact lookup and shows it masked', async () => {
    const idNumber = makeIdNumber('110101', '1948-09-17', 3, 'male');
    const created = await post('/api/v1/residents', admin, { idNumber, name: '测试老人', sex: 'male', birthDate: '1948-09-17', phone: '13912345678', gridId: await aGrid(), tags: ['hypertension'] });
    expect(created.statusCode).toBe(201);
    const id = created.json().residentId;
    const found = await get(`/api/v1/residents?idNumber=${idNumber}`, admin);
    expect(found.statusCode).toBe(200);
    expect(found.json().items).toHaveLength(1);
    const r = found.json().items[0];
    expect(r).toMatchObject({ id, idNumberMasked: idNumber.slice(0, 4) + '**********' + idNumber.slice(-4), phoneMasked: '139****5678' });
    expect(r.tags).toEqual(['elderly', 'hypertension']);
    expect(found.body).not.toContain(idNumber);
    expect(found.body).not.toContain('13912345678');
    // the database holds neither the number nor the phone in clear text
    const raw = await s.started.ctx.db.query("SELECT * FROM resident WHERE id = $1", [id]);
    expect(JSON.stringify(raw.rows[0], (_, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v))).not.toContain(idNumber);
    // the same number registered again resolves to the same person
    const dup = await post('/api/v1/residents', admin, { idNumber, name: '测试老人', sex: 'male', birthDate: '1948-09-17' });
    expect(dup.json()).toEqual({ outcome: 'matched', residentId: id });
    // a number that contradicts the sex is refused
    const bad = await post('/api/v1/residents', admin, { idNumber, name: '测试老人', sex: 'female', birthDate: '1948-09-17' });
    expect(bad.json()).toMatchObject({ code: 'ID_NUMBER_INVALID', field: 'idNumber', message: '身份证号无效：第 17 位与性别不一致' });
  });

  test('a valid unknown number finds nobody', async () => {
    const r = await get('/api/v1/residents?idNumber=110101199003074514', admin);
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ items: [], total: 0, page: 1, pageSize: 20 });
  });

  test('revealing the full number needs a purpose and is audited', async () => {
    const idNumber = makeIdNumber('110105', '1985-01-02', 9, 'female');
    const id = (await post('/api/v1/residents', admin, { idNumber, name: '测试乙', sex: 'female', birthDate: '1985-01-02', gridId: await aGrid() })).json().residentId;
    expect((await post(`/api/v1/residents/${id}/reveal-id`, admin, {})).statusCode).toBe(400);
    const r = await post(`/api/v1/residents/${id}/reveal-id`, admin, { purpose: '核对医保信息' });
    expect(r.json()).toEqual({ idNumber });
    const log = (await get(`/api/v1/audit?residentId=${id}&action=reveal`, admin)).json();
    expect(log.items).toHaveLength(1);
    expect(log.items[0]).toMatchObject({ username: 'admin', role: 'district_admin', action: 'reveal', residentId: id, purpose: '核对医保信息', outcome: 'success' });
  });
});

describe('scope', () => {
  test('family doctors see their own grids, not another team’s', async () => {
    const d1 = await s.login('doctor1');
    const d2 = await s.login('doctor2');
    const a = (await get('/api/v1/residents?pageSize=200', d1)).json();
    const b = (await get('/api/v1/residents?pageSize=200', d2)).json();
    expect(a.total).toBeGreaterThan(0);
    expect(b.total).toBeGreaterThan(0);
    const idsB = new Set(b.items.map((r: any) => r.id));
    expect(a.items.some((r: any) => idsB.has(r.id))).toBe(false);
    const mine = a.items[0].id;
    expect((await get(`/api/v1/residents/${mine}`, d1)).statusCode).toBe(200);
    const denied = await get(`/api/v1/residents/${mine}`, d2);
    expect(denied.statusCode).toBe(403);
    expect(denied.json()).toEqual({ code: 'OUT_OF_SCOPE', message: '该居民不在您的服务范围内' });
    expect((await get(`/api/v1/residents/${mine}/care-chain`, d2)).statusCode).toBe(403);
    expect((await get('/api/v1/residents/99999999', d1)).statusCode).toBe(404);
    // the denied attempt is in the audit log
    const log = (await get(`/api/v1/audit?residentId=${mine}&username=doctor2`, admin)).json();
    expect(log.items.some((e: any) => e.outcome === 'denied')).toBe(true);
  });

  test('the nurse shares her team’s scope; EMS and supervision see no residents', async () => {
    const d1 = (await get('/api/v1/residents?pageSize=1', await s.login('doctor1'))).json().total;
    expect((await get('/api/v1/residents?pageSize=1', await s.login('nurse1'))).json().total).toBe(d1);
    expect((await get('/api/v1/residents', await s.login('ems1'))).json().total).toBe(0);
    expect((await get('/api/v1/residents', await s.login('supervisor1'))).json().total).toBe(0);
  });

  test('a community centre’s admin sees its street; a hospital’s admin sees only the hospital’s patients', async () => {
    const centre = (await get('/api/v1/residents?pageSize=200', await s.login('inst.admin'))).json();
    expect(centre.total).toBeGreaterThan(0);
    expect(new Set(centre.items.map((r: any) => r.streetId)).size).toBe(1);
    const hospital = (await get('/api/v1/residents?pageSize=200', await s.login('hospital.admin'))).json();
    const referred = (await get('/api/v1/residents?pageSize=200', await s.login('specialist1'))).json();
    expect(hospital.items.map((r: any) => r.id).sort()).toEqual(referred.items.map((r: any) => r.id).sort());
  });

  test('a specialist sees referred patients only; the CDC sees the district', async () => {
    const sp = (await get('/api/v1/residents?pageSize=200', await s.login('specialist1'))).json();
    expect(sp.total).toBeGreaterThan(0);
    expect(sp.items.every((r: any) => r.tags.includes('hypertension'))).toBe(true);
    const all = (await get('/api/v1/residents?pageSize=1', admin)).json().total;
    expect((await get('/api/v1/residents?pageSize=1', await s.login('cdc1'))).json().total).toBe(all);
  });

  test('lists are paged and filtered', async () => {
    const p1 = (await get('/api/v1/residents?pageSize=5&page=1', admin)).json();
    const p2 = (await get('/api/v1/residents?pageSize=5&page=2', admin)).json();
    expect(p1.items).toHaveLength(5);
    expect(p1.items[4].id).toBeLessThan(p2.items[0].id);
    const elderly = (await get('/api/v1/residents?tag=elderly&pageSize=50', admin)).json();
    expect(elderly.total).toBeGreaterThan(0);
    expect(elderly.items.every((r: any) => r.age >= 65 && r.tags.includes('elderly'))).toBe(true);
    const name = p1.items[0].name.slice(0, 1);
    const byName = (await get(`/api/v1/residents?q=${encodeURIComponent(name)}&pageSize=50`, admin)).json();
    expect(byName.items.every((r: any) => r.name.startsWith(name))).toBe(true);
  });

  test('every resident shown is audited, searchable by person and by user', async () => {
    const d1 = await s.login('doctor1');
    const page = (await get('/api/v1/residents?pageSize=3', d1)).json();
    const id = page.items[1].id;
    await get(`/api/v1/residents/${id}`, d1);
    const byPerson = (await get(`/api/v1/audit?residentId=${id}`, admin)).json();
    expect(byPerson.items.map((e: any) => e.action)).toEqual(expect.arrayContaining(['list', 'read']));
    const byUser = (await get('/api/v1/audit?username=doctor1&pageSize=200', admin)).json();
    expect(byUser.items.every((e: any) => e.username === 'doctor1')).toBe(true);
    expect(byUser.items.some((e: any) => e.residentId === id && e.action === 'read')).toBe(true);
    expect((await get('/api/v1/audit', d1)).statusCode).toBe(403);
  });
});

describe('care chain and households', () => {
  test('grid → community health centre → consortium → partner hospital → team in one call', async () => {
    const d1 = await s.login('doctor1');
    const r = (await get('/api/v1/residents?pageSize=1', d1)).json().items[0];
    const chain = (await get(`/api/v1/residents/${r.id}/care-chain`, d1)).json();
    expect(chain.grid.id).toBe(r.gridId);
    expect(chain.community.id).toBe(r.communityId);
    expect(chain.consortium).not.toBeNull();
    expect(chain.partnerHospital.type).toMatch(/hospital/);
    expect(chain.communityHealthCentre.name).toMatch(/社区卫生服务中心$/);
    expect(chain.familyDoctorTeam).not.toBeNull();
    expect(chain.specialtyConsortia.length).toBeGreaterThan(0);
    const me = (await get('/api/v1/auth/me', d1)).json().user;
    expect(chain.familyDoctorTeam.id).toBe(me.teamId);
    const hh = (await get(`/api/v1/households/${r.householdId}`, d1)).json();
    expect(hh.members.map((m: any) => m.id)).toContain(r.id);
  });
});

describe('matching without an identity number, review and reversible merges', () => {
  test('same person links, a doubtful one waits for review, a merge is undone', async () => {
    const gridId = await aGrid();
    const person = { name: '王测试', sex: 'female', birthDate: '1962-07-08', phone: '13700000077', gridId };
    const first = await post('/api/v1/residents', admin, person);
    expect(first.statusCode).toBe(201);
    expect(first.json().outcome).toBe('created');
    const same = await post('/api/v1/residents', admin, person);
    expect(same.json()).toEqual({ outcome: 'matched', residentId: first.json().residentId });
    const doubtful = await post('/api/v1/residents', admin, { ...person, name: '王测式', phone: null });
    expect(doubtful.statusCode).toBe(201);
    expect(doubtful.json().outcome).toBe('review');
    const provisional = doubtful.json().residentId;

    const queue = (await get('/api/v1/match-reviews', admin)).json();
    const item = queue.items.find((i: any) => i.id === doubtful.json().reviewId);
    expect(item).toMatchObject({ status: 'pending', incoming: { id: provisional }, candidate: { id: first.json().residentId } });
    expect(item.reasons).toEqual(expect.arrayContaining(['name_similar', 'birth_date', 'sex']));

    const decided = await post(`/api/v1/match-reviews/${item.id}/decision`, admin, { decision: 'merge' });
    expect(decided.statusCode).toBe(200);
    expect((await get(`/api/v1/residents/${provisional}`, admin)).json()).toMatchObject({ status: 'merged', mergedInto: first.json().residentId });
    expect((await post(`/api/v1/match-reviews/${item.id}/decision`, admin, { decision: 'distinct' })).statusCode).toBe(409);

    const undone = await post(`/api/v1/merges/${decided.json().mergeId}/undo`, admin, {});
    expect(undone.statusCode).toBe(200);
    expect(undone.json().undoneAt).not.toBeNull();
    expect((await get(`/api/v1/residents/${provisional}`, admin)).json()).toMatchObject({ status: 'provisional', mergedInto: null });
    expect((await get('/api/v1/match-reviews', admin)).json().items.some((i: any) => i.id === item.id)).toBe(true);
    const log = (await get(`/api/v1/audit?residentId=${provisional}`, admin)).json().items.map((e: any) => e.action);
    expect(log).toEqual(expect.arrayContaining(['merge', 'unmerge']));
  });

  test('a manual merge moves the sender ids and can be reversed', async () => {
    const gridId = await aGrid();
    const a = (await post('/api/v1/residents', admin, { name: '赵一', sex: 'male', birthDate: '1990-01-01', gridId })).json().residentId;
    const hospital = (await get('/api/v1/institutions?type=tertiary_hospital', admin)).json().items[0].id;
    const b = (await post('/api/v1/residents', admin, { name: '钱二', sex: 'male', birthDate: '1991-02-02', gridId, sourceId: 'EMR-77', sourceInstitutionId: hospital })).json().residentId;
    expect((await post(`/api/v1/residents/${a}/merge`, admin, { duplicateId: a, reason: 'x y' })).statusCode).toBe(400);
    const m = await post(`/api/v1/residents/${a}/merge`, admin, { duplicateId: b, reason: '同一人，登记重复' });
    expect(m.statusCode).toBe(200);
    expect((await post(`/api/v1/residents/${a}/merge`, admin, { duplicateId: b, reason: 'again' })).statusCode).toBe(409);
    const resent = await post('/api/v1/residents', admin, { name: '钱二', sex: 'male', birthDate: '1991-02-02', sourceId: 'EMR-77', sourceInstitutionId: hospital });
    expect(resent.json()).toEqual({ outcome: 'existing', residentId: a });
    expect((await get(`/api/v1/residents/${a}`, admin)).json().sourceIds).toEqual([expect.objectContaining({ institutionId: hospital, sourceId: 'EMR-77' })]);
    expect((await post(`/api/v1/merges/${m.json().id}/undo`, admin, {})).statusCode).toBe(200);
    expect((await get(`/api/v1/residents/${b}`, admin)).json()).toMatchObject({ status: 'active', sourceIds: [expect.objectContaining({ sourceId: 'EMR-77' })] });
    expect((await post(`/api/v1/residents/${a}/merge`, await s.login('doctor1'), { duplicateId: b, reason: 'no right' })).statusCode).toBe(403);
  });
});

describe('updates', () => {
  test('optimistic concurrency: a stale version is a 409, never a lost update', async () => {
    const d1 = await s.login('doctor1');
    const r = (await get('/api/v1/residents?pageSize=1', d1)).json().items[0];
    const ok = await s.app.inject({ method: 'PATCH', url: `/api/v1/residents/${r.id}`, headers: { cookie: d1 }, payload: { version: r.version, phone: '13611112222' } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ phoneMasked: '136****2222', version: r.version + 1 });
    const stale = await s.app.inject({ method: 'PATCH', url: `/api/v1/residents/${r.id}`, headers: { cookie: d1 }, payload: { version: r.version, address: 'x' } });
    expect(stale.statusCode).toBe(409);
    expect(stale.json().code).toBe('STALE_VERSION');
  });
});

describe('concurrent writers', () => {
  test('the same identity number registered by ten clients at once gives one resident', async () => {
    const idNumber = makeIdNumber('110101', '1977-03-03', 41, 'female');
    const body = { idNumber, name: '并发测试', sex: 'female', birthDate: '1977-03-03', gridId: await aGrid() };
    const results = await Promise.all(Array.from({ length: 10 }, () => post('/api/v1/residents', admin, body)));
    const codes = results.map((r) => r.statusCode).sort();
    expect(codes.filter((c) => c === 201)).toHaveLength(1);
    expect(codes.filter((c) => c === 200)).toHaveLength(9);
    expect(new Set(results.map((r) => r.json().residentId)).size).toBe(1);
    expect((await get(`/api/v1/residents?idNumber=${idNumber}`, admin)).json().total).toBe(1);
  });

  test('two concurrent updates from the same version: one wins, the other is told to reload', async () => {
    const r = (await get('/api/v1/residents?pageSize=1&page=3', admin)).json().items[0];
    const patch = (address: string) => s.app.inject({ method: 'PATCH', url: `/api/v1/residents/${r.id}`, headers: { cookie: admin }, payload: { version: r.version, address } });
    const [a, b] = await Promise.all([patch('甲'), patch('乙')]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([200, 409]);
  });
});

describe('households', () => {
  test('a resident registered into a household takes its grid; a bad grid is refused', async () => {
    const gridId = await aGrid();
    const h = await post('/api/v1/households', admin, { gridId, address: '北京市东城区测试胡同1号' });
    expect(h.statusCode).toBe(201);
    const r = await post('/api/v1/residents', admin, { name: '孙测', sex: 'male', birthDate: '2021-06-01', householdId: h.json().id });
    const detail = (await get(`/api/v1/residents/${r.json().residentId}`, admin)).json();
    expect(detail).toMatchObject({ gridId, household: { id: h.json().id, memberCount: 1 } });
    expect(detail.tags).toContain('child_0_6');
    const bad = await post('/api/v1/households', admin, { gridId: 1, address: '无效网格' });
    expect(bad.json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'gridId' });
  });
});
