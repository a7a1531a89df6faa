// One spreadsheet row checked and turned into typed values, before anything is written. Every problem names the
// column it is in and reads as a clerk's instruction in zh-CN and en; several problems of one row are all reported.
// Pure functions: no database, no HTTP.
import type { ErrorCode, Param } from '../../platform/errors.ts';
import { ID_PROBLEM_TEXT, parseIdNumber, validateIdNumber } from '../../platform/idcard.ts';
import { icd10Valid, loincValid } from '../../fhir/resources/observation.ts';
import { SYSTEM } from '../../fhir/datatypes.ts';
import { ENCOUNTER_CLASS_LABELS, RESULT_CATEGORY_LABELS, VITALS } from './columns.ts';
import { cellText, type Cell } from './sheet.ts';
import { districtDate } from '../../platform/local-date.ts';

export interface CellError {
  key: string;
  code: ErrorCode;
  params: Record<string, Param>;
}

export interface PatientCells {
  idNumber: string | null;
  name: string | null;
  sex: 'male' | 'female' | null;
  birthDate: string | null;
  phone: string | null;
}

export interface Diagnosis {
  system: string;
  code: string;
  display: string | null;
}

export interface EncounterRow {
  sourceId: string;
  patient: PatientCells;
  cls: string;
  /** FHIR dateTimes in China Standard Time */
  startAt: string;
  endAt: string | null;
  department: string | null;
  diagnoses: Diagnosis[];
  vitals: { key: string; value: number }[];
  dischargeSummary: string | null;
}

export interface ResultRow {
  sourceId: string;
  encounterSourceId: string | null;
  patient: PatientCells;
  category: string;
  system: string;
  code: string;
  display: string;
  valueNum: number | null;
  valueText: string | null;
  unit: string | null;
  refLow: number | null;
  refHigh: number | null;
  resultAt: string;
}

type Get = (key: string) => Cell;

const bi = (zh: string, en: string) => ({ detail: { zh, en } });

class Checker {
  readonly errors: CellError[] = [];
  private readonly get: Get;
  constructor(get: Get) {
    this.get = get;
  }
  fail(key: string, code: ErrorCode, params: Record<string, Param> = {}): null {
    this.errors.push({ key, code, params });
    return null;
  }
  invalid(key: string, zh: string, en: string): null {
    return this.fail(key, 'IMPORT_INVALID', bi(zh, en));
  }
  cell(key: string): Cell {
    return this.get(key);
  }
  text(key: string, max = 200, required = false): string | null {
    const v = cellText(this.get(key));
    if (!v) return required ? this.fail(key, 'IMPORT_REQUIRED') : null;
    if (v.length > max) return this.invalid(key, `不能超过 ${max} 个字`, `longer than ${max} characters`);
    return v;
  }
  number(key: string, range?: { min: number; max: number; unit: string }): number | null {
    const raw = this.get(key);
    if (raw === null || cellText(raw) === '') return null;
    const n = typeof raw === 'number' ? raw : /^[-+]?\d+(\.\d+)?$/.test(cellText(raw)) ? Number(cellText(raw)) : NaN;
    if (!Number.isFinite(n)) return this.invalid(key, '应为数字', 'must be a number');
    if (range && (n < range.min || n > range.max)) return this.invalid(key, `应在 ${range.min}–${range.max} ${range.unit} 之间`, `must be between ${range.min} and ${range.max} ${range.unit}`);
    return n;
  }
  date(key: string, required = false): string | null {
    const raw = this.get(key);
    const t = wallClock(raw);
    if (t === undefined) return required ? this.fail(key, 'IMPORT_REQUIRED') : null;
    if (t === null || t.time) return this.invalid(key, '应为日期 YYYY-MM-DD', 'must be a date, YYYY-MM-DD');
    if (t.date > today()) return this.invalid(key, '不能是将来的日期', 'must not be in the future');
    return t.date;
  }
  dateTime(key: string, required = false): string | null {
    const raw = this.get(key);
    const t = wallClock(raw);
    if (t === undefined) return required ? this.fail(key, 'IMPORT_REQUIRED') : null;
    if (t === null) return this.invalid(key, '应为时间 YYYY-MM-DD HH:mm', 'must be a time, YYYY-MM-DD HH:mm');
    const iso = `${t.date}T${t.time ?? '00:00:00'}${t.zone ?? '+08:00'}`;
    // a day's grace for clocks and time zones; anything later is a typing error
    if (new Date(iso).getTime() > Date.now() + 86_400_000) return this.invalid(key, '不能是将来的时间', 'must not be in the future');
    return iso;
  }
}

function today(): string {
  return districtDate();
}

function realDate(y: number, m: number, d: number): boolean {
  const t = new Date(Date.UTC(y, m - 1, d));
  return y >= 1880 && t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}

const pad = (n: number | string) => String(n).padStart(2, '0');

/**
 * A date or time as typed: `2024-03-05`, `2024/3/5 9:30`, `2024.03.05 09:30:00`, ISO 8601 with a zone, an Excel date
 * cell, or an Excel serial number. undefined = empty, null = not a date.
 */
export function wallClock(raw: Cell): { date: string; time: string | null; zone: string | null } | null | undefined {
  if (raw === null || (typeof raw === 'string' && raw.trim() === '')) return undefined;
  if (typeof raw === 'object') {
    const [d, t] = raw.date.split('T');
    return { date: d, time: t && t !== '00:00:00' ? t.slice(0, 8) : null, zone: null };
  }
  if (typeof raw === 'number') {
    // an Excel serial date (days since 1899-12-30) in a cell not formatted as a date
    if (raw < 1 || raw > 2958465) return null;
    const ms = Math.round((raw - 25569) * 86_400_000);
    const iso = new Date(ms).toISOString();
    return { date: iso.slice(0, 10), time: iso.slice(11, 19) === '00:00:00' ? null : iso.slice(11, 19), zone: null };
  }
  const s = String(raw).trim();
  const m = /^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?\s*(Z|[+-]\d{2}:\d{2})?$/.exec(s);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (!realDate(y, mo, d)) return null;
  if (m[4] !== undefined && (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6] ?? 0) > 59)) return null;
  if (m[7] && m[4] === undefined) return null;
  return { date: `${m[1]}-${pad(mo)}-${pad(d)}`, time: m[4] !== undefined ? `${pad(m[4])}:${m[5]}:${pad(m[6] ?? 0)}` : null, zone: m[7] ?? null };
}

const SEX: Record<string, 'male' | 'female'> = { '男': 'male', '女': 'female', male: 'male', female: 'female', m: 'male', f: 'female', '1': 'male', '2': 'female' }; // 1/2 per GB/T 2261.1

function patientCells(c: Checker): PatientCells {
  const name = c.text('name', 50);
  const sexRaw = c.text('sex', 10);
  let sex = sexRaw ? SEX[sexRaw.toLowerCase()] ?? null : null;
  if (sexRaw && !sex) c.invalid('sex', '应为“男”或“女”', 'must be 男 (male) or 女 (female)');
  let birthDate = c.date('birthDate');
  const idRaw = c.text('idNumber', 30);
  let idNumber: string | null = null;
  if (idRaw) {
    const parsed = parseIdNumber(idRaw);
    if (!parsed.ok) c.fail('idNumber', 'ID_NUMBER_INVALID', { detail: ID_PROBLEM_TEXT[parsed.problem] });
    else {
      const checked = validateIdNumber(idRaw, { sex: sex ?? undefined, birthDate: birthDate ?? undefined });
      if (!checked.ok) c.fail('idNumber', 'ID_NUMBER_INVALID', { detail: ID_PROBLEM_TEXT[checked.problem] });
      idNumber = parsed.id.value;
      // the number carries the birth date and sex (GB 11643): a clerk need not type them twice
      sex ??= parsed.id.sex;
      birthDate ??= parsed.id.birthDate;
    }
  }
  const phoneRaw = c.text('phone', 30);
  let phone: string | null = null;
  if (phoneRaw) {
    const digits = phoneRaw.replace(/[\s-]/g, '').replace(/^\+86/, '');
    if (/^1\d{10}$|^0\d{9,11}$/.test(digits)) phone = digits;
    else c.invalid('phone', '应为 11 位手机号或带区号的固定电话', 'must be a mobile number (11 digits) or a landline with area code');
  }
  if (!idRaw && !(name && sexRaw && c.cell('birthDate') !== null && cellText(c.cell('birthDate')))) c.fail('idNumber', 'IMPORT_PATIENT_IDENTITY');
  return { idNumber, name, sex, birthDate, phone };
}

function sourceId(c: Checker, key: string, required: boolean): string | null {
  const v = c.text(key, 100, required);
  if (v && /[|#]/.test(v)) return c.invalid(key, '不能包含“|”或“#”', 'must not contain “|” or “#”');
  return v;
}

function lookupLabel<T extends { zh: string; aliases: string[] }>(table: Record<string, T>, raw: string): string | null {
  const v = raw.trim().toLowerCase();
  for (const [key, def] of Object.entries(table)) {
    if (key === v || def.zh === raw.trim() || def.aliases.some((a) => a.toLowerCase() === v)) return key;
  }
  return null;
}

const LIST_SEPARATOR = /[;；|、\n]+/;

function diagnoses(c: Checker): Diagnosis[] {
  const codes = (c.text('diagnosisCodes', 500) ?? '').split(LIST_SEPARATOR).map((s) => s.trim()).filter(Boolean);
  const names = (c.text('diagnosisNames', 1000) ?? '').split(LIST_SEPARATOR).map((s) => s.trim()).filter(Boolean);
  if (names.length > codes.length) c.invalid(codes.length ? 'diagnosisNames' : 'diagnosisCodes', '诊断名称比诊断编码多，请为每个诊断填写 ICD-10 编码', 'more diagnosis names than codes: give each diagnosis its ICD-10 code');
  const out: Diagnosis[] = [];
  const bad: string[] = [];
  codes.forEach((raw, i) => {
    const code = raw.toUpperCase();
    if (!icd10Valid(code)) bad.push(raw);
    // the Chinese national clinical edition extends ICD-10 with `x` subdivisions (e.g. I10.x00)
    else out.push({ system: /x\d{3}$/.test(code) ? SYSTEM.icd10cn : SYSTEM.icd10, code: code.replace(/X(\d{3})$/, 'x$1'), display: names[i] ?? null });
  });
  if (bad.length) c.invalid('diagnosisCodes', `不是有效的 ICD-10 编码：${bad.join('、')}`, `not ICD-10 codes: ${bad.join(', ')}`);
  return out;
}

export function checkEncounterRow(get: Get): { row: EncounterRow | null; errors: CellError[] } {
  const c = new Checker(get);
  const id = sourceId(c, 'sourceId', true);
  const patient = patientCells(c);
  const clsRaw = c.text('class', 20, true);
  const cls = clsRaw ? lookupLabel(ENCOUNTER_CLASS_LABELS, clsRaw) : null;
  if (clsRaw && !cls) c.invalid('class', `应为：${Object.values(ENCOUNTER_CLASS_LABELS).map((v) => v.zh).join('、')}`, `must be one of ${Object.keys(ENCOUNTER_CLASS_LABELS).join(', ')}`);
  const startAt = c.dateTime('startAt', true);
  const endAt = c.dateTime('endAt');
  if (startAt && endAt && new Date(endAt) < new Date(startAt)) c.invalid('endAt', '结束时间早于开始时间', 'the end is before the start');
  const department = c.text('department', 100);
  const dx = diagnoses(c);
  const vitals: EncounterRow['vitals'] = [];
  for (const v of VITALS) {
    const n = c.number(v.key, { min: v.min, max: v.max, unit: v.unit });
    if (n !== null) vitals.push({ key: v.key, value: n });
  }
  const dischargeSummary = c.text('dischargeSummary', 20000);
  if (c.errors.length) return { row: null, errors: c.errors };
  return { row: { sourceId: id!, patient, cls: cls!, startAt: startAt!, endAt, department, diagnoses: dx, vitals, dischargeSummary }, errors: [] };
}

export function checkResultRow(get: Get): { row: ResultRow | null; errors: CellError[] } {
  const c = new Checker(get);
  const id = sourceId(c, 'sourceId', true);
  const encounterSourceId = sourceId(c, 'encounterSourceId', false);
  const patient = patientCells(c);
  const catRaw = c.text('category', 20, true);
  const cat = catRaw ? lookupLabel(RESULT_CATEGORY_LABELS, catRaw) : null;
  if (catRaw && !cat) c.invalid('category', '应为：检验、检查、影像', 'must be lab, exam or imaging');
  const sysRaw = (c.text('codeSystem', 100) ?? '').toLowerCase();
  const loinc = sysRaw === 'loinc' || sysRaw === SYSTEM.loinc;
  if (sysRaw && !loinc && !['local', '本地', '本院', '院内'].includes(sysRaw)) c.invalid('codeSystem', '应为 LOINC 或 本地', 'must be LOINC or local');
  const code = c.text('code', 100, true);
  if (code && loinc && !loincValid(code)) c.invalid('code', '不是有效的 LOINC 编码（校验位不符）', 'not a LOINC code (the check digit does not match)');
  if (code && /\s{2,}|^\s|\s$/.test(code)) c.invalid('code', '编码中不能有多余空格', 'a code has no extra spaces');
  const display = c.text('itemName', 200, true);
  const valueCell = c.cell('value');
  const valueRaw = c.text('value', 4000, true);
  let valueNum: number | null = null;
  let valueText: string | null = null;
  if (valueRaw !== null) {
    if (typeof valueCell === 'number') valueNum = valueCell;
    else if (/^[-+]?\d+(\.\d+)?$/.test(valueRaw)) valueNum = Number(valueRaw);
    else valueText = valueRaw;
  }
  const unit = c.text('unit', 40);
  const refLow = c.number('refLow');
  const refHigh = c.number('refHigh');
  if (refLow !== null && refHigh !== null && refLow > refHigh) c.invalid('refHigh', '参考上限小于下限', 'the upper limit is below the lower limit');
  const resultAt = c.dateTime('resultAt', true);
  if (c.errors.length) return { row: null, errors: c.errors };
  return {
    row: { sourceId: id!, encounterSourceId, patient, category: RESULT_CATEGORY_LABELS[cat!].fhir, system: loinc ? SYSTEM.loinc : SYSTEM.local, code: code!, display: display!, valueNum, valueText, unit, refLow, refHigh, resultAt: resultAt! },
    errors: [],
  };
}
