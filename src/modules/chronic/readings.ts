// A resident's last readings from the shared record (any institution: blood pressure, glucose, heart rate) and last
// medications, to pre-fill a follow-up form and to show beside worklist items. One statement for a page of residents.
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

export type Medication = { name: string; dose: string | null };

/**
 * The residents' last readings (the latest observation per resident and watched code, from any institution:
 * observation_resident_code_idx) and medications (those of the last follow-up, else up to 10 active prescriptions
 * from any institution, newest first), in one statement.
 */
export async function lastReadingsAndMedications(q: Queryable, residentIds: number[]): Promise<{ readings: Map<number, Readings>; medications: Map<number, Medication[]> }> {
  const readings = new Map<number, Readings>();
  const medications = new Map<number, Medication[]>();
  if (!residentIds.length) return { readings, medications };
  // o: the readings; f: the last follow-up's medications; m: the active prescriptions, used when f has none
  const { rows } = await q.query(
    `SELECT * FROM (
       SELECT 'o' AS k, o.resident_id, o.code_system, o.code, o.value_num, o.unit, o.unit_code, o.components, o.effective_at, o.institution_id, i.name AS institution_name,
              NULL::jsonb AS medications, NULL::text AS display, NULL::text AS dosage_text, NULL::bigint AS n
         FROM (SELECT DISTINCT ON (o.resident_id, o.code) o.* FROM observation o
                WHERE o.resident_id = ANY($1::bigint[]) AND o.code = ANY($2::text[]) AND o.status NOT IN ('cancelled', 'entered-in-error')
                ORDER BY o.resident_id, o.code, o.effective_at DESC, o.id DESC) o
         LEFT JOIN institution i ON i.id = o.institution_id
       UNION ALL
       SELECT 'f', f.resident_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, f.medications, NULL, NULL, NULL
         FROM (SELECT DISTINCT ON (resident_id) resident_id, medications FROM chronic_follow_up WHERE resident_id = ANY($1::bigint[]) ORDER BY resident_id, visit_at DESC, id DESC) f
       UNION ALL
       SELECT 'm', m.resident_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, m.display, m.dosage_text, m.n
         FROM (SELECT m.resident_id, m.display, m.dosage_text, row_number() OVER (PARTITION BY m.resident_id ORDER BY m.authored_at DESC, m.id DESC) AS n
                 FROM medication_request m WHERE m.resident_id = ANY($1::bigint[]) AND m.status = 'active') m WHERE m.n <= 10) x
      ORDER BY k, resident_id, code, n`,
    [residentIds, [...WATCHED_CODES].filter((c) => c !== LOINC.temperature)],
  );
  const prescribed = new Map<number, Medication[]>();
  for (const r of rows) {
    const rid = Number(r.resident_id);
    if (r.k === 'f') {
      const list = (r.medications as { name: string; dose?: string | null }[]).map((m) => ({ name: m.name, dose: m.dose ?? null }));
      if (list.length) medications.set(rid, list);
      continue;
    }
    if (r.k === 'm') {
      let list = prescribed.get(rid);
      if (!list) prescribed.set(rid, (list = []));
      list.push({ name: r.display, dose: r.dosage_text ?? null });
      continue;
    }
    const cur = readings.get(rid) ?? { sbp: null, dbp: null, fpg: null, glucose: null, heartRate: null };
    const m = measuresOfObservation(r);
    const at = new Date(r.effective_at).toISOString();
    const mk = (value: number): Reading => ({ value, at, institutionId: Number(r.institution_id), institutionName: r.institution_name ?? null });
    const later = (x: Reading | null) => !x || x.at < at;
    if (m.sbp !== undefined && later(cur.sbp)) cur.sbp = mk(m.sbp);
    if (m.dbp !== undefined && later(cur.dbp)) cur.dbp = mk(m.dbp);
    if (m.fpg !== undefined && later(cur.fpg)) cur.fpg = mk(m.fpg);
    if (m.glucose !== undefined && later(cur.glucose)) cur.glucose = mk(m.glucose);
    if (m.heart_rate !== undefined && later(cur.heartRate)) cur.heartRate = mk(m.heart_rate);
    readings.set(rid, cur);
  }
  for (const [rid, list] of prescribed) if (!medications.has(rid)) medications.set(rid, list);
  return { readings, medications };
}
