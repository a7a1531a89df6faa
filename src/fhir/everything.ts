// Patient/$everything (https://hl7.org/fhir/R4/patient-operation-everything.html): the resident and every record
// about them from every institution, with the organizations that recorded them. One audit event per call.
import { audit } from '../platform/audit.ts';
import { AppError } from '../platform/errors.ts';
import { Params } from '../platform/sql.ts';
import type { Json } from './datatypes.ts';
import { dateRange } from './search.ts';
import { KINDS, kindOf } from './registry.ts';
import { loadRow, type RequestContext } from './repository.ts';

const MAX_PER_TYPE = 5000;

export async function everything(rc: RequestContext, patientId: number, query: Record<string, string>): Promise<Json> {
  const patientKind = kindOf('Patient');
  const patient = await loadRow(rc, patientKind, patientId);
  const since = query._since ? dateRange(query._since, '_since').lo : null;
  const start = query.start ? dateRange(query.start, 'start').lo : null;
  const end = query.end ? dateRange(query.end, 'end').hi : null;
  const types = query._type ? query._type.split(',') : null;
  if (types) for (const t of types) if (!KINDS.has(t)) throw new AppError('FHIR_INVALID', { path: '_type', detail: `unknown type ${t.slice(0, 40)}` }, '_type');
  const kinds = [...KINDS.values()].filter((k) => k.residentColumn && !k.isResident && (!types || types.includes(k.type)));
  const results = await Promise.all(kinds.map(async (k) => {
    const params = new Params();
    const where = [`t.${k.residentColumn} = ${params.add(patientId)}`];
    if (since) where.push(`t.updated_at >= ${params.add(since)}`);
    if (k.dateColumn && start) where.push(`t.${k.dateColumn} >= ${params.add(start)}`);
    if (k.dateColumn && end) where.push(`t.${k.dateColumn} < ${params.add(end)}`);
    const { rows } = await rc.q.query(`SELECT ${k.select} FROM ${k.from} WHERE ${where.join(' AND ')} ORDER BY ${k.order ?? 't.id'} LIMIT ${MAX_PER_TYPE}`, params.values);
    return rows.map((r) => ({ kind: k, row: r }));
  }));
  const records = results.flat();
  const orgIds = [...new Set(records.map((r) => r.row.institution_id).filter((x) => x != null))] as number[];
  const entry: Json[] = [{ fullUrl: `${rc.base}/Patient/${patientId}`, resource: patientKind.toFhir(patient), search: { mode: 'match' } }];
  for (const { kind, row } of records) entry.push({ fullUrl: `${rc.base}/${kind.type}/${row.id}`, resource: kind.toFhir(row), search: { mode: 'match' } });
  if (orgIds.length && KINDS.has('Organization')) {
    const org = kindOf('Organization');
    const { rows } = await rc.q.query(`SELECT ${org.select} FROM ${org.from} WHERE t.id = ANY($1::bigint[])`, [orgIds]);
    for (const r of rows) entry.push({ fullUrl: `${rc.base}/Organization/${r.id}`, resource: org.toFhir(r), search: { mode: 'include' } });
  }
  await audit(rc.q, rc.audit, { action: 'read', resourceType: 'Patient/$everything', resourceId: patientId, residentId: patientId });
  return { resourceType: 'Bundle', type: 'searchset', total: entry.length, entry };
}
