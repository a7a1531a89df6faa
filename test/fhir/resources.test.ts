// Every FHIR R4 resource type the facade serves: create, read, search, update with version history, vread, and R4
// validity of what leaves (checked with the `fhir` package's validator); bad input refused with an OperationOutcome
// naming the element; the CapabilityStatement; and an external client (fhir-kit-client) against a listening server.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import fhirPkg from 'fhir';
import { Client } from 'fhir-kit-client';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const { Fhir, ParseConformance, Versions } = fhirPkg as any;
const validator = new Fhir(new ParseConformance(true, Versions.R4));

const SID = 'https://caregrid.dev/fhir/sid';
const CS = 'https://caregrid.dev/fhir/CodeSystem';
const SD = 'https://caregrid.dev/fhir/StructureDefinition';
const FHIR_JSON = { 'content-type': 'application/fhir+json' };

type Json = Record<string, any>;
let s: TestServer;
let admin: string;

/** Errors the R4 validator finds, plus elements R4 does not define (value-set notes are information only). */
function r4Problems(resource: Json): Json[] {
  return validator.validate(resource).messages.filter((m: Json) => m.severity === 'error' || (m.severity === 'warning' && /Unexpected property/.test(m.message)));
}

const fhir = {
  get: (url: string, cookie = admin) => s.app.inject({ url: `/fhir/R4/${url}`, headers: { cookie } }),
  post: (url: string, body: unknown, cookie = admin) => s.app.inject({ method: 'POST', url: `/fhir/R4/${url}`, headers: { cookie, ...FHIR_JSON }, payload: JSON.stringify(body) }),
  put: (url: string, body: unknown, cookie = admin) => s.app.inject({ method: 'PUT', url: `/fhir/R4/${url}`, headers: { cookie, ...FHIR_JSON }, payload: JSON.stringify(body) }),
};

async function first(type: string, query: string): Promise<Json> {
  const r = await fhir.get(`${type}?${query}&_count=1`);
  expect(r.statusCode, r.body).toBe(200);
  return r.json().entry[0].resource;
}

async function made(type: string, body: Json): Promise<Json> {
  const r = await fhir.post(type, body);
  expect(r.statusCode, r.body).toBe(201);
  return r.json();
}

// Seeded registry data the examples refer to, and the records made along the way (each row may use earlier ones).
const ctx: Record<string, string> = {};
const ids: Record<string, string> = {};

beforeAll(async () => {
  s = await startTestServer();
  admin = await s.login('admin');
  ctx.org = (await first('Organization', `type=${CS}/institution-type|community_health_centre`)).id;
  ctx.hospital = (await first('Organization', `type=${CS}/institution-type|tertiary_hospital`)).id;
  ctx.district = (await first('Location', `type=${CS}/region-level|district`)).id;
  ctx.community = (await first('Location', `type=${CS}/region-level|community`)).id;
  ctx.grid = (await first('Location', `type=${CS}/region-level|grid&partof=Location/${ctx.community}`)).id;
  ctx.practitioner = (await first('Practitioner', 'active=true')).id;
  const patient = await made('Patient', { resourceType: 'Patient', identifier: [{ system: 'https://hospital.example/mrn', value: 'MRN-FIXTURE-1' }], name: [{ text: '测试患者' }], gender: 'female', birthDate: '1956-04-12' });
  ctx.patient = patient.id;
  ctx.encounter = (await made('Encounter', { resourceType: 'Encounter', status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' }, subject: { reference: `Patient/${ctx.patient}` }, period: { start: '2026-03-02T09:00:00+08:00' } })).id;
});
afterAll(async () => s?.close());

interface Example {
  type: string;
  /** POST answers 201, except a PractitionerRole: every practitioner already has its one role, which POST sets. */
  createdStatus?: number;
  setup?: () => Promise<void>;
  create: () => Json;
  /** Searches that must find the created resource. */
  searches: (res: Json) => string[];
  update: (res: Json) => Json;
  /** The element the update changes: version 1 keeps the old value. */
  changed: (res: Json) => unknown;
}

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const DISCHARGE = '出院小结：患者因高血压入院，血压控制平稳后出院。';

const EXAMPLES: Example[] = [
  {
    type: 'Patient',
    create: () => ({ resourceType: 'Patient', identifier: [{ system: 'https://hospital.example/mrn', value: 'MRN-0001' }], name: [{ family: '王', given: ['小梅'] }], gender: 'female', birthDate: '1961-07-03', address: [{ text: '幸福路 8 号' }] }),
    searches: (r) => ['identifier=https://hospital.example/mrn|MRN-0001', `name=王小梅&birthdate=1961-07-03`, `gender=female&_id=${r.id}`],
    update: (r) => ({ ...r, address: [{ text: '幸福路 10 号' }] }),
    changed: (r) => r.address[0].text,
  },
  {
    type: 'Organization',
    create: () => ({
      resourceType: 'Organization', identifier: [{ system: `${SID}/institution`, value: 'FHIR-ORG-1' }], active: true,
      type: [{ coding: [{ system: `${CS}/institution-type`, code: 'community_health_station' }] }], name: '幸福社区卫生服务站', alias: ['Xingfu Community Health Station'],
      address: [{ text: '幸福路 1 号' }], partOf: { reference: `Organization/${ctx.org}` }, extension: [{ url: `${SD}/region`, valueReference: { reference: `Location/${ctx.community}` } }],
    }),
    searches: (r) => [`identifier=${SID}/institution|FHIR-ORG-1`, 'name=幸福社区', `partof=Organization/${ctx.org}&type=community_health_station&_id=${r.id}`, 'address:contains=幸福路 1'],
    update: (r) => ({ ...r, name: '幸福社区卫生服务站（新址）', address: [{ text: '幸福路 9 号' }] }),
    changed: (r) => r.name,
  },
  {
    type: 'Location',
    create: () => ({
      resourceType: 'Location', identifier: [{ system: `${SID}/region`, value: '990000000001' }], status: 'active', name: '测试街道', alias: ['Test Street'],
      type: [{ coding: [{ system: `${CS}/region-level`, code: 'street' }] }], partOf: { reference: `Location/${ctx.district}` },
    }),
    searches: (r) => [`identifier=${SID}/region|990000000001`, 'name=测试街', `partof=Location/${ctx.district}&type=street&_id=${r.id}`],
    update: (r) => ({ ...r, name: '测试街道办', extension: [{ url: `${SD}/population`, valueInteger: 52000 }] }),
    changed: (r) => r.name,
  },
  {
    type: 'Practitioner',
    create: () => ({ resourceType: 'Practitioner', identifier: [{ system: `${SID}/practitioner`, value: 'FHIR-P-1' }], active: true, name: [{ text: '李文静' }], gender: 'female', qualification: [{ code: { text: '主治医师' } }] }),
    searches: (r) => [`identifier=${SID}/practitioner|FHIR-P-1`, 'name=李文', `gender=female&_id=${r.id}`],
    update: (r) => ({ ...r, qualification: [{ code: { text: '副主任医师' } }] }),
    changed: (r) => r.qualification[0].code.text,
  },
  {
    type: 'PractitionerRole',
    createdStatus: 200,
    async setup() {
      ids.rolePractitioner = (await made('Practitioner', { resourceType: 'Practitioner', identifier: [{ system: `${SID}/practitioner`, value: 'FHIR-P-2' }], name: [{ text: '赵敏' }], gender: 'female' })).id;
    },
    create: () => ({
      resourceType: 'PractitionerRole', active: true, practitioner: { reference: `Practitioner/${ids.rolePractitioner}` }, organization: { reference: `Organization/${ctx.hospital}` },
      code: [{ coding: [{ system: `${CS}/profession`, code: 'specialist' }] }], specialty: [{ text: '心血管内科' }],
    }),
    searches: (r) => [`practitioner=Practitioner/${r.id}`, `organization=Organization/${ctx.hospital}&role=specialist&_id=${r.id}`, `identifier=FHIR-P-2`, 'specialty=心血管内科'],
    update: (r) => ({ ...r, organization: { reference: `Organization/${ctx.org}` }, code: [{ coding: [{ system: `${CS}/profession`, code: 'gp' }] }] }),
    changed: (r) => r.code[0].coding[0].code,
  },
  {
    type: 'CareTeam',
    create: () => ({
      resourceType: 'CareTeam', identifier: [{ system: `${SID}/team`, value: 'FHIR-T-1' }], status: 'active', name: '幸福家庭医生团队',
      category: [{ coding: [{ system: `${CS}/team-kind`, code: 'family_doctor' }] }],
      participant: [{ role: [{ coding: [{ system: `${CS}/team-role`, code: 'lead_gp' }] }], member: { reference: `Practitioner/${ids.Practitioner}` } }],
      managingOrganization: [{ reference: `Organization/${ctx.org}` }],
      extension: [{ url: `${SD}/community`, valueReference: { reference: `Location/${ctx.community}` } }, { url: `${SD}/covers-grid`, valueReference: { reference: `Location/${ctx.grid}` } }],
    }),
    searches: (r) => [`identifier=${SID}/team|FHIR-T-1`, `participant=Practitioner/${ids.Practitioner}&category=family_doctor`, `grid=Location/${ctx.grid}&_id=${r.id}`, 'name=幸福家庭'],
    update: (r) => ({ ...r, name: '幸福家庭医生一队' }),
    changed: (r) => r.name,
  },
  {
    type: 'Encounter',
    create: () => ({
      resourceType: 'Encounter', identifier: [{ system: 'https://hospital.example/visit', value: 'V-1' }], status: 'in-progress', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
      subject: { reference: `Patient/${ctx.patient}` }, period: { start: '2026-03-05T10:00:00+08:00' },
    }),
    searches: () => [`patient=Patient/${ctx.patient}&date=ge2026-03-05`, 'identifier=https://hospital.example/visit|V-1', 'status=in-progress&date=2026-03'],
    update: (r) => ({ ...r, status: 'finished', period: { start: '2026-03-05T10:00:00+08:00', end: '2026-03-05T10:30:00+08:00' } }),
    changed: (r) => r.status,
  },
  {
    type: 'Condition',
    create: () => ({
      resourceType: 'Condition', identifier: [{ system: 'https://hospital.example/dx', value: 'D-1' }], clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
      code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10', code: 'I10', display: '原发性高血压' }] }, subject: { reference: `Patient/${ctx.patient}` }, encounter: { reference: `Encounter/${ctx.encounter}` }, recordedDate: '2026-03-02T09:20:00+08:00',
    }),
    searches: () => [`subject=Patient/${ctx.patient}&code=http://hl7.org/fhir/sid/icd-10|I10`, 'identifier=D-1', `encounter=Encounter/${ctx.encounter}&recorded-date=le2026-03-02`],
    update: (r) => ({ ...r, clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'remission' }] } }),
    changed: (r) => r.clinicalStatus.coding[0].code,
  },
  {
    type: 'Observation',
    create: () => ({
      resourceType: 'Observation', identifier: [{ system: 'https://hospital.example/obs', value: 'O-1' }], status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }],
      code: { coding: [{ system: 'http://loinc.org', code: '2345-7', display: '血糖' }] }, subject: { reference: `Patient/${ctx.patient}` }, effectiveDateTime: '2026-03-02T09:30:00+08:00',
      valueQuantity: { value: 6.1, unit: 'mmol/L', system: 'http://unitsofmeasure.org', code: 'mmol/L' },
    }),
    searches: () => [`patient=Patient/${ctx.patient}&code=http://loinc.org|2345-7`, 'identifier=https://hospital.example/obs|O-1', `date=gt2026-03-01&category=laboratory&patient=${ctx.patient}`],
    update: (r) => ({ ...r, status: 'amended', valueQuantity: { ...r.valueQuantity, value: 6.3 } }),
    changed: (r) => r.valueQuantity.value,
  },
  {
    type: 'DiagnosticReport',
    create: () => ({
      resourceType: 'DiagnosticReport', identifier: [{ system: 'https://hospital.example/report', value: 'R-1' }], status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0074', code: 'LAB' }] }], code: { coding: [{ system: 'http://loinc.org', code: '24331-1', display: '血脂四项' }] },
      subject: { reference: `Patient/${ctx.patient}` }, encounter: { reference: `Encounter/${ctx.encounter}` }, effectiveDateTime: '2026-03-02T09:30:00+08:00', issued: '2026-03-02T14:00:00+08:00',
      result: [{ reference: `Observation/${ids.Observation}` }], conclusion: '血糖偏高',
    }),
    searches: () => [`patient=Patient/${ctx.patient}&status=final`, `code=http://loinc.org|24331-1&date=ge2026-03-02T09:00:00%2B08:00`, `result=Observation/${ids.Observation}`, 'identifier=R-1&category=LAB'],
    update: (r) => ({ ...r, status: 'amended', conclusion: '空腹血糖偏高，建议复查' }),
    changed: (r) => r.conclusion,
  },
  {
    type: 'MedicationRequest',
    create: () => ({
      resourceType: 'MedicationRequest', identifier: [{ system: 'https://hospital.example/rx', value: 'RX-1' }], status: 'active', intent: 'order',
      medicationCodeableConcept: { coding: [{ system: `${CS}/local`, code: 'amlodipine-5mg', display: '苯磺酸氨氯地平片 5mg' }] }, subject: { reference: `Patient/${ctx.patient}` },
      encounter: { reference: `Encounter/${ctx.encounter}` }, authoredOn: '2026-03-02T09:40:00+08:00', requester: { reference: `Practitioner/${ctx.practitioner}` },
      dosageInstruction: [{ text: '每日一次，每次一片', route: { text: '口服' } }],
    }),
    searches: () => [`patient=Patient/${ctx.patient}&status=active`, `code=amlodipine-5mg&authoredon=2026-03-02`, `requester=Practitioner/${ctx.practitioner}&intent=order&identifier=RX-1`],
    update: (r) => ({ ...r, status: 'completed' }),
    changed: (r) => r.status,
  },
  {
    type: 'AllergyIntolerance',
    create: () => ({
      resourceType: 'AllergyIntolerance', identifier: [{ system: 'https://hospital.example/allergy', value: 'A-1' }],
      clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' }] },
      verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification', code: 'confirmed' }] },
      code: { coding: [{ system: 'http://snomed.info/sct', code: '764146007', display: '青霉素' }] }, criticality: 'high', patient: { reference: `Patient/${ctx.patient}` }, recordedDate: '2026-03-02T09:10:00+08:00',
    }),
    searches: () => [`patient=Patient/${ctx.patient}&clinical-status=active`, 'code=http://snomed.info/sct|764146007&criticality=high', 'identifier=A-1&date=lt2026-03-03'],
    update: (r) => ({ ...r, clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'inactive' }] } }),
    changed: (r) => r.clinicalStatus.coding[0].code,
  },
  {
    type: 'Immunization',
    create: () => ({
      resourceType: 'Immunization', identifier: [{ system: 'https://cdc.example/vaccination', value: 'IM-1' }], status: 'completed',
      vaccineCode: { coding: [{ system: 'http://hl7.org/fhir/sid/cvx', code: '140', display: '流感疫苗' }] }, patient: { reference: `Patient/${ctx.patient}` },
      occurrenceDateTime: '2026-10-15T10:00:00+08:00', lotNumber: 'LOT-2026-A', protocolApplied: [{ doseNumberPositiveInt: 1 }],
    }),
    searches: () => [`patient=Patient/${ctx.patient}&status=completed`, 'vaccine-code=http://hl7.org/fhir/sid/cvx|140&date=2026-10', 'lot-number=LOT-2026&identifier=IM-1'],
    update: (r) => ({ ...r, lotNumber: 'LOT-2026-B' }),
    changed: (r) => r.lotNumber,
  },
  {
    type: 'ServiceRequest',
    create: () => ({
      resourceType: 'ServiceRequest', identifier: [{ system: 'https://hospital.example/order', value: 'SR-1' }], status: 'active', intent: 'order',
      category: [{ coding: [{ system: 'http://snomed.info/sct', code: '108252007' }] }], code: { coding: [{ system: 'http://loinc.org', code: '2345-7', display: '血糖' }] },
      subject: { reference: `Patient/${ctx.patient}` }, authoredOn: '2026-03-06T08:00:00+08:00', requester: { reference: `Practitioner/${ctx.practitioner}` }, performer: [{ reference: `Organization/${ctx.hospital}` }],
    }),
    searches: () => [`patient=Patient/${ctx.patient}&status=active&code=2345-7`, `performer=Organization/${ctx.hospital}&authored=ge2026-03-06`, 'identifier=SR-1&category=108252007&intent=order'],
    update: (r) => ({ ...r, status: 'completed' }),
    changed: (r) => r.status,
  },
  {
    type: 'Task',
    create: () => ({
      resourceType: 'Task', identifier: [{ system: 'https://caregrid.example/task', value: 'T-1' }], status: 'requested', intent: 'order', priority: 'urgent',
      code: { coding: [{ system: `${CS}/task-type`, code: 'discharge_follow_up' }] }, description: '出院后一周内随访', for: { reference: `Patient/${ctx.patient}` },
      focus: { reference: `ServiceRequest/${ids.ServiceRequest}` }, owner: { reference: `CareTeam/${ids.CareTeam}` }, executionPeriod: { end: '2026-03-12T18:00:00+08:00' },
    }),
    searches: () => [`patient=Patient/${ctx.patient}&status=requested`, `owner=CareTeam/${ids.CareTeam}&priority=urgent`, `focus=ServiceRequest/${ids.ServiceRequest}&period=le2026-03-12&code=discharge_follow_up`],
    update: (r) => ({ ...r, status: 'completed' }),
    changed: (r) => r.status,
  },
  {
    type: 'Schedule',
    create: () => ({
      resourceType: 'Schedule', identifier: [{ system: 'https://hospital.example/schedule', value: 'S-1' }], active: true,
      actor: [{ reference: `Practitioner/${ids.rolePractitioner}` }], extension: [{ url: `${SD}/organization`, valueReference: { reference: `Organization/${ctx.hospital}` } }], serviceType: [{ text: '心血管内科专家门诊' }],
      // far ahead of the pools the seed publishes for the next two weeks
      planningHorizon: { start: '2036-12-01T00:00:00+08:00', end: '2036-12-31T23:59:59+08:00' }, comment: '每周二上午',
    }),
    searches: () => [`actor=Practitioner/${ids.rolePractitioner}&active=true`, `actor=Organization/${ctx.hospital}&date=2036-12`, 'identifier=S-1&service-type=心血管'],
    update: (r) => ({ ...r, comment: '每周二、周四上午' }),
    changed: (r) => r.comment,
  },
  {
    type: 'Slot',
    create: () => ({
      resourceType: 'Slot', identifier: [{ system: 'https://hospital.example/slot', value: 'SL-1' }], schedule: { reference: `Schedule/${ids.Schedule}` }, status: 'free',
      // far ahead: the reservation is in force (and rendered) until 48 hours before the start
      start: '2036-12-01T09:00:00+08:00', end: '2036-12-01T09:15:00+08:00', extension: [{ url: `${SD}/reserved-for`, valueCode: 'primary_care' }],
    }),
    searches: () => [`schedule=Schedule/${ids.Schedule}&status=free`, 'start=ge2036-12-01T09:00:00%2B08:00&reserved-for=primary_care', 'identifier=SL-1'],
    update: (r) => ({ ...r, comment: '专家门诊' }),
    changed: (r) => r.comment,
  },
  {
    type: 'Appointment',
    async setup() {
      // a general (unreserved) place: the reserved SL-1 is kept for primary care, and a booked slot is taken
      ids.bookedSlot = (await made('Slot', { resourceType: 'Slot', identifier: [{ system: 'https://hospital.example/slot', value: 'SL-2' }], schedule: { reference: `Schedule/${ids.Schedule}` }, status: 'free', start: '2026-12-01T09:00:00+08:00', end: '2026-12-01T09:15:00+08:00' })).id;
    },
    create: () => ({
      resourceType: 'Appointment', identifier: [{ system: 'https://hospital.example/appt', value: 'AP-1' }], status: 'booked', description: '转诊：心内科专家门诊',
      slot: [{ reference: `Slot/${ids.bookedSlot}` }], basedOn: [{ reference: `ServiceRequest/${ids.ServiceRequest}` }],
      participant: [{ actor: { reference: `Patient/${ctx.patient}` }, status: 'accepted' }, { actor: { reference: `Practitioner/${ids.rolePractitioner}` }, status: 'accepted' }],
    }),
    searches: () => [`patient=Patient/${ctx.patient}&status=booked`, `slot=Slot/${ids.bookedSlot}&date=2026-12-01`, `based-on=ServiceRequest/${ids.ServiceRequest}&identifier=AP-1`],
    update: (r) => ({ ...r, status: 'arrived' }),
    changed: (r) => r.status,
  },
  {
    type: 'DocumentReference',
    create: () => ({
      resourceType: 'DocumentReference', identifier: [{ system: 'https://hospital.example/doc', value: 'DOC-1' }], status: 'current',
      type: { coding: [{ system: 'http://loinc.org', code: '18842-5' }] }, subject: { reference: `Patient/${ctx.patient}` }, date: '2026-03-08T16:00:00+08:00',
      content: [{ attachment: { contentType: 'text/plain; charset=utf-8', data: b64(DISCHARGE), title: '出院小结' } }], context: { encounter: [{ reference: `Encounter/${ctx.encounter}` }] },
    }),
    searches: () => [`patient=Patient/${ctx.patient}&type=http://loinc.org|18842-5`, `type=discharge_summary&date=ge2026-03-08&encounter=Encounter/${ctx.encounter}`, 'identifier=DOC-1&status=current'],
    update: (r) => ({ ...r, status: 'superseded' }),
    changed: (r) => r.status,
  },
  {
    type: 'MeasureReport',
    create: () => ({
      resourceType: 'MeasureReport', identifier: [{ system: 'https://centre.example/sentinel', value: 'DAY-2005-01-10' }], status: 'complete', type: 'summary',
      measure: 'https://caregrid.dev/fhir/Measure/surveillance-sentinel', subject: { reference: `Location/${ctx.community}` }, reporter: { reference: `Organization/${ctx.org}` },
      period: { start: '2005-01-10', end: '2005-01-10' },
      group: [{ code: { coding: [{ system: `${CS}/surveillance-category`, code: 'fever' }] }, measureScore: { value: 4 } }],
    }),
    searches: (r) => [`subject=Location/${ctx.community}&date=2005-01-10`, `reporter=Organization/${ctx.org}&measure=sentinel&_id=${r.id}`, 'identifier=DAY-2005-01-10&status=complete'],
    update: (r) => ({ ...r, group: [{ ...r.group[0], measureScore: { value: 6 } }] }),
    changed: (r) => r.group[0].measureScore.value,
  },
];

describe('every resource type', () => {
  test.each(EXAMPLES.map((e) => [e.type, e] as const))('%s: create, read, search, update, history, vread, valid R4', async (type, e) => {
    await e.setup?.();
    const created = await fhir.post(type, e.create());
    expect(created.statusCode, created.body).toBe(e.createdStatus ?? 201);
    const res = created.json();
    expect(res.resourceType).toBe(type);
    expect(r4Problems(res)).toEqual([]);
    ids[type] = res.id;
    const v = Number(res.meta.versionId);

    const read = await fhir.get(`${type}/${res.id}`);
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual(res);
    expect(read.headers.etag).toBe(`W/"${v}"`);

    const searches = e.searches(res);
    expect(searches.length).toBeGreaterThanOrEqual(2);
    for (const q of searches) {
      const found = await fhir.get(`${type}?${q}`);
      expect(found.statusCode, `${q}: ${found.body}`).toBe(200);
      const bundle = found.json();
      expect(bundle.entry.map((x: Json) => x.resource.id), q).toContain(res.id);
      expect(r4Problems(bundle)).toEqual([]);
    }

    const updated = await fhir.put(`${type}/${res.id}`, e.update(read.json()));
    expect(updated.statusCode, updated.body).toBe(200);
    const next = updated.json();
    expect(next.meta.versionId).toBe(String(v + 1));
    expect(e.changed(next)).toEqual(e.changed(e.update(res)));
    expect(e.changed(next)).not.toEqual(e.changed(res));
    expect(r4Problems(next)).toEqual([]);
    expect((await fhir.get(`${type}/${res.id}`)).json()).toEqual(next);

    const history = await fhir.get(`${type}/${res.id}/_history`);
    expect(history.statusCode).toBe(200);
    expect(history.json().total).toBe(v + 1);
    expect(history.json().entry.map((x: Json) => x.resource.meta.versionId)).toEqual(Array.from({ length: v + 1 }, (_, i) => String(v + 1 - i)));
    expect(r4Problems(history.json())).toEqual([]);

    const old = await fhir.get(`${type}/${res.id}/_history/${v}`);
    expect(old.statusCode).toBe(200);
    expect(old.json().meta.versionId).toBe(String(v));
    expect(e.changed(old.json())).toEqual(e.changed(res));
    expect(r4Problems(old.json())).toEqual([]);
  });

  test('a text document is kept as text and served back as the same base64', async () => {
    const { rows } = await s.started.ctx.db.query('SELECT content_text, content_type, type_code FROM document WHERE id = $1', [Number(ids.DocumentReference)]);
    expect(rows[0]).toEqual({ content_text: DISCHARGE, content_type: 'text/plain; charset=utf-8', type_code: 'discharge_summary' });
    const doc = (await fhir.get(`DocumentReference/${ids.DocumentReference}`)).json();
    expect(Buffer.from(doc.content[0].attachment.data, 'base64').toString('utf8')).toBe(DISCHARGE);
    expect(doc.type.coding).toEqual([{ system: `${CS}/document-type`, code: 'discharge_summary' }, { system: 'http://loinc.org', code: '18842-5' }]);
  });

  test('a booked appointment takes its slot’s time; other participants are kept', async () => {
    const a = (await fhir.get(`Appointment/${ids.Appointment}`)).json();
    expect(a).toMatchObject({ start: '2026-12-01T09:00:00+08:00', end: '2026-12-01T09:15:00+08:00' });
    expect(a.participant).toEqual([{ actor: { reference: `Patient/${ctx.patient}` }, status: 'accepted' }, { actor: { reference: `Practitioner/${ids.rolePractitioner}` }, status: 'accepted' }]);
  });

  test('registry resources are views of the registry tables, and _include follows their references', async () => {
    const { rows } = await s.started.ctx.db.query('SELECT institution_id, profession, specialty FROM practitioner WHERE id = $1', [Number(ids.PractitionerRole)]);
    expect(rows[0]).toEqual({ institution_id: Number(ctx.org), profession: 'gp', specialty: '心血管内科' });
    const team = await s.app.inject({ url: `/api/v1/teams/${ids.CareTeam}`, headers: { cookie: admin } });
    expect(team.json()).toMatchObject({ code: 'FHIR-T-1', name: '幸福家庭医生一队', communityId: Number(ctx.community), gridIds: [Number(ctx.grid)], members: [{ practitionerId: Number(ids.Practitioner), role: 'lead_gp' }] });
    const roles = (await fhir.get(`PractitionerRole?_id=${ids.PractitionerRole}&_include=PractitionerRole:practitioner,PractitionerRole:organization`)).json();
    expect(roles.entry.map((x: Json) => `${x.search.mode} ${x.resource.resourceType}/${x.resource.id}`).sort()).toEqual(
      [`include Organization/${ctx.org}`, `include Practitioner/${ids.PractitionerRole}`, `match PractitionerRole/${ids.PractitionerRole}`].sort(),
    );
    const slots = (await fhir.get(`Slot?_id=${ids.Slot}&_include=Slot:schedule`)).json();
    expect(slots.entry.map((x: Json) => x.resource.resourceType)).toEqual(['Slot', 'Schedule']);
  });

  test('personal records are scoped to the caller and every read is audited', async () => {
    const doctor = await s.login('doctor1');
    const refused = await fhir.get(`DiagnosticReport/${ids.DiagnosticReport}`, doctor);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().issue[0].details.coding[0].code).toBe('OUT_OF_SCOPE');
    for (const type of ['DiagnosticReport', 'MedicationRequest', 'AllergyIntolerance', 'Immunization', 'DocumentReference', 'ServiceRequest', 'Task', 'Appointment']) {
      const found = await fhir.get(`${type}?patient=Patient/${ctx.patient}`, doctor);
      expect(found.statusCode, type).toBe(200);
      expect(found.json().total, type).toBe(0);
    }
    const { rows } = await s.started.ctx.db.query(
      `SELECT resource_type, action, outcome FROM audit_event WHERE resident_id = $1 AND resource_type = ANY($2::text[]) AND resource_id = ANY($3::text[]) ORDER BY id`,
      [Number(ctx.patient), ['DiagnosticReport'], [ids.DiagnosticReport]],
    );
    expect(rows).toEqual(expect.arrayContaining([
      { resource_type: 'DiagnosticReport', action: 'create', outcome: 'success' },
      { resource_type: 'DiagnosticReport', action: 'read', outcome: 'success' },
      { resource_type: 'DiagnosticReport', action: 'read', outcome: 'denied' },
    ]));
  });

  test('Patient/$everything carries the new record types, all valid R4', async () => {
    const r = await fhir.get(`Patient/${ctx.patient}/$everything`);
    expect(r.statusCode).toBe(200);
    const bundle = r.json();
    const types = new Set(bundle.entry.map((x: Json) => x.resource.resourceType));
    for (const t of ['DiagnosticReport', 'MedicationRequest', 'AllergyIntolerance', 'Immunization', 'DocumentReference', 'ServiceRequest', 'Task', 'Appointment', 'Organization']) expect(types, t).toContain(t);
    expect(r4Problems(bundle)).toEqual([]);
  });

  test('a transaction links new records through urn:uuid references', async () => {
    const r = await fhir.post('', {
      resourceType: 'Bundle', type: 'transaction', entry: [
        { fullUrl: 'urn:uuid:6f1c0d3e-0000-4000-8000-000000000001', resource: { resourceType: 'ServiceRequest', status: 'active', intent: 'order', code: { text: '胸部 CT' }, subject: { reference: `Patient/${ctx.patient}` } }, request: { method: 'POST', url: 'ServiceRequest' } },
        { resource: { resourceType: 'Task', status: 'requested', intent: 'order', for: { reference: `Patient/${ctx.patient}` }, focus: { reference: 'urn:uuid:6f1c0d3e-0000-4000-8000-000000000001', type: 'ServiceRequest' }, owner: { reference: `Organization/${ctx.hospital}` } }, request: { method: 'POST', url: 'Task' } },
      ],
    });
    expect(r.statusCode, r.body).toBe(200);
    const [sr, task] = r.json().entry.map((x: Json) => x.response);
    expect(sr.status).toMatch(/^201/);
    expect(task.status).toMatch(/^201/);
    const srId = /ServiceRequest\/(\d+)/.exec(sr.location)![1];
    const found = (await fhir.get(`Task?focus=ServiceRequest/${srId}&owner=Organization/${ctx.hospital}`)).json();
    expect(found.entry).toHaveLength(1);
    expect(found.entry[0].resource.focus).toEqual({ reference: `ServiceRequest/${srId}` });
  });

  test('registry writes are for district administrators; everyone logged in reads', async () => {
    const doctor = await s.login('doctor1');
    const org = await fhir.get(`Organization/${ids.Organization}`, doctor);
    expect(org.statusCode).toBe(200);
    const refused = await fhir.put(`Organization/${ids.Organization}`, { ...(org.json() as Json), name: "改名" }, doctor);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().issue[0]).toMatchObject({ code: 'forbidden', details: { coding: [{ code: 'FORBIDDEN' }] } });
  });
});

describe('bad input is refused with an OperationOutcome naming the element', () => {
  const patient = () => ({ reference: `Patient/${ctx.patient}` });
  const cases: [string, string, () => Json, string, string][] = [
    // registry
    ['Organization', 'type outside the institution-type code system', () => ({ resourceType: 'Organization', identifier: [{ system: `${SID}/institution`, value: 'BAD-ORG' }], name: '坏机构', type: [{ coding: [{ system: `${CS}/institution-type`, code: 'spa' }] }] }), 'FHIR_INVALID', 'Organization.type[0].coding[0].code'],
    ['Organization', 'an existing code', () => ({ resourceType: 'Organization', identifier: [{ system: `${SID}/institution`, value: 'FHIR-ORG-1' }], name: '重复机构', type: [{ coding: [{ system: `${CS}/institution-type`, code: 'pharmacy' }] }] }), 'CONFLICT', 'Organization.identifier'],
    ['Location', 'missing name', () => ({ resourceType: 'Location', identifier: [{ system: `${SID}/region`, value: '990000000002' }], type: [{ coding: [{ system: `${CS}/region-level`, code: 'street' }] }], partOf: { reference: `Location/${ctx.district}` } }), 'FHIR_REQUIRED', 'Location.name'],
    ['Location', 'a grid directly under the district', () => ({ resourceType: 'Location', identifier: [{ system: `${SID}/region`, value: '990000000003' }], name: '错层网格', type: [{ coding: [{ system: `${CS}/region-level`, code: 'grid' }] }], partOf: { reference: `Location/${ctx.district}` } }), 'VALIDATION_FAILED', 'Location.type'],
    ['CareTeam', 'a member that does not exist', () => ({ resourceType: 'CareTeam', identifier: [{ system: `${SID}/team`, value: 'BAD-T' }], name: '坏团队', managingOrganization: [{ reference: `Organization/${ctx.org}` }], participant: [{ member: { reference: 'Practitioner/999999999' } }] }), 'FHIR_BAD_REFERENCE', 'CareTeam.participant[0].member.reference'],
    ['PractitionerRole', 'profession outside the code system', () => ({ resourceType: 'PractitionerRole', practitioner: { reference: `Practitioner/${ctx.practitioner}` }, organization: { reference: `Organization/${ctx.org}` }, code: [{ coding: [{ system: `${CS}/profession`, code: 'wizard' }] }] }), 'FHIR_INVALID', 'PractitionerRole.code[0].coding[0].code'],
    ['Practitioner', 'gender outside CareGrid’s record', () => ({ resourceType: 'Practitioner', identifier: [{ system: `${SID}/practitioner`, value: 'BAD-P' }], name: [{ text: '某人' }], gender: 'robot' }), 'FHIR_INVALID', 'Practitioner.gender'],
    // clinical
    ['DiagnosticReport', 'bad status code', () => ({ resourceType: 'DiagnosticReport', status: 'done', code: { coding: [{ system: 'http://loinc.org', code: '24331-1' }] }, subject: patient(), effectiveDateTime: '2026-03-02' }), 'FHIR_INVALID', 'DiagnosticReport.status'],
    ['DiagnosticReport', 'a result of another patient', () => ({ resourceType: 'DiagnosticReport', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '24331-1' }] }, subject: { reference: `Patient/${ids.Patient}` }, effectiveDateTime: '2026-03-02', result: [{ reference: `Observation/${ids.Observation}` }] }), 'FHIR_INVALID', 'DiagnosticReport.result[0].reference'],
    ['MedicationRequest', 'missing intent', () => ({ resourceType: 'MedicationRequest', status: 'active', medicationCodeableConcept: { text: '阿司匹林' }, subject: patient() }), 'FHIR_REQUIRED', 'MedicationRequest.intent'],
    ['AllergyIntolerance', 'missing clinicalStatus (ait-1)', () => ({ resourceType: 'AllergyIntolerance', code: { text: '花粉' }, patient: patient() }), 'FHIR_REQUIRED', 'AllergyIntolerance.clinicalStatus'],
    ['Immunization', 'a date that does not exist', () => ({ resourceType: 'Immunization', status: 'completed', vaccineCode: { text: '乙肝疫苗' }, patient: patient(), occurrenceDateTime: '2026-02-30' }), 'FHIR_INVALID', 'Immunization.occurrenceDateTime'],
    ['ServiceRequest', 'a malformed patient reference', () => ({ resourceType: 'ServiceRequest', status: 'active', intent: 'order', code: { text: '血常规' }, subject: { reference: 'Patient/abc' } }), 'FHIR_BAD_REFERENCE', 'ServiceRequest.subject.reference'],
    ['DocumentReference', 'content that is not base64', () => ({ resourceType: 'DocumentReference', status: 'current', type: { coding: [{ system: `${CS}/document-type`, code: 'discharge_summary' }] }, subject: patient(), content: [{ attachment: { contentType: 'text/plain', data: '不是base64!' } }] }), 'FHIR_INVALID', 'DocumentReference.content[0].attachment.data'],
    ['DocumentReference', 'missing content', () => ({ resourceType: 'DocumentReference', status: 'current', type: { coding: [{ system: `${CS}/document-type`, code: 'discharge_summary' }] }, subject: patient() }), 'FHIR_REQUIRED', 'DocumentReference.content'],
    // workflow
    ['Task', 'an owner that is not an Organization or CareTeam', () => ({ resourceType: 'Task', status: 'requested', intent: 'order', owner: patient() }), 'FHIR_INVALID', 'Task.owner.reference'],
    ['Schedule', 'missing actor', () => ({ resourceType: 'Schedule', active: true }), 'FHIR_REQUIRED', 'Schedule.actor'],
    ['Slot', 'an end before the start', () => ({ resourceType: 'Slot', schedule: { reference: `Schedule/${ids.Schedule}` }, status: 'free', start: '2026-12-02T09:00:00+08:00', end: '2026-12-02T08:45:00+08:00' }), 'FHIR_INVALID', 'Slot.end'],
    ['Slot', 'an unknown reservation', () => ({ resourceType: 'Slot', schedule: { reference: `Schedule/${ids.Schedule}` }, status: 'free', start: '2026-12-02T09:00:00+08:00', end: '2026-12-02T09:15:00+08:00', extension: [{ url: `${SD}/reserved-for`, valueCode: 'vip' }] }), 'FHIR_INVALID', 'Slot.extension[0].valueCode'],
    ['Appointment', 'bad status code', () => ({ resourceType: 'Appointment', status: 'confirmed', participant: [{ actor: patient(), status: 'accepted' }] }), 'FHIR_INVALID', 'Appointment.status'],
    ['Appointment', 'a booked appointment without a time', () => ({ resourceType: 'Appointment', status: 'booked', participant: [{ actor: patient(), status: 'accepted' }] }), 'FHIR_REQUIRED', 'Appointment.start'],
  ];

  test.each(cases)('%s: %s', async (type, _what, body, errorCode, expression) => {
    const r = await fhir.post(type, body());
    const status = errorCode === 'CONFLICT' ? 409 : 400;
    expect(r.statusCode, r.body).toBe(status);
    const outcome = r.json();
    expect(outcome.resourceType).toBe('OperationOutcome');
    expect(outcome.issue).toHaveLength(1);
    expect(outcome.issue[0]).toMatchObject({ severity: 'error', details: { coding: [{ system: 'https://caregrid.dev/fhir/CodeSystem/error', code: errorCode }] }, expression: [expression] });
    expect(r4Problems(outcome)).toEqual([]);
  });

  test('the whole outcome, in English when asked', async () => {
    const r = await fhir.post('Immunization?lang=en', { resourceType: 'Immunization', status: 'given', vaccineCode: { text: '乙肝疫苗' }, patient: patient(), occurrenceDateTime: '2026-02-03' });
    expect(r.statusCode).toBe(400);
    const message = 'Invalid Immunization.status: "given" is not one of completed, entered-in-error, not-done';
    expect(r.json()).toEqual({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'value', details: { coding: [{ system: 'https://caregrid.dev/fhir/CodeSystem/error', code: 'FHIR_INVALID' }], text: message }, diagnostics: message, expression: ['Immunization.status'] }],
    });
  });

  test('nothing of a refused resource is kept', async () => {
    const { rows } = await s.started.ctx.db.query("SELECT (SELECT count(*)::int FROM institution WHERE code LIKE 'BAD-%') AS orgs, (SELECT count(*)::int FROM team WHERE code = 'BAD-T') AS teams, (SELECT count(*)::int FROM region WHERE code LIKE '99000000000_' AND code <> '990000000001') AS regions");
    expect(rows[0]).toEqual({ orgs: 0, teams: 0, regions: 0 });
  });
});

describe('CapabilityStatement', () => {
  const TYPES = EXAMPLES.map((e) => e.type);

  test('lists all 20 writable types and the read-only EpisodeOfCare, Contract and CarePlan with their search parameters and is valid R4', async () => {
    const r = await fhir.get('metadata');
    expect(r.statusCode).toBe(200);
    const cs = r.json();
    expect(r4Problems(cs)).toEqual([]);
    const resources: Json[] = cs.rest[0].resource;
    // EpisodeOfCare: test/api/chronic-fusion.test.ts; Contract, CarePlan: test/fhir/chronic-care.test.ts
    expect(resources.map((x) => x.type).sort()).toEqual([...TYPES, 'EpisodeOfCare', 'Contract', 'CarePlan'].sort());
    expect(TYPES).toHaveLength(20);
    const params = Object.fromEntries(resources.map((x) => [x.type, x.searchParam.map((p: Json) => p.name)]));
    const expected: Record<string, string[]> = {
      Patient: ['identifier', 'name', 'birthdate', 'gender'], Organization: ['identifier', 'name', 'type', 'partof'], Location: ['identifier', 'name', 'partof', 'type'],
      Practitioner: ['identifier', 'name', 'gender'], PractitionerRole: ['identifier', 'practitioner', 'organization', 'role'], CareTeam: ['identifier', 'participant', 'category', 'status'],
      Encounter: ['patient', 'subject', 'date', 'status'], Condition: ['patient', 'code', 'encounter'], Observation: ['patient', 'code', 'date', 'status'],
      DiagnosticReport: ['patient', 'subject', 'identifier', 'status', 'code', 'date', 'result', 'encounter'], MedicationRequest: ['patient', 'identifier', 'status', 'code', 'authoredon', 'requester', 'intent'],
      AllergyIntolerance: ['patient', 'identifier', 'code', 'clinical-status', 'date'], Immunization: ['patient', 'identifier', 'status', 'vaccine-code', 'date'],
      ServiceRequest: ['patient', 'subject', 'identifier', 'status', 'code', 'authored', 'requester', 'performer'], Task: ['patient', 'identifier', 'status', 'code', 'owner', 'focus', 'authored-on'],
      Schedule: ['identifier', 'actor', 'date', 'active'], Slot: ['identifier', 'schedule', 'status', 'start'], Appointment: ['patient', 'identifier', 'status', 'date', 'slot', 'based-on'],
      DocumentReference: ['patient', 'subject', 'identifier', 'status', 'type', 'date', 'encounter'],
    };
    for (const [type, names] of Object.entries(expected)) {
      expect(params[type], type).toEqual(expect.arrayContaining(['_id', '_lastUpdated', ...names]));
    }
    const org = resources.find((x) => x.type === 'Organization')!;
    expect(org.interaction.map((i: Json) => i.code)).toEqual(['read', 'vread', 'search-type', 'history-instance', 'create', 'update']);
    expect(org.searchInclude).toEqual(['Organization:partof']);
  });
});

describe('an external FHIR client', () => {
  test('fhir-kit-client creates, reads, searches and updates over HTTP with the session cookie', async () => {
    const client = new Client({ baseUrl: `${s.baseUrl}/fhir/R4`, customHeaders: { cookie: admin } });
    const created: any = await client.create({
      resourceType: 'Immunization',
      body: { resourceType: 'Immunization', identifier: [{ system: 'https://cdc.example/vaccination', value: 'IM-KIT' }], status: 'completed', vaccineCode: { coding: [{ system: 'http://hl7.org/fhir/sid/cvx', code: '08', display: '乙肝疫苗' }] }, patient: { reference: `Patient/${ctx.patient}` }, occurrenceDateTime: '2026-11-01T09:00:00+08:00', protocolApplied: [{ doseNumberPositiveInt: 2 }] },
    });
    expect(created).toMatchObject({ resourceType: 'Immunization', status: 'completed', meta: { versionId: '1' } });
    const read: any = await client.read({ resourceType: 'Immunization', id: created.id });
    expect(read).toEqual(created);
    const found: any = await client.search({ resourceType: 'Immunization', searchParams: { patient: `Patient/${ctx.patient}`, 'vaccine-code': 'http://hl7.org/fhir/sid/cvx|08' } });
    expect(found.resourceType).toBe('Bundle');
    expect(found.entry.map((e: Json) => e.resource.id)).toEqual([created.id]);
    const updated: any = await client.update({ resourceType: 'Immunization', id: created.id, body: { ...read, lotNumber: 'LOT-KIT' } });
    expect(updated).toMatchObject({ lotNumber: 'LOT-KIT', meta: { versionId: '2' } });
    const v1: any = await client.vread({ resourceType: 'Immunization', id: created.id, version: '1' });
    expect(v1.lotNumber).toBeUndefined();
    await expect(client.create({ resourceType: 'Immunization', body: { resourceType: 'Immunization', status: 'completed', patient: { reference: `Patient/${ctx.patient}` } } })).rejects.toMatchObject({
      response: { status: 400, data: { resourceType: 'OperationOutcome', issue: [expect.objectContaining({ expression: ['Immunization.vaccineCode'] })] } },
    });
  });
});
