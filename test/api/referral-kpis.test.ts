// Referral KPIs on a scenario small enough to count by hand: seven cases between one community centre and one
// hospital this month, and one slot pool in a month of its own.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import ExcelJS from 'exceljs';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { releaseReservedSlots } from '../../src/modules/referral/service.ts';

type Json = Record<string, any>;
let s: TestServer;
let admin: string, desk: string, doctor: string, hospitalAdmin: string, centreAdmin: string;
let hospital: number, centre: number;
let thisMonth: string, poolMonth: string;
const db = () => s.started.ctx.db;
const get = (url: string, cookie: string) => s.app.inject({ url, headers: { cookie } });
const post = (url: string, cookie: string, payload: unknown = {}) => s.app.inject({ method: 'POST', url, headers: { cookie }, payload: payload as any });

function localDate(days: number): string {
  return new Date(Date.now() + 8 * 3600_000 + days * 86_400_000).toISOString().slice(0, 10);
}

async function ok(r: Promise<{ statusCode: number; body: string; json(): any }>): Promise<Json> {
  const res = await r;
  expect(res.statusCode, res.body).toBeLessThan(300);
  return res.json();
}

beforeAll(async () => {
  s = await startTestServer();
  [admin, desk, doctor, hospitalAdmin, centreAdmin] = await Promise.all(['admin', 'referral1', 'doctor1', 'hospital.admin', 'inst.admin'].map((u) => s.login(u)));
  const ids = await db().query("SELECT username, institution_id FROM app_user WHERE username IN ('referral1', 'doctor1')");
  hospital = Number(ids.rows.find((r) => r.username === 'referral1')!.institution_id);
  centre = Number(ids.rows.find((r) => r.username === 'doctor1')!.institution_id);
  thisMonth = localDate(0).slice(0, 7);
  const poolDate = localDate(100);
  poolMonth = poolDate.slice(0, 7);
  // one session of 10 places, 3 reserved for primary care (ceil 30%)
  const pool = await ok(post('/api/v1/slot-pools', desk, { department: '心内科', date: poolDate, startTime: '08:00', endTime: '10:00', capacity: 10 }));
  const reserved = pool.slots.filter((x: Json) => x.reservedFor).map((x: Json) => x.id);
  const residents = (await ok(get('/fhir/R4/Patient?_count=10', doctor))).entry.map((e: Json) => Number(e.resource.id));
  const up = (i: number, extra: Json = {}) => ok(post('/api/v1/referrals', doctor, { direction: 'up', residentId: residents[i], targetInstitutionId: hospital, reason: '专科评估', ...extra }));
  const act = (id: number, action: string, cookie = desk, body: Json = {}) => ok(post(`/api/v1/referrals/${id}/${action}`, cookie, body));

  // A: booked in a reserved place, seen, summary returned → scheduled, completed, closed
  const a = await up(0, { slotId: reserved[0] });
  await act(a.id, 'accept');
  await act(a.id, 'arrive');
  await act(a.id, 'complete', desk, { summary: '诊疗结果' });
  // B: accepted, waiting
  const b = await up(1);
  await act(b.id, 'accept');
  // C: rejected (not an acceptance)
  const c = await up(2);
  await act(c.id, 'reject', desk, { note: '不符合转诊指征' });
  // D: booked in a reserved place, never came
  const d = await up(3, { slotId: reserved[1] });
  await act(d.id, 'accept');
  await act(d.id, 'no-show');
  // E: accepted, seen, completed without a summary yet
  const e = await up(4);
  await act(e.id, 'accept');
  await act(e.id, 'arrive');
  await act(e.id, 'complete');
  // F, G: discharged to the community; F followed up, G not yet due
  const f = await ok(post('/api/v1/referrals', desk, { direction: 'down', residentId: residents[0], reason: '出院随访', targetInstitutionId: centre }));
  await ok(post('/api/v1/referrals', desk, { direction: 'down', residentId: residents[3], reason: '出院随访', targetInstitutionId: centre }));
  await act(f.id, 'follow-up', centreAdmin, { note: '已随访' });
  // the third reserved place is released (the release rule, run as at the session's start)
  await releaseReservedSlots(db(), new Date(`${poolDate}T08:00:00+08:00`));
});
afterAll(async () => s?.close());

describe('referral KPIs', () => {
  test('the hospital’s month, counted by hand', async () => {
    const rows = await ok(get(`/api/v1/referral-kpis?from=${thisMonth}&to=${poolMonth}&institutionId=${hospital}`, admin));
    const month = rows.find((r: Json) => r.month === thisMonth);
    expect(month).toMatchObject({
      unitId: hospital, upSent: 0, upReceived: 5, downSent: 2, downReceived: 0,
      answered: 4, // A, B, D, E (C was rejected)
      scheduled: 2, noShows: 1, noShowRate: 0.5, // A and D were booked; D never came
      completedUp: 2, closedUp: 1, loopClosureRate: 0.5, // A closed with a summary, E not yet
      downDue: 0, downInTime: 0, downInTimeRate: null, // the follow-up is the community team's
    });
    expect(month.medianAcceptanceHours).toBeGreaterThanOrEqual(0);
    expect(month.medianAcceptanceHours).toBeLessThan(0.1);
    const slots = rows.find((r: Json) => r.month === poolMonth);
    expect(slots).toMatchObject({ reservedSlots: 3, reservedUsed: 2, reservedReleased: 1, reservedUsedRate: 0.6667, reservedReleasedRate: 0.3333, upReceived: 0 });
  });

  test('the community centre’s month', async () => {
    const rows = await ok(get(`/api/v1/referral-kpis?from=${thisMonth}&to=${thisMonth}&institutionId=${centre}`, admin));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ upSent: 5, upReceived: 0, downReceived: 2, downDue: 1, downInTime: 1, downInTimeRate: 1, answered: 0, medianAcceptanceHours: null });
  });

  test('an institution admin sees their own institution only; a family doctor sees none; bad months are refused', async () => {
    const own = await ok(get(`/api/v1/referral-kpis?from=${thisMonth}&to=${thisMonth}`, hospitalAdmin));
    expect(own.map((r: Json) => r.unitId)).toEqual([hospital]);
    expect((await get(`/api/v1/referral-kpis?from=${thisMonth}&to=${thisMonth}`, doctor)).statusCode).toBe(403);
    expect((await get(`/api/v1/referral-kpis?from=${thisMonth}&to=${thisMonth}&groupBy=consortium`, hospitalAdmin)).statusCode).toBe(403);
    const bad = await get('/api/v1/referral-kpis?from=2026-13&to=2026-12', admin);
    expect(bad.json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'from' });
  });

  test('per consortium, and as an Excel workbook', async () => {
    const rows = await ok(get(`/api/v1/referral-kpis?from=${thisMonth}&to=${thisMonth}&groupBy=consortium`, admin));
    const total = rows.reduce((n: number, r: Json) => n + r.upReceived, 0);
    expect(total).toBeGreaterThanOrEqual(5);
    const res = await s.app.inject({ url: `/api/v1/referral-kpis.xlsx?from=${thisMonth}&to=${thisMonth}&institutionId=${hospital}`, headers: { cookie: admin } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('spreadsheetml');
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(res.rawPayload as any);
    const ws = wb.worksheets[0];
    expect(ws.getRow(2).getCell(1).value).toBe('月份');
    const api = (await ok(get(`/api/v1/referral-kpis?from=${thisMonth}&to=${thisMonth}&institutionId=${hospital}`, admin)))[0];
    const cells = (ws.getRow(4).values as unknown[]).slice(1);
    expect(cells.slice(0, 6)).toEqual([thisMonth, api.unitName, 0, 5, 2, 0]);
    expect(cells[10]).toBe(0.5); // no-show rate
    expect(cells[11]).toBe(0.5); // loop closure
    expect(cells[7]).toBe(api.reservedSlots);
  });
});
