// The shared health record through the HTTP API: a hospital's records reach the family doctor's timeline, results
// carry their recognition window, duplicate tests avoided are counted, and access outside scope needs break-glass.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let s: TestServer;
let admin: string, doctor1: string, doctor2: string, hospital: string;
let residentId: number;
const ID_SYSTEM = 'https://caregrid.dev/fhir/sid/cn-resident-id';
const req = (method: string, url: string, cookie: string, payload?: unknown) =>
  s.app.inject({ method: method as any, url, headers: { cookie, 'content-type': 'application/json' }, payload: payload === undefined ? undefined : JSON.stringify(payload) });
const daysAgo = (d: number) => new Date(Date.now() - d * 86400_000).toISOString();

function obs(n: string, code: string, display: string, value: number, unit: string, at: string, range?: [number, number]) {
  return {
    fullUrl: `urn:uuid:00000000-0000-4000-8000-0000000000${n}`,
    resource: {
      resourceType: 'Observation', status: 'final', identifier: [{ system: 'urn:test:hosp:obs', value: `obs-${n}` }],
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: code === '8480-6' ? 'vital-signs' : 'laboratory' }] }],
      code: { coding: [{ system: 'http://loinc.org', code, display }] },
      subject: { reference: `Patient?identifier=${ID_SYSTEM}|${'$ID'}` },
      encounter: { reference: 'urn:uuid:00000000-0000-4000-8000-000000000001' },
      effectiveDateTime: at, valueQuantity: { value, unit },
      ...(range ? { referenceRange: [{ low: { value: range[0], unit }, high: { value: range[1], unit } }] } : {}),
    },
    request: { method: 'POST', url: 'Observation' },
  };
}

beforeAll(async () => {
  s = await startTestServer({ listen: false });
  [admin, doctor1, doctor2, hospital] = await Promise.all([s.login('admin'), s.login('doctor1'), s.login('doctor2'), s.login('hospital.admin')]);
  residentId = (await req('GET', '/api/v1/residents?pageSize=1', doctor1)).json().items[0].id;
  const idNumber = (await req('POST', `/api/v1/residents/${residentId}/reveal-id`, admin, { purpose: 'test fixture' })).json().idNumber;
  const bundle = {
    resourceType: 'Bundle', type: 'transaction',
    entry: [
      {
        fullUrl: 'urn:uuid:00000000-0000-4000-8000-000000000001',
        resource: {
          resourceType: 'Encounter', status: 'finished', identifier: [{ system: 'urn:test:hosp:enc', value: 'enc-1' }],
          class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' }, serviceType: { text: '心内科' },
          subject: { reference: `Patient?identifier=${ID_SYSTEM}|${idNumber}` }, period: { start: daysAgo(2), end: daysAgo(2) },
        },
        request: { method: 'POST', url: 'Encounter' },
      },
      obs('11', '6690-2', 'WBC', 11.8, '10*9/L', daysAgo(2), [3.5, 9.5]),
      obs('12', '6690-2', 'WBC', 6.1, '10*9/L', daysAgo(40), [3.5, 9.5]),
      obs('13', '8480-6', 'Systolic BP', 150, 'mmHg', daysAgo(2)),
      obs('14', '8480-6', 'Systolic BP', 138, 'mmHg', daysAgo(40)),
    ],
  };
  const res = await req('POST', '/fhir/R4', hospital, JSON.parse(JSON.stringify(bundle).replaceAll('$ID', idNumber)));
  expect(res.statusCode, res.body).toBe(200);
});
afterAll(async () => s?.close());

describe('cross-institution timeline', () => {
  test('the family doctor sees the hospital’s encounter and results, newest first, with abnormal values flagged', async () => {
    const res = await req('GET', `/api/v1/residents/${residentId}/timeline`, doctor1);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    const hospitalItems = body.items.filter((i: any) => i.institutionName.includes('医院'));
    expect(hospitalItems.map((i: any) => i.type).sort()).toEqual(['encounter', 'observation', 'observation', 'observation', 'observation']);
    const times = body.items.map((i: any) => i.at);
    expect([...times].sort().reverse()).toEqual(times);
    const wbcNow = body.items.find((i: any) => i.code === '6690-2' && i.value === 11.8);
    expect(wbcNow).toMatchObject({ type: 'observation', fhirType: 'Observation', unit: '10*9/L', refLow: 3.5, refHigh: 9.5, abnormal: true, recognition: { windowDays: 7 } });
    expect(body.items.find((i: any) => i.code === '6690-2' && i.value === 6.1)).toMatchObject({ abnormal: false, recognition: null });
    expect(body.items.find((i: any) => i.type === 'encounter')).toMatchObject({ title: '心内科', category: 'outpatient' });
  });

  test('filters by type and paging', async () => {
    const res = await req('GET', `/api/v1/residents/${residentId}/timeline?types=observation&pageSize=3`, doctor1);
    expect(res.json()).toMatchObject({ total: 4, page: 1, pageSize: 3 });
    expect(res.json().items).toHaveLength(3);
    expect((await req('GET', `/api/v1/residents/${residentId}/timeline?types=bogus`, doctor1)).statusCode).toBe(400);
  });

  test('trends list the numeric series and give points oldest first', async () => {
    const series = (await req('GET', `/api/v1/residents/${residentId}/trends`, doctor1)).json().series;
    expect(series.map((x: any) => x.code).sort()).toEqual(['6690-2', '8480-6']);
    const bp = (await req('GET', `/api/v1/residents/${residentId}/trends?code=8480-6&system=http://loinc.org`, doctor1)).json();
    expect(bp.points.map((p: any) => p.value)).toEqual([138, 150]);
    expect(bp).toMatchObject({ unit: 'mmHg', display: 'Systolic BP' });
  });

  test('every view is audited, and a refusal too', async () => {
    const denied = await req('GET', `/api/v1/residents/${residentId}/timeline`, doctor2);
    expect(denied.statusCode).toBe(403);
    expect(denied.json().code).toBe('OUT_OF_SCOPE');
    const events = (await req('GET', `/api/v1/audit?residentId=${residentId}&pageSize=100`, admin)).json().items;
    expect(events.some((e: any) => e.username === 'doctor1' && e.resourceType === 'Timeline' && e.outcome === 'success')).toBe(true);
    expect(events.some((e: any) => e.username === 'doctor2' && e.resourceType === 'Timeline' && e.outcome === 'denied')).toBe(true);
  });
});

describe('mutual recognition of results', () => {
  test('before ordering, recent results inside their window can be reused, and reuse is counted per institution and month', async () => {
    const list = (await req('GET', `/api/v1/residents/${residentId}/recognition?code=6690-2&system=http://loinc.org`, doctor1)).json().items;
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ code: '6690-2', value: 11.8, windowDays: 7, category: 'laboratory' });
    expect(new Date(list[0].validUntil).getTime() - new Date(list[0].at).getTime()).toBe(7 * 86400_000);
    const reuse = await req('POST', `/api/v1/residents/${residentId}/recognition/reuse`, doctor1, { observationId: list[0].observationId });
    expect(reuse.statusCode, reuse.body).toBe(201);
    const month = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 7);
    const stats = (await req('GET', `/api/v1/recognition/stats?from=${month}&to=${month}`, admin)).json().items;
    expect(stats).toEqual([expect.objectContaining({ month, institutionId: reuse.json().institutionId, avoided: 1 })]);
  });

  test('a result past its window cannot be reused', async () => {
    const timeline = (await req('GET', `/api/v1/residents/${residentId}/timeline?types=observation`, doctor1)).json().items;
    const old = timeline.find((i: any) => i.code === '6690-2' && i.value === 6.1);
    const res = await req('POST', `/api/v1/residents/${residentId}/recognition/reuse`, doctor1, { observationId: old.id });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'INVALID_STATE', field: 'observationId' });
  });

  test('windows are data the district admin edits; vital signs are never recognised', async () => {
    expect((await req('PUT', '/api/v1/recognition/rules', doctor1, { codeSystem: 'http://loinc.org', code: '6690-2', category: 'laboratory', name: 'WBC', windowDays: 0, active: true })).statusCode).toBe(403);
    const put = await req('PUT', '/api/v1/recognition/rules', admin, { codeSystem: 'http://loinc.org', code: '6690-2', category: 'laboratory', name: '白细胞计数', windowDays: 60, active: true });
    expect(put.statusCode, put.body).toBe(200);
    const codes = (await req('GET', `/api/v1/residents/${residentId}/recognition`, doctor1)).json().items.map((i: any) => `${i.code}:${i.value}`);
    expect(codes.sort()).toEqual(['6690-2:11.8', '6690-2:6.1']);
    await req('PUT', '/api/v1/recognition/rules', admin, { codeSystem: 'http://loinc.org', code: '6690-2', category: 'laboratory', name: '白细胞计数', windowDays: 7, active: false });
    expect((await req('GET', `/api/v1/residents/${residentId}/recognition`, doctor1)).json().items).toEqual([]);
    const rules = (await req('GET', '/api/v1/recognition/rules', doctor1)).json().items;
    expect(rules.find((r: any) => r.code === 'imaging' && r.codeSystem === '*')).toMatchObject({ windowDays: 30 });
  });
});

describe('break-glass', () => {
  test('needs a real reason, opens the record for the day, is reviewed by the district admin and ends when unjustified', async () => {
    const short = await req('POST', `/api/v1/residents/${residentId}/break-glass`, doctor2, { reason: 'urgent' });
    expect(short.statusCode).toBe(400);
    const g = await req('POST', `/api/v1/residents/${residentId}/break-glass`, doctor2, { reason: '急诊抢救，患者昏迷需查既往病史与用药' });
    expect(g.statusCode, g.body).toBe(201);
    expect(new Date(g.json().expiresAt).getTime()).toBeGreaterThan(Date.now() + 23 * 3600_000);
    expect((await req('GET', `/api/v1/residents/${residentId}/timeline`, doctor2)).statusCode).toBe(200);
    expect((await req('GET', '/api/v1/break-glass', doctor1)).statusCode).toBe(403);
    const pending = (await req('GET', '/api/v1/break-glass?status=pending', admin)).json();
    expect(pending.items[0]).toMatchObject({ id: g.json().id, residentId, username: 'doctor2', reviewStatus: 'pending', reason: '急诊抢救，患者昏迷需查既往病史与用药' });
    const review = await req('POST', `/api/v1/break-glass/${g.json().id}/review`, admin, { decision: 'unjustified', note: '非急诊' });
    expect(review.json()).toMatchObject({ reviewStatus: 'unjustified', reviewNote: '非急诊' });
    expect((await req('GET', `/api/v1/residents/${residentId}/timeline`, doctor2)).statusCode).toBe(403);
    const audit = (await req('GET', `/api/v1/audit?residentId=${residentId}&action=break_glass`, admin)).json().items;
    expect(audit).toEqual([expect.objectContaining({ username: 'doctor2', purpose: '急诊抢救，患者昏迷需查既往病史与用药' })]);
  });

  test('unknown resident is a 404', async () => {
    expect((await req('POST', '/api/v1/residents/999999999/break-glass', doctor2, { reason: '急诊抢救需要查看病史' })).statusCode).toBe(404);
  });
});

describe('merges carry the record', () => {
  test('merging a duplicate moves its records to the survivor; undoing the merge moves them back', async () => {
    const dup = await req('POST', '/fhir/R4/Patient', admin, { resourceType: 'Patient', identifier: [{ system: 'urn:test:mrn', value: 'MRN-merge-1' }], name: [{ text: '孙三' }], gender: 'female', birthDate: '1962-05-06' });
    expect(dup.statusCode, dup.body).toBe(201);
    const dupId = Number(dup.json().id);
    const o = await req('POST', '/fhir/R4/Observation', admin, {
      resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '1558-6', display: 'FPG' }] },
      subject: { reference: `Patient/${dupId}` }, effectiveDateTime: daysAgo(1), valueQuantity: { value: 7.9, unit: 'mmol/L' },
    });
    expect(o.statusCode, o.body).toBe(201);
    const m = await req('POST', `/api/v1/residents/${residentId}/merge`, admin, { duplicateId: dupId, reason: '同一人，重复建档' });
    expect(m.statusCode, m.body).toBe(200);
    const onSurvivor = (await req('GET', `/fhir/R4/Observation?patient=${residentId}&code=http://loinc.org|1558-6`, admin)).json();
    expect(onSurvivor.entry.map((e: any) => e.resource.id)).toEqual([o.json().id]);
    expect((await req('GET', `/fhir/R4/Patient?identifier=urn:test:mrn|MRN-merge-1`, admin)).json().entry[0].resource.id).toBe(String(residentId));
    expect((await req('POST', `/api/v1/merges/${m.json().id}/undo`, admin, {})).statusCode).toBe(200);
    const back = (await req('GET', `/fhir/R4/Observation?patient=${dupId}`, admin)).json();
    expect(back.entry.map((e: any) => e.resource.id)).toEqual([o.json().id]);
    expect((await req('GET', `/fhir/R4/Observation?patient=${residentId}&code=http://loinc.org|1558-6`, admin)).json().total).toBe(0);
  });
});
