// R4 validity of what the facade serves, checked with the `fhir` package's validator: its errors, plus elements R4
// does not define (value-set notes are information only).
import fhirPkg from 'fhir';

const { Fhir, ParseConformance, Versions } = fhirPkg as any;
const validator = new Fhir(new ParseConformance(true, Versions.R4));

export function r4Problems(resource: Record<string, unknown>): Record<string, unknown>[] {
  return validator.validate(resource).messages.filter((m: { severity: string; message: string }) => m.severity === 'error' || (m.severity === 'warning' && /Unexpected property/.test(m.message)));
}
