// The method table: a detection job's `method` → its entry (control parsing with R's defaults, and the run).
// Adding a method = one file exporting a DetectionMethod (see types.ts) + one line here.
import { cusumMethod } from './cusum.ts';
import { earsMethod } from './ears.ts';
import { farringtonFlexibleMethod } from './farrington.ts';
import type { DetectionMethod } from './types.ts';

export const METHOD_NAMES = ['earsC1', 'earsC2', 'earsC3', 'farringtonFlexible', 'cusum'] as const;
export type MethodName = (typeof METHOD_NAMES)[number];

// Entries are typed by their own control; the table forgets it (a job's params are parsed by the same entry).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyMethod = DetectionMethod<any>;

export const METHODS: { readonly [K in MethodName]?: AnyMethod } = {
  earsC1: earsMethod('C1'),
  earsC2: earsMethod('C2'),
  earsC3: earsMethod('C3'),
  farringtonFlexible: farringtonFlexibleMethod,
  cusum: cusumMethod,
};

export function isMethodName(name: unknown): name is MethodName {
  return typeof name === 'string' && (METHOD_NAMES as readonly string[]).includes(name);
}

export type { DetectionMethod, DetectionResult, Frequency, PointResult, Range, Series } from './types.ts';
export { ControlError } from './types.ts';
