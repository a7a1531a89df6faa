// Authentication, sessions, tokens and the error contract, through the HTTP API.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => s?.close());

describe('health and authentication', () => {
  test('health answers without login', async () => {
    const r = await s.app.inject({ url: '/api/v1/health' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ status: 'ok' });
  });

  test('the API refuses callers who are not logged in', async () => {
    const r = await s.app.inject({ url: '/api/v1/residents?idNumber=110101199003074514' });
    expect(r.statusCode).toBe(401);
    expect(r.json()).toEqual({ code: 'UNAUTHENTICATED', message: '请先登录' });
  });

  test('login sets an HTTP-only SameSite session cookie and returns the user with roles', async () => {
    const r = await s.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'admin', password: s.adminPassword } });
    expect(r.statusCode).toBe(200);
    expect(r.json().user).toMatchObject({ username: 'admin', roles: ['district_admin'] });
    const c = r.cookies.find((x) => x.name === 'cg_session')!;
    expect(c.httpOnly).toBe(true);
    expect(c.sameSite).toBe('Lax');
    const me = await s.app.inject({ url: '/api/v1/auth/me', headers: { cookie: `cg_session=${c.value}` } });
    expect(me.json().user.username).toBe('admin');
  });

  test('a wrong password is refused without saying which part was wrong, in the request language', async () => {
    const zh = await s.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'admin', password: 'nope-nope' } });
    expect(zh.statusCode).toBe(401);
    expect(zh.json()).toEqual({ code: 'LOGIN_FAILED', message: '用户名或密码错误' });
    const en = await s.app.inject({ method: 'POST', url: '/api/v1/auth/login', headers: { 'accept-language': 'en-US,en;q=0.9' }, payload: { username: 'nobody', password: 'nope-nope' } });
    expect(en.json()).toEqual({ code: 'LOGIN_FAILED', message: 'Wrong username or password' });
  });

  test('ten wrong passwords lock the account for a while, the right one included', async () => {
    const attempt = (password: string) => s.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'supervisor1', password } });
    for (let i = 0; i < 10; i++) expect((await attempt('wrong-' + i)).statusCode).toBe(401);
    const locked = await attempt(s.demoPassword);
    expect(locked.statusCode).toBe(429);
    expect(locked.json()).toEqual({ code: 'ACCOUNT_LOCKED', message: '登录失败次数过多，请 15 分钟后再试' });
    const failures = await s.app.inject({ url: '/api/v1/audit?action=login_failed&pageSize=50', headers: { cookie: await s.login('admin') } });
    expect(failures.json().total).toBeGreaterThanOrEqual(11);
  });

  test('a forged or stale session is refused', async () => {
    const r = await s.app.inject({ url: '/api/v1/auth/me', headers: { cookie: 'cg_session=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIiwic3YiOjF9.bad' } });
    expect(r.statusCode).toBe(401);
  });

  test('logout everywhere ends existing sessions', async () => {
    const cookie = await s.login('doctor2');
    expect((await s.app.inject({ url: '/api/v1/auth/me', headers: { cookie } })).statusCode).toBe(200);
    const out = await s.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { cookie }, payload: { everywhere: true } });
    expect(out.statusCode).toBe(200);
    expect((await s.app.inject({ url: '/api/v1/auth/me', headers: { cookie } })).statusCode).toBe(401);
  });
});

describe('error contract', () => {
  test('malformed JSON is a 400 with a message, never a 500', async () => {
    const r = await s.app.inject({ method: 'POST', url: '/api/v1/auth/login', headers: { 'content-type': 'application/json' }, payload: '{not json' });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toEqual({ code: 'MALFORMED_JSON', message: '请求体不是有效的 JSON' });
  });

  test('a schema violation names the field', async () => {
    const cookie = await s.login('admin');
    const r = await s.app.inject({ url: '/api/v1/residents?pageSize=5000', headers: { cookie, 'accept-language': 'en' } });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'pageSize' });
    expect(r.json().message).toMatch(/^Invalid input: /);
    expect(r.body).not.toMatch(/at .*\.ts:\d+/);
  });

  test('unknown API routes are a JSON 404', async () => {
    const r = await s.app.inject({ url: '/api/v1/nothing-here' });
    expect(r.statusCode).toBe(404);
    expect(r.json()).toEqual({ code: 'ROUTE_NOT_FOUND', message: '接口不存在：GET /api/v1/nothing-here' });
  });

  test('the OpenAPI document lists every API route', async () => {
    const r = await s.app.inject({ url: '/docs/json' });
    expect(r.statusCode).toBe(200);
    const paths = Object.keys(r.json().paths);
    for (const p of ['/api/v1/auth/login', '/api/v1/residents', '/api/v1/residents/{id}', '/api/v1/regions', '/api/v1/institutions', '/api/v1/consortia', '/api/v1/audit', '/api/v1/users']) {
      expect(paths).toContain(p);
    }
    expect((await s.app.inject({ url: '/docs' })).statusCode).toBeLessThan(400);
  });
});

describe('users and institution tokens', () => {
  test('a district admin lists family doctors; others may not list users', async () => {
    const admin = await s.login('admin');
    const r = await s.app.inject({ url: '/api/v1/users?role=family_doctor', headers: { cookie: admin } });
    expect(r.statusCode).toBe(200);
    const names = r.json().items.map((u: any) => u.username);
    expect(names.length).toBeGreaterThanOrEqual(2);
    expect(r.json().items.every((u: any) => u.roles.includes('family_doctor'))).toBe(true);
    const doctor = await s.login('doctor1');
    expect((await s.app.inject({ url: '/api/v1/users', headers: { cookie: doctor } })).statusCode).toBe(403);
  });

  test('an institution token acts for its own institution only', async () => {
    const admin = await s.login('admin');
    const insts = (await s.app.inject({ url: '/api/v1/institutions?type=community_health_centre', headers: { cookie: admin } })).json().items;
    const [mine, other] = insts;
    const t = await s.app.inject({ method: 'POST', url: '/api/v1/tokens', headers: { cookie: admin }, payload: { institutionId: mine.id, name: 'HIS interface' } });
    expect(t.statusCode).toBe(201);
    const token = t.json().token as string;
    expect(token).toMatch(/^cgt_/);
    const auth = { authorization: `Bearer ${token}` };
    const person = { name: '测试甲', sex: 'female', birthDate: '1971-05-06', phone: '13900000001' };
    const foreign = await s.app.inject({ method: 'POST', url: '/api/v1/residents', headers: auth, payload: { ...person, sourceInstitutionId: other.id, sourceId: 'HIS-1' } });
    expect(foreign.statusCode).toBe(403);
    expect(foreign.json().code).toBe('WRONG_INSTITUTION');
    const own = await s.app.inject({ method: 'POST', url: '/api/v1/residents', headers: auth, payload: { ...person, sourceId: 'HIS-1' } });
    expect(own.statusCode).toBe(201);
    const again = await s.app.inject({ method: 'POST', url: '/api/v1/residents', headers: auth, payload: { ...person, sourceId: 'HIS-1' } });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ outcome: 'existing', residentId: own.json().residentId });
    expect((await s.app.inject({ url: '/api/v1/auth/me', headers: { authorization: 'Bearer cgt_invalid' } })).statusCode).toBe(401);
    // revoked: refused at once
    const listed = (await s.app.inject({ url: '/api/v1/tokens', headers: { cookie: admin } })).json().items;
    expect(listed.find((x: any) => x.id === t.json().id)).toMatchObject({ name: 'HIS interface', revokedAt: null });
    expect(JSON.stringify(listed)).not.toContain(token);
    expect((await s.app.inject({ method: 'DELETE', url: `/api/v1/tokens/${t.json().id}`, headers: { cookie: admin } })).statusCode).toBe(200);
    expect((await s.app.inject({ url: '/api/v1/auth/me', headers: auth })).statusCode).toBe(401);
  });
});
