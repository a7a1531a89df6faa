// Resident identity card numbers (居民身份证号), GB 11643-1999: 6-digit address code (GB/T 2260), 8-digit birth date,
// 3-digit sequence (odd = male), and a check character from ISO 7064 MOD 11-2.
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = '10X98765432';

export type IdNumberProblem = 'format' | 'check_digit' | 'birth_date' | 'sex_mismatch' | 'birth_date_mismatch';

export interface ParsedIdNumber {
  value: string; // normalised: upper-case X
  regionCode: string;
  birthDate: string; // YYYY-MM-DD
  sex: 'male' | 'female';
}

export function checkCharacter(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (first17.charCodeAt(i) - 48) * WEIGHTS[i];
  return CHECK[sum % 11];
}

export type ParseResult = { ok: true; id: ParsedIdNumber } | { ok: false; problem: IdNumberProblem };

export function parseIdNumber(input: string, today = new Date()): ParseResult {
  const value = input.trim().toUpperCase();
  if (!/^\d{17}[\dX]$/.test(value)) return { ok: false, problem: 'format' };
  if (checkCharacter(value.slice(0, 17)) !== value[17]) return { ok: false, problem: 'check_digit' };
  const y = Number(value.slice(6, 10));
  const m = Number(value.slice(10, 12));
  const d = Number(value.slice(12, 14));
  const date = new Date(Date.UTC(y, m - 1, d));
  if (y < 1880 || date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d || date > today) {
    return { ok: false, problem: 'birth_date' };
  }
  const birthDate = `${value.slice(6, 10)}-${value.slice(10, 12)}-${value.slice(12, 14)}`;
  const sex = Number(value[16]) % 2 === 1 ? 'male' : 'female';
  return { ok: true, id: { value, regionCode: value.slice(0, 6), birthDate, sex } };
}

/** Checks the number against the person's recorded sex and birth date, when given. */
export function validateIdNumber(input: string, person: { sex?: string; birthDate?: string } = {}): ParseResult {
  const r = parseIdNumber(input);
  if (!r.ok) return r;
  if (person.sex && person.sex !== r.id.sex) return { ok: false, problem: 'sex_mismatch' };
  if (person.birthDate && person.birthDate !== r.id.birthDate) return { ok: false, problem: 'birth_date_mismatch' };
  return r;
}

export const ID_PROBLEM_TEXT: Record<IdNumberProblem, { zh: string; en: string }> = {
  format: { zh: '应为 17 位数字加 1 位校验码（数字或 X）', en: 'must be 17 digits followed by a check character (digit or X)' },
  check_digit: { zh: '校验码不正确', en: 'the check character is wrong' },
  birth_date: { zh: '第 7–14 位不是有效的出生日期', en: 'digits 7–14 are not a valid birth date' },
  sex_mismatch: { zh: '第 17 位与性别不一致', en: 'digit 17 does not match the sex' },
  birth_date_mismatch: { zh: '出生日期与身份证号不一致', en: 'the birth date does not match the number' },
};

/** `1101**********1234`: the first four and last four characters, never more. */
export function maskIdNumber(value: string): string {
  return value.slice(0, 4) + '*'.repeat(Math.max(0, value.length - 8)) + value.slice(-4);
}

export function maskPhone(phone: string): string {
  if (phone.length < 7) return '*'.repeat(phone.length);
  return phone.slice(0, 3) + '*'.repeat(phone.length - 7) + phone.slice(-4);
}

/** Builds a valid number (synthetic data and tests). */
export function makeIdNumber(regionCode: string, birthDate: string, sequence: number, sex: 'male' | 'female'): string {
  let seq = sequence % 1000;
  if ((seq % 2 === 1) !== (sex === 'male')) seq = (seq + 1) % 1000;
  const first17 = regionCode + birthDate.replaceAll('-', '') + String(seq).padStart(3, '0');
  return first17 + checkCharacter(first17);
}
