// The CapabilityStatement is generated from the kinds the facade actually serves, so it says exactly what works.
import { COMMON_PARAMS } from './search.ts';
import { KINDS } from './registry.ts';
import type { Json } from './datatypes.ts';

export const OPERATIONS: { name: string; definition: string; types: string[] | 'system' }[] = [];

export function registerOperation(op: { name: string; definition: string; types: string[] | 'system' }) {
  if (!OPERATIONS.some((o) => o.name === op.name && JSON.stringify(o.types) === JSON.stringify(op.types))) OPERATIONS.push(op);
}

registerOperation({ name: 'everything', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything', types: ['Patient'] });

export function capabilityStatement(base: string, version: string): Json {
  const resource = [...KINDS.values()].map((k) => {
    const interactions = ['read', 'vread', 'search-type', 'history-instance'];
    if (k.create || k.toRow) interactions.push('create');
    if (k.update || k.toRow) interactions.push('update');
    const searchParam = [
      ...Object.entries(COMMON_PARAMS).map(([name, p]) => ({ name, type: p.type, documentation: p.description })),
      ...Object.entries(k.search).map(([name, p]) => ({ name, type: p.type === 'special' ? 'token' : p.type, documentation: p.description })),
    ].map((p) => (p.documentation ? p : { name: p.name, type: p.type }));
    const operation = OPERATIONS.filter((o) => o.types !== 'system' && o.types.includes(k.type)).map((o) => ({ name: o.name, definition: o.definition }));
    return {
      type: k.type,
      profile: `http://hl7.org/fhir/StructureDefinition/${k.type}`,
      interaction: interactions.map((code) => ({ code })),
      versioning: 'versioned',
      readHistory: true,
      updateCreate: false,
      conditionalCreate: true,
      conditionalUpdate: true,
      conditionalDelete: 'not-supported',
      searchInclude: Object.keys(k.include ?? {}),
      searchParam,
      ...(operation.length ? { operation } : {}),
    };
  });
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString().slice(0, 10),
    publisher: 'CareGrid',
    kind: 'instance',
    software: { name: 'CareGrid', version },
    implementation: { description: 'CareGrid district health platform — FHIR R4 facade over the shared health record', url: base },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [{
      mode: 'server',
      documentation: 'Authenticate with the console session cookie (cg_session) or an institution token (Authorization: Bearer cgt_…). Reads of personal data are scoped to the caller and audited.',
      security: { cors: false, description: 'Session cookie or bearer token; role, institution, region and care-relationship scope on every read.' },
      resource,
      interaction: [{ code: 'transaction' }, { code: 'batch' }],
      operation: OPERATIONS.filter((o) => o.types === 'system').map((o) => ({ name: o.name, definition: o.definition })),
    }].map((r) => (r.operation.length ? r : { ...r, operation: undefined })),
  };
}
