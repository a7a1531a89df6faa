// FHIR R4 primitive and complex datatypes: checking what arrives (with the element's path in every error) and
// rendering what leaves. Rules follow the R4 datatypes page (https://hl7.org/fhir/R4/datatypes.html).
import { AppError } from '../platform/errors.ts';

export type Json = Record<string, any>;

/** Where CareGrid's own identifiers and code systems live. Documented in README. */
export const SYSTEM = {
  idCard: 'https://caregrid.dev/fhir/sid/cn-resident-id',
  institution: 'https://caregrid.dev/fhir/sid/institution',
  practitioner: 'https://caregrid.dev/fhir/sid/practitioner',
  team: 'https://caregrid.dev/fhir/sid/team',
  region: 'https://caregrid.dev/fhir/sid/region',
  icd10: 'http://hl7.org/fhir/sid/icd-10',
  icd10cn: 'https://caregrid.dev/fhir/CodeSystem/icd-10-cn',
  loinc: 'http://loinc.org',
  ucum: 'http://unitsofmeasure.org',
  local: 'https://caregrid.dev/fhir/CodeSystem/local',
  encounterClass: 'https://caregrid.dev/fhir/CodeSystem/encounter-class',
  observationCategory: 'http://terminology.hl7.org/CodeSystem/observation-category',
  careGridCategory: 'https://caregrid.dev/fhir/CodeSystem/observation-category',
  documentType: 'https://caregrid.dev/fhir/CodeSystem/document-type',
  institutionType: 'https://caregrid.dev/fhir/CodeSystem/institution-type',
  profession: 'https://caregrid.dev/fhir/CodeSystem/profession',
  v3ActCode: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
  regionLevel: 'https://caregrid.dev/fhir/CodeSystem/region-level',
  teamKind: 'https://caregrid.dev/fhir/CodeSystem/team-kind',
  teamRole: 'https://caregrid.dev/fhir/CodeSystem/team-role',
  taskType: 'https://caregrid.dev/fhir/CodeSystem/task-type',
  diagnosticService: 'http://terminology.hl7.org/CodeSystem/v2-0074',
  snomed: 'http://snomed.info/sct',
  locationPhysicalType: 'http://terminology.hl7.org/CodeSystem/location-physical-type',
} as const;

/** CareGrid's extensions (documented in README with the code systems above). */
export const EXT = {
  region: 'https://caregrid.dev/fhir/StructureDefinition/region',
  community: 'https://caregrid.dev/fhir/StructureDefinition/community',
  coversGrid: 'https://caregrid.dev/fhir/StructureDefinition/covers-grid',
  population: 'https://caregrid.dev/fhir/StructureDefinition/population',
  reservedFor: 'https://caregrid.dev/fhir/StructureDefinition/reserved-for',
  organization: 'https://caregrid.dev/fhir/StructureDefinition/organization',
} as const;

export function invalid(path: string, detail: string): AppError {
  return new AppError('FHIR_INVALID', { path, detail }, path);
}

export function required<T>(value: T | undefined | null, path: string): T {
  if (value === undefined || value === null || value === '') throw new AppError('FHIR_REQUIRED', { path }, path);
  return value;
}

export function str(value: unknown, path: string, max = 4000): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw invalid(path, 'must be a string');
  if (value.length > max) throw invalid(path, `longer than ${max} characters`);
  return value;
}

export function code<T extends string>(value: unknown, allowed: readonly T[], path: string): T | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalid(path, `"${String(value).slice(0, 40)}" is not one of ${allowed.join(', ')}`);
  }
  return value as T;
}

const DATE_RE = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/;
const DATETIME_RE = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?)?)?$/;

function realDate(y: number, m: number, d: number) {
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}

/** A FHIR `date` (YYYY, YYYY-MM or YYYY-MM-DD) that exists on the calendar. */
export function date(value: unknown, path: string): string | null {
  if (value === undefined || value === null) return null;
  const m = typeof value === 'string' ? DATE_RE.exec(value) : null;
  if (!m || (m[2] && (+m[2] < 1 || +m[2] > 12)) || (m[3] && !realDate(+m[1], +m[2], +m[3]))) throw invalid(path, `"${String(value).slice(0, 30)}" is not a valid date (YYYY-MM-DD)`);
  return value as string;
}

/** A FHIR `dateTime` turned into an instant; a partial date means its first moment in China Standard Time. */
export function dateTime(value: unknown, path: string): Date | null {
  if (value === undefined || value === null) return null;
  const s = typeof value === 'string' ? value : '';
  const m = DATETIME_RE.exec(s);
  if (!m || (m[2] && (+m[2] < 1 || +m[2] > 12)) || (m[3] && !realDate(+m[1], +m[2], +m[3])) || (m[4] && (+m[4] > 23 || +m[5] > 59 || +(m[6] ?? 0) > 59))) {
    throw invalid(path, `"${s.slice(0, 40)}" is not a valid dateTime`);
  }
  if (m[4] && !m[8]) throw invalid(path, 'a time needs a time zone (e.g. +08:00)');
  const iso = m[4] ? s : `${m[1]}-${m[2] ?? '01'}-${m[3] ?? '01'}T00:00:00+08:00`;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) throw invalid(path, `"${s.slice(0, 40)}" is not a valid dateTime`);
  return d;
}

export function num(value: unknown, path: string): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(path, 'must be a number');
  return value;
}

export function bool(value: unknown, path: string): boolean | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'boolean') throw invalid(path, 'must be true or false');
  return value;
}

export function array(value: unknown, path: string): any[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid(path, 'must be an array');
  return value;
}

export function object(value: unknown, path: string): Json | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid(path, 'must be an object');
  return value as Json;
}

export interface Coded {
  system: string | null;
  code: string;
  display: string | null;
}

/** The first coding of a CodeableConcept (the one CareGrid indexes); `text` alone is a local code. */
export function codeable(value: unknown, path: string, opts: { required?: boolean } = {}): Coded | null {
  const cc = object(value, path);
  if (!cc) {
    if (opts.required) throw new AppError('FHIR_REQUIRED', { path }, path);
    return null;
  }
  const codings = array(cc.coding, `${path}.coding`);
  for (let i = 0; i < codings.length; i++) {
    const c = object(codings[i], `${path}.coding[${i}]`)!;
    const system = str(c.system, `${path}.coding[${i}].system`, 300);
    const cd = str(c.code, `${path}.coding[${i}].code`, 100);
    if (cd !== null) {
      if (/\s{2,}|^\s|\s$/.test(cd) || cd === '') throw invalid(`${path}.coding[${i}].code`, 'a code has no leading, trailing or double spaces');
      return { system, code: cd, display: str(c.display, `${path}.coding[${i}].display`, 500) ?? str(cc.text, `${path}.text`, 500) };
    }
  }
  const text = str(cc.text, `${path}.text`, 500);
  if (text) return { system: null, code: text, display: text };
  if (opts.required) throw new AppError('FHIR_REQUIRED', { path: `${path}.coding` }, `${path}.coding`);
  return null;
}

/** Renders a stored code back as a CodeableConcept. */
export function concept(system: string | null, code: string | null, display?: string | null): Json | undefined {
  if (!code) return undefined;
  const coding: Json = {};
  if (system) coding.system = system;
  coding.code = code;
  if (display) coding.display = display;
  return { coding: [coding], ...(display ? { text: display } : {}) };
}

/** `YYYY-MM-DDThh:mm:ss+08:00`: instants are shown in the district's time zone. */
export function instant(value: Date | string | null | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) return undefined;
  const local = new Date(d.getTime() + 8 * 3600_000).toISOString();
  const ms = local.slice(19, 23) === '.000' ? '' : local.slice(19, 23);
  return `${local.slice(0, 19)}${ms}+08:00`;
}

export function toNumber(v: unknown): number | undefined {
  if (v === null || v === undefined) return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** Removes undefined members so rendered resources carry no empty elements (FHIR forbids them). */
export function clean<T extends Json>(o: T): T {
  for (const k of Object.keys(o)) {
    const v = o[k];
    if (v === undefined || v === null || (Array.isArray(v) && v.length === 0)) delete o[k];
  }
  return o;
}

export interface ParsedReference {
  type: string;
  id?: number;
  /** `urn:uuid:…` resolved later within a transaction, or a conditional `Type?param=value`. */
  placeholder?: string;
  conditional?: string;
}

/** `Type/123`, an absolute URL ending in `Type/123`, `urn:uuid:…`, or a conditional reference `Type?identifier=…`. */
export function parseReference(value: unknown, path: string, allowed: readonly string[]): ParsedReference | null {
  const ref = object(value, path);
  if (!ref) return null;
  const r = str(ref.reference, `${path}.reference`, 500);
  if (!r) {
    if (ref.identifier) return { type: str(ref.type, `${path}.type`) ?? allowed[0], conditional: `identifier=${encodeURIComponent(`${ref.identifier.system ?? ''}|${ref.identifier.value ?? ''}`)}` };
    throw invalid(`${path}.reference`, 'a reference needs `reference` or `identifier`');
  }
  if (r.startsWith('urn:uuid:') || r.startsWith('urn:oid:')) return { type: str(ref.type, `${path}.type`) ?? '', placeholder: r };
  const cond = /^([A-Z][A-Za-z]+)\?(.+)$/.exec(r);
  if (cond) {
    if (!allowed.includes(cond[1])) throw invalid(`${path}.reference`, `must refer to ${allowed.join(' or ')}`);
    return { type: cond[1], conditional: cond[2] };
  }
  const m = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/\d+)?$/.exec(r);
  if (!m) throw invalid(`${path}.reference`, `"${r.slice(0, 60)}" is not a reference`);
  if (!allowed.includes(m[1])) throw invalid(`${path}.reference`, `must refer to ${allowed.join(' or ')}`);
  if (!/^\d{1,15}$/.test(m[2])) throw new AppError('FHIR_BAD_REFERENCE', { path: `${path}.reference`, ref: `${m[1]}/${m[2]}` }, `${path}.reference`);
  return { type: m[1], id: Number(m[2]) };
}

export function ref(type: string, id: number | string | null | undefined, display?: string | null): Json | undefined {
  if (id === null || id === undefined) return undefined;
  return display ? { reference: `${type}/${id}`, display } : { reference: `${type}/${id}` };
}

/** A sender's identifier kept as `system|value` (the idempotency key of every record). */
export function identifierKey(value: unknown, path: string): string | null {
  const ids = array(value, path);
  if (ids.length === 0) return null;
  const first = object(ids[0], `${path}[0]`)!;
  const v = str(first.value, `${path}[0].value`, 200);
  if (!v) throw new AppError('FHIR_REQUIRED', { path: `${path}[0].value` }, `${path}[0].value`);
  const s = str(first.system, `${path}[0].system`, 300) ?? '';
  if (s.includes('|')) throw invalid(`${path}[0].system`, 'must not contain "|"');
  return `${s}|${v}`;
}

export function identifierFromKey(key: string | null | undefined): Json[] | undefined {
  if (!key) return undefined;
  const i = key.indexOf('|');
  const system = key.slice(0, i);
  const value = key.slice(i + 1);
  return [system ? { system, value } : { value }];
}

/** Elements of `resource` not in `modelled`: kept verbatim so a FHIR round trip loses nothing CareGrid does not model. */
export function extraOf(resource: Json, modelled: readonly string[]): Json | null {
  const out: Json = {};
  for (const [k, v] of Object.entries(resource)) {
    if (k === 'resourceType' || k === 'id' || k === 'meta' || modelled.includes(k)) continue;
    if (k === 'text' || k === 'contained') continue; // narrative is generated; contained resources are not supported
    out[k] = v;
  }
  return Object.keys(out).length ? out : null;
}

/** The `extension` entries of `resource` with `url`, each with its element path for errors. */
export function extensionsOf(resource: Json, url: string, path: string): { ext: Json; path: string }[] {
  return array(resource.extension, `${path}.extension`)
    .map((e, i) => ({ ext: object(e, `${path}.extension[${i}]`)!, path: `${path}.extension[${i}]` }))
    .filter((e) => e.ext.url === url);
}

/** The value of the identifier with `system` (CareGrid's own codes), checked against `pattern`. */
export function identifierValue(resource: Json, system: string, path: string, pattern: RegExp): string | null {
  const ids = array(resource.identifier, `${path}.identifier`);
  for (let i = 0; i < ids.length; i++) {
    const idf = object(ids[i], `${path}.identifier[${i}]`)!;
    if (str(idf.system, `${path}.identifier[${i}].system`, 300) !== system) continue;
    const v = required(str(idf.value, `${path}.identifier[${i}].value`, 100), `${path}.identifier[${i}].value`);
    if (!pattern.test(v)) throw invalid(`${path}.identifier[${i}].value`, `"${v.slice(0, 40)}" does not match ${pattern.source}`);
    return v;
  }
  return null;
}

/** The first coding of `value` in `system`, its code checked against `allowed`. */
export function codeIn<T extends string>(value: unknown, system: string, allowed: readonly T[], path: string): T | null {
  const cc = object(value, path);
  if (!cc) return null;
  const codings = array(cc.coding, `${path}.coding`);
  for (let i = 0; i < codings.length; i++) {
    const c = object(codings[i], `${path}.coding[${i}]`)!;
    if (c.system === system) return code(c.code, allowed, `${path}.coding[${i}].code`);
  }
  return null;
}

/** A Chinese name as a HumanName: written family name first without a space (GB/T 2261 naming practice). */
export function humanName(name: string): Json {
  return clean({ use: 'official', text: name, family: name.slice(0, 1), given: name.length > 1 ? [name.slice(1)] : undefined });
}

/** The text of the first HumanName: `text`, or family then given names. */
export function nameText(value: unknown, path: string): string | null {
  const names = array(value, path);
  if (!names.length) return null;
  const n0 = object(names[0], `${path}[0]`)!;
  const given = array(n0.given, `${path}[0].given`).map((g, i) => str(g, `${path}[0].given[${i}]`, 50) ?? '');
  const family = str(n0.family, `${path}[0].family`, 50);
  return str(n0.text, `${path}[0].text`, 100) ?? (family || given.length ? `${family ?? ''}${given.join('')}` : null);
}
