// Family-doctor and chronic-disease KPIs through the HTTP API, on a small scenario built through the public API —
// contracts, diagnoses, follow-ups dated last year — with every expected figure worked out by hand below, boundary
// cases included (a contract starting on the reference day, readings exactly at the control thresholds, a visit
// exactly at its due time, phone visits that are not face to face, a patient managed too briefly to owe a visit, an
// enrolment that ended after the period); then access scope, the workbook and the recompute.
//
// The scenario (Y = 2025, a past year without 29 February, so the day counts below hold; Beijing time, visits at 10:00; team 1 = doctor1's, team 2 = doctor2's, in another centre):
//   R1 hypertension, contract team 1 from Y-01-01. Visits (clinic): 02-10 130/80, 05-10 128/82, 08-10 135/85,
//      11-05 138/89 — all controlled (138/89 just under 140/90). Due: 05-11 (met 05-10), 08-08 (missed: 08-10),
//      11-08 (met 11-05). Managed from 02-10: 324.58 days × 4/365 = 3.56 → 4 visits owed, 4 made.
//   R2 hypertension, contract team 1 from Y-06-01. Visits: 02-10 clinic 150/95 (due 02-24), 02-20 phone 135/85
//      (due 05-21), 08-10 clinic 132/84 (due 11-08), 11-01 home 140/85 — SBP exactly 140 is uncontrolled (due 11-15).
//      Due in Y: 02-24 met, 05-21 missed, 11-08 met, 11-15 missed. Face to face: 3 of 4 owed (the phone call is not).
//   R3 diabetes, contract team 1 from Y-12-31 (the reference day itself). Visits: 09-20 fpg 6.9 (due 12-19), 12-20 fpg
//      7.0 — exactly 7.0 is uncontrolled. Managed from 09-20: 102.58 days × 4/365 = 1.12 → 1 owed, 2 made.
//   R4 hypertension and diabetes, no contract (the centre's contracting lead). 11-25: 120/80 (controlled), fpg 8.0
//      (uncontrolled, due 12-09, missed). Managed 36.58 days: 0.40 → no visit owed yet (standardised).
//   R5 hypertension, diagnosed today, no visits, contract team 1 from today: neither managed nor contracted in Y.
//   R6 hypertension, contract team 2 from Y-01-01 (cancelled today), enrolment ended today. Visits: 03-01 clinic 150/95
//      (due 03-15), 03-14 clinic 135/85 (due 06-12), 06-10 home 130/80 (due 09-08 10:00), 09-08 10:00 health post
//      150/92 — exactly at its due time, on time (due 09-22), 12-01 clinic 150/95 (due 12-15). Due in Y: 5, on time 3.
//      Managed from 03-01: 305.58 days → 3.35 → 3 owed, 5 made.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import ExcelJS from 'exceljs';
import { startTestServer, type TestServer } from '../helpers/server.ts';

type Json = Record<string, any>;
let s: TestServer;
let admin: string, doctor1: string, doctor2: string, centreAdmin: string, specialist: string;
let team1: number, team2: number, centre1: number, centre2: number, street1: number, district: number;
const R: number[] = []; // R[1] … R[6]
const enrol: Record<string, number> = {};
const Y = 2025;
const TODAY = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
const THIS_YEAR = Number(TODAY.slice(0, 4));
const db = () => s.started.ctx.db;
const get = (url: string, cookie = admin) => s.app.inject({ url, headers: { cookie } });
const post = (url: string, payload: unknown, cookie = doctor1) => s.app.inject({ method: 'POST', url, headers: { cookie }, payload: payload as any });
const CONSENT = { method: 'written', signedBy: 'self' };
const at = (md: string, time = '10:00') => `${Y}-${md}T${time}:00+08:00`;

async function ok(res: Promise<any>, status = [200, 201]): Promise<Json> {
  const r = await res;
  expect(status, r.body).toContain(r.statusCode);
  return r.json();
}

async function contract(residentId: number, teamId: number, startDate: string, cookie = doctor1): Promise<Json> {
  return ok(post('/api/v1/contracts', { residentId, teamId, packages: ['basic', 'chronic'], startDate, endDate: `${THIS_YEAR + 2}-12-31`, consent: CONSENT }, cookie));
}

async function diagnose(residentId: number, code: string): Promise<number> {
  const r = await ok(post('/api/v1/chronic/enrolments', { residentId, code }));
  return r.enrolments[0].id;
}

async function visit(enrolmentId: number, visitAt: string, readings: Json, mode = 'clinic') {
  await ok(post('/api/v1/chronic/follow-ups', { enrolmentId, visitAt, mode, ...readings }));
}

const bp = (sbp: number, dbp: number) => ({ sbp, dbp });
const kpis = async (query: string, cookie = admin): Promise<Json> => ok(get(`/api/v1/chronic/kpis?${query}`, cookie), [200]);
const row = (k: Json, id: number) => {
  const r = k.rows.find((x: Json) => x.id === id);
  expect(r, `row ${id}`).toBeDefined();
  return r;
};
const programme = (managed: number, standardised: number, controlled: number) => ({
  managed, standardised, controlled,
  standardisedRate: managed ? Math.round((standardised / managed) * 10_000) / 10_000 : null,
  controlRate: managed ? Math.round((controlled / managed) * 10_000) / 10_000 : null,
});
const rate = (n: number, d: number) => (d ? Math.round((n / d) * 10_000) / 10_000 : null);

beforeAll(async () => {
  s = await startTestServer();
  [admin, doctor1, doctor2, centreAdmin, specialist] = await Promise.all(['admin', 'doctor1', 'doctor2', 'inst.admin', 'specialist1'].map((u) => s.login(u)));
  // setup facts: who the demo users are and residents of team 1's grids (every figure below comes from the API)
  const { rows } = await db().query("SELECT username, team_id, institution_id FROM app_user WHERE username IN ('doctor1', 'doctor2') ORDER BY username");
  [team1, team2] = rows.map((r) => Number(r.team_id));
  [centre1, centre2] = rows.map((r) => Number(r.institution_id));
  const res = await db().query("SELECT r.id FROM resident r JOIN team_grid tg ON tg.grid_id = r.grid_id WHERE tg.team_id = $1 AND r.status = 'active' ORDER BY r.id LIMIT 6", [team1]);
  R.push(0, ...res.rows.map((r) => Number(r.id)));
  street1 = (await ok(get(`/api/v1/residents/${R[1]}`), [200])).streetId;
  district = (await ok(get('/api/v1/regions?level=district'), [200])).items[0].id;

  await contract(R[1], team1, `${Y}-01-01`);
  await contract(R[2], team1, `${Y}-06-01`);
  await contract(R[3], team1, `${Y}-12-31`);
  await contract(R[5], team1, TODAY);
  const c6 = await contract(R[6], team2, `${Y}-01-01`, admin);

  enrol.r1 = await diagnose(R[1], 'I10');
  for (const [d, r] of [['02-10', bp(130, 80)], ['05-10', bp(128, 82)], ['08-10', bp(135, 85)], ['11-05', bp(138, 89)]] as const) await visit(enrol.r1, at(d), r);
  enrol.r2 = await diagnose(R[2], 'I10');
  await visit(enrol.r2, at('02-10'), bp(150, 95));
  await visit(enrol.r2, at('02-20'), bp(135, 85), 'phone');
  await visit(enrol.r2, at('08-10'), bp(132, 84));
  await visit(enrol.r2, at('11-01'), bp(140, 85), 'home');
  enrol.r3 = await diagnose(R[3], 'E11.9');
  await visit(enrol.r3, at('09-20'), { fpg: 6.9 });
  await visit(enrol.r3, at('12-20'), { fpg: 7.0 });
  enrol.r4h = await diagnose(R[4], 'I10');
  enrol.r4d = await diagnose(R[4], 'E11');
  await visit(enrol.r4h, at('11-25'), bp(120, 80));
  await visit(enrol.r4d, at('11-25'), { fpg: 8.0 });
  enrol.r5 = await diagnose(R[5], 'I10');
  enrol.r6 = await diagnose(R[6], 'I11.9');
  await visit(enrol.r6, at('03-01'), bp(150, 95));
  await visit(enrol.r6, at('03-14'), bp(135, 85));
  await visit(enrol.r6, at('06-10'), bp(130, 80), 'home');
  await visit(enrol.r6, at('09-08'), bp(150, 92), 'health_post');
  await visit(enrol.r6, at('12-01'), bp(150, 95));
  await ok(post(`/api/v1/contracts/${c6.id}/cancel`, { reason: 'moved away' }, admin));
  await ok(post(`/api/v1/chronic/enrolments/${enrol.r6}/end`, { status: 'finished', reason: 'moved away' }));
});
afterAll(async () => s?.close());

describe('a year, a quarter and months of 2025, by hand', () => {
  test('year: team 1 manages R1, R2 (hypertension) and R3 (diabetes); team 2 manages R6', async () => {
    const k = await kpis(`level=team&parent=${centre1}&period=year&at=${Y}`);
    expect(k.period).toEqual({ kind: 'year', label: String(Y), from: `${Y}-01-01`, to: `${Y}-12-31` });
    expect(new Date(k.computedThrough).toISOString()).toBe(new Date(`${Y + 1}-01-01T00:00:00+08:00`).toISOString());
    expect(row(k, team1)).toMatchObject({
      level: 'team', contracted: 3, // R1, R2, R3 (from the reference day itself); not R5 (from this year)
      hypertension: programme(2, 1, 1), // R2: 3 face-to-face visits of 4 owed, last 140/85
      diabetes: programme(1, 1, 0), // R3: last fpg 7.0
      followUpsDue: 3 + 4 + 1, followUpsOnTime: 2 + 2 + 0, timeliness: 0.5, gps: 1,
    });
    const t2 = row(await kpis(`level=team&parent=${centre2}&period=year&at=${Y}`), team2);
    // the cancelled contract was in force on the reference day; the ended enrolment was managed during the year
    expect(t2).toMatchObject({ contracted: 1, hypertension: programme(1, 1, 0), diabetes: programme(0, 0, 0), followUpsDue: 5, followUpsOnTime: 3, timeliness: 0.6 });
    expect(t2.diabetes.standardisedRate).toBeNull();
  });

  test('year: the centre adds its uncontracted patient R4 (owes no visit yet); its total is the centre’s own row', async () => {
    const k = await kpis(`level=team&parent=${centre1}&period=year&at=${Y}`);
    expect(k.total).toMatchObject({ level: 'centre', hypertension: programme(3, 2, 2), diabetes: programme(2, 2, 0), followUpsDue: 9, followUpsOnTime: 4 });
    const c = row(await kpis(`level=centre&parent=${district}&period=year&at=${Y}`), centre1);
    expect(c).toMatchObject({ hypertension: programme(3, 2, 2), diabetes: programme(2, 2, 0), followUpsDue: 9, followUpsOnTime: 4, timeliness: rate(4, 9) });
  });

  test('year: the street and the district count every resident of the street, contracted or not', async () => {
    const k = await kpis(`level=street&parent=${district}&period=year&at=${Y}`);
    const st = row(k, street1);
    // R1, R2, R4, R6 hypertension; R3, R4 diabetes; due 8 + 1 + 5, on time 4 + 0 + 3; contracted R1, R2, R3, R6
    expect(st).toMatchObject({ contracted: 4, hypertension: programme(4, 3, 2), diabetes: programme(2, 2, 0), followUpsDue: 14, followUpsOnTime: 7, timeliness: 0.5 });
    expect(k.total).toMatchObject({ level: 'district', contracted: 4, hypertension: programme(4, 3, 2), diabetes: programme(2, 2, 0), followUpsDue: 14 });
    // population and key populations of the street on 31 December, from the residents the API lists
    const people: Json[] = [];
    for (let page = 1; ; page++) {
      const r = await ok(get(`/api/v1/residents?streetId=${street1}&status=active&pageSize=200&page=${page}`), [200]);
      people.push(...r.items);
      if (people.length >= r.total) break;
    }
    const contracted = new Set([R[1], R[2], R[3], R[6]]);
    const count = (pred: (p: Json) => boolean) => {
      const pop = people.filter(pred);
      const c = pop.filter((p) => contracted.has(p.id)).length;
      return { population: pop.length, contracted: c, coverage: rate(c, pop.length) };
    };
    const has = (...tags: string[]) => (p: Json) => tags.some((t) => p.tags.includes(t));
    expect(st.population).toBe(people.length);
    expect(st.coverage).toBe(rate(4, people.length));
    expect(st.keyPopulations).toEqual({
      elderly: count((p) => p.birthDate <= `${Y - 65}-12-31`), // 65 or older on 31 December
      children: count((p) => p.birthDate > `${Y - 7}-12-31`), // 0–6 on 31 December
      hypertension: { population: 4, contracted: 3, coverage: 0.75 }, // R1, R2, R4, R6; R4 has no contract
      diabetes: { population: 2, contracted: 1, coverage: 0.5 }, // R3, R4
      pregnant: count(has('pregnant', 'postpartum')), mental: count(has('severe_mental')), disability: count(has('disability')), special: count(has('special_family')),
    });
  });

  test('GPs per 10,000 against the registry: a team’s lead GP; the street’s centre; the district’s every GP', async () => {
    const gps = (await ok(get('/api/v1/practitioners?profession=gp&pageSize=200'), [200])).total;
    const centreGps = (await ok(get(`/api/v1/practitioners?profession=gp&institutionId=${centre1}&pageSize=200`), [200])).total;
    const d = (await kpis(`level=district&period=year&at=${Y}`)).rows[0];
    expect(d.gps).toBe(gps);
    expect(d.gpsPer10k).toBe(Math.round((gps / d.population) * 10_000 * 100) / 100);
    const st = row(await kpis(`level=street&parent=${district}&period=year&at=${Y}`), street1);
    expect(st.gps).toBe(centreGps);
    const members = (await ok(get(`/api/v1/teams/${team1}`), [200])).members.filter((m: Json) => m.profession === 'gp').length;
    expect(row(await kpis(`level=team&parent=${centre1}&period=year&at=${Y}`), team1).gps).toBe(members);
  });

  test('the fourth quarter: its own visits and due dates', async () => {
    const t1 = row(await kpis(`level=team&parent=${centre1}&period=quarter&at=${Y}-Q4`), team1);
    // R1 11-05 (1 owed over the whole quarter), R2 11-01 home (1 owed, 140/85); R3 12-20 (first visit before the
    // quarter: 1 owed). Due: R1 11-08 met; R2 11-08 met, 11-15 missed; R3 12-19 missed.
    expect(t1).toMatchObject({ contracted: 3, hypertension: programme(2, 2, 1), diabetes: programme(1, 1, 0), followUpsDue: 4, followUpsOnTime: 2 });
  });

  test('a month is judged over the 3-month follow-up interval ending with it; contracts on its last day', async () => {
    const dec = row(await kpis(`level=team&parent=${centre1}&period=month&at=${Y}-12`), team1);
    // same window as the quarter; due in December: R3 12-19 (missed)
    expect(dec).toMatchObject({ hypertension: programme(2, 2, 1), diabetes: programme(1, 1, 0), followUpsDue: 1, followUpsOnTime: 0, timeliness: 0 });
    const nov = await kpis(`level=team&parent=${centre1}&period=month&at=${Y}-11`);
    // window September–November; on 30 November R3 has no contract yet (the centre's lead, not team 1's patient)
    expect(row(nov, team1)).toMatchObject({ contracted: 2, hypertension: programme(2, 2, 1), diabetes: programme(0, 0, 0), followUpsDue: 3, followUpsOnTime: 2 });
    // the centre: R3's 09-20 visit (fpg 6.9) is the last of the window — controlled; R4's from 11-25, 5 days owe none
    expect(nov.total).toMatchObject({ hypertension: programme(3, 3, 2), diabetes: programme(2, 2, 1) });
    const oct = row(await kpis(`level=team&parent=${centre1}&period=month&at=${Y}-10`), team1);
    // window August–October: R1 08-10, R2 08-10 (controlled); due in October: none
    expect(oct).toMatchObject({ hypertension: programme(2, 2, 2), followUpsDue: 0, timeliness: null });
  });
});

describe('access scope: aggregates by role', () => {
  test('a family doctor sees their own team’s row only', async () => {
    const k = await kpis(`level=team&period=year&at=${Y}`, doctor1);
    expect(k.rows.map((r: Json) => r.id)).toEqual([team1]);
    expect(k.total).toMatchObject({ name: null, level: null, hypertension: programme(2, 1, 1) });
    expect((await kpis(`level=team&parent=${centre1}&period=year&at=${Y}`, doctor1)).rows.map((r: Json) => r.id)).toEqual([team1]);
    for (const q of [`level=team&parent=${centre2}`, 'level=centre', `level=street&parent=${district}`, 'level=district', `level=grid`]) {
      const r = await get(`/api/v1/chronic/kpis?${q}&period=year&at=${Y}`, doctor1);
      expect(r.statusCode, q).toBe(403);
    }
  });

  test('a centre’s administrator sees the centre and its teams, with the centre as their total', async () => {
    const teams = await kpis(`level=team&parent=${centre1}&period=year&at=${Y}`, centreAdmin);
    expect(teams.rows.length).toBeGreaterThanOrEqual(1);
    expect(teams.rows.every((r: Json) => r.level === 'team')).toBe(true);
    expect(teams.total).toMatchObject({ level: 'centre', hypertension: programme(3, 2, 2) });
    const centres = await kpis(`level=centre&parent=${district}&period=year&at=${Y}`, centreAdmin);
    expect(centres.rows.map((r: Json) => r.id)).toEqual([centre1]);
    expect(centres.total.level).toBeNull(); // the district's row is not theirs
    for (const q of [`level=team&parent=${centre2}`, `level=street&parent=${district}`, 'level=district']) {
      expect((await get(`/api/v1/chronic/kpis?${q}&period=year&at=${Y}`, centreAdmin)).statusCode, q).toBe(403);
    }
  });

  test('other roles see no KPIs; only the district administrator recomputes', async () => {
    expect((await get(`/api/v1/chronic/kpis?level=district&period=year&at=${Y}`, specialist)).statusCode).toBe(403);
    for (const cookie of [doctor1, centreAdmin, doctor2]) expect((await post('/api/v1/chronic/kpis/recompute', {}, cookie)).statusCode).toBe(403);
  });

  test('rows carry aggregates only: no resident is named', async () => {
    const k = await kpis(`level=grid&period=year&at=${Y}`);
    const text = JSON.stringify(k);
    for (const id of R.slice(1)) {
      const name = (await ok(get(`/api/v1/residents/${id}`), [200])).name;
      expect(text).not.toContain(name);
    }
    expect(Object.keys(k.rows[0]).sort()).toEqual(['contracted', 'couponsIssued', 'couponsUsed', 'coverage', 'diabetes', 'followUpsDue', 'followUpsOnTime', 'gps', 'gpsPer10k', 'hypertension', 'id', 'keyPopulations', 'level', 'name', 'population', 'timeliness']);
  });
});

describe('periods, the workbook and the recompute', () => {
  test('bad and future periods are refused', async () => {
    const bad = await get(`/api/v1/chronic/kpis?level=district&period=quarter&at=${Y}-Q5`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'at' });
    expect((await get(`/api/v1/chronic/kpis?level=district&period=month&at=${Y}-Q1`)).statusCode).toBe(400);
    expect((await get(`/api/v1/chronic/kpis?level=district&period=year&at=${THIS_YEAR + 1}`)).json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'at' });
  });

  test('the current year runs to now; R5, diagnosed today, is managed and contracted now; R1’s coupons of the year', async () => {
    await ok(post(`/api/v1/chronic/coupons/issue/${R[1]}`, {})); // the year's 12 medication coupons (seed 004)
    const k = await kpis(`level=team&parent=${centre1}&period=year&at=${THIS_YEAR}`);
    expect(row(k, team1)).toMatchObject({ couponsIssued: 12, couponsUsed: 0 });
    expect(row(await kpis(`level=team&parent=${centre1}&period=year&at=${Y}`), team1)).toMatchObject({ couponsIssued: 0, couponsUsed: 0 });
    expect(Date.parse(k.computedThrough)).toBeLessThanOrEqual(Date.now());
    expect(Date.parse(k.computedThrough)).toBeGreaterThan(Date.now() - 600_000);
    const t1 = row(k, team1);
    expect(t1.contracted).toBe(4); // R1, R2, R3, R5
    expect(t1.hypertension.managed).toBe(3); // R1, R2 (enrolments still running) and R5
  });

  test('the Excel export holds the rows and their total', async () => {
    const r = await get(`/api/v1/chronic/kpis.xlsx?level=team&parent=${centre1}&period=year&at=${Y}`);
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toContain('spreadsheetml');
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(r.rawPayload as any);
    const ws = wb.worksheets[0];
    const headers = ws.getRow(2).values as unknown[];
    const col = (h: string) => headers.indexOf(h);
    const team = await ok(get(`/api/v1/teams/${team1}`), [200]);
    const rows = [...Array(ws.rowCount - 3).keys()].map((i) => ws.getRow(i + 4));
    const t1 = rows.find((x) => x.getCell(1).value === team.name)!;
    expect(t1.getCell(col('高血压管理人数')).value).toBe(2);
    expect(t1.getCell(col('高血压规范管理率')).value).toBe(0.5);
    expect(t1.getCell(col('随访及时率')).value).toBe(0.5);
    expect(rows.at(-1)!.getCell(col('高血压管理人数')).value).toBe(3); // the centre
  });

  test('figures are precomputed: a late visit shows after the recompute', async () => {
    await visit(enrol.r2, at('12-10'), bp(120, 80)); // R2's 4th face-to-face visit, controlled
    const before = row(await kpis(`level=team&parent=${centre1}&period=year&at=${Y}`), team1);
    expect(before.hypertension).toEqual(programme(2, 1, 1));
    const r = await ok(post('/api/v1/chronic/kpis/recompute', { period: 'year', at: String(Y) }, admin), [200]);
    expect(r.items).toMatchObject([{ kind: 'year', label: String(Y) }]);
    const after = await kpis(`level=team&parent=${centre1}&period=year&at=${Y}`);
    expect(row(after, team1).hypertension).toEqual(programme(2, 2, 2));
    // 11-15 (after the uncontrolled 11-01) is now met late; no new due in the year (12-10 → next March)
    expect(row(after, team1)).toMatchObject({ followUpsDue: 8, followUpsOnTime: 4 });
    expect(Date.parse(after.computedAt)).toBeGreaterThanOrEqual(Date.parse(r.items[0].computedAt) - 1);
    const live = await ok(post('/api/v1/chronic/kpis/recompute', undefined, admin), [200]);
    // this month, quarter and year (and the last ones during the 10 days after they close)
    expect(live.items.map((x: Json) => x.label)).toEqual(expect.arrayContaining([TODAY.slice(0, 7), `${THIS_YEAR}-Q${Math.floor((Number(TODAY.slice(5, 7)) - 1) / 3) + 1}`, String(THIS_YEAR)]));
    expect(live.items.length).toBeGreaterThanOrEqual(3);
  });
});
