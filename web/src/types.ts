// Shapes of the CareGrid HTTP API v1 as described in docs/api.md.

export const ROLES = [
  'district_admin',
  'institution_admin',
  'family_doctor',
  'nurse',
  'specialist',
  'referral_desk',
  'cdc_epidemiologist',
  'investigator',
  'ems_dispatcher',
  'supervisor',
] as const;
export type Role = (typeof ROLES)[number];

export const RESIDENT_TAGS = [
  'elderly',
  'child_0_6',
  'hypertension',
  'diabetes',
  'pregnant',
  'postpartum',
  'severe_mental',
  'tuberculosis',
  'disability',
  'special_family',
] as const;
export type ResidentTag = (typeof RESIDENT_TAGS)[number];

/** Server ids are integers; the console only passes them back in paths and queries. */
export type Id = number;

/** Institution type codes, as the server's registry defines them. */
export { INSTITUTION_TYPES } from '../../src/modules/registry/vocabulary.ts';

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  pageSize: number;
}

export interface Items<T> {
  items: T[];
}

export interface User {
  id: Id;
  username: string;
  displayName: string;
  roles: string[];
  institutionId: Id | null;
  institutionName: string | null;
  regionId: Id | null;
  teamId: Id | null;
  locale: string | null;
}

export type RegionLevel = 'district' | 'street' | 'community' | 'grid';

export interface Region {
  id: Id;
  code: string;
  name: string;
  nameEn: string | null;
  level: RegionLevel;
  parentId: Id | null;
  kind?: string | null;
  population?: number | null;
  childCount: number;
  path?: Array<Pick<Region, 'id' | 'code' | 'name' | 'level'>>;
}

export interface Institution {
  id: Id;
  code: string;
  name: string;
  type: string;
  level: string | null;
  grade: string | null;
  capabilities: string[];
  regionId: Id | null;
  regionName: string | null;
  address: string | null;
  nameEn?: string | null;
  beds?: number | null;
  active?: boolean;
}

export type ConsortiumKind = 'comprehensive' | 'specialty';

export interface Consortium {
  id: Id;
  name: string;
  kind: ConsortiumKind;
  integration: 'tight' | 'loose';
  leadInstitutionId: Id | null;
  leadInstitutionName: string | null;
  memberCount: number;
  gridCount: number;
}

export interface ConsortiumMember {
  institutionId: Id;
  name: string;
  type: string;
  level: string | null;
  role: string;
}

export interface ConsortiumDetail extends Consortium {
  members: ConsortiumMember[];
  gridIds: Id[];
}

export interface GridCoverage {
  gridId: Id;
  gridName: string;
  communityId: Id;
  communityName: string;
  streetId: Id;
  streetName: string;
  consortia: Array<{ id: Id; name: string; kind: ConsortiumKind }>;
}

export interface CoverageResponse {
  items: GridCoverage[];
  uncovered: number;
}

export interface ResidentSummary {
  id: Id;
  name: string;
  sex: 'male' | 'female';
  birthDate: string;
  age: number;
  idNumberMasked: string | null;
  phoneMasked: string | null;
  householdId: Id | null;
  gridId: Id | null;
  gridName: string | null;
  communityId: Id | null;
  communityName: string | null;
  streetId: Id | null;
  tags: string[];
  status: string;
}

export interface ResidentDetail extends ResidentSummary {
  address: string | null;
  household: { id: Id; address: string | null; memberCount: number } | null;
  sourceIds: Array<{ institutionId: Id; institutionName?: string; sourceId: string }>;
  hasIdNumber?: boolean;
  mergedInto?: Id | null;
}

export interface Household {
  id: Id;
  gridId?: Id;
  gridName?: string;
  address: string | null;
  members: ResidentSummary[];
}

export interface Ref {
  id: Id;
  name: string;
}

/** grid → community → street; the consortium, CHC, hospital and team that the grid assigns (null: not linked). */
export interface CareChain {
  grid: Ref;
  community: Ref;
  street: Ref;
  consortium: (Ref & { integration: string }) | null;
  partnerHospital: (Ref & { type: string; level: string | null }) | null;
  communityHealthCentre: Ref | null;
  communityHealthStation: Ref | null;
  familyDoctorTeam: Ref | null;
  specialtyConsortia: Array<Ref & { specialty: string | null }>;
}

export interface AuditEvent {
  id: Id;
  at: string;
  userId: Id | null;
  username: string | null;
  role: string | null;
  institutionId: Id | null;
  action: string;
  resourceType: string | null;
  resourceId: string | null;
  residentId: Id | null;
  purpose: string | null;
  outcome: string;
  clientIp?: string | null;
}

export interface MatchSide {
  id: Id;
  name: string;
  sex: string;
  birthDate: string;
  phoneMasked: string | null;
  idNumberMasked: string | null;
}

export interface MatchReview {
  id: Id;
  status: 'pending' | 'merged' | 'distinct';
  score: number;
  reasons: string[];
  createdAt: string;
  institutionId: Id | null;
  /** the record that arrived */
  incoming: MatchSide;
  /** the existing resident it may duplicate */
  candidate: MatchSide;
}
