// Calendar arithmetic for series: plain YYYY-MM-DD dates in UTC (a count belongs to a day, not an instant).
import type { Series } from './types.ts';

const DAY_MS = 86_400_000;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The date as a UTC day number, or undefined when it is not a real YYYY-MM-DD date. */
export function dayNumber(date: string): number | undefined {
  const m = ISO_DATE.exec(date);
  if (!m) return undefined;
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return new Date(t).toISOString().slice(0, 10) === date ? t / DAY_MS : undefined;
}

export function dateOfDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** Days (daily) or weeks (weekly) between the series start and `date`; not an integer for a mid-week date. */
export function stepsFromStart(series: Pick<Series, 'frequency' | 'start'>, date: string): number {
  return (dayNumber(date)! - dayNumber(series.start)!) / (series.frequency === 'weekly' ? 7 : 1);
}

/** The date of counts[i]: start + i days, or + i weeks. */
export function dateAt(series: Pick<Series, 'frequency' | 'start'>, i: number): string {
  return dateOfDay(dayNumber(series.start)! + i * (series.frequency === 'weekly' ? 7 : 1));
}

/** 1 = Monday … 7 = Sunday (ISO 8601). */
export function isoWeekday(date: string): number {
  return ((((dayNumber(date)! + 3) % 7) + 7) % 7) + 1; // 1970-01-01 was a Thursday
}

/** ISO 8601 week-numbering year and week of a date (weeks start on Monday; week 1 holds the year's first Thursday). */
export function isoWeek(date: string): { year: number; week: number } {
  const day = dayNumber(date)!;
  const thursday = day - isoWeekday(date) + 4;
  const year = new Date(thursday * DAY_MS).getUTCFullYear();
  return { year, week: Math.floor((thursday - Date.UTC(year, 0, 1) / DAY_MS) / 7) + 1 };
}

/** 1 for 1 January. */
export function dayOfYear(date: string): number {
  const day = dayNumber(date)!;
  return day - Date.UTC(new Date(day * DAY_MS).getUTCFullYear(), 0, 1) / DAY_MS + 1;
}

/**
 * The series' place in the year as R's `sts` holds it: `freq` observations per year (52 weekly, 365 daily) and the
 * number of the first observation within its year (`start[2]`: the ISO week, or the day of the year). Seasonal
 * terms cos(2π t / freq) are phased by it.
 */
export function seasonOf(series: Pick<Series, 'frequency' | 'start'>): { freq: number; startInYear: number } {
  return series.frequency === 'weekly' ? { freq: 52, startInYear: isoWeek(series.start).week } : { freq: 365, startInYear: dayOfYear(series.start) };
}
