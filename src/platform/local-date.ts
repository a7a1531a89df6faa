// The district's calendar. Every date that defaults to "today" (a contract's start, a care relationship's validity,
// a prescription's term, the worklist's day, the year of a health check) is the district's local date in
// Asia/Shanghai, never the database server's `current_date` or the UTC date: a contract signed at 07:40 Beijing time
// (23:40 UTC the day before) starts on the Beijing day. SQL takes the date as a parameter from here.
export const DISTRICT_TIME_ZONE = 'Asia/Shanghai';

const DAY_FORMAT = new Intl.DateTimeFormat('en-CA', { timeZone: DISTRICT_TIME_ZONE, year: 'numeric', month: '2-digit', day: '2-digit' });

/** The district's date (YYYY-MM-DD) at a moment, by default now. */
export function districtDate(at: Date | number = Date.now()): string {
  return DAY_FORMAT.format(at);
}

/** The district's date `days` after (or before) a YYYY-MM-DD date. */
export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

/** The district's date in SQL, for statements built as constants without parameters (the database's clock, the
 *  district's zone); statements with parameters take districtDate() instead. */
export const DISTRICT_TODAY_SQL = `((now() AT TIME ZONE '${DISTRICT_TIME_ZONE}')::date)`;
