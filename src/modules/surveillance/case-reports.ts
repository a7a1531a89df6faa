// Statutory case reports (传染病报告卡). A card is filed by the diagnosing institution under its own card number;
// sending the same number again revises it (revision + 1, status `revised`), `entered-in-error` withdraws it. The
// deadline is the diagnosis time plus the disease's report_hours (notifiable_disease: 2 h for class A and the
// diseases managed as class A, 24 h for the others; 《传染病信息报告管理规范》), read when the card arrives; a card
// reported after its deadline is late. Timeliness is counted from the first report: a revision never makes a card
// on time again, and it re-evaluates `late` only when the diagnosis time or the disease changes.
//
// Contents: hooks · checking a card · filing · reading (audited) · timeliness
import { z } from 'zod';
import type { Queryable } from '../../db/engine.ts';
import type { AuditContext } from '../../platform/audit.ts';
import { audit, auditMany } from '../../platform/audit.ts';
import { AppError } from '../../platform/errors.ts';
import { districtDate } from '../../platform/local-date.ts';
import type { Principal } from '../../platform/principal.ts';
import { PRIMARY_CARE } from '../../platform/principal.ts';
import * as sql from './case-report-queries.ts';
import { regionsNamed } from './feed-queries.ts';
import { readScope, reportingInstitution } from './feeds.ts';

// ── hooks ──

export interface SavedCaseReport {
  id: number;
  institutionId: number;
  institutionName: string;
  sourceId: string;
  residentId: number | null;
  regionId: number;
  regionName: string;
  diseaseCode: string;
  diseaseName: string;
  diseaseNameEn: string;
  diseaseClass: 'A' | 'B' | 'C';
  managedAsA: boolean;
  caseClass: string;
  onsetDate: string | null;
  diagnosedAt: string;
  reportedAt: string;
  deadlineAt: string;
  late: boolean;
  /** Hours from diagnosis to report. */
  delayHours: number;
  status: 'active' | 'revised' | 'entered-in-error';
  revision: number;
  updatedAt: string;
}

export type CaseReportChange = 'created' | 'updated' | 'withdrawn';

/**
 * Called inside the card's transaction with the saved card, after every change (not for an identical resend): a
 * hook that throws rolls the card back. The alert engine raises its immediate alert for class A cards here.
 */
export type CaseReportHook = (q: Queryable, event: { report: SavedCaseReport; change: CaseReportChange }) => Promise<void>;

const hooks: CaseReportHook[] = [];

/** Registers a hook for every process-wide case report change; returns the function that removes it. */
export function onCaseReport(fn: CaseReportHook): () => void {
  hooks.push(fn);
  return () => {
    const i = hooks.indexOf(fn);
    if (i >= 0) hooks.splice(i, 1);
  };
}

// ── checking a card ──

/** Who files cards: staff (feeds.ts FEED_SENDERS) of institutions that diagnose (hospitals, primary care) and the CDC. */
export const CASE_REPORTER_TYPES: readonly string[] = [
  'tertiary_hospital', 'secondary_hospital', 'tcm_hospital', 'mch_hospital', 'specialty_hospital', ...PRIMARY_CARE, 'cdc',
];

const dateTime = z.string().regex(/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/, {
  error: 'must be a time: ISO 8601 (2024-03-05T09:30:00+08:00) or YYYY-MM-DD HH:mm in Beijing time',
});

export const CaseReportIn = z.strictObject({
  institutionId: z.number().int().positive().optional().describe('file as this institution (CDC and district administrator only)'),
  institutionCode: z.string().max(40).optional(),
  sourceId: z.string().min(1).max(100).describe('the card number in the reporting system: the same number again revises the card'),
  residentId: z.number().int().positive().nullish().describe('the patient in the shared record; nothing else personal travels on the card'),
  regionId: z.number().int().positive().optional().describe('community of current address'),
  regionCode: z.string().min(1).max(40).optional(),
  diseaseCode: z.string().min(1).max(20).describe('notifiable disease (GET /surveillance/sources: diseases)'),
  caseClass: z.enum(['suspected', 'clinical', 'confirmed', 'carrier']).default('confirmed'),
  onsetDate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'must be a date YYYY-MM-DD' }).nullish(),
  diagnosedAt: dateTime.describe('time of diagnosis; without a zone Beijing time'),
  reportedAt: dateTime.optional().describe('the reporting system’s own report time; default: when the card arrives'),
  status: z.enum(['active', 'entered-in-error']).default('active'),
});
export type CaseReportIn = z.infer<typeof CaseReportIn>;

/** Clock differences between systems tolerated before a time counts as "in the future". */
const CLOCK_SKEW_MS = 5 * 60_000;

function parseTime(s: string): Date {
  const t = s.replace(' ', 'T');
  return new Date(/(Z|[+-]\d{2}:?\d{2})$/.test(t) ? t : `${t}+08:00`);
}

const invalid = (field: string, zh: string, en: string) => new AppError('VALIDATION_FAILED', { detail: { zh: `${field}：${zh}`, en: `${field}: ${en}` } }, field);

/** The deadline rule itself: diagnosis + the disease's statutory hours; late when reported after it. */
export function deadlineOf(diagnosedAt: Date, reportHours: number, reportedAt: Date): { deadlineAt: Date; late: boolean } {
  const deadlineAt = new Date(diagnosedAt.getTime() + reportHours * 3600_000);
  return { deadlineAt, late: reportedAt.getTime() > deadlineAt.getTime() };
}

function view(r: sql.CaseReportRow): SavedCaseReport {
  const iso = (v: Date | string) => new Date(v).toISOString();
  return {
    id: Number(r.id), institutionId: Number(r.institution_id), institutionName: r.institution_name, sourceId: r.source_id,
    residentId: r.resident_id == null ? null : Number(r.resident_id), regionId: Number(r.region_id), regionName: r.region_name,
    diseaseCode: r.disease_code, diseaseName: r.disease_name, diseaseNameEn: r.disease_name_en, diseaseClass: r.disease_class, managedAsA: r.managed_as_a,
    caseClass: r.case_class, onsetDate: r.onset_date ?? null, diagnosedAt: iso(r.diagnosed_at), reportedAt: iso(r.reported_at), deadlineAt: iso(r.deadline_at),
    late: r.late, delayHours: Math.round(((new Date(r.reported_at).getTime() - new Date(r.diagnosed_at).getTime()) / 3600_000) * 100) / 100,
    status: r.status, revision: r.revision, updatedAt: iso(r.updated_at),
  };
}

// ── filing ──

export interface FileResult {
  outcome: CaseReportChange | 'unchanged';
  report: SavedCaseReport;
}

/** Files or revises one card in the caller's transaction; hooks run before it commits. */
export async function fileCaseReport(q: Queryable, p: Principal, auditCtx: AuditContext, body: CaseReportIn, now = Date.now()): Promise<FileResult> {
  const inst = await reportingInstitution(q, p, { id: body.institutionId, code: body.institutionCode });
  if (!CASE_REPORTER_TYPES.includes(inst.type)) throw new AppError('CASE_REPORT_NOT_ALLOWED', { type: inst.type }, 'institutionId');

  const dis = await sql.disease(q, body.diseaseCode);
  if (!dis || !dis.active) throw new AppError('UNKNOWN_DISEASE', { code: body.diseaseCode }, 'diseaseCode');
  if (body.regionId == null && !body.regionCode) throw invalid('regionId', '请填写现住址所在社区（regionId 或 regionCode）', 'give the community of the current address (regionId or regionCode)');
  const field = body.regionId != null ? 'regionId' : 'regionCode';
  const [reg] = await regionsNamed(q, body.regionId != null ? [body.regionId] : [], body.regionId != null ? [] : [body.regionCode!]);
  if (!reg) throw new AppError('NOT_FOUND', { noun: 'region' }, field);
  if (reg.level !== 'community') throw new AppError('FEED_NOT_COMMUNITY', { ref: `${reg.name} (${reg.code})` }, field);
  if (body.residentId != null && !(await sql.residentExists(q, body.residentId))) throw new AppError('NOT_FOUND', { noun: 'resident' }, 'residentId');

  const diagnosedAt = parseTime(body.diagnosedAt);
  if (Number.isNaN(diagnosedAt.getTime())) throw invalid('diagnosedAt', '不是有效的时间', 'is not a valid time');
  if (diagnosedAt.getTime() > now + CLOCK_SKEW_MS) throw invalid('diagnosedAt', '不能是将来的时间', 'must not be in the future');
  const sentAt = body.reportedAt ? parseTime(body.reportedAt) : new Date(now);
  if (Number.isNaN(sentAt.getTime())) throw invalid('reportedAt', '不是有效的时间', 'is not a valid time');
  if (sentAt.getTime() > now + CLOCK_SKEW_MS) throw invalid('reportedAt', '不能是将来的时间', 'must not be in the future');
  if (sentAt < diagnosedAt) throw invalid('reportedAt', '不能早于诊断时间', 'must not be before the diagnosis');
  const onset = body.onsetDate ?? null;
  if (onset && onset > districtDate(diagnosedAt)) throw invalid('onsetDate', '不能晚于诊断日期', 'must not be after the day of diagnosis');

  const card = { institutionId: inst.id, sourceId: body.sourceId, residentId: body.residentId ?? null, regionId: Number(reg.id), diseaseCode: dis.code, caseClass: body.caseClass, onsetDate: onset, diagnosedAt, reporterId: p.userId };
  const old = await sql.lockCard(q, inst.id, body.sourceId);
  let id: number | null = null;
  let change: CaseReportChange | 'unchanged';
  if (!old) {
    if (body.status === 'entered-in-error') throw new AppError('NOT_FOUND', { noun: 'caseReport' }, 'sourceId');
    id = await sql.insertCard(q, { ...card, reportedAt: sentAt, ...deadlineOf(diagnosedAt, dis.report_hours, sentAt), status: 'active' });
    change = 'created';
    if (id === null) throw new AppError('BUSY'); // the same card number filed concurrently: the retry revises it
  } else {
    id = Number(old.id);
    const withdrawn = body.status === 'entered-in-error';
    const same = (old.resident_id == null ? null : Number(old.resident_id)) === card.residentId && Number(old.region_id) === card.regionId
      && old.disease_code === card.diseaseCode && old.case_class === card.caseClass && (old.onset_date ?? null) === onset
      && new Date(old.diagnosed_at).getTime() === diagnosedAt.getTime() && (old.status === 'entered-in-error') === withdrawn;
    if (same) change = 'unchanged';
    else {
      // timeliness stays that of the first report
      const first = new Date(old.reported_at);
      await sql.reviseCard(q, id, { ...card, reportedAt: first, ...deadlineOf(diagnosedAt, dis.report_hours, first), status: withdrawn ? 'entered-in-error' : 'revised' });
      change = withdrawn ? 'withdrawn' : 'updated';
    }
  }
  const report = view((await sql.byId(q, id))!);
  if (change !== 'unchanged') {
    await audit(q, auditCtx, { action: change === 'created' ? 'create' : 'update', resourceType: 'CaseReport', resourceId: id, residentId: report.residentId });
    for (const h of [...hooks]) await h(q, { report, change });
  }
  return { outcome: change, report };
}

// ── reading ──

export const CaseReportListQuery = z.object({
  from: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).optional().describe('first day of diagnosis (Beijing)'),
  to: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).optional(),
  diseaseCode: z.string().max(20).optional(),
  diseaseClass: z.enum(['A', 'B', 'C']).optional(),
  institutionId: z.coerce.number().int().positive().optional(),
  regionId: z.coerce.number().int().positive().optional().describe('a community, street or the district'),
  late: z.enum(['true', 'false']).optional().transform((v) => (v === undefined ? undefined : v === 'true')),
  status: z.enum(['active', 'revised', 'entered-in-error']).optional(),
  page: z.coerce.number().int().min(1).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(20),
});
export type CaseReportListQuery = z.infer<typeof CaseReportListQuery>;

/**
 * The CDC and the district administrator see every card, an institution its own. Cards name the patient only by
 * resident id; every card shown is audited against that resident (one statement).
 */
export async function listCaseReports(q: Queryable, p: Principal, auditCtx: AuditContext, f: CaseReportListQuery) {
  const own = readScope(p);
  if (own !== null && f.institutionId !== undefined && f.institutionId !== own) throw new AppError('FORBIDDEN');
  const { rows, total } = await sql.list(q, { ...f, institutionId: own ?? f.institutionId ?? null });
  const items = rows.map(view);
  await auditMany(q, auditCtx, items.map((r) => ({ action: 'list', resourceType: 'CaseReport', resourceId: r.id, residentId: r.residentId })));
  return { items, total, page: f.page, pageSize: f.pageSize };
}

// ── timeliness ──

export interface TimelinessFigures {
  institutionId: number | null;
  institutionName: string | null;
  reports: number;
  late: number;
  onTime: number;
  /** on time ÷ reports; null without reports */
  onTimeRate: number | null;
  medianDelayHours: number | null;
  p90DelayHours: number | null;
}

const round = (x: number | null, digits: number) => (x == null ? null : Math.round(Number(x) * 10 ** digits) / 10 ** digits);

/** Reporting timeliness per institution over the cards diagnosed between from and to, and the total. */
export async function caseReportTimeliness(q: Queryable, p: Principal, from: string, to: string) {
  const own = readScope(p);
  if (to < from) throw new AppError('VALIDATION_FAILED', { detail: { zh: 'to 不能早于 from', en: 'to must not be before from' } }, 'to');
  const rows = await sql.timeliness(q, { from, to, institutionId: own });
  const figures = rows.map((r): TimelinessFigures => ({
    institutionId: r.institution_id == null ? null : Number(r.institution_id), institutionName: r.institution_name,
    reports: r.reports, late: r.late, onTime: r.reports - r.late, onTimeRate: r.reports ? round((r.reports - r.late) / r.reports, 4) : null,
    medianDelayHours: round(r.median_hours, 2), p90DelayHours: round(r.p90_hours, 2),
  }));
  const totalRow = figures.find((f) => f.institutionId === null);
  const empty: TimelinessFigures = { institutionId: null, institutionName: null, reports: 0, late: 0, onTime: 0, onTimeRate: null, medianDelayHours: null, p90DelayHours: null };
  return { from, to, institutions: figures.filter((f) => f.institutionId !== null), total: totalRow ?? empty };
}
