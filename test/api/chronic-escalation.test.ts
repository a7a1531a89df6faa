// Escalation of overdue chronic-disease work (超期督办): an overdue follow-up goes to the team's lead GP, and a further
// delay later to the centre's administrator, each level once (also with two runners at a time), with in-app
// notifications and the level on the worklist; the delays are rule data a district administrator changes; a danger
// task and a discharge escalate by their own rules; finished work is not escalated.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { runEscalations } from '../../src/modules/chronic/escalation.ts';

type Json = Record<string, any>;
let s: TestServer;
let admin: string, doctor1: string, nurse1: string, centreAdmin: string, doctor2: string;
let team1: number;
let grid1: number[];
let next = 0;
const HOUR = 3600_000;
const DAY = 24 * HOUR;
const db = () => s.started.ctx.db;
const get = (url: string, cookie = admin) => s.app.inject({ url, headers: { cookie } });
const post = (url: string, payload: unknown, cookie = doctor1, headers: Json = {}) => s.app.inject({ method: 'POST', url, headers: { cookie, ...headers }, payload: payload as any });
const put = (url: string, payload: unknown, cookie = admin) => s.app.inject({ method: 'PUT', url, headers: { cookie }, payload: payload as any });
const later = (ms: number) => new Date(Date.now() + ms);

async function contracted(): Promise<number> {
  const residentId = grid1[next++];
  const c = await post('/api/v1/contracts', { residentId, teamId: team1, packages: ['basic', 'chronic'], consent: { method: 'written', signedBy: 'self' } });
  expect(c.statusCode, c.body).toBe(201);
  return residentId;
}

/** A contracted hypertensive resident whose next follow-up fell due `overdueDays` ago (a controlled visit 90 + n days back). */
async function overdueFollowUp(overdueDays: number): Promise<{ residentId: number; enrolmentId: number; taskId: number }> {
  const residentId = await contracted();
  const e = await post('/api/v1/chronic/enrolments', { residentId, code: 'I10' });
  expect(e.statusCode, e.body).toBe(201);
  const enrolmentId = e.json().enrolments[0].id;
  const f = await post('/api/v1/chronic/follow-ups', { enrolmentId, mode: 'clinic', sbp: 124, dbp: 78, visitAt: new Date(Date.now() - (90 + overdueDays) * DAY).toISOString() });
  expect(f.statusCode, f.body).toBe(201);
  return { residentId, enrolmentId, taskId: f.json().nextTaskId };
}

async function notes(cookie: string): Promise<Json[]> {
  const r = await get('/api/v1/notifications?pageSize=100', cookie);
  expect(r.statusCode, r.body).toBe(200);
  return r.json().items;
}
const aboutTask = (list: Json[], kind: string, taskName: string) => list.filter((n) => n.kind === kind && n.message.includes(taskName));

async function workItem(cookie: string, residentId: number, kind: string, query = ''): Promise<Json | undefined> {
  const r = await get(`/api/v1/worklist?kind=${kind}&pageSize=200${query}`, cookie);
  expect(r.statusCode, r.body).toBe(200);
  return r.json().items.find((i: Json) => i.resident.id === residentId);
}

async function residentName(id: number): Promise<string> {
  return (await db().query('SELECT name FROM resident WHERE id = $1', [id])).rows[0].name;
}

beforeAll(async () => {
  s = await startTestServer();
  [admin, doctor1, nurse1, centreAdmin, doctor2] = await Promise.all(['admin', 'doctor1', 'nurse1', 'inst.admin', 'doctor2'].map((u) => s.login(u)));
  team1 = Number((await db().query("SELECT team_id FROM app_user WHERE username = 'doctor1'")).rows[0].team_id);
  const { rows } = await db().query("SELECT r.id FROM resident r JOIN team_grid tg ON tg.grid_id = r.grid_id WHERE tg.team_id = $1 AND r.status = 'active' ORDER BY r.id", [team1]);
  grid1 = rows.map((r) => Number(r.id));
});
afterAll(async () => s?.close());

describe('the escalation rules are data', () => {
  test('defaults per task code; the district administrator changes them, others may not', async () => {
    const r = await get('/api/v1/chronic/escalation-rules', doctor1);
    expect(r.statusCode).toBe(200);
    expect(r.json().items.map((x: Json) => [x.taskCode, x.leadAfterHours, x.adminAfterHours])).toEqual([
      ['chronic-danger', 0, 24], ['chronic-enrolment', 72, 168], ['chronic-follow-up', 72, 168], ['discharge-follow-up', 24, 72], ['elderly-check-follow-up', 72, 168],
    ]);
    expect((await put('/api/v1/chronic/escalation-rules/discharge-follow-up', { leadAfterHours: 48, adminAfterHours: 24 }, doctor1)).statusCode).toBe(403);
    const bad = await put('/api/v1/chronic/escalation-rules/discharge-follow-up', { leadAfterHours: -1, adminAfterHours: 24 });
    expect(bad.statusCode).toBe(400);
    expect((await put('/api/v1/chronic/escalation-rules/no-such-task', { leadAfterHours: 1, adminAfterHours: 1 })).statusCode).toBe(404);
    const ok = await put('/api/v1/chronic/escalation-rules/discharge-follow-up', { leadAfterHours: 48, adminAfterHours: 24 });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ taskCode: 'discharge-follow-up', leadAfterHours: 48, adminAfterHours: 24, active: true });
  });
  test('only the district administrator runs the job on demand', async () => {
    expect((await post('/api/v1/chronic/escalations/run', {}, doctor1)).statusCode).toBe(403);
    expect((await post('/api/v1/chronic/escalations/run', {}, centreAdmin)).statusCode).toBe(403);
  });
});

describe('an overdue follow-up: the team lead, then the centre’s administrator', () => {
  let x: { residentId: number; enrolmentId: number; taskId: number };
  let name: string;
  let lead2: Date;
  beforeAll(async () => {
    x = await overdueFollowUp(10);
    name = await residentName(x.residentId);
  });
  test('before the job runs the overdue item is on the worklist, not escalated', async () => {
    expect(await workItem(doctor1, x.residentId, 'follow_up')).toMatchObject({ taskId: x.taskId, overdue: true, escalationLevel: 0, escalatedAt: null });
  });
  test('the run escalates it to the lead GP once (doctor1), not to the nurse or the administrator', async () => {
    const r = await post('/api/v1/chronic/escalations/run', {}, admin);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toEqual({ lead: 1, admin: 0, notified: 1 });
    const mine = aboutTask(await notes(doctor1), 'chronic.overdue_lead', name);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ priority: 'high', readAt: null });
    expect(mine[0].message).toContain('超期未完成');
    expect((await notes(nurse1)).filter((n) => n.kind.startsWith('chronic.'))).toEqual([]);
    expect((await notes(centreAdmin)).filter((n) => n.kind.startsWith('chronic.'))).toEqual([]);
    const item = await workItem(doctor1, x.residentId, 'follow_up');
    expect(item).toMatchObject({ escalationLevel: 1, escalatedAt: expect.any(String) });
    expect(await workItem(nurse1, x.residentId, 'follow_up', '&escalation=1')).toMatchObject({ taskId: x.taskId, escalationLevel: 1 });
    expect(await workItem(doctor1, x.residentId, 'follow_up', '&escalation=2')).toBeUndefined();
  });
  test('running again (and two runners at once) escalates nothing more', async () => {
    expect(await runEscalations(db())).toEqual({ lead: 0, admin: 0, notified: 0 });
    const both = await Promise.all([runEscalations(db(), later(HOUR)), runEscalations(db(), later(HOUR))]);
    expect(both.reduce((n, r) => n + r.lead + r.admin, 0)).toBe(0);
    expect(aboutTask(await notes(doctor1), 'chronic.overdue_lead', name)).toHaveLength(1);
  });
  test('not before a further 168 hours does it go to the centre’s administrators (urgent), once', async () => {
    expect((await runEscalations(db(), later(167 * HOUR))).admin).toBe(0);
    lead2 = later(169 * HOUR);
    const runs = await Promise.all([runEscalations(db(), lead2), runEscalations(db(), lead2)]);
    expect(runs.reduce((n, r) => n + r.admin, 0)).toBe(1);
    const theirs = aboutTask(await notes(centreAdmin), 'chronic.overdue_admin', name);
    expect(theirs).toHaveLength(1);
    expect(theirs[0]).toMatchObject({ priority: 'urgent' });
    expect(theirs[0].message).toContain('超期升级督办');
    const en = (await s.app.inject({ url: '/api/v1/notifications?pageSize=100', headers: { cookie: centreAdmin, 'accept-language': 'en' } })).json().items.find((n: Json) => n.id === theirs[0].id);
    expect(en.message).toMatch(/^Escalated: .* is still not done$/);
    expect(await workItem(centreAdmin, x.residentId, 'follow_up', '&escalation=2')).toMatchObject({ taskId: x.taskId, escalationLevel: 2, escalatedAt: lead2.toISOString() });
    expect(aboutTask(await notes(doctor1), 'chronic.overdue_admin', name)).toEqual([]);
    expect((await runEscalations(db(), later(400 * HOUR))).admin).toBe(0);
    expect(aboutTask(await notes(centreAdmin), 'chronic.overdue_admin', name)).toHaveLength(1);
  });
  test('the follow-up recorded: the next task starts unescalated, and the done task is left alone', async () => {
    const f = await post('/api/v1/chronic/follow-ups', { enrolmentId: x.enrolmentId, mode: 'home', sbp: 126, dbp: 80 });
    expect(f.statusCode, f.body).toBe(201);
    expect(f.json().closedTaskIds).toEqual([x.taskId]);
    expect(await workItem(doctor1, x.residentId, 'follow_up')).toBeUndefined(); // the next one is 90 days away
    const ahead = (await get(`/api/v1/worklist?kind=follow_up&pageSize=200&date=${new Date(Date.now() + 8 * HOUR + 91 * DAY).toISOString().slice(0, 10)}`, doctor1)).json().items;
    expect(ahead.find((i: Json) => i.resident.id === x.residentId)).toMatchObject({ taskId: f.json().nextTaskId, escalationLevel: 0 });
  });
});

describe('danger values, discharges and contracting leads escalate by their own rules', () => {
  const bp = (patient: number, sbp: number, dbp: number) => ({
    resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }] }, subject: { reference: `Patient/${patient}` },
    effectiveDateTime: new Date().toISOString(),
    component: [
      { code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: { value: sbp, unit: 'mmHg' } },
      { code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] }, valueQuantity: { value: dbp, unit: 'mmHg' } },
    ],
  });
  const fhirPost = (type: string, body: Json) => post(`/fhir/R4/${type}`, body, admin, { 'content-type': 'application/fhir+json' });

  test('a danger value (due in 24 hours) goes to the lead as soon as it is overdue, to the administrators 24 hours later', async () => {
    const residentId = await contracted();
    const name = await residentName(residentId);
    expect((await fhirPost('Observation', bp(residentId, 186, 100))).statusCode).toBe(201);
    const item = await workItem(doctor1, residentId, 'danger');
    expect(item).toMatchObject({ priority: 'urgent', escalationLevel: 0 });
    await runEscalations(db(), later(23 * HOUR));
    expect((await workItem(doctor1, residentId, 'danger'))!.escalationLevel).toBe(0);
    await runEscalations(db(), later(25 * HOUR));
    expect((await workItem(doctor1, residentId, 'danger'))!.escalationLevel).toBe(1);
    expect(aboutTask(await notes(doctor1), 'chronic.overdue_lead', name)).toHaveLength(1);
    await runEscalations(db(), later(48 * HOUR));
    expect((await workItem(doctor1, residentId, 'danger'))!.escalationLevel).toBe(1);
    await runEscalations(db(), later(50 * HOUR));
    expect((await workItem(doctor1, residentId, 'danger'))!.escalationLevel).toBe(2);
    expect(aboutTask(await notes(centreAdmin), 'chronic.overdue_admin', name)).toHaveLength(1);
  });

  test('a discharge follow-up uses the changed rule (48 hours to the lead)', async () => {
    const residentId = await contracted();
    const end = new Date(Date.now() - DAY);
    const enc = await fhirPost('Encounter', {
      resourceType: 'Encounter', status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' }, subject: { reference: `Patient/${residentId}` },
      period: { start: new Date(Date.now() - 6 * DAY).toISOString(), end: end.toISOString() },
    });
    expect(enc.statusCode, enc.body).toBe(201);
    const due = new Date((await workItem(doctor1, residentId, 'discharge'))!.dueAt).getTime();
    expect(Math.round((due - end.getTime()) / DAY)).toBe(7);
    await runEscalations(db(), new Date(due + 47 * HOUR));
    expect((await workItem(doctor1, residentId, 'discharge'))!.escalationLevel).toBe(0);
    await runEscalations(db(), new Date(due + 49 * HOUR));
    expect((await workItem(doctor1, residentId, 'discharge'))!.escalationLevel).toBe(1);
  });

  test('an uncontracted resident’s overdue task (a contracting lead of the centre) goes to the lead GP of the team covering their grid', async () => {
    const residentId = grid1[next++];
    const name = await residentName(residentId);
    expect((await fhirPost('Observation', bp(residentId, 190, 95))).statusCode).toBe(201);
    const item = await workItem(doctor1, residentId, 'danger');
    expect(item).toMatchObject({ contractingLead: true, team: null });
    await runEscalations(db(), later(25 * HOUR));
    expect((await workItem(doctor1, residentId, 'danger'))!.escalationLevel).toBe(1);
    expect(aboutTask(await notes(doctor1), 'chronic.overdue_lead', name)).toHaveLength(1);
    expect(aboutTask(await notes(doctor2), 'chronic.overdue_lead', name)).toEqual([]);
  });

  test('an inactive rule escalates nothing', async () => {
    expect((await put('/api/v1/chronic/escalation-rules/chronic-enrolment', { leadAfterHours: 1, adminAfterHours: 1, active: false })).statusCode).toBe(200);
    const residentId = await contracted();
    const e = await post('/api/v1/chronic/enrolments', { residentId, code: 'E11.9' });
    expect(e.statusCode).toBe(201);
    await runEscalations(db(), later(30 * DAY));
    expect((await workItem(doctor1, residentId, 'enrolment'))!.escalationLevel).toBe(0);
  });
});
