// Every resource type the facade serves, by name. The CapabilityStatement is generated from this list, so it cannot
// claim what is not here.
import { AppError } from '../platform/errors.ts';
import type { ResourceKind } from './types.ts';
import { patientKind } from './resources/patient.ts';
import { encounterKind } from './resources/encounter.ts';
import { observationKind, conditionKind } from './resources/observation.ts';
import { organizationKind, locationKind, practitionerKind, practitionerRoleKind, careTeamKind } from './resources/directory.ts';
import { diagnosticReportKind, medicationRequestKind, allergyIntoleranceKind, immunizationKind, documentReferenceKind, serviceRequestKind } from './resources/clinical.ts';
import { taskKind, scheduleKind, slotKind, appointmentKind } from './resources/workflow.ts';
import { measureReportKind } from './resources/measure-report.ts';
import { episodeOfCareKind } from './resources/episode.ts';
import { carePlanKind, contractKind } from './resources/care-plan.ts';

export const KINDS: ReadonlyMap<string, ResourceKind> = new Map(
  [
    patientKind, organizationKind, locationKind, practitionerKind, practitionerRoleKind, careTeamKind,
    encounterKind, conditionKind, observationKind, diagnosticReportKind, medicationRequestKind, allergyIntoleranceKind, immunizationKind,
    serviceRequestKind, taskKind, scheduleKind, slotKind, appointmentKind, documentReferenceKind, measureReportKind, episodeOfCareKind,
    contractKind, carePlanKind,
  ].map((k) => [k.type, k]),
);

export function kindOf(type: string): ResourceKind {
  const k = KINDS.get(type);
  if (!k) throw new AppError('NOT_FOUND', { noun: 'resource', what: `${String(type).slice(0, 40)}` });
  return k;
}
