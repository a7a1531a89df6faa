// MeasureReport: surveillance feeds over FHIR (传染病监测数据报送). One report is one institution's counts for one
// community, one source and one day, with a group per category — the shape of a daily aggregate return:
//
//   measure    https://caregrid.dev/fhir/Measure/surveillance-<source>   (GET /api/v1/surveillance/sources)
//   subject    Location/<community>          period  one day (start = end, Beijing dates)
//   reporter   Organization/<institution>    (default: the caller's; the CDC may report for another)
//   group[i]   code = <category> in https://caregrid.dev/fhir/CodeSystem/surveillance-category,
//              measureScore.value (or population[0].count) = the count, percent or concentration
//   status     complete; `error` withdraws the report (its counts become 0)
//
// The counts go through the same checks and writes as POST /surveillance/feeds (feeds.ts), so a resend or a PUT is a
// correction that replaces the values, and a category dropped from a report, or a report moved to another day or
// community, leaves 0 behind instead of a stale count. Reports are read by their institution and by the CDC and
// district administrator only.
import type { Row } from '../../db/engine.ts';
import { AppError } from '../../platform/errors.ts';
import { districtDate } from '../../platform/local-date.ts';
import type { Params } from '../../platform/sql.ts';
import type { Principal } from '../../platform/principal.ts';
import {
  FEED_SENDERS, actsDistrictWide, checkFeedRows, reportingInstitution, writeFeedRows, type RawRows, type Sender,
} from '../../modules/surveillance/feeds.ts';
import { array, clean, code, dateTime, identifierKey, invalid, num, object, parseReference, ref, required, str, type Json } from '../datatypes.ts';
import { dateParam, referenceParam, specialParam, tokenParam, or } from '../search.ts';
import type { ResourceKind, WriteContext, WriteResult } from '../types.ts';
import { head, identifierParam } from './common.ts';

export const MEASURE_PREFIX = 'https://caregrid.dev/fhir/Measure/surveillance-';
export const CATEGORY_SYSTEM = 'https://caregrid.dev/fhir/CodeSystem/surveillance-category';
const STATUSES = ['complete', 'error'] as const;

interface Report {
  sourceId: string | null;
  sourceCode: string;
  regionId: number;
  date: string;
  status: (typeof STATUSES)[number];
  reporter: number | null;
  groups: { category: string; value: number }[];
}

/** A day of the period: a date as sent, or a dateTime's day in Beijing. */
function dayOf(value: unknown, path: string): string {
  const v = required(str(value, path, 40), path);
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) return v;
  return districtDate(dateTime(v, path)!);
}

async function parseReport(r: Json, ctx: WriteContext): Promise<Report> {
  const status = required(code(r.status, STATUSES, 'MeasureReport.status'), 'MeasureReport.status');
  if (required(str(r.type, 'MeasureReport.type', 40), 'MeasureReport.type') !== 'summary') throw invalid('MeasureReport.type', 'must be summary (a count per category)');
  const measure = required(str(r.measure, 'MeasureReport.measure', 300), 'MeasureReport.measure');
  if (!measure.startsWith(MEASURE_PREFIX) || measure.length === MEASURE_PREFIX.length) throw invalid('MeasureReport.measure', `must be ${MEASURE_PREFIX}<source>`);
  const subject = parseReference(r.subject, 'MeasureReport.subject', ['Location']);
  const regionId = required(await ctx.resolve(required(subject, 'MeasureReport.subject'), 'MeasureReport.subject'), 'MeasureReport.subject');
  const period = required(object(r.period, 'MeasureReport.period'), 'MeasureReport.period');
  const date = dayOf(period.start, 'MeasureReport.period.start');
  if (dayOf(period.end ?? period.start, 'MeasureReport.period.end') !== date) throw invalid('MeasureReport.period', 'a report covers one day: start and end on the same date');
  const reporter = parseReference(r.reporter, 'MeasureReport.reporter', ['Organization']);
  const groups: Report['groups'] = [];
  for (const [i, raw] of array(r.group, 'MeasureReport.group').entries()) {
    const path = `MeasureReport.group[${i}]`;
    const g = object(raw, path)!;
    const coding = array(object(g.code, `${path}.code`)?.coding, `${path}.code.coding`);
    const c = coding.map((x, j) => object(x, `${path}.code.coding[${j}]`)!).find((x) => x.system === CATEGORY_SYSTEM);
    if (!c) throw new AppError('FHIR_REQUIRED', { path: `${path}.code` }, `${path}.code`);
    const category = required(str(c.code, `${path}.code.coding.code`, 40), `${path}.code`);
    const score = object(g.measureScore, `${path}.measureScore`);
    const population = array(g.population, `${path}.population`);
    const value = score ? num(score.value, `${path}.measureScore.value`) : population.length ? num(object(population[0], `${path}.population[0]`)!.count, `${path}.population[0].count`) : null;
    groups.push({ category, value: required(value, `${path}.measureScore.value`) });
  }
  if (!groups.length) throw new AppError('FHIR_REQUIRED', { path: 'MeasureReport.group' }, 'MeasureReport.group');
  return {
    sourceId: identifierKey(r.identifier, 'MeasureReport.identifier'), sourceCode: measure.slice(MEASURE_PREFIX.length), regionId, date, status,
    reporter: reporter ? await ctx.resolve(reporter, 'MeasureReport.reporter') : null, groups,
  };
}

/** The feeds API's field names in a report's problems, as the FHIR elements they came from. */
function elementOf(field: string): string {
  const m = /^g(\d+)(?:\.(\w+))?/.exec(field);
  if (!m) return 'MeasureReport';
  const element: Record<string, string> = {
    sourceCode: 'MeasureReport.measure', categoryCode: `MeasureReport.group[${m[1]}].code`, regionId: 'MeasureReport.subject',
    date: 'MeasureReport.period', value: `MeasureReport.group[${m[1]}].measureScore.value`,
  };
  return (m[2] && element[m[2]]) ?? `MeasureReport.group[${m[1]}]`;
}

/** Checks the report's counts as the feeds API would and writes them; `zero` are keys of an earlier version to clear. */
async function writeCounts(ctx: WriteContext, sender: Sender, report: Report, zero: { category: string; date: string; regionId: number; sourceCode: string }[]) {
  const counts = report.groups.map((g) => ({ sourceCode: report.sourceCode, categoryCode: g.category, regionId: report.regionId, date: report.date, value: report.status === 'error' ? 0 : g.value }));
  const kept = new Set(counts.map((c) => `${c.sourceCode}/${c.categoryCode}/${c.regionId}/${c.date}`));
  for (const z of zero) {
    if (!kept.has(`${z.sourceCode}/${z.category}/${z.regionId}/${z.date}`)) counts.push({ sourceCode: z.sourceCode, categoryCode: z.category, regionId: z.regionId, date: z.date, value: 0 });
  }
  const raw: RawRows = { counts, items: [], prefix: (_list, i) => `g${i}` };
  const checked = await checkFeedRows(ctx.q, sender, raw);
  const problem = checked.problems[0];
  if (problem) throw new AppError(problem.code, problem.params, elementOf(problem.field));
  await writeFeedRows(ctx.q, sender, checked);
}

async function senderOf(ctx: WriteContext, report: Report, existing: Row | null): Promise<Sender> {
  const named = existing ? Number(existing.institution_id) : report.reporter;
  if (existing && report.reporter !== null && report.reporter !== named) throw invalid('MeasureReport.reporter', 'a report stays with the institution that sent it');
  return reportingInstitution(ctx.q, ctx.principal, { id: named }, 'MeasureReport.reporter');
}

const groupsOf = (row: Row): { category: string; value: number }[] => row.groups ?? [];

async function save(ctx: WriteContext, report: Report, existing: Row | null): Promise<WriteResult> {
  const sender = await senderOf(ctx, report, existing);
  const previous = existing ?? (report.sourceId ? (await ctx.q.query('SELECT * FROM feed_report WHERE institution_id = $1 AND source_id = $2 FOR UPDATE', [sender.id, report.sourceId])).rows[0] ?? null : null);
  const old = previous ? groupsOf(previous).map((g) => ({ category: g.category, date: String(previous.on_date).slice(0, 10), regionId: Number(previous.region_id), sourceCode: previous.source_code as string })) : [];
  await writeCounts(ctx, sender, report, old);
  const values = [sender.id, report.sourceId, report.sourceCode, report.regionId, report.date, report.status, JSON.stringify(report.groups)];
  if (previous) {
    await ctx.q.query(
      'UPDATE feed_report SET source_id = $3, source_code = $4, region_id = $5, on_date = $6, status = $7, groups = $8::jsonb WHERE id = $1 AND institution_id = $2',
      [previous.id, ...values],
    );
    return { id: Number(previous.id), created: false, residentId: null };
  }
  const { rows } = await ctx.q.query(
    'INSERT INTO feed_report (institution_id, source_id, source_code, region_id, on_date, status, groups) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb) RETURNING id', values);
  return { id: Number(rows[0].id), created: true, residentId: null };
}

export const measureReportKind: ResourceKind = {
  type: 'MeasureReport',
  table: 'feed_report',
  from: 'feed_report t',
  select: 't.*',
  residentColumn: null,
  order: 't.on_date DESC, t.id DESC',
  dateColumn: 'on_date',
  writers: FEED_SENDERS,
  rowScope(p: Principal, params: Params): string {
    if (actsDistrictWide(p)) return 'TRUE';
    const own = p.tokenInstitutionId ?? p.institutionId;
    return own === null ? 'FALSE' : `t.institution_id = ${params.add(own)}`;
  },
  toFhir(row: Row): Json {
    const day = String(row.on_date).slice(0, 10);
    return clean({
      ...head('MeasureReport', row),
      status: row.status,
      type: 'summary',
      measure: `${MEASURE_PREFIX}${row.source_code}`,
      subject: ref('Location', row.region_id),
      date: new Date(row.updated_at).toISOString(),
      reporter: ref('Organization', row.institution_id),
      period: { start: day, end: day },
      group: groupsOf(row).map((g) => ({ code: { coding: [{ system: CATEGORY_SYSTEM, code: g.category }] }, measureScore: { value: g.value } })),
    });
  },
  search: {
    identifier: identifierParam,
    subject: referenceParam('t.region_id', ['Location'], 'the community'),
    reporter: referenceParam('t.institution_id', ['Organization'], 'the reporting institution'),
    period: dateParam('t.on_date', 'date', 'the day counted'),
    date: dateParam('t.on_date', 'date', 'the day counted'),
    status: tokenParam('t.status'),
    measure: specialParam('uri', (values, _mod, params) => or(values.map((v) => `t.source_code = ${params.add(v.startsWith(MEASURE_PREFIX) ? v.slice(MEASURE_PREFIX.length) : v)}`)), `${MEASURE_PREFIX}<source>`),
  },
  async create(r: Json, ctx: WriteContext): Promise<WriteResult> {
    return save(ctx, await parseReport(r, ctx), null);
  },
  async update(_id: number, r: Json, ctx: WriteContext, existing: Row): Promise<WriteResult> {
    return save(ctx, await parseReport(r, ctx), existing);
  },
};
