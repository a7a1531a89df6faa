// A resident's last readings from the shared record (any institution: blood pressure, glucose, heart rate) and last
// medications, to pre-fill a follow-up form and to show beside worklist items. One statement each for a page of residents.
import type { Queryable } from '../../db/engine.ts';
import { LOINC, WATCHED_CODES, measuresOfObservation } from './rules.ts';

export interface Reading { value: number; at: string; institutionId: number; institutionName: string | null }
export interface Readings {
  sbp: Reading | null;
  dbp: Reading | null;
  fpg: Reading | null;
  glucose: Reading | null;
  heartRate: Reading | null;
}

export async function lastReadings(q: Queryable, residentIds: number[]): Promise<Map<number, Readings>> {
  const out = new Map<number, Readings>();
  if (!residentIds.length) return out;
  // the latest observation per resident and code (observation_resident_code_idx), newest first
  const { rows } = await q.query(
    `SELECT DISTINCT ON (o.resident_id, o.code) o.resident_id, o.code_system, o.code, o.value_num, o.unit, o.unit_code, o.components, o.effective_at, o.institution_id, i.name AS institution_name
       FROM observation o LEFT JOIN institution i ON i.id = o.institution_id
      WHERE o.resident_id = ANY($1::bigint[]) AND o.code = ANY($2::text[]) AND o.status NOT IN ('cancelled', 'entered-in-error')
      ORDER BY o.resident_id, o.code, o.effective_at DESC, o.id DESC`,
    [residentIds, [...WATCHED_CODES].filter((c) => c !== LOINC.temperature)],
  );
  for (const r of rows) {
    const rid = Number(r.resident_id);
    const cur = out.get(rid) ?? { sbp: null, dbp: null, fpg: null, glucose: null, heartRate: null };
    const m = measuresOfObservation(r);
    const at = new Date(r.effective_at).toISOString();
    const mk = (value: number): Reading => ({ value, at, institutionId: Number(r.institution_id), institutionName: r.institution_name ?? null });
    const later = (x: Reading | null) => !x || x.at < at;
    if (m.sbp !== undefined && later(cur.sbp)) cur.sbp = mk(m.sbp);
    if (m.dbp !== undefined && later(cur.dbp)) cur.dbp = mk(m.dbp);
    if (m.fpg !== undefined && later(cur.fpg)) cur.fpg = mk(m.fpg);
    if (m.glucose !== undefined && later(cur.glucose)) cur.glucose = mk(m.glucose);
    if (m.heart_rate !== undefined && later(cur.heartRate)) cur.heartRate = mk(m.heart_rate);
    out.set(rid, cur);
  }
  return out;
}

/** The medications of the last follow-up, else the resident's active prescriptions from any institution. */
export async function lastMedications(q: Queryable, residentIds: number[]): Promise<Map<number, { name: string; dose: string | null }[]>> {
  const out = new Map<number, { name: string; dose: string | null }[]>();
  if (!residentIds.length) return out;
  const { rows } = await q.query(
    `SELECT DISTINCT ON (resident_id) resident_id, medications FROM chronic_follow_up WHERE resident_id = ANY($1::bigint[]) ORDER BY resident_id, visit_at DESC, id DESC`,
    [residentIds],
  );
  for (const r of rows) {
    const list = (r.medications as { name: string; dose?: string | null }[]).map((m) => ({ name: m.name, dose: m.dose ?? null }));
    if (list.length) out.set(Number(r.resident_id), list);
  }
  const rest = residentIds.filter((id) => !out.has(id));
  if (rest.length) {
    const { rows: mr } = await q.query(
      `SELECT resident_id, display, dosage_text FROM (
         SELECT m.resident_id, m.display, m.dosage_text, row_number() OVER (PARTITION BY m.resident_id ORDER BY m.authored_at DESC, m.id DESC) AS n
           FROM medication_request m WHERE m.resident_id = ANY($1::bigint[]) AND m.status = 'active') x WHERE n <= 10 ORDER BY resident_id, n`,
      [rest],
    );
    for (const r of mr) {
      const list = out.get(Number(r.resident_id)) ?? [];
      list.push({ name: r.display, dose: r.dosage_text ?? null });
      out.set(Number(r.resident_id), list);
    }
  }
  return out;
}
