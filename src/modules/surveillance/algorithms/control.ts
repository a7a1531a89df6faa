// Reading a control object the way every algorithm here does: R's defaults filled in, every given value checked,
// unknown keys refused (R silently ignores a misspelt control name; a surveillance officer would then get the
// default without knowing), the result frozen.
import { ControlError } from './types.ts';

/** Checks one raw value; `field` is its path (`params.alpha`) for the error. */
export type Check<T> = (value: unknown, field: string) => T;

export function readControl<C extends object>(raw: unknown, defaults: C, checks: { [K in keyof C]-?: Check<C[K]> }, path = 'params'): Readonly<C> {
  if (raw === undefined || raw === null) return Object.freeze({ ...defaults });
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ControlError(path, 'must be an object');
  const out: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  for (const [key, value] of Object.entries(raw)) {
    if (!Object.hasOwn(checks, key)) {
      throw new ControlError(`${path}.${key}`, `unknown parameter; known: ${Object.keys(checks).join(', ')}`);
    }
    out[key] = (checks as Record<string, Check<unknown>>)[key](value, `${path}.${key}`);
  }
  return Object.freeze(out as C);
}

interface NumberRule {
  integer?: boolean;
  min?: number;
  max?: number;
  /** bounds excluded (e.g. alpha in (0, 1)) */
  exclusive?: boolean;
}

export function numberCheck(rule: NumberRule = {}): Check<number> {
  return (v, field) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ControlError(field, 'must be a finite number');
    if (rule.integer && !Number.isInteger(v)) throw new ControlError(field, 'must be an integer');
    const ex = rule.exclusive ?? false;
    if (rule.min !== undefined && (ex ? v <= rule.min : v < rule.min)) throw new ControlError(field, `must be ${ex ? '>' : '≥'} ${rule.min}`);
    if (rule.max !== undefined && (ex ? v >= rule.max : v > rule.max)) throw new ControlError(field, `must be ${ex ? '<' : '≤'} ${rule.max}`);
    return v;
  };
}

export function booleanCheck(): Check<boolean> {
  return (v, field) => {
    if (typeof v !== 'boolean') throw new ControlError(field, 'must be true or false');
    return v;
  };
}

export function oneOfCheck<const T extends string>(choices: readonly T[]): Check<T> {
  return (v, field) => {
    if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) throw new ControlError(field, `must be one of ${choices.join(', ')}`);
    return v as T;
  };
}

/** null allowed as well as what `check` accepts (R's NULL control values, e.g. `pastWeeksNotIncluded`). */
export function nullableCheck<T>(check: Check<T>): Check<T | null> {
  return (v, field) => (v === null ? null : check(v, field));
}

/** The evaluated range must lie inside the series, `from` ≤ `to`. */
export function checkRange(series: { readonly counts: readonly number[] }, range: { readonly from: number; readonly to: number }): void {
  const n = series.counts.length;
  if (!Number.isInteger(range.from) || range.from < 0 || range.from >= n) throw new ControlError('from', `must fall inside the series (0 to ${n - 1})`);
  if (!Number.isInteger(range.to) || range.to < range.from || range.to >= n) throw new ControlError('to', `must fall inside the series, on or after from`);
}
