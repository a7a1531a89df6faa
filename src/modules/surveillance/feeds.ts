// Surveillance feeds (监测数据报送): institutions send daily aggregate counts per community, source and category,
// and line-list items (one registration, one pharmacy buyer, one positive specimen) keyed by their own id. A resend
// of the same key is a correction: it replaces the earlier value (revision + 1) and never adds to it; late data for
// past days are accepted like any other. A day's series value is the sum over institutions of the counts plus the
// active items (0005_surveillance.sql).
//
// Contents: who may send and read · checking rows · writing a request · series (loadSeries) · epicurve · catalogue
import { z } from 'zod';
import type { Queryable } from '../../db/engine.ts';
import { AppError, formatMessage, type ErrorCode, type Locale, type Param } from '../../platform/errors.ts';
import { hasRole, type Principal } from '../../platform/principal.ts';
import type { Role } from '../../platform/roles.ts';
import { districtDate } from '../../platform/local-date.ts';
import * as sql from './feed-queries.ts';

// ── who may send and read ──

/**
 * Who may send feeds: staff of an institution (the institution's type decides which sources: see
 * surveillance_source.sender_types), institution systems with a token, and the CDC and the district administrator,
 * who may also send on behalf of a named institution (a lab result keyed in centrally, a pharmacy's paper return).
 */
export const FEED_SENDERS: readonly Role[] = ['institution_admin', 'family_doctor', 'nurse', 'specialist', 'cdc_epidemiologist', 'district_admin'];
/** District-wide readers of feeds, series and case reports; every other sender reads its own institution's data only. */
export const SURVEILLANCE_READERS: readonly Role[] = ['cdc_epidemiologist', 'district_admin'];

/** May act for any institution: a person (not an institution token) with a district-wide surveillance role. */
export function actsDistrictWide(p: Principal): boolean {
  return p.tokenInstitutionId === null && hasRole(p, ...SURVEILLANCE_READERS);
}

/** The institution whose data the caller reads: null = every institution. */
export function readScope(p: Principal): number | null {
  if (actsDistrictWide(p)) return null;
  if (!hasRole(p, ...FEED_SENDERS)) throw new AppError('FORBIDDEN');
  const own = p.tokenInstitutionId ?? p.institutionId;
  if (own == null) throw new AppError('FORBIDDEN');
  return own;
}

export interface Sender {
  id: number;
  code: string;
  type: string;
}

/**
 * The reporting institution: the caller's own, or one the CDC or the district administrator names. Naming another
 * institution otherwise is refused; an institution token always reports as its institution.
 */
export async function reportingInstitution(q: Queryable, p: Principal, named: { id?: number | null; code?: string | null }, field = 'institutionId'): Promise<Sender> {
  if (!hasRole(p, ...FEED_SENDERS)) throw new AppError('FORBIDDEN');
  const own = p.tokenInstitutionId ?? p.institutionId;
  let inst = named.id != null ? await sql.institutionById(q, named.id) : named.code ? await sql.institutionByCode(q, named.code) : null;
  if ((named.id != null || named.code) && !inst) throw new AppError('NOT_FOUND', { noun: 'institution' }, field);
  if (inst && inst.id !== own && !actsDistrictWide(p)) throw new AppError('WRONG_INSTITUTION', {}, field);
  if (!inst) {
    if (own == null) throw new AppError('VALIDATION_FAILED', { detail: { zh: `${field}：请指定报送机构`, en: `${field}: name the reporting institution` } }, field);
    inst = await sql.institutionById(q, own);
  }
  if (!inst || !inst.active) throw new AppError('NOT_FOUND', { noun: 'institution' }, field);
  return { id: Number(inst.id), code: inst.code, type: inst.type };
}

// ── checking rows ──

export interface RowProblem {
  /** The field as the request spells it: `counts[2].date`, `items[0].sourceId`. */
  field: string;
  code: ErrorCode;
  params: Record<string, Param>;
}

export interface RenderedProblem {
  field: string;
  code: string;
  message: string;
}

export function renderProblem(e: RowProblem, locale: Locale): RenderedProblem {
  return { field: e.field, code: e.code, message: formatMessage(e.code, e.params, locale) };
}

const bi = (zh: string, en: string) => ({ detail: { zh, en } });

const DAY = /^\d{4}-\d{2}-\d{2}$/;
/** Feeds older than this are a typing error, not late data. */
export const EARLIEST_DATE = '2000-01-01';

function realDay(s: string): boolean {
  if (!DAY.test(s)) return false;
  const [y, m, d] = s.split('-').map(Number);
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}

const Region = {
  regionId: z.number().int().positive().optional().describe('the community (region id)'),
  regionCode: z.string().min(1).max(40).optional().describe('the community by its region code (instead of regionId)'),
};

export const FeedCountIn = z.strictObject({
  sourceCode: z.string().min(1).max(40).describe('surveillance source, e.g. pharmacy (GET /surveillance/sources)'),
  categoryCode: z.string().min(1).max(40).describe('category of the source, e.g. antipyretic'),
  ...Region,
  date: z.string().describe('the day counted, YYYY-MM-DD (Beijing); past days are accepted, future days are not'),
  value: z.number().describe('count (a non-negative integer), percent (0–100) or concentration (≥ 0), by the source’s unit'),
});
export type FeedCountIn = z.infer<typeof FeedCountIn>;

/**
 * What a line-list item may say about the person beyond the shared record: an allow-list, so no name, phone or
 * identity number is stored outside the master person index (the resident is reached through residentId).
 */
export const ItemAttributes = z.strictObject({
  ageBand: z.string().regex(/^(\d{1,3}-\d{1,3}|\d{1,3}\+)$/, { error: 'must be an age band such as 20-29 or 80+' }).optional(),
  sex: z.enum(['male', 'female', 'unknown']).optional(),
  recentTravel: z.boolean().optional().describe('travelled outside the district in the last 14 days'),
  travelRegion: z.string().max(100).optional().describe('where (a province, city or country)'),
  daysSinceReturn: z.number().int().min(0).max(365).optional(),
  specimen: z.string().max(40).optional().describe('laboratory specimen type'),
});

export const FeedItemIn = z.strictObject({
  sourceId: z.string().min(1).max(100).describe('the sender’s own id of the item: a resend with the same id replaces it'),
  sourceCode: z.string().min(1).max(40),
  categoryCode: z.string().min(1).max(40),
  ...Region,
  date: z.string().describe('YYYY-MM-DD (Beijing)'),
  residentId: z.number().int().positive().nullish().describe('the resident in the shared record, when known'),
  attributes: ItemAttributes.optional(),
  status: z.enum(['active', 'entered-in-error']).default('active').describe('entered-in-error withdraws the item'),
});
export type FeedItemIn = z.infer<typeof FeedItemIn>;

export const MAX_FEED_ROWS = 5000;

export const FeedBody = z.object({
  institutionId: z.number().int().positive().optional().describe('report as this institution (CDC and district administrator only)'),
  institutionCode: z.string().max(40).optional(),
  counts: z.array(z.unknown()).max(MAX_FEED_ROWS).optional().describe('aggregate counts: FeedCountIn'),
  items: z.array(z.unknown()).max(MAX_FEED_ROWS).optional().describe('line-list items: FeedItemIn'),
});

interface Catalogue {
  sources: Map<string, { unit: string; active: boolean; senderTypes: string[]; name: string; nameEn: string }>;
  categories: Map<string, { active: boolean; syndrome: string }>;
}

async function loadCatalogue(q: Queryable): Promise<Catalogue> {
  const rows = await sql.catalogue(q);
  const sources: Catalogue['sources'] = new Map();
  const categories: Catalogue['categories'] = new Map();
  for (const r of rows) {
    sources.set(r.source_code, { unit: r.unit, active: r.source_active, senderTypes: r.sender_types, name: r.source_name, nameEn: r.source_name_en });
    if (r.category_code) categories.set(`${r.source_code}/${r.category_code}`, { active: !!r.category_active, syndrome: r.syndrome! });
  }
  return { sources, categories };
}

/** zod's path → `counts[2].attributes.sex` */
function fieldOf(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `.${String(p)}`;
  return out;
}

export interface CheckedCount extends sql.CountWrite {
  index: number;
}
export interface CheckedItem extends sql.ItemWrite {
  index: number;
}

export interface CheckedRows {
  counts: CheckedCount[];
  items: CheckedItem[];
  problems: RowProblem[];
  /** Row prefixes (`counts[2]`) that failed. */
  failed: Set<string>;
}

export interface RawRows {
  counts: unknown[];
  items: unknown[];
  /** Spreadsheets name communities by name as well as by code. */
  allowRegionNames?: boolean;
  /** How a row is named in a problem (API: `counts[2]`; spreadsheet: the sheet's row number). */
  prefix?: (list: 'counts' | 'items', index: number) => string;
}

/**
 * Every row checked against the catalogue, the regions, the sender's institution type and the other rows of the
 * request; each problem names its row and field. Rows with problems are left out; the others are ready to write.
 */
export async function checkFeedRows(q: Queryable, sender: Sender, raw: RawRows, now = Date.now()): Promise<CheckedRows> {
  const prefix = raw.prefix ?? ((list, i) => `${list}[${i}]`);
  const cat = await loadCatalogue(q);
  const today = districtDate(now); // a feed's day is a Chinese calendar day
  const problems: RowProblem[] = [];
  const failed = new Set<string>();
  const fail = (row: string, field: string, code: ErrorCode, params: Record<string, Param> = {}) => {
    problems.push({ field: field ? `${row}.${field}` : row, code, params });
    failed.add(row);
  };

  type Parsed = { list: 'counts' | 'items'; index: number; row: string; v: FeedCountIn | FeedItemIn };
  const parsed: Parsed[] = [];
  const parse = (list: 'counts' | 'items', rows: unknown[], schema: z.ZodType<FeedCountIn> | z.ZodType<FeedItemIn>) => {
    rows.forEach((r, index) => {
      const row = prefix(list, index);
      const out = schema.safeParse(r);
      if (!out.success) {
        for (const issue of out.error.issues) {
          const detail = issue.code === 'unrecognized_keys' ? bi(`不支持的字段 ${issue.keys.join(', ')}`, `unsupported keys ${issue.keys.join(', ')}`) : bi(issue.message, issue.message);
          problems.push({ field: fieldOf(row, issue.path), code: 'VALIDATION_FAILED', params: detail });
        }
        failed.add(row);
        return;
      }
      parsed.push({ list, index, row, v: out.data });
    });
  };
  parse('counts', raw.counts, FeedCountIn);
  parse('items', raw.items, FeedItemIn);

  const ids = parsed.map((p) => p.v.regionId).filter((x): x is number => x != null);
  const codes = parsed.map((p) => p.v.regionCode).filter((x): x is string => !!x);
  const regions = await sql.regionsNamed(q, ids, codes, raw.allowRegionNames ? codes : []);
  const byId = new Map(regions.map((r) => [Number(r.id), r]));
  const byCode = new Map(regions.map((r) => [r.code, r]));
  for (const r of regions) if (r.level === 'community' && !byCode.has(r.name)) byCode.set(r.name, r);
  const residents = await sql.existingResidents(q, parsed.map((p) => (p.v as FeedItemIn).residentId).filter((x): x is number => x != null));

  const counts: CheckedCount[] = [];
  const items: CheckedItem[] = [];
  const seenCount = new Map<string, string>();
  const seenItem = new Map<string, string>();
  for (const { list, index, row, v } of parsed) {
    const before = problems.length;
    const source = cat.sources.get(v.sourceCode);
    if (!source || !source.active) fail(row, 'sourceCode', 'FEED_UNKNOWN_SOURCE', { code: v.sourceCode });
    else if (!source.senderTypes.includes(sender.type)) fail(row, 'sourceCode', 'FEED_SOURCE_NOT_ALLOWED', { type: sender.type, source: { zh: source.name, en: source.nameEn } });
    else if (!cat.categories.get(`${v.sourceCode}/${v.categoryCode}`)?.active) fail(row, 'categoryCode', 'FEED_UNKNOWN_CATEGORY', { source: v.sourceCode, code: v.categoryCode });

    let regionId: number | null = null;
    if (v.regionId == null && !v.regionCode) fail(row, 'regionId', 'VALIDATION_FAILED', bi('请填写社区（regionId 或 regionCode）', 'give the community (regionId or regionCode)'));
    else {
      const reg = v.regionId != null ? byId.get(v.regionId) : byCode.get(v.regionCode!);
      const field = v.regionId != null ? 'regionId' : 'regionCode';
      if (!reg) fail(row, field, 'NOT_FOUND', { noun: 'region' });
      else if (reg.level !== 'community') fail(row, field, 'FEED_NOT_COMMUNITY', { ref: `${reg.name} (${reg.code})` });
      else regionId = Number(reg.id);
    }

    if (!realDay(v.date)) fail(row, 'date', 'VALIDATION_FAILED', bi('应为日期 YYYY-MM-DD', 'must be a date, YYYY-MM-DD'));
    else if (v.date > today) fail(row, 'date', 'VALIDATION_FAILED', bi(`${v.date} 晚于今天（${today}）`, `${v.date} is after today (${today})`));
    else if (v.date < EARLIEST_DATE) fail(row, 'date', 'VALIDATION_FAILED', bi(`不能早于 ${EARLIEST_DATE}`, `must not be before ${EARLIEST_DATE}`));

    if (list === 'counts') {
      const value = (v as FeedCountIn).value;
      const unit = source?.unit ?? 'count';
      if (!Number.isFinite(value) || value < 0) fail(row, 'value', 'VALIDATION_FAILED', bi('不能为负数', 'must not be negative'));
      else if (unit === 'count' && !Number.isInteger(value)) fail(row, 'value', 'VALIDATION_FAILED', bi('计数应为整数', 'a count must be a whole number'));
      else if (unit === 'percent' && value > 100) fail(row, 'value', 'VALIDATION_FAILED', bi('百分比应在 0–100 之间', 'a percentage must be between 0 and 100'));
      if (problems.length > before) continue;
      const key = `${v.sourceCode}/${v.categoryCode}/${regionId}/${v.date}`;
      if (seenCount.has(key)) {
        fail(row, '', 'FEED_DUPLICATE_ROW', { row: seenCount.get(key)! });
        continue;
      }
      seenCount.set(key, row);
      counts.push({ index, sourceCode: v.sourceCode, categoryCode: v.categoryCode, regionId: regionId!, date: v.date, value });
    } else {
      const it = v as FeedItemIn;
      if (it.residentId != null && !residents.has(it.residentId)) fail(row, 'residentId', 'NOT_FOUND', { noun: 'resident' });
      if (problems.length > before) continue;
      if (seenItem.has(it.sourceId)) {
        fail(row, 'sourceId', 'FEED_DUPLICATE_ROW', { row: seenItem.get(it.sourceId)! });
        continue;
      }
      seenItem.set(it.sourceId, row);
      items.push({
        index, sourceId: it.sourceId, sourceCode: it.sourceCode, categoryCode: it.categoryCode, regionId: regionId!, date: it.date,
        residentId: it.residentId ?? null, attributes: it.attributes ?? {}, status: it.status,
      });
    }
  }
  return { counts, items, problems, failed };
}

// ── writing a request ──

export type FeedOutcome = 'created' | 'updated' | 'unchanged' | 'withdrawn';

export interface FeedRowResult {
  index: number;
  outcome: FeedOutcome | 'rejected';
  revision: number | null;
  sourceId?: string;
}

export interface WriteResult {
  counts: FeedRowResult[];
  items: FeedRowResult[];
  tally: Record<FeedOutcome, number>;
}

const countKey = (r: { source_code?: string; category_code?: string; region_id?: number; on_date?: string }) => `${r.source_code}/${r.category_code}/${Number(r.region_id)}/${r.on_date}`;

/** Writes checked rows (in the caller's transaction): two statements for counts, two for items at most. */
export async function writeFeedRows(q: Queryable, sender: Sender, checked: Pick<CheckedRows, 'counts' | 'items'>): Promise<Omit<WriteResult, 'counts' | 'items'> & { counts: Map<number, FeedRowResult>; items: Map<number, FeedRowResult> }> {
  const tally: Record<FeedOutcome, number> = { created: 0, updated: 0, unchanged: 0, withdrawn: 0 };
  const counts = new Map<number, FeedRowResult>();
  const items = new Map<number, FeedRowResult>();

  const written = new Map((await sql.upsertCounts(q, sender.id, checked.counts)).map((r) => [countKey(r), r]));
  const untouched = checked.counts.filter((c) => !written.has(countKey({ source_code: c.sourceCode, category_code: c.categoryCode, region_id: c.regionId, on_date: c.date })));
  const revisions = new Map((await sql.countRevisions(q, sender.id, untouched)).map((r) => [countKey(r), r.revision]));
  for (const c of checked.counts) {
    const key = countKey({ source_code: c.sourceCode, category_code: c.categoryCode, region_id: c.regionId, on_date: c.date });
    const w = written.get(key);
    const outcome: FeedOutcome = w ? (w.inserted ? 'created' : 'updated') : 'unchanged';
    tally[outcome]++;
    counts.set(c.index, { index: c.index, outcome, revision: w ? w.revision : (revisions.get(key) ?? null) });
  }

  const itemRows = new Map((await sql.upsertItems(q, sender.id, checked.items)).map((r) => [r.source_id, r]));
  const sameItems = checked.items.filter((i) => !itemRows.has(i.sourceId)).map((i) => i.sourceId);
  const itemRevs = new Map((await sql.itemRevisions(q, sender.id, sameItems)).map((r) => [r.source_id, r.revision]));
  for (const i of checked.items) {
    const w = itemRows.get(i.sourceId);
    const outcome: FeedOutcome = !w ? 'unchanged' : w.status === 'entered-in-error' ? 'withdrawn' : w.inserted ? 'created' : 'updated';
    tally[outcome]++;
    items.set(i.index, { index: i.index, outcome, revision: w ? w.revision : (itemRevs.get(i.sourceId) ?? null), sourceId: i.sourceId });
  }
  return { counts, items, tally };
}

export interface FeedResponse {
  institutionId: number;
  accepted: number;
  rejected: number;
  tally: Record<FeedOutcome, number>;
  counts: FeedRowResult[];
  items: FeedRowResult[];
  errors: RenderedProblem[];
}

/**
 * POST /surveillance/feeds: one transaction for the request. Rows with problems are rejected and named; the good
 * rows are written, so a sender fixes and resends only the rejected ones (a resend of a good row changes nothing).
 */
export async function receiveFeeds(q: Queryable, p: Principal, body: z.infer<typeof FeedBody>, locale: Locale, now = Date.now()): Promise<FeedResponse> {
  const sender = await reportingInstitution(q, p, { id: body.institutionId, code: body.institutionCode });
  const rawCounts = body.counts ?? [];
  const rawItems = body.items ?? [];
  if (!rawCounts.length && !rawItems.length) throw new AppError('VALIDATION_FAILED', { detail: { zh: '请提供 counts 或 items', en: 'send counts or items' } }, 'counts');
  const checked = await checkFeedRows(q, sender, { counts: rawCounts, items: rawItems }, now);
  const w = await writeFeedRows(q, sender, checked);
  const results = (list: 'counts' | 'items', n: number, done: Map<number, FeedRowResult>) =>
    Array.from({ length: n }, (_, i) => done.get(i) ?? { index: i, outcome: 'rejected' as const, revision: null, ...(list === 'items' && typeof (rawItems[i] as { sourceId?: unknown })?.sourceId === 'string' ? { sourceId: (rawItems[i] as { sourceId: string }).sourceId } : {}) });
  const accepted = w.counts.size + w.items.size;
  return {
    institutionId: sender.id,
    accepted,
    rejected: rawCounts.length + rawItems.length - accepted,
    tally: w.tally,
    counts: results('counts', rawCounts.length, w.counts),
    items: results('items', rawItems.length, w.items),
    errors: checked.problems.map((e) => renderProblem(e, locale)),
  };
}

// ── series ──

/** The query of sql.SeriesSql: regions of any level stand for their communities; institutionId reads one institution's contributions; aggregate sums the regions into one series per source and category (regionId null). */
export interface LoadSeriesOptions extends sql.SeriesSql {
  /**
   * Also return the all-zero series of every community × active category of the query that has no value in the
   * range, so a detection run sees every area × source × category series.
   */
  allCombinations?: boolean;
}

export interface DailySeries {
  regionId: number | null;
  sourceCode: string;
  categoryCode: string;
  /** values[i] is the day from + i; days without data are 0. */
  values: number[];
}

export interface SeriesSet {
  from: string;
  to: string;
  days: number;
  series: DailySeries[];
}

export const MAX_SERIES_DAYS = 3660;

/** The days with a value (offsets from the first day) spread over an array of zeros. */
function dense(days: number, offsets: number[], values: number[]): number[] {
  const out = new Array<number>(days).fill(0);
  for (let k = 0; k < offsets.length; k++) out[offsets[k]] = Number(values[k]);
  return out;
}

export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000) + 1;
}

export function dateAfter(from: string, i: number): string {
  return new Date(Date.parse(`${from}T00:00:00Z`) + i * 86_400_000).toISOString().slice(0, 10);
}

/**
 * Dense daily series per (community, source, category), read in one statement (plus one for the community list
 * when `allCombinations`): the daily detection run calls this for the whole district. Days without data are 0.
 */
export async function loadSeries(q: Queryable, o: LoadSeriesOptions): Promise<SeriesSet> {
  if (!realDay(o.from) || !realDay(o.to)) throw new AppError('VALIDATION_FAILED', { detail: 'from/to: must be dates YYYY-MM-DD' }, realDay(o.from) ? 'to' : 'from');
  const days = daysBetween(o.from, o.to);
  if (days < 1) throw new AppError('VALIDATION_FAILED', { detail: { zh: 'to 不能早于 from', en: 'to must not be before from' } }, 'to');
  if (days > MAX_SERIES_DAYS) throw new AppError('VALIDATION_FAILED', { detail: { zh: `最多 ${MAX_SERIES_DAYS} 天`, en: `at most ${MAX_SERIES_DAYS} days` } }, 'to');
  const rows = await sql.seriesPoints(q, o);
  const series: DailySeries[] = rows.map((r) => ({
    regionId: r.region_id == null ? null : Number(r.region_id), sourceCode: r.source_code, categoryCode: r.category_code, values: dense(days, r.d, r.v),
  }));
  if (!o.allCombinations) return { from: o.from, to: o.to, days, series };

  const present = new Set(series.map((s) => `${s.regionId}/${s.sourceCode}/${s.categoryCode}`));
  const cats = (await sql.catalogue(q)).filter((c) => c.category_code && c.category_active && c.source_active
    && (!o.sourceCodes?.length || o.sourceCodes.includes(c.source_code)) && (!o.categoryCodes?.length || o.categoryCodes.includes(c.category_code)));
  const regions = o.aggregate ? [null] : await sql.communityIds(q, o.regionIds);
  for (const regionId of regions) {
    for (const c of cats) {
      if (!present.has(`${regionId}/${c.source_code}/${c.category_code}`)) series.push({ regionId, sourceCode: c.source_code, categoryCode: c.category_code!, values: new Array<number>(days).fill(0) });
    }
  }
  series.sort((a, b) => (a.regionId ?? 0) - (b.regionId ?? 0) || a.sourceCode.localeCompare(b.sourceCode) || a.categoryCode.localeCompare(b.categoryCode));
  return { from: o.from, to: o.to, days, series };
}

// ── epicurve ──

export type EpicurveOptions = Omit<sql.EpicurveSql, 'caseReports'>;

/**
 * Daily totals of the district (or a region) per source and category, or per source and syndrome. Sources are not
 * added together: a pharmacy's sales and a fever clinic's visits count different things, and wastewater is a
 * concentration. Statutory case reports appear as source `case_report` (category: the disease code).
 */
export async function epicurve(q: Queryable, o: EpicurveOptions) {
  const days = daysBetween(o.from, o.to);
  if (!realDay(o.from) || !realDay(o.to) || days < 1 || days > MAX_SERIES_DAYS) throw new AppError('VALIDATION_FAILED', { detail: `from/to: a range of 1 to ${MAX_SERIES_DAYS} days` }, 'from');
  const caseReports = !o.sourceCodes?.length || o.sourceCodes.includes('case_report');
  const rows = await sql.epicurvePoints(q, { ...o, caseReports });
  const cat = await sql.catalogue(q);
  const dis = caseReports && o.by === 'category' ? await sql.diseases(q) : [];
  const label = (source: string, key: string) => {
    if (o.by === 'syndrome') return { name: key, nameEn: key };
    if (source === 'case_report') {
      const d = dis.find((x) => x.code === key);
      return { name: d?.name ?? key, nameEn: d?.name_en ?? key };
    }
    const c = cat.find((x) => x.source_code === source && x.category_code === key);
    return { name: c?.category_name ?? key, nameEn: c?.category_name_en ?? key };
  };
  const series = rows.map((r) => {
    const values = dense(days, r.d, r.v);
    return { sourceCode: r.source_code, key: r.key, ...label(r.source_code, r.key), total: values.reduce((a, b) => a + b, 0), values };
  });
  return { from: o.from, to: o.to, by: o.by, dates: Array.from({ length: days }, (_, i) => dateAfter(o.from, i)), series };
}

// ── catalogue ──

export async function listSources(q: Queryable) {
  const rows = await sql.catalogue(q);
  const out = new Map<string, { code: string; name: string; nameEn: string; unit: string; independence: string; active: boolean; senderTypes: string[]; categories: { code: string; name: string; nameEn: string; syndrome: string; active: boolean }[] }>();
  for (const r of rows) {
    if (!out.has(r.source_code)) out.set(r.source_code, { code: r.source_code, name: r.source_name, nameEn: r.source_name_en, unit: r.unit, independence: r.independence, active: r.source_active, senderTypes: r.sender_types, categories: [] });
    if (r.category_code) out.get(r.source_code)!.categories.push({ code: r.category_code, name: r.category_name!, nameEn: r.category_name_en!, syndrome: r.syndrome!, active: !!r.category_active });
  }
  const diseases = (await sql.diseases(q)).map((d) => ({ code: d.code, name: d.name, nameEn: d.name_en, class: d.class, managedAsA: d.managed_as_a, reportHours: d.report_hours, syndrome: d.syndrome, active: d.active }));
  return { sources: [...out.values()], diseases };
}
