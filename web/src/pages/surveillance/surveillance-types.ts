// Shapes of the surveillance API (docs/api.md; the zod schemas of src/modules/surveillance/*-routes.ts). Views the
// server already names are its own types (type-only imports: nothing of the server enters the bundle).
import type { TimelinessFigures } from '../../../../src/modules/surveillance/case-reports.ts';
import type { RunView, SignalView } from '../../../../src/modules/surveillance/run.ts';

export type { TimelinessFigures };
export type Run = RunView;
export type Signal = SignalView;

export const ALERT_STATES = ['new', 'under_review', 'investigating', 'closed_true', 'closed_false'] as const;
export type AlertState = (typeof ALERT_STATES)[number];
export const RISK_LEVELS = ['low', 'medium', 'high', 'critical'] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];
export const ALERT_ACTIONS = ['review', 'investigate', 'close', 'assign', 'note'] as const;
export type AlertAction = (typeof ALERT_ACTIONS)[number];
export const SYNDROMES = ['respiratory', 'gastrointestinal', 'fever', 'rash', 'other'] as const;

interface Named {
  id: number;
  name: string;
}
export interface Coded {
  code: string;
  name: string;
  nameEn: string;
}

export interface AlertItem {
  id: number;
  version: number;
  state: AlertState;
  riskLevel: RiskLevel;
  syndrome: string;
  rule: { id: number; code: string; version: number; kind: string; name: string; nameEn: string };
  communities: Array<{ id: number; name: string; nameEn: string | null }>;
  firstDate: string;
  lastDate: string;
  sources: string[];
  signalCount: number;
  caseReportCount: number;
  diseaseCode: string | null;
  assignee: Named | null;
  createdAt: string;
  updatedAt: string;
  reviewedAt: string | null;
  investigatingAt: string | null;
  closedAt: string | null;
  actions: AlertAction[];
}

export interface SeriesPoint {
  date: string;
  value: number;
}
export interface AlarmPoint {
  date: string;
  algorithm: string;
  observed: number;
  threshold: number | null;
}

export interface AlertSignal {
  id: number;
  algorithm: string;
  source: Coded;
  category: Coded;
  syndrome: string;
  communityId: number;
  communityIds: number[];
  startDate: string;
  date: string;
  observed: number;
  expected: number | null;
  threshold: number | null;
  statistic: number | null;
  pValue: number | null;
  high: boolean;
  series: { frequency: 'daily' | 'weekly'; points: SeriesPoint[]; alarms: AlarmPoint[] };
}

export interface AlertEvent {
  id: number;
  action: string;
  fromState: string | null;
  toState: string | null;
  at: string;
  note: string | null;
  user: Named | null;
}

export interface AlertDetail extends AlertItem {
  rule: AlertItem['rule'] & { params: unknown; riskLevel: RiskLevel };
  signals: AlertSignal[];
  caseReports: Array<{
    id: number;
    disease: Coded & { class: string; managedAsA: boolean };
    communityId: number;
    caseClass: string;
    diagnosedAt: string;
    reportedAt: string;
    late: boolean;
  }>;
  events: AlertEvent[];
}

export interface Assignee {
  id: number;
  displayName: string;
  roles: string[];
  institutionName: string | null;
}



export interface SourceCatalogue {
  sources: Array<{
    code: string;
    name: string;
    nameEn: string;
    active: boolean;
    unit: string;
    independence: string;
    senderTypes: string[];
    categories: Array<{ code: string; name: string; nameEn: string; active: boolean; syndrome: string }>;
  }>;
  diseases: Array<{ code: string; name: string; nameEn: string; active: boolean; class: string; managedAsA: boolean; reportHours: number; syndrome: string }>;
}

export interface SeriesSet {
  from: string;
  to: string;
  days: number;
  dates: string[];
  series: Array<{ regionId: number | null; sourceCode: string; categoryCode: string; values: number[] }>;
}

export interface Epicurve {
  from: string;
  to: string;
  by: 'category' | 'syndrome';
  dates: string[];
  series: Array<{ sourceCode: string; key: string; name: string; nameEn: string; total: number; values: number[] }>;
}

export interface Timeliness {
  from: string;
  to: string;
  institutions: TimelinessFigures[];
  total: TimelinessFigures;
}

export interface DetectPoint {
  date: string;
  observed: number;
  upperbound: number | null;
  alarm: boolean | null;
}

export interface Community {
  id: number;
  code: string;
  name: string;
  nameEn: string | null;
  level: string;
  parentId: number | null;
  lon: number | null;
  lat: number | null;
}
