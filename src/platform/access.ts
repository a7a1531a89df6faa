// Resident scope as SQL. Every query that returns personal data joins this predicate; nothing else decides who sees whom.
import type { Principal } from './principal.ts';
import type { Params } from './sql.ts';
import { AppError } from './errors.ts';
import { districtDate } from './local-date.ts';

/** A predicate on the resident row aliased `alias` that holds when the principal may see the resident. */
export function residentScopeSql(p: Principal, params: Params, alias = 'r', idColumn = 'id'): string {
  const s = p.scope;
  if (s.all) return 'TRUE';
  const parts: string[] = [];
  if (s.streetIds.length) parts.push(`${alias}.street_id = ANY(${params.add(s.streetIds)}::bigint[])`);
  if (s.communityIds.length) parts.push(`${alias}.community_id = ANY(${params.add(s.communityIds)}::bigint[])`);
  if (s.gridIds.length) parts.push(`${alias}.grid_id = ANY(${params.add(s.gridIds)}::bigint[])`);
  const rel: string[] = [];
  if (s.teamIds.length) rel.push(`cr.team_id = ANY(${params.add(s.teamIds)}::bigint[])`);
  if (s.institutionIds.length) rel.push(`cr.institution_id = ANY(${params.add(s.institutionIds)}::bigint[])`);
  if (s.practitionerIds.length) rel.push(`cr.practitioner_id = ANY(${params.add(s.practitionerIds)}::bigint[])`);
  if (s.userIds.length && hasRelationshipRole(p)) rel.push(`cr.user_id = ANY(${params.add(s.userIds)}::bigint[])`);
  if (rel.length) {
    const today = `${params.add(districtDate())}::date`;
    parts.push(`EXISTS (SELECT 1 FROM care_relationship cr WHERE cr.resident_id = ${alias}.${idColumn}
      AND cr.valid_from <= ${today} AND (cr.valid_to IS NULL OR cr.valid_to >= ${today}) AND (${rel.join(' OR ')}))`);
  }
  return parts.length ? `(${parts.join(' OR ')})` : 'FALSE';
}

function hasRelationshipRole(p: Principal) {
  return p.roles.some((r) => r !== 'ems_dispatcher' && r !== 'supervisor');
}

/** An institution token may only write data as its own institution. */
export function assertActsForInstitution(p: Principal, institutionId: number | null | undefined) {
  if (p.tokenInstitutionId !== null && institutionId != null && institutionId !== p.tokenInstitutionId) {
    throw new AppError('WRONG_INSTITUTION', {}, 'sourceInstitutionId');
  }
  if (p.tokenInstitutionId === null && institutionId != null && !p.scope.all && p.institutionId !== institutionId) {
    throw new AppError('WRONG_INSTITUTION', {}, 'sourceInstitutionId');
  }
}
