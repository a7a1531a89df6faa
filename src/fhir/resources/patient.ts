// Patient: the master person index (resident table) seen as FHIR. Identity numbers are matched through their keyed
// hash and shown masked; other identifier systems (a hospital's MRN) are kept in resident_identifier. A Patient that
// arrives without an identity number is matched on name, birth date, sex and phone as every other registration is.
import type { Row } from '../../db/engine.ts';
import { AppError } from '../../platform/errors.ts';
import { lookupHash } from '../../platform/crypto.ts';
import { validateIdNumber } from '../../platform/idcard.ts';
import { audit } from '../../platform/audit.ts';
import { idNumberError, registerResident, updateResident } from '../../modules/residents/service.ts';
import { SYSTEM, array, clean, date, instant, invalid, object, required, str, type Json } from '../datatypes.ts';
import { dateParam, specialParam, stringParam, tokenParam, or } from '../search.ts';
import type { ResourceKind, WriteContext, WriteResult } from '../types.ts';

const WRITERS = ['district_admin', 'institution_admin', 'family_doctor', 'nurse', 'specialist', 'referral_desk'] as const;

interface PatientInput {
  idNumber: string | null;
  otherIds: { system: string; value: string }[];
  name: string;
  sex: 'male' | 'female';
  birthDate: string;
  phone: string | null;
  address: string | null;
}

function parsePatient(r: Json): PatientInput {
  const otherIds: PatientInput['otherIds'] = [];
  let idNumber: string | null = null;
  array(r.identifier, 'Patient.identifier').forEach((raw, i) => {
    const path = `Patient.identifier[${i}]`;
    const idf = object(raw, path)!;
    const system = str(idf.system, `${path}.system`, 300);
    const value = required(str(idf.value, `${path}.value`, 100), `${path}.value`);
    if (system === SYSTEM.idCard) {
      if (value.includes('*')) return; // the masked form we showed: unchanged
      const parsed = validateIdNumber(value);
      if (!parsed.ok) throw Object.assign(idNumberError(parsed.problem), { field: `${path}.value` });
      idNumber = parsed.id.value;
    } else {
      if (!system) throw new AppError('FHIR_REQUIRED', { path: `${path}.system` }, `${path}.system`);
      otherIds.push({ system, value });
    }
  });
  const names = array(r.name, 'Patient.name');
  const n0 = names.length ? object(names[0], 'Patient.name[0]')! : null;
  const given = n0 ? array(n0.given, 'Patient.name[0].given').map((g, i) => str(g, `Patient.name[0].given[${i}]`, 50) ?? '') : [];
  const family = n0 ? str(n0.family, 'Patient.name[0].family', 50) : null;
  // Chinese names are written family name first, without a space
  const name = (n0 ? str(n0.text, 'Patient.name[0].text', 100) : null) ?? (family || given.length ? `${family ?? ''}${given.join('')}` : null);
  const gender = required(r.gender, 'Patient.gender');
  if (gender !== 'male' && gender !== 'female') throw invalid('Patient.gender', 'CareGrid records sex as male or female (GB/T 2261.1)');
  const birthDate = required(date(r.birthDate, 'Patient.birthDate'), 'Patient.birthDate');
  if (!/^\d{4}-\d{2}-\d{2}$/.test(birthDate)) throw invalid('Patient.birthDate', 'a full date (YYYY-MM-DD) is needed to match a person');
  if (birthDate > new Date().toISOString().slice(0, 10)) throw invalid('Patient.birthDate', 'is in the future');
  let phone: string | null = null;
  array(r.telecom, 'Patient.telecom').forEach((raw, i) => {
    const t = object(raw, `Patient.telecom[${i}]`)!;
    if (phone || t.system !== 'phone') return;
    const v = str(t.value, `Patient.telecom[${i}].value`, 30);
    if (v && !v.includes('*')) {
      const digits = v.replace(/[\s-]/g, '').replace(/^\+86/, '');
      if (!/^1\d{10}$|^0\d{9,11}$/.test(digits)) throw invalid(`Patient.telecom[${i}].value`, 'a mobile number (11 digits) or a landline with area code');
      phone = digits;
    }
  });
  const addresses = array(r.address, 'Patient.address');
  let address: string | null = null;
  if (addresses.length) {
    const a = object(addresses[0], 'Patient.address[0]')!;
    address = str(a.text, 'Patient.address[0].text', 300) ?? (array(a.line, 'Patient.address[0].line').join('') || null);
  }
  return { idNumber, otherIds, name: required(name, 'Patient.name'), sex: gender, birthDate, phone, address };
}

async function addIdentifiers(ctx: WriteContext, residentId: number, ids: PatientInput['otherIds']) {
  for (const i of ids) {
    await ctx.q.query('INSERT INTO resident_identifier (system, value, resident_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [i.system, i.value, residentId]);
  }
}

async function knownByIdentifier(ctx: WriteContext, ids: PatientInput['otherIds']): Promise<number | null> {
  for (const i of ids) {
    const { rows } = await ctx.q.query('SELECT resident_id FROM resident_identifier WHERE system = $1 AND value = $2', [i.system, i.value]);
    if (rows[0]) return rows[0].resident_id;
  }
  return null;
}

export const patientKind: ResourceKind = {
  type: 'Patient',
  table: 'resident',
  from: 'resident t',
  select: `t.*, (SELECT jsonb_agg(jsonb_build_object('system', ri.system, 'value', ri.value) ORDER BY ri.created_at) FROM resident_identifier ri WHERE ri.resident_id = t.id) AS identifiers`,
  residentColumn: 'id',
  isResident: true,
  order: 't.id',
  writers: WRITERS,
  toFhir(row: Row): Json {
    const identifier: Json[] = [];
    if (row.id_number_mask) identifier.push({ use: 'official', system: SYSTEM.idCard, value: row.id_number_mask });
    for (const i of (row.identifiers as Json[] | null) ?? []) identifier.push({ system: i.system, value: i.value });
    const name = String(row.name);
    return clean({
      resourceType: 'Patient',
      id: String(row.id),
      meta: { versionId: String(row.version), lastUpdated: instant(row.updated_at) },
      identifier,
      active: row.status !== 'merged',
      name: [{ use: 'official', text: name, family: name.slice(0, 1), given: name.length > 1 ? [name.slice(1)] : undefined }].map((n) => clean(n)),
      telecom: row.phone_mask ? [{ system: 'phone', value: row.phone_mask }] : undefined,
      gender: row.sex,
      birthDate: typeof row.birth_date === 'string' ? row.birth_date.slice(0, 10) : row.birth_date,
      deceasedBoolean: row.status === 'deceased' ? true : undefined,
      address: row.address ? [{ text: row.address, country: 'CN' }] : undefined,
      link: row.merged_into ? [{ other: { reference: `Patient/${row.merged_into}` }, type: 'replaced-by' }] : undefined,
    });
  },
  search: {
    identifier: specialParam('token', (values, _mod, params, ctx) => or(values.map((v) => {
      const bar = v.indexOf('|');
      const system = bar < 0 ? null : v.slice(0, bar);
      const value = bar < 0 ? v : v.slice(bar + 1);
      const byIdCard = () => {
        const parsed = validateIdNumber(value);
        if (!parsed.ok) {
          if (system === SYSTEM.idCard) throw Object.assign(idNumberError(parsed.problem), { field: 'identifier' });
          return null;
        }
        // Merged records keep their number (and are found, inactive, with a link to the survivor). Spelled as two
        // arms so each uses its partial index (0001 resident_id_number_hash_uq, 0002 resident_merged_id_number_idx)
        // instead of a scan of every resident.
        const h = params.add(lookupHash(ctx.keys, 'id', parsed.id.value));
        return `((t.id_number_hash = ${h} AND t.status <> 'merged') OR (t.id_number_hash = ${h} AND t.status = 'merged'))`;
      };
      if (system === SYSTEM.idCard) return byIdCard()!;
      const other = system
        ? `t.id IN (SELECT ri.resident_id FROM resident_identifier ri WHERE ri.system = ${params.add(system)} AND ri.value = ${params.add(value)})`
        : `t.id IN (SELECT ri.resident_id FROM resident_identifier ri WHERE ri.value = ${params.add(value)})`;
      const card = system ? null : byIdCard();
      return card ? `(${card} OR ${other})` : other;
    })), 'identity number (system ' + SYSTEM.idCard + ') or any other identifier system|value'),
    name: stringParam(['t.name'], 'name (prefix; :contains, :exact)'),
    family: stringParam(['t.name'], 'family name (prefix)'),
    birthdate: dateParam('t.birth_date', 'date'),
    gender: tokenParam('t.sex'),
    active: specialParam('token', (values, _m, params) => or(values.map((v) => (v === 'true' ? `t.status <> 'merged'` : v === 'false' ? `t.status = 'merged'` : 'FALSE')))),
    phone: specialParam('token', (values, _m, params, ctx) => or(values.map((v) => `t.phone_hash = ${params.add(lookupHash(ctx.keys, 'phone', v.replace(/[\s-]/g, '')))}`)), 'phone number (exact, via its keyed hash)'),
    address: stringParam(['t.address'], 'address text (prefix; :contains)'),
  },
  async create(resource: Json, ctx: WriteContext): Promise<WriteResult> {
    const input = parsePatient(resource);
    const known = await knownByIdentifier(ctx, input.otherIds);
    if (known) {
      await addIdentifiers(ctx, known, input.otherIds);
      return { id: known, created: false, residentId: known };
    }
    const r = await registerResident(ctx.q, ctx.keys, { idNumber: input.idNumber, name: input.name, sex: input.sex, birthDate: input.birthDate, phone: input.phone, address: input.address });
    await addIdentifiers(ctx, r.residentId, input.otherIds);
    if (r.outcome === 'matched') await audit(ctx.q, ctx.audit, { action: 'match', resourceType: 'Patient', resourceId: r.residentId, residentId: r.residentId });
    return { id: r.residentId, created: r.outcome === 'created' || r.outcome === 'review', residentId: r.residentId };
  },
  async update(id: number, resource: Json, ctx: WriteContext, existing: Row): Promise<WriteResult> {
    const input = parsePatient(resource);
    const idHash = input.idNumber ? lookupHash(ctx.keys, 'id', input.idNumber) : null;
    const sameId = idHash && existing.id_number_hash && Buffer.compare(Buffer.from(existing.id_number_hash), idHash) === 0;
    const samePhone = input.phone && existing.phone_hash && Buffer.compare(Buffer.from(existing.phone_hash), lookupHash(ctx.keys, 'phone', input.phone)) === 0;
    await updateResident(ctx.q, ctx.keys, ctx.principal, id, {
      version: existing.version,
      name: input.name !== existing.name ? input.name : undefined,
      sex: input.sex !== existing.sex ? input.sex : undefined,
      birthDate: input.birthDate !== existing.birth_date ? input.birthDate : undefined,
      phone: input.phone && !samePhone ? input.phone : undefined,
      address: input.address !== existing.address ? input.address : undefined,
      idNumber: input.idNumber && !sameId ? input.idNumber : undefined,
    });
    await addIdentifiers(ctx, id, input.otherIds);
    return { id, created: false, residentId: id };
  },
};
