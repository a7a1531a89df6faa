// The two whole-record reads — Patient/$everything and the timeline — check scope, read and audit in one statement:
// an unknown resident is 404, one outside scope 403 with a denied audit and nothing read, and each successful read
// writes exactly one audit event. Order, paging and totals are those of the record.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let s: TestServer;
let admin: string, doctor1: string, doctor2: string, hospital: string;
let residentId: number;
const req = (method: string, url: string, cookie: string, payload?: unknown) =>
  s.app.inject({ method: method as any, url, headers: { cookie, 'content-type': 'application/json' }, payload: payload === undefined ? undefined : JSON.stringify(payload) });
const fhir = (url: string, cookie: string) => s.app.inject({ url: `/fhir/R4${url}`, headers: { cookie } });
const audits = async (username: string) =>
  ((await req('GET', `/api/v1/audit?residentId=${residentId}&pageSize=100`, admin)).json().items as any[]).filter((e) => e.username === username);

function observation(n: number, value: number, at: string, subject: string) {
  return {
    fullUrl: `urn:uuid:00000000-0000-4000-8000-0000000001${n}`,
    resource: {
      resourceType: 'Observation', status: 'final', identifier: [{ system: 'urn:test:reads:obs', value: `obs-${n}` }],
      code: { coding: [{ system: 'http://loinc.org', code: '8480-6', display: 'Systolic BP' }] }, subject: { reference: subject },
      encounter: { reference: 'urn:uuid:00000000-0000-4000-8000-000000000100' }, effectiveDateTime: at, valueQuantity: { value, unit: 'mmHg' },
    },
    request: { method: 'POST', url: 'Observation' },
  };
}

function visit(subject: string) {
  const resource = {
    resourceType: 'Encounter', status: 'finished', identifier: [{ system: 'urn:test:reads:enc', value: 'enc-1' }], subject: { reference: subject },
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' }, period: { start: '2026-10-01T08:00:00+08:00', end: '2026-10-01T09:00:00+08:00' },
  };
  return { fullUrl: 'urn:uuid:00000000-0000-4000-8000-000000000100', resource, request: { method: 'POST', url: 'Encounter' } };
}

beforeAll(async () => {
  s = await startTestServer({ listen: false });
  const users = ['admin', 'doctor1', 'doctor2', 'hospital.admin'];
  [admin, doctor1, doctor2, hospital] = await Promise.all(users.map((u) => s.login(u)));
  // a resident of doctor1's community (doctor2 serves another), their visit recorded by the hospital
  const mine = await req('GET', '/api/v1/residents?pageSize=1', doctor1);
  residentId = mine.json().items[0].id;
  const subject = `Patient/${residentId}`;
  const entry = [visit(subject), observation(1, 131, '2026-10-01T08:10:00+08:00', subject), observation(2, 142, '2026-10-01T08:30:00+08:00', subject), observation(3, 125, '2026-10-01T08:20:00+08:00', subject)];
  const res = await req('POST', '/fhir/R4', hospital, { resourceType: 'Bundle', type: 'transaction', entry });
  expect(res.statusCode, res.body).toBe(200);
});
afterAll(async () => s?.close());

describe('Patient/$everything', () => {
  test('the resident first, then each kind newest first, then the recording organization; one audit event per call', async () => {
    const before = (await audits('doctor1')).filter((e) => e.resourceType === 'Patient/$everything').length;
    const res = await fhir(`/Patient/${residentId}/$everything`, doctor1);
    expect(res.statusCode, res.body).toBe(200);
    const b = res.json();
    const match = b.entry.filter((e: any) => e.search.mode === 'match').map((e: any) => e.resource);
    expect(match[0]).toMatchObject({ resourceType: 'Patient', id: String(residentId) });
    expect(match.filter((r: any) => r.resourceType === 'Encounter')).toHaveLength(1);
    expect(match.filter((r: any) => r.resourceType === 'Observation').map((r: any) => r.valueQuantity.value)).toEqual([142, 125, 131]);
    const orgs = b.entry.filter((e: any) => e.search.mode === 'include');
    expect(orgs.map((e: any) => e.resource.resourceType)).toEqual(['Organization']);
    expect(match.find((r: any) => r.resourceType === 'Encounter').serviceProvider.reference).toBe(`Organization/${orgs[0].resource.id}`);
    expect(b.total).toBe(b.entry.length);
    const after = (await audits('doctor1')).filter((e) => e.resourceType === 'Patient/$everything');
    expect(after).toHaveLength(before + 1);
    expect(after[0]).toMatchObject({ action: 'read', outcome: 'success', residentId, resourceId: String(residentId) });
  });

  test('_type and start narrow the record', async () => {
    const only = (await fhir(`/Patient/${residentId}/$everything?_type=Encounter`, doctor1)).json();
    expect(only.entry.map((e: any) => e.resource.resourceType)).toEqual(['Patient', 'Encounter', 'Organization']);
    const later = (await fhir(`/Patient/${residentId}/$everything?start=2026-11-01`, doctor1)).json();
    expect(later.entry.map((e: any) => e.resource.resourceType)).toEqual(['Patient']);
  });

  test('outside scope: 403, audited as denied, nothing read or audited as success — even with an invalid _type', async () => {
    for (const q of ['', '?_type=Bogus']) {
      const res = await fhir(`/Patient/${residentId}/$everything${q}`, doctor2);
      expect(res.statusCode).toBe(403);
      expect(res.json().issue[0].details.coding[0].code).toBe('OUT_OF_SCOPE');
    }
    const events = await audits('doctor2');
    expect(events.filter((e) => e.resourceType === 'Patient' && e.outcome === 'denied')).toHaveLength(2);
    expect(events.filter((e) => e.outcome === 'success')).toEqual([]);
  });

  test('an unknown resident is 404, an invalid _type for a visible one 400', async () => {
    expect((await fhir('/Patient/999999999/$everything', doctor1)).statusCode).toBe(404);
    expect((await fhir('/Patient/999999999/$everything?_type=Bogus', doctor1)).statusCode).toBe(404);
    expect((await fhir(`/Patient/${residentId}/$everything?_type=Bogus`, doctor1)).statusCode).toBe(400);
  });
});

describe('timeline', () => {
  test('pages newest first with the total of the record; a page past the end is empty with the same total', async () => {
    const all = (await req('GET', `/api/v1/residents/${residentId}/timeline?pageSize=500`, doctor1)).json();
    expect(all.total).toBe(all.items.length);
    const first = (await req('GET', `/api/v1/residents/${residentId}/timeline?pageSize=2`, doctor1)).json();
    expect(first).toMatchObject({ total: all.total, page: 1, pageSize: 2 });
    expect(first.items).toEqual(all.items.slice(0, 2));
    const second = (await req('GET', `/api/v1/residents/${residentId}/timeline?pageSize=2&page=2`, doctor1)).json();
    expect(second.items).toEqual(all.items.slice(2, 4));
    const past = (await req('GET', `/api/v1/residents/${residentId}/timeline?pageSize=2&page=999`, doctor1)).json();
    expect(past).toEqual({ items: [], total: all.total, page: 999, pageSize: 2 });
    const obs = (await req('GET', `/api/v1/residents/${residentId}/timeline?types=observation&from=2026-10-01&to=2026-10-01`, doctor1)).json();
    expect(obs.items.map((i: any) => i.value)).toEqual([142, 125, 131]);
    expect(obs.total).toBe(3);
  });

  test('one audit event per view; outside scope 403 audited as denied; unknown 404', async () => {
    const before = (await audits('doctor1')).filter((e) => e.resourceType === 'Timeline').length;
    await req('GET', `/api/v1/residents/${residentId}/timeline`, doctor1);
    expect((await audits('doctor1')).filter((e) => e.resourceType === 'Timeline')).toHaveLength(before + 1);
    const denied = await req('GET', `/api/v1/residents/${residentId}/timeline`, doctor2);
    expect(denied.statusCode).toBe(403);
    expect(denied.json().code).toBe('OUT_OF_SCOPE');
    const events = (await audits('doctor2')).filter((e) => e.resourceType === 'Timeline');
    expect(events.map((e) => e.outcome)).toEqual(['denied']);
    const unknown = await req('GET', '/api/v1/residents/999999999/timeline', doctor1);
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().code).toBe('NOT_FOUND');
  });
});
