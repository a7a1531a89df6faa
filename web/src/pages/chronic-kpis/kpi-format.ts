// Shapes of GET /chronic/kpis and the pure helpers of the KPI pages: the period a picker names, where a row drills
// down to, rates as percentages. Nothing here touches the network or the DOM (kpi-view.test.ts renders with them).
import type { Id } from '../../types.ts';
// the report's own types are the server's (type-only imports: nothing of the server enters the bundle)
import type { KeyPopulation, KpiFigures, KpiResponse, KpiRow, Level } from '../../../../src/modules/chronic/kpis.ts';
import type { PeriodKind } from '../../../../src/modules/chronic/kpi-periods.ts';

export type { KeyPopulation, KpiFigures, KpiRow, PeriodKind };
export type KpiLevel = Level;
export const REGION_LEVELS = ['district', 'street', 'community', 'grid'] as const satisfies readonly KpiLevel[];
export const CARE_LEVELS = ['centre', 'team'] as const satisfies readonly KpiLevel[];
export const PERIOD_KINDS = ['month', 'quarter', 'year'] as const satisfies readonly PeriodKind[];
export const KEY_POPULATIONS = ['elderly', 'hypertension', 'diabetes', 'pregnant', 'children', 'mental', 'disability', 'special'] as const satisfies readonly KeyPopulation[];

/** 0..1, null when its base is 0 */
export type Rate = number | null;

/** What the page reads of GET /chronic/kpis. */
export type KpiReport = Pick<KpiResponse, 'period' | 'computedAt' | 'level' | 'rows'> & { total: KpiFigures };

export interface KpiQuery {
  level: KpiLevel;
  parent?: Id;
  period: PeriodKind;
  at: string;
}

/** The GP-to-population goal (seed 003: at least 3 general practitioners per 10,000 residents). */
export const GP_GOAL_PER_10K = 3;

/** The `at` of a period containing a date: 2025-03, 2025-Q1, 2025. */
export function periodAt(kind: PeriodKind, date: { year: number; month: number }): string {
  if (kind === 'year') return String(date.year);
  if (kind === 'quarter') return `${date.year}-Q${Math.floor((date.month - 1) / 3) + 1}`;
  return `${date.year}-${String(date.month).padStart(2, '0')}`;
}

/** The first month of a period's `at` (for the picker): 2025-Q2 → {2025, 4}. */
export function periodStart(at: string): { year: number; month: number } | null {
  const m = /^(\d{4})(?:-(\d{2})|-Q([1-4]))?$/.exec(at);
  if (!m) return null;
  const month = m[2] ? Number(m[2]) : m[3] ? (Number(m[3]) - 1) * 3 + 1 : 1;
  return month >= 1 && month <= 12 ? { year: Number(m[1]), month } : null;
}

/** The level a row of this level opens: district → street → community → grid; centre → team; grid and team: none. */
export function childLevel(level: KpiLevel): KpiLevel | null {
  const chain: readonly KpiLevel[] = (REGION_LEVELS as readonly KpiLevel[]).includes(level) ? REGION_LEVELS : CARE_LEVELS;
  const i = chain.indexOf(level);
  return chain[i + 1] ?? null;
}

export function percent(rate: Rate | undefined): string {
  return rate === null || rate === undefined ? '—' : `${(rate * 100).toFixed(1)}%`;
}

/** A rate for a chart (percent, one decimal), a gap when there is none. */
export function chartPercent(rate: Rate | undefined): number | null {
  return rate === null || rate === undefined ? null : Math.round(rate * 1000) / 10;
}

/** The query string of the API (and its Excel export) for a view. */
export function kpiQuery(q: KpiQuery): Record<string, string | number | undefined> {
  return { level: q.level, parent: q.parent, period: q.period, at: q.at };
}
