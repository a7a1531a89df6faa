// The contract shared by the outbreak-detection algorithms (EARS, CUSUM, Farrington…) and by `detect`.
// Algorithms import nothing from the server or the database: they take a series, the evaluated range and a control
// object, and return one point per evaluated index. Names follow R's `surveillance` package (the reference
// implementation our fixtures come from), so a control object here reads like R's `control = list(…)`.

export type Frequency = 'daily' | 'weekly';

/** A series of counts: counts[i] is the count of the day (daily) or ISO week (weekly) `start` + i days/weeks. */
export interface Series {
  readonly counts: readonly number[];
  readonly frequency: Frequency;
  /** YYYY-MM-DD; for a weekly series the Monday that starts the first ISO week. */
  readonly start: string;
}

/** The evaluated indices into `counts`, both inclusive and 0-based (R's `control$range` is 1-based). */
export interface Range {
  readonly from: number;
  readonly to: number;
}

/** One evaluated point. null where R returns NA: too little data before it to compute a bound. */
export interface PointResult {
  readonly upperbound: number | null;
  readonly alarm: boolean | null;
  /** diagnostics for signals (not part of R's comparison): the baseline's expected count and the method's score */
  readonly expected?: number | null;
  readonly statistic?: number | null;
}

/** What an algorithm function returns: the points of the range, in order, and the control it actually used. */
export interface DetectionResult<C> {
  readonly points: PointResult[];
  readonly control: C;
}

/**
 * A bad input to an algorithm. `field` is the path as a detection job spells it, so callers can report it as is:
 * `params.alpha` for a control parameter, `frequency`, `from`, `counts` for the series and range.
 */
export class ControlError extends Error {
  readonly field: string;
  /** what is wrong, without the field: "must be < 1" */
  readonly detail: string;
  constructor(field: string, detail: string) {
    super(`${field}: ${detail}`);
    this.name = 'ControlError';
    this.field = field;
    this.detail = detail;
  }
}

/**
 * One entry of the method table (`index.ts`). `parseControl` checks a raw `params` object (unknown keys refused,
 * R's defaults filled in) and throws ControlError; `run` evaluates the range and returns one point per index.
 * `run` may also throw ControlError when the control does not fit the series (e.g. too short for any baseline).
 */
export interface DetectionMethod<C> {
  parseControl(raw: unknown): C;
  run(series: Series, range: Range, control: C): DetectionResult<C>;
}
