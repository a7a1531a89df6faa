// Surveillance feeds: POST /api/v1/surveillance/feeds (counts and line-list items, corrections, withdrawals, late
// data, per-row errors, who may send what), the series and epicurve reads with their scopes, loadSeries for the
// daily run, and the catalogue.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { daysAgo, districtOf, type District, type Inst, type Reg } from '../helpers/surveillance.ts';
import { dateAfter, loadSeries } from '../../src/modules/surveillance/feeds.ts';

// Fixed days long past: the seeded district's synthetic feeds (recent years) never touch them, so sums are exact.
const past = (n: number) => dateAfter('2003-06-30', -n);

let s: TestServer;
let d: District;
let cdc: string;
let pharmacyA: Inst;
let pharmacyB: Inst;
let school: Inst;
let pharmA: string;
let pharmB: string;
let c1: Reg;
let c2: Reg;

beforeAll(async () => {
  s = await startTestServer({ listen: false });
  d = await districtOf(s);
  cdc = await s.login('cdc1');
  [pharmacyA, pharmacyB] = d.byType('pharmacy');
  [school] = d.byType('school');
  pharmA = await d.accountOf(pharmacyA, 'pharmacy.a');
  pharmB = await d.accountOf(pharmacyB, 'pharmacy.b');
  [c1, c2] = d.communities;
});
afterAll(async () => s?.close());

const send = (cookie: string, payload: unknown, lang?: string) =>
  s.app.inject({ method: 'POST', url: `/api/v1/surveillance/feeds${lang ? `?lang=${lang}` : ''}`, headers: { cookie }, payload: payload as object });

async function series(cookie: string, query: Record<string, string | number>) {
  const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString();
  const r = await s.app.inject({ method: 'GET', url: `/api/v1/surveillance/series?${qs}`, headers: { cookie } });
  expect(r.statusCode, r.body).toBe(200);
  return r.json() as { dates: string[]; series: { regionId: number | null; sourceCode: string; categoryCode: string; values: number[] }[] };
}

/** The district's value of one source/category on one day, as the CDC reads it. */
async function valueOn(sourceCode: string, categoryCode: string, date: string, regionId?: number) {
  const r = await series(cdc, { sourceCode, categoryCode, from: date, to: date, ...(regionId ? { regionId } : {}) });
  return r.series.reduce((a, x) => a + x.values[0], 0);
}

describe('aggregate counts', () => {
  test('a first send creates; a resend with another value replaces it (revision 2) and the sum counts it once', async () => {
    const day = past(3);
    const row = { sourceCode: 'pharmacy', categoryCode: 'antipyretic', regionId: c1.id, date: day, value: 12 };
    const first = await send(pharmA, { counts: [row] });
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toEqual({
      institutionId: pharmacyA.id, accepted: 1, rejected: 0, tally: { created: 1, updated: 0, unchanged: 0, withdrawn: 0 },
      counts: [{ index: 0, outcome: 'created', revision: 1 }], items: [], errors: [],
    });
    // another pharmacy in the same community on the same day adds to the community's value
    expect((await send(pharmB, { counts: [{ ...row, value: 5 }] })).json().counts[0].outcome).toBe('created');
    expect(await valueOn('pharmacy', 'antipyretic', day, c1.id)).toBe(17);

    const again = await send(pharmA, { counts: [{ ...row, value: 20 }] });
    expect(again.json().counts).toEqual([{ index: 0, outcome: 'updated', revision: 2 }]);
    expect(await valueOn('pharmacy', 'antipyretic', day, c1.id)).toBe(25);

    // the same value again changes nothing: no revision, no double count
    const same = await send(pharmA, { counts: [{ ...row, value: 20 }] });
    expect(same.json().counts).toEqual([{ index: 0, outcome: 'unchanged', revision: 2 }]);
    expect(await valueOn('pharmacy', 'antipyretic', day, c1.id)).toBe(25);

    // a correction to zero takes the institution's value out of the sum
    expect((await send(pharmA, { counts: [{ ...row, value: 0 }] })).json().counts[0]).toEqual({ index: 0, outcome: 'updated', revision: 3 });
    expect(await valueOn('pharmacy', 'antipyretic', day, c1.id)).toBe(5);
  });

  test('late data for a past day (years back) is accepted, communities by region code as well as id', async () => {
    const old = past(400);
    const r = await send(pharmA, { counts: [{ sourceCode: 'pharmacy', categoryCode: 'cough', regionCode: c2.code, date: old, value: 7 }] });
    expect(r.json().counts[0].outcome).toBe('created');
    expect(await valueOn('pharmacy', 'cough', old, c2.id)).toBe(7);
    // today (Beijing) is the last day accepted
    const today = await send(pharmA, { counts: [{ sourceCode: 'pharmacy', categoryCode: 'cough', regionCode: c2.code, date: daysAgo(0), value: 1 }] });
    expect(today.json()).toMatchObject({ accepted: 1, rejected: 0 });
  });

  test('rows with problems are rejected and named (row and field), the good rows of the request are kept', async () => {
    const day = past(2);
    const tomorrow = daysAgo(-1);
    const street = d.streets[0];
    const good = { sourceCode: 'pharmacy', categoryCode: 'antidiarrhoeal', regionId: c1.id, date: day, value: 4 };
    const r = await send(pharmA, {
      counts: [
        good,
        { ...good, sourceCode: 'pharmacyx' },
        { ...good, categoryCode: 'aspirin' },
        { ...good, regionId: street.id },
        { ...good, date: tomorrow },
        { ...good, value: -1 },
        { ...good, value: 2.5 },
        { ...good, regionId: 999999 },
        { ...good, date: '2024-02-30' },
        good,
        { ...good, colour: 'red' },
      ],
    }, 'en');
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body.accepted).toBe(1);
    expect(body.rejected).toBe(10);
    expect(body.counts.map((c: { outcome: string }) => c.outcome)).toEqual(['created', ...Array(10).fill('rejected')]);
    expect(body.errors).toEqual([
      { field: 'counts[10]', code: 'VALIDATION_FAILED', message: 'Invalid input: unsupported keys colour' },
      { field: 'counts[1].sourceCode', code: 'FEED_UNKNOWN_SOURCE', message: 'No active surveillance source pharmacyx' },
      { field: 'counts[2].categoryCode', code: 'FEED_UNKNOWN_CATEGORY', message: 'Source pharmacy has no active category aspirin' },
      { field: 'counts[3].regionId', code: 'FEED_NOT_COMMUNITY', message: `${street.name} (${street.code}) is not a community: feeds are sent per community` },
      { field: 'counts[4].date', code: 'VALIDATION_FAILED', message: `Invalid input: ${tomorrow} is after today (${daysAgo(0)})` },
      { field: 'counts[5].value', code: 'VALIDATION_FAILED', message: 'Invalid input: must not be negative' },
      { field: 'counts[6].value', code: 'VALIDATION_FAILED', message: 'Invalid input: a count must be a whole number' },
      { field: 'counts[7].regionId', code: 'NOT_FOUND', message: 'Region not found' },
      { field: 'counts[8].date', code: 'VALIDATION_FAILED', message: 'Invalid input: must be a date, YYYY-MM-DD' },
      { field: 'counts[9]', code: 'FEED_DUPLICATE_ROW', message: 'The same key as counts[0] of this request' },
    ]);
    expect(await valueOn('pharmacy', 'antidiarrhoeal', day, c1.id)).toBe(4);
    // Chinese by default
    const zh = await send(pharmA, { counts: [{ ...good, regionId: street.id }] });
    expect(zh.json().errors).toEqual([{ field: 'counts[0].regionId', code: 'FEED_NOT_COMMUNITY', message: `${street.name} (${street.code}) 不是社区：监测数据按社区报送` }]);
  });

  test('a request without rows, or with a body that is not an object, is a 400 naming the field', async () => {
    const empty = await send(pharmA, {}, 'en');
    expect(empty.statusCode).toBe(400);
    expect(empty.json()).toEqual({ code: 'VALIDATION_FAILED', message: 'Invalid input: send counts or items', field: 'counts' });
    const bad = await send(pharmA, { counts: 'many' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'counts' });
  });
});

describe('line-list items', () => {
  test('items count one each; a resend moves an item instead of adding it; entered-in-error withdraws it', async () => {
    const day = past(5);
    const item = (id: string, extra: object = {}) => ({
      sourceId: id, sourceCode: 'pharmacy', categoryCode: 'cough', regionId: c1.id, date: day,
      attributes: { ageBand: '30-39', sex: 'female', recentTravel: true, travelRegion: '广东省', daysSinceReturn: 3 }, ...extra,
    });
    const r = await send(pharmA, { items: [item('RX-1'), item('RX-2'), item('RX-3')] });
    expect(r.json().items).toEqual([
      { index: 0, outcome: 'created', revision: 1, sourceId: 'RX-1' },
      { index: 1, outcome: 'created', revision: 1, sourceId: 'RX-2' },
      { index: 2, outcome: 'created', revision: 1, sourceId: 'RX-3' },
    ]);
    // items add to the counts of the same day and community
    await send(pharmA, { counts: [{ sourceCode: 'pharmacy', categoryCode: 'cough', regionId: c1.id, date: day, value: 10 }] });
    expect(await valueOn('pharmacy', 'cough', day, c1.id)).toBe(13);

    // RX-2 was in fact bought in the other community: moved, not doubled
    const moved = await send(pharmA, { items: [item('RX-2', { regionId: c2.id })] });
    expect(moved.json().items[0]).toEqual({ index: 0, outcome: 'updated', revision: 2, sourceId: 'RX-2' });
    expect(await valueOn('pharmacy', 'cough', day, c1.id)).toBe(12);
    expect(await valueOn('pharmacy', 'cough', day, c2.id)).toBe(1);

    const withdrawn = await send(pharmA, { items: [item('RX-3', { status: 'entered-in-error' })] });
    expect(withdrawn.json().items[0]).toEqual({ index: 0, outcome: 'withdrawn', revision: 2, sourceId: 'RX-3' });
    expect(await valueOn('pharmacy', 'cough', day, c1.id)).toBe(11);
    // an identical resend is unchanged
    expect((await send(pharmA, { items: [item('RX-1')] })).json().items[0]).toEqual({ index: 0, outcome: 'unchanged', revision: 1, sourceId: 'RX-1' });
    expect(await valueOn('pharmacy', 'cough', day, c1.id)).toBe(11);
  });

  test('attributes are an allow-list (no names or phones outside the shared record); unknown residents are refused', async () => {
    const day = past(1);
    const r = await send(pharmA, {
      items: [
        { sourceId: 'RX-9', sourceCode: 'pharmacy', categoryCode: 'cough', regionId: c1.id, date: day, attributes: { name: '某某' } },
        { sourceId: 'RX-10', sourceCode: 'pharmacy', categoryCode: 'cough', regionId: c1.id, date: day, residentId: 99999999 },
        { sourceId: 'RX-11', sourceCode: 'pharmacy', categoryCode: 'cough', regionId: c1.id, date: day, attributes: { sex: 'x' } },
      ],
    }, 'en');
    expect(r.json().errors.map((e: { field: string; code: string }) => [e.field, e.code])).toEqual([
      ['items[0].attributes', 'VALIDATION_FAILED'],
      ['items[2].attributes.sex', 'VALIDATION_FAILED'],
      ['items[1].residentId', 'NOT_FOUND'],
    ]);
    expect(r.json().errors[0].message).toBe('Invalid input: unsupported keys name');
    expect(r.json().accepted).toBe(0);
  });
});

describe('who may send and read', () => {
  test('an institution sends only the sources its type reports, and only as itself', async () => {
    const day = past(1);
    const r = await send(pharmA, { counts: [{ sourceCode: 'school', categoryCode: 'absent_illness', regionId: c1.id, date: day, value: 3 }] }, 'en');
    expect(r.json().errors).toEqual([{ field: 'counts[0].sourceCode', code: 'FEED_SOURCE_NOT_ALLOWED', message: 'An institution of type pharmacy cannot send School absenteeism data' }]);
    const other = await send(pharmA, { institutionId: school.id, counts: [{ sourceCode: 'school', categoryCode: 'absent_illness', regionId: c1.id, date: day, value: 3 }] }, 'en');
    expect(other.statusCode).toBe(403);
    expect(other.json()).toEqual({ code: 'WRONG_INSTITUTION', message: 'You cannot submit data on behalf of another institution', field: 'institutionId' });
  });

  test('the CDC may send on behalf of a named institution; the district administrator must name one', async () => {
    const day = past(1);
    const row = { sourceCode: 'school', categoryCode: 'absent_illness', regionId: c1.id, date: day, value: 3 };
    const r = await send(cdc, { institutionCode: school.code, counts: [row] });
    expect(r.json()).toMatchObject({ institutionId: school.id, accepted: 1 });
    const admin = await send(d.admin, { counts: [row] }, 'en');
    expect(admin.statusCode).toBe(400);
    expect(admin.json()).toEqual({ code: 'VALIDATION_FAILED', message: 'Invalid input: institutionId: name the reporting institution', field: 'institutionId' });
    // the CDC itself reports its laboratory and wastewater, not pharmacy sales
    const own = await send(cdc, { counts: [{ ...row, sourceCode: 'wastewater', categoryCode: 'sars_cov_2', value: 1234.5 }, { ...row, sourceCode: 'pharmacy', categoryCode: 'cough' }] });
    expect(own.json().counts.map((c: { outcome: string }) => c.outcome)).toEqual(['created', 'rejected']);
  });

  test('roles without feeds are refused; institutions read their own contributions only', async () => {
    const ems = await s.login('ems1');
    expect((await send(ems, { counts: [] })).statusCode).toBe(403);
    const refused = await s.app.inject({ method: 'GET', url: `/api/v1/surveillance/series?sourceCode=pharmacy&from=${past(3)}&to=${past(3)}`, headers: { cookie: ems } });
    expect(refused.statusCode).toBe(403);

    const day = past(8);
    await send(pharmA, { counts: [{ sourceCode: 'pharmacy', categoryCode: 'antipyretic', regionId: c2.id, date: day, value: 6 }] });
    await send(pharmB, { counts: [{ sourceCode: 'pharmacy', categoryCode: 'antipyretic', regionId: c2.id, date: day, value: 9 }] });
    const q = { sourceCode: 'pharmacy', categoryCode: 'antipyretic', regionId: c2.id, from: day, to: day };
    expect((await series(pharmA, q)).series[0].values).toEqual([6]);
    expect((await series(pharmB, q)).series[0].values).toEqual([9]);
    expect((await series(cdc, q)).series[0].values).toEqual([15]);
    expect((await series(d.admin, q)).series[0].values).toEqual([15]);
  });
});

describe('reading series', () => {
  test('series are dense daily arrays, per community or summed over a street', async () => {
    const from = past(60);
    const to = past(55);
    const street = d.streets.find((x) => d.communities.filter((c) => c.parentId === x.id).length >= 2)!;
    const [a, b] = d.communities.filter((c) => c.parentId === street.id);
    await send(cdc, { counts: [
      { sourceCode: 'laboratory', categoryCode: 'influenza', regionId: a.id, date: past(59), value: 2 },
      { sourceCode: 'laboratory', categoryCode: 'influenza', regionId: b.id, date: past(59), value: 3 },
      { sourceCode: 'laboratory', categoryCode: 'influenza', regionId: b.id, date: past(56), value: 4 },
    ] });
    const summed = await series(cdc, { sourceCode: 'laboratory', categoryCode: 'influenza', regionId: street.id, from, to });
    expect(summed.dates).toEqual([60, 59, 58, 57, 56, 55].map(past));
    expect(summed.series).toEqual([{ regionId: street.id, sourceCode: 'laboratory', categoryCode: 'influenza', values: [0, 5, 0, 0, 4, 0] }]);
    const per = await series(cdc, { sourceCode: 'laboratory', categoryCode: 'influenza', regionId: street.id, from, to, perCommunity: 'true' });
    expect(per.series).toEqual([
      { regionId: a.id, sourceCode: 'laboratory', categoryCode: 'influenza', values: [0, 2, 0, 0, 0, 0] },
      { regionId: b.id, sourceCode: 'laboratory', categoryCode: 'influenza', values: [0, 3, 0, 0, 4, 0] },
    ].sort((x, y) => x.regionId - y.regionId));
  });

  test('loadSeries gives the daily run every community × category, with all-zero series where nothing was sent', async () => {
    const from = past(60);
    const to = past(55);
    const set = await loadSeries(s.started.ctx.db, { from, to, sourceCodes: ['laboratory'], allCombinations: true });
    const labCategories = 3;
    expect(set.days).toBe(6);
    expect(set.series).toHaveLength(d.communities.length * labCategories);
    const total = set.series.filter((x) => x.categoryCode === 'influenza').reduce((acc, x) => acc + x.values.reduce((a, b) => a + b, 0), 0);
    expect(total).toBe(9);
    expect(set.series.filter((x) => x.values.some((v) => v > 0)).length).toBe(2);
  });

  test('the epidemic curve totals each category per day, or each syndrome per source', async () => {
    const from = past(60);
    const to = past(55);
    const r = await s.app.inject({ method: 'GET', url: `/api/v1/surveillance/epicurve?from=${from}&to=${to}&sourceCode=laboratory`, headers: { cookie: cdc } });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json().series).toEqual([{ sourceCode: 'laboratory', key: 'influenza', name: '流感病毒', nameEn: 'Influenza virus', total: 9, values: [0, 5, 0, 0, 4, 0] }]);
    const syn = await s.app.inject({ method: 'GET', url: `/api/v1/surveillance/epicurve?from=${from}&to=${to}&by=syndrome&sourceCode=laboratory`, headers: { cookie: cdc } });
    expect(syn.json().series).toEqual([{ sourceCode: 'laboratory', key: 'respiratory', name: 'respiratory', nameEn: 'respiratory', total: 9, values: [0, 5, 0, 0, 4, 0] }]);
  });

  test('the catalogue lists sources with their categories and the notifiable diseases, zh and en', async () => {
    const r = await s.app.inject({ method: 'GET', url: '/api/v1/surveillance/sources', headers: { cookie: await s.login('doctor1') } });
    expect(r.statusCode).toBe(200);
    const sentinel = r.json().sources.find((x: { code: string }) => x.code === 'sentinel');
    expect(sentinel.categories).toHaveLength(11);
    expect(sentinel.categories[0]).toEqual({ code: 'fever', name: '发热', nameEn: 'Fever', syndrome: 'fever', active: true });
    expect(r.json().diseases.find((x: { code: string }) => x.code === 'A00')).toEqual({ code: 'A00', name: '霍乱', nameEn: 'Cholera', class: 'A', managedAsA: false, reportHours: 2, syndrome: 'gastrointestinal', active: true });
  });
});

describe('spreadsheet upload', () => {
  const HEADER = ['sourceCode', 'categoryCode', 'community', 'date', 'value', 'itemId', 'ageBand', 'sex', 'recentTravel', 'travelRegion', 'daysSinceReturn', 'status'];
  const csv = (rows: string[][]) => Buffer.from(stringify(rows));
  const upload = async (cookie: string, body: Buffer, query = '') => {
    const r = await s.app.inject({ method: 'POST', url: `/api/v1/imports/feeds?lang=en${query}`, headers: { cookie, 'content-type': 'text/csv' }, payload: body });
    expect(r.statusCode, r.body).toBe(200);
    return r.json();
  };

  test('templates come as .csv and .xlsx with bilingual headers', async () => {
    const r = await s.app.inject({ method: 'GET', url: '/api/v1/imports/templates/feeds.csv', headers: { cookie: pharmA } });
    expect(r.statusCode).toBe(200);
    const [header] = parse(r.rawPayload, { bom: true }) as string[][];
    expect(header.slice(0, 5)).toEqual(['监测来源 (sourceCode)', '类别 (categoryCode)', '社区 (community)', '日期 (date)', '数值 (value)']);
    const x = await s.app.inject({ method: 'GET', url: '/api/v1/imports/templates/feeds.xlsx', headers: { cookie: pharmA } });
    expect(x.statusCode).toBe(200);
    expect(x.headers['content-type']).toContain('spreadsheetml');
  });

  test('valid rows are kept, bad rows reported by row and column; the fixed error report and then the whole fixed file add nothing twice', async () => {
    const street = d.streets[0];
    const day = '2003-02-01';
    const rows = [
      ['pharmacy', 'antipyretic', c1.code, day, '10', '', '', '', '', '', '', ''], // row 2
      ['药店退热止咳药品销售', '止咳药', c1.name, day, '4', '', '', '', '', '', '', ''], // row 3: names instead of codes
      ['pharmacy', 'antipyretic', c2.code, '2003-02-02', '-3', '', '', '', '', '', '', ''], // row 4: negative
      ['pharmacy', 'cough', street.code, day, '2', '', '', '', '', '', '', ''], // row 5: a street
      ['pharmacy', 'cough', c2.code, day, '', 'RX-CSV-1', '40-49', '女', '是', '上海市', '2', ''], // row 6: an item
      ['pharmacy', 'cough', c2.code, day, '', 'RX-CSV-2', '', 'x', '', '', '', ''], // row 7: bad sex
      ['pharmacy', 'antipyretic', c1.code, day, '7', '', '', '', '', '', '', ''], // row 8: same key as row 2
      ['school', 'absent_illness', c1.code, day, '1', '', '', '', '', '', '', ''], // row 9: not a pharmacy's source
    ];
    const first = await upload(pharmA, csv([HEADER, ...rows]));
    expect(first).toMatchObject({ kind: 'feeds', total: 8, created: 3, updated: 0, unchanged: 0, failed: 5 });
    expect(first.errors).toEqual([
      { row: 4, column: 'value', field: 'value', message: 'Invalid input: must not be negative' },
      { row: 5, column: 'community', field: 'community', message: `${street.name} (${street.code}) is not a community: feeds are sent per community` },
      { row: 7, column: 'sex', field: 'sex', message: 'must be male or female (男 / 女)' },
      { row: 8, column: 'date', field: 'date', message: 'The same id as row 2 of this file' },
      { row: 9, column: 'sourceCode', field: 'sourceCode', message: 'An institution of type pharmacy cannot send School absenteeism data' },
    ]);

    // the error report holds the failed rows as uploaded; fix them there and upload it again
    const rep = await s.app.inject({ method: 'GET', url: `/api/v1/imports/${first.importId}/errors.csv?lang=en`, headers: { cookie: pharmA } });
    expect(rep.statusCode).toBe(200);
    const [head, ...failed] = parse(rep.rawPayload, { bom: true }) as string[][];
    expect(failed.map((r) => r[head.length - 3])).toEqual(['4', '5', '7', '8', '9']);
    const col = (k: string) => head.indexOf(k);
    const fixes: Record<string, [string, string]> = { 4: ['value', '3'], 5: ['community', c2.code], 7: ['sex', '男'], 8: ['date', '2003-02-03'], 9: ['sourceCode', 'pharmacy'] };
    for (const r of failed) {
      const [key, value] = fixes[r[head.length - 3]];
      r[col(key)] = value;
      if (r[head.length - 3] === '9') r[col('categoryCode')] = 'antidiarrhoeal';
    }
    const second = await upload(pharmA, csv([head, ...failed]));
    expect(second).toMatchObject({ total: 5, created: 5, updated: 0, unchanged: 0, failed: 0, errors: [] });

    // the whole file, corrected, once more: everything is already in
    const fixed = rows.map((r, i) => {
      const out = [...r];
      const fix = fixes[i + 2];
      if (fix) out[HEADER.indexOf(fix[0])] = fix[1];
      if (i + 2 === 9) out[1] = 'antidiarrhoeal';
      return out;
    });
    const third = await upload(pharmA, csv([HEADER, ...fixed]));
    expect(third).toMatchObject({ total: 8, created: 0, updated: 0, unchanged: 8, failed: 0 });

    expect(await valueOn('pharmacy', 'antipyretic', day, c1.id)).toBe(10);
    expect(await valueOn('pharmacy', 'cough', day, c1.id)).toBe(4);
    // the street's row went to community 2, plus the two items
    expect(await valueOn('pharmacy', 'cough', day, c2.id)).toBe(4);
    expect(await valueOn('pharmacy', 'antipyretic', '2003-02-02', c2.id)).toBe(3);
    expect(await valueOn('pharmacy', 'antipyretic', '2003-02-03', c1.id)).toBe(7);
  });

  test('the CDC uploads on behalf of a school and reads the batch it sent; others may not upload feeds', async () => {
    const r = await upload(cdc, csv([HEADER, ['school', 'absent_illness', c1.code, '2003-02-10', '12', '', '', '', '', '', '', ''], ['school', 'absent_illness', c1.code, '2003-02-11', 'many', '', '', '', '', '', '', '']]), `&institutionId=${school.id}`);
    expect(r).toMatchObject({ created: 1, failed: 1, errors: [{ row: 3, column: 'value', field: 'value', message: 'must be a number' }] });
    const rep = await s.app.inject({ method: 'GET', url: `/api/v1/imports/${r.importId}/errors.csv`, headers: { cookie: cdc } });
    expect(rep.statusCode).toBe(200);
    expect((await s.app.inject({ method: 'GET', url: `/api/v1/imports/${r.importId}`, headers: { cookie: pharmA } })).statusCode).toBe(404);
    const ems = await s.login('ems1');
    const refused = await s.app.inject({ method: 'POST', url: '/api/v1/imports/feeds', headers: { cookie: ems, 'content-type': 'text/csv' }, payload: csv([HEADER]) });
    expect(refused.statusCode).toBe(403);
  });
});
