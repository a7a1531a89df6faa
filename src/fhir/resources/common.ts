// Pieces shared by the table-backed clinical resources: meta, the sender's identifier, subject/encounter references
// and the search parameters every person-centred resource has.
import type { Row } from '../../db/engine.ts';
import { AppError } from '../../platform/errors.ts';
import { SYSTEM, identifierFromKey, instant, type Json, type ParsedReference } from '../datatypes.ts';
import { referenceParam, specialParam, or } from '../search.ts';
import type { IncludeDef, SearchParam, WriteContext } from '../types.ts';

export const CLINICAL_WRITERS = ['district_admin', 'institution_admin', 'family_doctor', 'nurse', 'specialist', 'referral_desk', 'cdc_epidemiologist', 'ems_dispatcher'] as const;

export function meta(row: Row): Json {
  return { versionId: String(row.version), lastUpdated: instant(row.updated_at) };
}

export function head(type: string, row: Row): Json {
  return { resourceType: type, id: String(row.id), meta: meta(row), identifier: identifierFromKey(row.source_id) };
}

/** `identifier=system|value` over the sender's id kept as `system|value` in source_id. */
export const identifierParam: SearchParam = specialParam('token', (values, _mod, params) => or(values.map((v) => {
  if (v.includes('|')) {
    const [system, value] = [v.slice(0, v.indexOf('|')), v.slice(v.indexOf('|') + 1)];
    if (!value) return `t.source_id LIKE ${params.add(system.replace(/[\\%_]/g, (x) => '\\' + x) + '|%')}`;
    if (!system) return `t.source_id LIKE ${params.add('%|' + value.replace(/[\\%_]/g, (x) => '\\' + x))}`;
    return `t.source_id = ${params.add(`${system}|${value}`)}`;
  }
  return `t.source_id LIKE ${params.add('%|' + v.replace(/[\\%_]/g, (x) => '\\' + x))}`;
})), 'the sending system’s identifier (system|value)');

/** `_include` of the resident a person-centred resource is about, under both FHIR names (subject, patient). */
export function personIncludes(type: string): Record<string, IncludeDef> {
  return { [`${type}:subject`]: { target: 'Patient', column: 'resident_id' }, [`${type}:patient`]: { target: 'Patient', column: 'resident_id' } };
}

export function personParams(column = 't.resident_id'): Record<string, SearchParam> {
  return {
    patient: referenceParam(column, ['Patient'], 'the resident'),
    subject: referenceParam(column, ['Patient'], 'the resident'),
    identifier: identifierParam,
  };
}

export const institutionCodeSystem = SYSTEM.institution;

/** Registry data (institutions, regions, practitioners, teams) is changed by district administrators only. */
export const REGISTRY_WRITERS = ['district_admin'] as const;

/** Runs a registry service call, renaming the service's field names in its errors to the FHIR elements they came from. */
export async function viaService<T>(fields: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof AppError && e.field && fields[e.field]) throw new AppError(e.code, e.params, fields[e.field]);
    throw e;
  }
}

/** The institution a record belongs to: the one named, else (on update) the one it already has, else the caller's. */
export async function owningInstitution(ctx: WriteContext, named: ParsedReference | null, path: string, existing: Row | null): Promise<number> {
  if (!named && existing?.institution_id) return ctx.recordingInstitution({ type: 'Organization', id: existing.institution_id as number }, path);
  return ctx.recordingInstitution(named, path);
}

/** The ids of reference search values (`Type/123`, `123`, or a URL ending in them); others match nothing. */
export function idsOf(values: string[]): number[] {
  return values.map((v) => /(?:^|\/)(\d{1,15})$/.exec(v)?.[1]).filter((x): x is string => !!x).map(Number);
}
