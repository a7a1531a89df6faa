// Spreadsheet upload of feeds (POST /api/v1/imports/feeds, template /imports/templates/feeds.{xlsx,csv}): the import
// module reads the sheet, keeps the batch and gives the error report; this turns the cells into the rows of
// POST /surveillance/feeds, checked by the same checkFeedRows and written by the same writeFeedRows in one
// transaction. Valid rows are kept; a re-upload of the corrected file changes nothing that is already in.
import type { AppContext } from '../../context.ts';
import { withRetry } from '../../db/engine.ts';
import type { AuditContext } from '../../platform/audit.ts';
import type { ErrorCode, Param } from '../../platform/errors.ts';
import type { Principal } from '../../platform/principal.ts';
import type { CellError } from '../imports/rows.ts';
import { wallClock } from '../imports/rows.ts';
import type { CellOf, RowsImported } from '../imports/service.ts';
import { cellText, type Cell, type Sheet } from '../imports/sheet.ts';
import { catalogue } from './feed-queries.ts';
import { checkFeedRows, reportingInstitution, writeFeedRows, type RowProblem } from './feeds.ts';

const SEX: Record<string, string> = { 男: 'male', 女: 'female', male: 'male', female: 'female', m: 'male', f: 'female', 未知: 'unknown', unknown: 'unknown' };
const YES_NO: Record<string, boolean> = { 是: true, 有: true, yes: true, y: true, true: true, '1': true, 否: false, 无: false, no: false, n: false, false: false, '0': false };
const STATUS: Record<string, 'active' | 'entered-in-error'> = { 有效: 'active', active: 'active', 作废: 'entered-in-error', 撤回: 'entered-in-error', 'entered-in-error': 'entered-in-error' };

// The body's field (after the row prefix) → the template's column
const FIELD_COLUMNS: [RegExp, string][] = [
  [/^sourceCode/, 'sourceCode'], [/^categoryCode/, 'categoryCode'], [/^region(Id|Code)/, 'community'], [/^date/, 'date'], [/^value/, 'value'],
  [/^sourceId/, 'itemId'], [/^attributes\.ageBand/, 'ageBand'], [/^attributes\.sex/, 'sex'], [/^attributes\.recentTravel/, 'recentTravel'],
  [/^attributes\.travelRegion/, 'travelRegion'], [/^attributes\.daysSinceReturn/, 'daysSinceReturn'], [/^status/, 'status'],
];

const bi = (zh: string, en: string) => ({ detail: { zh, en } });

interface Pending {
  row: number;
  cells: Cell[];
  errors: CellError[];
  isItem: boolean;
}

export async function importFeedSheet(ctx: AppContext, p: Principal, _audit: AuditContext, input: { sheet: Sheet; cellOf: CellOf; institutionId: number | null }): Promise<RowsImported> {
  const sender = await reportingInstitution(ctx.db, p, { id: input.institutionId });
  const cat = await catalogue(ctx.db);
  // sources and categories by code, Chinese or English name
  const sourceCode = (t: string) => cat.find((c) => c.source_code === t || c.source_name === t || c.source_name_en.toLowerCase() === t.toLowerCase())?.source_code ?? t;
  const categoryCode = (source: string, t: string) =>
    cat.find((c) => c.source_code === source && (c.category_code === t || c.category_name === t || c.category_name_en?.toLowerCase() === t.toLowerCase()))?.category_code ?? t;

  const pending: Pending[] = [];
  const counts: unknown[] = [];
  const items: unknown[] = [];
  const origin: { counts: Pending[]; items: Pending[] } = { counts: [], items: [] };
  for (const { row, cells } of input.sheet.rows) {
    const text = (key: string) => cellText(input.cellOf(cells, key));
    const errors: CellError[] = [];
    const fail = (key: string, code: ErrorCode, params: Record<string, Param> = {}) => errors.push({ key, code, params });
    const isItem = text('itemId') !== '';
    for (const key of ['sourceCode', 'categoryCode', 'community', 'date', ...(isItem ? [] : ['value'])]) if (!text(key)) fail(key, 'IMPORT_REQUIRED');
    const when = wallClock(input.cellOf(cells, 'date'));
    if (when === null || when?.time) fail('date', 'IMPORT_INVALID', bi('应为日期 YYYY-MM-DD', 'must be a date, YYYY-MM-DD'));
    const num = (key: string): number | undefined => {
      const raw = input.cellOf(cells, key);
      if (text(key) === '') return undefined;
      const n = typeof raw === 'number' ? raw : /^[-+]?\d+(\.\d+)?$/.test(text(key)) ? Number(text(key)) : NaN;
      if (!Number.isFinite(n)) fail(key, 'IMPORT_INVALID', bi('应为数字', 'must be a number'));
      return n;
    };
    const value = num('value');
    if (isItem && value !== undefined) fail('value', 'IMPORT_INVALID', bi('明细行不填数值（每条计 1）', 'leave empty on item rows (each item counts 1)'));
    const source = sourceCode(text('sourceCode'));
    const base = { sourceCode: source, categoryCode: categoryCode(source, text('categoryCode')), regionCode: text('community'), date: when?.date ?? text('date') };
    const entry: Pending = { row, cells, errors, isItem };
    pending.push(entry);
    if (!isItem) {
      if (errors.length) continue;
      counts.push({ ...base, value });
      origin.counts.push(entry);
      continue;
    }
    const attributes: Record<string, unknown> = {};
    if (text('ageBand')) attributes.ageBand = text('ageBand');
    if (text('sex')) {
      const sex = SEX[text('sex').toLowerCase()];
      if (sex) attributes.sex = sex;
      else fail('sex', 'IMPORT_INVALID', bi('应为 男 或 女', 'must be male or female (男 / 女)'));
    }
    if (text('recentTravel')) {
      const yes = YES_NO[text('recentTravel').toLowerCase()];
      if (yes !== undefined) attributes.recentTravel = yes;
      else fail('recentTravel', 'IMPORT_INVALID', bi('应为 是 或 否', 'must be yes or no (是 / 否)'));
    }
    if (text('travelRegion')) attributes.travelRegion = text('travelRegion');
    const days = num('daysSinceReturn');
    if (days !== undefined && Number.isFinite(days)) attributes.daysSinceReturn = days;
    const status = text('status') ? STATUS[text('status').toLowerCase()] : 'active';
    if (!status) fail('status', 'IMPORT_INVALID', bi('应为 有效 或 作废', 'must be active or entered-in-error (有效 / 作废)'));
    if (errors.length) continue;
    items.push({ ...base, sourceId: text('itemId'), attributes, status });
    origin.items.push(entry);
  }

  const outcome = await withRetry(() => ctx.db.tx(async (q) => {
    const checked = await checkFeedRows(q, sender, { counts, items, allowRegionNames: true, prefix: (list, i) => `${list}:${i}` });
    const written = await writeFeedRows(q, sender, checked);
    return { problems: checked.problems, tally: written.tally };
  }));
  for (const problem of outcome.problems) {
    const [prefix, ...rest] = problem.field.split('.');
    const [list, i] = prefix.split(':') as ['counts' | 'items', string];
    const entry = origin[list][Number(i)];
    entry.errors.push(cellError(problem, rest.join('.'), entry.isItem, (other) => origin[other.split(':')[0] as 'counts' | 'items'][Number(other.split(':')[1])].row));
  }
  const t = outcome.tally;
  return {
    institutionId: sender.id,
    // a withdrawn item is an update of what was sent before
    counts: { created: t.created, updated: t.updated + t.withdrawn, unchanged: t.unchanged },
    failures: pending.filter((e) => e.errors.length).map((e) => ({ row: e.row, cells: e.cells, errors: e.errors })),
  };
}

/** A problem of the feeds check as a cell error of the sheet: its column, and "the same as row N" for duplicates. */
function cellError(problem: RowProblem, field: string, isItem: boolean, rowOf: (prefix: string) => number): CellError {
  if (problem.code === 'FEED_DUPLICATE_ROW') return { key: isItem ? 'itemId' : 'date', code: 'IMPORT_DUPLICATE_ID', params: { row: rowOf(String(problem.params.row)) } };
  const key = FIELD_COLUMNS.find(([re]) => re.test(field))?.[1] ?? (isItem ? 'itemId' : 'value');
  return { key, code: problem.code, params: problem.params };
}
