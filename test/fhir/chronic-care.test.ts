// Contracts as FHIR Contract and chronic-disease care plans as CarePlan (one per enrolment: the programme, its period,
// the open follow-up Task and the next due date): read-only views, valid R4, searchable by patient and status,
// scoped to the caller like every record and audited; the CapabilityStatement says so.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { r4Problems } from '../helpers/r4.ts';

type Json = Record<string, any>;
let s: TestServer;
let admin: string, doctor1: string, doctor2: string;
let team1: number, team1Inst: number;
let grid1: number[];
let next = 0;
const F = '/fhir/R4';
const db = () => s.started.ctx.db;
const get = (url: string, cookie = admin) => s.app.inject({ url, headers: { cookie } });
const post = (url: string, payload: unknown, cookie = doctor1) => s.app.inject({ method: 'POST', url, headers: { cookie }, payload: payload as any });

async function search(type: string, query: string, cookie = admin): Promise<Json[]> {
  const r = await get(`${F}/${type}?${query}`, cookie);
  expect(r.statusCode, r.body).toBe(200);
  return (r.json().entry ?? []).map((e: Json) => e.resource);
}

async function signed(body: Json = {}): Promise<Json> {
  const residentId = grid1[next++];
  const r = await post('/api/v1/contracts', { residentId, teamId: team1, packages: ['basic', 'chronic'], consent: { method: 'written', signedBy: 'self' }, ...body });
  expect(r.statusCode, r.body).toBe(201);
  return r.json();
}

beforeAll(async () => {
  s = await startTestServer();
  [admin, doctor1, doctor2] = await Promise.all(['admin', 'doctor1', 'doctor2'].map((u) => s.login(u)));
  const u = (await db().query("SELECT team_id, institution_id, practitioner_id FROM app_user WHERE username = 'doctor1'")).rows[0];
  team1 = Number(u.team_id);
  team1Inst = Number(u.institution_id);
  const { rows } = await db().query("SELECT r.id FROM resident r JOIN team_grid tg ON tg.grid_id = r.grid_id WHERE tg.team_id = $1 AND r.status = 'active' ORDER BY r.id", [team1]);
  grid1 = rows.map((r) => Number(r.id));
});
afterAll(async () => s?.close());

describe('Contract', () => {
  let c: Json;
  let prac: number;
  test('a signed contract: executed, its term, the packages, the resident’s consent and the signing team member, the team', async () => {
    prac = Number((await db().query("SELECT practitioner_id FROM app_user WHERE username = 'doctor1'")).rows[0].practitioner_id);
    c = await signed({ practitionerId: prac, consent: { method: 'electronic', signedBy: 'self', signedAt: '2026-01-05T09:30:00+08:00' } });
    const [k] = await search('Contract', `patient=Patient/${c.resident.id}&status=executed`);
    expect(k).toMatchObject({
      resourceType: 'Contract', id: String(c.id), meta: { versionId: '1' }, status: 'executed', applies: { start: c.startDate, end: c.endDate },
      subject: [{ reference: `Patient/${c.resident.id}` }], authority: [{ reference: `Organization/${team1Inst}` }],
      type: { coding: [{ system: 'https://caregrid.dev/fhir/CodeSystem/contract-type', code: 'family-doctor' }] },
      subType: [{ coding: [{ code: 'basic' }] }, { coding: [{ code: 'chronic' }] }],
      supportingInfo: [{ reference: `CareTeam/${team1}` }],
    });
    expect(k.signer).toEqual([
      expect.objectContaining({ type: expect.objectContaining({ code: 'PAT' }), party: { reference: `Patient/${c.resident.id}` }, signature: [expect.objectContaining({ when: '2026-01-05T09:30:00+08:00', type: expect.arrayContaining([expect.objectContaining({ code: 'electronic' })]) })] }),
      expect.objectContaining({ type: expect.objectContaining({ code: 'HPROV' }), party: { reference: `Practitioner/${prac}` } }),
    ]);
    expect(r4Problems(k)).toEqual([]);
    const read = await get(`${F}/Contract/${c.id}`, doctor1);
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual(k);
  });
  test('a guardian’s consent names the guardian, not the patient, as the signer', async () => {
    const g = await signed({ consent: { method: 'written', signedBy: 'guardian' } });
    const k = (await get(`${F}/Contract/${g.id}`)).json();
    expect(k.signer).toHaveLength(1);
    expect(k.signer[0]).toMatchObject({ type: { code: 'GUARD' }, party: { display: '监护人' } });
    expect(r4Problems(k)).toEqual([]);
  });
  test('cancelled: revoked, with its history; a change of team: terminated and the new one continues it', async () => {
    const cancel = await post(`/api/v1/contracts/${c.id}/cancel`, { reason: '搬离辖区' });
    expect(cancel.statusCode, cancel.body).toBe(200);
    expect((await search('Contract', `patient=Patient/${c.resident.id}&status=executed`))).toEqual([]);
    const [k] = await search('Contract', `patient=Patient/${c.resident.id}&status=revoked`);
    expect(k).toMatchObject({ id: String(c.id), status: 'revoked', meta: { versionId: '2' } });
    const hist = (await get(`${F}/Contract/${c.id}/_history`)).json();
    expect(hist.entry.map((e: Json) => e.resource.status)).toEqual(['revoked', 'executed']);
    const team2 = Number((await db().query("SELECT team_id FROM app_user WHERE username = 'doctor2'")).rows[0].team_id);
    const m = await signed();
    const moved = await post(`/api/v1/contracts/${m.id}/change-team`, { teamId: team2, reason: '就近', consent: { method: 'written', signedBy: 'self' } }, admin);
    expect(moved.statusCode, moved.body).toBe(200);
    const both = await search('Contract', `patient=Patient/${m.resident.id}`);
    expect(both.map((x) => [x.id, x.status])).toEqual(expect.arrayContaining([[String(m.id), 'terminated'], [String(moved.json().id), 'executed']]));
    expect(both.find((x) => x.id === String(moved.json().id))!.supportingInfo).toEqual([{ reference: `CareTeam/${team2}`, display: expect.any(String) }, { reference: `Contract/${m.id}` }].map((x) => expect.objectContaining({ reference: x.reference })));
  });
  test('scoped like every record and audited; not writable', async () => {
    const other = await signed();
    expect((await get(`${F}/Contract/${other.id}`, doctor2)).statusCode).toBe(403);
    expect(await search('Contract', `patient=Patient/${other.resident.id}`, doctor2)).toEqual([]);
    expect((await get(`${F}/Contract/${other.id}`, doctor1)).statusCode).toBe(200);
    const events = (await get(`/api/v1/audit?residentId=${other.resident.id}&pageSize=100`)).json().items.filter((e: Json) => e.resourceType === 'Contract');
    expect(events.map((e: Json) => [e.username, e.action, e.outcome, e.resourceId])).toEqual(expect.arrayContaining([
      ['doctor2', 'read', 'denied', String(other.id)], ['doctor1', 'read', 'success', String(other.id)],
    ]));
    const r = await s.app.inject({ method: 'POST', url: `${F}/Contract`, headers: { cookie: admin, 'content-type': 'application/fhir+json' }, payload: JSON.stringify({ resourceType: 'Contract', status: 'executed' }) });
    expect(r.statusCode).toBe(405);
  });
});

describe('CarePlan', () => {
  let residentId: number;
  let enrolment: Json;
  test('an enrolment is an active plan: the programme, the diagnosis, the team, the open follow-up task and its due date', async () => {
    const c = await signed();
    residentId = c.resident.id;
    const e = await post('/api/v1/chronic/enrolments', { residentId, code: 'I10' });
    expect(e.statusCode, e.body).toBe(201);
    enrolment = e.json().enrolments[0];
    const [plan] = await search('CarePlan', `patient=Patient/${residentId}&status=active`);
    expect(plan).toMatchObject({
      resourceType: 'CarePlan', id: String(enrolment.id), status: 'active', intent: 'plan', title: '高血压患者健康管理',
      category: [{ coding: [{ system: 'https://caregrid.dev/fhir/CodeSystem/chronic-programme', code: 'hypertension' }] }],
      subject: { reference: `Patient/${residentId}` }, careTeam: [{ reference: `CareTeam/${team1}` }], author: { reference: `CareTeam/${team1}` },
      addresses: [{ reference: `Condition/${e.json().conditionId}` }], supportingInfo: [{ reference: `EpisodeOfCare/${enrolment.id}` }],
    });
    expect(plan.activity).toEqual([
      { reference: expect.objectContaining({ reference: `Task/${enrolment.nextTaskId}` }) },
      { detail: expect.objectContaining({ kind: 'Task', status: 'scheduled', code: { coding: [expect.objectContaining({ code: 'chronic-enrolment' })] }, scheduledTiming: { event: [expect.any(String)], repeat: { frequency: 4, period: 1, periodUnit: 'a' } } }) },
    ]);
    expect(new Date(plan.activity[1].detail.scheduledTiming.event[0]).toISOString()).toBe(enrolment.nextDueAt);
    expect(r4Problems(plan)).toEqual([]);
    expect((await get(`${F}/CarePlan/${enrolment.id}`, doctor1)).json()).toEqual(plan);
    expect(await search('CarePlan', `patient=Patient/${residentId}&category=diabetes`)).toEqual([]);
  });
  test('a follow-up moves the plan’s activity to the next task and date', async () => {
    const f = await post('/api/v1/chronic/follow-ups', { enrolmentId: enrolment.id, mode: 'clinic', sbp: 150, dbp: 92 });
    expect(f.statusCode, f.body).toBe(201);
    const plan = (await get(`${F}/CarePlan/${enrolment.id}`)).json();
    expect(plan.activity[0].reference.reference).toBe(`Task/${f.json().nextTaskId}`);
    expect(plan.activity[1].detail.code.coding[0].code).toBe('chronic-follow-up');
    expect(new Date(plan.activity[1].detail.scheduledTiming.event[0]).toISOString()).toBe(f.json().nextDueAt);
    expect((await search('CarePlan', `patient=Patient/${residentId}&activity-date=ge${f.json().nextDueAt.slice(0, 10)}`)).map((p) => p.id)).toEqual([String(enrolment.id)]);
  });
  test('an ended enrolment is a completed plan with nothing scheduled', async () => {
    const r = await post(`/api/v1/chronic/enrolments/${enrolment.id}/end`, { status: 'finished', reason: '迁出' });
    expect(r.statusCode, r.body).toBe(200);
    expect(await search('CarePlan', `patient=Patient/${residentId}&status=active`)).toEqual([]);
    const [plan] = await search('CarePlan', `patient=Patient/${residentId}&status=completed`);
    expect(plan).toMatchObject({ status: 'completed', period: { end: expect.any(String) } });
    expect(plan.activity).toBeUndefined();
    expect(r4Problems(plan)).toEqual([]);
  });
  test('scoped and audited; $everything includes plans and contracts', async () => {
    expect((await get(`${F}/CarePlan/${enrolment.id}`, doctor2)).statusCode).toBe(403);
    expect(await search('CarePlan', `patient=Patient/${residentId}`, doctor2)).toEqual([]);
    const events = (await get(`/api/v1/audit?residentId=${residentId}&pageSize=100`)).json().items.filter((e: Json) => e.resourceType === 'CarePlan');
    expect(events.map((e: Json) => [e.username, e.outcome])).toEqual(expect.arrayContaining([['doctor1', 'success'], ['doctor2', 'denied']]));
    const types = (await get(`${F}/Patient/${residentId}/$everything`, doctor1)).json().entry.map((e: Json) => e.resource.resourceType);
    expect(types).toEqual(expect.arrayContaining(['CarePlan', 'Contract', 'EpisodeOfCare']));
  });
});

describe('the CapabilityStatement', () => {
  test('Contract and CarePlan: read and search only, with their parameters', async () => {
    const cs = (await get(`${F}/metadata`)).json();
    for (const [type, params] of [['Contract', ['patient', 'subject', 'status', 'authority', 'issued']], ['CarePlan', ['patient', 'subject', 'status', 'category', 'condition', 'date', 'activity-date']]] as const) {
      const r = cs.rest[0].resource.find((x: Json) => x.type === type);
      expect(r.interaction.map((i: Json) => i.code)).toEqual(['read', 'vread', 'search-type', 'history-instance']);
      expect(r.searchParam.map((p: Json) => p.name)).toEqual(expect.arrayContaining([...params]));
    }
  });
});
