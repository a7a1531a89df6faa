// The distribution functions against values R computed (scripts/r/farrington-fixtures.R writes them into the
// fixture): discrete quantiles exactly, continuous functions to 1e-12 relative (lgamma: absolute near its zeros).
import { describe, expect, test } from 'vitest';
import { loadFixture, relativeDifference } from '../../../../test/helpers/r-fixtures.ts';
import { lgamma, pt, qnbinom, qpois } from './distributions.ts';
import { qnorm } from './normal.ts';

const { distributions: d } = loadFixture('farrington-flexible.json') as unknown as {
  distributions: Record<'qnbinom' | 'qpois' | 'pt' | 'qnorm' | 'lgamma', number[][]>;
};

describe('as R', () => {
  test.each(d.qnbinom)('qnbinom(%d, size = %d, prob = %d) = %d', (p, size, prob, q) => {
    expect(Math.abs(qnbinom(p, size, prob) - q)).toBe(0); // R may write -0
  });
  test.each(d.qpois)('qpois(%d, %d) = %d', (p, lambda, q) => {
    expect(Math.abs(qpois(p, lambda) - q)).toBe(0);
  });
  test.each(d.pt)('pt(%d, %d) = %d', (t, df, v) => {
    expect(relativeDifference(pt(t, df), v)).toBeLessThan(1e-12);
  });
  test.each(d.qnorm)('qnorm(%d) = %d', (p, v) => {
    expect(relativeDifference(qnorm(p), v)).toBeLessThan(1e-14);
  });
  test.each(d.lgamma)('lgamma(%d) = %d', (x, v) => {
    expect(Math.abs(lgamma(x) - v)).toBeLessThan(1e-13 * Math.max(1, Math.abs(v)));
  });
});
