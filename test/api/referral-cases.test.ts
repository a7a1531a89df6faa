// Two-way referral as a closed loop (双向转诊闭环): the state machine through the HTTP API, booking a reserved slot in
// the same step, the desk's answers, the returned summary, downward referral with the team's follow-up, deadlines and
// escalation, notifications and webhooks, contention on the last slot, and the FHIR mirror (ServiceRequest + Task).
import { createServer, type Server } from 'node:http';
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { runDeadlines } from '../../src/modules/referral/cases.ts';
import { deliverDue } from '../../src/modules/webhooks/service.ts';

type Json = Record<string, any>;
let s: TestServer;
let admin: string, desk: string, doctor: string, specialist: string, centreAdmin: string, hospitalAdmin: string;
let hospital: number, otherHospital: number;
let pool: Json;
let residents: number[];
const FHIR_JSON = { 'content-type': 'application/fhir+json' };

const get = (url: string, cookie: string) => s.app.inject({ url, headers: { cookie } });
const post = (url: string, cookie: string, payload: unknown = {}) => s.app.inject({ method: 'POST', url, headers: { cookie }, payload: payload as any });
const db = () => s.started.ctx.db;

function localDate(days: number): string {
  return new Date(Date.now() + 8 * 3600_000 + days * 86_400_000).toISOString().slice(0, 10);
}

async function refer(body: Json, cookie = doctor, status = 201): Promise<Json> {
  const r = await post('/api/v1/referrals', cookie, { direction: 'up', targetInstitutionId: hospital, reason: '血压控制不佳，请专科评估', ...body });
  expect(r.statusCode, r.body).toBe(status);
  return r.json();
}

async function act(id: number, action: string, cookie: string, body: Json = {}, status = 200): Promise<Json> {
  const r = await post(`/api/v1/referrals/${id}/${action}`, cookie, body);
  expect(r.statusCode, r.body).toBe(status);
  return r.json();
}

/** Reserved places of the test pool nobody holds yet. */
async function reservedFreeSlots(): Promise<number[]> {
  const { rows } = await db().query("SELECT id FROM slot WHERE schedule_id = $1 AND status = 'free' AND reserved_for IS NOT NULL ORDER BY start_at, id", [pool.id]);
  return rows.map((r) => Number(r.id));
}

async function notificationsOf(cookie: string): Promise<Json[]> {
  const r = await get('/api/v1/notifications?pageSize=100', cookie);
  expect(r.statusCode, r.body).toBe(200);
  return r.json().items;
}

beforeAll(async () => {
  s = await startTestServer();
  [admin, desk, doctor, specialist, centreAdmin, hospitalAdmin] = await Promise.all(['admin', 'referral1', 'doctor1', 'specialist1', 'inst.admin', 'hospital.admin'].map((u) => s.login(u)));
  const { rows } = await db().query("SELECT institution_id FROM app_user WHERE username = 'referral1'");
  hospital = Number(rows[0].institution_id);
  const other = await db().query("SELECT id FROM institution WHERE type = 'tertiary_hospital' AND id <> $1 ORDER BY id LIMIT 1", [hospital]);
  otherHospital = Number(other.rows[0].id);
  const p = await post('/api/v1/slot-pools', desk, { department: '心内科', date: localDate(10), startTime: '08:00', endTime: '12:00', capacity: 20 });
  expect(p.statusCode, p.body).toBe(201);
  pool = p.json();
  const pts = await get('/fhir/R4/Patient?_count=40', doctor);
  residents = pts.json().entry.map((e: Json) => Number(e.resource.id));
});
afterAll(async () => s?.close());

describe('an upward referral, from the family doctor to the hospital and back', () => {
  let ref: Json;
  test('the doctor refers a resident and books a reserved slot in the same step', async () => {
    const slotId = (await reservedFreeSlots())[0];
    ref = await refer({ residentId: residents[0], targetDepartment: '心内科', urgency: 'routine', diagnosis: { code: 'I10', display: '原发性高血压' }, summary: '近3月血压波动 160-175/95-105 mmHg', slotId });
    expect(ref).toMatchObject({
      direction: 'up', urgency: 'routine', state: 'requested', reason: '血压控制不佳，请专科评估', diagnosis: { code: 'I10', display: '原发性高血压' },
      source: { institutionId: expect.any(Number) }, target: { institutionId: hospital, department: '心内科' }, appointment: { slotId, status: 'booked' },
      side: 'source', actions: ['schedule', 'cancel'],
    });
    // a routine request must be answered within 72 hours (rule data)
    expect(new Date(ref.dueAt).getTime() - new Date(ref.requestedAt).getTime()).toBe(72 * 3600_000);
    const slot = await db().query('SELECT status FROM slot WHERE id = $1', [slotId]);
    expect(slot.rows[0].status).toBe('busy');
  });

  test('the desk finds it in its inbox and is notified; the doctor sees it in the outbox', async () => {
    const inbox = (await get('/api/v1/referrals?box=inbox&state=requested', desk)).json();
    expect(inbox.items.map((x: Json) => x.id)).toContain(ref.id);
    expect(inbox.items.find((x: Json) => x.id === ref.id)).toMatchObject({ side: 'target', actions: ['accept', 'reject', 'redirect', 'schedule'] });
    expect((await get('/api/v1/referrals?box=outbox', doctor)).json().items.map((x: Json) => x.id)).toContain(ref.id);
    expect((await get('/api/v1/referrals?box=inbox', doctor)).json().items.map((x: Json) => x.id)).not.toContain(ref.id);
    const notes = await notificationsOf(desk);
    expect(notes.find((n) => n.referralId === ref.id)).toMatchObject({ kind: 'referral.requested', priority: 'normal', readAt: null });
    expect(notes.find((n) => n.referralId === ref.id)?.message).toContain('普通转诊');
    // the hospital may now read the resident's shared record (a referral relationship)
    expect((await get(`/fhir/R4/Patient/${residents[0]}`, desk)).statusCode).toBe(200);
  });

  test('the ServiceRequest and Task mirror the case over FHIR', async () => {
    const sr = (await get(`/fhir/R4/ServiceRequest/${ref.serviceRequestId}`, desk)).json();
    expect(sr).toMatchObject({ status: 'active', intent: 'order', code: { coding: [{ system: 'http://snomed.info/sct', code: '3457005' }] }, performer: [{ reference: `Organization/${hospital}` }], priority: 'routine' });
    const task = (await get(`/fhir/R4/Task?focus=ServiceRequest/${ref.serviceRequestId}`, desk)).json().entry[0].resource;
    expect(task).toMatchObject({ id: String(ref.taskId), status: 'requested', owner: { reference: `Organization/${hospital}` }, businessStatus: { coding: [{ code: 'requested' }] } });
  });

  test('illegal moves are refused with a clear error and change nothing', async () => {
    const early = await post(`/api/v1/referrals/${ref.id}/complete`, desk);
    expect(early.statusCode).toBe(409);
    expect(early.json()).toEqual({ code: 'INVALID_STATE', message: '当前状态不允许此操作：转诊单为「待接收」，不能执行 complete', field: 'action' });
    const en = await s.app.inject({ method: 'POST', url: `/api/v1/referrals/${ref.id}/complete`, headers: { cookie: desk, 'accept-language': 'en' }, payload: {} });
    expect(en.json().message).toBe('Not allowed in the current state: a referral that is requested cannot take complete');
    const wrongSide = await post(`/api/v1/referrals/${ref.id}/accept`, doctor);
    expect(wrongSide.statusCode).toBe(403);
    const unknown = await post(`/api/v1/referrals/${ref.id}/teleport`, desk);
    expect(unknown.statusCode).toBe(400);
    const rejectWithoutReason = await post(`/api/v1/referrals/${ref.id}/reject`, desk);
    expect(rejectWithoutReason.json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'note' });
    const after = (await get(`/api/v1/referrals/${ref.id}`, desk)).json();
    expect(after).toMatchObject({ state: 'requested', version: ref.version });
  });

  test('accepting a case that has an appointment schedules it; a stale version is refused', async () => {
    const stale = await post(`/api/v1/referrals/${ref.id}/accept`, desk, { version: ref.version + 5 });
    expect(stale.json()).toMatchObject({ code: 'STALE_VERSION' });
    const accepted = await act(ref.id, 'accept', desk, { version: ref.version });
    expect(accepted).toMatchObject({ state: 'scheduled', respondedAt: expect.any(String), scheduledAt: expect.any(String), actions: ['schedule', 'arrive', 'no-show'] });
    // the patient must arrive within 24 hours of the appointment
    expect(new Date(accepted.dueAt).getTime() - new Date(accepted.appointment.start).getTime()).toBe(24 * 3600_000);
    expect((await notificationsOf(doctor)).find((n) => n.referralId === ref.id && n.kind === 'referral.scheduled')).toBeTruthy();
    const task = (await get(`/fhir/R4/Task/${ref.taskId}`, desk)).json();
    expect(task).toMatchObject({ status: 'ready', businessStatus: { coding: [{ code: 'scheduled' }] } });
  });

  test('arrival, completion with the result summary closes the loop and tells the doctor', async () => {
    await act(ref.id, 'arrive', desk);
    const closed = await act(ref.id, 'complete', specialist, { summary: '动态血压示夜间高血压，调整为氨氯地平 5mg qd，4 周后社区复查。' });
    expect(closed).toMatchObject({ state: 'closed', completedAt: expect.any(String), closedAt: expect.any(String), resultSummary: expect.stringContaining('氨氯地平'), actions: [] });
    const detail = (await get(`/api/v1/referrals/${ref.id}`, doctor)).json();
    expect(detail.events.map((e: Json) => `${e.action}:${e.toState}`)).toEqual(['create:requested', 'accept:scheduled', 'arrive:arrived', 'complete:completed', 'complete:closed']);
    expect((await notificationsOf(doctor)).find((n) => n.referralId === ref.id && n.kind === 'referral.closed')).toBeTruthy();
    // the summary is a referral note in the shared record; the FHIR resources say the order is done
    const doc = (await get(`/fhir/R4/DocumentReference/${closed.resultDocumentId}`, doctor)).json();
    expect(doc.type.coding).toContainEqual({ system: 'http://loinc.org', code: '57133-1' });
    expect((await get(`/fhir/R4/ServiceRequest/${ref.serviceRequestId}`, doctor)).json().status).toBe('completed');
    expect((await get(`/fhir/R4/Task/${ref.taskId}`, doctor)).json()).toMatchObject({ status: 'completed', businessStatus: { coding: [{ code: 'closed' }] } });
    const appt = await db().query('SELECT status FROM appointment WHERE id = $1', [closed.appointment.id]);
    expect(appt.rows[0].status).toBe('fulfilled');
  });

  test('another family doctor of the centre sees only cases of their own residents', async () => {
    // a colleague at the same centre on a team with no grid of this resident
    await db().query(
      `INSERT INTO app_user (username, display_name, password_hash, roles, institution_id)
       SELECT 'colleague1', '同中心家庭医生', password_hash, roles, institution_id FROM app_user WHERE username = 'doctor1'`);
    const colleague = await s.login('colleague1');
    expect((await get(`/fhir/R4/Patient/${residents[0]}`, colleague)).statusCode).toBe(403);
    expect((await get(`/api/v1/referrals/${ref.id}`, colleague)).statusCode).toBe(404);
    expect((await get('/api/v1/referrals?box=outbox', colleague)).json()).toMatchObject({ total: 0, items: [] });
    // the centre's administrator oversees all of its cases
    expect((await get('/api/v1/referrals?box=outbox', centreAdmin)).json().items.map((x: Json) => x.id)).toContain(ref.id);
  });

  test('reading a case is audited; outsiders cannot see it', async () => {
    const { rows } = await db().query("SELECT count(*)::int AS n FROM audit_event WHERE resource_type = 'Referral' AND resource_id = $1 AND action = 'read'", [String(ref.id)]);
    expect(rows[0].n).toBeGreaterThan(0);
    const cdc = await s.login('cdc1');
    expect((await get(`/api/v1/referrals/${ref.id}`, cdc)).statusCode).toBe(404);
    expect((await get(`/api/v1/referrals/${ref.id}`, admin)).statusCode).toBe(200);
  });
});

describe('the desk’s other answers', () => {
  test('rejecting needs a reason, frees the booked slot and tells the doctor', async () => {
    const slotId = (await reservedFreeSlots())[0];
    const ref = await refer({ residentId: residents[1], slotId });
    const out = await act(ref.id, 'reject', desk, { note: '本院该专科暂停门诊' });
    expect(out).toMatchObject({ state: 'rejected', stateReason: '本院该专科暂停门诊', appointment: { status: 'cancelled' } });
    expect((await db().query('SELECT status FROM slot WHERE id = $1', [slotId])).rows[0].status).toBe('free');
    expect((await notificationsOf(doctor)).find((n) => n.referralId === ref.id)).toMatchObject({ kind: 'referral.rejected', priority: 'high' });
    expect((await get(`/fhir/R4/ServiceRequest/${ref.serviceRequestId}`, doctor)).json().status).toBe('revoked');
  });

  test('redirecting sends a new linked case to the other hospital', async () => {
    const ref = await refer({ residentId: residents[2] });
    const out = await act(ref.id, 'redirect', desk, { note: '建议转至专科医院', targetInstitutionId: otherHospital, targetDepartment: '神经内科' });
    expect(out).toMatchObject({ state: 'redirected', redirectedTo: expect.any(Number) });
    const moved = (await get(`/api/v1/referrals/${out.redirectedTo}`, doctor)).json();
    expect(moved).toMatchObject({ state: 'requested', redirectedFrom: ref.id, target: { institutionId: otherHospital, department: '神经内科' }, reason: ref.reason });
  });

  test('the referring doctor can cancel; the slot is free again', async () => {
    const slotId = (await reservedFreeSlots())[0];
    const ref = await refer({ residentId: residents[3], slotId });
    expect((await act(ref.id, 'cancel', doctor, { note: '患者改变主意' })).state).toBe('cancelled');
    expect((await db().query('SELECT status FROM slot WHERE id = $1', [slotId])).rows[0].status).toBe('free');
    expect((await notificationsOf(desk)).find((n) => n.referralId === ref.id)?.kind).toBe('referral.cancelled');
    await act(ref.id, 'accept', desk, {}, 409);
  });

  test('a green-channel referral tells the desk at once as urgent and needs no slot', async () => {
    const ref = await refer({ residentId: residents[4], urgency: 'green_channel', reason: '胸痛 2 小时，疑急性冠脉综合征' });
    expect(new Date(ref.dueAt).getTime() - new Date(ref.requestedAt).getTime()).toBe(3600_000);
    expect((await notificationsOf(desk)).find((n) => n.referralId === ref.id)).toMatchObject({ priority: 'urgent', kind: 'referral.requested' });
    const list = (await get('/api/v1/referrals?box=inbox&state=requested', desk)).json();
    expect(list.items[0].id).toBe(ref.id); // green channel first
    await act(ref.id, 'accept', desk);
    expect((await act(ref.id, 'arrive', desk)).state).toBe('arrived');
    expect((await get(`/fhir/R4/Task/${ref.taskId}`, desk)).json()).toMatchObject({ status: 'in-progress', priority: 'stat' });
  });

  test('sending the same sender id again returns the same case', async () => {
    const a = await refer({ residentId: residents[5], sourceId: 'CHC-REF-0001' });
    const again = await refer({ residentId: residents[5], sourceId: 'CHC-REF-0001' }, doctor, 200);
    expect(again.id).toBe(a.id);
  });

  test('bad input names the field', async () => {
    const r = await post('/api/v1/referrals', doctor, { direction: 'up', residentId: residents[0], targetInstitutionId: hospital, reason: 'x', diagnosis: { code: 'HYPER' } });
    expect(r.json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'diagnosis.code' });
    const t = await post('/api/v1/referrals', doctor, { direction: 'up', residentId: residents[0], reason: 'x' });
    expect(t.json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'targetInstitutionId' });
    const centre = await db().query("SELECT institution_id FROM app_user WHERE username = 'doctor1'");
    const toCentre = await post('/api/v1/referrals', doctor, { direction: 'up', residentId: residents[0], targetInstitutionId: Number(centre.rows[0].institution_id), reason: 'x' });
    expect(toCentre.json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'targetInstitutionId' });
    const att = await post('/api/v1/referrals', doctor, { direction: 'up', residentId: residents[0], targetInstitutionId: hospital, reason: 'x', attachments: [{ type: 'Observation', id: 999999999 }] });
    expect(att.json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'attachments[0].id' });
    const outside = await db().query(
      `SELECT r.id FROM resident r WHERE r.grid_id NOT IN (SELECT tg.grid_id FROM team_grid tg JOIN app_user u ON u.team_id = tg.team_id WHERE u.username = 'doctor1')
         AND NOT EXISTS (SELECT 1 FROM care_relationship c JOIN app_user u ON u.team_id = c.team_id WHERE c.resident_id = r.id AND u.username = 'doctor1') ORDER BY r.id LIMIT 1`);
    const far = await post('/api/v1/referrals', doctor, { direction: 'up', residentId: Number(outside.rows[0].id), targetInstitutionId: hospital, reason: 'x' });
    expect(far.statusCode).toBe(403);
    expect(far.json()).toMatchObject({ code: 'OUT_OF_SCOPE', field: 'residentId' });
  });
});

describe('booking the last place under contention', () => {
  test('two referrals booking the same slot at once: exactly one succeeds, the other case is left intact', async () => {
    const a = await refer({ residentId: residents[6] });
    const b = await refer({ residentId: residents[7] });
    await act(a.id, 'accept', desk);
    await act(b.id, 'accept', desk);
    const slotId = (await reservedFreeSlots())[0];
    const [ra, rb] = await Promise.all([post(`/api/v1/referrals/${a.id}/schedule`, desk, { slotId }), post(`/api/v1/referrals/${b.id}/schedule`, desk, { slotId })]);
    expect([ra.statusCode, rb.statusCode].sort()).toEqual([200, 409]);
    const loser = ra.statusCode === 409 ? { res: ra, ref: a } : { res: rb, ref: b };
    expect(loser.res.json()).toMatchObject({ code: 'SLOT_TAKEN', field: 'slotId' });
    const after = (await get(`/api/v1/referrals/${loser.ref.id}`, desk)).json();
    expect(after).toMatchObject({ state: 'accepted', appointment: null });
    const { rows } = await db().query("SELECT count(*)::int AS n FROM appointment WHERE slot_id = $1 AND status = 'booked'", [slotId]);
    expect(rows[0].n).toBe(1);
  });
});

describe('booking a slot already taken when the request reads it', () => {
  test('creating with it and booking it for an existing case are SLOT_TAKEN without a write: no case, no audit, the case unchanged', async () => {
    const slotId = (await reservedFreeSlots())[0];
    const first = await refer({ residentId: residents[30], slotId });
    expect(first.appointment).toMatchObject({ slotId, status: 'booked' });
    const count = async (sql: string, params: unknown[]) => Number((await db().query(sql, params)).rows[0].n);
    const referrals = () => count('SELECT count(*) AS n FROM referral WHERE resident_id = $1', [residents[31]]);
    const audits = () => count('SELECT count(*) AS n FROM audit_event WHERE resident_id = $1', [residents[31]]);
    const [referralsBefore, auditsBefore] = [await referrals(), await audits()];
    const created = await post('/api/v1/referrals', doctor, { direction: 'up', residentId: residents[31], targetInstitutionId: hospital, reason: 'x', slotId });
    expect(created.statusCode).toBe(409);
    expect(created.json()).toEqual({ code: 'SLOT_TAKEN', message: expect.any(String), field: 'slotId' });
    expect([await referrals(), await audits()]).toEqual([referralsBefore, auditsBefore]);

    const open = await refer({ residentId: residents[31] });
    const before = (await get(`/api/v1/referrals/${open.id}`, doctor)).json();
    const booked = await post(`/api/v1/referrals/${open.id}/schedule`, doctor, { slotId });
    expect(booked.statusCode).toBe(409);
    expect(booked.json()).toEqual({ code: 'SLOT_TAKEN', message: expect.any(String), field: 'slotId' });
    expect((await get(`/api/v1/referrals/${open.id}`, doctor)).json()).toEqual(before);
    const live = await db().query("SELECT count(*)::int AS n FROM appointment WHERE slot_id = $1 AND status = 'booked'", [slotId]);
    expect(live.rows[0].n).toBe(1);
  });
});

describe('booking a slot for a referral that already exists', () => {
  test('eight cases booking the same slot at once: exactly one succeeds; the other cases are left exactly as they were', async () => {
    const refs: Json[] = [];
    for (const residentId of residents.slice(20, 28)) refs.push(await refer({ residentId }));
    const detail = (id: number) => get(`/api/v1/referrals/${id}`, doctor).then((r) => r.json());
    const before = await Promise.all(refs.map((r) => detail(r.id)));
    const taskVersions = async () => (await db().query('SELECT id, version FROM task WHERE id = ANY($1::bigint[]) ORDER BY id', [refs.map((r) => r.taskId)])).rows;
    const tasksBefore = await taskVersions();
    const slotId = (await reservedFreeSlots())[0];
    const res = await Promise.all(refs.map((r) => post(`/api/v1/referrals/${r.id}/schedule`, doctor, { slotId })));
    expect(res.map((r) => r.statusCode).sort()).toEqual([200, 409, 409, 409, 409, 409, 409, 409]);
    const w = res.findIndex((r) => r.statusCode === 200);
    const won = res[w].json();
    // the referring doctor booked while the case waits for the desk: it stays requested, with its deadline
    expect(won).toMatchObject({ id: refs[w].id, state: 'requested', version: before[w].version + 1, dueAt: before[w].dueAt, appointment: { slotId, status: 'booked' }, actions: ['schedule', 'cancel'] });
    for (const [i, r] of res.entries()) {
      if (i === w) continue;
      expect(r.json()).toEqual({ code: 'SLOT_TAKEN', message: expect.any(String), field: 'slotId' });
      expect(await detail(refs[i].id)).toEqual(before[i]);
    }
    expect((await detail(refs[w].id)).events.map((e: Json) => `${e.action}:${e.fromState}>${e.toState}`)).toEqual(['create:null>requested', 'schedule:requested>requested']);
    // the Task shows nothing new for a case that stays requested; no loser's Task moved either
    expect(await taskVersions()).toEqual(tasksBefore);
    const live = await db().query("SELECT a.id, a.resident_id, f.id AS referral_id FROM appointment a LEFT JOIN referral f ON f.appointment_id = a.id WHERE a.slot_id = $1 AND a.status = 'booked'", [slotId]);
    expect(live.rows).toEqual([{ id: won.appointment.id, resident_id: refs[w].resident.id, referral_id: refs[w].id }]);
    expect((await db().query('SELECT status FROM slot WHERE id = $1', [slotId])).rows[0].status).toBe('busy');
    const told = (await notificationsOf(desk)).filter((n) => refs.some((r) => r.id === n.referralId) && n.kind === 'referral.scheduled');
    expect(told.map((n) => n.referralId)).toEqual([refs[w].id]);
    const audited = await db().query("SELECT action, resource_type FROM audit_event WHERE resident_id = $1 AND action IN ('create', 'update') AND resource_type IN ('Appointment', 'Referral') ORDER BY id", [refs[w].resident.id]);
    expect(audited.rows).toEqual([{ action: 'create', resource_type: 'Referral' }, { action: 'create', resource_type: 'Appointment' }, { action: 'update', resource_type: 'Referral' }]);
  });

  test('the desk books an accepted case: scheduled, due from the appointment, the Task ready, the doctor told; moving it frees the first slot', async () => {
    const ref = await refer({ residentId: residents[28] });
    await act(ref.id, 'accept', desk);
    const [first, second] = await reservedFreeSlots();
    const out = await act(ref.id, 'schedule', desk, { slotId: first, note: '请携带既往检查资料' });
    expect(out).toMatchObject({ state: 'scheduled', scheduledAt: expect.any(String), appointment: { slotId: first, status: 'booked' }, actions: ['schedule', 'arrive', 'no-show'] });
    expect(new Date(out.dueAt).getTime() - new Date(out.appointment.start).getTime()).toBe(24 * 3600_000);
    expect((await get(`/fhir/R4/Task/${ref.taskId}`, desk)).json()).toMatchObject({ status: 'ready', businessStatus: { coding: [{ code: 'scheduled' }] } });
    const note = (await notificationsOf(doctor)).find((n) => n.referralId === ref.id && n.kind === 'referral.scheduled');
    expect(note?.message).toContain('已预约');
    const moved = await act(ref.id, 'schedule', desk, { slotId: second });
    expect(moved).toMatchObject({ state: 'scheduled', appointment: { slotId: second, status: 'booked' } });
    const slots = await db().query('SELECT id, status FROM slot WHERE id = ANY($1::bigint[]) ORDER BY id', [[first, second]]);
    expect(slots.rows.map((x) => x.status)).toEqual(['free', 'busy']);
    // a stale version is refused as before
    expect((await post(`/api/v1/referrals/${ref.id}/schedule`, desk, { slotId: first, version: 1 })).json()).toMatchObject({ code: 'STALE_VERSION' });
  });
});

describe('downward referral at discharge', () => {
  let down: Json;
  test('the hospital sends a discharged resident to their community team, which gets a follow-up task due in 7 days', async () => {
    // the hospital has a relationship with residents[0] through the closed upward referral
    down = await refer({
      direction: 'down', targetInstitutionId: undefined, residentId: residents[0], reason: '高血压急症出院，社区随访',
      summary: '住院 5 天，血压控制至 135/85 mmHg', diagnosis: { code: 'I16.1' }, medications: [{ name: '氨氯地平片', dose: '5mg qd' }], followUpPlan: '1 周内随访血压，2 周复查肾功能',
    }, desk);
    expect(down).toMatchObject({ direction: 'down', state: 'requested', target: { teamId: expect.any(Number) }, medications: [{ name: '氨氯地平片', dose: '5mg qd' }] });
    expect(new Date(down.followUpDueAt).getTime() - new Date(down.requestedAt).getTime()).toBe(7 * 86_400_000);
    const task = (await get(`/fhir/R4/Task/${down.taskId}`, desk)).json();
    expect(task).toMatchObject({ status: 'requested', code: { coding: [{ code: 'discharge-follow-up' }] }, owner: { reference: `CareTeam/${down.target.teamId}` }, executionPeriod: { end: expect.any(String) } });
  });

  test('the team sees it and records the follow-up, which closes the case', async () => {
    const { rows } = await db().query('SELECT username FROM app_user WHERE team_id = $1 AND $2 = ANY(roles) ORDER BY id LIMIT 1', [down.target.teamId, 'family_doctor']);
    const teamDoctor = await s.login(rows[0].username);
    expect((await get('/api/v1/referrals?box=inbox&direction=down', teamDoctor)).json().items.map((x: Json) => x.id)).toContain(down.id);
    expect((await notificationsOf(teamDoctor)).find((n) => n.referralId === down.id)?.kind).toBe('referral.discharged');
    await act(down.id, 'follow-up', teamDoctor, {}, 400);
    const done = await act(down.id, 'follow-up', teamDoctor, { note: '电话+入户随访，血压 132/84 mmHg，服药规律' });
    expect(done).toMatchObject({ state: 'closed', followedUpAt: expect.any(String), followUpNote: expect.stringContaining('132/84') });
    expect((await get(`/fhir/R4/Task/${down.taskId}`, teamDoctor)).json().status).toBe('completed');
    expect((await notificationsOf(desk)).find((n) => n.referralId === down.id)?.kind).toBe('referral.followed_up');
  });
});

describe('deadlines', () => {
  test('an unanswered case is escalated once to the receiving institution’s admin, and expires later', async () => {
    const ref = await refer({ residentId: residents[8], urgency: 'urgent' });
    const later = new Date(Date.now() + 25 * 3600_000);
    expect(await runDeadlines(db(), later)).toMatchObject({ escalated: 1, expired: 0 });
    expect((await runDeadlines(db(), later)).escalated).toBe(0);
    const notes = await notificationsOf(hospitalAdmin);
    expect(notes.find((n) => n.referralId === ref.id)).toMatchObject({ kind: 'referral.overdue', priority: 'high' });
    expect((await get(`/api/v1/referrals/${ref.id}`, desk)).json()).toMatchObject({ state: 'requested', escalatedAt: later.toISOString() });
    const muchLater = new Date(Date.now() + 73 * 3600_000);
    expect((await runDeadlines(db(), muchLater)).expired).toBeGreaterThanOrEqual(1);
    const out = (await get(`/api/v1/referrals/${ref.id}`, doctor)).json();
    expect(out).toMatchObject({ state: 'expired', stateReason: 'deadline passed' });
    expect(out.events.map((e: Json) => e.action)).toEqual(['create', 'escalate', 'expire']);
    expect((await get(`/fhir/R4/Task/${ref.taskId}`, doctor)).json().status).toBe('failed');
  });
});

describe('institution systems drive the case over FHIR', () => {
  test('writing Task.status applies the state machine; a status with no action is refused', async () => {
    const ref = await refer({ residentId: residents[9] });
    const task = (await get(`/fhir/R4/Task/${ref.taskId}`, desk)).json();
    const put = (body: Json) => s.app.inject({ method: 'PUT', url: `/fhir/R4/Task/${ref.taskId}`, headers: { cookie: desk, ...FHIR_JSON }, payload: JSON.stringify(body) });
    const bad = await put({ ...task, status: 'on-hold' });
    expect(bad.statusCode).toBe(409);
    expect(bad.json()).toMatchObject({ resourceType: 'OperationOutcome' });
    const ok = await put({ ...task, status: 'accepted' });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ status: 'accepted', businessStatus: { coding: [{ code: 'accepted' }] } });
    expect((await get(`/api/v1/referrals/${ref.id}`, desk)).json().state).toBe('accepted');
  });

  test('an Appointment booked over FHIR for the referral’s ServiceRequest schedules the case', async () => {
    const ref = await refer({ residentId: residents[11] });
    expect((await post(`/api/v1/referrals/${ref.id}/accept`, desk)).json().state).toBe('accepted');
    const slotId = (await reservedFreeSlots())[0];
    const appointment = (status = 'booked') => ({
      resourceType: 'Appointment', status, slot: [{ reference: `Slot/${slotId}` }], basedOn: [{ reference: `ServiceRequest/${ref.serviceRequestId}` }],
      participant: [{ actor: { reference: `Patient/${residents[11]}` }, status: 'accepted' }],
    });
    const created = await s.app.inject({ method: 'POST', url: '/fhir/R4/Appointment', headers: { cookie: desk, ...FHIR_JSON }, payload: JSON.stringify(appointment()) });
    expect(created.statusCode, created.body).toBe(201);
    const after = (await get(`/api/v1/referrals/${ref.id}`, desk)).json();
    expect(after).toMatchObject({ state: 'scheduled', appointment: { id: Number(created.json().id), slotId, status: 'booked' }, scheduledAt: expect.any(String) });
    expect((await get(`/fhir/R4/Task/${ref.taskId}`, desk)).json().businessStatus.coding[0].code).toBe('scheduled');
    // a closed case takes no appointment: the write is refused and leaves the slot free
    await post(`/api/v1/referrals/${ref.id}/cancel`, doctor, { note: '患者改期' });
    const other = (await reservedFreeSlots())[0];
    const refused = await s.app.inject({ method: 'POST', url: '/fhir/R4/Appointment', headers: { cookie: desk, ...FHIR_JSON }, payload: JSON.stringify({ ...appointment(), slot: [{ reference: `Slot/${other}` }] }) });
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.json()).toMatchObject({ resourceType: 'OperationOutcome' });
    expect((await db().query('SELECT status FROM slot WHERE id = $1', [other])).rows[0].status).toBe('free');
  });
});

describe('webhooks', () => {
  let server: Server;
  const received: { headers: Json; body: string }[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.statusCode = received.length === 1 ? 500 : 204; // the first attempt fails: it is retried
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  test('the hospital’s system receives signed events without personal data, retried after a failure', async () => {
    const port = (server.address() as { port: number }).port;
    const reg = await post('/api/v1/webhooks', hospitalAdmin, { url: `http://127.0.0.1:${port}/caregrid`, events: ['referral.requested'] });
    expect(reg.statusCode, reg.body).toBe(201);
    const { secret, id } = reg.json();
    expect(secret).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect((await post('/api/v1/webhooks', doctor, { url: 'http://127.0.0.1:1/x' })).statusCode).toBe(403);
    expect((await post('/api/v1/webhooks', hospitalAdmin, { url: 'ftp://example.org/x' })).json()).toMatchObject({ field: 'url' });

    const ref = await refer({ residentId: residents[10] });
    // deliver now (the server's loop would also do it); the first answer is a 500
    for (let i = 0; i < 40 && received.length === 0; i++) {
      await deliverDue(db(), s.started.ctx.keys);
      if (!received.length) await new Promise((r) => setTimeout(r, 50));
    }
    // the failed attempt is recorded once its sender (this loop or the server's) has rescheduled it; until then the
    // row is locked and a second sender skips it
    for (let i = 0; i < 100; i++) {
      const { rows } = await db().query('SELECT last_status FROM webhook_delivery WHERE webhook_id = $1', [id]);
      if (rows[0]?.last_status) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const later = new Date(Date.now() + 60_000);
    await deliverDue(db(), s.started.ctx.keys, { now: later });
    expect(received.length).toBe(2);
    const last = received[1];
    expect(last.headers['x-caregrid-event']).toBe('referral.requested');
    const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(last.headers['x-caregrid-signature']))!;
    expect(m).toBeTruthy();
    expect(createHmac('sha256', secret).update(`${m[1]}.${last.body}`).digest('hex')).toBe(m[2]);
    const payload = JSON.parse(last.body);
    expect(payload).toMatchObject({ event: 'referral.requested', referral: { id: ref.id, state: 'requested' }, patient: `Patient/${residents[10]}`, task: `Task/${ref.taskId}` });
    expect(last.body).not.toContain(ref.resident.name);
    const deliveries = (await get(`/api/v1/webhooks/${id}/deliveries`, hospitalAdmin)).json();
    expect(deliveries.items[0]).toMatchObject({ event: 'referral.requested', attempts: 2, lastStatus: 204, deliveredAt: expect.any(String) });
  });
});

describe('notifications', () => {
  test('marking read clears the unread count', async () => {
    const before = (await get('/api/v1/notifications', desk)).json();
    expect(before.unread).toBeGreaterThan(0);
    expect((await post('/api/v1/notifications/read', desk, { all: true })).json().marked).toBe(before.unread);
    expect((await get('/api/v1/notifications?unread=true', desk)).json()).toMatchObject({ unread: 0, items: [] });
  });
});
