// Family-doctor contracts (家庭医生签约) through the HTTP API: signing with packages and consent, one active contract per
// resident (also under concurrent writers), renewal, change of team, cancellation, who sees which contracts, and the
// access a contract gives its team (the care relationship the resident scope already reads).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

type Json = Record<string, any>;
let s: TestServer;
let admin: string, doctor1: string, doctor2: string, nurse1: string, centreAdmin: string, specialist: string;
let team1: number, team2: number, team1Inst: number;
let grid1: number[], grid2: number[];
const db = () => s.started.ctx.db;
const get = (url: string, cookie: string, headers: Json = {}) => s.app.inject({ url, headers: { cookie, ...headers } });
const post = (url: string, cookie: string, payload: unknown, headers: Json = {}) => s.app.inject({ method: 'POST', url, headers: { cookie, ...headers }, payload: payload as any });
const CONSENT = { method: 'written', signedBy: 'self', document: 'paper form 2026-001' };

/** Residents of a team's grids, in id order (setup facts; every assertion goes through the API). */
async function residentsOf(team: number): Promise<number[]> {
  const { rows } = await db().query("SELECT r.id FROM resident r JOIN team_grid tg ON tg.grid_id = r.grid_id WHERE tg.team_id = $1 AND r.status = 'active' ORDER BY r.id", [team]);
  return rows.map((r) => Number(r.id));
}

function localDate(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

async function sign(body: Json, cookie = doctor1, status = 201): Promise<Json> {
  const r = await post('/api/v1/contracts', cookie, { teamId: team1, packages: ['basic'], consent: CONSENT, ...body });
  expect(r.statusCode, r.body).toBe(status);
  return r.json();
}

beforeAll(async () => {
  s = await startTestServer();
  [admin, doctor1, doctor2, nurse1, centreAdmin, specialist] = await Promise.all(['admin', 'doctor1', 'doctor2', 'nurse1', 'inst.admin', 'specialist1'].map((u) => s.login(u)));
  const { rows } = await db().query("SELECT username, team_id, institution_id FROM app_user WHERE username IN ('doctor1', 'doctor2') ORDER BY username");
  team1 = Number(rows[0].team_id);
  team2 = Number(rows[1].team_id);
  team1Inst = Number(rows[0].institution_id);
  grid1 = await residentsOf(team1);
  grid2 = await residentsOf(team2);
  expect(grid1.length).toBeGreaterThan(20);
  expect(grid2.length).toBeGreaterThan(5);
});
afterAll(async () => s?.close());

describe('signing', () => {
  let c: Json;
  test('a team member signs a resident of the team’s grids: packages, a year’s term, consent recorded', async () => {
    c = await sign({ residentId: grid1[0], packages: ['basic', 'chronic'], sourceId: 'C-0001' });
    const today = (await db().query('SELECT current_date::text AS d')).rows[0].d as string;
    const [y, m, d] = today.split('-').map(Number);
    const end = new Date(Date.UTC(y + 1, m - 1, d) - 86_400_000).toISOString().slice(0, 10);
    expect(c).toMatchObject({
      status: 'active', version: 1, resident: { id: grid1[0] }, team: { id: team1 }, institution: { id: team1Inst }, packages: ['basic', 'chronic'],
      startDate: today, endDate: end, consent: { method: 'written', signedBy: 'self', document: 'paper form 2026-001' }, renewals: 0, previousContractId: null, dueForRenewal: false,
    });
  });
  test('the same sender id again returns the same contract', async () => {
    const again = await sign({ residentId: grid1[0], packages: ['basic', 'chronic'], sourceId: 'C-0001' }, doctor1, 200);
    expect(again.id).toBe(c.id);
  });
  test('a second active contract is refused, in the caller’s language', async () => {
    const zh = await post('/api/v1/contracts', nurse1, { residentId: grid1[0], teamId: team1, packages: ['basic'], consent: CONSENT });
    expect(zh.statusCode).toBe(409);
    expect(zh.json()).toEqual({ code: 'CONTRACT_EXISTS', message: '该居民已有有效的家庭医生签约', field: 'residentId' });
    const en = await post('/api/v1/contracts', admin, { residentId: grid1[0], teamId: team2, packages: ['basic'], consent: CONSENT }, { 'accept-language': 'en' });
    expect(en.json()).toEqual({ code: 'CONTRACT_EXISTS', message: 'This resident already has an active family-doctor contract', field: 'residentId' });
  });
  test('of concurrent signings of one resident exactly one succeeds', async () => {
    const residentId = grid1[1];
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => post('/api/v1/contracts', i % 2 ? doctor1 : admin, { residentId, teamId: team1, packages: ['basic'], consent: CONSENT })));
    const codes = results.map((r) => r.statusCode).sort();
    expect(codes).toEqual([201, 409, 409, 409, 409, 409, 409, 409]);
    for (const r of results.filter((x) => x.statusCode === 409)) expect(r.json().code).toBe('CONTRACT_EXISTS');
    const list = (await get(`/api/v1/contracts?residentId=${residentId}`, admin)).json();
    expect(list.total).toBe(1);
  });
  test('bad input names the field', async () => {
    const pkg = await post('/api/v1/contracts', doctor1, { residentId: grid1[2], teamId: team1, packages: ['basic', 'platinum'], consent: CONSENT }, { 'accept-language': 'en' });
    expect(pkg.statusCode).toBe(400);
    expect(pkg.json()).toEqual({ code: 'VALIDATION_FAILED', message: 'Invalid input: no active service package platinum', field: 'packages[1]' });
    const dates = await post('/api/v1/contracts', doctor1, { residentId: grid1[2], teamId: team1, packages: ['basic'], consent: CONSENT, startDate: localDate(10), endDate: localDate(5) });
    expect(dates.statusCode).toBe(400);
    expect(dates.json().field).toBe('endDate');
    const consent = await post('/api/v1/contracts', doctor1, { residentId: grid1[2], teamId: team1, packages: ['basic'], consent: { method: 'nod', signedBy: 'self' } });
    expect(consent.statusCode).toBe(400);
    const practitioner = await post('/api/v1/contracts', doctor1, { residentId: grid1[2], teamId: team1, packages: ['basic'], consent: CONSENT, practitionerId: 999999 });
    expect(practitioner.statusCode).toBe(400);
    expect(practitioner.json().field).toBe('practitionerId');
  });
  test('a doctor signs only for their own team, and only residents in their scope', async () => {
    const otherTeam = await post('/api/v1/contracts', doctor1, { residentId: grid1[2], teamId: team2, packages: ['basic'], consent: CONSENT });
    expect(otherTeam.statusCode).toBe(403);
    const outside = await post('/api/v1/contracts', doctor1, { residentId: grid2[0], teamId: team1, packages: ['basic'], consent: CONSENT });
    expect(outside.statusCode).toBe(403);
    expect(outside.json()).toMatchObject({ code: 'OUT_OF_SCOPE', field: 'residentId' });
    const specialistTry = await post('/api/v1/contracts', specialist, { residentId: grid1[2], teamId: team1, packages: ['basic'], consent: CONSENT });
    expect(specialistTry.statusCode).toBe(403);
  });
});

describe('who sees which contracts', () => {
  beforeAll(async () => {
    await sign({ residentId: grid2[1], teamId: team2, packages: ['basic', 'elderly'] }, doctor2);
  });
  test('a team member sees the team’s contracts only', async () => {
    const mine = (await get('/api/v1/contracts?pageSize=200', doctor1)).json();
    expect(mine.items.length).toBeGreaterThanOrEqual(2);
    expect(mine.items.every((c: Json) => c.team.id === team1)).toBe(true);
    const theirs = (await get('/api/v1/contracts?pageSize=200', doctor2)).json();
    expect(theirs.items.every((c: Json) => c.team.id === team2)).toBe(true);
    expect(theirs.items.some((c: Json) => c.resident.id === grid2[1])).toBe(true);
    const asked = (await get(`/api/v1/contracts?teamId=${team2}`, doctor1)).json();
    expect(asked.total).toBe(0);
  });
  test('the centre’s administrator sees the centre’s teams’ contracts; the district administrator all', async () => {
    const centre = (await get('/api/v1/contracts?pageSize=200', centreAdmin)).json();
    const { rows } = await db().query("SELECT institution_id FROM app_user WHERE username = 'inst.admin'");
    const teamsOfCentre = (await db().query('SELECT id FROM team WHERE institution_id = $1', [rows[0].institution_id])).rows.map((r) => Number(r.id));
    expect(centre.items.every((c: Json) => teamsOfCentre.includes(c.team.id))).toBe(true);
    const all = (await get('/api/v1/contracts?pageSize=200', admin)).json();
    expect(all.items.map((c: Json) => c.team.id)).toEqual(expect.arrayContaining([team1, team2]));
    expect((await get('/api/v1/contracts', specialist)).statusCode).toBe(403);
  });
  test('filters and paging', async () => {
    const elderly = (await get('/api/v1/contracts?packageCode=elderly', admin)).json();
    expect(elderly.items.map((c: Json) => c.resident.id)).toEqual([grid2[1]]);
    const page = (await get('/api/v1/contracts?pageSize=1&page=2&status=active', admin)).json();
    expect(page.items).toHaveLength(1);
    expect(page.total).toBeGreaterThanOrEqual(3);
    const first = (await get('/api/v1/contracts?pageSize=1&page=1&status=active', admin)).json();
    expect(first.items[0].id).not.toBe(page.items[0].id);
  });
  test('reading another team’s contract is refused', async () => {
    const theirs = (await get(`/api/v1/contracts?residentId=${grid2[1]}`, admin)).json().items[0];
    expect((await get(`/api/v1/contracts/${theirs.id}`, doctor1)).statusCode).toBe(403);
    const ok = await get(`/api/v1/contracts/${theirs.id}`, doctor2);
    expect(ok.statusCode).toBe(200);
    expect(ok.json().events.map((e: Json) => e.action)).toEqual(['signed']);
  });
  test('lists and reads are audited per resident', async () => {
    const { rows } = await db().query("SELECT count(*)::int AS n FROM audit_event WHERE resource_type = 'Contract' AND resident_id = $1 AND action IN ('create', 'list', 'read')", [grid2[1]]);
    expect(rows[0].n).toBeGreaterThanOrEqual(3);
  });
});

describe('a contract gives its team access, and ending it takes it away', () => {
  let c: Json;
  test('the district administrator signs a resident of another street with doctor1’s team: doctor1 may read them', async () => {
    const outsider = grid2[2];
    expect((await get(`/api/v1/residents/${outsider}`, doctor1)).statusCode).toBe(403);
    c = await sign({ residentId: outsider, teamId: team1 }, admin);
    expect((await get(`/api/v1/residents/${outsider}`, doctor1)).statusCode).toBe(200);
  });
  test('cancellation, with its reason: doctor1 no longer reads them, and a new contract may be signed', async () => {
    const r = await post(`/api/v1/contracts/${c.id}/cancel`, doctor1, { reason: '居民迁出', version: 1 });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ status: 'cancelled', endReason: '居民迁出', version: 2 });
    expect((await get(`/api/v1/residents/${c.resident.id}`, doctor1)).statusCode).toBe(403);
    const again = await post(`/api/v1/contracts/${c.id}/cancel`, doctor1, { reason: 'twice' });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('INVALID_STATE');
    await sign({ residentId: c.resident.id, teamId: team2 }, doctor2);
  });
});

describe('renewal and change of team', () => {
  let c: Json;
  beforeAll(async () => {
    c = await sign({ residentId: grid1[3], packages: ['basic'], endDate: localDate(10) });
  });
  test('a contract ending within the notice period is due for renewal', async () => {
    expect(c.dueForRenewal).toBe(true);
    const due = (await get('/api/v1/contracts?dueForRenewal=true', doctor1)).json();
    expect(due.items.map((x: Json) => x.id)).toEqual([c.id]);
    const work = (await get('/api/v1/worklist?kind=renewal', doctor1)).json();
    expect(work.items).toEqual([expect.objectContaining({ kind: 'renewal', contractId: c.id, contractEndDate: c.endDate, resident: expect.objectContaining({ id: grid1[3] }) })]);
  });
  test('a stale version is refused', async () => {
    const r = await post(`/api/v1/contracts/${c.id}/renew`, doctor1, { consent: CONSENT, version: 7 });
    expect(r.statusCode).toBe(409);
    expect(r.json().code).toBe('STALE_VERSION');
  });
  test('renewal: the next term follows without a gap, with new packages and the consent again', async () => {
    const r = await post(`/api/v1/contracts/${c.id}/renew`, doctor1, { consent: { method: 'electronic', signedBy: 'guardian' }, packages: ['basic', 'chronic'], version: 1 });
    expect(r.statusCode, r.body).toBe(200);
    const [y, m, d] = c.endDate.split('-').map(Number);
    const expected = new Date(Date.UTC(y + 1, m - 1, d)).toISOString().slice(0, 10); // a year from the day after the old end, minus a day
    expect(r.json()).toMatchObject({ status: 'active', renewals: 1, endDate: expected, packages: ['basic', 'chronic'], consent: { method: 'electronic', signedBy: 'guardian' }, dueForRenewal: false });
    const { rows } = await db().query("SELECT valid_to::text AS v FROM care_relationship WHERE resident_id = $1 AND kind = 'contract' AND team_id = $2", [grid1[3], team1]);
    expect(rows.map((x) => x.v)).toEqual([expected]);
  });
  test('change of team: the old contract is transferred, the new team holds the rest of the term', async () => {
    const before = (await get(`/api/v1/contracts/${c.id}`, doctor1)).json();
    const r = await post(`/api/v1/contracts/${c.id}/change-team`, admin, { teamId: team2, reason: '居民申请更换团队', consent: CONSENT });
    expect(r.statusCode, r.body).toBe(200);
    const n = r.json();
    expect(n).toMatchObject({ status: 'active', team: { id: team2 }, previousContractId: c.id, endDate: before.endDate, packages: ['basic', 'chronic'] });
    const old = (await get(`/api/v1/contracts/${c.id}`, admin)).json();
    expect(old).toMatchObject({ status: 'transferred', endReason: '居民申请更换团队' });
    expect(old.events.map((e: Json) => e.action)).toEqual(['signed', 'renewed', 'team_changed']);
    expect((await get('/api/v1/contracts?pageSize=200', doctor2)).json().items.map((x: Json) => x.id)).toContain(n.id);
    expect((await get(`/api/v1/contracts?residentId=${grid1[3]}&status=active`, doctor1)).json().total).toBe(0);
    const same = await post(`/api/v1/contracts/${n.id}/change-team`, admin, { teamId: team2, reason: 'x', consent: CONSENT });
    expect(same.statusCode).toBe(400);
  });
});

describe('service packages are data', () => {
  test('listed for everyone, changed by the district administrator only', async () => {
    const list = (await get('/api/v1/service-packages', doctor1)).json();
    expect(list.items.map((p: Json) => p.code)).toEqual(expect.arrayContaining(['basic', 'chronic', 'elderly']));
    const body = { name: '康复服务包', kind: 'paid', feeYuan: 150, active: true };
    expect((await s.app.inject({ method: 'PUT', url: '/api/v1/service-packages/rehab', headers: { cookie: doctor1 }, payload: body })).statusCode).toBe(403);
    const put = await s.app.inject({ method: 'PUT', url: '/api/v1/service-packages/rehab', headers: { cookie: admin }, payload: body });
    expect(put.statusCode, put.body).toBe(200);
    await sign({ residentId: grid1[4], packages: ['rehab'] });
  });
});

describe('merging a duplicate resident', () => {
  test('the duplicate’s contract and enrolment follow the survivor; with two active contracts the survivor’s stays; undo restores', async () => {
    const survivor = grid1[10];
    // a record registered without an identity number, in the same grid: the duplicate
    const gridId = (await get(`/api/v1/residents/${survivor}`, admin)).json().gridId;
    const reg = await post('/api/v1/residents', admin, { name: '重复建档', sex: 'female', birthDate: '1950-03-04', gridId });
    expect(reg.statusCode, reg.body).toBe(201);
    const duplicate = reg.json().residentId as number;
    const kept = await sign({ residentId: survivor });
    const dupContract = await sign({ residentId: duplicate, packages: ['basic', 'chronic'] });
    const dx = await post('/api/v1/chronic/enrolments', doctor1, { residentId: duplicate, code: 'I10' });
    expect(dx.statusCode, dx.body).toBe(201);
    const enrolmentId = dx.json().enrolments[0].id;
    const m = await post(`/api/v1/residents/${survivor}/merge`, admin, { duplicateId: duplicate, reason: '同一人重复建档' });
    expect(m.statusCode, m.body).toBe(200);
    const contracts = (await get(`/api/v1/contracts?residentId=${survivor}&pageSize=10`, admin)).json().items;
    expect(contracts.map((c: Json) => [c.id, c.status]).sort()).toEqual([[kept.id, 'active'], [dupContract.id, 'cancelled']].sort());
    const enrolments = (await get(`/api/v1/chronic/enrolments?residentId=${survivor}`, doctor1)).json().items;
    expect(enrolments.map((e: Json) => [e.id, e.status])).toEqual([[enrolmentId, 'active']]);
    const undo = await post(`/api/v1/merges/${m.json().id}/undo`, admin, {});
    expect(undo.statusCode, undo.body).toBe(200);
    expect((await get(`/api/v1/contracts?residentId=${duplicate}`, admin)).json().items.map((c: Json) => [c.id, c.status])).toEqual([[dupContract.id, 'active']]);
    expect((await get(`/api/v1/contracts?residentId=${survivor}`, admin)).json().items.map((c: Json) => c.id)).toEqual([kept.id]);
    expect((await get(`/api/v1/chronic/enrolments?residentId=${duplicate}`, doctor1)).json().items.map((e: Json) => e.id)).toEqual([enrolmentId]);
    // the restored contract still manages its own care relationship
    const cancel = await post(`/api/v1/contracts/${dupContract.id}/cancel`, doctor1, { reason: 'test' });
    expect(cancel.statusCode, cancel.body).toBe(200);
    const { rows } = await db().query("SELECT valid_to < current_date AS ended FROM care_relationship WHERE resident_id = $1 AND kind = 'contract' AND source_ref = $2", [duplicate, `contract:${dupContract.id}`]);
    expect(rows).toEqual([{ ended: true }]);
  });
});
