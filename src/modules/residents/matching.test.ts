import { describe, expect, test } from 'vitest';
import { decideMatch, editDistance, normaliseName, scoreCandidate, type Candidate } from './matching.ts';

const base = { name: '张伟', birthDate: '1956-04-12', sex: 'male' as const, phone: '13800001111' };
const cand = (over: Partial<Candidate> = {}): Candidate => ({ id: 1, name: '张伟', birthDate: '1956-04-12', sex: 'male', phoneMatches: true, ...over });

describe('record matching without an identity number', () => {
  test('edit distance counts Chinese characters as one', () => {
    expect(editDistance('张伟', '张玮')).toBe(1);
    expect(editDistance('欧阳娜娜', '欧阳娜')).toBe(1);
    expect(normaliseName(' Li · Na ')).toBe('lina');
  });

  test('all four fields agreeing links automatically', () => {
    expect(decideMatch(base, [cand()])).toEqual({ kind: 'link', candidate: { id: 1, score: 1, reasons: ['name_exact', 'birth_date', 'sex', 'phone'] } });
  });

  test.each([
    ['a one-character name difference', cand({ name: '张玮' })],
    ['no phone to compare', cand({ phoneMatches: null })],
    ['day and month swapped', cand({ birthDate: '1956-12-04' })],
  ])('%s goes to review', (_, c) => {
    expect(decideMatch(base, [c]).kind).toBe('review');
  });

  test('a different person with the same birthday is new', () => {
    expect(decideMatch(base, [cand({ name: '李娜', sex: 'female', phoneMatches: false })])).toEqual({ kind: 'new' });
    expect(decideMatch(base, [])).toEqual({ kind: 'new' });
  });

  test('two equally good candidates are never linked automatically', () => {
    const d = decideMatch(base, [cand({ id: 5 }), cand({ id: 3 })]);
    expect(d).toMatchObject({ kind: 'review', candidate: { id: 3 } });
  });

  test('scores are explainable', () => {
    expect(scoreCandidate(base, cand({ name: '张玮', phoneMatches: false }))).toEqual({ id: 1, score: 0.61, reasons: ['name_similar', 'birth_date', 'sex'] });
  });
});
