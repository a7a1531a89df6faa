// Residents for a chunk of households, as COPY text. Pure apart from encryption: the same (seed, chunk) always gives
// the same people. Identity numbers are valid GB 11643 numbers that are unique across chunks by construction:
// the sequence slot for a (birth date, sex) is counter × chunkCount + chunkIndex, overflowing into other area codes.
import { createSecretKey, randomBytes } from 'node:crypto';
import { bulkCrypto } from './bulk-crypto.ts';
import { Rng, cumulative } from './random.ts';
import { AGE_BAND_WEIGHTS, diabetesRisk, hypertensionRisk } from './profiles.ts';
import { personName, type HouseholdSpec } from './district.ts';
import { SURNAME_WEIGHTS } from './names.ts';
import { checkCharacter, maskIdNumber, maskPhone } from '../platform/idcard.ts';
import { copyValue } from '../db/engine.ts';

export const RESIDENT_COLUMNS = ['id', 'id_number_enc', 'id_number_hash', 'id_number_mask', 'name', 'sex', 'birth_date', 'phone_enc', 'phone_hash', 'phone_mask', 'household_id', 'grid_id', 'community_id', 'street_id', 'address', 'tags', 'status'] as const;
export const HOUSEHOLD_COLUMNS = ['id', 'grid_id', 'address'] as const;
const AREA_CODES = ['110101', '110102', '110105', '110106', '110107', '110108', '110111', '110112', '110113', '110114'];
// Ages are computed against a fixed date so the district does not change with the day it is built.
export const REFERENCE_DATE = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;

export interface ChunkSpec {
  seed: number;
  chunkIndex: number;
  chunkCount: number;
  firstResidentId: number;
  households: HouseholdSpec[];
}

export interface ChunkKeys {
  enc: Uint8Array;
  lookup: Uint8Array;
  keyId: number;
}

export interface ChunkOutput {
  residents: string;
  count: number;
}

const ageCum = cumulative(AGE_BAND_WEIGHTS);
// 'YYYY-MM-DD' by day number (days since 1970-01-01, negative before): formatting a Date per resident was the
// generator's most expensive line.
const dayStrings = new Map<number, string>();
function dayString(day: number): string {
  let s = dayStrings.get(day);
  if (s === undefined) {
    s = new Date(day * DAY).toISOString().slice(0, 10);
    dayStrings.set(day, s);
  }
  return s;
}
const surnameCum = cumulative(SURNAME_WEIGHTS);

export function generateChunk(spec: ChunkSpec, keys: ChunkKeys): ChunkOutput {
  const rng = new Rng(spec.seed, 1000 + spec.chunkIndex);
  const enc = createSecretKey(Buffer.from(keys.enc)); // imported once per chunk, not per call
  const lookup = createSecretKey(Buffer.from(keys.lookup));
  const counters = new Map<number, number>(); // per (birth day, sex)
  const lines: string[] = [];
  let id = spec.firstResidentId;
  // One block of random bytes for all IVs of the chunk (two encryptions per resident at most), and the chunk's AES
  // work in one native call (bulk-crypto.ts): the same ciphertext layout and hashes as the platform's functions.
  const values = 2 * countResidents(spec.households);
  const { encrypt, hash } = bulkCrypto(enc, lookup, keys.lookup, keys.keyId, randomBytes(12 * values), values);

  for (const h of spec.households) {
    const householdColumns = `${h.id}\t${h.gridId}\t${h.communityId}\t${h.streetId}\t${copyValue(h.address)}`;
    for (let m = 0; m < h.size; m++) {
      const band = rng.weighted(ageCum);
      const age = band * 5 + rng.int(0, 4);
      const elderly = age >= 65;
      const sex: 'male' | 'female' = rng.chance(elderly ? 0.45 : 0.5) ? 'male' : 'female';
      const birthDay = Math.floor((REFERENCE_DATE - (age * 365.25 + rng.int(1, 364)) * DAY) / DAY);
      const birthDate = dayString(birthDay);
      const key = birthDay * 2 + (sex === 'male' ? 1 : 0);
      const counter = counters.get(key) ?? 0;
      counters.set(key, counter + 1);
      const slot = counter * spec.chunkCount + spec.chunkIndex;
      const area = AREA_CODES[Math.floor(slot / 500) % AREA_CODES.length];
      const seq = sex === 'male' ? 2 * (slot % 500) + 1 : 2 * (slot % 500);
      const first17 = area + birthDate.replaceAll('-', '') + String(seq).padStart(3, '0');
      const idNumber = first17 + checkCharacter(first17);
      const tags: string[] = [];
      if (rng.chance(hypertensionRisk(age))) tags.push('hypertension');
      if (rng.chance(diabetesRisk(age))) tags.push('diabetes');
      if (sex === 'female' && age >= 20 && age <= 44) {
        const x = rng.next();
        if (x < 0.03) tags.push('pregnant');
        else if (x < 0.04) tags.push('postpartum');
      }
      if (age >= 15 && rng.chance(0.004)) tags.push('severe_mental');
      if (rng.chance(0.0003)) tags.push('tuberculosis');
      if (rng.chance(elderly ? 0.05 : 0.012)) tags.push('disability');
      if (age >= 50 && rng.chance(0.004)) tags.push('special_family');
      const hasPhone = age >= 12 || rng.chance(0.1);
      const phone = hasPhone ? '1' + rng.pick(['3', '5', '7', '8', '9']) + String(rng.int(0, 999_999_999)).padStart(9, '0') : null;
      lines.push(
        [
          id, copyValue(encrypt(idNumber)), copyValue(hash('id', idNumber)), maskIdNumber(idNumber), personName(rng, sex, surnameCum), sex, birthDate,
          phone ? copyValue(encrypt(phone)) : '\\N', phone ? copyValue(hash('phone', phone)) : '\\N', phone ? maskPhone(phone) : '\\N',
          householdColumns, tags.length ? `{${tags.join(',')}}` : '{}', 'active', // tags are plain identifiers: no quoting
        ].join('\t') + '\n',
      );
      id++;
    }
  }
  return { residents: lines.join(''), count: id - spec.firstResidentId };
}

/** The chunk's households as COPY text (HOUSEHOLD_COLUMNS). */
export function householdsCopy(spec: ChunkSpec): string {
  return spec.households.map((h) => `${h.id}\t${h.gridId}\t${copyValue(h.address)}\n`).join('');
}

function countResidents(households: HouseholdSpec[]) {
  let n = 0;
  for (const h of households) n += h.size;
  return n;
}
