// The FHIR interactions themselves: transactions (order, urn:uuid, rollback), batches, idempotent resends, versions,
// conditional create, OperationOutcome errors in both languages, scope and audit of FHIR reads.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { makeIdNumber } from '../../src/platform/idcard.ts';

let s: TestServer;
let admin: string, doctor1: string, doctor2: string, hospital: string;
const fhir = (method: string, url: string, cookie: string, body?: unknown, headers: Record<string, string> = {}) =>
  s.app.inject({ method: method as any, url: `/fhir/R4${url}`, headers: { cookie, 'content-type': 'application/fhir+json', ...headers }, payload: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
const uuid = (n: number) => `urn:uuid:6b1f1d4c-0000-4000-8000-${String(n).padStart(12, '0')}`;

function patient(mrn: string, extra: Record<string, unknown> = {}) {
  return { resourceType: 'Patient', identifier: [{ system: 'urn:test:mrn', value: mrn }], name: [{ text: `患者${mrn.slice(-3)}` }], gender: 'male', birthDate: '1950-02-03', ...extra };
}
function encounter(subject: string, id?: string) {
  return { resourceType: 'Encounter', status: 'finished', ...(id ? { identifier: [{ system: 'urn:test:enc', value: id }] } : {}), class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' }, subject: { reference: subject }, period: { start: '2026-10-01T08:00:00+08:00', end: '2026-10-09T10:00:00+08:00' } };
}
function observation(subject: string, enc: string | null, value: number, status = 'final', id?: string) {
  return {
    resourceType: 'Observation', status, ...(id ? { identifier: [{ system: 'urn:test:obs', value: id }] } : {}),
    code: { coding: [{ system: 'http://loinc.org', code: '8480-6', display: '收缩压' }] }, subject: { reference: subject },
    ...(enc ? { encounter: { reference: enc } } : {}), effectiveDateTime: '2026-10-02T09:00:00+08:00', valueQuantity: { value, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' },
  };
}
const count = async (url: string) => (await fhir('GET', `${url}${url.includes('?') ? '&' : '?'}_summary=count`, admin)).json().total as number;

beforeAll(async () => {
  s = await startTestServer({ listen: false });
  [admin, doctor1, doctor2, hospital] = await Promise.all([s.login('admin'), s.login('doctor1'), s.login('doctor2'), s.login('hospital.admin')]);
});
afterAll(async () => s?.close());

describe('transactions', () => {
  test('entries are processed in dependency order whatever their order in the bundle, and references come back resolved', async () => {
    const b = {
      resourceType: 'Bundle', type: 'transaction', entry: [
        { fullUrl: uuid(3), resource: observation(uuid(1), uuid(2), 151), request: { method: 'POST', url: 'Observation' } },
        { fullUrl: uuid(2), resource: encounter(uuid(1)), request: { method: 'POST', url: 'Encounter' } },
        { fullUrl: uuid(1), resource: patient('T-001'), request: { method: 'POST', url: 'Patient' } },
      ],
    };
    const res = await fhir('POST', '', admin, b);
    expect(res.statusCode, res.body).toBe(200);
    const out = res.json();
    expect(out).toMatchObject({ resourceType: 'Bundle', type: 'transaction-response' });
    expect(out.entry.map((e: any) => e.response.status)).toEqual(['201 Created', '201 Created', '201 Created']);
    const [o, e, p] = out.entry.map((x: any) => x.resource);
    expect(o.subject.reference).toBe(`Patient/${p.id}`);
    expect(o.encounter.reference).toBe(`Encounter/${e.id}`);
    expect(out.entry[0].response.location).toBe(`Observation/${o.id}/_history/1`);
  });

  test('one bad entry rolls back every entry, and the OperationOutcome names the entry and element', async () => {
    const before = await count('/Encounter');
    const b = {
      resourceType: 'Bundle', type: 'transaction', entry: [
        { fullUrl: uuid(11), resource: patient('T-011'), request: { method: 'POST', url: 'Patient' } },
        { fullUrl: uuid(12), resource: encounter(uuid(11)), request: { method: 'POST', url: 'Encounter' } },
        { fullUrl: uuid(13), resource: { ...observation(uuid(11), uuid(12), 140), effectiveDateTime: '2026-02-30T09:00:00+08:00' }, request: { method: 'POST', url: 'Observation' } },
      ],
    };
    const res = await fhir('POST', '', admin, b, { 'accept-language': 'en' });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toContain('application/fhir+json');
    expect(res.json()).toEqual({
      resourceType: 'OperationOutcome',
      issue: [{
        severity: 'error', code: 'value', expression: ['Bundle.entry[2].resource.effectiveDateTime'],
        details: { coding: [{ system: 'https://caregrid.dev/fhir/CodeSystem/error', code: 'FHIR_INVALID' }], text: 'Invalid Observation.effectiveDateTime: "2026-02-30T09:00:00+08:00" is not a valid dateTime' },
        diagnostics: 'Invalid Observation.effectiveDateTime: "2026-02-30T09:00:00+08:00" is not a valid dateTime',
      }],
    });
    expect(await count('/Patient?identifier=urn:test:mrn|T-011')).toBe(0);
    expect(await count('/Encounter')).toBe(before);
  });

  test('a reference to a placeholder that is not in the bundle, or to a missing resource, is refused', async () => {
    const missing = await fhir('POST', '', admin, { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: observation(uuid(99), null, 120), request: { method: 'POST', url: 'Observation' } }] });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().issue[0]).toMatchObject({ code: 'not-found', expression: ['Bundle.entry[0].resource.subject.reference'] });
    const gone = await fhir('POST', '/Observation', admin, observation('Patient/987654321', null, 120));
    expect(gone.statusCode).toBe(400);
    expect(gone.json().issue[0].expression).toEqual(['Observation.subject.reference']);
  });

  test('conditional references and If-None-Exist resolve through identifiers', async () => {
    const p = await fhir('POST', '/Patient', admin, patient('T-021'));
    expect(p.statusCode).toBe(201);
    const o = await fhir('POST', '/Observation', admin, observation('Patient?identifier=urn:test:mrn|T-021', null, 133));
    expect(o.statusCode, o.body).toBe(201);
    expect(o.json().subject.reference).toBe(`Patient/${p.json().id}`);
    const again = await fhir('POST', '/Patient', admin, patient('T-021', { name: [{ text: '别的名字' }] }), { 'if-none-exist': 'identifier=urn:test:mrn|T-021' });
    expect(again.statusCode).toBe(200);
    expect(again.json().id).toBe(p.json().id);
  });
});

describe('idempotent writes and versions', () => {
  test('resending a record with the same sender identifier updates it instead of duplicating; an identical resend makes no new version', async () => {
    const p = (await fhir('POST', '/Patient', admin, patient('T-031'))).json();
    const first = await fhir('POST', '/Observation', admin, observation(`Patient/${p.id}`, null, 160, 'preliminary', 'LIS-31'));
    expect(first.statusCode).toBe(201);
    const same = await fhir('POST', '/Observation', admin, observation(`Patient/${p.id}`, null, 160, 'preliminary', 'LIS-31'));
    expect(same.statusCode).toBe(200);
    expect(same.json()).toMatchObject({ id: first.json().id, meta: { versionId: '1' } });
    const corrected = await fhir('POST', '/Observation', admin, observation(`Patient/${p.id}`, null, 158, 'final', 'LIS-31'));
    expect(corrected.json()).toMatchObject({ id: first.json().id, status: 'final', valueQuantity: { value: 158 }, meta: { versionId: '2' } });
    expect(await count(`/Observation?identifier=urn:test:obs|LIS-31`)).toBe(1);
    const hist = (await fhir('GET', `/Observation/${first.json().id}/_history`, admin)).json();
    expect(hist.entry.map((e: any) => [e.resource.meta.versionId, e.resource.valueQuantity.value])).toEqual([['2', 158], ['1', 160]]);
    const v1 = await fhir('GET', `/Observation/${first.json().id}/_history/1`, admin);
    expect(v1.json()).toMatchObject({ status: 'preliminary', valueQuantity: { value: 160 } });
    expect(v1.headers.etag).toBe('W/"1"');
  });

  test('If-Match protects against lost updates', async () => {
    const o = (await fhir('POST', '/Observation', admin, observation('Patient?identifier=urn:test:mrn|T-021', null, 121, 'final', 'LIS-41'))).json();
    const ok = await fhir('PUT', `/Observation/${o.id}`, admin, { ...o, status: 'amended' }, { 'if-match': 'W/"1"' });
    expect(ok.statusCode, ok.body).toBe(200);
    const stale = await fhir('PUT', `/Observation/${o.id}`, admin, { ...o, status: 'corrected' }, { 'if-match': 'W/"1"' });
    expect(stale.statusCode).toBe(412);
    expect(stale.json().issue[0].code).toBe('conflict');
    const wrongId = await fhir('PUT', `/Observation/${o.id}`, admin, { ...o, id: '1' });
    expect(wrongId.statusCode).toBe(400);
  });

  test('records are corrected, never deleted', async () => {
    const res = await fhir('DELETE', '/Observation/1', admin);
    expect(res.statusCode).toBe(405);
    expect(res.json().resourceType).toBe('OperationOutcome');
  });
});

describe('batches', () => {
  test('each entry stands alone: failures are reported per entry, successes are kept', async () => {
    const res = await fhir('POST', '', admin, {
      resourceType: 'Bundle', type: 'batch', entry: [
        { resource: patient('T-051'), request: { method: 'POST', url: 'Patient' } },
        { resource: { ...patient('T-052'), gender: 'unknown' }, request: { method: 'POST', url: 'Patient' } },
        { request: { method: 'GET', url: 'Patient?identifier=urn:test:mrn|T-051' } },
      ],
    });
    expect(res.statusCode).toBe(200);
    const out = res.json();
    expect(out.type).toBe('batch-response');
    expect(out.entry[0].response.status).toBe('201 Created');
    expect(out.entry[1].response).toMatchObject({ status: '400', outcome: { resourceType: 'OperationOutcome', issue: [{ expression: ['Bundle.entry[1].resource.gender'] }] } });
    expect(out.entry[2].resource).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 1 });
  });
});

describe('bad input is an OperationOutcome naming the element', () => {
  test.each([
    ['invalid JSON', '/Patient', '{"resourceType": "Patient",', 'structure', undefined],
    ['wrong resourceType', '/Patient', { resourceType: 'Observation' }, 'value', 'resourceType'],
    ['missing required element', '/Observation', { resourceType: 'Observation', code: { text: 'x' }, subject: { reference: 'Patient/1' } }, 'required', 'Observation.status'],
    ['invalid code', '/Observation', { ...observation('Patient/1', null, 1), status: 'done' }, 'value', 'Observation.status'],
    ['invalid LOINC code', '/Observation', { ...observation('Patient/1', null, 1), code: { coding: [{ system: 'http://loinc.org', code: '8480-5' }] } }, 'value', 'Observation.code.coding[0].code'],
    ['invalid ICD-10 code', '/Condition', { resourceType: 'Condition', code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10', code: 'hypertension' }] }, subject: { reference: 'Patient/1' } }, 'value', 'Condition.code.coding[0].code'],
    ['a date that does not exist', '/Patient', { ...patient('T-061'), birthDate: '1990-13-45' }, 'value', 'Patient.birthDate'],
    ['a dateTime without time zone', '/Encounter', { ...encounter('Patient/1'), period: { start: '2026-10-01T08:00:00' } }, 'value', 'Encounter.period.start'],
    ['a bad identity number', '/Patient', { ...patient('T-062'), identifier: [{ system: 'https://caregrid.dev/fhir/sid/cn-resident-id', value: '110101199003074515' }] }, 'value', 'Patient.identifier[0].value'],
    ['a reference of the wrong type', '/Observation', { ...observation('Encounter/1', null, 1) }, 'value', 'Observation.subject.reference'],
  ])('%s', async (_name, url, body, code, expression) => {
    const res = await fhir('POST', url, admin, body);
    expect(res.statusCode).toBe(400);
    const issue = res.json().issue[0];
    expect(res.json().resourceType).toBe('OperationOutcome');
    expect(issue.code).toBe(code);
    if (expression) expect(issue.expression).toEqual([expression]);
    expect(issue.diagnostics).toMatch(/[\u4e00-\u9fa5]/); // Chinese by default
  });

  test('unknown search parameters and resource types are refused, not ignored', async () => {
    const p = await fhir('GET', '/Patient?favourite-colour=blue', admin);
    expect(p.statusCode).toBe(400);
    expect(p.json().issue[0]).toMatchObject({ code: 'not-supported', expression: ['favourite-colour'] });
    expect((await fhir('GET', '/Patient?favourite-colour=blue', admin, undefined, { prefer: 'handling=lenient' })).statusCode).toBe(200);
    expect((await fhir('GET', '/Spaceship/1', admin)).statusCode).toBe(404);
  });
});

describe('search', () => {
  test('date prefixes, code with system, paging links and _include', async () => {
    const p = (await fhir('POST', '/Patient', admin, patient('T-071'))).json();
    const e = (await fhir('POST', '/Encounter', admin, encounter(`Patient/${p.id}`, 'E-71'))).json();
    for (const [i, v] of [128, 135, 142].entries()) {
      await fhir('POST', '/Observation', admin, { ...observation(`Patient/${p.id}`, `Encounter/${e.id}`, v, 'final', `LIS-71-${i}`), effectiveDateTime: `2026-10-0${i + 1}T09:00:00+08:00` });
    }
    const base = `/Observation?patient=Patient/${p.id}`;
    expect(await count(`${base}&date=ge2026-10-02`)).toBe(2);
    expect(await count(`${base}&date=2026-10-01`)).toBe(1);
    expect(await count(`${base}&date=lt2026-10`)).toBe(0);
    expect(await count(`${base}&date=2026-10`)).toBe(3);
    expect(await count(`${base}&code=http://loinc.org|8480-6`)).toBe(3);
    expect(await count(`${base}&code=http://snomed.info/sct|8480-6`)).toBe(0);
    const page1 = (await fhir('GET', `${base}&_count=2&_sort=date`, admin)).json();
    expect(page1.entry.map((x: any) => x.resource.valueQuantity.value)).toEqual([128, 135]);
    const next = page1.link.find((l: any) => l.relation === 'next').url as string;
    const page2 = (await fhir('GET', next.slice(next.indexOf('/fhir/R4') + 8), admin)).json();
    expect(page2.entry.map((x: any) => x.resource.valueQuantity.value)).toEqual([142]);
    const inc = (await fhir('GET', `${base}&_count=1&_include=Observation:encounter&_include=Observation:patient`, admin)).json();
    expect(inc.entry.map((x: any) => `${x.search.mode}:${x.resource.resourceType}`).sort()).toEqual(['include:Encounter', 'include:Patient', 'match:Observation']);
    expect(await count(`/Encounter?patient=${p.id}&class=IMP&date=ge2026-10-01`)).toBe(1);
  });
});

describe('scope and audit', () => {
  test('a family doctor reads only residents in scope; the refusal is an audited 403 OperationOutcome', async () => {
    const mine = (await s.app.inject({ url: '/api/v1/residents?pageSize=1', headers: { cookie: doctor1 } })).json().items[0].id;
    expect((await fhir('GET', `/Patient/${mine}`, doctor1)).statusCode).toBe(200);
    const denied = await fhir('GET', `/Patient/${mine}`, doctor2);
    expect(denied.statusCode).toBe(403);
    expect(denied.json().issue[0].code).toBe('forbidden');
    expect((await fhir('GET', `/Observation?patient=${mine}`, doctor2)).json().total).toBe(0);
    const events = (await s.app.inject({ url: `/api/v1/audit?residentId=${mine}&pageSize=50`, headers: { cookie: admin } })).json().items;
    expect(events).toEqual(expect.arrayContaining([
      expect.objectContaining({ username: 'doctor1', resourceType: 'Patient', action: 'read', outcome: 'success' }),
      expect.objectContaining({ username: 'doctor2', resourceType: 'Patient', action: 'read', outcome: 'denied' }),
    ]));
  });

  test('an institution writes only as itself, and writing a record gives it a treatment relationship to read the shared record', async () => {
    const hospitalId = (await s.app.inject({ url: '/api/v1/auth/me', headers: { cookie: hospital } })).json().user.institutionId;
    const other = (await s.app.inject({ url: '/api/v1/institutions?type=community_health_centre', headers: { cookie: admin } })).json().items[0].id;
    const idNumber = makeIdNumber('110101', '1955-04-05', 77, 'female');
    const p = await fhir('POST', '/Patient', hospital, { resourceType: 'Patient', identifier: [{ system: 'https://caregrid.dev/fhir/sid/cn-resident-id', value: idNumber }], name: [{ text: '周五' }], gender: 'female', birthDate: '1955-04-05' });
    expect(p.statusCode, p.body).toBe(201);
    expect(p.json().identifier[0].value).toBe(idNumber.slice(0, 4) + '**********' + idNumber.slice(-4));
    const asOther = await fhir('POST', '/Encounter', hospital, { ...encounter(`Patient/${p.json().id}`), serviceProvider: { reference: `Organization/${other}` } });
    expect(asOther.statusCode).toBe(403);
    const own = await fhir('POST', '/Encounter', hospital, encounter(`Patient/${p.json().id}`));
    expect(own.statusCode, own.body).toBe(201);
    expect(own.json().serviceProvider.reference).toBe(`Organization/${hospitalId}`);
    expect((await fhir('GET', `/Patient/${p.json().id}/$everything`, hospital)).statusCode).toBe(200);
    const found = (await fhir('GET', `/Patient?identifier=https://caregrid.dev/fhir/sid/cn-resident-id|${idNumber}`, hospital)).json();
    expect(found.entry.map((e: any) => e.resource.id)).toEqual([p.json().id]);
  });

  test('$everything returns the resident, their records and the recording organizations, and is audited', async () => {
    const p = (await fhir('GET', '/Patient?identifier=urn:test:mrn|T-071', admin)).json().entry[0].resource;
    const all = (await fhir('GET', `/Patient/${p.id}/$everything`, admin)).json();
    const types = all.entry.map((e: any) => e.resource.resourceType);
    expect(types[0]).toBe('Patient');
    expect(types.filter((t: string) => t === 'Observation')).toHaveLength(3);
    expect(types).toContain('Encounter');
    expect(types).toContain('Organization');
    const events = (await s.app.inject({ url: `/api/v1/audit?residentId=${p.id}&pageSize=100`, headers: { cookie: admin } })).json().items;
    expect(events.some((e: any) => e.resourceType === 'Patient/$everything')).toBe(true);
  });
});

test('the CapabilityStatement is public and tells what is supported', async () => {
  const res = await s.app.inject({ url: '/fhir/R4/metadata' });
  expect(res.statusCode).toBe(200);
  const cs = res.json();
  expect(cs).toMatchObject({ resourceType: 'CapabilityStatement', fhirVersion: '4.0.1', kind: 'instance' });
  const obs = cs.rest[0].resource.find((r: any) => r.type === 'Observation');
  expect(obs.searchParam.map((p: any) => p.name)).toEqual(expect.arrayContaining(['_id', '_lastUpdated', 'patient', 'subject', 'code', 'date', 'encounter', 'status', 'identifier']));
  expect(cs.rest[0].interaction.map((i: any) => i.code).sort()).toEqual(['batch', 'transaction']);
});
