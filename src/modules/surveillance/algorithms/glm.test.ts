// The quasi-Poisson GLM against R's glm.fit(…, family = quasipoisson()) on the fits written by
// scripts/r/farrington-fixtures.R: coefficients, convergence, dispersion, hat values and a prediction's standard error.
import { describe, expect, test } from 'vitest';
import { loadFixture, relativeDifference } from '../../../../test/helpers/r-fixtures.ts';
import { dispersion, fitQuasiPoisson, hatValues, unscaledVariance } from './glm.ts';

interface GlmCase {
  name: string;
  x: number[][];
  y: number[];
  weights: number[] | null;
  converged: boolean;
  coefficients: number[];
  dispersion: number;
  hat: number[];
  x0: number[];
  seLink: number;
}

const { glm } = loadFixture('farrington-flexible.json') as unknown as { glm: GlmCase[] };

describe('fitQuasiPoisson agrees with R glm.fit', () => {
  test.each(glm.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const n = c.y.length;
    const fit = fitQuasiPoisson(Float64Array.from(c.x.flat()), n, c.x.length, Float64Array.from(c.y), c.weights ? Float64Array.from(c.weights) : undefined);
    expect(fit.converged).toBe(c.converged);
    expect(fit.failed).toBe(false);
    c.coefficients.forEach((b, j) => expect(relativeDifference(fit.coef[j], b), `coefficient ${j}`).toBeLessThan(1e-9));
    expect(relativeDifference(dispersion(fit), c.dispersion)).toBeLessThan(1e-9);
    const hat = hatValues(fit);
    c.hat.forEach((h, i) => expect(relativeDifference(hat[i], h), `hat ${i}`).toBeLessThan(1e-9));
    expect(relativeDifference(Math.sqrt(unscaledVariance(fit, c.x0) * dispersion(fit)), c.seLink)).toBeLessThan(1e-9);
  });
});
