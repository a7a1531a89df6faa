// Reporting periods of the chronic-disease KPIs: Beijing calendar months, quarters and years, and the assessment
// window of the standardised-management rate (规范管理率) inside them. Pure functions, no database.
//
// Why a window: the national standard asks for at least `minVisitsPerYear` face-to-face follow-ups a year (4 by
// default: one every 3 months). A year or a quarter is at least one such interval long, so a patient's visits are
// counted in the period itself; a month is shorter than the interval, so its window is the interval (3 months for
// the default) ending with the month — otherwise a patient seen every quarter would be "unmanaged" two months in three.
import { districtDate } from '../../platform/local-date.ts';
export type PeriodKind = 'month' | 'quarter' | 'year';
export const PERIOD_KINDS = ['month', 'quarter', 'year'] as const;

export interface Period {
  kind: PeriodKind;
  /** YYYY-MM, YYYY-Qn or YYYY */
  label: string;
  /** first Beijing day (YYYY-MM-DD) */
  fromDate: string;
  /** last Beijing day (YYYY-MM-DD) */
  toDate: string;
  /** Beijing midnight starting the period */
  from: Date;
  /** Beijing midnight after it (exclusive) */
  to: Date;
  /** calendar months in the period (1, 3, 12) */
  months: number;
  /** calendar month the period starts in: year and 0-based month */
  year: number;
  month0: number;
}

const BEIJING_MS = 8 * 3600_000;
const LABEL: Record<PeriodKind, RegExp> = { month: /^(\d{4})-(0[1-9]|1[0-2])$/, quarter: /^(\d{4})-Q([1-4])$/, year: /^(\d{4})$/ };

/** Beijing midnight starting the first day of a calendar month (month0 may run past 0..11). */
export function monthStart(year: number, month0: number): Date {
  return new Date(Date.UTC(year, month0, 1) - BEIJING_MS);
}

function build(kind: PeriodKind, year: number, month0: number): Period {
  const months = kind === 'month' ? 1 : kind === 'quarter' ? 3 : 12;
  const from = monthStart(year, month0);
  const to = monthStart(year, month0 + months);
  const label = kind === 'month' ? `${year}-${String(month0 + 1).padStart(2, '0')}` : kind === 'quarter' ? `${year}-Q${month0 / 3 + 1}` : String(year);
  return { kind, label, fromDate: districtDate(from), toDate: districtDate(to.getTime() - 1), from, to, months, year, month0 };
}

/** A period from its kind and label; null when the label does not name one of that kind. */
export function parsePeriod(kind: PeriodKind, at: string): Period | null {
  const m = LABEL[kind].exec(at);
  if (!m) return null;
  const year = Number(m[1]);
  if (year < 1900 || year > 2999) return null;
  const month0 = kind === 'month' ? Number(m[2]) - 1 : kind === 'quarter' ? (Number(m[2]) - 1) * 3 : 0;
  return build(kind, year, month0);
}

/** The period of a kind that contains an instant. */
export function periodContaining(kind: PeriodKind, t: Date): Period {
  const d = new Date(t.getTime() + BEIJING_MS);
  const y = d.getUTCFullYear();
  const m0 = d.getUTCMonth();
  return build(kind, y, kind === 'month' ? m0 : kind === 'quarter' ? m0 - (m0 % 3) : 0);
}

/** The period of the same kind just before. */
export function previousPeriod(p: Period): Period {
  return build(p.kind, p.month0 - p.months < 0 ? p.year - 1 : p.year, (p.month0 - p.months + 12) % 12);
}

/**
 * The periods the recompute job keeps fresh: the month, quarter and year containing `now`, and the ones just before
 * while they closed less than `graceDays` ago (records of a period's last days keep arriving for a few days).
 */
export function livePeriods(now: Date, graceDays = 10): Period[] {
  return PERIOD_KINDS.flatMap((k) => {
    const cur = periodContaining(k, now);
    const prev = previousPeriod(cur);
    return now.getTime() - prev.to.getTime() < graceDays * 86_400_000 ? [cur, prev] : [cur];
  });
}

/** The end of what a computation at `now` can see of the period: its end, or `now` while it runs. */
export function periodEnd(p: Period, now: Date): Date {
  return p.to.getTime() < now.getTime() ? p.to : now;
}

/**
 * The assessment window of the standardised-management and control rates: the period, extended back to one
 * follow-up interval (12 / minVisitsPerYear months, rounded up) when the period is shorter.
 */
export function assessmentWindow(p: Period, minVisitsPerYear: number): { from: Date; months: number } {
  const months = Math.max(p.months, Math.ceil(12 / minVisitsPerYear));
  return { from: monthStart(p.year, p.month0 + p.months - months), months };
}

/**
 * Face-to-face follow-ups a patient owes in a window: minVisitsPerYear pro-rated by the days they were managed in
 * it, rounded half up (a full year: 4; a full quarter or a month's 3-month window: 1; managed for 6 weeks of a
 * quarter: 0 — no visit was due yet). The SQL of the computation applies the same formula; this is its reference.
 */
export function requiredVisits(minVisitsPerYear: number, managedDays: number): number {
  return Math.floor((minVisitsPerYear * Math.max(0, managedDays)) / 365 + 0.5);
}
