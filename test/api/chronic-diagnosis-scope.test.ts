// A hospital records a hypertension diagnosis for residents it treats, through the API (POST /chronic/enrolments) or
// FHIR (Condition), under one rule: the hospital reaches a resident through a care relationship (a referral, an
// admission, a consultation), and registering its patient — POST /residents or FHIR Patient, matched by identity
// number — is such a consultation. Neither path reaches a resident the hospital never saw.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

type Json = Record<string, any>;
let s: TestServer;
let admin: string, doctor1: string, hospital: string;
let hospitalId: number, team1: number;
let strangers: number[];
let referred: number;
const db = () => s.started.ctx.db;
const ICD10 = 'http://hl7.org/fhir/sid/icd-10';
const ID_CARD = 'urn:oid:1.2.156.112604.1.1.1'; // placeholder, replaced by the server's system in beforeAll
const post = (url: string, payload: unknown, cookie: string, headers: Json = {}) => s.app.inject({ method: 'POST', url, headers: { cookie, ...headers }, payload: payload as any });
const fhir = (type: string, body: Json, cookie = hospital) => post(`/fhir/R4/${type}`, body, cookie, { 'content-type': 'application/fhir+json' });
const condition = (residentId: number) => ({
  resourceType: 'Condition', subject: { reference: `Patient/${residentId}` }, code: { coding: [{ system: ICD10, code: 'I10' }] },
  clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
  verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' }] },
});
let idSystem = ID_CARD;

async function contracted(residentId: number) {
  const c = await post('/api/v1/contracts', { residentId, teamId: team1, packages: ['basic', 'chronic'], consent: { method: 'written', signedBy: 'self' } }, doctor1);
  expect(c.statusCode, c.body).toBe(201);
}

/** What the hospital's registration desk sends: the identity number the patient shows, with name, sex and birth date. */
async function person(residentId: number): Promise<{ idNumber: string; name: string; sex: string; birthDate: string }> {
  const id = await post(`/api/v1/residents/${residentId}/reveal-id`, { purpose: '测试：医院登记就诊患者' }, admin);
  expect(id.statusCode, id.body).toBe(200);
  const r = (await s.app.inject({ url: `/api/v1/residents/${residentId}`, headers: { cookie: admin } })).json();
  return { idNumber: id.json().idNumber, name: r.name, sex: r.sex, birthDate: r.birthDate };
}

beforeAll(async () => {
  s = await startTestServer({ listen: false });
  [admin, doctor1, hospital] = await Promise.all(['admin', 'doctor1', 'hospital.admin'].map((u) => s.login(u)));
  team1 = Number((await db().query("SELECT team_id FROM app_user WHERE username = 'doctor1'")).rows[0].team_id);
  hospitalId = Number((await db().query("SELECT institution_id FROM app_user WHERE username = 'hospital.admin'")).rows[0].institution_id);
  const { rows } = await db().query(
    `SELECT r.id, EXISTS (SELECT 1 FROM care_relationship cr WHERE cr.resident_id = r.id AND cr.institution_id = $2) AS treated
       FROM resident r JOIN team_grid tg ON tg.grid_id = r.grid_id
      WHERE tg.team_id = $1 AND r.status = 'active' AND r.id_number_hash IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM contract c WHERE c.resident_id = r.id) ORDER BY r.id`,
    [team1, hospitalId],
  );
  referred = Number(rows.find((r) => r.treated)!.id);
  strangers = rows.filter((r) => !r.treated).slice(0, 3).map((r) => Number(r.id));
  expect(strangers).toHaveLength(3);
  for (const id of [referred, ...strangers]) await contracted(id);
  const meta = (await s.app.inject({ url: `/fhir/R4/Patient/${referred}`, headers: { cookie: admin } })).json();
  idSystem = meta.identifier.find((i: Json) => i.use === 'official').system;
});
afterAll(async () => s?.close());

describe('a hospital’s diagnosis: the API and FHIR apply the same access rule', () => {
  test('a contracted resident the hospital has a relationship with (a referral): both paths record and enrol', async () => {
    const api = await post('/api/v1/chronic/enrolments', { residentId: referred, code: 'I10' }, hospital);
    expect(api.statusCode, api.body).toBe(201);
    expect(api.json().enrolments).toMatchObject([{ programme: 'hypertension', status: 'active', institutionId: hospitalId, created: true }]);
    const viaFhir = await fhir('Condition', condition(referred));
    expect(viaFhir.statusCode, viaFhir.body).toBe(201);
  });

  test('a contracted resident the hospital never saw: refused on both paths, the same way', async () => {
    const [id] = strangers;
    const api = await post('/api/v1/chronic/enrolments', { residentId: id, code: 'I10' }, hospital);
    expect(api.statusCode).toBe(403);
    expect(api.json()).toMatchObject({ code: 'OUT_OF_SCOPE', field: 'residentId' });
    const viaFhir = await fhir('Condition', condition(id));
    expect(viaFhir.statusCode).toBe(403);
    expect(viaFhir.json().issue[0].details.coding[0].code).toBe('OUT_OF_SCOPE');
    expect((await db().query('SELECT count(*)::int AS n FROM chronic_enrolment WHERE resident_id = $1', [id])).rows[0].n).toBe(0);
  });

  test('registered as the hospital’s patient through the API (POST /residents, matched): the API records the diagnosis', async () => {
    const id = strangers[1];
    const reg = await post('/api/v1/residents', await person(id), hospital);
    expect(reg.statusCode, reg.body).toBe(200);
    expect(reg.json()).toEqual({ outcome: 'matched', residentId: id });
    const api = await post('/api/v1/chronic/enrolments', { residentId: id, code: 'I10' }, hospital);
    expect(api.statusCode, api.body).toBe(201);
    expect(api.json().enrolments).toMatchObject([{ programme: 'hypertension', created: true }]);
    // and FHIR too, for the same patient
    expect((await fhir('Condition', condition(id))).statusCode).toBe(201);
  });

  test('registered as the hospital’s patient through FHIR (Patient, matched): the API records the diagnosis as FHIR does', async () => {
    const id = strangers[2];
    const p = await person(id);
    const pat = await fhir('Patient', { resourceType: 'Patient', identifier: [{ system: idSystem, value: p.idNumber }], name: [{ text: p.name }], gender: p.sex, birthDate: p.birthDate });
    expect([200, 201], pat.body).toContain(pat.statusCode);
    expect(pat.json().id).toBe(String(id));
    const api = await post('/api/v1/chronic/enrolments', { residentId: id, code: 'E11.9' }, hospital);
    expect(api.statusCode, api.body).toBe(201);
    expect(api.json().enrolments).toMatchObject([{ programme: 'diabetes', created: true }]);
    const rel = await db().query("SELECT kind FROM care_relationship WHERE resident_id = $1 AND institution_id = $2", [id, hospitalId]);
    expect(rel.rows.map((r) => r.kind)).toEqual(['consultation']);
  });
});
