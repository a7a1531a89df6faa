// Slot pools for two-way referral (号源池, 基层预留号源): publishing, the primary-care reservation and its release,
// booking under contention over FHIR, cancellation, and that a refused or failed booking leaves nothing behind.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { releaseReservedSlots } from '../../src/modules/referral/service.ts';

type Json = Record<string, any>;
let s: TestServer;
let admin: string, desk: string, doctor: string, specialist: string, centreAdmin: string;
const EXT = 'https://caregrid.dev/fhir/StructureDefinition/reserved-for';
const FHIR_JSON = { 'content-type': 'application/fhir+json' };

const get = (url: string, cookie: string) => s.app.inject({ url, headers: { cookie } });
const post = (url: string, cookie: string, payload: unknown) => s.app.inject({ method: 'POST', url, headers: { cookie }, payload: payload as any });
const fhirPost = (url: string, cookie: string, body: unknown) => s.app.inject({ method: 'POST', url: `/fhir/R4/${url}`, headers: { cookie, ...FHIR_JSON }, payload: JSON.stringify(body) });
const fhirPut = (url: string, cookie: string, body: unknown) => s.app.inject({ method: 'PUT', url: `/fhir/R4/${url}`, headers: { cookie, ...FHIR_JSON }, payload: JSON.stringify(body) });
const db = () => s.started.ctx.db;

/** The Beijing calendar date `days` from today. */
function localDate(days: number): string {
  return new Date(Date.now() + 8 * 3600_000 + days * 86_400_000).toISOString().slice(0, 10);
}

const appointment = (slotId: number, patientId: number | string, extra: Json = {}) => ({
  resourceType: 'Appointment', status: 'booked', slot: [{ reference: `Slot/${slotId}` }], participant: [{ actor: { reference: `Patient/${patientId}` }, status: 'accepted' }], ...extra,
});

async function publish(body: Json, cookie = desk): Promise<Json> {
  const r = await post('/api/v1/slot-pools', cookie, body);
  expect(r.statusCode, r.body).toBe(201);
  return r.json();
}

/** Residents the caller may book for (their own scope), by FHIR Patient search. */
async function patientsOf(cookie: string, n: number): Promise<number[]> {
  const r = await get(`/fhir/R4/Patient?_count=${n}`, cookie);
  expect(r.statusCode, r.body).toBe(200);
  return r.json().entry.map((e: Json) => Number(e.resource.id));
}

async function slotRow(id: number) {
  const { rows } = await db().query('SELECT status, reserved_for, released_at, release_at FROM slot WHERE id = $1', [id]);
  return rows[0];
}

/** A general seeded slot nobody holds, soonest first. */
async function freeSlot(): Promise<number> {
  const { rows } = await db().query(`SELECT id FROM slot s WHERE status = 'free' AND reserved_for IS NULL
    AND NOT EXISTS (SELECT 1 FROM appointment a WHERE a.slot_id = s.id) ORDER BY start_at, id LIMIT 1`);
  return Number(rows[0].id);
}

async function appointmentsOn(slotId: number): Promise<Json[]> {
  const { rows } = await db().query('SELECT id, status FROM appointment WHERE slot_id = $1 ORDER BY id', [slotId]);
  return rows;
}

beforeAll(async () => {
  s = await startTestServer();
  [admin, desk, doctor, specialist, centreAdmin] = await Promise.all(['admin', 'referral1', 'doctor1', 'specialist1', 'inst.admin'].map((u) => s.login(u)));
});
afterAll(async () => s?.close());

describe('publishing a slot pool', () => {
  test('capacity 20 with the default share makes 20 slots, ceil(30%) = 6 of them reserved and spread over the session', async () => {
    const date = localDate(20);
    const pool = await publish({ department: '心内科', date, startTime: '08:00', endTime: '12:00', capacity: 20 });
    expect(pool).toMatchObject({ department: '心内科', capacity: 20, free: 20, booked: 0, reserved: 6, reservedFree: 6, released: 0, reservedShare: 0.3, releaseHours: 48, start: new Date(`${date}T08:00:00+08:00`).toISOString(), end: new Date(`${date}T12:00:00+08:00`).toISOString() });
    expect(pool.slots).toHaveLength(20);
    expect(pool.slots[0]).toMatchObject({ start: new Date(`${date}T08:00:00+08:00`).toISOString(), end: new Date(`${date}T08:12:00+08:00`).toISOString(), status: 'free', reservedFor: null });
    const reserved = pool.slots.filter((x: Json) => x.reservedFor === 'primary_care');
    expect(reserved.map((x: Json) => pool.slots.indexOf(x))).toEqual([3, 6, 9, 13, 16, 19]);
    for (const x of reserved) expect(x.releaseAt).toBe(new Date(new Date(x.start).getTime() - 48 * 3600_000).toISOString());
    const { rows } = await db().query("SELECT count(*)::int AS n, (count(*) FILTER (WHERE reserved_for = 'primary_care'))::int AS r FROM slot WHERE schedule_id = $1", [pool.id]);
    expect(rows[0]).toEqual({ n: 20, r: 6 });
    // the pool is a FHIR Schedule and its slots FHIR Slots, the reservation an extension
    const slots = (await get(`/fhir/R4/Slot?schedule=Schedule/${pool.id}&reserved-for=primary_care&_count=50`, admin)).json();
    expect(slots.total).toBe(6);
    expect(slots.entry[0].resource.extension).toEqual([{ url: EXT, valueCode: 'primary_care' }]);
  });

  test('a slot length, a share and a release rule of the desk’s own', async () => {
    const pool = await publish({ department: '内分泌科', date: localDate(21), startTime: '09:00', endTime: '11:00', slotMinutes: 15, reservedShare: 0.25, releaseHours: 24 });
    expect(pool).toMatchObject({ capacity: 8, reserved: 2, reservedShare: 0.25, releaseHours: 24 });
    const r = pool.slots.find((x: Json) => x.reservedFor);
    expect(r.releaseAt).toBe(new Date(new Date(r.start).getTime() - 24 * 3600_000).toISOString());
  });

  test('only a hospital’s desk or administrator publishes, for their own hospital; bad sessions are refused', async () => {
    const body = { department: '心内科', date: localDate(20), startTime: '13:30', endTime: '17:30', capacity: 20 };
    for (const cookie of [doctor, centreAdmin]) {
      const r = await post('/api/v1/slot-pools', cookie, body);
      expect(r.statusCode).toBe(403);
      expect(r.json()).toEqual({ code: 'FORBIDDEN', message: '您没有执行此操作的权限' });
    }
    const elsewhere = await post('/api/v1/slot-pools', desk, { ...body, institutionId: 1 + (await deskInstitution()) });
    expect(elsewhere.json()).toEqual({ code: 'WRONG_INSTITUTION', message: '不能代表其他机构提交数据', field: 'institutionId' });
    const both = await post('/api/v1/slot-pools', desk, { ...body, slotMinutes: 15 });
    expect(both.json()).toEqual({ code: 'VALIDATION_FAILED', message: '输入有误：give slotMinutes or capacity', field: 'capacity' });
    const past = await post('/api/v1/slot-pools', desk, { ...body, date: localDate(-1) });
    expect(past.json()).toEqual({ code: 'VALIDATION_FAILED', message: '输入有误：the session has already started', field: 'startTime' });
    expect((await post('/api/v1/slot-pools', (await s.login('hospital.admin')), body)).statusCode).toBe(201);
  });

  test('pools are listed with their counts', async () => {
    const r = await get(`/api/v1/slot-pools?department=心内科&from=${localDate(20)}&to=${localDate(20)}&institutionId=${await deskInstitution()}`, doctor);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json().items.map((p: Json) => [p.capacity, p.reserved])).toEqual([[20, 6], [20, 6]]);
  });
});

async function deskInstitution(): Promise<number> {
  const { rows } = await db().query("SELECT institution_id FROM app_user WHERE username = 'referral1'");
  return Number(rows[0].institution_id);
}

describe('the primary-care reservation', () => {
  test('a family doctor books a reserved slot; a general booking is refused until the release time, then succeeds', async () => {
    const pool = await publish({ department: '神经内科', date: localDate(22), startTime: '08:00', endTime: '12:00', capacity: 20 });
    const [first, second] = pool.slots.filter((x: Json) => x.reservedFor);
    const [mine] = await patientsOf(doctor, 1);
    const booked = await post(`/api/v1/slots/${first.id}/appointments`, doctor, { residentId: mine });
    expect(booked.statusCode, booked.body).toBe(201);
    expect(booked.json()).toMatchObject({ slotId: first.id, residentId: mine, status: 'booked', start: first.start, end: first.end });
    expect(await slotRow(first.id)).toMatchObject({ status: 'busy', reserved_for: 'primary_care', released_at: null });

    const [theirs] = await patientsOf(specialist, 1);
    const refused = await post(`/api/v1/slots/${second.id}/appointments`, specialist, { residentId: theirs });
    expect(refused.statusCode).toBe(409);
    const releaseLocal = new Date(new Date(second.releaseAt).getTime() + 8 * 3600_000).toISOString().slice(0, 16).replace('T', ' ');
    expect(refused.json()).toEqual({ code: 'SLOT_RESERVED', message: `该号源为基层转诊预留号源，${releaseLocal} 起开放普通预约`, field: 'slotId' });
    // the same over FHIR, in English
    const fhirRefused = await s.app.inject({ method: 'POST', url: '/fhir/R4/Appointment?lang=en', headers: { cookie: specialist, ...FHIR_JSON }, payload: JSON.stringify(appointment(second.id, theirs)) });
    expect(fhirRefused.statusCode).toBe(409);
    expect(fhirRefused.json().issue[0]).toMatchObject({ code: 'business-rule', details: { coding: [{ code: 'SLOT_RESERVED' }] }, diagnostics: `This slot is reserved for referrals from primary care until ${releaseLocal}`, expression: ['Appointment.slot[0]'] });
    expect(await appointmentsOn(second.id)).toEqual([]);
    expect(await slotRow(second.id)).toMatchObject({ status: 'free', released_at: null });

    // the release job at the release time (the server's timer runs the same function)
    const released = await releaseReservedSlots(db(), new Date(second.releaseAt));
    expect(released).toBeGreaterThanOrEqual(1);
    expect(await slotRow(second.id)).toMatchObject({ status: 'free', reserved_for: 'primary_care', released_at: new Date(second.releaseAt) });
    expect(await slotRow(first.id)).toMatchObject({ status: 'busy', released_at: null }); // used reservations are not released
    const fhirSlot = (await get(`/fhir/R4/Slot/${second.id}`, admin)).json();
    expect(fhirSlot.extension).toBeUndefined();
    const now = await post(`/api/v1/slots/${second.id}/appointments`, specialist, { residentId: theirs });
    expect(now.statusCode, now.body).toBe(201);
    const counts = (await get(`/api/v1/slot-pools/${pool.id}`, doctor)).json();
    expect(counts).toMatchObject({ capacity: 20, free: 18, booked: 2, reserved: 6 });
  });

  test('within the release window a reservation has lapsed without the timer: general booking succeeds and records the release', async () => {
    const pool = await publish({ department: '骨科', date: localDate(1), startTime: '08:00', endTime: '12:00', capacity: 10 });
    expect(pool).toMatchObject({ reserved: 3, reservedFree: 0 });
    expect(pool.slots.every((x: Json) => x.reservedFor === null)).toBe(true);
    const { rows } = await db().query('SELECT id, release_at FROM slot WHERE schedule_id = $1 AND reserved_for IS NOT NULL ORDER BY start_at LIMIT 1', [pool.id]);
    // nothing released yet (no timer ran in between): the booking applies the rule itself
    await db().query('UPDATE slot SET released_at = NULL WHERE id = $1', [rows[0].id]);
    const [theirs] = await patientsOf(specialist, 1);
    const r = await fhirPost('Appointment', specialist, appointment(rows[0].id, theirs));
    expect(r.statusCode, r.body).toBe(201);
    expect(await slotRow(rows[0].id)).toMatchObject({ status: 'busy', released_at: rows[0].release_at });
  });

  test('a hospital desk books a reserved slot on a referral from primary care', async () => {
    const pool = await publish({ department: '心内科', date: localDate(23), startTime: '08:00', endTime: '12:00', capacity: 20 });
    const slot = pool.slots.find((x: Json) => x.reservedFor);
    const [patient] = await patientsOf(doctor, 1);
    const sr = await fhirPost('ServiceRequest', doctor, { resourceType: 'ServiceRequest', status: 'active', intent: 'order', code: { text: '心内科专家门诊转诊' }, subject: { reference: `Patient/${patient}` } });
    expect(sr.statusCode, sr.body).toBe(201);
    // the referral gives the hospital a relationship with the patient only later (issue 5); the district admin books here
    const withoutReferral = await fhirPost('Appointment', admin, appointment(slot.id, patient));
    expect(withoutReferral.json().issue[0].details.coding[0].code).toBe('SLOT_RESERVED');
    const withReferral = await fhirPost('Appointment', admin, appointment(slot.id, patient, { basedOn: [{ reference: `ServiceRequest/${sr.json().id}` }] }));
    expect(withReferral.statusCode, withReferral.body).toBe(201);
  });
});

describe('booking under contention', () => {
  test('20 clients book one free slot over FHIR at once: exactly one 201, nineteen 409, the slot busy', async () => {
    const free = (await get('/fhir/R4/Slot?status=free&_count=1', admin)).json();
    expect(free.total).toBeGreaterThan(0); // the seeded pools
    const slotId = Number(free.entry[0].resource.id);
    const patients = await patientsOf(admin, 20);
    expect(patients).toHaveLength(20);
    const results = await Promise.all(patients.map((p) => fhirPost('Appointment', admin, appointment(slotId, p))));
    const codes = results.map((r) => r.statusCode).sort();
    expect(codes).toEqual([201, ...Array(19).fill(409)]);
    for (const r of results.filter((x) => x.statusCode === 409)) {
      expect(r.json()).toEqual({
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'conflict', details: { coding: [{ system: 'https://caregrid.dev/fhir/CodeSystem/error', code: 'SLOT_TAKEN' }], text: '该号源已被预约' }, diagnostics: '该号源已被预约', expression: ['Appointment.slot[0]'] }],
      });
    }
    expect((await get(`/fhir/R4/Slot/${slotId}`, admin)).json().status).toBe('busy');
    const rows = await appointmentsOn(slotId);
    expect(rows).toHaveLength(1);
    expect(rows[0].status).toBe('booked');
    expect(Number(rows[0].id)).toBe(Number(results.find((r) => r.statusCode === 201)!.json().id));
  });

  test('a unique-index race (a writer that skipped the lock) is a 409 too, and the booking leaves nothing', async () => {
    const slotId = await freeSlot();
    const [a, b] = await patientsOf(admin, 2);
    // an appointment written straight into the table (as a bulk load does) holds the slot but left it marked free
    await db().query("INSERT INTO appointment (resident_id, institution_id, slot_id, status) SELECT $1, institution_id, id, 'booked' FROM slot WHERE id = $2", [a, slotId]);
    const r = await fhirPost('Appointment', admin, appointment(slotId, b));
    expect(r.statusCode).toBe(409);
    expect(r.json().issue[0].details.coding[0].code).toBe('SLOT_TAKEN');
    expect((await appointmentsOn(slotId)).length).toBe(1);
    expect((await slotRow(slotId)).status).toBe('free');
    await db().query("UPDATE appointment SET status = 'cancelled' WHERE slot_id = $1", [slotId]);
  });

  test('a transaction that books a slot and then fails leaves neither the appointment nor a busy slot', async () => {
    const slotId = await freeSlot();
    const [p] = await patientsOf(admin, 1);
    const r = await fhirPost('', admin, {
      resourceType: 'Bundle', type: 'transaction', entry: [
        { resource: appointment(slotId, p), request: { method: 'POST', url: 'Appointment' } },
        { resource: { resourceType: 'Task', status: 'requested', intent: 'order', for: { reference: 'Patient/999999999' } }, request: { method: 'POST', url: 'Task' } },
      ],
    });
    expect(r.statusCode).toBe(400);
    expect(await appointmentsOn(slotId)).toEqual([]);
    expect((await slotRow(slotId)).status).toBe('free');
  });
});

describe('cancelling', () => {
  test('a cancelled appointment frees its slot for the next booking (REST and FHIR)', async () => {
    const slotId = await freeSlot();
    const [p1, p2] = await patientsOf(admin, 2);
    const first = await post(`/api/v1/slots/${slotId}/appointments`, admin, { residentId: p1 });
    expect(first.statusCode, first.body).toBe(201);
    const taken = await post(`/api/v1/slots/${slotId}/appointments`, admin, { residentId: p2 });
    expect(taken.json()).toEqual({ code: 'SLOT_TAKEN', message: '该号源已被预约', field: 'slotId' });
    const cancelled = await post(`/api/v1/appointments/${first.json().appointmentId}/cancel`, admin, {});
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    expect(cancelled.json()).toMatchObject({ appointmentId: first.json().appointmentId, status: 'cancelled', slotId });
    expect((await slotRow(slotId)).status).toBe('free');

    const second = await fhirPost('Appointment', admin, appointment(slotId, p2));
    expect(second.statusCode, second.body).toBe(201);
    expect((await slotRow(slotId)).status).toBe('busy');
    const noShow = await fhirPut(`Appointment/${second.json().id}`, admin, { ...(second.json() as Json), status: 'noshow' });
    expect(noShow.statusCode, noShow.body).toBe(200);
    expect((await slotRow(slotId)).status).toBe('free');
    expect((await appointmentsOn(slotId)).map((x) => x.status)).toEqual(['cancelled', 'noshow']);
  });

  test('re-sending a booking with the same identifier is idempotent, not a conflict with itself', async () => {
    const slotId = await freeSlot();
    const [p] = await patientsOf(admin, 1);
    const body = appointment(slotId, p, { identifier: [{ system: 'https://hospital.example/appt', value: `R-${slotId}` }] });
    const one = await fhirPost('Appointment', admin, body);
    expect(one.statusCode, one.body).toBe(201);
    const again = await fhirPost('Appointment', admin, body);
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json().id).toBe(one.json().id);
    expect((await slotRow(slotId)).status).toBe('busy');
  });
});
