// Health-post sessions (健康驿站): a team records its session at a community health post; the follow-ups (mode
// health_post) and elderly checks made there link to it; sessions are listed by team and centre, with what was done.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { NORMAL_CHECK } from '../fixtures/elderly-check.ts';
import { addDays, districtDate } from '../../src/platform/local-date.ts';

type Json = Record<string, any>;
let s: TestServer;
let admin: string, doctor1: string, nurse1: string, doctor2: string, centreAdmin: string;
let team1: number, team2: number, community: number;
let grid1: number[];
let elderly: number;
let next = 0;
const DAY = 86_400_000;
const db = () => s.started.ctx.db;
const get = (url: string, cookie = admin) => s.app.inject({ url, headers: { cookie } });
const post = (url: string, payload: unknown, cookie = doctor1) => s.app.inject({ method: 'POST', url, headers: { cookie }, payload: payload as any });
const beijingDate = (days = 0) => addDays(districtDate(), days);

async function session(body: Json, cookie = doctor1, status = 201): Promise<Json> {
  const r = await post('/api/v1/health-post-sessions', { sessionDate: beijingDate(), postName: '东四健康驿站', attendees: 23, ...body }, cookie);
  expect(r.statusCode, r.body).toBe(status);
  return r.json();
}

async function enrolled(): Promise<number> {
  const residentId = grid1[next++];
  expect((await post('/api/v1/contracts', { residentId, teamId: team1, packages: ['basic'], consent: { method: 'written', signedBy: 'self' } })).statusCode).toBe(201);
  const e = await post('/api/v1/chronic/enrolments', { residentId, code: 'I10' });
  expect(e.statusCode, e.body).toBe(201);
  return e.json().enrolments[0].id;
}

beforeAll(async () => {
  s = await startTestServer();
  [admin, doctor1, nurse1, doctor2, centreAdmin] = await Promise.all(['admin', 'doctor1', 'nurse1', 'doctor2', 'inst.admin'].map((u) => s.login(u)));
  const { rows } = await db().query("SELECT username, team_id FROM app_user WHERE username IN ('doctor1', 'doctor2') ORDER BY username");
  [team1, team2] = rows.map((r) => Number(r.team_id));
  community = Number((await db().query("SELECT id FROM region WHERE level = 'community' ORDER BY id LIMIT 1")).rows[0].id);
  const r = await db().query(
    "SELECT r.id, r.birth_date <= (current_date - interval '66 years')::date AS old FROM resident r JOIN team_grid tg ON tg.grid_id = r.grid_id WHERE tg.team_id = $1 AND r.status = 'active' ORDER BY r.id",
    [team1],
  );
  grid1 = r.rows.filter((x) => !x.old).map((x) => Number(x.id));
  elderly = Number(r.rows.find((x) => x.old)!.id);
});
afterAll(async () => s?.close());

describe('recording a session', () => {
  test('a team member records their team’s session, idempotent on sourceId', async () => {
    const staff = (await db().query("SELECT practitioner_id FROM app_user WHERE username IN ('doctor1', 'nurse1') ORDER BY username")).rows.map((x) => Number(x.practitioner_id));
    const a = await session({ location: '东四街道社区活动中心一层', communityId: community, staff, topic: '高血压健康教育', sourceId: 'HP-1' });
    expect(a).toMatchObject({
      team: { id: team1 }, sessionDate: beijingDate(), postName: '东四健康驿站', location: '东四街道社区活动中心一层', community: { id: community }, attendees: 23, staff,
      topic: '高血压健康教育', followUps: 0, checks: 0,
    });
    const again = await session({ sourceId: 'HP-1', attendees: 99 }, doctor1, 200);
    expect(again).toMatchObject({ id: a.id, attendees: 23 });
  });
  test('refused: another team’s session, a practitioner not on the team, a region that is not a community', async () => {
    expect((await post('/api/v1/health-post-sessions', { teamId: team1, sessionDate: beijingDate(), postName: 'x', attendees: 1 }, doctor2)).statusCode).toBe(403);
    const otherLead = Number((await db().query("SELECT practitioner_id FROM app_user WHERE username = 'doctor2'")).rows[0].practitioner_id);
    expect((await post('/api/v1/health-post-sessions', { sessionDate: beijingDate(), postName: 'x', attendees: 1, staff: [otherLead] })).json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'staff' });
    const street = Number((await db().query("SELECT id FROM region WHERE level = 'street' ORDER BY id LIMIT 1")).rows[0].id);
    expect((await post('/api/v1/health-post-sessions', { sessionDate: beijingDate(), postName: 'x', attendees: 1, communityId: street })).json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'communityId' });
    expect((await post('/api/v1/health-post-sessions', { sessionDate: beijingDate(), postName: 'x', attendees: -1 })).statusCode).toBe(400);
  });
});

describe('follow-ups and checks at a session', () => {
  let today: Json;
  let yesterday: Json;
  beforeAll(async () => {
    today = await session({ postName: '北新桥健康驿站' });
    yesterday = await session({ postName: '北新桥健康驿站', sessionDate: beijingDate(-1) }, nurse1);
  });
  test('a follow-up at the session has mode health_post and names it', async () => {
    const enrolmentId = await enrolled();
    const f = await post('/api/v1/chronic/follow-ups', { enrolmentId, mode: 'health_post', sessionId: today.id, sbp: 136, dbp: 84 }, nurse1);
    expect(f.statusCode, f.body).toBe(201);
    expect(f.json()).toMatchObject({ mode: 'health_post', sessionId: today.id, classification: 'controlled' });
    const list = (await get(`/api/v1/chronic/enrolments/${enrolmentId}/follow-ups`, doctor1)).json().items;
    expect(list[0]).toMatchObject({ sessionId: today.id, mode: 'health_post' });
  });
  test('refused: another mode, a visit not on the session’s date, another institution’s session, an unknown session', async () => {
    const enrolmentId = await enrolled();
    const clinic = await post('/api/v1/chronic/follow-ups', { enrolmentId, mode: 'clinic', sessionId: today.id, sbp: 130, dbp: 80 });
    expect(clinic.json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'mode' });
    const wrongDay = await post('/api/v1/chronic/follow-ups', { enrolmentId, mode: 'health_post', sessionId: yesterday.id, sbp: 130, dbp: 80 });
    expect(wrongDay.json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'sessionId' });
    expect(wrongDay.json().message).toContain(beijingDate(-1));
    const onTheDay = await post('/api/v1/chronic/follow-ups', { enrolmentId, mode: 'health_post', sessionId: yesterday.id, sbp: 130, dbp: 80, visitAt: new Date(Date.now() - DAY).toISOString() });
    expect(onTheDay.statusCode, onTheDay.body).toBe(201);
    const unknown = await post('/api/v1/chronic/follow-ups', { enrolmentId, mode: 'health_post', sessionId: 999999, sbp: 130, dbp: 80 });
    expect(unknown.json()).toMatchObject({ code: 'NOT_FOUND', field: 'sessionId' });
    const team2Inst = Number((await db().query('SELECT institution_id FROM team WHERE id = $1', [team2])).rows[0].institution_id);
    const team1Inst = Number((await db().query('SELECT institution_id FROM team WHERE id = $1', [team1])).rows[0].institution_id);
    if (team2Inst !== team1Inst) {
      const theirs = await session({ postName: '别的驿站' }, doctor2);
      expect((await post('/api/v1/chronic/follow-ups', { enrolmentId, mode: 'health_post', sessionId: theirs.id, sbp: 130, dbp: 80 })).statusCode).toBe(403);
    }
  });
  test('an elderly check at the session names it', async () => {
    const r = await post('/api/v1/elderly-checks', { residentId: elderly, sessionId: today.id, results: NORMAL_CHECK });
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json().sessionId).toBe(today.id);
  });
  test('the session shows what was done there, its residents’ reads audited; another team may not see it', async () => {
    const d = await get(`/api/v1/health-post-sessions/${today.id}`, centreAdmin);
    expect(d.statusCode, d.body).toBe(200);
    expect(d.json()).toMatchObject({ id: today.id, followUps: 1, checks: 1 });
    expect(d.json().visits.map((v: Json) => [v.kind, v.programme, v.classification])).toEqual([['follow_up', 'hypertension', 'controlled'], ['elderly_check', null, null]]);
    expect(d.json().visits[1].resident.id).toBe(elderly);
    const events = (await get(`/api/v1/audit?residentId=${elderly}&pageSize=100`)).json().items;
    expect(events.some((e: Json) => e.resourceType === 'HealthPostSession' && e.username === 'inst.admin' && e.action === 'list')).toBe(true);
    expect((await get(`/api/v1/health-post-sessions/${today.id}`, doctor2)).statusCode).toBe(403);
  });
});

describe('listing sessions', () => {
  test('newest first; the team sees its own, the centre its teams’, the district all, filtered by date', async () => {
    const mine = (await get('/api/v1/health-post-sessions?pageSize=50', nurse1)).json();
    expect(mine.total).toBe(3);
    expect(mine.items.every((x: Json) => x.team.id === team1)).toBe(true);
    const dates = mine.items.map((x: Json) => x.sessionDate);
    expect([...dates].sort().reverse()).toEqual(dates);
    const busy = mine.items.find((x: Json) => x.postName === '北新桥健康驿站' && x.sessionDate === beijingDate());
    expect(busy).toMatchObject({ followUps: 1, checks: 1 });
    expect((await get('/api/v1/health-post-sessions?pageSize=50', doctor2)).json().items.some((x: Json) => x.team.id === team1)).toBe(false);
    expect((await get('/api/v1/health-post-sessions?pageSize=50', centreAdmin)).json().items.filter((x: Json) => x.team.id === team1)).toHaveLength(3);
    const all = (await get(`/api/v1/health-post-sessions?teamId=${team1}&from=${beijingDate(-1)}&to=${beijingDate(-1)}`)).json();
    expect(all.items.map((x: Json) => x.id)).toHaveLength(1);
    expect((await get('/api/v1/health-post-sessions', await s.login('cdc1'))).statusCode).toBe(403);
  });
});
