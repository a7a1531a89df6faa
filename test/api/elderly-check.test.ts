// The elderly annual health check (老年人年度健康体检) through the HTTP API: residents aged 65 and over are due on the
// team's worklist (contracted ones as the team's, uncontracted ones in the team's grids as contracting leads); recording
// a check — once a year, idempotent on the sender's id — takes them off it, writes the readings into the shared record,
// and abnormal findings become a follow-up task (urgent for danger values); the rules are versioned data.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { NORMAL_CHECK } from '../fixtures/elderly-check.ts';

type Json = Record<string, any>;
let s: TestServer;
let admin: string, doctor1: string, nurse1: string, doctor2: string;
let team1: number;
let elderly: number[];
let young: number[];
const HOUR = 3600_000;
const DAY = 24 * HOUR;
const db = () => s.started.ctx.db;
const get = (url: string, cookie = admin) => s.app.inject({ url, headers: { cookie } });
const post = (url: string, payload: unknown, cookie = doctor1) => s.app.inject({ method: 'POST', url, headers: { cookie }, payload: payload as any });

const NORMAL = NORMAL_CHECK;

async function check(body: Json, cookie = doctor1, status = 201): Promise<Json> {
  const r = await post('/api/v1/elderly-checks', body, cookie);
  expect(r.statusCode, r.body).toBe(status);
  return r.json();
}

async function dueChecks(cookie: string, query = ''): Promise<Json[]> {
  const r = await get(`/api/v1/worklist?kind=elderly_check&pageSize=200${query}`, cookie);
  expect(r.statusCode, r.body).toBe(200);
  return r.json().items;
}

async function sign(residentId: number) {
  const c = await post('/api/v1/contracts', { residentId, teamId: team1, packages: ['basic', 'elderly'], consent: { method: 'written', signedBy: 'self' } });
  expect(c.statusCode, c.body).toBe(201);
}

beforeAll(async () => {
  s = await startTestServer();
  [admin, doctor1, nurse1, doctor2] = await Promise.all(['admin', 'doctor1', 'nurse1', 'doctor2'].map((u) => s.login(u)));
  team1 = Number((await db().query("SELECT team_id FROM app_user WHERE username = 'doctor1'")).rows[0].team_id);
  const { rows } = await db().query(
    `SELECT r.id, r.birth_date <= (current_date - interval '65 years')::date AS old, r.birth_date < (current_date - interval '60 years')::date AS over60
       FROM resident r JOIN team_grid tg ON tg.grid_id = r.grid_id WHERE tg.team_id = $1 AND r.status = 'active' ORDER BY r.id`, [team1]);
  elderly = rows.filter((r) => r.old).map((r) => Number(r.id));
  young = rows.filter((r) => !r.over60).map((r) => Number(r.id));
  expect(elderly.length).toBeGreaterThanOrEqual(6);
});
afterAll(async () => s?.close());

describe('who is due: the elderly on the team’s worklist, computed from their ages', () => {
  test('a contracted elderly resident is the team’s; an uncontracted one in the team’s grids is a contracting lead; the young are not due', async () => {
    await sign(elderly[0]);
    await sign(young[0]);
    const items = await dueChecks(doctor1);
    const a = items.find((i) => i.resident.id === elderly[0]);
    expect(a).toMatchObject({
      kind: 'elderly_check', taskId: null, focus: `Patient/${elderly[0]}`, priority: 'routine', overdue: false, contractingLead: false, team: { id: team1 }, escalationLevel: 0,
      description: expect.stringContaining('老年人年度健康体检'),
    });
    expect(a!.resident.age).toBeGreaterThanOrEqual(65);
    expect(new Date(a!.dueAt).getTime()).toBeGreaterThan(Date.now()); // by the end of the year
    expect(items.find((i) => i.resident.id === elderly[1])).toMatchObject({ contractingLead: true, team: null });
    expect(items.find((i) => i.resident.id === young[0])).toBeUndefined();
    expect(items.every((i) => i.resident.age >= 65)).toBe(true);
    expect(new Set(items.map((i) => i.resident.id)).size).toBe(items.length);
    // the count is of the whole list (one statement with the page), and pages split it without overlap
    const whole = (await get('/api/v1/worklist?kind=elderly_check&pageSize=200', doctor1)).json();
    expect(whole).toMatchObject({ total: items.length, totalCapped: false });
    const [p1, p2] = await Promise.all([1, 2].map(async (n) => (await get(`/api/v1/worklist?kind=elderly_check&pageSize=2&page=${n}`, doctor1)).json()));
    expect([p1.total, p2.total]).toEqual([items.length, items.length]);
    expect([...p1.items, ...p2.items].map((i: Json) => i.resident.id)).toEqual(items.slice(0, 4).map((i) => i.resident.id));
    expect((await get('/api/v1/worklist?kind=elderly_check&pageSize=200&page=99', doctor1)).json()).toMatchObject({ items: [], total: items.length });
    // the default worklist has them too, after the dated work; urgent-only and escalated-only lists do not
    expect((await get('/api/v1/worklist?pageSize=200', doctor1)).json().items.some((i: Json) => i.kind === 'elderly_check' && i.resident.id === elderly[0])).toBe(true);
    expect((await dueChecks(doctor1, '&priority=urgent'))).toEqual([]);
    expect((await get('/api/v1/worklist?pageSize=200&priority=urgent', doctor1)).json().items.some((i: Json) => i.kind === 'elderly_check')).toBe(false);
  });
  test('another team sees none of team 1’s residents; the district administrator filters by team', async () => {
    const other = await dueChecks(doctor2);
    expect(other.some((i) => i.resident.id === elderly[0] || i.resident.id === elderly[1])).toBe(false);
    const byTeam = await dueChecks(admin, `&teamId=${team1}`);
    expect(byTeam.find((i) => i.resident.id === elderly[0])).toBeDefined();
    expect(byTeam.find((i) => i.resident.id === elderly[1])).toBeUndefined(); // leads belong to no team
  });
});

describe('recording a check', () => {
  let first: Json;
  test('a complete, normal check: no findings, no task; the resident is no longer due', async () => {
    first = await check({ residentId: elderly[0], results: NORMAL, sourceId: 'HC-2026-1' });
    expect(first).toMatchObject({
      residentId: elderly[0], ruleVersion: 1, complete: true, missing: [], findings: [], urgent: false, followUpTaskId: null, encounterId: expect.any(Number),
      measures: { sbp: 126, dbp: 78, bmi: 22.7, fpg: 5.4 },
    });
    expect(first.year).toBe(Number(first.checkDate.slice(0, 4)));
    expect((await dueChecks(doctor1)).find((i) => i.resident.id === elderly[0])).toBeUndefined();
    const enc = (await get(`/fhir/R4/Encounter/${first.encounterId}`, doctor1)).json();
    expect(enc).toMatchObject({ status: 'finished', subject: { reference: `Patient/${elderly[0]}` } });
    const lipids = (await get(`/fhir/R4/Observation?patient=Patient/${elderly[0]}&code=http://loinc.org|14647-2`, doctor1)).json();
    expect(lipids.entry.map((e: Json) => e.resource.valueQuantity.value)).toEqual([4.6]);
  });
  test('the same sourceId again returns the same check; a second check in the year is refused', async () => {
    const again = await check({ residentId: elderly[0], results: NORMAL, sourceId: 'HC-2026-1' }, doctor1, 200);
    expect(again.id).toBe(first.id);
    const r = await post('/api/v1/elderly-checks', { residentId: elderly[0], results: NORMAL, sourceId: 'HC-2026-2' });
    expect(r.statusCode).toBe(409);
    expect(r.json()).toEqual({ code: 'HEALTH_CHECK_EXISTS', message: `该居民 ${first.year} 年已做过年度健康体检（${first.checkDate}）`, field: 'checkedAt' });
  });
  test('abnormal findings: a routine follow-up task in 14 days for the centre (a contracting lead), suspected diseases named', async () => {
    const { bloodLipids: _l, liverFunction: _f, ...partial } = NORMAL;
    const c = await check({
      residentId: elderly[1], results: { ...partial, physical: { ...NORMAL.physical, sbp: 150, dbp: 86, weightKg: 75 }, fastingGlucose: 7.2, ecg: 'abnormal', cognitive: 'positive' },
    }, nurse1);
    expect(c).toMatchObject({ complete: false, missing: ['blood_lipids', 'liver_function'], urgent: false, measures: { bmi: 29.3 } });
    expect(c.findings.map((f: Json) => f.code)).toEqual(['bp_raised', 'obesity', 'glucose_raised', 'cognitive_positive', 'ecg_abnormal', 'suspected_hypertension', 'suspected_diabetes']);
    const task = (await get(`/fhir/R4/Task/${c.followUpTaskId}`, doctor1)).json();
    expect(task).toMatchObject({ status: 'requested', priority: 'routine', focus: { reference: `Encounter/${c.encounterId}` }, for: { reference: `Patient/${elderly[1]}` } });
    expect(task.code.coding[0].code).toBe('elderly-check-follow-up');
    expect(Math.round((new Date(task.executionPeriod.end).getTime() - Date.now()) / DAY)).toBe(14);
    const item = (await get('/api/v1/worklist?kind=check_follow_up&pageSize=200', doctor1)).json().items.find((i: Json) => i.resident.id === elderly[1]);
    expect(item).toMatchObject({ kind: 'check_follow_up', taskId: c.followUpTaskId, contractingLead: true, description: expect.stringContaining('血压偏高') });
    // the check's readings pre-fill the next form like any reading
    expect(item.lastReadings).toMatchObject({ sbp: { value: 150 }, dbp: { value: 86 }, fpg: { value: 7.2 } });
  });
  test('a danger value makes the follow-up urgent (24 hours) for the contracted team', async () => {
    await sign(elderly[2]);
    const c = await check({ residentId: elderly[2], results: { ...NORMAL, physical: { ...NORMAL.physical, sbp: 182, dbp: 96 } } });
    expect(c).toMatchObject({ urgent: true, complete: true });
    expect(c.findings[0]).toMatchObject({ code: 'bp_danger', urgent: true, measure: 'sbp', value: 182, rule: 'sbp >= 180' });
    const task = (await get(`/fhir/R4/Task/${c.followUpTaskId}`, doctor1)).json();
    expect(task).toMatchObject({ priority: 'urgent', owner: { reference: `CareTeam/${team1}` } });
    expect(Math.round((new Date(task.executionPeriod.end).getTime() - Date.now()) / HOUR)).toBe(24);
    const urgent = (await get('/api/v1/worklist?priority=urgent&pageSize=200', doctor1)).json().items;
    expect(urgent.find((i: Json) => i.taskId === c.followUpTaskId)).toMatchObject({ kind: 'check_follow_up' });
  });
  test('refused: under 65, another team’s resident, a future check, an unknown component', async () => {
    const youngOne = await post('/api/v1/elderly-checks', { residentId: young[0], results: NORMAL });
    expect(youngOne.statusCode).toBe(400);
    expect(youngOne.json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'residentId' });
    expect((await post('/api/v1/elderly-checks', { residentId: elderly[3], results: NORMAL }, doctor2)).json()).toMatchObject({ code: 'OUT_OF_SCOPE', field: 'residentId' });
    const future = await post('/api/v1/elderly-checks', { residentId: elderly[3], results: NORMAL, checkedAt: new Date(Date.now() + DAY).toISOString() });
    expect(future.json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'checkedAt' });
    expect((await post('/api/v1/elderly-checks', { residentId: elderly[3], results: { ...NORMAL, hearing: 'ok' } })).statusCode).toBe(400);
  });
  test('a resident’s checks, read in scope and audited', async () => {
    const r = await get(`/api/v1/elderly-checks?residentId=${elderly[0]}`, doctor1);
    expect(r.statusCode).toBe(200);
    expect(r.json().items.map((c: Json) => c.id)).toEqual([first.id]);
    expect((await get(`/api/v1/elderly-checks?residentId=${elderly[0]}`, doctor2)).statusCode).toBe(403);
    expect((await post('/api/v1/elderly-checks', { residentId: elderly[0], results: NORMAL }, doctor2)).statusCode).toBe(403);
    const events = (await get(`/api/v1/audit?residentId=${elderly[0]}&pageSize=100`)).json().items;
    expect(events.filter((e: Json) => e.resourceType === 'ElderlyCheck').map((e: Json) => [e.username, e.action, e.outcome])).toEqual(expect.arrayContaining([
      ['doctor1', 'create', 'success'], ['doctor1', 'read', 'success'], ['doctor2', 'read', 'denied'], ['doctor2', 'create', 'denied'],
    ]));
  });
});

describe('the check’s rules are versioned data', () => {
  test('the district administrator sets a new version; later checks are judged by it, earlier ones keep theirs', async () => {
    const cur = (await get('/api/v1/elderly-checks/rules', doctor1)).json();
    expect(cur.current).toBe(1);
    const rules = cur.items[0].rules;
    expect((await s.app.inject({ method: 'PUT', url: '/api/v1/elderly-checks/rules', headers: { cookie: doctor1 }, payload: { rules } })).statusCode).toBe(403);
    const bad = await s.app.inject({ method: 'PUT', url: '/api/v1/elderly-checks/rules', headers: { cookie: admin }, payload: { rules: { ...rules, followUpDays: 0 } } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().field).toBe('rules.followUpDays');
    const ok = await s.app.inject({ method: 'PUT', url: '/api/v1/elderly-checks/rules', headers: { cookie: admin }, payload: { rules: { ...rules, followUpDays: 7 }, note: 'faster follow-up' } });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toEqual({ version: 2 });
    const c = await check({ residentId: elderly[3], results: { ...NORMAL, ecg: 'abnormal' } });
    expect(c).toMatchObject({ ruleVersion: 2, findings: [{ code: 'ecg_abnormal' }] });
    const task = (await get(`/fhir/R4/Task/${c.followUpTaskId}`, doctor1)).json();
    expect(Math.round((new Date(task.executionPeriod.end).getTime() - Date.now()) / DAY)).toBe(7);
    expect((await get(`/api/v1/elderly-checks?residentId=${elderly[0]}`, doctor1)).json().items[0].ruleVersion).toBe(1);
  });
});
