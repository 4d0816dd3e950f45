/**
 * Every built-in drift test against SciPy 1.10 (and Evidently's formulas written in numpy) on the
 * very samples SciPy saw: statistics to 1e-6, p-values to 1e-4, over small, large (exact and
 * asymptotic KS), tied, shifted and unshifted, missing-value, unseen-level and empty samples.
 */
import { afterAll, describe, expect, it } from 'vitest';
import {
  chi2Sf,
  getDriftTest,
  kolmogorovSf,
  mmdTwoSample,
  normalSf,
  runDriftTest,
} from '../../../src/monitoring/drift/index.js';
import { fixture, numericSample, statisticGap, value } from './fixture.js';

const worst = { statistic: 0, pValue: 0, distribution: 0 };
afterAll(() => {
  // The agreement actually reached, for the record (the assertions hold the limits).
  console.info(
    `drift vs SciPy: max statistic gap ${worst.statistic.toExponential(2)}, max p-value gap ${worst.pValue.toExponential(2)}, max distribution gap ${worst.distribution.toExponential(2)}`,
  );
});

function agree(
  result: ReturnType<typeof runDriftTest>,
  expected: { statistic: number | string; pValue?: number | string },
) {
  expect(result.status).toBe('ok');
  if (result.status !== 'ok') return;
  const gap = statisticGap(result.statistic, value(expected.statistic));
  worst.statistic = Math.max(worst.statistic, gap);
  expect(gap, `statistic ${result.statistic} vs ${expected.statistic}`).toBeLessThanOrEqual(1e-6);
  if (expected.pValue !== undefined) {
    const pGap = Math.abs(result.pValue! - value(expected.pValue));
    worst.pValue = Math.max(worst.pValue, pGap);
    expect(pGap, `p-value ${result.pValue} vs ${expected.pValue}`).toBeLessThanOrEqual(1e-4);
  }
}

describe('numeric columns against SciPy', () => {
  for (const c of fixture.numeric) {
    it(c.name, () => {
      const reference = numericSample(c.reference);
      const current = numericSample(c.current);
      const tests = Object.keys(c.expected);
      expect(tests).toContain('ks');
      for (const test of tests) agree(runDriftTest(test, reference, current), c.expected[test]);
    });
  }

  it('drops NaN as missing and counts it', () => {
    const c = fixture.numeric.find((x) => x.name.startsWith('with missing'))!;
    const result = runDriftTest('ks', numericSample(c.reference), numericSample(c.current));
    expect(result.reference).toEqual({ size: 27, missing: 3 });
    expect(result.current).toEqual({ size: 24, missing: 1 });
  });
});

describe('categorical columns against SciPy', () => {
  for (const c of fixture.categorical) {
    it(c.name, () => {
      for (const [test, expected] of Object.entries(c.expected)) {
        const result = runDriftTest(test, c.reference, c.current);
        if (Number.isNaN(value(expected.pValue ?? 0))) {
          // SciPy answers NaN (one level, no degree of freedom): Kiln says so instead.
          expect(result.status).toBe('insufficient_data');
          continue;
        }
        agree(result, expected);
      }
    });
  }

  it('an unseen level makes chi-square infinite with p = 0, as SciPy', () => {
    const c = fixture.categorical.find((x) => x.name.startsWith('unseen'))!;
    const result = runDriftTest('chi2', c.reference, c.current);
    expect(result).toMatchObject({
      status: 'ok',
      statistic: Number.POSITIVE_INFINITY,
      pValue: 0,
      drifted: true,
    });
  });
});

describe('vectors against numpy', () => {
  for (const c of fixture.vector) {
    it(`${c.name}: MMD^2 and its bandwidth`, () => {
      const rows = (m: number[][]) => m.map((r) => Float64Array.from(r));
      const result = mmdTwoSample(rows(c.reference), rows(c.current), { seed: 1, permutations: 50 });
      if ('insufficient' in result) throw new Error(result.insufficient);
      const gap = statisticGap(result.statistic, value(c.expected.mmd.statistic));
      worst.statistic = Math.max(worst.statistic, gap);
      expect(gap).toBeLessThanOrEqual(1e-6);
      expect(result.bandwidth).toBeCloseTo(c.expected.mmd.bandwidth!, 9);
    });
  }
});

describe('distributions behind the p-values', () => {
  it('kstwo.sf over every branch of SciPy _kolmogn', () => {
    for (const { n, x, sf } of fixture.kstwo) {
      const gap = Math.abs(kolmogorovSf(n, x) - sf);
      worst.distribution = Math.max(worst.distribution, gap);
      expect(gap, `kstwo.sf(${x}, ${n})`).toBeLessThanOrEqual(1e-9);
    }
  });

  it('chi2.sf and norm.sf', () => {
    for (const { x, df, sf } of fixture.chi2) {
      const gap = Math.abs(chi2Sf(x, df) - sf);
      worst.distribution = Math.max(worst.distribution, gap);
      expect(gap, `chi2.sf(${x}, ${df})`).toBeLessThanOrEqual(1e-12);
    }
    for (const { z, sf } of fixture.norm) expect(Math.abs(normalSf(z) - sf)).toBeLessThanOrEqual(1e-14);
  });
});

describe('empty samples', () => {
  it('SciPy refuses them; every test answers insufficient data instead', () => {
    expect(fixture.empty.ks).toMatch(/empty/);
    const some = new Float64Array([1, 2, 3]);
    for (const name of ['ks', 'wasserstein', 'jensenshannon', 'psi', 'chi2', 'z']) {
      expect(getDriftTest(name).kinds).toContain('numeric');
      for (const [ref, cur] of [
        [new Float64Array(0), some],
        [some, new Float64Array(0)],
      ]) {
        const result = runDriftTest(name, ref, cur);
        expect(result.status).toBe('insufficient_data');
        expect(result.statistic).toBeNull();
        expect(result.drifted).toBe(false);
      }
    }
  });
});
