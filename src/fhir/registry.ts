// Every resource type the facade serves, by name. The CapabilityStatement is generated from this list, so it cannot
// claim what is not here.
import { AppError } from '../platform/errors.ts';
import type { ResourceKind } from './types.ts';
import { patientKind } from './resources/patient.ts';
import { encounterKind } from './resources/encounter.ts';
import { observationKind, conditionKind } from './resources/observation.ts';

export const KINDS: ReadonlyMap<string, ResourceKind> = new Map(
  [patientKind, encounterKind, conditionKind, observationKind].map((k) => [k.type, k]),
);

export function kindOf(type: string): ResourceKind {
  const k = KINDS.get(type);
  if (!k) throw new AppError('NOT_FOUND', { noun: 'resource', what: `${String(type).slice(0, 40)}` });
  return k;
}
