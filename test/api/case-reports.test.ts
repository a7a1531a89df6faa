// Statutory case reports (传染病报告卡): deadlines at the 2 h / 24 h boundaries, revisions and withdrawals, the hook
// inside the card's transaction, scope and audit of reads, and timeliness per institution counted by hand.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { districtOf, type District, type Reg } from '../helpers/surveillance.ts';
import { onCaseReport, type SavedCaseReport } from '../../src/modules/surveillance/case-reports.ts';
import { AppError } from '../../src/platform/errors.ts';

let s: TestServer;
let d: District;
let cdc: string;
let hospital: string;
let doctor: string;
let community: Reg;
let residentId: number;

beforeAll(async () => {
  s = await startTestServer({ listen: false });
  d = await districtOf(s);
  cdc = await s.login('cdc1');
  hospital = await s.login('hospital.admin');
  doctor = await s.login('doctor1');
  community = d.communities[0];
  const r = await s.app.inject({ method: 'GET', url: '/api/v1/residents?pageSize=1', headers: { cookie: d.admin } });
  residentId = r.json().items[0].id;
});
afterAll(async () => s?.close());

const url = '/api/v1/surveillance/case-reports';
const file = (cookie: string, card: object, lang?: string) =>
  s.app.inject({ method: 'POST', url: `${url}${lang ? `?lang=${lang}` : ''}`, headers: { cookie }, payload: { regionId: community.id, ...card } });

/** An instant `hours` after `iso` (fractions allowed), as ISO 8601 UTC. */
const after = (iso: string, hours: number) => new Date(new Date(iso).getTime() + hours * 3600_000).toISOString();

describe('deadlines', () => {
  // Days in 2005: the seeded district's background case reports are recent, and the timeliness window below is 2004.
  test.each([
    ['A00', 'class A', 2, 2, false],
    ['A00', 'class A', 2, 2 + 1 / 3600, true],
    ['U04', 'class B managed as A', 2, 2, false],
    ['U04', 'class B managed as A', 2, 2.01, true],
    ['B05', 'class B', 24, 24, false],
    ['B05', 'class B', 24, 24 + 1 / 60, true],
    ['J10', 'class C', 24, 24, false],
    ['J10', 'class C', 24, 25, true],
  ])('%s (%s): deadline %i h, reported after %d h → late %s', async (diseaseCode, _label, hours, delay, late) => {
    const diagnosedAt = '2005-06-01T10:00:00+08:00';
    const r = await file(hospital, { sourceId: `DL-${diseaseCode}-${delay}`, diseaseCode, diagnosedAt, reportedAt: after(diagnosedAt, delay) });
    expect(r.statusCode, r.body).toBe(201);
    const report = r.json().report;
    expect(report.deadlineAt).toBe(after(diagnosedAt, hours));
    expect(report.late).toBe(late);
    expect(report.delayHours).toBe(Math.round(delay * 100) / 100);
  });

  test('without a report time the card is reported when it arrives; a time without zone is Beijing time', async () => {
    const before = Date.now();
    const r = await file(hospital, { sourceId: 'NOW-1', diseaseCode: 'B05', diagnosedAt: '2005-06-02 09:30' });
    expect(r.statusCode).toBe(201);
    const report = r.json().report;
    expect(report.diagnosedAt).toBe('2005-06-02T01:30:00.000Z');
    expect(new Date(report.reportedAt).getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(report.late).toBe(true);
  });
});

describe('revisions and withdrawals', () => {
  test('the same card number revises the card; the first report time stays, the deadline follows the new disease', async () => {
    const diagnosedAt = '2005-07-01T08:00:00+08:00';
    const first = await file(hospital, { sourceId: 'REV-1', diseaseCode: 'B05', caseClass: 'suspected', diagnosedAt, reportedAt: after(diagnosedAt, 5), residentId });
    expect(first.json().report).toMatchObject({ late: false, revision: 1, status: 'active' });
    // confirmed as cholera: a 2 h disease, first reported after 5 h
    const rev = await file(hospital, { sourceId: 'REV-1', diseaseCode: 'A00', caseClass: 'confirmed', diagnosedAt, reportedAt: after(diagnosedAt, 9), residentId });
    expect(rev.statusCode).toBe(200);
    expect(rev.json().outcome).toBe('updated');
    expect(rev.json().report).toMatchObject({
      id: first.json().report.id, diseaseCode: 'A00', diseaseClass: 'A', revision: 2, status: 'revised', late: true,
      reportedAt: after(diagnosedAt, 5), deadlineAt: after(diagnosedAt, 2),
    });
    const same = await file(hospital, { sourceId: 'REV-1', diseaseCode: 'A00', caseClass: 'confirmed', diagnosedAt, residentId });
    expect(same.json()).toMatchObject({ outcome: 'unchanged', report: { revision: 2 } });
    const gone = await file(hospital, { sourceId: 'REV-1', diseaseCode: 'A00', caseClass: 'confirmed', diagnosedAt, residentId, status: 'entered-in-error' });
    expect(gone.json()).toMatchObject({ outcome: 'withdrawn', report: { revision: 3, status: 'entered-in-error' } });
  });

  test('bad cards are refused naming the field', async () => {
    const base = { sourceId: 'BAD-1', diseaseCode: 'B05', diagnosedAt: '2005-06-01T10:00:00+08:00' };
    const cases: [object, number, object][] = [
      [{ diseaseCode: 'X99' }, 400, { code: 'UNKNOWN_DISEASE', message: 'No active notifiable disease X99', field: 'diseaseCode' }],
      [{ regionId: d.streets[0].id }, 400, { code: 'FEED_NOT_COMMUNITY', message: `${d.streets[0].name} (${d.streets[0].code}) is not a community: feeds are sent per community`, field: 'regionId' }],
      [{ reportedAt: '2005-06-01T09:00:00+08:00' }, 400, { code: 'VALIDATION_FAILED', message: 'Invalid input: reportedAt: must not be before the diagnosis', field: 'reportedAt' }],
      [{ diagnosedAt: '2999-01-01T00:00:00Z' }, 400, { code: 'VALIDATION_FAILED', message: 'Invalid input: diagnosedAt: must not be in the future', field: 'diagnosedAt' }],
      [{ residentId: 99999999 }, 404, { code: 'NOT_FOUND', message: 'Resident not found', field: 'residentId' }],
      [{ sourceId: 'NEVER-FILED', status: 'entered-in-error' }, 404, { code: 'NOT_FOUND', message: 'Case report not found', field: 'sourceId' }],
    ];
    for (const [change, status, body] of cases) {
      const r = await file(hospital, { ...base, ...change }, 'en');
      expect(r.statusCode, JSON.stringify(change)).toBe(status);
      expect(r.json()).toEqual(body);
    }
  });
});

describe('hooks', () => {
  test('onCaseReport sees every change with the saved card, inside its transaction', async () => {
    const seen: { change: string; report: SavedCaseReport }[] = [];
    const off = onCaseReport(async (q, e) => {
      // inside the transaction: the card is visible to the hook's queryable
      const { rows } = await q.query('SELECT status FROM case_report WHERE id = $1', [e.report.id]);
      seen.push({ change: `${e.change}:${rows[0].status}`, report: e.report });
    });
    const diagnosedAt = '2005-08-01T08:00:00+08:00';
    await file(hospital, { sourceId: 'HOOK-1', diseaseCode: 'A20', diagnosedAt, reportedAt: after(diagnosedAt, 1) });
    await file(hospital, { sourceId: 'HOOK-1', diseaseCode: 'A20', diagnosedAt, reportedAt: after(diagnosedAt, 1) });
    await file(hospital, { sourceId: 'HOOK-1', diseaseCode: 'A20', caseClass: 'clinical', diagnosedAt });
    off();
    await file(hospital, { sourceId: 'HOOK-2', diseaseCode: 'A20', diagnosedAt });
    expect(seen.map((x) => x.change)).toEqual(['created:active', 'updated:revised']);
    expect(seen[0].report).toMatchObject({ sourceId: 'HOOK-1', diseaseClass: 'A', managedAsA: false, late: false });
  });

  test('a hook that fails rolls the card back', async () => {
    const off = onCaseReport(async () => {
      throw new AppError('CONFLICT', { detail: 'refused by a hook' });
    });
    const r = await file(hospital, { sourceId: 'HOOK-3', diseaseCode: 'A00', diagnosedAt: '2005-08-02T08:00:00+08:00' });
    off();
    expect(r.statusCode).toBe(409);
    const again = await file(hospital, { sourceId: 'HOOK-3', diseaseCode: 'A00', diagnosedAt: '2005-08-02T08:00:00+08:00' });
    expect(again.statusCode).toBe(201);
  });
});

describe('who files and who reads', () => {
  test('pharmacies cannot file; roles without surveillance are refused; nobody files for another institution', async () => {
    const pharmacy = await d.accountOf(d.byType('pharmacy')[0], 'pharmacy.cr');
    const card = { sourceId: 'SC-1', diseaseCode: 'B05', diagnosedAt: '2005-06-01T10:00:00+08:00' };
    const ph = await file(pharmacy, card, 'en');
    expect(ph.statusCode).toBe(403);
    expect(ph.json()).toEqual({ code: 'CASE_REPORT_NOT_ALLOWED', message: 'An institution of type pharmacy cannot file case reports', field: 'institutionId' });
    const ems = await s.login('ems1');
    expect((await file(ems, card)).statusCode).toBe(403);
    expect((await s.app.inject({ method: 'GET', url, headers: { cookie: ems } })).statusCode).toBe(403);
    const centre = d.byType('community_health_centre')[0];
    const other = await file(hospital, { ...card, institutionId: centre.id });
    expect(other.statusCode).toBe(403);
    expect(other.json().code).toBe('WRONG_INSTITUTION');
  });

  test('an institution lists its own cards, the CDC every card; each card shown is audited against its resident', async () => {
    const diagnosedAt = '2005-09-01T08:00:00+08:00';
    const mine = await file(doctor, { sourceId: 'CHC-1', diseaseCode: 'J10', diagnosedAt, residentId });
    expect(mine.statusCode, mine.body).toBe(201);
    // the seeded district's background cards are recent; 2005 holds only this file's cards
    const own = (await s.app.inject({ method: 'GET', url: `${url}?pageSize=200&from=2005-01-01&to=2005-12-31`, headers: { cookie: doctor } })).json();
    expect(own.total).toBe(1);
    expect(own.items[0]).toMatchObject({ sourceId: 'CHC-1', residentId, diseaseCode: 'J10', diseaseName: '流行性感冒' });
    const everyOwn = (await s.app.inject({ method: 'GET', url: `${url}?pageSize=200`, headers: { cookie: doctor } })).json();
    expect(new Set(everyOwn.items.map((x: { institutionId: number }) => x.institutionId))).toEqual(new Set([mine.json().report.institutionId]));
    const hospitalId = (await file(hospital, { sourceId: 'SC-H', diseaseCode: 'J10', diagnosedAt })).json().report.institutionId;
    expect(hospitalId).not.toBe(mine.json().report.institutionId);
    expect((await s.app.inject({ method: 'GET', url: `${url}?institutionId=${hospitalId}`, headers: { cookie: doctor } })).statusCode).toBe(403);

    const all = (await s.app.inject({ method: 'GET', url: `${url}?from=2005-09-01&to=2005-09-01`, headers: { cookie: cdc } })).json();
    expect(all.items.map((x: { sourceId: string }) => x.sourceId)).toEqual(['SC-H', 'CHC-1']);
    const audit = (await s.app.inject({ method: 'GET', url: `/api/v1/audit?username=cdc1&action=list&residentId=${residentId}`, headers: { cookie: d.admin } })).json();
    expect(audit.items).toContainEqual(expect.objectContaining({ resourceType: 'CaseReport', resourceId: String(all.items[1].id), residentId, action: 'list' }));
  });
});

describe('timeliness', () => {
  test('reports, late, on-time rate, median and 90th percentile per institution and in total, counted by hand', async () => {
    // Hospital: delays 1 h (A, on time), 3 h (A, late), 10 h (B, on time), 30 h (B, late), and 2 h (B, on time)
    // for a diagnosis at 23:30 Beijing on the window's last day; a withdrawn card and one diagnosed at 00:30 the day
    // after the window do not count.
    const h: [string, string, number][] = [
      ['TL-H1', '2004-03-02T08:00:00+08:00', 1], ['TL-H2', '2004-03-03T08:00:00+08:00', 3],
      ['TL-H3', '2004-03-04T08:00:00+08:00', 10], ['TL-H4', '2004-03-05T08:00:00+08:00', 30],
      ['TL-H5', '2004-03-31T23:30:00+08:00', 2],
    ];
    const disease = { 'TL-H1': 'A00', 'TL-H2': 'A00' } as Record<string, string>;
    for (const [id, at, delay] of h) expect((await file(hospital, { sourceId: id, diseaseCode: disease[id] ?? 'B05', diagnosedAt: at, reportedAt: after(at, delay) })).statusCode).toBe(201);
    await file(hospital, { sourceId: 'TL-H6', diseaseCode: 'J10', diagnosedAt: '2004-03-06T08:00:00+08:00', reportedAt: after('2004-03-06T08:00:00+08:00', 50) });
    await file(hospital, { sourceId: 'TL-H6', diseaseCode: 'J10', diagnosedAt: '2004-03-06T08:00:00+08:00', status: 'entered-in-error' });
    await file(hospital, { sourceId: 'TL-H7', diseaseCode: 'B05', diagnosedAt: '2004-04-01T00:30:00+08:00', reportedAt: after('2004-04-01T00:30:00+08:00', 40) });
    // Community health centre: 0.5 h (C, on time), 24 h (B, exactly at the deadline: on time), 25 h (B, late)
    const c: [string, string, string, number][] = [
      ['TL-C1', 'J10', '2004-03-10T08:00:00+08:00', 0.5], ['TL-C2', 'B05', '2004-03-11T08:00:00+08:00', 24], ['TL-C3', 'B05', '2004-03-12T08:00:00+08:00', 25],
    ];
    for (const [id, dis, at, delay] of c) expect((await file(doctor, { sourceId: id, diseaseCode: dis, diagnosedAt: at, reportedAt: after(at, delay) })).statusCode).toBe(201);

    const get = async (cookie: string) => {
      const r = await s.app.inject({ method: 'GET', url: `${url}/timeliness?from=2004-03-01&to=2004-03-31`, headers: { cookie } });
      expect(r.statusCode, r.body).toBe(200);
      return r.json();
    };
    const all = await get(cdc);
    const [hosp, centre] = [d.byType('tertiary_hospital'), d.byType('community_health_centre')];
    const hospitalRow = all.institutions.find((x: { institutionId: number }) => hosp.some((i) => i.id === x.institutionId));
    const centreRow = all.institutions.find((x: { institutionId: number }) => centre.some((i) => i.id === x.institutionId));
    expect(all.institutions).toHaveLength(2);
    // sorted delays 1, 2, 3, 10, 30: median the 3rd; p90 at rank 0.9 × 4 = 3.6 → 10 + 0.6 × (30 − 10) = 22
    expect(hospitalRow).toMatchObject({ reports: 5, late: 2, onTime: 3, onTimeRate: 0.6, medianDelayHours: 3, p90DelayHours: 22 });
    // sorted 0.5, 24, 25: median 24; p90 at rank 0.9 × 2 = 1.8 → 24 + 0.8 × 1 = 24.8
    expect(centreRow).toMatchObject({ reports: 3, late: 1, onTime: 2, onTimeRate: 0.6667, medianDelayHours: 24, p90DelayHours: 24.8 });
    // all eight: 0.5, 1, 2, 3, 10, 24, 25, 30: median (3 + 10) / 2; p90 at rank 6.3 → 25 + 0.3 × 5 = 26.5
    expect(all.total).toEqual({ institutionId: null, institutionName: null, reports: 8, late: 3, onTime: 5, onTimeRate: 0.625, medianDelayHours: 6.5, p90DelayHours: 26.5 });

    // an institution sees its own row only
    const own = await get(doctor);
    expect(own.institutions).toEqual([centreRow]);
    expect(own.total).toMatchObject({ reports: 3, late: 1 });
  });
});
