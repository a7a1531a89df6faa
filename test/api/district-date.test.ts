// Dates that default to "today" are the district's local date (Asia/Shanghai), not the database's or the UTC date: a
// contract signed at 07:30 Beijing time (23:30 UTC the day before) starts on the Beijing day, the team reaches the
// resident at once, the worklist is that day's, and a cancellation ends the contract on the Beijing day before. The
// clock is pinned (JavaScript's Date only; timers run) a little before the real day, so a server that took the
// database's current_date would answer another day.
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

type Json = Record<string, any>;
const DAY = 86_400_000;
let s: TestServer;
let team1: number;
let free: number[];
const db = () => s.started.ctx.db;

/** A UTC day two days before the real one, as YYYY-MM-DD. */
const utcDay = new Date(Date.now() - 2 * DAY).toISOString().slice(0, 10);
const nextDay = new Date(Date.parse(`${utcDay}T00:00:00Z`) + DAY).toISOString().slice(0, 10);

beforeAll(async () => {
  s = await startTestServer({ listen: false });
  team1 = Number((await db().query("SELECT team_id FROM app_user WHERE username = 'doctor1'")).rows[0].team_id);
  const { rows } = await db().query(
    `SELECT r.id FROM resident r JOIN team_grid tg ON tg.grid_id = r.grid_id
      WHERE tg.team_id = $1 AND r.status = 'active' AND NOT EXISTS (SELECT 1 FROM care_relationship cr WHERE cr.resident_id = r.id) ORDER BY r.id`,
    [team1],
  );
  free = rows.map((r) => Number(r.id));
});
afterEach(() => {
  vi.useRealTimers();
});
afterAll(async () => s?.close());

/** Signs a contract for the next free resident at `at` (UTC) without a start date: the server picks the day. */
async function signAt(at: string): Promise<{ residentId: number; contract: Json; doctor: string }> {
  vi.useFakeTimers({ toFake: ['Date'], now: new Date(at) });
  const doctor = await s.login('doctor1');
  const residentId = free.shift()!;
  const r = await s.app.inject({ method: 'POST', url: '/api/v1/contracts', headers: { cookie: doctor }, payload: { residentId, teamId: team1, packages: ['basic'], consent: { method: 'written', signedBy: 'self' } } });
  expect(r.statusCode, r.body).toBe(201);
  return { residentId, contract: r.json(), doctor };
}

describe('the district’s local date (Asia/Shanghai)', () => {
  test('signed at 07:30 Beijing time (23:30 UTC the day before): the contract starts on the Beijing day and is in force', async () => {
    const { residentId, contract, doctor } = await signAt(`${utcDay}T23:30:00Z`);
    expect(contract).toMatchObject({ status: 'active', startDate: nextDay });
    // the default term (12 months) runs from the Beijing day
    const [y, m, d] = nextDay.split('-').map(Number);
    expect(contract.endDate).toBe(new Date(Date.UTC(y + 1, m - 1, d) - DAY).toISOString().slice(0, 10));
    // the team reaches the resident at once (its care relationship starts today in Beijing), and the list says active
    const read = await s.app.inject({ url: `/api/v1/residents/${residentId}`, headers: { cookie: doctor } });
    expect(read.statusCode, read.body).toBe(200);
    const list = await s.app.inject({ url: `/api/v1/contracts?residentId=${residentId}&status=active`, headers: { cookie: doctor } });
    expect(list.json()).toMatchObject({ total: 1, items: [{ id: contract.id, startDate: nextDay, status: 'active' }] });
    // the worklist of "today" is the Beijing day
    const work = await s.app.inject({ url: '/api/v1/worklist?pageSize=1', headers: { cookie: doctor } });
    expect(work.statusCode, work.body).toBe(200);
    expect(work.json().date).toBe(nextDay);
    // cancelled the same morning: it ends on its start day (the day before would precede it), and the team's access with it
    const cancel = await s.app.inject({ method: 'POST', url: `/api/v1/contracts/${contract.id}/cancel`, headers: { cookie: doctor }, payload: { reason: '居民要求解约' } });
    expect(cancel.statusCode, cancel.body).toBe(200);
    expect(cancel.json()).toMatchObject({ status: 'cancelled', startDate: nextDay, endDate: nextDay });
    const rel = await db().query("SELECT valid_from::text AS f, valid_to::text AS t FROM care_relationship WHERE resident_id = $1 AND kind = 'contract'", [residentId]);
    expect(rel.rows).toEqual([{ f: nextDay, t: utcDay }]);
  });

  test('at the boundary: 23:59:59 Beijing time is still the UTC day, 00:00 Beijing time the next', async () => {
    expect((await signAt(`${utcDay}T15:59:59Z`)).contract.startDate).toBe(utcDay);
    expect((await signAt(`${utcDay}T16:00:00Z`)).contract.startDate).toBe(nextDay);
  });
});

describe('dates in queries are calendar dates', () => {
  test('an impossible day (2024-02-30) is a 400 naming the field, not rolled over or refused by the database', async () => {
    const doctor = await s.login('doctor1');
    const bad = await s.app.inject({ url: '/api/v1/worklist?date=2024-02-30', headers: { cookie: doctor } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'date' });
    const leap = await s.app.inject({ url: '/api/v1/worklist?date=2024-02-29&pageSize=1', headers: { cookie: doctor } });
    expect(leap.statusCode).toBe(200);
    expect(leap.json().date).toBe('2024-02-29');
  });
});
