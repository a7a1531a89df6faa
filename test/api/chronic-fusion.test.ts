// Medicine–prevention fusion (医防融合) from every input path: a hypertension or type 2 diabetes diagnosis recorded
// through the API, FHIR (create, update, transaction Bundle), the bulk $import or a spreadsheet enrols the resident
// once (EpisodeOfCare) with a follow-up Task on the contracted team's worklist (or the centre's, as a contracting
// lead); danger-value readings create urgent Tasks; inpatient discharges create follow-up Tasks. Re-sending anything
// creates nothing twice.
import { stringify } from 'csv-stringify/sync';
import fhirPkg from 'fhir';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { COLUMNS, headerText } from '../../src/modules/imports/columns.ts';

const { Fhir, ParseConformance, Versions } = fhirPkg as any;
const validator = new Fhir(new ParseConformance(true, Versions.R4));
type Json = Record<string, any>;
/** R4 errors, and elements R4 does not define. */
const r4Problems = (r: Json) => validator.validate(r).messages.filter((m: Json) => m.severity === 'error' || (m.severity === 'warning' && /Unexpected property/.test(m.message)));
let s: TestServer;
let admin: string, doctor1: string, doctor2: string, centreAdmin: string;
let team1: number, team1Inst: number, hospital: number;
let grid1: number[];
let next = 0;
const F = '/fhir/R4';
const FHIR_JSON = { 'content-type': 'application/fhir+json' };
const db = () => s.started.ctx.db;
const get = (url: string, cookie = admin) => s.app.inject({ url, headers: { cookie } });
const post = (url: string, payload: unknown, cookie = admin, headers: Json = FHIR_JSON) => s.app.inject({ method: 'POST', url, headers: { cookie, ...headers }, payload: payload as any });
const put = (url: string, payload: unknown, cookie = admin) => s.app.inject({ method: 'PUT', url, headers: { cookie, ...FHIR_JSON }, payload: payload as any });
const ICD10 = 'http://hl7.org/fhir/sid/icd-10';
const nowIso = (days = 0) => new Date(Date.now() + days * 86_400_000).toISOString();

/** A resident of team 1's grids not used by another test yet. */
const fresh = () => grid1[next++];

function condition(patient: number, code: string, extra: Json = {}): Json {
  return {
    resourceType: 'Condition', code: { coding: [{ system: ICD10, code }] }, subject: { reference: `Patient/${patient}` },
    clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
    verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' }] }, recordedDate: nowIso(), ...extra,
  };
}
const q = (v: number) => ({ value: v, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' });
function bpPanel(patient: number, sbp: number, dbp: number, extra: Json = {}): Json {
  return {
    resourceType: 'Observation', status: 'final', category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }] }, subject: { reference: `Patient/${patient}` }, effectiveDateTime: nowIso(),
    component: [{ code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: q(sbp) }, { code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] }, valueQuantity: q(dbp) }],
    ...extra,
  };
}
function reading(patient: number, code: string, value: number, unit: string, extra: Json = {}): Json {
  return { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code }] }, subject: { reference: `Patient/${patient}` }, effectiveDateTime: nowIso(), valueQuantity: { value, unit }, ...extra };
}
function inpatient(patient: number, status: string, end: string | null, extra: Json = {}): Json {
  return {
    resourceType: 'Encounter', status, class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' }, subject: { reference: `Patient/${patient}` },
    serviceProvider: { reference: `Organization/${hospital}` }, period: { start: nowIso(-6), ...(end ? { end } : {}) }, ...extra,
  };
}

async function created(r: { statusCode: number; body: string }): Promise<Json> {
  expect([200, 201], r.body).toContain(r.statusCode);
  return JSON.parse(r.body);
}
async function episodes(patient: number, query = ''): Promise<Json[]> {
  const r = await get(`${F}/EpisodeOfCare?patient=Patient/${patient}${query}`);
  expect(r.statusCode, r.body).toBe(200);
  return (r.json().entry ?? []).map((e: Json) => e.resource);
}
async function tasks(patient: number, query = ''): Promise<Json[]> {
  const r = await get(`${F}/Task?patient=Patient/${patient}&_count=100${query}`);
  expect(r.statusCode, r.body).toBe(200);
  return (r.json().entry ?? []).map((e: Json) => e.resource);
}
const codeOf = (t: Json) => t.code?.coding?.[0]?.code;
const programmes = (eps: Json[]) => eps.map((e) => e.type[0].coding[0].code).sort();

async function signWithTeam1(residentId: number) {
  const r = await s.app.inject({ method: 'POST', url: '/api/v1/contracts', headers: { cookie: doctor1 }, payload: { residentId, teamId: team1, packages: ['basic', 'chronic'], consent: { method: 'written', signedBy: 'self' } } });
  expect(r.statusCode, r.body).toBe(201);
}

beforeAll(async () => {
  s = await startTestServer();
  [admin, doctor1, doctor2, centreAdmin] = await Promise.all(['admin', 'doctor1', 'doctor2', 'inst.admin'].map((u) => s.login(u)));
  const u = (await db().query("SELECT team_id, institution_id FROM app_user WHERE username = 'doctor1'")).rows[0];
  team1 = Number(u.team_id);
  team1Inst = Number(u.institution_id);
  hospital = Number((await db().query("SELECT institution_id FROM app_user WHERE username = 'hospital.admin'")).rows[0].institution_id);
  const { rows } = await db().query("SELECT r.id FROM resident r JOIN team_grid tg ON tg.grid_id = r.grid_id WHERE tg.team_id = $1 AND r.status = 'active' ORDER BY r.id", [team1]);
  grid1 = rows.map((r) => Number(r.id));
});
afterAll(async () => s?.close());

describe('FHIR Condition: a diagnosis enrols once and puts the first follow-up on the contracted team’s worklist', () => {
  let pid: number;
  test('a hypertension diagnosis (I10) enrols a contracted resident', async () => {
    pid = fresh();
    await signWithTeam1(pid);
    expect(await episodes(pid)).toEqual([]);
    const c = await created(await post(`${F}/Condition`, condition(pid, 'I10', { identifier: [{ system: 'urn:example:his', value: 'DX-1' }] })));
    const eps = await episodes(pid, '&status=active');
    expect(eps).toHaveLength(1);
    expect(eps[0]).toMatchObject({
      resourceType: 'EpisodeOfCare', status: 'active', type: [{ coding: [{ system: 'https://caregrid.dev/fhir/CodeSystem/chronic-programme', code: 'hypertension' }] }],
      diagnosis: [{ condition: { reference: `Condition/${c.id}` } }], patient: { reference: `Patient/${pid}` }, team: [{ reference: `CareTeam/${team1}` }],
    });
    const open = await tasks(pid, '&status=requested');
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({
      status: 'requested', intent: 'order', priority: 'routine', focus: { reference: `EpisodeOfCare/${eps[0].id}` }, owner: { reference: `CareTeam/${team1}` },
      reasonCode: { coding: [{ code: 'hypertension', version: '1' }] },
    });
    expect(codeOf(open[0])).toBe('chronic-enrolment');
    expect(r4Problems(open[0])).toEqual([]);
    expect(open[0].extension).toBeUndefined();
    const due = new Date(open[0].executionPeriod.end).getTime() - Date.now();
    expect(Math.round(due / 86_400_000)).toBe(14); // the rules' first follow-up
  });
  test('the same diagnosis again, and another hypertension code, create nothing more', async () => {
    await created(await post(`${F}/Condition`, condition(pid, 'I10', { identifier: [{ system: 'urn:example:his', value: 'DX-1' }] })));
    await created(await post(`${F}/Condition`, condition(pid, 'I11.9')));
    expect(await episodes(pid)).toHaveLength(1);
    expect(await tasks(pid)).toHaveLength(1);
  });
  test('an update that turns a diagnosis into type 2 diabetes (E11) enrols in that programme', async () => {
    const c = await created(await post(`${F}/Condition`, condition(pid, 'J45.9')));
    expect(programmes(await episodes(pid))).toEqual(['hypertension']);
    const r = await put(`${F}/Condition/${c.id}`, { ...condition(pid, 'E11.900'), id: c.id });
    expect(r.statusCode, r.body).toBe(200);
    expect(programmes(await episodes(pid))).toEqual(['diabetes', 'hypertension']);
    expect((await tasks(pid, '&status=requested')).filter((t) => codeOf(t) === 'chronic-enrolment')).toHaveLength(2);
  });
  test('diagnoses that do not enrol: refuted, provisional, resolved, another code system, another disease', async () => {
    const other = fresh();
    const statuses = 'http://terminology.hl7.org/CodeSystem/condition-ver-status';
    await created(await post(`${F}/Condition`, condition(other, 'I10', { verificationStatus: { coding: [{ system: statuses, code: 'refuted' }] } })));
    await created(await post(`${F}/Condition`, condition(other, 'E11', { verificationStatus: { coding: [{ system: statuses, code: 'provisional' }] } })));
    await created(await post(`${F}/Condition`, condition(other, 'I10', { clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'resolved' }] } })));
    await created(await post(`${F}/Condition`, { ...condition(other, 'I10'), code: { coding: [{ system: 'urn:example:local-codes', code: 'I10' }] } }));
    await created(await post(`${F}/Condition`, condition(other, 'E10.9'))); // type 1 diabetes
    expect(await episodes(other)).toEqual([]);
    expect(await tasks(other)).toEqual([]);
  });
  test('the Chinese national clinical edition’s codes enrol too', async () => {
    const other = fresh();
    await created(await post(`${F}/Condition`, { ...condition(other, 'I10'), code: { coding: [{ system: 'https://caregrid.dev/fhir/CodeSystem/icd-10-cn', code: 'I10.x00x002' }] } }));
    expect(programmes(await episodes(other))).toEqual(['hypertension']);
  });
  test('the owner team’s member completes the task over FHIR', async () => {
    const [t] = await tasks(pid, '&code=chronic-enrolment&status=requested');
    const r = await put(`${F}/Task/${t.id}`, { ...t, status: 'completed' }, doctor1);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json().status).toBe('completed');
  });
});

describe('an uncontracted resident’s work goes to the community health centre as a contracting lead', () => {
  test('a transaction Bundle’s diagnosis: the centre owns the task, flagged as a lead, and team 1 sees it', async () => {
    const pid = fresh();
    const bundle = { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'POST', url: 'Condition' }, resource: condition(pid, 'E11.9') }] };
    const r = await post(F, bundle);
    expect(r.statusCode, r.body).toBe(200);
    const [t] = await tasks(pid);
    const chc = (await db().query("SELECT i.id FROM resident r JOIN institution i ON i.region_id = r.street_id AND i.type IN ('community_health_centre', 'township_health_centre') WHERE r.id = $1 ORDER BY i.id LIMIT 1", [pid])).rows[0].id;
    expect(r4Problems(t)).toEqual([]);
    expect(t).toMatchObject({ owner: { reference: `Organization/${chc}` }, extension: [{ url: 'https://caregrid.dev/fhir/StructureDefinition/contracting-lead', valueBoolean: true }] });
    const work = (await get('/api/v1/worklist?kind=enrolment&pageSize=200', doctor1)).json();
    expect(work.items.find((i: Json) => i.resident.id === pid)).toMatchObject({ kind: 'enrolment', contractingLead: true, programmes: ['diabetes'], taskId: Number(t.id) });
    const other = (await get('/api/v1/worklist?kind=enrolment&pageSize=200', doctor2)).json();
    expect(other.items.some((i: Json) => i.resident.id === pid)).toBe(false);
  });
});

describe('the API: a family doctor records a diagnosis', () => {
  test('201 with the new enrolment, then 200 with the same one', async () => {
    const pid = fresh();
    const a = await s.app.inject({ method: 'POST', url: '/api/v1/chronic/enrolments', headers: { cookie: doctor1 }, payload: { residentId: pid, code: 'I10', display: '原发性高血压' } });
    expect(a.statusCode, a.body).toBe(201);
    expect(a.json().enrolments).toEqual([expect.objectContaining({ residentId: pid, programme: 'hypertension', status: 'active', source: 'diagnosis', created: true, institutionId: team1Inst })]);
    const b = await s.app.inject({ method: 'POST', url: '/api/v1/chronic/enrolments', headers: { cookie: doctor1 }, payload: { residentId: pid, code: 'I10' } });
    expect(b.statusCode, b.body).toBe(200);
    expect(b.json().enrolments).toEqual([expect.objectContaining({ id: a.json().enrolments[0].id, created: false })]);
    expect(await episodes(pid)).toHaveLength(1);
    const list = await get(`/api/v1/chronic/enrolments?residentId=${pid}`, doctor1);
    expect(list.json().items).toHaveLength(1);
  });
  test('a code outside the programmes, and a resident outside the caller’s scope, are refused', async () => {
    const bad = await s.app.inject({ method: 'POST', url: '/api/v1/chronic/enrolments?lang=en', headers: { cookie: doctor1 }, payload: { residentId: grid1[0], code: 'J45' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({ code: 'VALIDATION_FAILED', message: 'Invalid input: J45 belongs to no chronic-disease programme', field: 'code' });
    const scope = await s.app.inject({ method: 'POST', url: '/api/v1/chronic/enrolments', headers: { cookie: doctor2 }, payload: { residentId: grid1[0], code: 'I10' } });
    expect(scope.statusCode).toBe(403);
    expect(scope.json().field).toBe('residentId');
  });
});

describe('danger values from any institution create urgent tasks', () => {
  test('a blood-pressure panel at 186/98 at a hospital: one urgent task, owned by the contracted team; re-sent, still one', async () => {
    const pid = fresh();
    await signWithTeam1(pid);
    const obs = bpPanel(pid, 186, 98, { identifier: [{ system: 'urn:example:hospital:vitals', value: 'V-1' }], performer: [{ reference: `Organization/${hospital}` }] });
    const o = await created(await post(`${F}/Observation`, obs));
    const urgent = (await tasks(pid)).filter((t) => t.priority === 'urgent');
    expect(urgent).toHaveLength(1);
    expect(urgent[0]).toMatchObject({ status: 'requested', focus: { reference: `Observation/${o.id}` }, owner: { reference: `CareTeam/${team1}` }, requester: { reference: `Organization/${hospital}` } });
    expect(codeOf(urgent[0])).toBe('chronic-danger');
    expect(urgent[0].description).toContain('186');
    await created(await post(`${F}/Observation`, obs));
    expect((await tasks(pid)).filter((t) => t.priority === 'urgent')).toHaveLength(1);
    const work = (await get('/api/v1/worklist?priority=urgent&pageSize=200', doctor1)).json();
    expect(work.items.find((i: Json) => i.resident.id === pid)).toMatchObject({
      kind: 'danger', priority: 'urgent', source: { institutionId: hospital }, lastReadings: { sbp: { value: 186, institutionId: hospital }, dbp: { value: 98 } },
    });
  });
  test.each([
    ['a panel just below both thresholds (179/109): no urgent task', (p: number) => bpPanel(p, 179, 109), false],
    ['a systolic reading exactly at 180: an urgent task', (p: number) => reading(p, '8480-6', 180, 'mmHg'), true],
    ['a diastolic reading exactly at 110: an urgent task', (p: number) => reading(p, '8462-4', 110, 'mmHg'), true],
    ['a fasting glucose exactly at 16.7 mmol/L: an urgent task', (p: number) => reading(p, '14771-0', 16.7, 'mmol/L'), true],
    ['a fasting glucose of 16.6 mmol/L: no urgent task', (p: number) => reading(p, '14771-0', 16.6, 'mmol/L'), false],
    ['a fasting glucose of 301 mg/dL (16.7 mmol/L): an urgent task', (p: number) => reading(p, '1558-6', 301, 'mg/dL'), true],
    ['a glucose exactly at 3.9 mmol/L: an urgent task', (p: number) => reading(p, '2345-7', 3.9, 'mmol/L'), true],
    ['a glucose of 4.0 mmol/L: no urgent task', (p: number) => reading(p, '2345-7', 4.0, 'mmol/L'), false],
    ['a heart rate of 120 in a resident without diabetes: no urgent task', (p: number) => reading(p, '8867-4', 120, '/min'), false],
    ['a danger value measured two years ago (a historical load): no urgent task', (p: number) => bpPanel(p, 200, 120, { effectiveDateTime: nowIso(-730) }), false],
    ['a danger value entered in error: no urgent task', (p: number) => bpPanel(p, 200, 120, { status: 'entered-in-error' }), false],
  ])('%s', async (_name, make, expected) => {
    const pid = fresh();
    await created(await post(`${F}/Observation`, make(pid)));
    expect((await tasks(pid)).filter((t) => t.priority === 'urgent')).toHaveLength(expected ? 1 : 0);
  });
  test('a heart rate over 100 is a danger for an enrolled diabetic', async () => {
    const pid = fresh();
    await created(await post(`${F}/Condition`, condition(pid, 'E11.9')));
    await created(await post(`${F}/Observation`, reading(pid, '8867-4', 101, '/min')));
    expect((await tasks(pid)).filter((t) => t.priority === 'urgent')).toHaveLength(1);
  });
});

describe('discharges create a follow-up task for the community team', () => {
  test('an inpatient encounter finished yesterday: a task due 7 days after discharge; an update that changes nothing adds none', async () => {
    const pid = fresh();
    await signWithTeam1(pid);
    const end = nowIso(-1);
    const e = await created(await post(`${F}/Encounter`, inpatient(pid, 'finished', end, { identifier: [{ system: 'urn:example:his:adm', value: 'ADM-1' }] })));
    const t = (await tasks(pid)).filter((x) => codeOf(x) === 'discharge-follow-up');
    expect(t).toHaveLength(1);
    expect(t[0]).toMatchObject({ focus: { reference: `Encounter/${e.id}` }, owner: { reference: `CareTeam/${team1}` }, requester: { reference: `Organization/${hospital}` } });
    expect(new Date(t[0].executionPeriod.end).getTime() - new Date(end).getTime()).toBe(7 * 86_400_000);
    await created(await post(`${F}/Encounter`, inpatient(pid, 'finished', end, { identifier: [{ system: 'urn:example:his:adm', value: 'ADM-1' }] })));
    expect((await tasks(pid)).filter((x) => codeOf(x) === 'discharge-follow-up')).toHaveLength(1);
    const work = (await get('/api/v1/worklist?kind=discharge&pageSize=200', doctor1)).json();
    expect(work.items.map((i: Json) => i.resident.id)).toContain(pid);
  });
  test('still in hospital: no task until the encounter is updated to finished', async () => {
    const pid = fresh();
    const e = await created(await post(`${F}/Encounter`, inpatient(pid, 'in-progress', null)));
    expect(await tasks(pid)).toEqual([]);
    const r = await put(`${F}/Encounter/${e.id}`, { ...inpatient(pid, 'finished', nowIso()), id: e.id });
    expect(r.statusCode, r.body).toBe(200);
    expect((await tasks(pid)).map(codeOf)).toEqual(['discharge-follow-up']);
  });
  test('an outpatient visit, or a discharge 60 days ago, creates none', async () => {
    const pid = fresh();
    await created(await post(`${F}/Encounter`, { ...inpatient(pid, 'finished', nowIso()), class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' } }));
    await created(await post(`${F}/Encounter`, { ...inpatient(pid, 'finished', nowIso(-60)), period: { start: nowIso(-65), end: nowIso(-60) } }));
    expect(await tasks(pid)).toEqual([]);
  });
});

describe('bulk $import: a batch of diagnoses, readings and discharges, idempotent when re-imported', () => {
  test('enrolments and tasks are created once per resident and programme', async () => {
    const [a, b, c] = [fresh(), fresh(), fresh()];
    await created(await post(`${F}/Condition`, condition(c, 'I10'))); // already enrolled before the import
    const lines = [
      { ...condition(a, 'I10'), id: 'bulk-dx-1' },
      { ...condition(a, 'I13.0'), id: 'bulk-dx-2' },
      { ...condition(b, 'E11.9'), id: 'bulk-dx-3' },
      { ...condition(b, 'I10'), id: 'bulk-dx-4' },
      { ...condition(c, 'I10'), id: 'bulk-dx-5' },
      { ...reading(a, '14771-0', 17.2, 'mmol/L'), id: 'bulk-glu-1' },
      { ...inpatient(b, 'finished', nowIso(-2)), id: 'bulk-adm-1' },
    ];
    const body = lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
    const run = () => s.app.inject({ method: 'POST', url: `${F}/$import`, headers: { cookie: admin, 'content-type': 'application/fhir+ndjson' }, payload: body });
    const first = await run();
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toMatchObject({ failed: 0, created: 7 });
    expect(programmes(await episodes(a))).toEqual(['hypertension']);
    expect(programmes(await episodes(b))).toEqual(['diabetes', 'hypertension']);
    expect(programmes(await episodes(c))).toEqual(['hypertension']);
    const counts = async () => Promise.all([a, b, c].map(async (p) => (await tasks(p)).map(codeOf).sort()));
    const before = await counts();
    expect(before).toEqual([['chronic-danger', 'chronic-enrolment'], ['chronic-enrolment', 'chronic-enrolment', 'discharge-follow-up'], ['chronic-enrolment']]);
    const again = await run();
    expect(again.json()).toMatchObject({ failed: 0, created: 0, unchanged: 7 });
    expect(await counts()).toEqual(before);
    expect(await episodes(b)).toHaveLength(2);
  });
});

describe('spreadsheet import: diagnoses and vital signs of a visit', () => {
  test('an outpatient row with I10;E11.9 and a systolic 182 enrols in both and raises an urgent task; uploaded again, nothing new', async () => {
    const pid = fresh();
    const idNumber = (await s.app.inject({ method: 'POST', url: `/api/v1/residents/${pid}/reveal-id`, headers: { cookie: admin }, payload: { purpose: 'test: spreadsheet import' } })).json().idNumber;
    expect(idNumber).toBeTruthy();
    const cells: Record<string, string> = { sourceId: 'SHEET-1', idNumber, class: '门诊', startAt: new Date(Date.now() + 8 * 3600_000 - 3600_000).toISOString().slice(0, 16).replace('T', ' '), diagnosisCodes: 'I10;E11.9', diagnosisNames: '原发性高血压;2型糖尿病', sbp: '182', dbp: '96' };
    const file = Buffer.from(stringify([COLUMNS.encounters.map(headerText), COLUMNS.encounters.map((c) => cells[c.key] ?? '')]), 'utf8');
    const upload = () => s.app.inject({ method: 'POST', url: '/api/v1/imports/encounters', headers: { cookie: centreAdmin, 'content-type': 'text/csv' }, payload: file });
    const r = await upload();
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ failed: 0, created: 1 });
    expect(programmes(await episodes(pid))).toEqual(['diabetes', 'hypertension']);
    const codes = async () => (await tasks(pid)).map((t) => `${codeOf(t)}:${t.priority}`).sort();
    expect(await codes()).toEqual(['chronic-danger:urgent', 'chronic-enrolment:routine', 'chronic-enrolment:routine']);
    const again = await upload();
    expect(again.json()).toMatchObject({ failed: 0, created: 0 });
    expect(await codes()).toEqual(['chronic-danger:urgent', 'chronic-enrolment:routine', 'chronic-enrolment:routine']);
    expect(await episodes(pid)).toHaveLength(2);
  });
});

describe('EpisodeOfCare on the FHIR facade', () => {
  test('read, search by type and status, history; scoped like every record', async () => {
    const pid = fresh();
    await created(await post(`${F}/Condition`, condition(pid, 'I10')));
    const [ep] = await episodes(pid);
    const read = await get(`${F}/EpisodeOfCare/${ep.id}`);
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual(ep);
    expect(r4Problems(ep)).toEqual([]);
    const byType = await get(`${F}/EpisodeOfCare?patient=Patient/${pid}&type=https://caregrid.dev/fhir/CodeSystem/chronic-programme|hypertension&status=active`);
    expect(byType.json().total).toBe(1);
    expect((await get(`${F}/EpisodeOfCare?patient=Patient/${pid}&type=diabetes`)).json().total).toBe(0);
    expect((await get(`${F}/EpisodeOfCare/${ep.id}/_history`)).json().total).toBe(1);
    expect((await get(`${F}/EpisodeOfCare/${ep.id}`, doctor2)).statusCode).toBe(403);
    expect((await get(`${F}/EpisodeOfCare?patient=Patient/${pid}`, doctor2)).json().total).toBe(0);
    expect((await get(`${F}/EpisodeOfCare/${ep.id}`, doctor1)).statusCode).toBe(200); // a resident of doctor1's grids
    const ever = (await get(`${F}/Patient/${pid}/$everything`)).json();
    expect(ever.entry.map((e: Json) => e.resource.resourceType)).toContain('EpisodeOfCare');
  });
  test('the CapabilityStatement says read and search, and writing one is refused', async () => {
    const cs = (await get(`${F}/metadata`)).json();
    const eoc = cs.rest[0].resource.find((r: Json) => r.type === 'EpisodeOfCare');
    expect(eoc.interaction.map((i: Json) => i.code)).toEqual(['read', 'vread', 'search-type', 'history-instance']);
    expect(eoc.searchParam.map((p: Json) => p.name)).toEqual(expect.arrayContaining(['patient', 'status', 'type']));
    const r = await post(`${F}/EpisodeOfCare`, { resourceType: 'EpisodeOfCare', status: 'active', patient: { reference: `Patient/${grid1[0]}` } });
    expect(r.statusCode).toBe(405);
  });
});
