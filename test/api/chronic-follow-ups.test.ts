// Follow-ups classified by the programme's versioned rules through the HTTP API — closing the due task, scheduling
// the next one, readings into the shared record — the district administrator's new rule version, and the family
// doctor's worklist with its filters, prefilled readings and scope.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { addDays, districtDate } from '../../src/platform/local-date.ts';

type Json = Record<string, any>;
let s: TestServer;
let admin: string, doctor1: string, doctor2: string, nurse1: string, centreAdmin: string;
let team1: number, team2: number;
let grid1: number[];
let next = 0;
const db = () => s.started.ctx.db;
const get = (url: string, cookie = admin) => s.app.inject({ url, headers: { cookie } });
const post = (url: string, payload: unknown, cookie = doctor1) => s.app.inject({ method: 'POST', url, headers: { cookie }, payload: payload as any });
const DAY = 86_400_000;
const beijingDate = (days = 0) => addDays(districtDate(), days);

/** A resident of team 1's grids, contracted to team 1 and enrolled by a diagnosis recorded through the API. */
async function enrolled(code: string, contract = true): Promise<{ residentId: number; enrolment: Json }> {
  const residentId = grid1[next++];
  if (contract) {
    const c = await post('/api/v1/contracts', { residentId, teamId: team1, packages: ['basic', 'chronic'], consent: { method: 'written', signedBy: 'self' } });
    expect(c.statusCode, c.body).toBe(201);
  }
  const r = await post('/api/v1/chronic/enrolments', { residentId, code });
  expect(r.statusCode, r.body).toBe(201);
  return { residentId, enrolment: r.json().enrolments[0] };
}

async function followUp(body: Json, cookie = doctor1, status = 201): Promise<Json> {
  const r = await post('/api/v1/chronic/follow-ups', { mode: 'clinic', ...body }, cookie);
  expect(r.statusCode, r.body).toBe(status);
  return r.json();
}

async function task(id: number): Promise<Json> {
  const r = await get(`/fhir/R4/Task/${id}`);
  expect(r.statusCode, r.body).toBe(200);
  return r.json();
}

const daysBetween = (a: string, b: string) => Math.round((new Date(b).getTime() - new Date(a).getTime()) / DAY);

beforeAll(async () => {
  s = await startTestServer();
  [admin, doctor1, doctor2, nurse1, centreAdmin] = await Promise.all(['admin', 'doctor1', 'doctor2', 'nurse1', 'inst.admin'].map((u) => s.login(u)));
  const { rows } = await db().query("SELECT username, team_id FROM app_user WHERE username IN ('doctor1', 'doctor2') ORDER BY username");
  team1 = Number(rows[0].team_id);
  team2 = Number(rows[1].team_id);
  const r = await db().query("SELECT r.id FROM resident r JOIN team_grid tg ON tg.grid_id = r.grid_id WHERE tg.team_id = $1 AND r.status = 'active' ORDER BY r.id", [team1]);
  grid1 = r.rows.map((x) => Number(x.id));
});
afterAll(async () => s?.close());

describe('hypertension follow-ups through the rules', () => {
  let e: Json;
  let residentId: number;
  let firstTask: number;
  beforeAll(async () => {
    ({ residentId, enrolment: e } = await enrolled('I10'));
    firstTask = e.nextTaskId;
  });
  test('an uncontrolled visit (150/95): the enrolment task closes, the next follow-up is due in 2 weeks', async () => {
    const visitAt = new Date(Date.now() - 3600_000).toISOString();
    const f = await followUp({
      enrolmentId: e.id, visitAt, sbp: 150, dbp: 95, heartRate: 76, weightKg: 70, heightCm: 170, adherence: 'intermittent',
      medications: [{ name: '氨氯地平片', dose: '5mg qd' }], lifestyle: { smokingPerDay: 5, salt: 'heavy', exerciseTimesPerWeek: 2, exerciseMinutes: 30 },
    });
    expect(f).toMatchObject({
      enrolmentId: e.id, residentId, programme: 'hypertension', ruleVersion: 1, classification: 'uncontrolled', danger: false, referral: null, reasons: [],
      closedTaskIds: [firstTask], bmi: 24.2, medications: [{ name: '氨氯地平片', dose: '5mg qd' }],
    });
    expect(daysBetween(visitAt, f.nextDueAt)).toBe(14);
    expect((await task(firstTask)).status).toBe('completed');
    expect(await task(f.nextTaskId)).toMatchObject({ status: 'requested', priority: 'routine', owner: { reference: `CareTeam/${team1}` }, focus: { reference: `EpisodeOfCare/${e.id}` }, executionPeriod: { end: expect.any(String) } });
    // the readings are in the shared record, as a blood-pressure panel of the family doctor's institution
    const obs = (await get(`/fhir/R4/Observation?patient=Patient/${residentId}&code=http://loinc.org|85354-9`)).json();
    expect(obs.total).toBe(1);
    expect(obs.entry[0].resource.component.map((c: Json) => c.valueQuantity.value)).toEqual([150, 95]);
  });
  test('a second uncontrolled visit in a row suggests an urgent upward referral; the next task is urgent', async () => {
    const f = await followUp({ enrolmentId: e.id, sbp: 145, dbp: 92 }, nurse1);
    expect(f).toMatchObject({ classification: 'uncontrolled', referral: 'urgent', reasons: [{ kind: 'successive_uncontrolled', count: 2 }] });
    expect((await task(f.nextTaskId)).priority).toBe('urgent');
    const enrolments = (await get(`/api/v1/chronic/enrolments?residentId=${residentId}`, doctor1)).json().items;
    expect(enrolments[0]).toMatchObject({ uncontrolledStreak: 2, lastClassification: 'uncontrolled', nextTaskId: f.nextTaskId });
  });
  test('a controlled visit (139/89): next in 3 months, the streak starts again', async () => {
    const visitAt = new Date().toISOString();
    const f = await followUp({ enrolmentId: e.id, visitAt, sbp: 139, dbp: 89 });
    expect(f).toMatchObject({ classification: 'controlled', referral: null });
    expect(daysBetween(visitAt, f.nextDueAt)).toBe(90);
    expect((await task(f.nextTaskId)).priority).toBe('routine');
    expect((await get(`/api/v1/chronic/enrolments?residentId=${residentId}`, doctor1)).json().items[0].uncontrolledStreak).toBe(0);
  });
  test('a danger value (SBP exactly 180) or a danger sign: urgent referral, back within 2 weeks', async () => {
    const visitAt = new Date().toISOString();
    const a = await followUp({ enrolmentId: e.id, visitAt, sbp: 180, dbp: 85 });
    expect(a).toMatchObject({ danger: true, referral: 'urgent', reasons: [{ kind: 'danger_value', measure: 'sbp', value: 180, rule: 'sbp >= 180' }] });
    expect(daysBetween(visitAt, a.nextDueAt)).toBe(14);
    const b = await followUp({ enrolmentId: e.id, sbp: 128, dbp: 78, symptoms: ['orthopnoea', 'dry_cough'] });
    expect(b).toMatchObject({ classification: 'controlled', danger: true, referral: 'urgent', reasons: [{ kind: 'danger_sign', sign: 'orthopnoea' }] });
  });
  test('an adverse reaction and a new complication are classified before control', async () => {
    expect(await followUp({ enrolmentId: e.id, sbp: 120, dbp: 75, adverseReaction: true })).toMatchObject({ classification: 'adverse_reaction', referral: null });
    expect(await followUp({ enrolmentId: e.id, sbp: 120, dbp: 75, newComplication: true })).toMatchObject({ classification: 'new_complication', referral: 'urgent', reasons: [{ kind: 'new_complication' }] });
  });
  test('the history of follow-ups, newest first, each with its classification', async () => {
    const list = (await get(`/api/v1/chronic/enrolments/${e.id}/follow-ups`, doctor1)).json().items;
    // 180/85 is a danger and uncontrolled; 128/78 with a danger sign is controlled
    expect(list.map((f: Json) => f.classification)).toEqual(['new_complication', 'adverse_reaction', 'controlled', 'uncontrolled', 'controlled', 'uncontrolled', 'uncontrolled']);
    expect((await get(`/api/v1/chronic/enrolments/${e.id}/follow-ups`, doctor2)).statusCode).toBe(403);
  });
  test('a reading the programme needs is required, in the caller’s language', async () => {
    const zh = await post('/api/v1/chronic/follow-ups', { enrolmentId: e.id, mode: 'clinic', sbp: 130 });
    expect(zh.statusCode).toBe(400);
    expect(zh.json()).toEqual({ code: 'FOLLOW_UP_MISSING_READING', message: '高血压患者健康管理随访须记录dbp', field: 'dbp' });
    const en = await post('/api/v1/chronic/follow-ups?lang=en', { enrolmentId: e.id, mode: 'clinic', fpg: 6 });
    expect(en.json()).toEqual({ code: 'FOLLOW_UP_MISSING_READING', message: 'A Hypertension management follow-up must record sbp, dbp', field: 'sbp' });
    const bad = await post('/api/v1/chronic/follow-ups', { enrolmentId: e.id, mode: 'telepathy', sbp: 130, dbp: 80 });
    expect(bad.statusCode).toBe(400);
  });
  test('another team may not record a follow-up; a resent sourceId returns the same visit', async () => {
    const r = await post('/api/v1/chronic/follow-ups', { enrolmentId: e.id, mode: 'clinic', sbp: 130, dbp: 80 }, doctor2);
    expect(r.statusCode).toBe(403);
    const a = await followUp({ enrolmentId: e.id, sbp: 131, dbp: 81, sourceId: 'FU-1' });
    const b = await followUp({ enrolmentId: e.id, sbp: 131, dbp: 81, sourceId: 'FU-1' }, doctor1, 200);
    expect(b.id).toBe(a.id);
  });
});

describe('diabetes follow-ups and danger tasks', () => {
  test('fasting glucose 7.0 is uncontrolled, 6.9 controlled', async () => {
    const { enrolment } = await enrolled('E11.9');
    expect(await followUp({ enrolmentId: enrolment.id, fpg: 7.0 })).toMatchObject({ programme: 'diabetes', classification: 'uncontrolled' });
    expect(await followUp({ enrolmentId: enrolment.id, fpg: 6.9 })).toMatchObject({ classification: 'controlled', referral: null });
  });
  test('a follow-up after a danger reading closes the danger task', async () => {
    const { residentId, enrolment } = await enrolled('E11.9');
    const obs = { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '14771-0' }] }, subject: { reference: `Patient/${residentId}` }, effectiveDateTime: new Date(Date.now() - 600_000).toISOString(), valueQuantity: { value: 2.8, unit: 'mmol/L' } };
    const o = await s.app.inject({ method: 'POST', url: '/fhir/R4/Observation', headers: { cookie: admin, 'content-type': 'application/fhir+json' }, payload: obs });
    expect(o.statusCode, o.body).toBe(201);
    const danger = (await get(`/fhir/R4/Task?patient=Patient/${residentId}&code=chronic-danger`)).json().entry[0].resource;
    expect(danger.status).toBe('requested');
    const f = await followUp({ enrolmentId: enrolment.id, fpg: 5.2 });
    expect(f.closedTaskIds).toEqual(expect.arrayContaining([Number(danger.id), enrolment.nextTaskId]));
    expect((await task(Number(danger.id))).status).toBe('completed');
  });
});

describe('the worklist', () => {
  let due: { residentId: number; enrolment: Json };
  let lead: { residentId: number; enrolment: Json };
  beforeAll(async () => {
    due = await enrolled('I10');
    // a visit 100 days ago, controlled: the next follow-up (90 days) is 10 days overdue
    await followUp({ enrolmentId: due.enrolment.id, visitAt: new Date(Date.now() - 100 * DAY).toISOString(), sbp: 132, dbp: 82, medications: [{ name: '缬沙坦胶囊', dose: '80mg qd' }] });
    lead = await enrolled('E11', false);
  });
  test('today: overdue follow-ups first among routine work, new enrolments, with readings and medications pre-filled', async () => {
    const w = (await get('/api/v1/worklist?pageSize=200', doctor1)).json();
    expect(w.date).toBe(beijingDate());
    const overdue = w.items.find((i: Json) => i.resident.id === due.residentId);
    expect(overdue).toMatchObject({
      kind: 'follow_up', overdue: true, priority: 'routine', programmes: ['hypertension'], team: { id: team1 }, contractingLead: false,
      lastReadings: { sbp: { value: 132 }, dbp: { value: 82 } }, medications: [{ name: '缬沙坦胶囊', dose: '80mg qd' }],
    });
    expect(w.items.find((i: Json) => i.resident.id === lead.residentId)).toMatchObject({ kind: 'enrolment', contractingLead: true, team: null, programmes: ['diabetes'] });
    // urgent first, then overdue, then by due date
    const rank = (i: Json) => [i.priority === 'urgent' ? 0 : 1, i.overdue ? 0 : 1, i.dueAt ?? ''];
    const ranks = w.items.map(rank);
    expect(ranks).toEqual([...ranks].sort((a: any[], b: any[]) => (a[0] - b[0]) || (a[1] - b[1]) || String(a[2]).localeCompare(String(b[2]))));
    expect(w.total).toBe(w.items.length);
  });
  test('a follow-up due in two weeks is not on today’s list but is on that day’s', async () => {
    const { enrolment } = await enrolled('I10');
    const f = await followUp({ enrolmentId: enrolment.id, sbp: 150, dbp: 95 });
    const today = (await get('/api/v1/worklist?kind=follow_up&pageSize=200', doctor1)).json();
    expect(today.items.some((i: Json) => i.taskId === f.nextTaskId)).toBe(false);
    const later = (await get(`/api/v1/worklist?kind=follow_up&pageSize=200&date=${beijingDate(15)}`, doctor1)).json();
    expect(later.items.find((i: Json) => i.taskId === f.nextTaskId)).toMatchObject({ overdue: true });
  });
  test('filters: programme, grid, priority, kind; paging', async () => {
    const dm = (await get('/api/v1/worklist?programme=diabetes&pageSize=200', doctor1)).json();
    expect(dm.items.length).toBeGreaterThan(0);
    expect(dm.items.every((i: Json) => i.programmes.includes('diabetes'))).toBe(true);
    const gridId = (await get(`/api/v1/residents/${due.residentId}`, doctor1)).json().gridId;
    const byGrid = (await get(`/api/v1/worklist?gridId=${gridId}&pageSize=200`, doctor1)).json();
    expect(byGrid.items.every((i: Json) => i.resident.gridId === gridId)).toBe(true);
    expect(byGrid.items.map((i: Json) => i.resident.id)).toContain(due.residentId);
    const urgent = (await get('/api/v1/worklist?priority=urgent&pageSize=200', doctor1)).json();
    expect(urgent.items.every((i: Json) => i.priority === 'urgent')).toBe(true);
    const all = (await get('/api/v1/worklist?pageSize=200', doctor1)).json();
    const page2 = (await get('/api/v1/worklist?pageSize=2&page=2', doctor1)).json();
    expect(page2.total).toBe(all.total);
    expect(page2.items.map((i: Json) => i.taskId ?? i.contractId)).toEqual(all.items.slice(2, 4).map((i: Json) => i.taskId ?? i.contractId));
    expect((await get('/api/v1/worklist?kind=teleport', doctor1)).statusCode).toBe(400);
  });
  test('scope: another team sees none of it; the centre’s administrator and the district administrator do', async () => {
    const other = (await get('/api/v1/worklist?pageSize=200', doctor2)).json();
    expect(other.items.some((i: Json) => [due.residentId, lead.residentId].includes(i.resident.id))).toBe(false);
    expect((await get(`/api/v1/worklist?teamId=${team1}`, doctor2)).statusCode).toBe(403);
    const centre = (await get('/api/v1/worklist?pageSize=200', centreAdmin)).json();
    expect(centre.items.map((i: Json) => i.resident.id)).toEqual(expect.arrayContaining([due.residentId, lead.residentId]));
    const district = (await get(`/api/v1/worklist?teamId=${team1}&pageSize=200`, admin)).json();
    expect(district.items.map((i: Json) => i.resident.id)).toContain(due.residentId);
    expect((await get(`/api/v1/worklist?teamId=${team2}&pageSize=200`, admin)).json().items.some((i: Json) => i.resident.id === due.residentId)).toBe(false);
    const { rows } = await db().query("SELECT count(*)::int AS n FROM audit_event WHERE resource_type = 'Worklist' AND resident_id = $1", [due.residentId]);
    expect(rows[0].n).toBeGreaterThan(0);
  });
});

describe('ending an enrolment', () => {
  test('finished with a reason: the episode ends, its open tasks are cancelled; a later diagnosis enrols again', async () => {
    const { residentId, enrolment } = await enrolled('I10');
    const other = await post(`/api/v1/chronic/enrolments/${enrolment.id}/end`, { status: 'finished', reason: '迁出本区' }, doctor2);
    expect(other.statusCode).toBe(403);
    const stale = await post(`/api/v1/chronic/enrolments/${enrolment.id}/end`, { status: 'finished', reason: '迁出本区', version: 9 });
    expect(stale.json().code).toBe('STALE_VERSION');
    const r = await post(`/api/v1/chronic/enrolments/${enrolment.id}/end`, { status: 'finished', reason: '迁出本区', version: enrolment.version });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ id: enrolment.id, status: 'finished', nextTaskId: null, endedAt: expect.any(String) });
    const ep = (await get(`/fhir/R4/EpisodeOfCare/${enrolment.id}`)).json();
    expect(ep).toMatchObject({ status: 'finished', period: { end: expect.any(String) } });
    expect((await task(enrolment.nextTaskId)).status).toBe('cancelled');
    expect((await post(`/api/v1/chronic/enrolments/${enrolment.id}/end`, { status: 'finished', reason: 'again' })).statusCode).toBe(409);
    const again = await post('/api/v1/chronic/enrolments', { residentId, code: 'I10' });
    expect(again.statusCode, again.body).toBe(201);
    expect(again.json().enrolments[0].id).not.toBe(enrolment.id);
  });
});

describe('rules are data: the district administrator’s new version', () => {
  test('only the district administrator changes them; bad rules are refused naming the key', async () => {
    const current = (await get('/api/v1/chronic/programmes', doctor1)).json().items.find((p: Json) => p.code === 'hypertension');
    expect(current.version).toBe(1);
    const stricter = { ...current.rules, controlled: [{ measure: 'sbp', op: '<', value: 130 }, { measure: 'dbp', op: '<', value: 80 }] };
    const put = (body: Json, cookie: string) => s.app.inject({ method: 'PUT', url: '/api/v1/chronic/programmes/hypertension/rules?lang=en', headers: { cookie }, payload: body });
    expect((await put({ rules: stricter }, doctor1)).statusCode).toBe(403);
    const bad = await put({ rules: { ...stricter, intervalDays: { ...stricter.intervalDays, controled: 90 } } }, admin);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().field).toBe('rules.intervalDays');
    const ok = await put({ rules: stricter, note: '地方标准：130/80' }, admin);
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toEqual({ programme: 'hypertension', version: 2 });
    const versions = (await get('/api/v1/chronic/programmes/hypertension/rules', doctor1)).json().items;
    expect(versions.map((v: Json) => v.version)).toEqual([2, 1]);
  });
  test('new evaluations use version 2; earlier ones keep version 1', async () => {
    const { enrolment } = await enrolled('I10');
    const f = await followUp({ enrolmentId: enrolment.id, sbp: 135, dbp: 85 });
    expect(f).toMatchObject({ ruleVersion: 2, classification: 'uncontrolled' });
    const history = (await get(`/api/v1/chronic/enrolments/${enrolment.id}/follow-ups`, doctor1)).json().items;
    expect(history.map((x: Json) => x.ruleVersion)).toEqual([2]);
    const older = (await db().query('SELECT DISTINCT rule_version FROM chronic_follow_up WHERE id < $1 ORDER BY 1', [f.id])).rows.map((r) => r.rule_version);
    expect(older).toEqual([1]);
    expect((await task(f.nextTaskId)).reasonCode.coding[0].version).toBe('2');
  });
});
