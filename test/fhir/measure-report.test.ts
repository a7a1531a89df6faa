// Surveillance feeds over FHIR: a MeasureReport of a pharmacy's daily sales lands in the same series as the feeds API,
// a resend or PUT corrects it instead of adding to it, `error` withdraws it, bad reports name the element, and only the
// sender and the CDC read it.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { districtOf, type District, type Inst, type Reg } from '../helpers/surveillance.ts';
import { dateAfter } from '../../src/modules/surveillance/feeds.ts';

type Json = Record<string, any>;
const FHIR_JSON = { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' };
const MEASURE = 'https://caregrid.dev/fhir/Measure/surveillance-pharmacy';
const CATEGORY = 'https://caregrid.dev/fhir/CodeSystem/surveillance-category';
// a day long past: the seeded synthetic feeds never touch it, so the sums are exact
const DAY = '2004-03-15';

let s: TestServer;
let d: District;
let cdc: string, pharmacy: string, otherPharmacy: string, doctor: string;
let shop: Inst;
let c1: Reg, c2: Reg;

beforeAll(async () => {
  s = await startTestServer({ listen: false });
  d = await districtOf(s);
  cdc = await s.login('cdc1');
  doctor = await s.login('doctor1');
  const [a, b] = d.byType('pharmacy');
  shop = a;
  pharmacy = await d.accountOf(a, 'fhir.pharmacy.a');
  otherPharmacy = await d.accountOf(b, 'fhir.pharmacy.b');
  [c1, c2] = d.communities;
});
afterAll(async () => s?.close());

const report = (over: Json = {}): Json => ({
  resourceType: 'MeasureReport', status: 'complete', type: 'summary', measure: MEASURE,
  identifier: [{ system: 'urn:pharmacy-pos', value: 'daily-2004-03-15' }],
  subject: { reference: `Location/${c1.id}` }, period: { start: DAY, end: DAY },
  group: [
    { code: { coding: [{ system: CATEGORY, code: 'antipyretic' }] }, measureScore: { value: 12 } },
    { code: { coding: [{ system: CATEGORY, code: 'cough' }] }, population: [{ count: 5 }] },
  ],
  ...over,
});
const fhir = (method: 'POST' | 'PUT' | 'GET', url: string, cookie: string, body?: Json) =>
  s.app.inject({ method, url: `/fhir/R4/${url}`, headers: { cookie, ...FHIR_JSON }, ...(body ? { payload: JSON.stringify(body) } : {}) });

/** The day's pharmacy counts of a community by category, as the CDC reads them through the feeds API. */
async function sums(region: Reg, day = DAY): Promise<Record<string, number>> {
  const r = await s.app.inject({ url: `/api/v1/surveillance/series?sourceCode=pharmacy&regionId=${region.id}&from=${day}&to=${day}`, headers: { cookie: cdc } });
  expect(r.statusCode, r.body).toBe(200);
  return Object.fromEntries(r.json().series.map((x: Json) => [x.categoryCode, x.values[0]]));
}

describe('MeasureReport', () => {
  let id: string;
  test('a report lands in the series; sending it again corrects it, never adds to it', async () => {
    const created = await fhir('POST', 'MeasureReport', pharmacy, report());
    expect(created.statusCode, created.body).toBe(201);
    id = created.json().id;
    expect(created.json()).toMatchObject({ resourceType: 'MeasureReport', status: 'complete', measure: MEASURE, reporter: { reference: `Organization/${shop.id}` }, period: { start: DAY, end: DAY } });
    expect(await sums(c1)).toMatchObject({ antipyretic: 12, cough: 5 });

    const again = await fhir('POST', 'MeasureReport', pharmacy, report({ group: [{ code: { coding: [{ system: CATEGORY, code: 'antipyretic' }] }, measureScore: { value: 15 } }] }));
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json().id).toBe(id);
    expect(again.json().meta.versionId).toBe('2');
    // the category the corrected report no longer carries is cleared, not left stale
    expect(await sums(c1)).toMatchObject({ antipyretic: 15, cough: 0 });
  });

  test('a PUT that moves the report to another community clears the first; error withdraws it; history keeps every version', async () => {
    const moved = await fhir('PUT', `MeasureReport/${id}`, pharmacy, { ...report({ subject: { reference: `Location/${c2.id}` } }), id });
    expect(moved.statusCode, moved.body).toBe(200);
    expect(await sums(c1)).toMatchObject({ antipyretic: 0 });
    expect(await sums(c2)).toMatchObject({ antipyretic: 12, cough: 5 });
    const withdrawn = await fhir('PUT', `MeasureReport/${id}`, pharmacy, { ...report({ subject: { reference: `Location/${c2.id}` }, status: 'error' }), id });
    expect(withdrawn.statusCode, withdrawn.body).toBe(200);
    expect(await sums(c2)).toMatchObject({ antipyretic: 0, cough: 0 });
    const history = (await fhir('GET', `MeasureReport/${id}/_history`, cdc)).json();
    expect(history.entry.map((e: Json) => e.resource.meta.versionId)).toEqual(['4', '3', '2', '1']);
  });

  test('bad reports are refused naming the element, and write nothing', async () => {
    const cases: [Json, string][] = [
      [report({ measure: 'https://caregrid.dev/fhir/Measure/surveillance-nosuch' }), 'MeasureReport.measure'],
      [report({ group: [{ code: { coding: [{ system: CATEGORY, code: 'nosuch' }] }, measureScore: { value: 1 } }] }), 'MeasureReport.group[0].code'],
      [report({ group: [{ code: { coding: [{ system: CATEGORY, code: 'cough' }] }, measureScore: { value: -3 } }] }), 'MeasureReport.group[0].measureScore.value'],
      [report({ period: { start: DAY, end: dateAfter(DAY, 1) } }), 'MeasureReport.period'],
      [report({ type: 'individual' }), 'MeasureReport.type'],
      [report({ subject: { reference: 'Location/99999999' } }), 'MeasureReport.subject'],
      [report({ identifier: [{ value: 'x' }], group: undefined }), 'MeasureReport.group'],
    ];
    for (const [body, element] of cases) {
      const r = await fhir('POST', 'MeasureReport', pharmacy, { ...body, identifier: [{ value: `bad-${element}` }] });
      expect(r.statusCode, `${element}: ${r.body}`).toBeGreaterThanOrEqual(400);
      expect(r.statusCode).toBeLessThan(500);
      expect(r.json().resourceType).toBe('OperationOutcome');
      expect(JSON.stringify(r.json().issue), element).toContain(element);
    }
    // a pharmacy does not report fever-clinic visits
    const wrong = await fhir('POST', 'MeasureReport', pharmacy, report({ measure: 'https://caregrid.dev/fhir/Measure/surveillance-fever_clinic', identifier: [{ value: 'fc' }], group: [{ code: { coding: [{ system: CATEGORY, code: 'visits' }] }, measureScore: { value: 3 } }] }));
    expect(wrong.statusCode, wrong.body).toBeGreaterThanOrEqual(400);
    expect(wrong.statusCode).toBeLessThan(500);
    const r = await s.app.inject({ url: `/api/v1/surveillance/series?sourceCode=fever_clinic&regionId=${c1.id}&from=${DAY}&to=${DAY}`, headers: { cookie: cdc } });
    expect(r.json().series.every((x: Json) => x.values[0] === 0)).toBe(true);
  });

  test('only the sender and the CDC read reports; another pharmacy cannot change them', async () => {
    expect((await fhir('GET', `MeasureReport/${id}`, cdc)).statusCode).toBe(200);
    expect((await fhir('GET', `MeasureReport/${id}`, otherPharmacy)).statusCode).toBe(403);
    const search = (cookie: string) => fhir('GET', `MeasureReport?measure=${encodeURIComponent(MEASURE)}&date=${DAY}`, cookie);
    expect((await search(pharmacy)).json().total).toBe(1);
    expect((await search(cdc)).json().total).toBe(1);
    expect((await search(otherPharmacy)).json().total).toBe(0);
    expect((await fhir('GET', 'MeasureReport', doctor)).json().total ?? 0).toBe(0);
    const put = await fhir('PUT', `MeasureReport/${id}`, otherPharmacy, { ...report(), id });
    expect(put.statusCode).toBe(403);
    // the CDC may report for a named institution
    const named = await fhir('POST', 'MeasureReport', cdc, report({ identifier: [{ value: 'keyed-in' }], reporter: { reference: `Organization/${shop.id}` }, period: { start: '2004-03-16', end: '2004-03-16' } }));
    expect(named.statusCode, named.body).toBe(201);
    expect(await sums(c1, '2004-03-16')).toMatchObject({ antipyretic: 12, cough: 5 });
  });

  test('the CapabilityStatement lists MeasureReport with its search parameters', async () => {
    const cap = (await fhir('GET', 'metadata', cdc)).json();
    const mr = cap.rest[0].resource.find((r: Json) => r.type === 'MeasureReport');
    expect(mr.searchParam.map((p: Json) => p.name)).toEqual(expect.arrayContaining(['identifier', 'subject', 'reporter', 'date', 'measure', 'status']));
  });
});
