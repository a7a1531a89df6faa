// FHIR search (https://hl7.org/fhir/R4/search.html) compiled to SQL: one builder per parameter type, every value a
// $n parameter, identifiers only from the kinds' own definitions. Repeated parameters AND, comma-separated values OR.
import { AppError } from '../platform/errors.ts';
import type { Params } from '../platform/sql.ts';
import type { SearchParam } from './types.ts';

const CST_OFFSET_MS = 8 * 3600_000;

export interface Range {
  lo: Date;
  hi: Date;
}

/** The interval a FHIR date/dateTime value stands for, at its own precision (2026-11 is the whole month). */
export function dateRange(value: string, param: string): Range {
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/.exec(value);
  if (!m) throw new AppError('FHIR_INVALID', { path: param, detail: `"${value.slice(0, 40)}" is not a date` }, param);
  const [, y, mo, d, h, mi, s, frac, tz] = m;
  if (mo && (+mo < 1 || +mo > 12)) throw new AppError('FHIR_INVALID', { path: param, detail: `"${value}" is not a date` }, param);
  if (h !== undefined) {
    const base = `${y}-${mo}-${d}T${h}:${mi}:${s ?? '00'}${frac ? '.' + frac : ''}${tz ?? '+08:00'}`;
    const lo = new Date(base);
    if (Number.isNaN(lo.getTime())) throw new AppError('FHIR_INVALID', { path: param, detail: `"${value}" is not a date` }, param);
    const step = s === undefined ? 60_000 : frac ? 1 : 1000;
    return { lo, hi: new Date(lo.getTime() + step) };
  }
  const start = Date.UTC(+y, mo ? +mo - 1 : 0, d ? +d : 1) - CST_OFFSET_MS;
  const end = d ? Date.UTC(+y, +mo - 1, +d + 1) : mo ? Date.UTC(+y, +mo, 1) : Date.UTC(+y + 1, 0, 1);
  const lo = new Date(start);
  if (d && new Date(start + CST_OFFSET_MS).getUTCDate() !== +d) throw new AppError('FHIR_INVALID', { path: param, detail: `"${value}" is not a date` }, param);
  return { lo, hi: new Date(end - CST_OFFSET_MS) };
}

const PREFIXES = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'] as const;
type Prefix = (typeof PREFIXES)[number];

function splitPrefix(v: string): [Prefix, string] {
  const p = v.slice(0, 2) as Prefix;
  if (PREFIXES.includes(p) && /^[a-z]{2}[\d-]/.test(v)) return [p, v.slice(2)];
  return ['eq', v];
}

function cstDate(d: Date): string {
  return new Date(d.getTime() + CST_OFFSET_MS).toISOString().slice(0, 10);
}

/** A date parameter over an instant column (`timestamptz`) or a calendar date column (`date`). */
export function dateParam(column: string, kind: 'instant' | 'date' = 'instant', description?: string): SearchParam {
  return {
    type: 'date',
    description,
    build(values, _mod, params) {
      return or(values.map((raw) => {
        const [prefix, v] = splitPrefix(raw);
        const r = dateRange(v, 'date');
        // every placeholder added must be used: parameters are added only by the branch that needs them
        if (kind === 'date') {
          const lo = () => params.add(cstDate(r.lo)) + '::date';
          const hi = () => params.add(cstDate(new Date(r.hi.getTime() - 1))) + '::date'; // the last day the range touches
          switch (prefix) {
            case 'eq': return `(${column} >= ${lo()} AND ${column} <= ${hi()})`;
            case 'ne': return `NOT (${column} >= ${lo()} AND ${column} <= ${hi()})`;
            case 'gt': case 'sa': return `${column} > ${hi()}`;
            case 'lt': case 'eb': return `${column} < ${lo()}`;
            case 'ge': return `${column} >= ${lo()}`;
            case 'le': return `${column} <= ${hi()}`;
            case 'ap': return `(${column} >= ${lo()} - 30 AND ${column} <= ${hi()} + 30)`;
          }
        }
        const lo = () => params.add(r.lo) + '::timestamptz';
        const hi = () => params.add(r.hi) + '::timestamptz';
        switch (prefix) {
          case 'eq': return `(${column} >= ${lo()} AND ${column} < ${hi()})`;
          case 'ne': return `NOT (${column} >= ${lo()} AND ${column} < ${hi()})`;
          case 'gt': case 'sa': return `${column} >= ${hi()}`;
          case 'lt': case 'eb': return `${column} < ${lo()}`;
          case 'ge': return `${column} >= ${lo()}`;
          case 'le': return `${column} < ${hi()}`;
          case 'ap': return `(${column} >= ${lo()} - interval '1 day' AND ${column} < ${hi()} + interval '1 day')`;
        }
      }));
    },
  };
}

/** A token over a code column and, optionally, a system column (or a fixed system for every row). */
export function tokenParam(codeColumn: string, systemColumn: string | null = null, fixedSystem: string | null = null, description?: string): SearchParam {
  return {
    type: 'token',
    description,
    build(values, mod, params) {
      const conds = values.map((v) => {
        const bar = v.indexOf('|');
        if (bar < 0) return `${codeColumn} = ${params.add(v)}`;
        const system = v.slice(0, bar);
        const codeValue = v.slice(bar + 1);
        if (!systemColumn && fixedSystem !== null && system && system !== fixedSystem) return 'FALSE';
        const parts: string[] = [];
        if (codeValue) parts.push(`${codeColumn} = ${params.add(codeValue)}`);
        if (systemColumn) parts.push(system ? `${systemColumn} = ${params.add(system)}` : `${systemColumn} IS NULL`);
        return parts.length ? `(${parts.join(' AND ')})` : 'TRUE';
      });
      const sql = or(conds);
      return mod === 'not' ? `NOT ${sql}` : sql;
    },
  };
}

/** Case- and accent-insensitive prefix by default (`:exact`, `:contains` as in the spec). */
export function stringParam(columns: string[], description?: string): SearchParam {
  return {
    type: 'string',
    description,
    build(values, mod, params) {
      return or(values.flatMap((v) => columns.map((c) => {
        if (mod === 'exact') return `${c} = ${params.add(v)}`;
        const escaped = v.replace(/[\\%_]/g, (x) => '\\' + x);
        if (mod === 'contains') return `${c} ILIKE ${params.add('%' + escaped + '%')}`;
        return `${c} ILIKE ${params.add(escaped + '%')}`;
      })));
    },
  };
}

/** A reference to `targets` stored as a local id column: `Type/123`, `123` or an absolute URL ending in them. */
export function referenceParam(column: string, targets: string[], description?: string): SearchParam {
  return {
    type: 'reference',
    description,
    build(values, mod, params) {
      const ids: number[] = [];
      for (const v of values) {
        const m = /(?:^|\/)(?:([A-Z][A-Za-z]+)\/)?([^/]+)$/.exec(v);
        const type = mod && /^[A-Z]/.test(mod) ? mod : m?.[1];
        if (!m || (type && !targets.includes(type))) throw new AppError('FHIR_INVALID', { path: 'reference', detail: `"${v.slice(0, 60)}" must refer to ${targets.join(' or ')}` }, 'reference');
        if (!/^\d{1,15}$/.test(m[2])) return 'FALSE';
        ids.push(Number(m[2]));
      }
      return ids.length === 1 ? `${column} = ${params.add(ids[0])}` : `${column} = ANY(${params.add(ids)}::bigint[])`;
    },
  };
}

export function numberParam(column: string, description?: string): SearchParam {
  return {
    type: 'number',
    description,
    build(values, _mod, params) {
      return or(values.map((raw) => {
        const [prefix, v] = splitPrefix(raw);
        const n = Number(v);
        if (!Number.isFinite(n)) throw new AppError('FHIR_INVALID', { path: 'number', detail: `"${v}" is not a number` }, 'number');
        const p = params.add(n);
        const ops: Record<Prefix, string> = { eq: '=', ne: '<>', gt: '>', lt: '<', ge: '>=', le: '<=', sa: '>', eb: '<', ap: '=' };
        return `${column} ${ops[prefix]} ${p}`;
      }));
    },
  };
}

/** A parameter answered by a custom predicate (e.g. identifiers kept in another table). */
export function specialParam(type: SearchParam['type'], build: SearchParam['build'], description?: string): SearchParam {
  return { type, build, description };
}

export function or(conds: string[]): string {
  return conds.length === 1 ? conds[0] : `(${conds.join(' OR ')})`;
}

/** Splits a parameter value on unescaped commas (`\,` is a literal comma). */
export function splitValues(value: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === '\\' && i + 1 < value.length) {
      cur += value[++i];
    } else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.filter((v) => v.length > 0);
}

export const COMMON_PARAMS = {
  _id: tokenParam('t.id::text', null, null, 'logical id'),
  _lastUpdated: dateParam('t.updated_at', 'instant', 'when the resource last changed'),
} satisfies Record<string, SearchParam>;

/** Parameters that control the result rather than filter it. */
export const CONTROL_PARAMS = new Set(['_count', '_offset', '_sort', '_include', '_revinclude', '_total', '_summary', '_format', '_elements', '_pretty', 'lang']);

export function compileSearch(
  defs: Record<string, SearchParam>,
  query: Record<string, string | string[]>,
  params: Params,
  ctx: Parameters<SearchParam['build']>[3],
  lenient = false,
): string[] {
  const where: string[] = [];
  for (const [rawKey, rawValue] of Object.entries(query)) {
    if (CONTROL_PARAMS.has(rawKey)) continue;
    const [name, modifier = null] = rawKey.split(':', 2) as [string, string | null];
    const def = (COMMON_PARAMS as Record<string, SearchParam>)[name] ?? defs[name];
    if (!def) {
      if (lenient) continue;
      throw new AppError('FHIR_UNKNOWN_PARAMETER', { param: rawKey.slice(0, 60) }, rawKey.slice(0, 60));
    }
    for (const value of Array.isArray(rawValue) ? rawValue : [rawValue]) {
      if (modifier === 'missing') {
        // only meaningful for parameters over a single column; others are refused above by their builders
        throw new AppError('FHIR_UNSUPPORTED', { detail: ':missing' }, rawKey);
      }
      const values = splitValues(String(value));
      if (values.length === 0) continue;
      where.push(def.build(values, modifier, params, ctx));
    }
  }
  return where;
}
