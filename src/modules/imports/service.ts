// Spreadsheet import (表格导入): each checked row becomes FHIR resources written through the FHIR repository, so
// validation, scope, institution checks, audit and idempotency are those of the FHIR API. One transaction per row:
// a bad row is reported and the good ones are kept. Resources of a row refer to each other by `urn:uuid:` as in a
// FHIR transaction Bundle (https://hl7.org/fhir/R4/http.html#trules).
//
// Contents: identifiers · resources of a row · writing a row · mapping failures to columns · the batch · reports
import { randomUUID } from 'node:crypto';
import type { AppContext } from '../../context.ts';
import { withRetry } from '../../db/engine.ts';
import type { AuditContext } from '../../platform/audit.ts';
import { audit } from '../../platform/audit.ts';
import { decryptField, encryptField, lookupHash } from '../../platform/crypto.ts';
import { AppError, formatMessage, type ErrorCode, type Locale, type Param } from '../../platform/errors.ts';
import { toAppError } from '../../platform/error-mapping.ts';
import { hasRole, type Principal } from '../../platform/principal.ts';
import { SYSTEM, type Json } from '../../fhir/datatypes.ts';
import * as repo from '../../fhir/repository.ts';
import { KINDS, kindOf } from '../../fhir/registry.ts';
import { COLUMNS, REPORT_COLUMNS, VITALS, headerText, type ImportKind } from './columns.ts';
import { checkEncounterRow, checkResultRow, type CellError, type EncounterRow, type PatientCells, type ResultRow } from './rows.ts';
import { cellText, keyOfHeader as keyOf, readSheet, reportCsv, reportXlsx, type Cell, type ReportRow, type Sheet } from './sheet.ts';
import * as sql from './queries.ts';
import { importFeedSheet } from '../surveillance/feed-import.ts';

export const MAX_ROWS = 10_000;

export interface RowError {
  row: number;
  column: string;
  field: string;
  message: string;
}

export interface ImportResult {
  importId: number;
  kind: ImportKind;
  total: number;
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
  errors: RowError[];
}

/** What is kept of an error: the code and its parameters, so the report speaks the language of whoever reads it. */
interface StoredError {
  row: number;
  field: string;
  column: string;
  code: ErrorCode;
  params: Record<string, Param>;
}

export type Outcome = 'created' | 'updated' | 'unchanged';

// ── identifiers ──

/** The sender's id of an imported record, namespaced by institution and template (README: identifier systems). */
export function importSystem(institutionCode: string, kind: ImportKind): string {
  return `https://caregrid.dev/fhir/sid/import/${encodeURIComponent(institutionCode)}/${kind}`;
}

// ── resources of a row ──

// v3 ActEncounterCode for CareGrid's encounter kinds (Encounter.class); the finer kind travels in Encounter.type
const ACT: Record<string, string> = { emergency: 'EMER', inpatient: 'IMP', home_visit: 'HH' };

function patientResource(p: PatientCells): Json {
  return {
    resourceType: 'Patient',
    identifier: p.idNumber ? [{ use: 'official', system: SYSTEM.idCard, value: p.idNumber }] : undefined,
    name: [{ text: p.name }],
    gender: p.sex,
    birthDate: p.birthDate,
    telecom: p.phone ? [{ system: 'phone', value: p.phone }] : undefined,
  };
}

const identifier = (system: string, value: string) => [{ system, value }];

function encounterResource(r: EncounterRow, system: string, subject: string): Json {
  return {
    resourceType: 'Encounter',
    identifier: identifier(system, r.sourceId),
    // an admission without a discharge time is still going on
    status: r.cls === 'inpatient' && !r.endAt ? 'in-progress' : 'finished',
    class: { system: SYSTEM.v3ActCode, code: ACT[r.cls] ?? 'AMB' },
    type: [{ coding: [{ system: SYSTEM.encounterClass, code: r.cls }] }],
    subject: { reference: subject },
    period: r.endAt ? { start: r.startAt, end: r.endAt } : { start: r.startAt },
    serviceType: r.department ? { text: r.department } : undefined,
  };
}

function conditionResource(r: EncounterRow, i: number, system: string, subject: string, encounter: string): Json {
  const dx = r.diagnoses[i];
  return {
    resourceType: 'Condition',
    identifier: identifier(system, `${r.sourceId}#dx${i + 1}`),
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'encounter-diagnosis' }] }],
    code: { coding: [{ system: dx.system, code: dx.code, ...(dx.display ? { display: dx.display } : {}) }] },
    subject: { reference: subject },
    encounter: { reference: encounter },
    recordedDate: r.startAt,
  };
}

function vitalResource(r: EncounterRow, v: { key: string; value: number }, system: string, subject: string, encounter: string): Json {
  const def = VITALS.find((x) => x.key === v.key)!;
  return {
    resourceType: 'Observation',
    identifier: identifier(system, `${r.sourceId}#${v.key}`),
    status: 'final',
    category: [{ coding: [{ system: SYSTEM.observationCategory, code: def.category }] }],
    code: { coding: [{ system: SYSTEM.loinc, code: def.loinc, display: def.display }] },
    subject: { reference: subject },
    encounter: { reference: encounter },
    effectiveDateTime: r.startAt,
    valueQuantity: { value: v.value, unit: def.unit, system: SYSTEM.ucum, code: def.ucum },
  };
}

function summaryResource(r: EncounterRow, system: string, subject: string, encounter: string): Json {
  return {
    resourceType: 'DocumentReference',
    identifier: identifier(system, `${r.sourceId}#summary`),
    status: 'current',
    // LOINC 18842-5 Discharge summary
    type: { coding: [{ system: SYSTEM.loinc, code: '18842-5', display: 'Discharge summary' }], text: '出院小结' },
    subject: { reference: subject },
    date: r.endAt ?? r.startAt,
    content: [{ attachment: { contentType: 'text/plain; charset=utf-8', data: Buffer.from(r.dischargeSummary!, 'utf8').toString('base64'), title: '出院小结' } }],
    context: { encounter: [{ reference: encounter }], period: r.endAt ? { start: r.startAt, end: r.endAt } : { start: r.startAt } },
  };
}

function resultResource(r: ResultRow, system: string, subject: string, encounter: string | null): Json {
  const unit = r.unit ? { unit: r.unit } : {};
  const range = r.refLow !== null || r.refHigh !== null
    ? [{ ...(r.refLow !== null ? { low: { value: r.refLow, ...unit } } : {}), ...(r.refHigh !== null ? { high: { value: r.refHigh, ...unit } } : {}) }]
    : undefined;
  return {
    resourceType: 'Observation',
    identifier: identifier(system, r.sourceId),
    status: 'final',
    category: [{ coding: [{ system: SYSTEM.observationCategory, code: r.category }] }],
    code: { coding: [{ system: r.system, code: r.code, display: r.display }], text: r.display },
    subject: { reference: subject },
    encounter: encounter ? { reference: encounter } : undefined,
    effectiveDateTime: r.resultAt,
    valueQuantity: r.valueNum !== null ? { value: r.valueNum, ...unit } : undefined,
    valueString: r.valueText ?? undefined,
    referenceRange: range,
  };
}

// ── writing a row ──

/** A failure while writing one resource of a row, remembered with the column that produced the resource. */
class ColumnFailure extends Error {
  readonly key: string;
  readonly inner: unknown;
  constructor(key: string, inner: unknown) {
    super('row failed');
    this.key = key;
    this.inner = inner;
  }
}

interface Inst {
  id: number;
  code: string;
}

interface RowWriter {
  rc: repo.RequestContext;
  inst: Inst;
  placeholders: repo.PlaceholderMap;
}

async function put(w: RowWriter, key: string, resource: Json): Promise<Outcome> {
  const kind = kindOf(resource.resourceType);
  const sourceKey = `${resource.identifier[0].system}|${resource.identifier[0].value}`;
  try {
    const before = await sql.versionOf(w.rc.q, kind.table, w.inst.id, sourceKey);
    const out = await repo.create(w.rc, kind.type, resource, w.placeholders);
    if (before === null) return 'created';
    return Number(out.resource.meta?.versionId) !== before ? 'updated' : 'unchanged';
  } catch (err) {
    throw new ColumnFailure(key, err);
  }
}

/** The resident of a row as a `urn:uuid:` placeholder: matched or registered as a FHIR Patient create would. */
async function subject(w: RowWriter, p: PatientCells): Promise<string> {
  const urn = `urn:uuid:${randomUUID()}`;
  let id: number | null = null;
  try {
    if (p.name && p.sex && p.birthDate) id = (await repo.create(w.rc, 'Patient', patientResource(p))).id;
  } catch (err) {
    throw new ColumnFailure('name', err);
  }
  if (id === null) {
    const { rows } = await w.rc.q.query("SELECT id FROM resident WHERE id_number_hash = $1 AND status <> 'merged'", [lookupHash(w.rc.keys, 'id', p.idNumber!)]);
    if (!rows[0]) throw new ColumnFailure('idNumber', new AppError('IMPORT_PATIENT_UNKNOWN'));
    id = rows[0].id as number;
  }
  w.placeholders.set(urn, { type: 'Patient', id: id! });
  return urn;
}

function combine(main: Outcome, rest: Outcome[]): Outcome {
  if (main === 'created') return 'created';
  return main === 'updated' || rest.some((o) => o !== 'unchanged') ? 'updated' : 'unchanged';
}

async function writeEncounter(w: RowWriter, r: EncounterRow): Promise<Outcome> {
  const system = importSystem(w.inst.code, 'encounters');
  const subj = await subject(w, r.patient);
  const main = await put(w, 'sourceId', encounterResource(r, system, subj));
  const enc = `urn:uuid:${randomUUID()}`;
  const { rows } = await w.rc.q.query('SELECT id FROM encounter WHERE institution_id = $1 AND source_id = $2', [w.inst.id, `${system}|${r.sourceId}`]);
  w.placeholders.set(enc, { type: 'Encounter', id: rows[0].id });
  const rest: Outcome[] = [];
  for (let i = 0; i < r.diagnoses.length; i++) rest.push(await put(w, 'diagnosisCodes', conditionResource(r, i, system, subj, enc)));
  for (const v of r.vitals) rest.push(await put(w, v.key, vitalResource(r, v, system, subj, enc)));
  // DocumentReference is served only once its kind is registered; until then the summary is not imported
  if (r.dischargeSummary && KINDS.has('DocumentReference')) rest.push(await put(w, 'dischargeSummary', summaryResource(r, system, subj, enc)));
  return combine(main, rest);
}

async function writeResult(w: RowWriter, r: ResultRow): Promise<Outcome> {
  const subj = await subject(w, r.patient);
  let enc: string | null = null;
  if (r.encounterSourceId) {
    const key = `${importSystem(w.inst.code, 'encounters')}|${r.encounterSourceId}`;
    const { rows } = await w.rc.q.query('SELECT id, resident_id FROM encounter WHERE institution_id = $1 AND source_id = $2', [w.inst.id, key]);
    if (!rows[0]) throw new ColumnFailure('encounterSourceId', new AppError('IMPORT_ENCOUNTER_UNKNOWN'));
    if (rows[0].resident_id !== w.placeholders.get(subj)!.id) {
      throw new ColumnFailure('encounterSourceId', new AppError('IMPORT_INVALID', { detail: { zh: '该就诊记录属于另一位居民', en: 'this encounter belongs to another resident' } }));
    }
    enc = `urn:uuid:${randomUUID()}`;
    w.placeholders.set(enc, { type: 'Encounter', id: rows[0].id });
  }
  return put(w, 'sourceId', resultResource(r, importSystem(w.inst.code, 'results'), subj, enc));
}

// ── mapping failures to columns ──

// FHIR element paths that name a column more precisely than the resource being written
const PATH_COLUMNS: [RegExp, string][] = [
  [/^Patient\.identifier/, 'idNumber'],
  [/^Patient\.name/, 'name'],
  [/^Patient\.gender/, 'sex'],
  [/^Patient\.birthDate/, 'birthDate'],
  [/^Patient\.telecom/, 'phone'],
  [/^Encounter\.period\.start/, 'startAt'],
  [/^Encounter\.period\.end/, 'endAt'],
  [/^Encounter\.(class|type)/, 'class'],
  [/^Encounter\.serviceType/, 'department'],
  [/^Observation\.effective/, 'resultAt'],
  [/^Observation\.referenceRange/, 'refLow'],
  [/^Observation\.code/, 'code'],
];

function failureOf(err: unknown, requestId: string | undefined): CellError & { internal: boolean } {
  const key0 = err instanceof ColumnFailure ? err.key : 'sourceId';
  const app = toAppError(err instanceof ColumnFailure ? err.inner : err);
  const key = (app.field && PATH_COLUMNS.find(([re]) => re.test(app.field!))?.[1]) || key0;
  const params = app.code === 'INTERNAL' ? { requestId: requestId ?? '' } : app.params;
  return { key, code: app.code, params, internal: app.code === 'INTERNAL' };
}

// ── the batch ──

export interface ImportInput {
  kind: ImportKind;
  file: Buffer;
  fileName: string | null;
  locale: Locale;
  base: string;
  /** Logs a failure without personal data: error type and code only. */
  logFailure(info: { row: number; type: string; code: string | undefined }): void;
  /** Feeds: report as this institution (CDC and district administrator only). */
  institutionId?: number | null;
}

function assertColumns(kind: ImportKind, sheet: Sheet) {
  const missing = COLUMNS[kind].filter((c) => c.required && !sheet.keys.includes(c.key)).map(headerText);
  if (missing.length) throw new AppError('IMPORT_MISSING_COLUMNS', { columns: missing.join(', ') });
}

async function recordingInstitution(ctx: AppContext, rc: Omit<repo.RequestContext, 'q'>): Promise<Inst> {
  return ctx.db.tx(async (q) => {
    const id = await repo.writeContext({ ...rc, q }).recordingInstitution(null, 'institution');
    return { id, code: await sql.institutionCode(q, id) };
  });
}

/** What a kind's importer gives back: the institution recorded, the outcomes, and each failed row with its problems. */
export interface RowsImported {
  institutionId: number;
  counts: Record<Outcome, number>;
  failures: { row: number; cells: Cell[]; errors: CellError[] }[];
}

/** A cell of a row by column key (null when the sheet lacks the column). */
export type CellOf = (cells: Cell[], key: string) => Cell;

/** Encounters and results: each row its own transaction through the FHIR repository. */
async function importRecordRows(ctx: AppContext, p: Principal, auditCtx: AuditContext, input: ImportInput, sheet: Sheet, cellOf: CellOf): Promise<RowsImported> {
  const { kind } = input;
  const rcBase = { keys: ctx.keys, principal: p, audit: auditCtx, base: input.base };
  const inst = await recordingInstitution(ctx, rcBase);
  const counts = { created: 0, updated: 0, unchanged: 0 };
  const failures: RowsImported['failures'] = [];
  const seen = new Map<string, number>();
  for (const { row, cells } of sheet.rows) {
    const get = (key: string): Cell => cellOf(cells, key);
    const checked = kind === 'encounters' ? checkEncounterRow(get) : checkResultRow(get);
    let rowErrors: CellError[] = checked.errors;
    const id = checked.row?.sourceId;
    if (id && seen.has(id)) rowErrors = [{ key: 'sourceId', code: 'IMPORT_DUPLICATE_ID', params: { row: seen.get(id)! } }];
    if (!rowErrors.length && checked.row) {
      seen.set(id!, row);
      try {
        const outcome = await withRetry(() => ctx.db.tx((q) => {
          const w: RowWriter = { rc: { ...rcBase, q }, inst, placeholders: new Map() };
          return kind === 'encounters' ? writeEncounter(w, checked.row as EncounterRow) : writeResult(w, checked.row as ResultRow);
        }));
        counts[outcome]++;
        continue;
      } catch (err) {
        const f = failureOf(err, auditCtx.requestId);
        if (f.internal) {
          const inner = err instanceof ColumnFailure ? err.inner : err;
          input.logFailure({ row, type: (inner as Error)?.name ?? typeof inner, code: (inner as { code?: string })?.code });
        }
        rowErrors = [f];
      }
    }
    failures.push({ row, cells, errors: rowErrors });
  }
  return { institutionId: inst.id, counts, failures };
}

export async function runImport(ctx: AppContext, p: Principal, auditCtx: AuditContext, input: ImportInput): Promise<ImportResult> {
  const { kind } = input;
  const sheet = await readSheet(kind, input.file);
  assertColumns(kind, sheet);
  if (sheet.rows.length === 0) throw new AppError('IMPORT_BAD_FILE', { detail: { zh: '没有数据行', en: 'no data rows' } });
  if (sheet.rows.length > MAX_ROWS) throw new AppError('IMPORT_TOO_MANY_ROWS', { max: MAX_ROWS });
  const index = new Map<string, number>();
  sheet.keys.forEach((k, i) => k && !index.has(k) && index.set(k, i));
  const columnName = (key: string) => (index.has(key) ? cellText(sheet.header[index.get(key)!]) : null) || headerText(COLUMNS[kind].find((c) => c.key === key) ?? { key, zh: key });
  const cellOf: CellOf = (cells, key) => (index.has(key) ? cells[index.get(key)!] ?? null : null);

  const done = kind === 'feeds'
    ? await importFeedSheet(ctx, p, auditCtx, { sheet, cellOf, institutionId: input.institutionId ?? null })
    : await importRecordRows(ctx, p, auditCtx, input, sheet, cellOf);
  const errors: StoredError[] = done.failures.flatMap((f) => f.errors.map((e) => ({ row: f.row, field: e.key, column: columnName(e.key), code: e.code, params: e.params })));
  const failedRows = done.failures.map((f) => ({ row: f.row, cells: f.cells }));
  const counts = done.counts;

  const importId = await ctx.db.tx(async (q) => {
    const id = await sql.insertBatch(q, {
      institutionId: done.institutionId, userId: p.userId, username: p.username, kind, format: sheet.format, fileName: input.fileName,
      total: sheet.rows.length, ...counts, failed: failedRows.length, errors, header: sheet.header,
      // the failed rows hold identity numbers and phones as typed: kept encrypted like every identifier
      failedRows: failedRows.length ? encryptField(ctx.keys, JSON.stringify(failedRows)) : null,
    });
    await audit(q, auditCtx, { action: 'create', resourceType: 'ImportBatch', resourceId: id });
    return id;
  });
  return { importId, kind, total: sheet.rows.length, ...counts, failed: failedRows.length, errors: errors.map((e) => render(e, input.locale)) };
}

function render(e: StoredError, locale: Locale): RowError {
  return { row: e.row, column: e.column, field: e.field, message: formatMessage(e.code, e.params, locale) };
}

// ── reading batches back ──

/** District administrators see every institution's imports; everyone else their own institution's. */
function visibleInstitution(p: Principal): number | null | undefined {
  if (hasRole(p, 'district_admin')) return null;
  return p.tokenInstitutionId ?? p.institutionId ?? undefined;
}

export function batchSummary(row: Json) {
  return {
    importId: Number(row.id), institutionId: Number(row.institution_id), institutionName: row.institution_name as string,
    username: (row.username as string | null) ?? null, kind: row.kind as ImportKind, format: row.format as 'csv' | 'xlsx',
    fileName: (row.file_name as string | null) ?? null, total: row.total as number, created: row.created as number, updated: row.updated as number,
    unchanged: row.unchanged as number, failed: row.failed as number, createdAt: new Date(row.created_at).toISOString(),
  };
}

export async function listImports(ctx: AppContext, p: Principal, page: number, pageSize: number) {
  const inst = visibleInstitution(p);
  if (inst === undefined) return { items: [], total: 0, page, pageSize };
  const { rows, total } = await sql.listBatches(ctx.db, inst, page, pageSize);
  return { items: rows.map(batchSummary), total, page, pageSize };
}

async function loadBatch(ctx: AppContext, p: Principal, id: number) {
  const row = await sql.getBatch(ctx.db, id);
  const inst = visibleInstitution(p);
  // another institution's batch is as unknown as a missing one: its existence is not revealed
  // the uploader sees a batch sent on behalf of another institution (the CDC keying in a school's return)
  if (!row || (inst !== null && Number(row.institution_id) !== inst && Number(row.user_id) !== p.userId)) throw new AppError('NOT_FOUND', { noun: 'importBatch' });
  return row;
}

export async function getImport(ctx: AppContext, p: Principal, id: number, locale: Locale) {
  const row = await loadBatch(ctx, p, id);
  return { ...batchSummary(row), errors: (row.errors as StoredError[]).map((e) => render(e, locale)) };
}

export async function errorReport(ctx: AppContext, p: Principal, auditCtx: AuditContext, id: number, format: 'csv' | 'xlsx', locale: Locale): Promise<{ body: Buffer; kind: ImportKind }> {
  const row = await loadBatch(ctx, p, id);
  const kind = row.kind as ImportKind;
  const failed: { row: number; cells: Cell[] }[] = row.failed_rows ? JSON.parse(decryptField(ctx.keys, row.failed_rows)) : [];
  const errors = row.errors as StoredError[];
  const header = row.header as Cell[];
  // the clerk's own columns come back; the report's columns of an earlier report are replaced, not repeated
  const reportKeys: string[] = REPORT_COLUMNS.map((c) => c.key);
  const keep = header.map((_, i) => i).filter((i) => !reportKeys.includes(keyOf(kind, header[i]) ?? ''));
  const sep = locale === 'en' ? '; ' : '；';
  const rows: ReportRow[] = failed.map((f) => {
    const own = errors.filter((e) => e.row === f.row);
    const errorCells = own.map((e) => keep.findIndex((i) => keyOf(kind, header[i]) === e.field)).filter((i) => i >= 0);
    return {
      row: f.row,
      cells: keep.map((i) => f.cells[i] ?? null),
      errorCells,
      columns: [...new Set(own.map((e) => e.column))].join(locale === 'en' ? ', ' : '、'),
      reasons: own.map((e) => `${e.column}${locale === 'en' ? ': ' : '：'}${formatMessage(e.code, e.params, locale)}`).join(sep),
    };
  });
  const keptHeader = keep.map((i) => header[i]);
  const body = format === 'csv' ? reportCsv(keptHeader, rows) : await reportXlsx(kind, keptHeader, rows);
  // the report gives back identity numbers as the clerk typed them: handing them out is recorded
  await audit(ctx.db, auditCtx, { action: 'read', resourceType: 'ImportBatch', resourceId: id });
  return { body, kind };
}
