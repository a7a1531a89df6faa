// The worklist summary (worklist_item, migration 0017) follows every kind of write through the HTTP API: signing,
// renewing, changing team and cancelling a contract, enrolling, recording a follow-up and an elderly check, moving a
// resident to another grid. After each write the worklist shows the change, and the summary holds exactly what a
// rebuild from its sources would (the triggers missed nothing).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { addDays, districtDate } from '../../src/platform/local-date.ts';
import { NORMAL_CHECK } from '../fixtures/elderly-check.ts';

type Json = Record<string, any>;
let s: TestServer;
let admin: string, doctor1: string, doctor2: string;
let team1: number, team2: number;
let elderly: number[], young: number[], grid2: number;
const db = () => s.started.ctx.db;
const get = (url: string, cookie = admin) => s.app.inject({ url, headers: { cookie } });
const post = (url: string, payload: unknown, cookie = doctor1) => s.app.inject({ method: 'POST', url, headers: { cookie }, payload: payload as any });
const CONSENT = { method: 'written', signedBy: 'self' };

async function list(query: string, cookie = admin): Promise<Json[]> {
  const r = await get(`/api/v1/worklist?pageSize=200&${query}`, cookie);
  expect(r.statusCode, r.body).toBe(200);
  return r.json().items;
}

async function ok(r: { statusCode: number; body: string; json: () => any }, status = 200): Promise<Json> {
  expect(r.statusCode, r.body).toBe(status);
  return r.json();
}

/** The summary is what a rebuild from its sources gives, row for row. */
async function consistent(empty = false) {
  const order = 'ORDER BY kind, ref_id';
  const held = (await db().query(`SELECT * FROM worklist_item ${order}`)).rows;
  const rebuilt = (await db().query(`SELECT * FROM worklist_item_source ${order}`)).rows;
  if (!empty) expect(held.length).toBeGreaterThan(0);
  expect(held).toEqual(rebuilt);
}

beforeAll(async () => {
  s = await startTestServer();
  [admin, doctor1, doctor2] = await Promise.all(['admin', 'doctor1', 'doctor2'].map((u) => s.login(u)));
  const { rows } = await db().query("SELECT username, team_id FROM app_user WHERE username IN ('doctor1', 'doctor2') ORDER BY username");
  team1 = Number(rows[0].team_id);
  team2 = Number(rows[1].team_id);
  const r = await db().query(
    `SELECT r.id, r.birth_date <= (current_date - interval '66 years')::date AS old, r.birth_date > (current_date - interval '50 years')::date AS young
       FROM resident r JOIN team_grid tg ON tg.grid_id = r.grid_id WHERE tg.team_id = $1 AND r.status = 'active'
        AND NOT EXISTS (SELECT 1 FROM contract c WHERE c.resident_id = r.id AND c.status = 'active') ORDER BY r.id`, [team1]);
  elderly = r.rows.filter((x) => x.old).map((x) => Number(x.id));
  young = r.rows.filter((x) => x.young).map((x) => Number(x.id));
  expect(elderly.length).toBeGreaterThanOrEqual(3);
  expect(young.length).toBeGreaterThanOrEqual(2);
  grid2 = Number((await db().query('SELECT min(grid_id) AS g FROM team_grid WHERE team_id = $1', [team2])).rows[0].g);
  await consistent(true);
});
afterAll(async () => s?.close());

describe('contracts', () => {
  test('signing: an elderly resident of the team’s grids turns from a contracting lead into the team’s own', async () => {
    const before = (await list('kind=elderly_check', doctor1)).find((i) => i.resident.id === elderly[0]);
    expect(before).toMatchObject({ contractingLead: true, team: null });
    await ok(await post('/api/v1/contracts', { residentId: elderly[0], teamId: team1, packages: ['basic', 'elderly'], consent: CONSENT }), 201);
    const after = (await list('kind=elderly_check', doctor1)).filter((i) => i.resident.id === elderly[0]);
    expect(after).toEqual([expect.objectContaining({ contractingLead: false, team: expect.objectContaining({ id: team1 }) })]);
    await consistent();
  });

  test('an elderly check recorded: the resident leaves the due list', async () => {
    await ok(await post('/api/v1/elderly-checks', { residentId: elderly[0], results: NORMAL_CHECK }), 201);
    expect((await list('kind=elderly_check', doctor1)).map((i) => i.resident.id)).not.toContain(elderly[0]);
    await consistent();
  });

  let contract: Json;
  test('a contract ending within the renewal notice is on its team’s list, not the other team’s', async () => {
    contract = await ok(await post('/api/v1/contracts', { residentId: elderly[1], teamId: team1, packages: ['basic'], consent: CONSENT, endDate: addDays(districtDate(), 10) }), 201);
    expect((await list('kind=renewal', doctor1)).map((i) => i.contractId)).toContain(contract.id);
    expect((await list(`kind=renewal&teamId=${team2}`)).map((i) => i.contractId)).not.toContain(contract.id);
    await consistent();
  });

  test('renewal: the renewed contract leaves the renewal list', async () => {
    contract = await ok(await post(`/api/v1/contracts/${contract.id}/renew`, { consent: CONSENT, version: contract.version }));
    expect((await list('kind=renewal', doctor1)).map((i) => i.contractId)).not.toContain(contract.id);
    expect((await list('kind=elderly_check', doctor1)).find((i) => i.resident.id === elderly[1])).toMatchObject({ contractingLead: false, team: expect.objectContaining({ id: team1 }) });
    await consistent();
  });

  let moved: Json;
  test('change of team: the resident’s elderly check moves to the new team’s list', async () => {
    moved = await ok(await post(`/api/v1/contracts/${contract.id}/change-team`, { teamId: team2, reason: '居民申请更换团队', consent: CONSENT }, admin));
    const team2Items = (await list(`kind=elderly_check&teamId=${team2}`)).filter((i) => i.resident.id === elderly[1]);
    expect(team2Items).toEqual([expect.objectContaining({ team: expect.objectContaining({ id: team2 }) })]);
    expect((await list(`kind=elderly_check&teamId=${team1}`)).map((i) => i.resident.id)).not.toContain(elderly[1]);
    await consistent();
  });

  test('cancelling: the contract leaves the new team’s list; the resident is a contracting lead of the grid’s team again', async () => {
    await ok(await post(`/api/v1/contracts/${moved.id}/cancel`, { reason: 'test' }, admin));
    expect((await list(`kind=elderly_check&teamId=${team2}`)).map((i) => i.resident.id)).not.toContain(elderly[1]);
    expect((await list('kind=elderly_check', doctor1)).find((i) => i.resident.id === elderly[1])).toMatchObject({ contractingLead: true, team: null });
    await consistent();
  });

  test('a contracted resident whose birth date is corrected to 65 or over is due once, as the team’s own, not also as a contracting lead', async () => {
    // the leads' "no contract in force" set holds only the elderly's contracts, by the birth date the summary copies
    // from the resident (no API edits a birth date: a correction in the register, through the table and its trigger)
    const residentId = young[1];
    await ok(await post('/api/v1/contracts', { residentId, teamId: team1, packages: ['basic'], consent: CONSENT }), 201);
    expect((await list('kind=elderly_check', doctor1)).map((i) => i.resident.id)).not.toContain(residentId);
    await db().query("UPDATE resident SET birth_date = (current_date - interval '70 years')::date WHERE id = $1", [residentId]);
    const due = (await list('kind=elderly_check', doctor1)).filter((i) => i.resident.id === residentId);
    expect(due).toEqual([expect.objectContaining({ contractingLead: false, team: expect.objectContaining({ id: team1 }) })]);
    await consistent();
  });
});

describe('chronic care', () => {
  let residentId: number;
  let enrolment: Json;
  let next: Json;
  test('enrolment: its task is on the team’s list, found by the programme filter', async () => {
    residentId = young[0];
    await ok(await post('/api/v1/contracts', { residentId, teamId: team1, packages: ['basic', 'chronic'], consent: CONSENT }), 201);
    enrolment = (await ok(await post('/api/v1/chronic/enrolments', { residentId, code: 'I10' }), 201)).enrolments[0];
    expect((await list('kind=enrolment&programme=hypertension', doctor1)).map((i) => i.taskId)).toContain(enrolment.nextTaskId);
    expect((await list('kind=enrolment&programme=diabetes', doctor1)).map((i) => i.taskId)).not.toContain(enrolment.nextTaskId);
    await consistent();
  });

  test('a second programme: the resident’s tasks are found by either programme', async () => {
    const d = (await ok(await post('/api/v1/chronic/enrolments', { residentId, code: 'E11.9' }), 201)).enrolments[0];
    const diabetes = (await list('kind=enrolment&programme=diabetes', doctor1)).map((i) => i.taskId);
    expect(diabetes).toEqual(expect.arrayContaining([enrolment.nextTaskId, d.nextTaskId]));
    await consistent();
  });

  test('a follow-up recorded: the enrolment task leaves, the next follow-up is on the list from its due day', async () => {
    next = await ok(await post('/api/v1/chronic/follow-ups', { enrolmentId: enrolment.id, mode: 'clinic', visitAt: new Date(Date.now() - 3600_000).toISOString(), sbp: 150, dbp: 95 }), 201);
    expect((await list('kind=enrolment', doctor1)).map((i) => i.taskId)).not.toContain(enrolment.nextTaskId);
    const dueDay = districtDate(new Date(next.nextDueAt));
    expect((await list('kind=follow_up', doctor1)).map((i) => i.taskId)).not.toContain(next.nextTaskId);
    const onDue = (await list(`kind=follow_up&date=${dueDay}`, doctor1)).filter((i) => i.taskId === next.nextTaskId);
    expect(onDue).toEqual([expect.objectContaining({ dueAt: new Date(next.nextDueAt).toISOString(), programmes: ['diabetes', 'hypertension'] })]);
    await consistent();
  });

  test('the resident moves to another grid: the grid filter follows', async () => {
    const dueDay = districtDate(new Date(next.nextDueAt));
    const { gridId: oldGrid, version } = (await get(`/api/v1/residents/${residentId}`)).json();
    expect((await list(`kind=follow_up&date=${dueDay}&teamId=${team1}&gridId=${oldGrid}`)).map((i) => i.taskId)).toContain(next.nextTaskId);
    const r = await s.app.inject({ method: 'PATCH', url: `/api/v1/residents/${residentId}`, headers: { cookie: admin }, payload: { version, gridId: grid2 } });
    await ok(r);
    expect((await list(`kind=follow_up&date=${dueDay}&teamId=${team1}&gridId=${oldGrid}`)).map((i) => i.taskId)).not.toContain(next.nextTaskId);
    expect((await list(`kind=follow_up&date=${dueDay}&teamId=${team1}&gridId=${grid2}`)).map((i) => i.taskId)).toContain(next.nextTaskId);
    await consistent();
  });
});

describe('tasks of codes the summary does not hold (migration 0023: their statements refresh nothing)', () => {
  test('the trigger’s list of codes is the one worklist_item_source selects', async () => {
    const def = (await db().query("SELECT pg_get_viewdef('worklist_item_source') AS d")).rows[0].d as string;
    const inView = /t\.code = ANY \(ARRAY\[([^\]]+)\]\)/.exec(def)![1].match(/'[^']+'/g)!.map((c) => c.slice(1, -1));
    const listed = (await db().query('SELECT worklist_task_codes() AS c')).rows[0].c as string[];
    expect([...listed].sort()).toEqual([...inView].sort());
  });

  test('a referral’s task gets no row; a task changing into or out of a summary code is followed', async () => {
    const residentId = young[young.length - 1];
    const desk = (await db().query("SELECT institution_id FROM app_user WHERE username = 'referral1'")).rows[0].institution_id;
    const created = await ok(await post('/api/v1/referrals', { direction: 'up', residentId, targetInstitutionId: Number(desk), reason: '专科评估' }), 201);
    const taskId = Number(created.taskId);
    const held = async () => (await db().query("SELECT count(*)::int AS n FROM worklist_item WHERE kind = 'task' AND ref_id = $1", [taskId])).rows[0].n;
    expect(await held()).toBe(0);
    await consistent();
    // into the summary (an update whose new row has a summary code, the old one not), then out again
    await db().query("UPDATE task SET code = 'chronic-follow-up', owner_team_id = $2 WHERE id = $1", [taskId, team1]);
    expect(await held()).toBe(1);
    await consistent();
    await db().query("UPDATE task SET code = 'referral' WHERE id = $1", [taskId]);
    expect(await held()).toBe(0);
    await consistent();
  });
});

describe('paging', () => {
  test('the list in pages of 7 is the list in pages of 200, in order: the elderly due form one block by resident, work due after the year’s end follows it', async () => {
    const year = Number(districtDate().slice(0, 4));
    const date = `${year}-12-20`;
    // a contract ending early next year: on 20 December its renewal is due after the elderly checks' due time (the year's end)
    await ok(await post('/api/v1/contracts', { residentId: elderly[2], teamId: team1, packages: ['basic'], consent: CONSENT, endDate: `${year + 1}-01-05` }), 201);
    const pages = async (size: number) => {
      const items: Json[] = [];
      let total = -1;
      for (let page = 1; total < 0 || (page - 1) * size < total; page++) {
        const body = await ok(await get(`/api/v1/worklist?date=${date}&pageSize=${size}&page=${page}`, doctor1));
        total = body.total;
        items.push(...body.items);
      }
      expect(items).toHaveLength(total);
      return items;
    };
    const whole = await pages(200);
    const key = (i: Json) => [i.kind, i.taskId, i.contractId, i.resident.id].join('/');
    expect((await pages(7)).map(key)).toEqual(whole.map(key));
    const at = whole.map((i) => i.kind);
    const first = at.indexOf('elderly_check');
    const last = at.lastIndexOf('elderly_check');
    expect(first).toBeGreaterThan(0);
    expect(at.slice(first, last + 1).every((k) => k === 'elderly_check')).toBe(true);
    const block = whole.slice(first, last + 1).map((i) => i.resident.id);
    expect(block).toEqual([...block].sort((a, b) => a - b));
    const renewal = whole.findIndex((i) => i.kind === 'renewal' && i.resident.id === elderly[2]);
    expect(renewal).toBeGreaterThan(last);
    expect(whole.findIndex((i) => i.kind === 'elderly_check' && i.resident.id === elderly[2])).toBeGreaterThanOrEqual(first);
    await consistent();
  });
});
