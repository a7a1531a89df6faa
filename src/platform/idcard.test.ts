import { describe, expect, test } from 'vitest';
import { checkCharacter, makeIdNumber, maskIdNumber, maskPhone, parseIdNumber, validateIdNumber } from './idcard.ts';

describe('GB 11643 identity numbers', () => {
  test('check character follows ISO 7064 MOD 11-2', () => {
    expect(checkCharacter('11010119900307451')).toBe('4');
    expect(checkCharacter('11010519491231002')).toBe('X'); // the standard's own example
  });

  test('a valid number parses into area, birth date and sex', () => {
    expect(parseIdNumber('110101199003074514')).toEqual({ ok: true, id: { value: '110101199003074514', regionCode: '110101', birthDate: '1990-03-07', sex: 'male' } });
    expect(parseIdNumber('11010519491231002x')).toMatchObject({ ok: true, id: { value: '11010519491231002X', sex: 'female' } });
  });

  const withCheck = (first17: string) => first17 + checkCharacter(first17);
  test.each([
    ['110101199003074515', 'check_digit'],
    ['11010119900307451', 'format'],
    ['1101011990030745AA', 'format'],
    [withCheck('11010119900230001'), 'birth_date'], // 30 February
    [withCheck('11010121000101001'), 'birth_date'], // in the future
    [withCheck('11010118000101001'), 'birth_date'], // before 1880
  ])('%s is refused: %s', (value, problem) => {
    expect(parseIdNumber(value)).toEqual({ ok: false, problem });
  });

  test('sex and birth date must agree with the person', () => {
    expect(validateIdNumber('110101199003074514', { sex: 'female' })).toEqual({ ok: false, problem: 'sex_mismatch' });
    expect(validateIdNumber('110101199003074514', { birthDate: '1990-03-08' })).toEqual({ ok: false, problem: 'birth_date_mismatch' });
    expect(validateIdNumber('110101199003074514', { sex: 'male', birthDate: '1990-03-07' }).ok).toBe(true);
  });

  test('makeIdNumber builds valid numbers with the right sex digit', () => {
    for (let seq = 0; seq < 50; seq++) {
      for (const sex of ['male', 'female'] as const) {
        const r = parseIdNumber(makeIdNumber('110101', '1975-12-31', seq, sex));
        expect(r.ok && r.id.sex).toBe(sex);
      }
    }
  });

  test('masks show the first and last four characters only', () => {
    expect(maskIdNumber('110101199003074514')).toBe('1101**********4514');
    expect(maskPhone('13812345678')).toBe('138****5678');
  });
});
