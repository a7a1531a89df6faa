// The authenticated caller and what it may reach. A principal is loaded from the user row once and cached briefly;
// its resident scope is resolved then (team grids, institution region), so each request only evaluates SQL.
import type { Queryable } from '../db/engine.ts';
import type { Role } from './roles.ts';

export interface ResidentScope {
  /** District-wide: every resident. */
  all: boolean;
  streetIds: number[];
  communityIds: number[];
  gridIds: number[];
  /** Care relationships that grant access. */
  teamIds: number[];
  institutionIds: number[];
  practitionerIds: number[];
  userIds: number[];
}

export interface Principal {
  userId: number;
  username: string;
  displayName: string;
  roles: Role[];
  institutionId: number | null;
  regionId: number | null;
  teamId: number | null;
  practitionerId: number | null;
  locale: 'zh-CN' | 'en';
  kind: 'person' | 'system';
  sessionVersion: number;
  /** Set when the caller authenticated with an institution token: writes are limited to this institution. */
  tokenInstitutionId: number | null;
  scope: ResidentScope;
}

const DISTRICT_WIDE: Role[] = ['district_admin', 'cdc_epidemiologist'];
/** Institution types of primary care (基层医疗卫生机构). */
export const PRIMARY_CARE = ['community_health_centre', 'community_health_station', 'township_health_centre', 'village_clinic'];

export function hasRole(p: Principal, ...roles: Role[]): boolean {
  return p.roles.some((r) => roles.includes(r));
}

export async function loadPrincipal(q: Queryable, userId: number): Promise<Principal | null> {
  const { rows } = await q.query(
    `SELECT u.id, u.username, u.display_name, u.roles, u.institution_id, u.region_id, u.team_id, u.practitioner_id,
            u.locale, u.kind, u.active, u.session_version, i.region_id AS institution_region_id, rg.level AS institution_region_level, i.type AS institution_type
       FROM app_user u
       LEFT JOIN institution i ON i.id = u.institution_id
       LEFT JOIN region rg ON rg.id = i.region_id
      WHERE u.id = $1`,
    [userId],
  );
  const u = rows[0];
  if (!u || !u.active) return null;
  const roles = u.roles as Role[];
  const scope: ResidentScope = { all: false, streetIds: [], communityIds: [], gridIds: [], teamIds: [], institutionIds: [], practitionerIds: [], userIds: [u.id] };
  if (roles.some((r) => DISTRICT_WIDE.includes(r))) scope.all = true;
  if (roles.includes('institution_admin') && u.institution_id) {
    scope.institutionIds.push(u.institution_id);
    // A primary-care institution serves the residents of its area; a hospital's own data are its patients, reached
    // through care relationships (referral, admission) only.
    if (PRIMARY_CARE.includes(u.institution_type)) addRegion(scope, u.institution_region_level, u.institution_region_id);
  }
  if ((roles.includes('family_doctor') || roles.includes('nurse')) && u.team_id) {
    scope.teamIds.push(u.team_id);
    const grids = await q.query<{ grid_id: number }>('SELECT grid_id FROM team_grid WHERE team_id = $1', [u.team_id]);
    scope.gridIds.push(...grids.rows.map((g) => g.grid_id));
  }
  if (roles.includes('family_doctor') || roles.includes('nurse') || roles.includes('specialist')) {
    if (u.practitioner_id) scope.practitionerIds.push(u.practitioner_id);
  }
  if (roles.includes('referral_desk') && u.institution_id) scope.institutionIds.push(u.institution_id);
  return {
    userId: u.id,
    username: u.username,
    displayName: u.display_name,
    roles,
    institutionId: u.institution_id,
    regionId: u.region_id,
    teamId: u.team_id,
    practitionerId: u.practitioner_id,
    locale: u.locale === 'en' ? 'en' : 'zh-CN',
    kind: u.kind,
    sessionVersion: u.session_version,
    tokenInstitutionId: null,
    scope,
  };
}

function addRegion(scope: ResidentScope, level: string | null, id: number | null) {
  if (!id) return;
  if (level === 'district') scope.all = true;
  else if (level === 'street') scope.streetIds.push(id);
  else if (level === 'community') scope.communityIds.push(id);
  else if (level === 'grid') scope.gridIds.push(id);
}

/** What one server process tells the others when it drops cached principals (`serve --workers N`). */
export type PrincipalInvalidation = { op: 'clear' } | { op: 'invalidateUser'; userId: number };

/**
 * Small TTL cache so a request does not reload the user; invalidated when a user changes. With several server
 * processes, `peers` carries each invalidation to the others, which `apply` it to their own cache.
 */
export class PrincipalCache {
  private readonly entries = new Map<string, { p: Principal; until: number }>();
  private readonly ttlMs: number;
  private readonly peers: ((m: PrincipalInvalidation) => void) | null;
  constructor(ttlMs = 30_000, peers: ((m: PrincipalInvalidation) => void) | null = null) {
    this.ttlMs = ttlMs;
    this.peers = peers;
  }
  get(key: string): Principal | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.until < Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.p;
  }
  /** `notAfter` (ms) caps the entry's life, e.g. at the session token's expiry. */
  set(key: string, p: Principal, notAfter = Infinity) {
    if (this.entries.size > 10_000) this.entries.clear();
    this.entries.set(key, { p, until: Math.min(Date.now() + this.ttlMs, notAfter) });
  }
  invalidateUser(userId: number) {
    this.apply({ op: 'invalidateUser', userId });
    this.peers?.({ op: 'invalidateUser', userId });
  }
  clear() {
    this.apply({ op: 'clear' });
    this.peers?.({ op: 'clear' });
  }
  /** Drops entries here only (an invalidation from another process). */
  apply(m: PrincipalInvalidation) {
    if (m.op === 'clear') this.entries.clear();
    else for (const [k, e] of this.entries) if (e.p.userId === m.userId) this.entries.delete(k);
  }
}
