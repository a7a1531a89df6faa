// The console's view of one resident's chronic-disease care: the programme page's data (enrolments, open tasks with
// their source institution, last readings from any institution and medications, the last follow-up — the follow-up
// form's pre-fill) and the blood-pressure and glucose readings for the trend charts; within the caller's scope only.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

type Json = Record<string, any>;
let s: TestServer;
let doctor1: string, doctor2: string, hospital: string;
let team1: number, hospitalId: number, hospitalName: string;
let residentId: number;
const db = () => s.started.ctx.db;
const get = (url: string, cookie = doctor1) => s.app.inject({ url: `/api/v1${url}`, headers: { cookie } });
const post = (url: string, payload: unknown, cookie = doctor1, headers: Json = {}) => s.app.inject({ method: 'POST', url, headers: { cookie, ...headers }, payload: payload as any });
const iso = (hoursAgo: number) => new Date(Date.now() - hoursAgo * 3600_000).toISOString();
const mmHg = (value: number) => ({ value, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' });

beforeAll(async () => {
  s = await startTestServer();
  [doctor1, doctor2, hospital] = await Promise.all(['doctor1', 'doctor2', 'hospital.admin'].map((u) => s.login(u)));
  team1 = Number((await db().query("SELECT team_id FROM app_user WHERE username = 'doctor1'")).rows[0].team_id);
  const h = (await db().query("SELECT i.id, i.name FROM app_user u JOIN institution i ON i.id = u.institution_id WHERE u.username = 'hospital.admin'")).rows[0];
  [hospitalId, hospitalName] = [Number(h.id), h.name];
  const { rows } = await db().query("SELECT r.id FROM resident r JOIN team_grid tg ON tg.grid_id = r.grid_id WHERE tg.team_id = $1 AND r.status = 'active' ORDER BY r.id LIMIT 1", [team1]);
  residentId = Number(rows[0].id);
  const c = await post('/api/v1/contracts', { residentId, teamId: team1, packages: ['basic'], consent: { method: 'written', signedBy: 'self' } });
  expect(c.statusCode, c.body).toBe(201);
});
afterAll(async () => s?.close());

describe('a resident’s chronic-disease care for the console', () => {
  let enrolmentId: number;
  test('before any diagnosis: nothing enrolled, no tasks, no readings', async () => {
    const r = await get(`/chronic/residents/${residentId}`);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toEqual({
      residentId, enrolments: [], openTasks: [], medications: [], lastFollowUp: null,
      lastReadings: { sbp: null, dbp: null, fpg: null, glucose: null, heartRate: null },
    });
    expect((await get(`/chronic/residents/${residentId}/readings`)).json()).toEqual({ items: [] });
  });

  test('a hospital’s diagnosis and danger-value reading: the enrolment, both tasks with the hospital as source, the reading pre-filled', async () => {
    const dx = await post('/api/v1/chronic/enrolments', { residentId, code: 'I10' }, hospital);
    expect(dx.statusCode, dx.body).toBe(201);
    enrolmentId = dx.json().enrolments[0].id;
    const obs = await post('/fhir/R4/Observation', {
      resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }] }, subject: { reference: `Patient/${residentId}` },
      effectiveDateTime: iso(2),
      component: [{ code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: mmHg(182) }, { code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] }, valueQuantity: mmHg(104) }],
    }, hospital, { 'content-type': 'application/fhir+json' });
    expect(obs.statusCode, obs.body).toBe(201);

    const r = (await get(`/chronic/residents/${residentId}`)).json();
    expect(r.enrolments).toMatchObject([{ id: enrolmentId, programme: 'hypertension', status: 'active', institutionId: hospitalId }]);
    // the danger value first (urgent), then the first follow-up of the new enrolment
    expect(r.openTasks.map((t: Json) => [t.kind, t.priority, t.source.institutionName])).toEqual([
      ['danger', 'urgent', hospitalName],
      ['enrolment', 'routine', hospitalName],
    ]);
    expect(r.openTasks[1]).toMatchObject({ enrolmentId, status: 'requested', overdue: false, team: { id: team1 } });
    expect(r.lastReadings.sbp).toMatchObject({ value: 182, institutionId: hospitalId, institutionName: hospitalName });
    expect(r.lastReadings.dbp).toMatchObject({ value: 104, institutionId: hospitalId });
    expect(r.lastReadings.fpg).toBeNull();
    expect(r.lastFollowUp).toBeNull();
  });

  test('before any follow-up: the medications are the active prescriptions from any institution, newest first', async () => {
    const rx = (code: string, display: string, authoredOn: string, status = 'active') => post('/fhir/R4/MedicationRequest', {
      resourceType: 'MedicationRequest', status, intent: 'order', subject: { reference: `Patient/${residentId}` }, authoredOn,
      medicationCodeableConcept: { coding: [{ system: 'https://hospital.example/drugs', code, display }] }, dosageInstruction: [{ text: '每日一次' }],
    }, hospital, { 'content-type': 'application/fhir+json' });
    for (const r of [await rx('nifedipine', '硝苯地平控释片', iso(72)), await rx('metoprolol', '美托洛尔缓释片', iso(24)), await rx('aspirin', '阿司匹林肠溶片', iso(12), 'stopped')]) expect(r.statusCode, r.body).toBe(201);
    const r = (await get(`/chronic/residents/${residentId}`)).json();
    expect(r.medications).toEqual([{ name: '美托洛尔缓释片', dose: '每日一次' }, { name: '硝苯地平控释片', dose: '每日一次' }]);
    expect(r.lastReadings.sbp).toMatchObject({ value: 182, institutionId: hospitalId });
  });

  test('after the first follow-up: the tasks it answered are closed, the next one is open, its medications and lifestyle are the pre-fill', async () => {
    const f = await post('/api/v1/chronic/follow-ups', {
      enrolmentId, mode: 'home', sbp: 146, dbp: 92, weightKg: 72, heightCm: 170, adherence: 'regular',
      medications: [{ name: '氨氯地平片', dose: '5mg qd' }], lifestyle: { smokingPerDay: 0, salt: 'moderate', exerciseTimesPerWeek: 3, exerciseMinutes: 30 },
    });
    expect(f.statusCode, f.body).toBe(201);
    const r = (await get(`/chronic/residents/${residentId}`)).json();
    expect(r.openTasks).toHaveLength(1);
    expect(r.openTasks[0]).toMatchObject({ id: f.json().nextTaskId, kind: 'follow_up', enrolmentId, dueAt: f.json().nextDueAt });
    expect(r.medications).toEqual([{ name: '氨氯地平片', dose: '5mg qd' }]);
    expect(r.lastFollowUp).toMatchObject({ id: f.json().id, mode: 'home', weightKg: 72, heightCm: 170, bmi: 24.9, adherence: 'regular', classification: 'uncontrolled', lifestyle: { salt: 'moderate', exerciseTimesPerWeek: 3 } });
    expect(r.lastReadings.sbp.value).toBe(146);
    expect(r.enrolments[0]).toMatchObject({ lastClassification: 'uncontrolled', nextTaskId: f.json().nextTaskId });
  });

  test('readings for the trend charts: the hospital’s panel, its glucose and the follow-up’s, oldest first; a fasting glucose as such', async () => {
    const g = await post('/fhir/R4/Observation', {
      resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '1558-6' }] }, subject: { reference: `Patient/${residentId}` },
      effectiveDateTime: iso(0.5), valueQuantity: { value: 126, unit: 'mg/dL' },
    }, hospital, { 'content-type': 'application/fhir+json' });
    expect(g.statusCode, g.body).toBe(201);
    const r = await get(`/chronic/residents/${residentId}/readings`);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json().items.map((p: Json) => [p.sbp, p.dbp, p.glucose, p.fasting, p.institutionName])).toEqual([
      [182, 104, null, false, hospitalName],
      [null, null, 6.99, true, hospitalName],
      [146, 92, null, false, expect.any(String)],
    ]);
    const since = await get(`/chronic/residents/${residentId}/readings?since=${encodeURIComponent(iso(1.5))}`);
    expect(since.json().items).toHaveLength(2);
  });

  test('another team’s doctor is refused; an unknown resident is a 404', async () => {
    expect((await get(`/chronic/residents/${residentId}`, doctor2)).json().code).toBe('OUT_OF_SCOPE');
    expect((await get(`/chronic/residents/${residentId}/readings`, doctor2)).statusCode).toBe(403);
    expect((await get('/chronic/residents/999999999')).statusCode).toBe(404);
  });
});
