// Shapes of the records API (/api/v1/residents/{id}/timeline, …/trends, …/recognition, /recognition/*, /break-glass):
// the cross-institution record view, mutual recognition of results and emergency access.
import type { Id } from '../../types.ts';

export const TIMELINE_TYPES = ['encounter', 'condition', 'observation', 'report', 'medication', 'document', 'immunization', 'allergy'] as const;
export type TimelineType = (typeof TIMELINE_TYPES)[number];

export interface Recognition {
  validUntil: string;
  windowDays: number;
}

export interface TimelineItem {
  type: TimelineType;
  id: Id;
  fhirType: string;
  at: string;
  institutionId: Id;
  institutionName: string;
  encounterId: Id | null;
  title: string;
  code: string | null;
  codeSystem: string | null;
  category: string | null;
  status: string | null;
  value: number | null;
  valueText: string | null;
  unit: string | null;
  refLow: number | null;
  refHigh: number | null;
  abnormal: boolean | null;
  detail: string | null;
  recognition: Recognition | null;
}

export interface TrendSeries {
  code: string;
  codeSystem: string;
  display: string;
  unit: string | null;
  count: number;
  lastAt: string;
}

export interface TrendPoint {
  at: string;
  value: number;
  institutionId: Id;
  institutionName: string;
  observationId: Id;
}

export interface Trend {
  code: string;
  codeSystem: string;
  display: string;
  unit: string | null;
  refLow: number | null;
  refHigh: number | null;
  points: TrendPoint[];
}

export interface ReusableResult {
  observationId: Id | null;
  reportId: Id | null;
  code: string;
  codeSystem: string;
  display: string;
  category: string | null;
  at: string;
  validUntil: string;
  windowDays: number;
  institutionId: Id;
  institutionName: string;
  value: number | null;
  valueText: string | null;
  unit: string | null;
}

export interface ReuseEvent {
  id: Id;
  code: string;
  codeSystem: string;
  institutionId: Id;
  at: string;
}

export interface RecognitionRule {
  codeSystem: string;
  code: string;
  category: string;
  name: string;
  nameEn: string | null;
  windowDays: number;
  active: boolean;
}

export interface RecognitionStat {
  month: string;
  institutionId: Id;
  institutionName: string;
  avoided: number;
}

export const REVIEW_STATUSES = ['pending', 'justified', 'unjustified'] as const;
export type ReviewStatus = (typeof REVIEW_STATUSES)[number];

export interface BreakGlassGrant {
  id: Id;
  residentId: Id;
  expiresAt: string;
  reason: string;
}

export interface BreakGlassEntry extends BreakGlassGrant {
  residentName: string | null;
  userId: Id;
  username: string | null;
  institutionId: Id | null;
  institutionName: string | null;
  grantedAt: string;
  reviewStatus: ReviewStatus;
  reviewedBy: Id | null;
  reviewedAt: string | null;
  reviewNote: string | null;
}

/** The server refuses shorter reasons (records-api: reason ≥ 10 characters). */
export const BREAK_GLASS_MIN_REASON = 10;

/** Roles the server lets reuse a result and break the glass: people who give care (records routes, CLINICIANS). */
export const CLINICAL_ROLES: readonly string[] = ['institution_admin', 'family_doctor', 'nurse', 'specialist', 'referral_desk', 'ems_dispatcher', 'investigator'];

export function isClinician(roles: readonly string[]): boolean {
  return roles.some((role) => CLINICAL_ROLES.includes(role));
}
