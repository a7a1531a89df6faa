// Shapes of the two-way referral API (/api/v1/referrals, /referral-targets, /slot-pools, /referral-kpis,
// /notifications). The states, urgencies and actions are the server's own lists (its state machine), so a new
// state cannot be missed here.
import type { Id } from '../../types.ts';
import { ACTIONS, OPEN_STATES, STATES, URGENCIES } from '../../../../src/modules/referral/state.ts';

export { ACTIONS, OPEN_STATES, STATES, URGENCIES };
export type { Direction, ReferralState, Urgency, UserAction as ReferralAction } from '../../../../src/modules/referral/state.ts';

/** Roles that may send a referral (upward: primary care and hospitals; downward: hospital staff). */
const SENDER_ROLES = ['family_doctor', 'nurse', 'specialist', 'referral_desk', 'institution_admin'];

export function canSendReferrals(user: { roles: readonly string[]; institutionId: number | null }): boolean {
  return user.institutionId !== null && user.roles.some((role) => SENDER_ROLES.includes(role));
}

/** Shared-record types a referral can carry along (the server's attachable list). */
export type AttachmentType = 'Observation' | 'DiagnosticReport' | 'DocumentReference' | 'Condition' | 'MedicationRequest' | 'Encounter' | 'Immunization' | 'AllergyIntolerance';

/** A case as the API shows it, its history and its detail: the server's own types (state.ts imports nothing). */
export type { ReferralView as Referral, ReferralEventView as ReferralEvent, ReferralDetail } from '../../../../src/modules/referral/state.ts';

export interface ReferralTarget {
  institutionId: Id;
  name: string;
  type: string;
  inConsortium: boolean;
  departments: Array<{ department: string; reservedFree: number; nextFree: string | null }>;
}

export interface SlotPool {
  id: Id;
  institutionId: Id;
  institutionName: string;
  department: string | null;
  practitionerName: string | null;
  start: string;
  end: string;
  capacity: number;
  free: number;
  reservedFree: number;
}

export interface Slot {
  id: Id;
  start: string;
  end: string;
  status: string;
  /** 'primary_care' while the place is held for referrals from primary care */
  reservedFor: string | null;
}

export interface SlotPoolDetail extends SlotPool {
  slots: Slot[];
}

export interface Notification {
  id: Id;
  kind: string;
  priority: 'normal' | 'high' | 'urgent';
  referralId: Id | null;
  /** surveillance alerts (alert.created, alert.escalated, alert.assigned) */
  alertId?: Id | null;
  message: string;
  createdAt: string;
  readAt: string | null;
}

/** A row of /referral-kpis: the server's own type (kpis.ts holds no more than the row and the query). */
export type { KpiRow as ReferralKpiRow } from '../../../../src/modules/referral/kpis.ts';
