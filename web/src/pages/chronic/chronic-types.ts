// Shapes of the family-doctor and chronic-disease API (docs/api.md: /worklist, /contracts, /chronic/…).
import type { Id } from '../../types.ts';
// type-only imports of the server's views: nothing of the server enters the bundle
import type { Reading, Readings } from '../../../../src/modules/chronic/readings.ts';

export const WORK_KINDS = ['follow_up', 'enrolment', 'danger', 'discharge', 'renewal', 'elderly_check', 'check_follow_up'] as const;
export type WorkKind = (typeof WORK_KINDS)[number];
export const MODES = ['clinic', 'home', 'phone', 'health_post'] as const;
export type Mode = (typeof MODES)[number];
export const ADHERENCE = ['regular', 'intermittent', 'none'] as const;
export const SALT = ['light', 'moderate', 'heavy'] as const;
export const CLASSIFICATIONS = ['controlled', 'uncontrolled', 'adverse_reaction', 'new_complication'] as const;
export type Classification = (typeof CLASSIFICATIONS)[number];
export const CONTRACT_STATUSES = ['active', 'expired', 'cancelled', 'transferred'] as const;
export type ContractStatus = (typeof CONTRACT_STATUSES)[number];
export const CONSENT_METHODS = ['written', 'electronic', 'verbal_witnessed'] as const;
export const CONSENT_SIGNERS = ['self', 'guardian', 'agent'] as const;

/** A resident's last readings from the shared record: the server's own type. */
export type { Reading, Readings };

export interface Medication {
  name: string;
  dose: string | null;
}

export interface WorkItem {
  kind: WorkKind;
  taskId: Id | null;
  contractId: Id | null;
  priority: string;
  status: string;
  dueAt: string | null;
  overdue: boolean;
  description: string | null;
  /** "EpisodeOfCare/12" for follow-ups and new enrolments */
  focus: string | null;
  programmes: string[];
  contractingLead: boolean;
  team: { id: Id; name: string } | null;
  source: { institutionId: Id; institutionName: string } | null;
  contractEndDate: string | null;
  resident: { id: Id; name: string; sex: string; age: number; gridId: Id | null; gridName: string | null };
  lastReadings: Readings | null;
  medications: Medication[];
  /** medication coupons left this year (null: none issued yet) */
  couponBalance?: number | null;
  /** 0: not escalated; 1: to the team lead; 2: to the centre's administrator */
  escalationLevel?: number;
  escalatedAt?: string | null;
}

export interface DangerSign {
  code: string;
  zh: string;
  en: string;
}

export interface RuleCondition {
  measure: string;
  op: '<' | '<=' | '>' | '>=';
  value: number;
}

export interface Programme {
  code: string;
  name: string;
  nameEn: string | null;
  active: boolean;
  version: number;
  rules: { requiredMeasures: string[]; dangerSigns: DangerSign[]; minVisitsPerYear: number; controlled: RuleCondition[]; danger: RuleCondition[] };
}

export interface Enrolment {
  id: Id;
  version: number;
  residentId: Id;
  programme: string;
  programmeName: string;
  status: string;
  source: string;
  diagnosis: { system: string; code: string } | null;
  institutionId: Id;
  startedAt: string;
  endedAt: string | null;
  nextDueAt: string | null;
  nextTaskId: Id | null;
  lastFollowUpAt: string | null;
  lastClassification: Classification | null;
  uncontrolledStreak: number;
}

export interface Reason {
  kind: 'danger_value' | 'danger_sign' | 'successive_uncontrolled' | 'new_complication';
  measure?: string;
  value?: number;
  rule?: string;
  sign?: string;
  count?: number;
}

export interface Lifestyle {
  smokingPerDay?: number;
  drinkingPerDay?: number;
  exerciseTimesPerWeek?: number;
  exerciseMinutes?: number;
  salt?: (typeof SALT)[number];
  targetWeightKg?: number;
}

export interface FollowUp {
  id: Id;
  enrolmentId: Id;
  residentId: Id;
  programme: string;
  ruleVersion: number;
  visitAt: string;
  mode: Mode;
  institutionId: Id;
  sbp: number | null;
  dbp: number | null;
  fpg: number | null;
  heartRate: number | null;
  weightKg: number | null;
  heightCm: number | null;
  bmi: number | null;
  symptoms: string[];
  adherence: (typeof ADHERENCE)[number] | null;
  adverseReaction: boolean;
  newComplication: boolean;
  medications: Array<{ name: string; dose?: string | null }>;
  lifestyle: Lifestyle;
  note: string | null;
  classification: Classification;
  danger: boolean;
  reasons: Reason[];
  referral: 'urgent' | null;
  nextDueAt: string;
  nextTaskId: Id | null;
}

export interface OpenTask {
  id: Id;
  kind: string;
  priority: string;
  status: string;
  dueAt: string | null;
  overdue: boolean;
  description: string | null;
  enrolmentId: Id | null;
  source: { institutionId: Id; institutionName: string };
  team: { id: Id; name: string } | null;
}

export interface ResidentCare {
  residentId: Id;
  enrolments: Enrolment[];
  openTasks: OpenTask[];
  lastReadings: Readings;
  medications: Medication[];
  lastFollowUp: FollowUp | null;
}

export interface ReadingPoint {
  at: string;
  sbp: number | null;
  dbp: number | null;
  glucose: number | null;
  fasting: boolean;
  institutionId: Id;
  institutionName: string | null;
}

export interface Consent {
  method: (typeof CONSENT_METHODS)[number];
  signedBy: (typeof CONSENT_SIGNERS)[number];
  signedAt?: string;
  document?: string | null;
}

export interface Contract {
  id: Id;
  version: number;
  status: ContractStatus;
  resident: { id: Id; name: string; sex: string; age: number; idNumberMasked: string | null; gridId: Id | null; gridName: string | null };
  team: { id: Id; name: string };
  institution: { id: Id; name: string };
  packages: string[];
  startDate: string;
  endDate: string;
  consent: { method: string; signedBy: string; signedAt: string; document: string | null };
  renewals: number;
  previousContractId: Id | null;
  endReason: string | null;
  endedAt: string | null;
  dueForRenewal: boolean;
  createdAt: string;
}

export interface ServicePackage {
  code: string;
  name: string;
  nameEn: string | null;
  kind: 'basic' | 'paid';
  feeYuan: number;
  active: boolean;
}

export interface Team {
  id: Id;
  name: string;
  institutionId: Id;
  kind?: string;
}
