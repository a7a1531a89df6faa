// Spreadsheet import of encounters and results: templates, per-row errors, error report round trip, idempotency,
// institution, roles, and identity numbers kept out of reports and logs.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import ExcelJS from 'exceljs';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { makeIdNumber } from '../../src/platform/idcard.ts';
import { COLUMNS, REPORT_COLUMNS, headerText } from '../../src/modules/imports/columns.ts';
import { KINDS } from '../../src/fhir/registry.ts';

let s: TestServer;
let instAdmin: string;
let admin: string;
let instId: number;
let instCode: string;

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const ENC_HEADER = COLUMNS.encounters.map(headerText);
const RES_HEADER = COLUMNS.results.map(headerText);

const ID_A = makeIdNumber('110105', '1970-05-06', 11, 'male');
const ID_B = makeIdNumber('110105', '1985-11-20', 24, 'female');
const ID_C = makeIdNumber('110105', '1962-02-14', 37, 'male');
const ID_A_BAD = ID_A.slice(0, 17) + (ID_A[17] === '0' ? '1' : '0');

/** A row of the encounters template from a few named cells. */
function encRow(cells: Record<string, string>): string[] {
  return COLUMNS.encounters.map((c) => cells[c.key] ?? '');
}
function resRow(cells: Record<string, string>): string[] {
  return COLUMNS.results.map((c) => cells[c.key] ?? '');
}
const csv = (rows: string[][]) => Buffer.from(stringify(rows), 'utf8');

const ENC_ROWS = [
  encRow({ sourceId: 'T-E1', idNumber: ID_A, name: '测甲', sex: '男', birthDate: '1970-05-06', class: '门诊', startAt: '2024-03-05 09:30', endAt: '2024-03-05 09:50', department: '全科', diagnosisCodes: 'I10;E11.9', diagnosisNames: '原发性高血压;2型糖尿病', sbp: '150', dbp: '95' }),
  encRow({ sourceId: 'T-E2', idNumber: ID_A_BAD, name: '测乙', sex: '男', birthDate: '1970-05-06', class: '急诊', startAt: '2024-03-06 22:10' }),
  encRow({ sourceId: 'T-E3', name: '测丙', sex: '女', birthDate: '1956-07-15', phone: '13800001234', class: 'inpatient', startAt: '2024-02-01 10:00', endAt: '2024-02-08 09:00', department: '心内科', diagnosisCodes: 'I20.0', diagnosisNames: '不稳定型心绞痛', dischargeSummary: '测试出院小结' }),
  encRow({ sourceId: 'T-E4', idNumber: ID_B, name: '测丁', sex: '女', birthDate: '1985-11-20', class: '理疗', startAt: '2024-03-07 08:00', endAt: '2024-03-06 08:00' }),
  encRow({ sourceId: 'T-E5', idNumber: ID_C, class: 'follow_up', startAt: '2024-03-08', diagnosisCodes: 'XYZ', diagnosisNames: '未知' }),
];
const ENC_FILE = csv([ENC_HEADER, ...ENC_ROWS]);

const upload = (kind: string, body: Buffer, type: string, cookie: string, query = '') =>
  s.app.inject({ method: 'POST', url: `/api/v1/imports/${kind}${query}`, headers: { cookie, 'content-type': type }, payload: body });
const get = (url: string, cookie: string) => s.app.inject({ url, headers: { cookie } });

async function fhirCount(type: string, query: string): Promise<number> {
  const r = await get(`/fhir/R4/${type}?${query}&_summary=count`, admin);
  expect(r.statusCode).toBe(200);
  return r.json().total;
}
const sys = (kind: string) => `https://caregrid.dev/fhir/sid/import/${instCode}/${kind}`;
const countEncounters = () => fhirCount('Encounter', `identifier=${encodeURIComponent(sys('encounters') + '|')}`);
const countConditions = () => fhirCount('Condition', `identifier=${encodeURIComponent(sys('encounters') + '|')}`);
const countObservations = (kind: string) => fhirCount('Observation', `identifier=${encodeURIComponent(sys(kind) + '|')}`);

beforeAll(async () => {
  s = await startTestServer();
  [admin, instAdmin] = await Promise.all([s.login('admin'), s.login('inst.admin')]);
  const { rows } = await s.started.ctx.db.query("SELECT i.id, i.code FROM app_user u JOIN institution i ON i.id = u.institution_id WHERE u.username = 'inst.admin'");
  instId = Number(rows[0].id);
  instCode = rows[0].code;
});
afterAll(async () => s?.close());

describe('templates', () => {
  test.each(['encounters', 'results'] as const)('%s.xlsx has the bilingual headers, synthetic examples and an instructions sheet', async (kind) => {
    const r = await get(`/api/v1/imports/templates/${kind}.xlsx`, instAdmin);
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe(XLSX);
    expect(r.headers['content-disposition']).toMatch(/^attachment; filename="caregrid-.*-template\.xlsx"/);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(r.rawPayload as any);
    const [data, help] = wb.worksheets;
    const header = (data.getRow(1).values as unknown[]).slice(1);
    expect(header).toEqual(kind === 'encounters' ? ENC_HEADER : RES_HEADER);
    expect(header[0]).toMatch(/^[\u4e00-\u9fff]+ \(sourceId\)$/);
    expect(data.rowCount).toBe(3);
    expect(String(data.getRow(2).getCell(1).value)).toMatch(/^EXAMPLE-/);
    expect(help.name).toBe('填写说明 (instructions)');
    const helpText = JSON.stringify(help.getSheetValues());
    for (const c of COLUMNS[kind]) expect(helpText).toContain(headerText(c));
  });

  test.each(['encounters', 'results'] as const)('%s.csv is UTF-8 with a BOM and parses back to the same headers', async (kind) => {
    const r = await get(`/api/v1/imports/templates/${kind}.csv`, instAdmin);
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect([...r.rawPayload.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const rows: string[][] = parse(r.rawPayload, { bom: true });
    expect(rows[0]).toEqual(kind === 'encounters' ? ENC_HEADER : RES_HEADER);
    expect(rows.slice(1).map((x) => x[0].startsWith('EXAMPLE-'))).toEqual([true, true]);
  });

  test('the template itself imports (its example rows are valid)', async () => {
    const t = await get('/api/v1/imports/templates/encounters.xlsx', admin);
    const r = await upload('encounters', t.rawPayload, XLSX, admin);
    expect(r.json()).toMatchObject({ kind: 'encounters', total: 2, created: 2, failed: 0, errors: [] });
  });
});

/** The errors of ENC_FILE: the column is the clerk's header either way, the message in the request's language. */
const MESSAGES = {
  'zh-CN': ['身份证号无效：校验码不正确', '应为：门诊、急诊、住院、发热门诊、上门服务、健康体检、随访', '结束时间早于开始时间', '不是有效的 ICD-10 编码：XYZ'],
  en: ['Invalid identity number: the check character is wrong', 'must be one of outpatient, emergency, inpatient, fever_clinic, home_visit, health_check, follow_up', 'the end is before the start', 'not ICD-10 codes: XYZ'],
};
function rowErrors(locale: keyof typeof MESSAGES) {
  const where: [number, string][] = [[3, 'idNumber'], [5, 'class'], [5, 'endAt'], [6, 'diagnosisCodes']];
  return where.map(([row, field], i) => ({ row, column: ENC_HEADER.find((h) => h.endsWith(`(${field})`)), field, message: MESSAGES[locale][i] }));
}

describe('encounters from CSV', () => {
  let importId: number;

  test('valid rows are kept, each invalid row is reported with its row number, column and reason', async () => {
    const r = await upload('encounters', ENC_FILE, 'text/csv', instAdmin, '?fileName=visits.csv');
    expect(r.statusCode).toBe(200);
    const body = r.json();
    importId = body.importId;
    expect(body).toEqual({
      importId: expect.any(Number), kind: 'encounters', total: 5, created: 2, updated: 0, unchanged: 0, failed: 3,
      errors: rowErrors('zh-CN'),
    });
    expect(r.body).not.toContain(ID_A);
    expect(await countEncounters()).toBe(2);
    expect(await countConditions()).toBe(3); // two for T-E1, one for T-E3
    expect(await countObservations('encounters')).toBe(2); // T-E1's blood pressure
  });

  test('the written resources carry the row’s data, the sender’s ids and the importing institution', async () => {
    const enc = (await get(`/fhir/R4/Encounter?identifier=${encodeURIComponent(sys('encounters') + '|T-E3')}`, admin)).json().entry[0].resource;
    expect(enc).toMatchObject({
      status: 'finished', class: { code: 'IMP' }, type: [{ coding: [{ code: 'inpatient' }] }], serviceType: { text: '心内科' },
      period: { start: '2024-02-01T10:00:00+08:00', end: '2024-02-08T09:00:00+08:00' }, serviceProvider: { reference: `Organization/${instId}` },
      identifier: [{ system: sys('encounters'), value: 'T-E3' }],
    });
    const obs = (await get(`/fhir/R4/Observation?identifier=${encodeURIComponent(sys('encounters') + '|T-E1#sbp')}`, admin)).json().entry[0].resource;
    expect(obs).toMatchObject({
      status: 'final', category: [{ coding: [{ code: 'vital-signs' }] }], code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] },
      valueQuantity: { value: 150, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' }, effectiveDateTime: '2024-03-05T09:30:00+08:00',
    });
    const dx = (await get(`/fhir/R4/Condition?identifier=${encodeURIComponent(sys('encounters') + '|T-E1#dx2')}`, admin)).json().entry[0].resource;
    expect(dx.code).toEqual({ coding: [{ system: 'http://hl7.org/fhir/sid/icd-10', code: 'E11.9', display: '2型糖尿病' }], text: '2型糖尿病' });
    expect(dx.encounter.reference).toMatch(/^Encounter\/\d+$/);
    expect(obs.subject).toEqual(dx.subject);
  });

  test.runIf(KINDS.has('DocumentReference'))('a discharge summary becomes a DocumentReference of the encounter', async () => {
    const doc = (await get(`/fhir/R4/DocumentReference?identifier=${encodeURIComponent(sys('encounters') + '|T-E3#summary')}`, admin)).json().entry[0].resource;
    const enc = (await get(`/fhir/R4/Encounter?identifier=${encodeURIComponent(sys('encounters') + '|T-E3')}`, admin)).json().entry[0].resource;
    expect(doc.context.encounter).toEqual([{ reference: `Encounter/${enc.id}` }]);
    expect(doc.subject).toEqual(enc.subject);
    expect(Buffer.from(doc.content[0].attachment.data, 'base64').toString('utf8')).toBe('测试出院小结');
  });

  test('messages follow the request’s language', async () => {
    const r = await upload('encounters', ENC_FILE, 'text/csv; charset=utf-8', instAdmin, '?lang=en');
    expect(r.json()).toEqual({
      importId: expect.any(Number), kind: 'encounters', total: 5, created: 0, updated: 0, unchanged: 2, failed: 3,
      errors: rowErrors('en'),
    });
    expect(await countEncounters()).toBe(2);
  });

  test('the error report holds exactly the failed rows as uploaded, with row, columns and reasons', async () => {
    const r = await get(`/api/v1/imports/${importId}/errors.csv`, instAdmin);
    expect(r.statusCode).toBe(200);
    const rows: string[][] = parse(r.rawPayload, { bom: true });
    expect(rows[0]).toEqual([...ENC_HEADER, ...REPORT_COLUMNS.map(headerText)]);
    expect(rows.slice(1)).toEqual([
      [...ENC_ROWS[1], '3', '身份证号 (idNumber)', '身份证号 (idNumber)：身份证号无效：校验码不正确'],
      [...ENC_ROWS[3], '5', '就诊类型 (class)、结束时间 (endAt)', '就诊类型 (class)：应为：门诊、急诊、住院、发热门诊、上门服务、健康体检、随访；结束时间 (endAt)：结束时间早于开始时间'],
      [...ENC_ROWS[4], '6', '诊断编码 (diagnosisCodes)', '诊断编码 (diagnosisCodes)：不是有效的 ICD-10 编码：XYZ'],
    ]);
    // the identity number typed wrong comes back as typed (it is the clerk's own file); the rows that went in do not
    expect(r.rawPayload.toString('utf8')).toContain(ID_A_BAD);
    expect(r.rawPayload.toString('utf8')).not.toContain(ID_A);

    const x = await get(`/api/v1/imports/${importId}/errors.xlsx?lang=en`, instAdmin);
    expect(x.headers['content-type']).toBe(XLSX);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(x.rawPayload as any);
    const ws = wb.worksheets[0];
    expect(ws.rowCount).toBe(4);
    const values = ws.getRow(2).values as unknown[];
    expect(Array.from({ length: ENC_HEADER.length + 3 }, (_, i) => values[i + 1])).toEqual([...ENC_ROWS[1].map((v) => v || undefined), 3, '身份证号 (idNumber)', '身份证号 (idNumber): Invalid identity number: the check character is wrong']);
  });

  test('the failed rows are stored encrypted: the batch row holds no identity number', async () => {
    const { rows } = await s.started.ctx.db.query('SELECT * FROM import_batch WHERE id = $1', [importId]);
    const text = JSON.stringify(rows[0], (_, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v));
    expect(text).not.toContain(ID_A_BAD);
    expect(text).not.toContain(ID_B);
    expect(rows[0]).toMatchObject({ institution_id: instId, kind: 'encounters', format: 'csv', file_name: 'visits.csv', total: 5, created: 2, failed: 3 });
  });

  test('the corrected error report uploads as is: fixed rows are created, nothing is duplicated', async () => {
    const report: string[][] = parse((await get(`/api/v1/imports/${importId}/errors.csv`, instAdmin)).rawPayload, { bom: true });
    const col = (key: string) => ENC_HEADER.findIndex((h) => h.endsWith(`(${key})`));
    report[1][col('idNumber')] = ID_A;
    report[2][col('class')] = '随访';
    report[2][col('endAt')] = '2024-03-07 08:30';
    report[3][col('diagnosisCodes')] = 'I10';
    report[3][col('name')] = '测己'; // T-E5: a number nobody has yet needs the person's name to register them
    const before = { enc: await countEncounters(), dx: await countConditions() };
    const r = await upload('encounters', csv(report), 'text/csv', instAdmin);
    expect(r.json()).toEqual({ importId: expect.any(Number), kind: 'encounters', total: 3, created: 3, updated: 0, unchanged: 0, failed: 0, errors: [] });
    expect(await countEncounters()).toBe(before.enc + 3);
    expect(await countConditions()).toBe(before.dx + 1);
    // T-E2 names the same person as T-E1 once the number is right: one resident, not two
    const e1 = (await get(`/fhir/R4/Encounter?identifier=${encodeURIComponent(sys('encounters') + '|T-E1')}`, admin)).json().entry[0].resource;
    const e2 = (await get(`/fhir/R4/Encounter?identifier=${encodeURIComponent(sys('encounters') + '|T-E2')}`, admin)).json().entry[0].resource;
    expect(e2.subject).toEqual(e1.subject);
  });

  test('the original file again: what went in is unchanged, a changed cell is an update, nothing is duplicated', async () => {
    const counts = [await countEncounters(), await countConditions(), await countObservations('encounters')];
    const again = await upload('encounters', ENC_FILE, 'text/csv', instAdmin);
    expect(again.json()).toMatchObject({ total: 5, created: 0, updated: 0, unchanged: 2, failed: 3 });
    const changed = ENC_ROWS.map((r) => [...r]);
    changed[0][ENC_HEADER.indexOf('收缩压(mmHg) (sbp)')] = '142';
    const upd = await upload('encounters', csv([ENC_HEADER, ...changed]), 'text/csv', instAdmin);
    expect(upd.json()).toMatchObject({ total: 5, created: 0, updated: 1, unchanged: 1, failed: 3 });
    expect([await countEncounters(), await countConditions(), await countObservations('encounters')]).toEqual(counts);
    const sbp = (await get(`/fhir/R4/Observation?identifier=${encodeURIComponent(sys('encounters') + '|T-E1#sbp')}`, admin)).json().entry[0].resource;
    expect(sbp.valueQuantity.value).toBe(142);
    expect(sbp.meta.versionId).toBe('2');
  });

  test('a file without the required columns is refused as a whole', async () => {
    const r = await upload('encounters', csv([['姓名 (name)', '性别 (sex)'], ['测', '男']]), 'text/csv', instAdmin);
    expect(r.statusCode).toBe(400);
    expect(r.json()).toEqual({ code: 'IMPORT_MISSING_COLUMNS', message: '缺少必需的列：就诊记录编号 (sourceId)（请使用导入模板）' });
  });

  test('GB18030 CSV (as Excel saves it on Chinese Windows) and short headers are understood', async () => {
    const text = ['就诊记录编号,身份证号,姓名,就诊类型,开始时间', `T-GBK1,${makeIdNumber('110105', '1977-07-07', 71, 'female')},测庚,体检,2024/3/9 8:05`].join('\r\n');
    const bytes = Buffer.from(new Uint8Array([...encodeGb18030(text)]));
    const r = await upload('encounters', bytes, 'application/vnd.ms-excel', instAdmin);
    expect(r.json()).toMatchObject({ total: 1, created: 1, failed: 0 });
  });
});

/** GB18030 bytes for the test file: Node decodes GB18030 but does not encode it, so ask iconv through Python. */
function encodeGb18030(text: string): Buffer {
  const out = spawnSync('python3', ['-c', 'import sys; sys.stdout.buffer.write(sys.stdin.read().encode("gb18030"))'], { input: text });
  return out.stdout;
}

describe('results from XLSX', () => {
  async function workbook(rows: (string | number | Date)[][]): Promise<Buffer> {
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('结果');
    ws.addRow(RES_HEADER);
    for (const r of rows) ws.addRow(r);
    return Buffer.from(await wb.xlsx.writeBuffer());
  }

  test('valid rows are kept; unknown encounter, bad LOINC and missing value are reported per row', async () => {
    const rows = [
      resRow({ sourceId: 'T-R1', encounterSourceId: 'T-E1', idNumber: ID_A, category: '检验', codeSystem: 'LOINC', code: '718-7', itemName: '血红蛋白', value: '138', unit: 'g/L', refLow: '130', refHigh: '175' }),
      resRow({ sourceId: 'T-R2', encounterSourceId: 'NO-SUCH', idNumber: ID_A, category: 'lab', codeSystem: 'LOINC', code: '2160-0', itemName: '肌酐', value: '80', unit: 'umol/L' }),
      resRow({ sourceId: 'T-R3', idNumber: ID_A, category: '影像', codeSystem: '本地', code: 'CT-CHEST', itemName: '胸部CT', value: '双肺未见异常' }),
      resRow({ sourceId: 'T-R4', idNumber: ID_A, category: 'lab', codeSystem: 'LOINC', code: '718-8', itemName: '血红蛋白', value: '' }),
    ].map((r, i) => {
      const out: (string | number | Date)[] = [...r];
      // an Excel date cell for the result time (wall-clock time, as Excel keeps it)
      out[RES_HEADER.indexOf('报告时间 (resultAt)')] = new Date(Date.UTC(2024, 2, 5, 11, i, 0));
      return out;
    });
    const r = await upload('results', await workbook(rows), XLSX, instAdmin);
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({
      importId: expect.any(Number), kind: 'results', total: 4, created: 2, updated: 0, unchanged: 0, failed: 2,
      errors: [
        { row: 3, column: '就诊记录编号 (encounterSourceId)', field: 'encounterSourceId', message: '未找到该编号的就诊记录，请先导入就诊记录' },
        { row: 5, column: '项目编码 (code)', field: 'code', message: '不是有效的 LOINC 编码（校验位不符）' },
        { row: 5, column: '结果值 (value)', field: 'value', message: '必填，不能为空' },
      ],
    });
    const hb = (await get(`/fhir/R4/Observation?identifier=${encodeURIComponent(sys('results') + '|T-R1')}&_include=Observation:encounter`, admin)).json();
    expect(hb.entry[0].resource).toMatchObject({
      category: [{ coding: [{ code: 'laboratory' }] }], code: { coding: [{ system: 'http://loinc.org', code: '718-7' }] },
      valueQuantity: { value: 138, unit: 'g/L' }, referenceRange: [{ low: { value: 130 }, high: { value: 175 } }], effectiveDateTime: '2024-03-05T11:00:00+08:00',
    });
    expect(hb.entry[1].resource.identifier).toEqual([{ system: sys('encounters'), value: 'T-E1' }]);
    const ct = (await get(`/fhir/R4/Observation?identifier=${encodeURIComponent(sys('results') + '|T-R3')}`, admin)).json().entry[0].resource;
    expect(ct).toMatchObject({ category: [{ coding: [{ code: 'imaging' }] }], valueString: '双肺未见异常', code: { coding: [{ system: 'https://caregrid.dev/fhir/CodeSystem/local', code: 'CT-CHEST' }] } });

    // the xlsx report gives the failed rows back with their date cells, and uploading it fixed completes the import
    const report = await get(`/api/v1/imports/${r.json().importId}/errors.xlsx`, instAdmin);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(report.rawPayload as any);
    const ws = wb.worksheets[0];
    expect(ws.rowCount).toBe(3);
    const at = RES_HEADER.indexOf('报告时间 (resultAt)') + 1;
    expect(ws.getRow(2).getCell(at).value).toEqual(new Date(Date.UTC(2024, 2, 5, 11, 1, 0)));
    ws.getRow(2).getCell(RES_HEADER.indexOf('就诊记录编号 (encounterSourceId)') + 1).value = 'T-E1';
    ws.getRow(3).getCell(RES_HEADER.indexOf('项目编码 (code)') + 1).value = '718-7';
    ws.getRow(3).getCell(RES_HEADER.indexOf('结果值 (value)') + 1).value = 141;
    const before = await countObservations('results');
    const fixed = await upload('results', Buffer.from(await wb.xlsx.writeBuffer()), XLSX, instAdmin);
    expect(fixed.json()).toMatchObject({ total: 2, created: 2, failed: 0, errors: [] });
    expect(await countObservations('results')).toBe(before + 2);
  });
});

describe('who imports, and for whom', () => {
  test('the batch is recorded for the importer’s institution and listed to that institution only', async () => {
    const list = (await get('/api/v1/imports?pageSize=100', instAdmin)).json();
    expect(list.total).toBeGreaterThan(0);
    expect(list.items.every((b: any) => b.institutionId === instId && b.username === 'inst.admin')).toBe(true);
    expect(list.items[list.items.length - 1]).toMatchObject({ kind: 'encounters', fileName: 'visits.csv', total: 5, created: 2, failed: 3, format: 'csv' });
    const other = await s.login('hospital.admin');
    const theirs = (await get('/api/v1/imports', other)).json();
    expect(theirs.items.some((b: any) => b.institutionId === instId)).toBe(false);
    const id = list.items[0].importId;
    const hidden = await get(`/api/v1/imports/${id}/errors.csv`, other);
    expect(hidden.statusCode).toBe(404);
    expect((await get(`/api/v1/imports/${id}`, instAdmin)).json()).toMatchObject({ importId: id, institutionId: instId });
  });

  test('a family doctor imports for their own institution', async () => {
    const doctor = await s.login('doctor2');
    const r = await upload('encounters', csv([ENC_HEADER, encRow({ sourceId: 'T-D1', idNumber: makeIdNumber('110105', '1990-01-02', 51, 'male'), name: '测戊', sex: '男', birthDate: '1990-01-02', class: '随访', startAt: '2024-03-10 10:00' })]), 'text/csv', doctor);
    expect(r.json()).toMatchObject({ created: 1, failed: 0 });
    const { rows } = await s.started.ctx.db.query("SELECT institution_id FROM app_user WHERE username = 'doctor2'");
    const batch = (await get(`/api/v1/imports/${r.json().importId}`, doctor)).json();
    expect(batch.institutionId).toBe(Number(rows[0].institution_id));
  });

  // the CDC sends surveillance feeds as spreadsheets (test/api/surveillance-feeds.test.ts), so it lists its own batches
  test.each([['cdc1', 200], ['investigator1', 403], ['ems1', 403]])('%s may not import records', async (user, listStatus) => {
    const cookie = await s.login(user);
    const r = await upload('encounters', ENC_FILE, 'text/csv', cookie);
    expect(r.statusCode).toBe(403);
    expect(r.json()).toEqual({ code: 'FORBIDDEN', message: '您没有执行此操作的权限' });
    expect((await get('/api/v1/imports', cookie)).statusCode).toBe(listStatus);
  });

  test('a JSON body is not a spreadsheet', async () => {
    const r = await s.app.inject({ method: 'POST', url: '/api/v1/imports/encounters', headers: { cookie: instAdmin, 'content-type': 'application/json' }, payload: '{}' });
    expect(r.statusCode).toBe(415);
  });
});

describe('logs', () => {
  test('an import at trace level logs no identity number', () => {
    const root = join(import.meta.dirname, '..', '..');
    // a separate process, so its log output (pino writes to the file descriptor) can be read whole
    const script = `
      import { mkdtempSync, rmSync } from 'node:fs';
      import { tmpdir } from 'node:os';
      import { join } from 'node:path';
      import { loadConfig } from '${root}/src/config.ts';
      import { startServer } from '${root}/src/server.ts';
      const dataDir = mkdtempSync(join(tmpdir(), 'cg-test-'));
      const config = loadConfig({ port: 0, host: '127.0.0.1', dataDir, secret: 'test-secret-'.padEnd(40, 'x'), adminPassword: '${s.adminPassword}', demoPassword: '${s.demoPassword}', firstStartSeed: 'test', seed: 7, logLevel: 'trace', pgPoolSize: 2 });
      const st = await startServer(config, { memory: true });
      const login = await st.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'inst.admin', password: '${s.demoPassword}' } });
      const cookie = 'cg_session=' + login.cookies.find((c) => c.name === 'cg_session').value;
      const r = await st.app.inject({ method: 'POST', url: '/api/v1/imports/encounters', headers: { cookie, 'content-type': 'text/csv' }, payload: process.env.IMPORT_FILE });
      console.error('STATUS', r.statusCode, r.json().created, r.json().failed);
      await st.close();
      rmSync(dataDir, { recursive: true, force: true });
    `;
    const file = join(mkdtempSync(join(tmpdir(), 'cg-import-log-')), 'run.mjs');
    writeFileSync(file, script);
    const out = spawnSync(process.execPath, [file], { cwd: root, env: { ...process.env, IMPORT_FILE: ENC_FILE.toString('utf8') }, encoding: 'utf8', timeout: 120_000 });
    const all = out.stdout + out.stderr;
    expect(all).toContain('STATUS 200 2 3');
    expect(all).toContain('/api/v1/imports/encounters');
    for (const id of [ID_A, ID_A_BAD, ID_B, ID_C]) expect(all).not.toContain(id);
  });
});
