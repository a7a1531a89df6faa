// Refused attempts on personal data are audited exactly once, including those refused inside a database transaction
// (the error that refuses rolls that transaction back): chronic-disease management, contracts, referrals, FHIR reads,
// updates and Bundles. The district administrator finds each one in the audit log (GET /api/v1/audit).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { chronicHelper, type ChronicHelper } from '../helpers/chronic.ts';

type Json = Record<string, any>;
let s: TestServer;
let admin: string, doctor1: string, doctor2: string;
let team1: ChronicHelper & { teamId: number }, team2: ChronicHelper & { teamId: number };
const get = (url: string, cookie: string) => s.app.inject({ url, headers: { cookie } });
const post = (url: string, payload: unknown, cookie: string) => s.app.inject({ method: 'POST', url, headers: { cookie }, payload: payload as any });
const fhir = (method: string, url: string, cookie: string, body?: unknown) =>
  s.app.inject({ method: method as any, url: `/fhir/R4${url}`, headers: { cookie, 'content-type': 'application/fhir+json' }, payload: body === undefined ? undefined : JSON.stringify(body) });

/** The resident's audit events as the district administrator sees them. */
async function events(residentId: number, outcome?: 'success' | 'denied'): Promise<Json[]> {
  const r = await get(`/api/v1/audit?residentId=${residentId}&pageSize=200${outcome ? `&outcome=${outcome}` : ''}`, admin);
  expect(r.statusCode, r.body).toBe(200);
  return r.json().items;
}

/** Exactly one denied event for the resident, by `username`, with this action and resource type. */
async function expectOneRefusal(residentId: number, username: string, action: string, resourceType: string) {
  const denied = await events(residentId, 'denied');
  expect(denied.map((e) => ({ username: e.username, action: e.action, resourceType: e.resourceType, residentId: e.residentId, outcome: e.outcome }))).toEqual([
    { username, action, resourceType, residentId, outcome: 'denied' },
  ]);
}

function observation(subject: string, mark: string) {
  return {
    resourceType: 'Observation', status: 'final', identifier: [{ system: 'urn:test:refusal', value: mark }],
    code: { coding: [{ system: 'http://loinc.org', code: '8480-6', display: '收缩压' }] }, subject: { reference: subject },
    effectiveDateTime: '2026-10-02T09:00:00+08:00', valueQuantity: { value: 131, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' },
  };
}
/** A Bundle sent by doctor2. */
const bundle = (type: 'transaction' | 'batch', entry: Json[]) => fhir('POST', '', doctor2, { resourceType: 'Bundle', type, entry });
const observationsMarked = async (mark: string) => (await fhir('GET', `/Observation?identifier=urn:test:refusal|${mark}&_summary=count`, admin)).json().total as number;

beforeAll(async () => {
  s = await startTestServer({ listen: false });
  [admin, doctor1, doctor2] = await Promise.all(['admin', 'doctor1', 'doctor2'].map((u) => s.login(u)));
  team1 = await chronicHelper(s, doctor1, 'doctor1');
  team2 = await chronicHelper(s, doctor2, 'doctor2');
});
afterAll(async () => s?.close());

describe('chronic-disease management', () => {
  test('a team without a care relationship reading a resident’s enrolments: 403 and one denied read', async () => {
    const { residentId } = await team1.managed({ followUp: null });
    const r = await get(`/api/v1/chronic/enrolments?residentId=${residentId}`, doctor2);
    expect(r.statusCode, r.body).toBe(403);
    expect(r.json().code).toBe('OUT_OF_SCOPE');
    await expectOneRefusal(residentId, 'doctor2', 'read', 'EpisodeOfCare');
    // the owning team's read is unchanged: audited once as a success, in its own transaction
    const reads = async () => (await events(residentId, 'success')).filter((e) => e.resourceType === 'EpisodeOfCare' && e.action === 'read' && e.username === 'doctor1').length;
    const before = await reads();
    expect((await get(`/api/v1/chronic/enrolments?residentId=${residentId}`, doctor1)).statusCode).toBe(200);
    expect(await reads()).toBe(before + 1);
    expect(await events(residentId, 'denied')).toHaveLength(1);
  });

  test('a follow-up recorded on another team’s resident: 403, nothing written, one denied create', async () => {
    const { residentId, enrolmentId } = await team1.managed({ followUp: null });
    const r = await post('/api/v1/chronic/follow-ups', { enrolmentId, mode: 'clinic', sbp: 128, dbp: 78 }, doctor2);
    expect(r.statusCode, r.body).toBe(403);
    await expectOneRefusal(residentId, 'doctor2', 'create', 'ChronicFollowUp');
    const list = await get(`/api/v1/chronic/enrolments/${enrolmentId}/follow-ups`, doctor1);
    expect(list.json().items).toEqual([]);
    // reading that enrolment's follow-ups is refused and audited the same way
    expect((await get(`/api/v1/chronic/enrolments/${enrolmentId}/follow-ups`, doctor2)).statusCode).toBe(403);
    expect((await events(residentId, 'denied')).map((e) => [e.username, e.action, e.resourceType])).toEqual([['doctor2', 'read', 'ChronicFollowUp'], ['doctor2', 'create', 'ChronicFollowUp']]);
  });

  test('ending another team’s enrolment: 403 and one denied update', async () => {
    const { residentId, enrolmentId } = await team1.managed({ followUp: null });
    const r = await post(`/api/v1/chronic/enrolments/${enrolmentId}/end`, { status: 'finished', reason: 'moved away' }, doctor2);
    expect(r.statusCode, r.body).toBe(403);
    await expectOneRefusal(residentId, 'doctor2', 'update', 'EpisodeOfCare');
  });

  test('listing another team’s resident’s prescriptions: 403 and one denied list', async () => {
    const { residentId } = await team1.managed({ followUp: null });
    const r = await get(`/api/v1/chronic/prescriptions?residentId=${residentId}`, doctor2);
    expect(r.statusCode, r.body).toBe(403);
    await expectOneRefusal(residentId, 'doctor2', 'list', 'ChronicPrescription');
  });
});

describe('the master person index', () => {
  test('reading, revealing the identity number of and updating a resident outside scope: each a 403 audited once', async () => {
    const residentId = team1.nextResident();
    expect((await get(`/api/v1/residents/${residentId}`, doctor2)).statusCode).toBe(403);
    await expectOneRefusal(residentId, 'doctor2', 'read', 'Resident');

    const other = team1.nextResident();
    const reveal = await post(`/api/v1/residents/${other}/reveal-id`, { purpose: '核对身份' }, doctor2);
    expect(reveal.statusCode, reveal.body).toBe(403);
    expect(reveal.body).not.toMatch(/\d{17}[\dX]/); // no identity number in the refusal
    await expectOneRefusal(other, 'doctor2', 'reveal', 'Resident.identifier');
    expect((await events(other, 'denied'))[0].purpose).toBe('核对身份');

    const third = team1.nextResident();
    const { version } = (await get(`/api/v1/residents/${third}`, admin)).json();
    const patch = await s.app.inject({ method: 'PATCH', url: `/api/v1/residents/${third}`, headers: { cookie: doctor2 }, payload: { version, phone: '13900000001' } });
    expect(patch.statusCode, patch.body).toBe(403);
    await expectOneRefusal(third, 'doctor2', 'update', 'Resident');
  });
});

describe('contracts and referrals', () => {
  test('reading another team’s contract: 403 and one denied read', async () => {
    const { residentId } = await team1.managed({ followUp: null });
    const contracts = (await get(`/api/v1/contracts?residentId=${residentId}`, doctor1)).json().items;
    expect(contracts).toHaveLength(1);
    const r = await get(`/api/v1/contracts/${contracts[0].id}`, doctor2);
    expect(r.statusCode, r.body).toBe(403);
    await expectOneRefusal(residentId, 'doctor2', 'read', 'Contract');
  });

  test('cancelling another team’s contract: 403, still active, one denied update', async () => {
    const { residentId } = await team1.managed({ followUp: null });
    const [contract] = (await get(`/api/v1/contracts?residentId=${residentId}`, doctor1)).json().items;
    const r = await post(`/api/v1/contracts/${contract.id}/cancel`, { reason: '居民要求' }, doctor2);
    expect(r.statusCode, r.body).toBe(403);
    expect((await get(`/api/v1/contracts/${contract.id}`, doctor1)).json().status).toBe('active');
    await expectOneRefusal(residentId, 'doctor2', 'update', 'Contract');
  });

  test('a contract for a resident outside the team’s grids: 403, no contract, one denied create', async () => {
    const residentId = team1.nextResident();
    const r = await post('/api/v1/contracts', { residentId, teamId: team2.teamId, packages: ['basic'], consent: { method: 'written', signedBy: 'self' } }, doctor2);
    expect(r.statusCode, r.body).toBe(403);
    expect((await get(`/api/v1/contracts?residentId=${residentId}`, admin)).json().items).toEqual([]);
    await expectOneRefusal(residentId, 'doctor2', 'create', 'Contract');
  });

  test('referral targets for a resident outside scope: 403 and one denied attempt; a refused referral is audited once too', async () => {
    const residentId = team1.nextResident();
    const r = await get(`/api/v1/referral-targets?residentId=${residentId}`, doctor2);
    expect(r.statusCode, r.body).toBe(403);
    await expectOneRefusal(residentId, 'doctor2', 'create', 'Referral');

    const other = team1.nextResident();
    const { rows } = await s.started.ctx.db.query("SELECT institution_id FROM app_user WHERE username = 'referral1'");
    const referral = await post('/api/v1/referrals', { direction: 'up', residentId: other, targetInstitutionId: Number(rows[0].institution_id), reason: '血压控制不佳' }, doctor2);
    expect(referral.statusCode, referral.body).toBe(403);
    expect((await get(`/api/v1/referrals?residentId=${other}`, admin)).json().items).toEqual([]);
    await expectOneRefusal(other, 'doctor2', 'create', 'Referral');
  });

  test('another team’s referral is answered as unknown (404), and the attempts to read and act on it are audited once each', async () => {
    const residentId = team1.nextResident();
    const { rows } = await s.started.ctx.db.query("SELECT institution_id FROM app_user WHERE username = 'referral1'");
    const made = await post('/api/v1/referrals', { direction: 'up', residentId, targetInstitutionId: Number(rows[0].institution_id), reason: '血压控制不佳' }, doctor1);
    expect(made.statusCode, made.body).toBe(201);
    const id = made.json().id;
    expect((await get(`/api/v1/referrals/${id}`, doctor2)).statusCode).toBe(404);
    await expectOneRefusal(residentId, 'doctor2', 'read', 'Referral');
    const cancel = await post(`/api/v1/referrals/${id}/cancel`, { note: 'x' }, doctor2);
    expect(cancel.statusCode, cancel.body).toBe(404);
    expect((await events(residentId, 'denied')).map((e) => [e.username, e.action, e.resourceId])).toEqual([['doctor2', 'update', String(id)], ['doctor2', 'read', String(id)]]);
    expect((await get(`/api/v1/referrals/${id}`, doctor1)).json().state).toBe('requested');
  });
});

describe('FHIR', () => {
  test('reading a Patient outside scope: 403 OperationOutcome and one denied read', async () => {
    const residentId = team1.nextResident();
    const r = await fhir('GET', `/Patient/${residentId}`, doctor2);
    expect(r.statusCode, r.body).toBe(403);
    expect(r.json().issue[0].code).toBe('forbidden');
    await expectOneRefusal(residentId, 'doctor2', 'read', 'Patient');
  });

  test('updating a Patient outside scope: 403, unchanged, one denied update', async () => {
    const residentId = team1.nextResident();
    const before = (await fhir('GET', `/Patient/${residentId}`, admin)).json();
    const r = await fhir('PUT', `/Patient/${residentId}`, doctor2, { ...before, telecom: [{ system: 'phone', value: '13900000000' }] });
    expect(r.statusCode, r.body).toBe(403);
    expect((await fhir('GET', `/Patient/${residentId}`, admin)).json().meta.versionId).toBe(before.meta.versionId);
    await expectOneRefusal(residentId, 'doctor2', 'update', 'Patient');
  });

  test('a transaction Bundle with a refused read: 403, nothing of it kept, the refusal audited once', async () => {
    const mine = team2.nextResident();
    const theirs = team1.nextResident();
    const r = await bundle('transaction', [
      { resource: observation(`Patient/${mine}`, 'tx-read'), request: { method: 'POST', url: 'Observation' } },
      { request: { method: 'GET', url: `Patient/${theirs}` } },
    ]);
    expect(r.statusCode, r.body).toBe(403);
    expect(r.json().issue[0].expression).toEqual(['Bundle.entry[1]']);
    expect(await observationsMarked('tx-read')).toBe(0);
    expect(await events(mine)).toEqual([]); // the rolled-back write left no audit event behind
    await expectOneRefusal(theirs, 'doctor2', 'read', 'Patient');
  });

  test('a transaction Bundle writing for a Patient outside scope: 403, nothing kept, one denied create', async () => {
    const mine = team2.nextResident();
    const theirs = team1.nextResident();
    const r = await bundle('transaction', [
      { resource: observation(`Patient/${mine}`, 'tx-write-mine'), request: { method: 'POST', url: 'Observation' } },
      { resource: observation(`Patient/${theirs}`, 'tx-write-theirs'), request: { method: 'POST', url: 'Observation' } },
    ]);
    expect(r.statusCode, r.body).toBe(403);
    expect(await observationsMarked('tx-write-mine')).toBe(0);
    expect(await observationsMarked('tx-write-theirs')).toBe(0);
    expect(await events(mine)).toEqual([]);
    await expectOneRefusal(theirs, 'doctor2', 'create', 'Observation');
  });

  test('a batch Bundle: the refused entry is a 403 entry audited once, the other entry is kept', async () => {
    const mine = team2.nextResident();
    const theirs = team1.nextResident();
    const r = await bundle('batch', [
      { request: { method: 'GET', url: `Patient/${theirs}` } },
      { resource: observation(`Patient/${mine}`, 'batch-mine'), request: { method: 'POST', url: 'Observation' } },
    ]);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json().entry.map((e: Json) => e.response.status)).toEqual(['403', '201 Created']);
    await expectOneRefusal(theirs, 'doctor2', 'read', 'Patient');
    expect((await events(mine)).map((e) => [e.username, e.action, e.resourceType, e.outcome])).toEqual([['doctor2', 'create', 'Observation', 'success']]);
    expect(await observationsMarked('batch-mine')).toBe(1);
  });
});
