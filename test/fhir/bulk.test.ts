// FHIR bulk data: $export (kick-off, status, download, cancel; system, Patient and Group level; _type, _since),
// access control and audit, $import of NDJSON (bad lines reported, valid lines kept, idempotent re-import), the
// export → wipe → import round trip, and the CLI.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fhirPkg from 'fhir';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { createPgDatabase } from '../helpers/db.ts';
import { KINDS } from '../../src/fhir/registry.ts';
import { importStream } from '../../src/fhir/bulk/import.ts';
import { loadPrincipal } from '../../src/platform/principal.ts';
import { addDays, districtDate } from '../../src/platform/local-date.ts';

const { Fhir, ParseConformance, Versions } = fhirPkg as any;
const validator = new Fhir(new ParseConformance(true, Versions.R4));

let s: TestServer;
let admin: string;
let doctor: string;
let residents: { id: number; grid_id: number; community_id: number }[];
const FHIR = '/fhir/R4';
const ASYNC = { prefer: 'respond-async', accept: 'application/fhir+json' };

const get = (url: string, cookie: string, headers: Record<string, string> = {}) => s.app.inject({ url, headers: { cookie, ...headers } });
const post = (url: string, cookie: string, payload: unknown, headers: Record<string, string> = {}) =>
  s.app.inject({ method: 'POST', url, headers: { cookie, 'content-type': 'application/fhir+json', ...headers }, payload: typeof payload === 'string' ? payload : JSON.stringify(payload) });
const ndjson = (lines: unknown[]) => lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n';
const importNdjson = (body: string, cookie = admin) => s.app.inject({ method: 'POST', url: `${FHIR}/$import`, headers: { cookie, 'content-type': 'application/fhir+ndjson' }, payload: body });

function encounter(sender: string, patient: number, extra: Record<string, unknown> = {}) {
  return {
    resourceType: 'Encounter', id: sender, status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    subject: { reference: `Patient/${patient}` }, period: { start: '2026-10-01T09:00:00+08:00', end: '2026-10-01T09:20:00+08:00' }, ...extra,
  };
}
function observation(sender: string, patient: number, enc: string | null, value: number, extra: Record<string, unknown> = {}) {
  return {
    resourceType: 'Observation', id: sender, status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '8480-6', display: 'Systolic blood pressure' }] },
    subject: { reference: `Patient/${patient}` }, ...(enc ? { encounter: { reference: `Encounter/${enc}` } } : {}),
    effectiveDateTime: '2026-10-01T09:10:00+08:00', valueQuantity: { value, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' }, ...extra,
  };
}

/** Kick-off, poll until done, return the manifest. */
async function runExport(path: string, cookie = admin) {
  const k = await get(`${FHIR}${path}`, cookie, ASYNC);
  expect(k.statusCode, k.body).toBe(202);
  const status = k.headers['content-location'] as string;
  expect(status).toMatch(/\/fhir\/R4\/\$export-status\/[0-9a-f-]{36}$/);
  const url = status.replace(/^https?:\/\/[^/]+/, '');
  for (let i = 0; i < 200; i++) {
    const r = await get(url, cookie);
    if (r.statusCode === 200) return { manifest: r.json(), statusUrl: url };
    expect(r.statusCode).toBe(202);
    expect(r.headers['x-progress']).toBeTruthy();
    await new Promise((res) => setTimeout(res, 25));
  }
  throw new Error('export did not finish');
}

async function download(manifest: any, type: string, cookie = admin): Promise<any[]> {
  const o = manifest.output.find((x: any) => x.type === type);
  if (!o) return [];
  const r = await get(o.url.replace(/^https?:\/\/[^/]+/, ''), cookie);
  expect(r.statusCode).toBe(200);
  expect(r.headers['content-type']).toMatch(/application\/fhir\+ndjson/);
  const lines = r.body.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  expect(lines).toHaveLength(o.count);
  return lines;
}

async function count(table: string): Promise<number> {
  return (await s.started.ctx.db.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n;
}

beforeAll(async () => {
  s = await startTestServer();
  admin = await s.login('admin');
  doctor = await s.login('doctor1');
  // residents in two different grids (and communities where the test district has them)
  const { rows } = await s.started.ctx.db.query<{ id: number; grid_id: number; community_id: number }>('SELECT id, grid_id, community_id FROM resident WHERE grid_id IS NOT NULL ORDER BY grid_id, id');
  const first = rows[0];
  const other = rows.find((r) => r.community_id !== first.community_id) ?? rows.find((r) => r.grid_id !== first.grid_id)!;
  residents = [first, rows[1], other];
  // clinical records through the REST API: with and without the sender's identifier
  const body = ndjson([
    encounter('seed-e1', first.id, { identifier: [{ system: 'https://hospital.example/enc', value: 'E-1' }] }),
    encounter('seed-e2', other.id, { class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' } }),
    observation('seed-o1', first.id, 'seed-e1', 132),
    observation('seed-o2', first.id, 'seed-e1', 128, { identifier: [{ system: 'https://hospital.example/obs', value: 'O-2' }] }),
    observation('seed-o3', other.id, 'seed-e2', 141, { referenceRange: [{ low: { value: 90, unit: 'mmHg' }, high: { value: 140, unit: 'mmHg' } }] }),
    { resourceType: 'Condition', id: 'seed-c1', code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10', code: 'I10', display: '高血压' }] }, subject: { reference: `Patient/${other.id}` }, encounter: { reference: 'Encounter/seed-e2' }, recordedDate: '2026-10-02' },
  ]);
  const r = await importNdjson(body);
  expect(r.statusCode, r.body).toBe(200);
  expect(r.json(), r.body).toMatchObject({ created: 6, failed: 0 });
});
afterAll(async () => s?.close());

describe('$export', () => {
  test('only district administrators may export; kick-off needs Prefer: respond-async', async () => {
    const r = await get(`${FHIR}/$export`, doctor, ASYNC);
    expect(r.statusCode).toBe(403);
    expect(r.json()).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'forbidden', details: { coding: [{ code: 'FORBIDDEN' }] } }] });
    expect((await get(`${FHIR}/Patient/$export`, doctor, ASYNC)).statusCode).toBe(403);
    expect((await get(`${FHIR}/Group/${residents[0].grid_id}/$export`, doctor, ASYNC)).statusCode).toBe(403);
    const sync = await get(`${FHIR}/$export`, admin, { accept: 'application/fhir+json', 'accept-language': 'en' });
    expect(sync.statusCode).toBe(400);
    expect(sync.json().issue[0]).toMatchObject({ code: 'value', expression: ['Prefer'] });
    const fmt = await get(`${FHIR}/$export?_outputFormat=text/csv`, admin, ASYNC);
    expect(fmt.statusCode).toBe(400);
    expect(fmt.json().issue[0]).toMatchObject({ code: 'not-supported', expression: ['_outputFormat'] });
    const type = await get(`${FHIR}/$export?_type=Nothing`, admin, ASYNC);
    expect(type.statusCode).toBe(400);
    expect(type.json().issue[0].expression).toEqual(['_type']);
  });

  test('system level: kick-off, 202 while running, manifest, download of valid NDJSON, one audit event', async () => {
    const auditBefore = await count("audit_event WHERE action = 'export'");
    const { manifest, statusUrl } = await runExport('/$export');
    expect(manifest).toMatchObject({ requiresAccessToken: true, error: [] });
    expect(manifest.request).toMatch(/\/fhir\/R4\/\$export$/);
    const types = manifest.output.map((o: any) => o.type).sort();
    // every kind the registry serves that has rows (other kinds join as they are added)
    expect(types).toEqual(expect.arrayContaining(['Condition', 'Encounter', 'Observation', 'Patient']));
    expect(types.every((t: string) => KINDS.has(t))).toBe(true);
    expect(manifest.output.find((o: any) => o.type === 'Patient').count).toBe(await count('resident'));
    expect(manifest.output.find((o: any) => o.type === 'Observation').count).toBe(await count('observation'));
    const obs = await download(manifest, 'Observation');
    const samples = [...obs, ...(await download(manifest, 'Encounter')), ...(await download(manifest, 'Condition'))];
    for (const o of manifest.output) samples.push(...(await download(manifest, o.type)).slice(0, 10));
    for (const o of samples) {
      const v = validator.validate(o);
      expect(v.messages.filter((m: any) => m.severity === 'error'), JSON.stringify(o)).toEqual([]);
    }
    expect(await count("audit_event WHERE action = 'export'")).toBe(auditBefore + 1);
    const jobId = statusUrl.split('/').pop();
    const a = await s.started.ctx.db.query("SELECT username, resource_type, resource_id, purpose FROM audit_event WHERE action = 'export' ORDER BY id DESC LIMIT 1");
    expect(a.rows[0]).toEqual({ username: 'admin', resource_type: 'Bulk$export', resource_id: jobId, purpose: `bulk export of all residents: ${[...KINDS.keys()].join(',')}` });
    // someone else cannot poll or download the job
    expect((await get(statusUrl, doctor)).statusCode).toBe(404);
    const fileUrl = manifest.output[0].url.replace(/^https?:\/\/[^/]+/, '');
    expect((await get(fileUrl, doctor)).statusCode).toBe(404);
    // the job survives as a row (a restart keeps its state)
    const job = await s.started.ctx.db.query('SELECT kind, status FROM job WHERE id = $1', [jobId]);
    expect(job.rows[0]).toEqual({ kind: 'fhir-export', status: 'completed' });
  });

  test('_type and _since', async () => {
    const { manifest } = await runExport('/$export?_type=Observation,Encounter');
    expect(manifest.output.map((o: any) => o.type).sort()).toEqual(['Encounter', 'Observation']);
    const later = await runExport('/$export?_type=Observation&_since=2099-01-01T00:00:00%2B08:00');
    expect(later.manifest.output).toEqual([]);
    const earlier = await runExport('/$export?_type=Observation&_since=2000-01-01');
    expect(earlier.manifest.output[0].count).toBe(await count('observation'));
  });

  test('Patient and Group (region) level filter the residents', async () => {
    const patient = await runExport('/Patient/$export?_type=Patient,Observation');
    expect(patient.manifest.output.find((o: any) => o.type === 'Observation').count).toBe(await count('observation'));
    const [first, , other] = residents;
    const grid = await runExport(`/Group/${first.grid_id}/$export`);
    const inGrid = (await s.started.ctx.db.query('SELECT id FROM resident WHERE grid_id = $1', [first.grid_id])).rows.map((r) => String(r.id));
    const pats = await download(grid.manifest, 'Patient');
    expect(pats.map((p) => p.id).sort()).toEqual(inGrid.sort());
    const obs = await download(grid.manifest, 'Observation');
    expect(obs.length).toBeGreaterThan(0);
    expect(obs.every((o) => inGrid.includes(o.subject.reference.split('/')[1]))).toBe(true);
    expect(obs.some((o) => o.subject.reference === `Patient/${other.id}`)).toBe(other.grid_id === first.grid_id);
    const community = await runExport(`/Group/${other.community_id}/$export?_type=Encounter`);
    const encs = await download(community.manifest, 'Encounter');
    expect(encs.map((e) => e.subject.reference)).toContain(`Patient/${other.id}`);
    const unknown = await get(`${FHIR}/Group/999999999/$export`, admin, ASYNC);
    expect(unknown.statusCode).toBe(404);
    const compartment = await get(`${FHIR}/Patient/$export?_type=Bogus`, admin, ASYNC);
    expect(compartment.statusCode).toBe(400);
  });

  test('DELETE on the status URL cancels the job and removes its files', async () => {
    const k = await get(`${FHIR}/$export`, admin, ASYNC);
    const url = (k.headers['content-location'] as string).replace(/^https?:\/\/[^/]+/, '');
    const del = await s.app.inject({ method: 'DELETE', url, headers: { cookie: admin } });
    expect(del.statusCode).toBe(202);
    expect((await get(url, admin)).statusCode).toBe(404);
    const jobId = url.split('/').pop()!;
    // wait for the runner to notice, then nothing is left behind
    for (let i = 0; i < 100; i++) {
      const { rows } = await s.started.ctx.db.query('SELECT status FROM job WHERE id = $1', [jobId]);
      if (rows[0].status === 'cancelled') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 200));
    expect((await s.started.ctx.db.query('SELECT status FROM job WHERE id = $1', [jobId])).rows[0].status).toBe('cancelled');
    expect(existsSync(join(s.started.ctx.config.dataDir, 'exports', jobId))).toBe(false);
    expect((await s.app.inject({ method: 'DELETE', url, headers: { cookie: admin } })).statusCode).toBe(404);
  });
});

describe('$import', () => {
  test('only district administrators may import', async () => {
    const r = await importNdjson(ndjson([observation('x', residents[0].id, null, 120)]), doctor);
    expect(r.statusCode).toBe(403);
  });

  test('bad lines are reported with line number and element; valid lines are kept', async () => {
    const [first] = residents;
    const before = await count('observation');
    const body = ndjson([
      encounter('bad-e1', first.id),
      observation('bad-o1', first.id, 'bad-e1', 125),
      '{"resourceType": "Observation", ',
      observation('bad-o2', first.id, 'bad-e1', 125, { status: 'done' }),
      { resourceType: 'Spaceship', id: 'x' },
      observation('bad-o3', first.id, 'no-such-encounter', 125),
      observation('bad-o4', first.id, null, 125, { effectiveDateTime: '2026-02-30' }),
      '',
      observation('bad-o5', first.id, 'bad-e1', 119),
    ]);
    const r = await importNdjson(body);
    expect(r.statusCode).toBe(200);
    const res = r.json();
    expect(res).toMatchObject({ lines: 9, imported: 3, created: 3, updated: 0, failed: 5 });
    expect(res.error.map((e: any) => [e.line, e.resourceType, e.outcome.issue[0].expression?.[0], e.outcome.issue[0].details.coding[0].code])).toEqual([
      [3, null, undefined, 'MALFORMED_JSON'],
      [5, 'Spaceship', 'resourceType', 'FHIR_INVALID'],
      [4, 'Observation', 'Observation.status', 'FHIR_INVALID'],
      [6, 'Observation', 'Observation.encounter.reference', 'FHIR_BAD_REFERENCE'],
      [7, 'Observation', 'Observation.effectiveDateTime', 'FHIR_INVALID'],
    ]);
    expect(res.error[2].outcome.issue[0].diagnostics).toBe('body line 4: Observation.status 无效："done" is not one of registered, preliminary, final, amended, corrected, cancelled, entered-in-error, unknown');
    expect(await count('observation')).toBe(before + 2);
    // the observations point at the encounter imported with them, by its new local id
    const { rows } = await s.started.ctx.db.query("SELECT o.encounter_id, e.source_id FROM observation o JOIN encounter e ON e.id = o.encounter_id WHERE o.source_id = 'urn:caregrid:import:Observation|bad-o1'");
    expect(rows[0].source_id).toBe('urn:caregrid:import:Encounter|bad-e1');
    // the importing institution's clinicians now have a treatment relationship with the resident
    const rel = await s.started.ctx.db.query("SELECT kind, source_ref FROM care_relationship WHERE resident_id = $1 AND source_ref = 'encounter' ORDER BY kind", [first.id]);
    expect(rel.rows.map((x) => x.kind)).toContain('consultation');
  });

  test('re-import is idempotent on the senders’ ids; a changed line updates (one new version)', async () => {
    const [first] = residents;
    const lines = [encounter('idem-e1', first.id), observation('idem-o1', first.id, 'idem-e1', 150), observation('idem-o2', first.id, 'idem-e1', 90, { identifier: [{ system: 'https://lab.example/obs', value: 'L-9' }] })];
    const a = (await importNdjson(ndjson(lines))).json();
    expect(a).toMatchObject({ created: 3, updated: 0, unchanged: 0, failed: 0 });
    const counts = [await count('encounter'), await count('observation')];
    const b = (await importNdjson(ndjson(lines))).json();
    expect(b).toMatchObject({ created: 0, updated: 0, unchanged: 3, failed: 0 });
    expect([await count('encounter'), await count('observation')]).toEqual(counts);
    const changed = (await importNdjson(ndjson([lines[0], observation('idem-o1', first.id, 'idem-e1', 155)]))).json();
    expect(changed).toMatchObject({ created: 0, updated: 1, unchanged: 1 });
    const { rows } = await s.started.ctx.db.query("SELECT id, value_num, version FROM observation WHERE source_id = 'urn:caregrid:import:Observation|idem-o1'");
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ value_num: '155', version: 2 });
    const hist = await get(`${FHIR}/Observation/${rows[0].id}/_history`, admin);
    expect(hist.json().total).toBe(2);
    // the identifier, not the id, is the key when there is one
    expect((await s.started.ctx.db.query("SELECT count(*)::int AS n FROM observation WHERE source_id = 'https://lab.example/obs|L-9'")).rows[0].n).toBe(1);
  });

  /** importStream with small batches (the API's are 5,000 lines), as the admin, over lines given in memory. */
  async function importInBatches(lines: unknown[], batchSize: number) {
    const { db, keys, config } = s.started.ctx;
    const { rows } = await db.query("SELECT id FROM app_user WHERE username = 'admin'");
    const principal = (await loadPrincipal(db, rows[0].id))!;
    async function* source() {
      for (const l of lines) yield typeof l === 'string' ? l : JSON.stringify(l);
    }
    return importStream({ db, keys, principal, audit: { principal, requestId: 'test' }, dataDir: config.dataDir, base: 'http://test', locale: 'en', batchSize }, [{ name: 'batches.ndjson', lines: source() }]);
  }

  test('the same sender key in two batches: the later line updates the row the earlier batch created', async () => {
    const p = residents[1].id;
    const lines = [
      encounter('kb-e1', p), observation('kb-o1', p, 'kb-e1', 100),
      observation('kb-o2', p, 'kb-e1', 70), observation('kb-o1', p, 'kb-e1', 101), // kb-o1 again, in the next batch
      encounter('kb-e1', p, { period: { start: '2026-10-01T09:00:00+08:00', end: '2026-10-01T10:00:00+08:00' } }),
    ];
    const first = await importInBatches(lines, 2);
    expect(first).toMatchObject({ lines: 5, imported: 5, created: 3, updated: 2, unchanged: 0, failed: 0 });
    const db = s.started.ctx.db;
    const o1 = await db.query("SELECT value_num, version FROM observation WHERE source_id = 'urn:caregrid:import:Observation|kb-o1'");
    expect(o1.rows).toEqual([{ value_num: '101', version: 2 }]);
    const e1 = await db.query("SELECT id, end_at, version FROM encounter WHERE source_id = 'urn:caregrid:import:Encounter|kb-e1'");
    expect(e1.rows).toHaveLength(1);
    expect(e1.rows[0]).toMatchObject({ end_at: new Date('2026-10-01T02:00:00Z'), version: 2 });
    const o2 = await db.query("SELECT encounter_id FROM observation WHERE source_id = 'urn:caregrid:import:Observation|kb-o2'");
    expect(o2.rows).toEqual([{ encounter_id: e1.rows[0].id }]);
    // a re-import in batches (the first batch's COPY meets the existing keys) replays the lines in order: the first
    // kb-e1 and kb-o1 lines change the rows back, the later ones forward again; kb-o2 is unchanged (no new version)
    const again = await importInBatches(lines, 2);
    expect(again).toMatchObject({ imported: 5, created: 0, updated: 4, unchanged: 1, failed: 0 });
    const obs = await db.query("SELECT source_id, value_num, version FROM observation WHERE source_id LIKE 'urn:caregrid:import:Observation|kb-%' ORDER BY source_id");
    expect(obs.rows).toEqual([
      { source_id: 'urn:caregrid:import:Observation|kb-o1', value_num: '101', version: 4 },
      { source_id: 'urn:caregrid:import:Observation|kb-o2', value_num: '70', version: 1 },
    ]);
  });

  // Dates relative to the district's today, so that the access these tests expect has not run out when they run.
  const day = (offset: number, time = '09:00') => `${addDays(districtDate(), offset)}T${time}:00+08:00`;

  test('care relationships: one row per resident, institution and kind, extended to the latest date, whatever the batches', async () => {
    const p = residents[2].id;
    const db = s.started.ctx.db;
    // an inpatient stay ending in 200 days; outpatient care 10 days ago; results in later batches
    const amb = (start: string, end: string) => ({ period: { start, end } });
    const lines = [
      encounter('cr-e1', p, { class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' }, period: { start: day(198), end: day(200) } }),
      encounter('cr-e2', p, amb(day(-10), day(-10, '09:20'))), observation('cr-o1', p, 'cr-e2', 120, { effectiveDateTime: day(-10, '09:10') }),
      observation('cr-o2', p, 'cr-e1', 121, { effectiveDateTime: day(-3) }), encounter('cr-e3', p, amb(day(-20), day(-20, '09:20'))),
    ];
    const r = await importInBatches(lines, 2);
    expect(r).toMatchObject({ created: 5, failed: 0 });
    const { rows } = await db.query(
      "SELECT kind, count(*)::int AS n, max(valid_to)::text AS valid_to FROM care_relationship WHERE resident_id = $1 AND source_ref = 'encounter' AND institution_id = (SELECT institution_id FROM encounter WHERE source_id = 'urn:caregrid:import:Encounter|cr-e2') GROUP BY kind ORDER BY kind",
      [p],
    );
    // the consultation reaches 90 days past the latest outpatient care (the result 3 days ago), not past the import
    expect(rows).toEqual([
      { kind: 'admission', n: 1, valid_to: addDays(districtDate(), 290) },
      { kind: 'consultation', n: 1, valid_to: addDays(districtDate(), 87) },
    ]);
  });

  test('care relationships: results in a later batch extend the relationship their encounter created in an earlier one', async () => {
    const db = s.started.ctx.db;
    // a resident no earlier test has written records for
    const used = residents.map((x) => x.id);
    const p = (await db.query<{ id: number }>("SELECT id FROM resident WHERE status = 'active' AND id <> ALL($1::bigint[]) AND NOT EXISTS (SELECT 1 FROM care_relationship c WHERE c.resident_id = resident.id) ORDER BY id LIMIT 1", [used])).rows[0].id;
    // batch 1: two encounters 30 days ago; batch 2: their results, the later one taken 5 days ago
    const enc = (id: string) => encounter(id, p, { period: { start: day(-30), end: day(-30, '09:20') } });
    const r = await importInBatches([enc('ext-e1'), enc('ext-e2'), observation('ext-o1', p, 'ext-e1', 118, { effectiveDateTime: day(-30, '09:10') }), observation('ext-o2', p, 'ext-e2', 119, { effectiveDateTime: day(-5) })], 2);
    expect(r).toMatchObject({ created: 4, failed: 0 });
    const { rows } = await db.query("SELECT kind, count(*)::int AS n, max(valid_to)::text AS valid_to FROM care_relationship WHERE resident_id = $1 GROUP BY kind", [p]);
    expect(rows).toEqual([{ kind: 'consultation', n: 1, valid_to: addDays(districtDate(), 85) }]);
  });

  test('care relationships: history grants no access — records whose care is more than 90 days old, sent today, open nothing', async () => {
    const db = s.started.ctx.db;
    const used = residents.map((x) => x.id);
    const p = (await db.query<{ id: number }>("SELECT id FROM resident WHERE status = 'active' AND id <> ALL($1::bigint[]) AND NOT EXISTS (SELECT 1 FROM care_relationship c WHERE c.resident_id = resident.id) ORDER BY id LIMIT 1", [used])).rows[0].id;
    // an archive: an encounter and its result from 91 days ago, and a result whose effective time is missing (now)
    const lines = [encounter('old-e1', p, { period: { start: day(-91), end: day(-91, '09:20') } }), observation('old-o1', p, 'old-e1', 117, { effectiveDateTime: day(-91, '09:10') })];
    expect(await importInBatches(lines, 1)).toMatchObject({ created: 2, failed: 0 });
    expect((await db.query('SELECT count(*)::int AS n FROM care_relationship WHERE resident_id = $1', [p])).rows[0].n).toBe(0);
    // the same through the REST API: an old result opens nothing, a result of today opens 90 days
    const old = await post(`${FHIR}/Observation`, admin, observation('old-o2', p, null, 116, { effectiveDateTime: day(-120) }));
    expect(old.statusCode, old.body).toBe(201);
    expect((await db.query('SELECT count(*)::int AS n FROM care_relationship WHERE resident_id = $1', [p])).rows[0].n).toBe(0);
    const recent = await post(`${FHIR}/Observation`, admin, observation('new-o2', p, null, 116, { effectiveDateTime: day(0, '00:01') }));
    expect(recent.statusCode, recent.body).toBe(201);
    const { rows } = await db.query('SELECT kind, valid_to::text AS valid_to FROM care_relationship WHERE resident_id = $1', [p]);
    expect(rows).toEqual([{ kind: 'consultation', valid_to: addDays(districtDate(), 90) }]);
  });

  test('round trip: export, wipe the clinical tables, import, the same data', async () => {
    const types = 'Encounter,Condition,Observation';
    const first = await runExport(`/$export?_type=${types}`);
    const before = Object.fromEntries(await Promise.all(types.split(',').map(async (t) => [t, await download(first.manifest, t)])));
    const db = s.started.ctx.db;
    await db.exec("DELETE FROM observation; DELETE FROM condition; DELETE FROM encounter; DELETE FROM row_history WHERE table_name IN ('observation', 'condition', 'encounter')");
    expect(await count('observation')).toBe(0);
    const manifest = {
      resourceType: 'Parameters',
      parameter: [
        { name: 'inputFormat', valueCode: 'application/fhir+ndjson' },
        // listed out of order on purpose: the server writes Encounters before what refers to them
        ...first.manifest.output.slice().reverse().map((o: any) => ({ name: 'input', part: [{ name: 'type', valueCode: o.type }, { name: 'url', valueUri: o.url }] })),
      ],
    };
    const imp = await post(`${FHIR}/$import`, admin, manifest);
    expect(imp.statusCode, imp.body).toBe(200);
    expect(imp.json()).toMatchObject({ failed: 0, created: Object.values(before).flat().length });
    const again = await runExport(`/$export?_type=${types}`);
    const after = Object.fromEntries(await Promise.all(types.split(',').map(async (t) => [t, await download(again.manifest, t)])));
    expect(normalize(after)).toEqual(normalize(before));
  });
});

/**
 * Resources compared without id and meta, references to exported resources replaced by the referenced resource's
 * own normalized form, and the import key a resource without identifier received (urn:caregrid:import:…) dropped.
 */
function normalize(byType: Record<string, any[]>): Record<string, string[]> {
  const byRef = new Map<string, any>();
  for (const [t, list] of Object.entries(byType)) for (const r of list) byRef.set(`${t}/${r.id}`, r);
  const strip = (r: any) => {
    const { id: _id, meta: _meta, ...rest } = r;
    if (rest.identifier) {
      rest.identifier = rest.identifier.filter((i: any) => !String(i.system).startsWith('urn:caregrid:import:'));
      if (!rest.identifier.length) delete rest.identifier;
    }
    return rest;
  };
  const out: Record<string, string[]> = {};
  for (const [t, list] of Object.entries(byType)) {
    out[t] = list.map((r) => JSON.stringify(strip(r), (k, v) => (k === 'reference' && byRef.has(v) ? JSON.stringify(strip(byRef.get(v))) : v))).sort();
  }
  return out;
}

describe('CLI', () => {
  let dir: string;
  let database: Awaited<ReturnType<typeof createPgDatabase>> | null = null;
  const root = join(import.meta.dirname, '..', '..');
  const caregrid = (...args: string[]) => {
    const env = { ...process.env, CAREGRID_DATA_DIR: join(dir, 'data'), CAREGRID_SECRET: 'cli-bulk-secret-'.padEnd(40, 'x'), CAREGRID_DEMO_PASSWORD: 'Cli-Demo-2026!', CAREGRID_ADMIN_PASSWORD: 'Cli-Admin-2026!' } as NodeJS.ProcessEnv;
    if (database) env.DATABASE_URL = database.url;
    else delete env.DATABASE_URL;
    const r = spawnSync(process.execPath, [join(root, 'bin', 'caregrid.js'), ...args], { env, encoding: 'utf8', timeout: 180_000 });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cg-bulk-cli-'));
    if (process.env.DATABASE_URL) database = await createPgDatabase(process.env.DATABASE_URL);
  });
  afterAll(async () => {
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('caregrid import <files> and caregrid export --out', () => {
    expect(caregrid('seed', '--profile', 'test', '--seed', '5', '--residents', '50').code).toBe(0);
    writeFileSync(join(dir, 'Observation.ndjson'), ndjson([observation('cli-o1', 1, 'cli-e1', 130), observation('cli-o2', 1, 'cli-e1', 'high' as any)]));
    writeFileSync(join(dir, 'Encounter.ndjson'), ndjson([encounter('cli-e1', 1)]));
    // given in the wrong order: Encounter.ndjson is still written first
    const imp = caregrid('import', join(dir, 'Observation.ndjson'), join(dir, 'Encounter.ndjson'));
    expect(imp.code, imp.err).toBe(1);
    expect(imp.out).toMatch(/^imported 2 resources \(2 created, 0 updated, 0 unchanged\), 1 failed lines; job [0-9a-f-]{36}\n/);
    expect(imp.out).toContain(`${join(dir, 'Observation.ndjson')} line 2: Invalid Observation.valueQuantity.value: must be a number [Observation.valueQuantity.value]`);
    const again = caregrid('import', join(dir, 'Encounter.ndjson'));
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/^imported 1 resources \(0 created, 0 updated, 1 unchanged\), 0 failed lines/);
    const out = join(dir, 'out');
    const exp = caregrid('export', '--out', out, '--type', 'Encounter,Observation');
    expect(exp.code, exp.err).toBe(0);
    expect(exp.out).toBe(`Encounter: 1 resources → ${join(out, 'Encounter.ndjson')}\nObservation: 1 resources → ${join(out, 'Observation.ndjson')}\n`);
    expect(readdirSync(out).sort()).toEqual(['Encounter.ndjson', 'Observation.ndjson']);
    const o = JSON.parse(readFileSync(join(out, 'Observation.ndjson'), 'utf8').trim());
    expect(o).toMatchObject({ resourceType: 'Observation', subject: { reference: 'Patient/1' }, valueQuantity: { value: 130 } });
  }, 240_000);
});
