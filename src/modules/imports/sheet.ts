// Reading and writing the spreadsheets: CSV (UTF-8 or the GB18030 that Excel on Chinese Windows saves) and Office
// Open XML workbooks through exceljs. Cells keep the value the clerk typed (text, number, date), so the error report
// gives failed rows back exactly as uploaded.
import ExcelJS from 'exceljs';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { AppError } from '../../platform/errors.ts';
import { COLUMNS, EXAMPLES, INSTRUCTIONS, KIND_LABELS, REPORT_COLUMNS, headerText, type ImportKind } from './columns.ts';

/** A cell as uploaded; a date cell is kept as its wall-clock time written as ISO without zone. */
export type Cell = string | number | boolean | { date: string } | null;

export interface SheetRow {
  /** The row number the clerk sees in the spreadsheet (header is row 1 in the templates). */
  row: number;
  cells: Cell[];
}

export interface Sheet {
  format: 'csv' | 'xlsx';
  header: Cell[];
  /** column index → column key, for the columns recognised */
  keys: (string | null)[];
  rows: SheetRow[];
}

const XLSX_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);

export function detectFormat(buf: Buffer): 'csv' | 'xlsx' {
  return buf.subarray(0, 4).equals(XLSX_MAGIC) ? 'xlsx' : 'csv';
}

/** The key a header cell names: `中文 (key)`, the Chinese name alone or the key alone. */
export function keyOfHeader(kind: ImportKind, cell: Cell): string | null {
  const text = cellText(cell).replace(/\s+/g, ' ').trim();
  if (!text) return null;
  const cols = [...COLUMNS[kind], ...REPORT_COLUMNS];
  const inParens = /[(（]\s*([A-Za-z][A-Za-z0-9]*)\s*[)）]\s*$/.exec(text)?.[1];
  if (inParens) {
    const hit = cols.find((c) => c.key.toLowerCase() === inParens.toLowerCase());
    if (hit) return hit.key;
  }
  const bare = text.replace(/\s*[(（][^)）]*[)）]\s*$/, '').trim();
  const hit = cols.find((c) => c.zh === text || c.zh === bare || c.key.toLowerCase() === text.toLowerCase() || c.en.toLowerCase() === text.toLowerCase());
  return hit?.key ?? null;
}

export function cellText(cell: Cell): string {
  if (cell === null || cell === undefined) return '';
  if (typeof cell === 'object') return cell.date.replace('T', ' ').replace(/:00(\.000)?$/, '').replace(/ 00:00$/, '');
  return String(cell).trim();
}

function decodeText(buf: Buffer): string {
  const body = buf.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf])) ? buf.subarray(3) : buf;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    // Excel on Chinese Windows saves "CSV" in the system code page (GBK, a subset of GB18030)
    return new TextDecoder('gb18030').decode(body);
  }
}

function headerIndex(kind: ImportKind, rows: Cell[][]): number {
  // the header is the first row that names the kind's first column (the record id); anything above it is skipped
  const anchor = COLUMNS[kind][0].key;
  for (let i = 0; i < Math.min(rows.length, 10); i++) {
    if (rows[i].some((c) => keyOfHeader(kind, c) === anchor)) return i;
  }
  return -1;
}

function toSheet(kind: ImportKind, format: Sheet['format'], grid: { row: number; cells: Cell[] }[]): Sheet {
  const at = headerIndex(kind, grid.map((g) => g.cells));
  if (at < 0) throw new AppError('IMPORT_MISSING_COLUMNS', { columns: headerText(COLUMNS[kind][0]) });
  const header = grid[at].cells;
  const keys = header.map((c) => keyOfHeader(kind, c));
  const rows = grid.slice(at + 1).filter((g) => g.cells.some((c) => cellText(c) !== ''));
  return { format, header, keys, rows };
}

export function readCsv(kind: ImportKind, buf: Buffer): Sheet {
  let records: string[][];
  try {
    records = parse(decodeText(buf), { relax_column_count: true, skip_empty_lines: false, relax_quotes: true });
  } catch (err) {
    throw new AppError('IMPORT_BAD_FILE', { detail: { zh: 'CSV 格式有误', en: 'malformed CSV' } });
  }
  // Excel numbers the rows of a CSV one per record, header included
  return toSheet(kind, 'csv', records.map((cells, i) => ({ row: i + 1, cells })));
}

function normaliseCell(v: ExcelJS.CellValue): Cell {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) {
    // Excel stores wall-clock times without a zone; exceljs hands them over as if they were UTC
    return { date: v.toISOString().slice(0, 19) };
  }
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'object') {
    if ('richText' in v && Array.isArray(v.richText)) return v.richText.map((t) => t.text).join('');
    if ('formula' in v || 'sharedFormula' in v) return normaliseCell((v as ExcelJS.CellFormulaValue).result as ExcelJS.CellValue);
    if ('text' in v && typeof v.text === 'string') return v.text;
    if ('error' in v) return String(v.error);
  }
  return String(v);
}

export async function readXlsx(kind: ImportKind, buf: Buffer): Promise<Sheet> {
  const wb = new ExcelJS.Workbook();
  try {
    await wb.xlsx.load(buf as unknown as ArrayBuffer);
  } catch {
    throw new AppError('IMPORT_BAD_FILE', { detail: { zh: '不是有效的 Excel (.xlsx) 文件', en: 'not a valid Excel (.xlsx) workbook' } });
  }
  // the data sheet is the first one with a recognised header (the template's instructions sheet has none)
  for (const ws of wb.worksheets) {
    const grid: { row: number; cells: Cell[] }[] = [];
    const width = ws.actualColumnCount > 0 ? ws.columnCount : 0;
    ws.eachRow({ includeEmpty: false }, (r) => {
      const cells: Cell[] = [];
      for (let c = 1; c <= width; c++) cells.push(normaliseCell(r.getCell(c).value));
      grid.push({ row: r.number, cells });
    });
    if (headerIndex(kind, grid.map((g) => g.cells)) >= 0) return toSheet(kind, 'xlsx', grid);
  }
  throw new AppError('IMPORT_MISSING_COLUMNS', { columns: headerText(COLUMNS[kind][0]) });
}

export async function readSheet(kind: ImportKind, buf: Buffer): Promise<Sheet> {
  if (!buf || buf.length === 0) throw new AppError('IMPORT_BAD_FILE', { detail: { zh: '文件为空', en: 'the file is empty' } });
  return detectFormat(buf) === 'xlsx' ? readXlsx(kind, buf) : readCsv(kind, buf);
}

// ── writing ──

const HEADER_FILL: ExcelJS.Fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFE8EEF7' } };
const ERROR_FILL: ExcelJS.Fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFFDE2E2' } };
const DATETIME_FMT = 'yyyy-mm-dd hh:mm';
const DATE_FMT = 'yyyy-mm-dd';

/** UTF-8 with a byte-order mark, so Excel opens the Chinese headers correctly. */
function csvBytes(rows: string[][]): Buffer {
  return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(stringify(rows, { record_delimiter: '\r\n' }), 'utf8')]);
}

export function templateCsv(kind: ImportKind): Buffer {
  const cols = COLUMNS[kind];
  return csvBytes([cols.map(headerText), ...EXAMPLES[kind].map((ex) => cols.map((c) => ex[c.key] ?? ''))]);
}

export async function templateXlsx(kind: ImportKind): Promise<Buffer> {
  const cols = COLUMNS[kind];
  const wb = new ExcelJS.Workbook();
  wb.creator = 'CareGrid';
  const data = wb.addWorksheet(`${KIND_LABELS[kind].zh} (${kind})`, { views: [{ state: 'frozen', ySplit: 1 }] });
  data.columns = cols.map((c) => ({
    header: headerText(c), key: c.key, width: c.width ?? 12,
    // text format keeps 18-digit identity numbers and leading zeros intact (Excel numbers have 15 significant digits)
    style: { numFmt: c.type === 'datetime' ? DATETIME_FMT : c.type === 'date' ? DATE_FMT : c.type === 'number' ? 'General' : '@' },
  }));
  const head = data.getRow(1);
  head.font = { bold: true };
  head.fill = HEADER_FILL;
  cols.forEach((c, i) => {
    const cell = head.getCell(i + 1);
    if (c.required) cell.font = { bold: true, color: { argb: 'FFC00000' } };
    cell.note = `${c.note.zh}\n${c.note.en}`;
  });
  for (const ex of EXAMPLES[kind]) data.addRow(cols.map((c) => ex[c.key] ?? ''));

  const help = wb.addWorksheet('填写说明 (instructions)');
  help.columns = [{ width: 26 }, { width: 8 }, { width: 50 }, { width: 60 }];
  help.addRow([`${KIND_LABELS[kind].zh}导入模板 / ${KIND_LABELS[kind].en} import template`]).font = { bold: true, size: 14 };
  help.addRow([]);
  INSTRUCTIONS[kind].zh.forEach((line, i) => help.addRow([`${i + 1}. ${line}`]));
  help.addRow([]);
  INSTRUCTIONS[kind].en.forEach((line, i) => help.addRow([`${i + 1}. ${line}`]));
  help.addRow([]);
  const th = help.addRow(['列 (column)', '必填 (required)', '说明', 'Notes']);
  th.font = { bold: true };
  th.fill = HEADER_FILL;
  for (const c of cols) help.addRow([headerText(c), c.required ? '是 (yes)' : '', c.note.zh, c.note.en]);
  return Buffer.from(await wb.xlsx.writeBuffer());
}

export interface ReportRow {
  row: number;
  cells: Cell[];
  /** indexes of the cells in error (highlighted in the workbook) */
  errorCells: number[];
  columns: string;
  reasons: string;
}

function reportHeader(header: Cell[]): Cell[] {
  return [...header, ...REPORT_COLUMNS.map(headerText)];
}

export function reportCsv(header: Cell[], rows: ReportRow[]): Buffer {
  return csvBytes([reportHeader(header).map(cellText), ...rows.map((r) => [...r.cells.map(cellText), String(r.row), r.columns, r.reasons])]);
}

export async function reportXlsx(kind: ImportKind, header: Cell[], rows: ReportRow[]): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  wb.creator = 'CareGrid';
  const ws = wb.addWorksheet(`${KIND_LABELS[kind].zh} (${kind})`, { views: [{ state: 'frozen', ySplit: 1 }] });
  const head = reportHeader(header);
  ws.columns = head.map((h, i) => ({ width: i >= header.length ? (i === head.length - 1 ? 60 : 16) : Math.max(10, Math.min(30, cellText(h).length + 4)) }));
  const hr = ws.addRow(head.map(cellText));
  hr.font = { bold: true };
  hr.fill = HEADER_FILL;
  for (const r of rows) {
    // an empty CSV field stays an empty cell
    const values: ExcelJS.CellValue[] = r.cells.map((c) => (c && typeof c === 'object' ? new Date(`${c.date}Z`) : c === '' ? null : c));
    const xr = ws.addRow([...values, r.row, r.columns, r.reasons]);
    r.cells.forEach((c, i) => {
      const cell = xr.getCell(i + 1);
      if (c && typeof c === 'object') cell.numFmt = c.date.endsWith('T00:00:00') ? DATE_FMT : DATETIME_FMT;
      else if (typeof c === 'string') cell.numFmt = '@';
    });
    for (const i of r.errorCells) xr.getCell(i + 1).fill = ERROR_FILL;
    xr.getCell(head.length).alignment = { wrapText: true, vertical: 'top' };
  }
  return Buffer.from(await wb.xlsx.writeBuffer());
}
