// Shapes of the two-way referral API (/api/v1/referrals, /referral-targets, /slot-pools, /referral-kpis,
// /notifications). The states, urgencies and actions are the server's own lists (its state machine), so a new
// state cannot be missed here.
import type { Id } from '../../types.ts';
import { ACTIONS, STATES, URGENCIES } from '../../../../src/modules/referral/state.ts';

export { ACTIONS, STATES, URGENCIES };
export type ReferralState = (typeof STATES)[number];
export type Urgency = (typeof URGENCIES)[number];
export type ReferralAction = Exclude<(typeof ACTIONS)[number], 'expire'>;
export type Direction = 'up' | 'down';

/** States in which the case still waits for someone (the worklist's "open" filter). */
export const OPEN_STATES: readonly ReferralState[] = ['requested', 'accepted', 'scheduled', 'arrived', 'completed'];

/** Roles that may send a referral (upward: primary care and hospitals; downward: hospital staff). */
const SENDER_ROLES = ['family_doctor', 'nurse', 'specialist', 'referral_desk', 'institution_admin'];

export function canSendReferrals(user: { roles: readonly string[]; institutionId: number | null }): boolean {
  return user.institutionId !== null && user.roles.some((role) => SENDER_ROLES.includes(role));
}

/** Shared-record types a referral can carry along (the server's attachable list). */
export type AttachmentType = 'Observation' | 'DiagnosticReport' | 'DocumentReference' | 'Condition' | 'MedicationRequest' | 'Encounter' | 'Immunization' | 'AllergyIntolerance';

/** A case as the API shows it (cases.ts `ReferralView`, restated here: importing it would bring the whole FHIR layer
 *  into the console's type check). */
export interface Referral {
  id: Id;
  version: number;
  direction: Direction;
  urgency: Urgency;
  state: ReferralState;
  stateReason: string | null;
  resident: { id: Id; name: string; sex: string; birthDate: string; idNumberMasked: string | null };
  source: { institutionId: Id; institutionName: string; practitionerId: Id | null; practitionerName: string | null };
  target: { institutionId: Id; institutionName: string; department: string | null; teamId: Id | null; teamName: string | null };
  reason: string;
  diagnosis: { code: string; display: string | null } | null;
  summary: string | null;
  attachments: Array<{ type: string; id: Id }>;
  medications: Array<{ name: string; dose?: string | null }> | null;
  followUpPlan: string | null;
  appointment: { id: Id; slotId: Id | null; start: string | null; status: string } | null;
  redirectedFrom: Id | null;
  redirectedTo: Id | null;
  dueAt: string | null;
  expiresAt: string | null;
  overdue: boolean;
  escalatedAt: string | null;
  requestedAt: string;
  respondedAt: string | null;
  scheduledAt: string | null;
  arrivedAt: string | null;
  completedAt: string | null;
  closedAt: string | null;
  endedAt: string | null;
  resultSummary: string | null;
  resultDocumentId: Id | null;
  followUpDueAt: string | null;
  followedUpAt: string | null;
  followUpNote: string | null;
  side: 'source' | 'target' | 'system' | null;
  /** what the caller may do now: the console renders one button per action */
  actions: ReferralAction[];
}

export interface ReferralEvent {
  action: string;
  fromState: ReferralState | null;
  toState: ReferralState;
  at: string;
  note: string | null;
  user: string | null;
}

export interface ReferralDetail extends Referral {
  events: ReferralEvent[];
}

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
  message: string;
  createdAt: string;
  readAt: string | null;
}

/** A row of /referral-kpis: the server's own type (kpis.ts holds no more than the row and the query). */
export type { KpiRow as ReferralKpiRow } from '../../../../src/modules/referral/kpis.ts';
