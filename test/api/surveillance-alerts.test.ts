// Alerts (多点触发预警) through the HTTP API: fusion of a detection run's signals into alerts (created, extended the
// next day, not duplicated by a rerun), class A case reports, the CDC's notifications and webhook outbox, the workflow
// with its illegal moves and optimistic versions, who may see what, the inbox and detail, rule edits as new versions,
// and the response metrics.
//
// Here the signals, runs and case reports are written through the Db as the inputs they are (detection's and the
// feeds' output, not this module's storage), so that each rule, window and extension can be set up exactly; fusion is
// started with fuseRun / alertForCaseReport as the run's and the case report's hooks call them. The whole path through
// the public surface (feeds → run → alert, case report → alert) is surveillance-alerts-flow.test.ts.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { ok } from '../helpers/surveillance.ts';
import { alertForCaseReport, alertMetrics, fuseRun } from '../../src/modules/surveillance/alerts.ts';
import { addDays } from '../../src/platform/local-date.ts';

type Json = Record<string, any>;
let s: TestServer;
let cdc: string, investigator: string, admin: string, doctor: string;
let cdcInstitution: number, anyInstitution: number, investigatorId: number, cdcUserId: number;
/** c[0] borders c[1], c[1] borders c[2]; c[3] and c[4] border nobody */
let c: number[];
let communityNames: string[];
const AS_OF = '2025-03-10';
let runs = 0;

const db = () => s.started.ctx.db;
const get = (url: string, cookie: string) => s.app.inject({ url, headers: { cookie } });
const post = (url: string, cookie: string, payload: unknown = {}, headers: Record<string, string> = {}) => s.app.inject({ method: 'POST', url, headers: { cookie, ...headers }, payload: payload as any });
const put = (url: string, cookie: string, payload: unknown) => s.app.inject({ method: 'PUT', url, headers: { cookie }, payload: payload as any });

async function newRun(asOf: string): Promise<number> {
  runs++;
  const { rows } = await db().query("INSERT INTO surveillance_run (kind, as_of, status, finished_at) VALUES ('on_demand', $1, 'succeeded', now()) RETURNING id", [asOf]);
  return Number(rows[0].id);
}

interface SignalIn { runId: number; source: string; category: string; syndrome: string; community: number; date: string; observed: number; threshold: number | null; algorithm?: string; pValue?: number | null; communities?: number[] }
async function signal(x: SignalIn): Promise<number> {
  const { rows } = await db().query(
    `INSERT INTO signal (run_id, algorithm, source_code, category_code, syndrome, region_id, region_ids, start_date, on_date, observed, expected, threshold, statistic, p_value)
     VALUES ($1, $2, $3, $4, $5, $6, $7::bigint[], $8, $8, $9, $10, $11, $12, $13) RETURNING id`,
    [x.runId, x.algorithm ?? 'earsC1', x.source, x.category, x.syndrome, x.community, x.communities ?? [x.community], x.date, x.observed, x.threshold === null ? null : x.threshold / 2, x.threshold, 3.1, x.pValue ?? null],
  );
  return Number(rows[0].id);
}

async function fuse(runId: number, asOf: string) {
  return db().tx((q) => fuseRun(q, { runId, asOf }));
}

async function notificationsOf(cookie: string): Promise<Json[]> {
  return (await ok(get('/api/v1/notifications?pageSize=100', cookie))).items;
}

async function deliveries(event?: string): Promise<Json[]> {
  const { rows } = await db().query('SELECT event, payload FROM webhook_delivery WHERE ($1::text IS NULL OR event = $1) ORDER BY id', [event ?? null]);
  return rows;
}

beforeAll(async () => {
  s = await startTestServer();
  [cdc, investigator, admin, doctor] = await Promise.all(['cdc1', 'investigator1', 'admin', 'doctor1'].map((u) => s.login(u)));
  const users = await db().query("SELECT id, username, institution_id FROM app_user WHERE username IN ('cdc1', 'investigator1')");
  const byName = Object.fromEntries(users.rows.map((u) => [u.username, u]));
  cdcInstitution = Number(byName.cdc1.institution_id);
  cdcUserId = Number(byName.cdc1.id);
  investigatorId = Number(byName.investigator1.id);
  anyInstitution = Number((await db().query("SELECT id FROM institution WHERE type = 'community_health_centre' ORDER BY id LIMIT 1")).rows[0].id);
  const comm = await db().query("SELECT id, name FROM region WHERE level = 'community' ORDER BY id LIMIT 5");
  c = comm.rows.map((r) => Number(r.id));
  communityNames = comm.rows.map((r) => r.name);
  // the geography these tests rely on, whatever the seed's adjacency says
  await db().query('DELETE FROM region_adjacency WHERE region_id = ANY($1::bigint[]) OR neighbour_id = ANY($1::bigint[])', [c]);
  await db().query('INSERT INTO region_adjacency (region_id, neighbour_id) VALUES ($1, $2), ($2, $1), ($2, $3), ($3, $2)', [c[0], c[1], c[2]]);
  // the CDC's system listens for alerts
  await ok(post('/api/v1/webhooks', admin, { institutionId: cdcInstitution, url: 'https://cdc.example.org/hooks', events: ['alert.created', 'alert.updated'] }), 201);
});
afterAll(async () => s?.close());

describe('fusion of a run’s signals', () => {
  let alert: Json;
  let run1: number;
  const ids: number[] = [];

  test('two independent sources in bordering communities make one high-risk alert; the CDC is told in the console and by webhook', async () => {
    run1 = await newRun(AS_OF);
    ids.push(await signal({ runId: run1, source: 'fever_clinic', category: 'visits', syndrome: 'fever', community: c[0], date: AS_OF, observed: 14, threshold: 9 }));
    ids.push(await signal({ runId: run1, source: 'fever_clinic', category: 'visits', syndrome: 'fever', community: c[0], date: AS_OF, observed: 14, threshold: 10, algorithm: 'earsC2' }));
    ids.push(await signal({ runId: run1, source: 'pharmacy', category: 'antipyretic', syndrome: 'fever', community: c[1], date: AS_OF, observed: 40, threshold: 18 }));
    // the same source again (a sentinel is another group, but this one is respiratory): no agreement with them
    await signal({ runId: run1, source: 'sentinel', category: 'dry_cough', syndrome: 'respiratory', community: c[3], date: AS_OF, observed: 6, threshold: 5 });
    const r = await fuse(run1, AS_OF);
    expect(r).toMatchObject({ asOf: AS_OF, candidates: 1, extended: [] });
    expect(r.created).toHaveLength(1);

    const list = await ok(get('/api/v1/surveillance/alerts', cdc));
    expect(list.total).toBe(1);
    alert = list.items[0];
    expect(alert).toMatchObject({
      id: r.created[0], version: 1, state: 'new', riskLevel: 'high', syndrome: 'fever',
      rule: { code: 'multi_source', version: 2, kind: 'multi_source', name: '多源信号时空聚集' },
      communities: [{ id: c[0], name: communityNames[0] }, { id: c[1], name: communityNames[1] }],
      firstDate: AS_OF, lastDate: AS_OF, sources: ['fever_clinic', 'pharmacy'], signalCount: 3, caseReportCount: 0, assignee: null,
      reviewedAt: null, investigatingAt: null, closedAt: null, actions: ['review', 'assign', 'note'],
    });

    const notes = (await notificationsOf(cdc)).filter((n) => n.kind === 'alert.created');
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({ alertId: alert.id, priority: 'high' });
    expect(notes[0].message).toContain(communityNames[0]);
    expect(notes[0].message).toContain(`#${alert.id}`);
    expect((await notificationsOf(investigator)).filter((n) => n.kind.startsWith('alert.'))).toEqual([]);

    const hooks = await deliveries('alert.created');
    expect(hooks).toHaveLength(1);
    expect(hooks[0].payload).toEqual({
      event: 'alert.created', occurredAt: expect.any(String),
      alert: { id: alert.id, action: 'created', state: 'new', riskLevel: 'high', syndrome: 'fever', ruleId: alert.rule.id, ruleCode: 'multi_source', regionIds: [c[0], c[1]], firstDate: AS_OF, lastDate: AS_OF, version: 1 },
    });
  });

  test('running fusion again on the same day adds nothing', async () => {
    const r = await fuse(run1, AS_OF);
    expect(r).toMatchObject({ created: [], extended: [] });
    expect((await ok(get('/api/v1/surveillance/alerts', cdc))).total).toBe(1);
    expect(await deliveries('alert.updated')).toHaveLength(0);
  });

  test('the next day’s run extends the open alert for the same syndrome and area instead of opening another', async () => {
    const day2 = addDays(AS_OF, 1);
    const run2 = await newRun(day2);
    ids.push(await signal({ runId: run2, source: 'laboratory', category: 'influenza', syndrome: 'fever', community: c[2], date: day2, observed: 5, threshold: 2 }));
    const r = await fuse(run2, day2);
    expect(r).toMatchObject({ created: [], extended: [alert.id] });
    const d = await ok(get(`/api/v1/surveillance/alerts/${alert.id}`, cdc));
    expect(d).toMatchObject({ version: 2, state: 'new', lastDate: day2, firstDate: AS_OF, sources: ['fever_clinic', 'laboratory', 'pharmacy'], signalCount: 4 });
    expect(d.communities.map((x: Json) => x.id)).toEqual([c[0], c[1], c[2]]);
    expect(d.events.map((e: Json) => e.action)).toEqual(['created', 'extended']);
    const upd = await deliveries('alert.updated');
    expect(upd.map((h) => [h.payload.alert.id, h.payload.alert.action, h.payload.alert.version])).toEqual([[alert.id, 'extended', 2]]);
    // an extension at the same risk does not ring again
    expect((await notificationsOf(cdc)).filter((n) => n.alertId === alert.id)).toHaveLength(1);
    alert = d;
  });

  test('the detail shows every contributing signal with its series over 8 weeks and its thresholds', async () => {
    // feed values of the first fever-clinic series: two institutions' counts and a line-list item add up per day
    await db().query(
      `INSERT INTO feed_count (institution_id, source_code, category_code, region_id, on_date, value) VALUES
        ($1, 'fever_clinic', 'visits', $3, $4, 9), ($2, 'fever_clinic', 'visits', $3, $4, 5), ($1, 'fever_clinic', 'visits', $3, $5::date, 3)`,
      [anyInstitution, cdcInstitution, c[0], AS_OF, addDays(AS_OF, -55)],
    );
    await db().query(
      "INSERT INTO feed_item (institution_id, source_id, source_code, category_code, region_id, on_date) VALUES ($1, 'x-1', 'fever_clinic', 'visits', $2, $3), ($1, 'x-2', 'fever_clinic', 'visits', $2, $4::date)",
      [anyInstitution, c[0], AS_OF, addDays(AS_OF, -56)],
    );
    const d = await ok(get(`/api/v1/surveillance/alerts/${alert.id}`, investigator));
    expect(d.rule).toMatchObject({ code: 'multi_source', version: 2, params: { minSources: 2, windowDays: 7, adjacency: 'adjacent', minObserved: 5, strongFactor: 2 }, riskLevel: 'high' });
    expect(d.signals.map((x: Json) => [x.id, x.source.code, x.algorithm])).toEqual([
      [ids[0], 'fever_clinic', 'earsC1'], [ids[1], 'fever_clinic', 'earsC2'], [ids[2], 'pharmacy', 'earsC1'], [ids[3], 'laboratory', 'earsC1'],
    ]);
    const first = d.signals[0];
    expect(first).toMatchObject({ source: { name: '发热门诊' }, category: { code: 'visits', name: '发热门诊就诊' }, communityId: c[0], date: AS_OF, observed: 14, threshold: 9, expected: 4.5, high: false });
    expect(first.series.frequency).toBe('daily');
    expect(first.series.points).toHaveLength(56);
    expect(first.series.points[0]).toEqual({ date: addDays(AS_OF, -55), value: 3 });
    expect(first.series.points[55]).toEqual({ date: AS_OF, value: 15 });
    expect(first.series.points.slice(1, 55).every((p: Json) => p.value === 0)).toBe(true);
    expect(first.series.alarms).toEqual([{ date: AS_OF, algorithm: 'earsC1', observed: 14, threshold: 9 }, { date: AS_OF, algorithm: 'earsC2', observed: 14, threshold: 10 }]);
    expect(d.events[0]).toMatchObject({ action: 'created', toState: 'new', user: null });
  });

  test('a single source far beyond its threshold is a medium alert of its own; a lone ordinary signal is none', async () => {
    const day2 = addDays(AS_OF, 1);
    const run3 = await newRun(day2);
    const spike = await signal({ runId: run3, source: 'school', category: 'absent_illness', syndrome: 'other', community: c[4], date: day2, observed: 31, threshold: 10 });
    await signal({ runId: run3, source: 'wastewater', category: 'norovirus', syndrome: 'gastrointestinal', community: c[3], date: day2, observed: 12, threshold: 10 });
    const r = await fuse(run3, day2);
    expect(r.created).toHaveLength(1);
    const list = await ok(get('/api/v1/surveillance/alerts', cdc));
    // highest risk first
    expect(list.items.map((a: Json) => [a.rule.code, a.riskLevel])).toEqual([['multi_source', 'high'], ['high_threshold', 'medium']]);
    expect(list.items[1]).toMatchObject({ syndrome: 'other', communities: [{ id: c[4] }], signalCount: 1 });
    const high = await db().query('SELECT id FROM signal WHERE high ORDER BY id');
    expect(high.rows.map((x) => Number(x.id))).toEqual([spike]);
  });
});

describe('the workflow', () => {
  let a: Json; // the multi-source alert
  let b: Json; // the high-threshold alert

  beforeAll(async () => {
    const items = (await ok(get('/api/v1/surveillance/alerts', cdc))).items;
    [a, b] = items;
  });

  test('only the CDC, investigators and the district admin see alerts', async () => {
    for (const url of ['/api/v1/surveillance/alerts', `/api/v1/surveillance/alerts/${a.id}`, '/api/v1/surveillance/fusion-rules', '/api/v1/surveillance/alert-metrics']) {
      expect(await ok(get(url, doctor), 403)).toEqual({ code: 'FORBIDDEN', message: '您没有执行此操作的权限' });
    }
    expect((await ok(get('/api/v1/surveillance/alerts', admin))).total).toBe(2);
    expect((await ok(get('/api/v1/surveillance/alerts', investigator))).items[0].actions).toEqual(['note']);
    expect(await ok(get('/api/v1/surveillance/alerts/999999', cdc), 404)).toEqual({ code: 'NOT_FOUND', message: '未找到预警' });
  });

  test('an investigator adds notes but does not move the alert', async () => {
    expect(await ok(post(`/api/v1/surveillance/alerts/${a.id}/review`, investigator, { version: a.version }), 403)).toMatchObject({ code: 'FORBIDDEN' });
    const n = await ok(post(`/api/v1/surveillance/alerts/${a.id}/note`, investigator, { note: '已电话联系社区卫生服务中心核对' }));
    expect(n).toMatchObject({ state: 'new', version: a.version });
  });

  test('illegal moves are 409 INVALID_STATE naming the state, in the caller’s language', async () => {
    expect(await ok(post(`/api/v1/surveillance/alerts/${a.id}/investigate`, cdc, { version: a.version, note: '开始流调' }), 409)).toEqual({
      code: 'INVALID_STATE', message: '当前状态不允许此操作：预警当前为「新预警」，不能执行 investigate', field: 'action',
    });
    expect(await ok(post(`/api/v1/surveillance/alerts/${a.id}/close?lang=en`, cdc, { version: a.version, outcome: 'false', note: 'x' }), 409)).toEqual({
      code: 'INVALID_STATE', message: 'Not allowed in the current state: an alert that is new cannot take close', field: 'action',
    });
  });

  test('review → investigate → close as a true alarm, with timestamps, assignee, events and webhooks', async () => {
    const r = await ok(post(`/api/v1/surveillance/alerts/${a.id}/review`, cdc, { version: a.version, note: '两源一致，开始核实' }));
    expect(r).toMatchObject({ state: 'under_review', version: a.version + 1, assignee: { id: cdcUserId }, reviewedAt: expect.any(String), actions: ['investigate', 'close', 'assign', 'note'] });
    // someone acting on the version they saw before is refused
    expect(await ok(post(`/api/v1/surveillance/alerts/${a.id}/assign`, cdc, { version: a.version, assigneeId: investigatorId }), 409)).toEqual({
      code: 'STALE_VERSION', message: '记录已被他人修改，请刷新后重试', field: 'version',
    });
    expect(await ok(post(`/api/v1/surveillance/alerts/${a.id}/investigate`, cdc, { version: r.version }), 400)).toMatchObject({ code: 'VALIDATION_FAILED', field: 'note' });
    expect(await ok(post(`/api/v1/surveillance/alerts/${a.id}/assign`, cdc, { version: r.version, assigneeId: 1 }), 400)).toMatchObject({ code: 'VALIDATION_FAILED', field: 'assigneeId' });

    const assigned = await ok(post(`/api/v1/surveillance/alerts/${a.id}/assign`, cdc, { version: r.version, assigneeId: investigatorId }));
    expect(assigned).toMatchObject({ state: 'under_review', assignee: { id: investigatorId } });
    const told = (await notificationsOf(investigator)).filter((n) => n.kind === 'alert.assigned');
    expect(told.map((n) => n.alertId)).toEqual([a.id]);

    const inv = await ok(post(`/api/v1/surveillance/alerts/${a.id}/investigate`, cdc, { version: assigned.version, note: '流调组赴社区：发热门诊就诊者多为同一小学学生' }));
    expect(inv).toMatchObject({ state: 'investigating', investigatingAt: expect.any(String), actions: ['close', 'assign', 'note'] });
    const closed = await ok(post(`/api/v1/surveillance/alerts/${a.id}/close`, cdc, { version: inv.version, outcome: 'true', note: '确认为甲型流感聚集性疫情' }));
    expect(closed).toMatchObject({ state: 'closed_true', closedAt: expect.any(String), actions: ['note'] });
    expect(await ok(post(`/api/v1/surveillance/alerts/${a.id}/review`, cdc, { version: closed.version }), 409)).toMatchObject({ code: 'INVALID_STATE' });

    const d = await ok(get(`/api/v1/surveillance/alerts/${a.id}`, cdc));
    expect(d.events.map((e: Json) => [e.action, e.fromState, e.toState, e.user?.id ?? null])).toEqual([
      ['created', null, 'new', null], ['extended', 'new', 'new', null], ['note', 'new', 'new', investigatorId], ['review', 'new', 'under_review', cdcUserId],
      ['assign', 'under_review', 'under_review', cdcUserId], ['investigate', 'under_review', 'investigating', cdcUserId], ['close_true', 'investigating', 'closed_true', cdcUserId],
    ]);
    expect(d.events.find((e: Json) => e.action === 'investigate').note).toBe('流调组赴社区：发热门诊就诊者多为同一小学学生');
    const hooks = (await deliveries('alert.updated')).filter((h) => h.payload.alert.id === a.id).map((h) => [h.payload.alert.action, h.payload.alert.state]);
    expect(hooks).toEqual([['extended', 'new'], ['note', 'new'], ['review', 'under_review'], ['assign', 'under_review'], ['investigate', 'investigating'], ['close_true', 'closed_true']]);
  });

  test('an alert under review can be closed as a false alarm', async () => {
    const r = await ok(post(`/api/v1/surveillance/alerts/${b.id}/review`, admin, { version: b.version }));
    expect(await ok(post(`/api/v1/surveillance/alerts/${b.id}/close`, admin, { version: r.version, outcome: 'false' }), 400)).toMatchObject({ field: 'note' });
    const closed = await ok(post(`/api/v1/surveillance/alerts/${b.id}/close`, admin, { version: r.version, outcome: 'false', note: '学校组织外出活动，缺勤非因病' }));
    expect(closed).toMatchObject({ state: 'closed_false', investigatingAt: null });
  });

  test('the inbox filters by state, risk, syndrome, region and dates, and pages', async () => {
    const q = async (qs: string) => (await ok(get(`/api/v1/surveillance/alerts?${qs}`, cdc))).items.map((x: Json) => x.id);
    expect(await q('state=closed_true')).toEqual([a.id]);
    expect(await q('state=closed_true,closed_false&sort=newest')).toEqual([b.id, a.id]);
    expect(await q('risk=medium')).toEqual([b.id]);
    expect(await q('syndrome=fever')).toEqual([a.id]);
    expect(await q(`regionId=${c[2]}`)).toEqual([a.id]);
    const street = (await db().query('SELECT parent_id FROM region WHERE id = $1', [c[4]])).rows[0].parent_id;
    expect(await q(`regionId=${street}`)).toContain(b.id);
    expect(await q(`from=${addDays(AS_OF, 2)}`)).toEqual([]);
    expect(await q(`to=${addDays(AS_OF, -1)}`)).toEqual([]);
    expect(await q(`assigneeId=${investigatorId}`)).toEqual([a.id]);
    const page = await ok(get('/api/v1/surveillance/alerts?pageSize=1&page=2', cdc));
    expect([page.total, page.items.length]).toEqual([2, 1]);
    expect(await ok(get('/api/v1/surveillance/alerts?state=open&lang=en', cdc), 400)).toEqual({
      code: 'VALIDATION_FAILED', message: 'Invalid input: state one or more of new, under_review, investigating, closed_true, closed_false, comma-separated', field: 'state',
    });
  });

  test('after an alert is closed, new evidence in its area opens a new alert', async () => {
    const day3 = addDays(AS_OF, 2);
    const run = await newRun(day3);
    await signal({ runId: run, source: 'fever_clinic', category: 'visits', syndrome: 'fever', community: c[0], date: day3, observed: 15, threshold: 9 });
    const r = await fuse(run, day3);
    expect(r.extended).toEqual([]);
    expect(r.created).toHaveLength(1);
    const d = await ok(get(`/api/v1/surveillance/alerts/${r.created[0]}`, cdc));
    // yesterday's laboratory and the day before's pharmacy signals are still in the 3-day window
    expect(d).toMatchObject({ state: 'new', sources: ['fever_clinic', 'laboratory', 'pharmacy'], firstDate: AS_OF, lastDate: day3 });
  });

  test('response metrics count the closed alerts and time each step', async () => {
    const m = await ok(get('/api/v1/surveillance/alert-metrics', cdc));
    expect(m).toMatchObject({ closed: 2, closedTrue: 1, closedFalse: 1, truePositiveRate: 0.5, byRule: [{ ruleCode: 'high_threshold', closed: 1, closedTrue: 0, closedFalse: 1 }, { ruleCode: 'multi_source', closed: 1, closedTrue: 1, closedFalse: 0 }] });
    expect(m.hoursToReview.median).toBeGreaterThanOrEqual(0);
    expect(m.hoursToInvestigate.mean).toBeGreaterThanOrEqual(0);
    expect(m.hoursToClose.median).toBeGreaterThanOrEqual(m.hoursToReview.median);
    expect(await alertMetrics(db(), { ruleCode: 'multi_source' })).toMatchObject({ closed: 1, closedTrue: 1, hoursToInvestigate: { median: expect.any(Number) } });
    expect((await alertMetrics(db(), { to: '2020-01-01' })).closed).toBe(0);
  });
});

describe('class A case reports', () => {
  async function report(sourceId: string, disease: string, community: number): Promise<number> {
    const { rows } = await db().query(
      `INSERT INTO case_report (institution_id, source_id, region_id, disease_code, diagnosed_at, reported_at, deadline_at, late)
       VALUES ($1, $2, $3, $4, now() - interval '1 hour', now(), now() + interval '1 hour', false) RETURNING id`,
      [anyInstitution, sourceId, community, disease],
    );
    return Number(rows[0].id);
  }

  test('a cholera report is a critical alert at once; a second in the same community extends it; class B is none', async () => {
    const first = await report('card-1', 'A00', c[3]);
    const id = await db().tx((q) => alertForCaseReport(q, first));
    expect(id).not.toBeNull();
    const measles = await report('card-2', 'B05', c[3]);
    expect(await db().tx((q) => alertForCaseReport(q, measles))).toBeNull();
    const second = await report('card-3', 'A00', c[3]);
    expect(await db().tx((q) => alertForCaseReport(q, second))).toBe(id);
    const d = await ok(get(`/api/v1/surveillance/alerts/${id}`, cdc));
    expect(d).toMatchObject({ riskLevel: 'critical', syndrome: 'gastrointestinal', rule: { code: 'class_a_report' }, diseaseCode: 'A00', caseReportCount: 2, version: 2, communities: [{ id: c[3] }] });
    expect(d.caseReports.map((r: Json) => [r.id, r.disease.code, r.disease.class])).toEqual([[first, 'A00', 'A'], [second, 'A00', 'A']]);
    // no identity in the detail, and reading the cards is audited
    expect(JSON.stringify(d.caseReports)).not.toMatch(/resident/i);
    const audit = await db().query("SELECT resource_id FROM audit_event WHERE resource_type = 'CaseReport' AND username = 'cdc1' ORDER BY resource_id");
    expect(audit.rows.map((r) => Number(r.resource_id))).toEqual([first, second]);
    const note = (await notificationsOf(cdc)).find((n) => n.alertId === id);
    expect(note).toMatchObject({ kind: 'alert.created', priority: 'urgent' });
    expect(note!.message).toContain('甲类');
  });

  test('the daily run raises the alert for a managed-as-A report the immediate path missed, once', async () => {
    const sars = await report('card-4', 'U04', c[4]);
    const asOf = (await db().query("SELECT ((now() AT TIME ZONE 'Asia/Shanghai')::date)::text AS d")).rows[0].d;
    const r = await fuse(await newRun(asOf), asOf);
    expect(r.created).toHaveLength(1);
    const d = await ok(get(`/api/v1/surveillance/alerts/${r.created[0]}`, cdc));
    expect(d).toMatchObject({ riskLevel: 'critical', diseaseCode: 'U04', caseReports: [{ id: sars, disease: { managedAsA: true } }] });
    expect((await fuse(await newRun(asOf), asOf)).created).toEqual([]);
    expect(await db().tx((q) => alertForCaseReport(q, sars))).toBeNull();
  });
});

describe('fusion rules are data a district admin edits, as versions', () => {
  test('the three default rules', async () => {
    const rules = await ok(get('/api/v1/surveillance/fusion-rules', cdc));
    expect(rules.map((r: Json) => [r.code, r.kind, r.version, r.riskLevel, r.active])).toEqual([
      ['high_threshold', 'high_threshold', 1, 'medium', true], ['class_a_report', 'case_report_class', 1, 'critical', true], ['multi_source', 'multi_source', 2, 'high', true],
    ]);
  });

  test('only the district admin edits; parameters are checked per kind; a stale version is refused', async () => {
    const body = { version: 2, params: { minSources: 3, windowDays: 3, adjacency: 'adjacent' }, riskLevel: 'critical' };
    expect(await ok(put('/api/v1/surveillance/fusion-rules/multi_source', cdc, body), 403)).toMatchObject({ code: 'FORBIDDEN' });
    expect(await ok(put('/api/v1/surveillance/fusion-rules/multi_source?lang=en', admin, { ...body, params: { minSources: 1 } }), 400)).toEqual({
      code: 'VALIDATION_FAILED', message: 'Invalid input: minSources: Too small: expected number to be >=2', field: 'params.minSources',
    });
    expect(await ok(put('/api/v1/surveillance/fusion-rules/multi_source', admin, { ...body, params: { minSources: 2, radius: 3 } }), 400)).toMatchObject({ field: 'params.radius' });
    expect(await ok(put('/api/v1/surveillance/fusion-rules/multi_source', admin, { ...body, kind: 'high_threshold' }), 400)).toMatchObject({ field: 'kind' });
    expect(await ok(put('/api/v1/surveillance/fusion-rules/multi_source', admin, { ...body, version: 7 }), 409)).toMatchObject({ code: 'STALE_VERSION', field: 'version' });
    expect(await ok(put('/api/v1/surveillance/fusion-rules/nobody_knows', admin, body), 404)).toMatchObject({ code: 'NOT_FOUND' });
  });

  test('an edit is a new version, the old one kept inactive; fusion uses the new one and older alerts keep naming theirs', async () => {
    // version 1 is the original default, version 2 the default of 0016_fusion_defaults.sql
    const v3 = await ok(put('/api/v1/surveillance/fusion-rules/multi_source', admin, { version: 2, params: { minSources: 3 }, riskLevel: 'critical' }));
    expect(v3).toMatchObject({ code: 'multi_source', version: 3, kind: 'multi_source', name: '多源信号时空聚集', params: { minSources: 3, windowDays: 3, adjacency: 'adjacent', minObserved: 0, strongFactor: 1 }, riskLevel: 'critical', active: true, createdBy: expect.any(String) });
    const history = await ok(get('/api/v1/surveillance/fusion-rules?history=true', cdc));
    expect(history.filter((r: Json) => r.code === 'multi_source').map((r: Json) => [r.version, r.active])).toEqual([[3, true], [2, false], [1, false]]);

    // two sources no longer suffice; three do, and the alert names version 3
    const day = addDays(AS_OF, 10);
    const run = await newRun(day);
    await signal({ runId: run, source: 'fever_clinic', category: 'visits', syndrome: 'respiratory', community: c[2], date: day, observed: 5, threshold: 4 });
    await signal({ runId: run, source: 'pharmacy', category: 'cough', syndrome: 'respiratory', community: c[2], date: day, observed: 50, threshold: 40 });
    expect((await fuse(run, day)).created).toEqual([]);
    const run2 = await newRun(day);
    await signal({ runId: run2, source: 'wastewater', category: 'sars_cov_2', syndrome: 'respiratory', community: c[1], date: day, observed: 900, threshold: 700 });
    const r = await fuse(run2, day);
    expect(r.created).toHaveLength(1);
    const list = (await ok(get('/api/v1/surveillance/alerts?ruleCode=multi_source&sort=newest', cdc))).items;
    expect(list[0]).toMatchObject({ id: r.created[0], riskLevel: 'critical', rule: { version: 3 } });
    expect(list.at(-1).rule.version).toBe(2);

    // switching a rule off is a version too
    const off = await ok(put('/api/v1/surveillance/fusion-rules/high_threshold', admin, { version: 1, params: {}, riskLevel: 'medium', active: false }));
    expect(off).toMatchObject({ version: 2, active: false, params: { factor: 3, minObserved: 10, maxP: 0.001 } });
    const run3 = await newRun(addDays(day, 1));
    await signal({ runId: run3, source: 'school', category: 'absent_illness', syndrome: 'other', community: c[0], date: addDays(day, 1), observed: 100, threshold: 10 });
    expect((await fuse(run3, addDays(day, 1))).created).toEqual([]);
  });

  test('a new code creates a rule (kind and names required)', async () => {
    expect(await ok(put('/api/v1/surveillance/fusion-rules/three_sources', admin, { params: {}, riskLevel: 'high' }), 400)).toMatchObject({ field: 'kind' });
    const r = await ok(put('/api/v1/surveillance/fusion-rules/three_sources', admin, { kind: 'multi_source', name: '三源一致', nameEn: 'Three sources agree', params: { minSources: 3, windowDays: 7 }, riskLevel: 'high' }));
    expect(r).toMatchObject({ code: 'three_sources', version: 1, params: { minSources: 3, windowDays: 7, adjacency: 'adjacent' } });
  });
});

test('webhook payloads carry ids, levels and states only', async () => {
  const all = await deliveries();
  expect(all.length).toBeGreaterThan(10);
  expect(runs).toBeGreaterThan(5);
  for (const h of all) {
    expect(Object.keys(h.payload).sort()).toEqual(['alert', 'event', 'occurredAt']);
    expect(Object.keys(h.payload.alert).sort()).toEqual(['action', 'firstDate', 'id', 'lastDate', 'regionIds', 'riskLevel', 'ruleCode', 'ruleId', 'state', 'syndrome', 'version']);
  }
  expect(JSON.stringify(all)).not.toMatch(/流调|甲型流感|学校组织/);
});
