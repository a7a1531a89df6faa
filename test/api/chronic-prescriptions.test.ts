// Long and extended prescriptions through the HTTP API: eligibility rules as versioned data (each refusal names the
// rule broken), the drugs as MedicationRequests of the shared record, idempotency, scope and audit, cancellation;
// and home delivery of a prescription with its state machine and masked addresses.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { chronicHelper, type ChronicHelper } from '../helpers/chronic.ts';

type Json = Record<string, any>;
let s: TestServer;
let h: ChronicHelper & { teamId: number };
let admin: string, doctor1: string, doctor2: string, nurse1: string, centreAdmin: string, hospitalAdmin: string;
let hospitalId: number, outsiderId: number, specialistId: number, otherHospitalSpecialistId: number;
const db = () => s.started.ctx.db;
const DRUG = 'https://caregrid.dev/fhir/CodeSystem/drug';
const amlodipine = { name: '氨氯地平片', code: 'AMLO5', dosage: '5mg qd', quantity: 84, unit: '片' };

async function issue(body: Json, cookie = doctor1) {
  return h.post('/api/v1/chronic/prescriptions', { kind: 'long', programme: 'hypertension', weeks: 12, items: [amlodipine], ...body }, cookie);
}

beforeAll(async () => {
  s = await startTestServer();
  [admin, doctor1, doctor2, nurse1, centreAdmin, hospitalAdmin] = await Promise.all(['admin', 'doctor1', 'doctor2', 'nurse1', 'inst.admin', 'hospital.admin'].map((u) => s.login(u)));
  h = await chronicHelper(s, doctor1);
  // the hospital of hospital.admin leads the consortium of doctor1's centre (seed); the CDC shares no consortium with it
  const { rows } = await db().query(
    `SELECT hu.institution_id AS hospital, (SELECT id FROM institution WHERE type = 'cdc' ORDER BY id LIMIT 1) AS outsider,
            EXISTS (SELECT 1 FROM consortium_member a JOIN consortium_member b ON b.consortium_id = a.consortium_id WHERE a.institution_id = hu.institution_id AND b.institution_id = du.institution_id) AS shares,
            (SELECT id FROM practitioner WHERE institution_id = hu.institution_id AND profession = 'specialist' ORDER BY id LIMIT 1) AS specialist,
            (SELECT id FROM practitioner WHERE institution_id <> hu.institution_id AND profession = 'specialist' ORDER BY id LIMIT 1) AS other_specialist
       FROM app_user hu, app_user du WHERE hu.username = 'hospital.admin' AND du.username = 'doctor1'`,
  );
  expect(rows[0].shares).toBe(true);
  hospitalId = Number(rows[0].hospital);
  outsiderId = Number(rows[0].outsider);
  specialistId = Number(rows[0].specialist);
  otherHospitalSpecialistId = Number(rows[0].other_specialist);
});
afterAll(async () => s?.close());

describe('long prescriptions (长处方)', () => {
  test('a controlled contracted patient: 12 weeks by the team’s GP, the drugs in the shared record as MedicationRequests', async () => {
    const { residentId, enrolmentId } = await h.managed();
    const r = await issue({ residentId, sourceId: 'his-rx-001', note: '血压控制稳定' });
    expect(r.statusCode, r.body).toBe(201);
    const rx = r.json();
    expect(rx).toMatchObject({
      kind: 'long', programme: 'hypertension', weeks: 12, status: 'active', resident: { id: residentId }, team: { id: h.teamId }, enrolmentId, ruleVersion: 1, prescriber: null,
      items: [{ name: '氨氯地平片', system: DRUG, code: 'AMLO5', dosage: '5mg qd', status: 'active', quantity: { value: 84, unit: '片' } }],
    });
    expect(rx.checks.map((c: Json) => [c.rule, c.ok])).toEqual([
      ['max_weeks', true], ['active_contract', true], ['contracted_team_gp', true], ['enrolment', true], ['controlled_last_visit', true], ['last_visit_within_days', true],
    ]);
    // 12 weeks from today, inclusive
    expect((Date.parse(rx.validUntil) - Date.parse(rx.authoredAt.slice(0, 10))) / 86_400_000).toBe(83);
    const mr = (await h.get(`/fhir/R4/MedicationRequest/${rx.items[0].medicationRequestId}`)).json();
    expect(mr).toMatchObject({
      resourceType: 'MedicationRequest', status: 'active', intent: 'order', subject: { reference: `Patient/${residentId}` },
      groupIdentifier: { system: 'https://caregrid.dev/fhir/sid/chronic-prescription', value: String(rx.id) },
      category: [{ coding: [{ code: 'community' }] }, { coding: [{ system: 'https://caregrid.dev/fhir/CodeSystem/prescription-kind', code: 'long' }] }],
      courseOfTherapyType: { coding: [{ code: 'continuous' }] },
      medicationCodeableConcept: { coding: [{ system: DRUG, code: 'AMLO5' }] }, dosageInstruction: [{ text: '5mg qd' }], note: [{ text: '血压控制稳定' }],
      dispenseRequest: { expectedSupplyDuration: { value: 84, unit: 'd', code: 'd' }, validityPeriod: { end: rx.validUntil }, quantity: { value: 84 } },
    });
    // the same sender id again: the same prescription, no second copy of the drugs
    const again = await issue({ residentId, sourceId: 'his-rx-001' });
    expect(again.statusCode).toBe(200);
    expect(again.json().id).toBe(rx.id);
    const bundle = (await h.get(`/fhir/R4/MedicationRequest?patient=Patient/${residentId}`)).json();
    expect(bundle.total).toBe(1);
    // institutions find long prescriptions by category
    const kind = 'https://caregrid.dev/fhir/CodeSystem/prescription-kind';
    expect((await h.get(`/fhir/R4/MedicationRequest?patient=Patient/${residentId}&category=${encodeURIComponent(`${kind}|long`)}`)).json().total).toBe(1);
    expect((await h.get(`/fhir/R4/MedicationRequest?patient=Patient/${residentId}&category=extended`)).json().total).toBe(0);
    expect((await h.get(`/fhir/R4/MedicationRequest?patient=Patient/${residentId}&category=${encodeURIComponent('http://other|long')}`)).json().total).toBe(0);
  });

  test.each([
    ['13 weeks', { weeks: 13 }, 'max_weeks（处方 13 周，上限 12 周）', 'weeks'],
  ])('refused: %s', async (_name, body, rules, field) => {
    const { residentId } = await h.managed();
    const r = await issue({ residentId, ...body });
    expect(r.statusCode).toBe(422);
    expect(r.json()).toEqual({ code: 'PRESCRIPTION_REFUSED', message: `不符合长处方开具条件：${rules}`, field });
  });

  test('refused: the last follow-up uncontrolled (in English)', async () => {
    const { residentId } = await h.managed({ followUp: 'uncontrolled' });
    const r = await h.post('/api/v1/chronic/prescriptions?lang=en', { kind: 'long', residentId, programme: 'hypertension', weeks: 4, items: [amlodipine] });
    expect(r.statusCode).toBe(422);
    expect(r.json()).toEqual({ code: 'PRESCRIPTION_REFUSED', message: 'The long prescription cannot be issued: controlled_last_visit (the last follow-up was uncontrolled, not controlled)', field: 'programme' });
  });

  test('the last follow-up exactly 90 days ago is recent enough; 91 days is not', async () => {
    const ok = await h.managed({ daysAgo: 90 });
    expect((await issue({ residentId: ok.residentId })).statusCode).toBe(201);
    const late = await h.managed({ daysAgo: 91 });
    const r = await issue({ residentId: late.residentId });
    expect(r.statusCode).toBe(422);
    expect(r.json().message).toBe('不符合长处方开具条件：last_visit_within_days（末次随访距今 91 天，上限 90 天）');
  });

  test('refused: no contract; not enrolled in the programme named; issued by the team’s nurse', async () => {
    const uncontracted = await h.managed({ contract: false });
    const a = await issue({ residentId: uncontracted.residentId });
    expect(a.json()).toMatchObject({ code: 'PRESCRIPTION_REFUSED', field: 'residentId' });
    expect(a.json().message).toContain('active_contract（居民没有有效的家庭医生签约）；contracted_team_gp');
    const { residentId } = await h.managed();
    const b = await issue({ residentId, programme: 'diabetes' });
    expect(b.json().message).toBe('不符合长处方开具条件：enrolment（居民未纳入该慢病项目管理）；controlled_last_visit（尚无随访记录）；last_visit_within_days（尚无随访记录）');
    const c = await issue({ residentId }, nurse1);
    expect(c.json()).toEqual({ code: 'PRESCRIPTION_REFUSED', message: '不符合长处方开具条件：contracted_team_gp（开具人不是签约团队的全科医生）', field: 'residentId' });
  });

  test('another team’s doctor cannot reach the resident at all', async () => {
    const { residentId } = await h.managed();
    const r = await issue({ residentId }, doctor2);
    expect(r.statusCode).toBe(403);
    expect(r.json().code).toBe('OUT_OF_SCOPE');
  });

  test('the eligibility check says rule by rule what an issue would', async () => {
    const { residentId } = await h.managed({ followUp: null });
    const r = await h.post('/api/v1/chronic/prescriptions/eligibility', { kind: 'long', residentId, programme: 'hypertension', weeks: 12 });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ kind: 'long', eligible: false, ruleVersion: 1 });
    expect(r.json().checks.filter((c: Json) => !c.ok).map((c: Json) => c.rule)).toEqual(['controlled_last_visit', 'last_visit_within_days']);
    const bundle = (await h.get(`/fhir/R4/MedicationRequest?patient=Patient/${residentId}`)).json();
    expect(bundle.total).toBe(0);
  });

  test('the rules are versioned data: a district administrator’s 8-week limit refuses 12 weeks; earlier prescriptions keep version 1', async () => {
    const before = await h.withPrescription();
    const cur = (await h.get('/api/v1/chronic/prescription-rules', admin)).json().items.find((x: Json) => x.kind === 'long');
    expect(cur).toMatchObject({ version: 1, rules: { maxWeeks: 12, lastVisitWithinDays: 90 } });
    expect((await h.post('/api/v1/chronic/prescription-rules/long', {}, admin)).statusCode).toBe(404); // PUT only
    const put = (rules: Json, cookie = admin) => s.app.inject({ method: 'PUT', url: '/api/v1/chronic/prescription-rules/long', headers: { cookie }, payload: { rules, note: 'test' } });
    expect((await put({ ...cur.rules, maxWeeks: 8 }, doctor1)).statusCode).toBe(403);
    const bad = await put({ ...cur.rules, maxDays: 56 });
    expect(bad.statusCode).toBe(400);
    const v2 = await put({ ...cur.rules, maxWeeks: 8 });
    expect(v2.json()).toEqual({ kind: 'long', version: 2 });
    try {
      const { residentId } = await h.managed();
      const r = await issue({ residentId });
      expect(r.json().message).toBe('不符合长处方开具条件：max_weeks（处方 12 周，上限 8 周）');
      const ok = await issue({ residentId, weeks: 8 });
      expect(ok.json()).toMatchObject({ weeks: 8, ruleVersion: 2 });
      expect((await h.get(`/api/v1/chronic/prescriptions/${before.prescription.id}`)).json().ruleVersion).toBe(1);
    } finally {
      expect((await put(cur.rules)).json().version).toBe(3);
    }
    const history = (await h.get('/api/v1/chronic/prescription-rules?history=true', admin)).json().items.filter((x: Json) => x.kind === 'long');
    expect(history.map((x: Json) => [x.version, x.rules.maxWeeks])).toEqual([[3, 12], [2, 8], [1, 12]]);
  });
});

describe('extended prescriptions (延伸处方)', () => {
  const put = (institutionId: number, items: Json[], cookie = hospitalAdmin) =>
    s.app.inject({ method: 'PUT', url: `/api/v1/chronic/formulary/${institutionId}`, headers: { cookie }, payload: { items } });
  beforeAll(async () => {
    const r = await put(hospitalId, [{ code: 'VALS80', display: '缬沙坦胶囊', form: '胶囊 80mg' }, { code: 'METF05', display: '二甲双胍片', form: '片剂 0.5g' }, { code: 'OLD01', display: '停用药', active: false }]);
    expect(r.statusCode, r.body).toBe(200);
  });

  test('a hospital’s formulary is kept by its own administrator (or the district’s)', async () => {
    expect((await put(hospitalId, [{ code: 'X1', display: 'x' }], centreAdmin)).statusCode).toBe(403);
    const list = (await h.get(`/api/v1/chronic/formulary?institutionId=${hospitalId}`)).json().items;
    expect(list.map((i: Json) => [i.code, i.active])).toEqual([['METF05', true], ['OLD01', false], ['VALS80', true]]);
  });

  test('issued in the community from the consortium hospital’s formulary, filled by the hospital', async () => {
    const { residentId } = await h.managed();
    const r = await issue({ kind: 'extended', residentId, weeks: 8, prescriberInstitutionId: hospitalId, prescriberPractitionerId: specialistId, items: [{ name: '缬沙坦胶囊', code: 'VALS80', dosage: '80mg qd' }] });
    expect(r.statusCode, r.body).toBe(201);
    const rx = r.json();
    expect(rx).toMatchObject({ kind: 'extended', weeks: 8, prescriber: { institutionId: hospitalId, practitionerId: specialistId } });
    expect(rx.checks.slice(-2)).toMatchObject([{ rule: 'consortium_hospital', ok: true }, { rule: 'formulary', ok: true }]);
    const mr = (await h.get(`/fhir/R4/MedicationRequest/${rx.items[0].medicationRequestId}`)).json();
    expect(mr).toMatchObject({
      category: [{}, { coding: [{ code: 'extended' }] }], dispenseRequest: { performer: { reference: `Organization/${hospitalId}` }, expectedSupplyDuration: { value: 56 } },
      extension: [{ url: 'https://caregrid.dev/fhir/StructureDefinition/extended-prescriber', valueReference: { reference: `Practitioner/${specialistId}` } }],
    });
  });

  test('refused: a drug off the formulary (or withdrawn from it), a hospital outside the consortium', async () => {
    const { residentId } = await h.managed();
    const off = await issue({ kind: 'extended', residentId, prescriberInstitutionId: hospitalId, items: [{ name: '缬沙坦胶囊', code: 'VALS80' }, { name: '停用药', code: 'OLD01' }, { name: '自备药' }] });
    expect(off.json()).toEqual({ code: 'PRESCRIPTION_REFUSED', message: '不符合延伸处方开具条件：formulary（第 2、3 项药品不在开方医院药品目录内）', field: 'items[1].code' });
    const outside = await issue({ kind: 'extended', residentId, prescriberInstitutionId: outsiderId, items: [{ name: '缬沙坦胶囊', code: 'VALS80' }] });
    expect(outside.json().message).toBe('不符合延伸处方开具条件：consortium_hospital（开方医院与本机构不属于同一医联体）；formulary（第 1 项药品不在开方医院药品目录内）');
  });

  test('bad input: no hospital named, a prescriber of another hospital, a hospital on a long prescription', async () => {
    const { residentId } = await h.managed();
    expect((await issue({ kind: 'extended', residentId })).json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'prescriberInstitutionId' });
    const wrong = await issue({ kind: 'extended', residentId, prescriberInstitutionId: hospitalId, prescriberPractitionerId: otherHospitalSpecialistId, items: [{ name: '缬沙坦胶囊', code: 'VALS80' }] });
    expect(wrong.json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'prescriberPractitionerId' });
    expect((await issue({ residentId, prescriberInstitutionId: hospitalId })).json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'prescriberInstitutionId' });
  });
});

describe('reading, scope, audit and cancellation', () => {
  let residentId: number;
  let rx: Json;
  beforeAll(async () => {
    ({ residentId, prescription: rx } = await h.withPrescription());
  });

  test('the team and the centre see the resident’s prescriptions; another team does not', async () => {
    const mine = (await h.get(`/api/v1/chronic/prescriptions?residentId=${residentId}`)).json();
    expect(mine).toMatchObject({ total: 1, page: 1, items: [{ id: rx.id }] });
    expect((await h.get(`/api/v1/chronic/prescriptions?residentId=${residentId}`, centreAdmin)).json().total).toBe(1);
    expect((await h.get(`/api/v1/chronic/prescriptions?residentId=${residentId}`, doctor2)).statusCode).toBe(403);
    expect((await h.get(`/api/v1/chronic/prescriptions/${rx.id}`, doctor2)).statusCode).toBe(403);
    const others = (await h.get('/api/v1/chronic/prescriptions?pageSize=200', doctor2)).json();
    expect(others.items.some((p: Json) => p.resident.id === residentId)).toBe(false);
    const team = (await h.get(`/api/v1/chronic/prescriptions?teamId=${h.teamId}&kind=long&status=active&pageSize=2`)).json();
    expect(team.items).toHaveLength(2);
    expect(team.total).toBeGreaterThan(2);
  });

  test('every read is audited against the resident', async () => {
    await h.get(`/api/v1/chronic/prescriptions/${rx.id}`);
    const { rows } = await db().query("SELECT action, outcome, username FROM audit_event WHERE resident_id = $1 AND resource_type = 'ChronicPrescription' ORDER BY id", [residentId]);
    // issued; listed by the doctor, by the centre, in the team's list; read — and another team's two refused attempts
    expect(rows.filter((r) => r.outcome === 'success').map((r) => r.action)).toEqual(['create', 'list', 'list', 'list', 'read']);
    expect(rows.filter((r) => r.outcome === 'denied').map((r) => [r.username, r.action])).toEqual([['doctor2', 'list'], ['doctor2', 'read']]);
  });

  test('cancelled by its institution: the drugs are cancelled in the shared record; twice is refused', async () => {
    expect((await h.post(`/api/v1/chronic/prescriptions/${rx.id}/cancel`, { reason: '改用其他药物' }, doctor2)).statusCode).toBe(403);
    const r = await h.post(`/api/v1/chronic/prescriptions/${rx.id}/cancel`, { reason: '改用其他药物', version: rx.version });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ status: 'cancelled', cancelReason: '改用其他药物', items: [{ status: 'cancelled' }] });
    expect((await h.get(`/fhir/R4/MedicationRequest/${rx.items[0].medicationRequestId}`)).json().status).toBe('cancelled');
    const again = await h.post(`/api/v1/chronic/prescriptions/${rx.id}/cancel`, { reason: 'x' });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('INVALID_STATE');
  });

  test('the status is the drugs’ status: a MedicationRequest completed through FHIR completes the prescription', async () => {
    const { prescription } = await h.withPrescription();
    const id = prescription.items[0].medicationRequestId;
    const mr = (await h.get(`/fhir/R4/MedicationRequest/${id}`)).json();
    const put = await s.app.inject({ method: 'PUT', url: `/fhir/R4/MedicationRequest/${id}`, headers: { cookie: doctor1, 'content-type': 'application/fhir+json' }, payload: { ...mr, status: 'completed' } });
    expect(put.statusCode, put.body).toBe(200);
    expect((await h.get(`/api/v1/chronic/prescriptions/${prescription.id}`)).json().status).toBe('completed');
  });
});

describe('home delivery (送药上门)', () => {
  let residentId: number;
  let rx: Json;
  let address: string;
  beforeAll(async () => {
    ({ residentId, prescription: rx } = await h.withPrescription());
    address = (await db().query('SELECT address FROM resident WHERE id = $1', [residentId])).rows[0].address;
  });
  const move = (id: number, body: Json, cookie = doctor1) => h.post(`/api/v1/chronic/deliveries/${id}/status`, body, cookie);

  test('requested → dispatched → delivered, each state stamped; the registry’s address', async () => {
    const r = await h.post('/api/v1/chronic/deliveries', { prescriptionId: rx.id, note: '下午送达', sourceId: 'd-1' });
    expect(r.statusCode, r.body).toBe(201);
    const d = r.json();
    expect(d).toMatchObject({ status: 'requested', prescriptionId: rx.id, resident: { id: residentId }, team: { id: h.teamId }, address, addressMasked: false, actions: ['dispatched', 'cancelled'], dispatchedAt: null });
    expect((await h.post('/api/v1/chronic/deliveries', { prescriptionId: rx.id, sourceId: 'd-1' })).json().id).toBe(d.id);
    const second = await h.post('/api/v1/chronic/deliveries', { prescriptionId: rx.id });
    expect(second.statusCode).toBe(409);
    expect(second.json()).toMatchObject({ code: 'INVALID_STATE', field: 'prescriptionId' });
    const illegal = await move(d.id, { status: 'delivered' });
    expect(illegal.statusCode).toBe(409);
    expect(illegal.json()).toEqual({ code: 'INVALID_STATE', message: '当前状态不允许此操作：送药状态 requested 不能变为 delivered', field: 'status' });
    const sent = await move(d.id, { status: 'dispatched', courier: '社区药师王', trackingNo: 'SF123', version: d.version });
    expect(sent.json()).toMatchObject({ status: 'dispatched', courier: '社区药师王', trackingNo: 'SF123', actions: ['delivered', 'failed', 'cancelled'], dispatchedAt: expect.any(String) });
    expect((await move(d.id, { status: 'delivered', version: d.version })).json().code).toBe('STALE_VERSION');
    const done = (await move(d.id, { status: 'delivered' }, nurse1)).json();
    expect(done).toMatchObject({ status: 'delivered', actions: [], deliveredAt: expect.any(String) });
    expect(Date.parse(done.deliveredAt)).toBeGreaterThanOrEqual(Date.parse(done.dispatchedAt));
    expect((await move(d.id, { status: 'cancelled', reason: 'x' })).json().code).toBe('INVALID_STATE');
  });

  test('cancelled or failed needs a reason; after a failure a new delivery can be requested', async () => {
    const d = (await h.post('/api/v1/chronic/deliveries', { prescriptionId: rx.id })).json();
    await move(d.id, { status: 'dispatched' });
    expect((await move(d.id, { status: 'failed' })).json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'reason' });
    expect((await move(d.id, { status: 'failed', reason: '家中无人' })).json()).toMatchObject({ status: 'failed', reason: '家中无人', failedAt: expect.any(String) });
    const next = (await h.post('/api/v1/chronic/deliveries', { prescriptionId: rx.id })).json();
    expect((await move(next.id, { status: 'cancelled', reason: '居民自取' })).json()).toMatchObject({ status: 'cancelled', cancelledAt: expect.any(String) });
  });

  test('the team’s list masks the address; the detail shows it and is audited; another team sees nothing', async () => {
    const list = (await h.get(`/api/v1/chronic/deliveries?residentId=${residentId}`)).json();
    expect(list.total).toBe(3);
    expect(list.items.map((d: Json) => d.status)).toEqual(['cancelled', 'failed', 'delivered']);
    expect(list.items[0]).toMatchObject({ address: address.replace(/\d/g, '*'), addressMasked: true });
    expect(list.items[0].address).not.toMatch(/\d/);
    const byTeam = (await h.get(`/api/v1/chronic/deliveries?teamId=${h.teamId}&status=delivered`, centreAdmin)).json();
    expect(byTeam.items.map((d: Json) => d.resident.id)).toContain(residentId);
    expect((await h.get(`/api/v1/chronic/deliveries?residentId=${residentId}`, doctor2)).statusCode).toBe(403);
    expect((await h.get(`/api/v1/chronic/deliveries?pageSize=200`, doctor2)).json().items.some((d: Json) => d.resident.id === residentId)).toBe(false);
    const one = (await h.get(`/api/v1/chronic/deliveries/${list.items[2].id}`)).json();
    expect(one.address).toBe(address);
    const { rows } = await db().query("SELECT action FROM audit_event WHERE resident_id = $1 AND resource_type = 'MedicationDelivery' AND action = 'read'", [residentId]);
    expect(rows).toHaveLength(1);
  });

  test('a cancelled prescription cannot be delivered, and one with an open delivery cannot be cancelled', async () => {
    const { prescription } = await h.withPrescription();
    const d = (await h.post('/api/v1/chronic/deliveries', { prescriptionId: prescription.id })).json();
    const refused = await h.post(`/api/v1/chronic/prescriptions/${prescription.id}/cancel`, { reason: '停药' });
    expect(refused.json()).toMatchObject({ code: 'INVALID_STATE' });
    await move(d.id, { status: 'cancelled', reason: '停药' });
    expect((await h.post(`/api/v1/chronic/prescriptions/${prescription.id}/cancel`, { reason: '停药' })).statusCode).toBe(200);
    const late = await h.post('/api/v1/chronic/deliveries', { prescriptionId: prescription.id });
    expect(late.json()).toMatchObject({ code: 'INVALID_STATE', field: 'prescriptionId' });
  });
});
