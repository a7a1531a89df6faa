// Shapes of the surveillance API (docs/api.md; the zod schemas of src/modules/surveillance/*-routes.ts). Views the
// server already names are its own types (type-only imports: nothing of the server enters the bundle).
import type { TimelinessFigures } from '../../../../src/modules/surveillance/case-reports.ts';
import type { RunView, SignalView } from '../../../../src/modules/surveillance/run.ts';
import type { AlertAction, AlertDetail as ServerAlertDetail, AlertState, AlertView, SignalView as ServerSignalView } from '../../../../src/modules/surveillance/alerts.ts';
import type { RiskLevel } from '../../../../src/modules/surveillance/fusion.ts';

export type { TimelinessFigures };
export type Run = RunView;
export type Signal = SignalView;

export type { AlertAction, AlertState, RiskLevel };
// the lists the console offers as filters (typed against the server's unions)
export const ALERT_STATES: readonly AlertState[] = ['new', 'under_review', 'investigating', 'closed_true', 'closed_false'];
export const RISK_LEVELS: readonly RiskLevel[] = ['low', 'medium', 'high', 'critical'];
export const SYNDROMES = ['respiratory', 'gastrointestinal', 'fever', 'rash', 'other'] as const;

export type AlertItem = AlertView;
export type AlertDetail = ServerAlertDetail;
/** A contributing signal of an alert, its source and category named, with its series over the last 8 weeks. */
export type AlertSignal = ServerSignalView;
export type AlertEvent = ServerAlertDetail['events'][number];

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
