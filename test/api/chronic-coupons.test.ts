// Medication coupons (用药券) through the HTTP API: 12 coupons of 10 yuan a year per managed patient (settings), issued
// on demand and by the yearly issue (idempotent), redeemed against a prescription, voided; the ledger with paging;
// no overdraft under concurrent redemptions; scope.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { chronicHelper, type ChronicHelper } from '../helpers/chronic.ts';
import { runCouponIssue } from '../../src/modules/chronic/coupons.ts';

type Json = Record<string, any>;
let s: TestServer;
let h: ChronicHelper & { teamId: number };
let admin: string, doctor1: string, doctor2: string, centreAdmin: string;
let year: number;
const db = () => s.started.ctx.db;

const redeem = (body: Json, cookie = doctor1) => h.post('/api/v1/chronic/coupons/redeem', body, cookie);
const balance = async (residentId: number, cookie = doctor1) => {
  const r = await h.get(`/api/v1/chronic/coupons/balance?residentId=${residentId}`, cookie);
  expect(r.statusCode, r.body).toBe(200);
  return r.json();
};

beforeAll(async () => {
  s = await startTestServer();
  [admin, doctor1, doctor2, centreAdmin] = await Promise.all(['admin', 'doctor1', 'doctor2', 'inst.admin'].map((u) => s.login(u)));
  h = await chronicHelper(s, doctor1);
  year = Number(new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 4));
});
afterAll(async () => s?.close());

describe('issuing', () => {
  test('on demand to a managed resident: 12 coupons of 10 yuan, once a year', async () => {
    const { residentId } = await h.managed({ followUp: null });
    expect(await balance(residentId)).toEqual({ residentId, year, issued: 0, redeemed: 0, voided: 0, balance: 0, balanceYuan: 0 });
    const r = await h.post(`/api/v1/chronic/coupons/issue/${residentId}`, {});
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json()).toEqual({ residentId, year, issued: 12, redeemed: 0, voided: 0, balance: 12, balanceYuan: 120, created: true });
    const again = await h.post(`/api/v1/chronic/coupons/issue/${residentId}`, {});
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ issued: 12, balance: 12, created: false });
    const ledger = (await h.get(`/api/v1/chronic/coupons/ledger?residentId=${residentId}`)).json();
    expect(ledger.items).toMatchObject([{ kind: 'issue', year, count: 12, amountYuan: 120, prescriptionId: null, user: 'doctor1' }]);
  });

  test('a resident who is not managed has no coupons to issue', async () => {
    const residentId = h.nextResident();
    const c = await h.post('/api/v1/contracts', { residentId, teamId: h.teamId, packages: ['basic'], consent: { method: 'written', signedBy: 'self' } });
    expect(c.statusCode).toBe(201);
    const r = await h.post(`/api/v1/chronic/coupons/issue/${residentId}`, {});
    expect(r.statusCode).toBe(422);
    expect(r.json()).toEqual({ code: 'UNPROCESSABLE', message: '无法处理：居民未纳入慢病管理，没有用药券', field: 'residentId' });
  });

  test('the yearly issue reaches every managed resident once; run again it issues nothing', async () => {
    const target = 2031;
    for (let i = 0; i < 3; i++) await h.managed({ followUp: null });
    const managed = (await db().query("SELECT count(DISTINCT resident_id)::int AS n FROM chronic_enrolment WHERE status = 'active'")).rows[0].n;
    expect(managed).toBeGreaterThan(3);
    expect((await h.post('/api/v1/chronic/coupons/issue', { year: target }, doctor1)).statusCode).toBe(403);
    const first = await h.post('/api/v1/chronic/coupons/issue', { year: target }, admin);
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toEqual({ year: target, issued: managed, perResident: 12, valueYuan: 10 });
    expect((await h.post('/api/v1/chronic/coupons/issue', { year: target }, admin)).json().issued).toBe(0);
    // a resident enrolled since gets theirs on the next run, and only they
    await h.managed({ followUp: null });
    expect((await h.post('/api/v1/chronic/coupons/issue', { year: target }, admin)).json().issued).toBe(1);
    const { rows } = await db().query("SELECT count(*)::int AS rows, sum(count)::int AS coupons, sum(amount_yuan)::numeric AS yuan FROM coupon_ledger WHERE year = $1 AND kind = 'issue'", [target]);
    expect(rows[0]).toMatchObject({ rows: managed + 1, coupons: (managed + 1) * 12 });
    expect(Number(rows[0].yuan)).toBe((managed + 1) * 120);
  });

  test('the server’s issue job gives this year’s coupons to whoever is managed and has none, once', async () => {
    const { residentId } = await h.managed({ followUp: null });
    expect(await runCouponIssue(db())).toBeGreaterThanOrEqual(1);
    expect(await balance(residentId)).toMatchObject({ issued: 12, balance: 12 });
    expect(await runCouponIssue(db())).toBe(0);
    const { rows } = await db().query("SELECT user_id, note FROM coupon_ledger WHERE resident_id = $1", [residentId]);
    expect(rows).toEqual([{ user_id: null, note: 'annual issue' }]);
  });

  test('a centre administrator’s yearly issue covers the centre’s area only', async () => {
    const r = await h.post('/api/v1/chronic/coupons/issue', { year: 2032 }, centreAdmin);
    expect(r.statusCode, r.body).toBe(200);
    const { rows } = await db().query(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE r.street_id IS DISTINCT FROM (SELECT i.region_id FROM app_user u JOIN institution i ON i.id = u.institution_id WHERE u.username = 'inst.admin'))::int AS outside
         FROM coupon_ledger l JOIN resident r ON r.id = l.resident_id WHERE l.year = 2032`,
    );
    expect(rows[0]).toEqual({ n: r.json().issued, outside: 0 });
    expect(rows[0].n).toBeGreaterThan(0);
  });

  test('the number and value of coupons are settings', async () => {
    await db().query("UPDATE setting SET value = '6' WHERE key = 'chronic.coupons_per_year'");
    try {
      const { residentId } = await h.managed({ followUp: null });
      expect((await h.post(`/api/v1/chronic/coupons/issue/${residentId}`, {})).json()).toMatchObject({ issued: 6, balanceYuan: 60 });
    } finally {
      await db().query("UPDATE setting SET value = '12' WHERE key = 'chronic.coupons_per_year'");
    }
  });
});

describe('redeeming and voiding', () => {
  let residentId: number;
  let rx: Json;
  beforeAll(async () => {
    ({ residentId, prescription: rx } = await h.withPrescription());
  });

  test('redeemed against a prescription: this year’s coupons are issued first; the same sender id once', async () => {
    const r = await redeem({ residentId, prescriptionId: rx.id, count: 3, sourceId: 'pos-1' });
    expect(r.statusCode, r.body).toBe(201);
    const e = r.json();
    expect(e).toMatchObject({ residentId, year, kind: 'redeem', count: 3, amountYuan: 30, prescriptionId: rx.id, user: 'doctor1', sourceId: 'pos-1' });
    const again = await redeem({ residentId, prescriptionId: rx.id, count: 3, sourceId: 'pos-1' });
    expect(again.statusCode).toBe(200);
    expect(again.json().id).toBe(e.id);
    expect(await balance(residentId)).toMatchObject({ issued: 12, redeemed: 3, balance: 9, balanceYuan: 90 });
  });

  test('more than the balance is refused with what is left', async () => {
    const r = await redeem({ residentId, prescriptionId: rx.id, count: 10 });
    expect(r.statusCode).toBe(409);
    expect(r.json()).toEqual({ code: 'COUPONS_INSUFFICIENT', message: `用药券不足：${year} 年剩余 9 张，本次需 10 张`, field: 'count' });
    expect((await redeem({ residentId, prescriptionId: rx.id, count: 9 })).statusCode).toBe(201);
    expect(await balance(residentId)).toMatchObject({ redeemed: 12, balance: 0, balanceYuan: 0 });
  });

  test('a voided redemption returns its coupons, once', async () => {
    const first = (await h.get(`/api/v1/chronic/coupons/ledger?residentId=${residentId}&kind=redeem`)).json().items.at(-1);
    expect((await h.post(`/api/v1/chronic/coupons/ledger/${first.id}/void`, { reason: '未取药' }, doctor2)).statusCode).toBe(403);
    const v = await h.post(`/api/v1/chronic/coupons/ledger/${first.id}/void`, { reason: '未取药' });
    expect(v.statusCode, v.body).toBe(201);
    expect(v.json()).toMatchObject({ kind: 'void', count: 3, amountYuan: 30, voidsId: first.id, prescriptionId: rx.id, note: '未取药' });
    expect(await balance(residentId)).toMatchObject({ issued: 12, redeemed: 12, voided: 3, balance: 3, balanceYuan: 30 });
    const twice = await h.post(`/api/v1/chronic/coupons/ledger/${first.id}/void`, { reason: 'again' });
    expect(twice.json()).toMatchObject({ code: 'INVALID_STATE', field: 'id' });
    const issueRow = (await h.get(`/api/v1/chronic/coupons/ledger?residentId=${residentId}&kind=issue`)).json().items[0];
    expect((await h.post(`/api/v1/chronic/coupons/ledger/${issueRow.id}/void`, { reason: 'x' })).json().code).toBe('INVALID_STATE');
  });

  test('another resident’s prescription, a cancelled one, another team: refused', async () => {
    const other = await h.withPrescription();
    expect((await redeem({ residentId, prescriptionId: other.prescription.id, count: 1 })).json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'prescriptionId' });
    expect((await h.post(`/api/v1/chronic/prescriptions/${other.prescription.id}/cancel`, { reason: '停药' })).statusCode).toBe(200);
    expect((await redeem({ residentId: other.residentId, prescriptionId: other.prescription.id, count: 1 })).json()).toMatchObject({ code: 'INVALID_STATE', field: 'prescriptionId' });
    const r = await redeem({ residentId, prescriptionId: rx.id, count: 1 }, doctor2);
    expect(r.statusCode).toBe(403);
    expect(r.json().code).toBe('OUT_OF_SCOPE');
  });

  test('the ledger pages newest first; another team cannot read it', async () => {
    const p1 = (await h.get(`/api/v1/chronic/coupons/ledger?residentId=${residentId}&pageSize=2`)).json();
    const p2 = (await h.get(`/api/v1/chronic/coupons/ledger?residentId=${residentId}&pageSize=2&page=2`)).json();
    expect(p1).toMatchObject({ total: 4, page: 1, pageSize: 2 });
    expect([...p1.items, ...p2.items].map((e: Json) => e.kind)).toEqual(['void', 'redeem', 'redeem', 'issue']);
    expect((await h.get(`/api/v1/chronic/coupons/ledger?residentId=${residentId}`, doctor2)).statusCode).toBe(403);
    expect((await h.get(`/api/v1/chronic/coupons/balance?residentId=${residentId}`, doctor2)).statusCode).toBe(403);
    const theirs = (await h.get(`/api/v1/chronic/coupons/ledger?year=${year}&pageSize=200`, doctor2)).json();
    expect(theirs.items.some((e: Json) => e.residentId === residentId)).toBe(false);
    const { rows } = await db().query("SELECT count(*)::int AS n FROM audit_event WHERE resident_id = $1 AND resource_type = 'CouponLedger' AND action = 'list'", [residentId]);
    expect(rows[0].n).toBeGreaterThanOrEqual(2);
  });
});

describe('on the worklist', () => {
  test('the family doctor sees the coupons left this year beside the resident’s work, null before any were issued', async () => {
    const a = await h.managed({ followUp: null });
    const b = await h.managed({ followUp: null });
    await h.post(`/api/v1/chronic/coupons/issue/${a.residentId}`, {});
    const items = (await h.get('/api/v1/worklist?kind=enrolment&pageSize=200')).json().items as Json[];
    expect(items.find((i) => i.resident.id === a.residentId)).toMatchObject({ kind: 'enrolment', couponBalance: 12 });
    expect(items.find((i) => i.resident.id === b.residentId)).toMatchObject({ kind: 'enrolment', couponBalance: null });
  });
});

describe('merges of duplicate records', () => {
  test('the duplicate’s redemptions and prescriptions move to the survivor, its second issue of the year stays behind; an undo restores both', async () => {
    const register = async (name: string) => (await h.post('/api/v1/residents', { name, sex: 'female', birthDate: '1950-03-04', gridId: h.gridId, address: '北京市东城区测试胡同8号' }, admin)).json().residentId as number;
    const [a, b] = [await register('孙三'), await register('孙叁')];
    const rxA = (await h.withPrescription(a)).prescription;
    const rxB = (await h.withPrescription(b)).prescription;
    expect((await redeem({ residentId: a, prescriptionId: rxA.id, count: 1 })).statusCode).toBe(201);
    expect((await redeem({ residentId: b, prescriptionId: rxB.id, count: 2 })).statusCode).toBe(201);
    const m = await h.post(`/api/v1/residents/${a}/merge`, { duplicateId: b, reason: '同一人，登记重复' }, admin);
    expect(m.statusCode, m.body).toBe(200);
    expect(await balance(a, admin)).toMatchObject({ issued: 12, redeemed: 3, balance: 9 });
    expect((await h.get(`/api/v1/chronic/prescriptions?residentId=${a}`, admin)).json().items.map((p: Json) => p.id).sort()).toEqual([rxA.id, rxB.id].sort());
    const left = await db().query('SELECT kind FROM coupon_ledger WHERE resident_id = $1', [b]);
    expect(left.rows).toEqual([{ kind: 'issue' }]);
    expect((await h.post(`/api/v1/merges/${m.json().id}/undo`, {}, admin)).statusCode).toBe(200);
    expect(await balance(a, admin)).toMatchObject({ issued: 12, redeemed: 1, balance: 11 });
    expect(await balance(b, admin)).toMatchObject({ issued: 12, redeemed: 2, balance: 10 });
    expect((await h.get(`/api/v1/chronic/prescriptions?residentId=${b}`, admin)).json().items.map((p: Json) => p.id)).toEqual([rxB.id]);
  });
});

describe('concurrent redemptions', () => {
  test('eight parallel redemptions of 3 against 12 coupons, over two prescriptions: exactly four succeed, never an overdraft, one issue row', async () => {
    const { residentId, prescription } = await h.withPrescription();
    const second = await h.post('/api/v1/chronic/prescriptions', { kind: 'long', residentId, programme: 'hypertension', weeks: 4, items: [{ name: '厄贝沙坦片' }] });
    expect(second.statusCode, second.body).toBe(201);
    const ids = [prescription.id, second.json().id];
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => redeem({ residentId, prescriptionId: ids[i % 2], count: 3, sourceId: `race-${i}` })));
    const codes = results.map((r) => r.statusCode).sort();
    expect(codes, results.map((r) => r.body).join('\n')).toEqual([201, 201, 201, 201, 409, 409, 409, 409]);
    for (const r of results.filter((x) => x.statusCode === 409)) expect(r.json()).toMatchObject({ code: 'COUPONS_INSUFFICIENT', field: 'count' });
    expect(await balance(residentId)).toMatchObject({ issued: 12, redeemed: 12, balance: 0 });
    const { rows } = await db().query("SELECT kind, count(*)::int AS n FROM coupon_ledger WHERE resident_id = $1 GROUP BY kind ORDER BY kind", [residentId]);
    expect(rows).toEqual([{ kind: 'issue', n: 1 }, { kind: 'redeem', n: 4 }]);
  });

  test('the same sender id sent in parallel is one redemption', async () => {
    const { residentId, prescription } = await h.withPrescription();
    const results = await Promise.all(Array.from({ length: 4 }, () => redeem({ residentId, prescriptionId: prescription.id, count: 2, sourceId: 'same' })));
    expect(new Set(results.map((r) => r.json().id)).size).toBe(1);
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 200, 200, 201]);
    expect(await balance(residentId)).toMatchObject({ redeemed: 2, balance: 10 });
  });
});
