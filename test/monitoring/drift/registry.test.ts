/**
 * The drift-test registry: Evidently's automatic choice with its reason, insufficient data instead of
 * NaN, duplicate and unknown names, a custom test, dataset-level drift and the MMD permutation test.
 */
import { describe, expect, it } from 'vitest';
import {
  chooseDriftTest,
  type DriftResult,
  type DriftTest,
  datasetDrift,
  findDriftTest,
  mmdTwoSample,
  registerDriftTest,
  runDriftTest,
} from '../../../src/monitoring/drift/index.js';
import { Random } from '../../../src/util/random.js';

const normal = (n: number, seed: number, shift = 0) => {
  const random = new Random(seed);
  return Float64Array.from({ length: n }, () => random.normal() + shift);
};
const integers = (n: number, levels: number) => Float64Array.from({ length: n }, (_, i) => i % levels);
const levels = (n: number, names: string[]) => Array.from({ length: n }, (_, i) => names[i % names.length]);
const rows = (n: number, seed: number, shift = 0) => {
  const random = new Random(seed);
  return Array.from({ length: n }, () => Float64Array.from({ length: 3 }, () => random.normal() + shift));
};

describe('automatic choice (Evidently rule)', () => {
  const cases: [string, Parameters<typeof chooseDriftTest>, string, RegExp][] = [
    [
      'small numeric, many values',
      ['numeric', normal(1000, 1)],
      'ks',
      /1000 values \(<= 1000\) with 1000 distinct/,
    ],
    ['small numeric, 4 values', ['numeric', integers(500, 4)], 'chi2', /4 distinct values \(<= 5\)/],
    ['small numeric, 2 values', ['numeric', integers(500, 2)], 'z', /at most 2 categories/],
    ['small categorical, 3 levels', ['categorical', levels(200, ['a', 'b', 'c'])], 'chi2', /3 categories/],
    ['small categorical, 2 levels', ['categorical', levels(200, ['a', 'b'])], 'z', /2 categories/],
    ['large numeric, many values', ['numeric', normal(1001, 2)], 'wasserstein', /1001 values \(> 1000\)/],
    [
      'large numeric, 5 values',
      ['numeric', integers(5000, 5)],
      'jensenshannon',
      /5 distinct values \(<= 5\)/,
    ],
    [
      'large categorical',
      ['categorical', levels(3000, ['a', 'b'])],
      'jensenshannon',
      /3000 values \(> 1000\)/,
    ],
    ['vectors', ['vector', rows(10, 3)], 'mmd', /vector/],
  ];
  for (const [label, args, test, reason] of cases)
    it(`${label} -> ${test}`, () => {
      const choice = chooseDriftTest(...args);
      expect(choice.test).toBe(test);
      expect(choice.reason).toMatch(reason);
    });

  it('counts the reference after dropping missing values', () => {
    const reference = new Float64Array(1500).fill(Number.NaN);
    reference.set(normal(900, 4));
    expect(chooseDriftTest('numeric', reference).test).toBe('ks');
  });

  it('runDriftTest("auto") runs the chosen test and says why; a named test says "configured"', () => {
    const auto = runDriftTest('auto', normal(300, 5), normal(200, 6, 1));
    expect(auto).toMatchObject({ test: 'ks', status: 'ok', drifted: true, threshold: 0.05 });
    expect(auto.reason).toMatch(/^numeric column, reference of 300 values/);
    const named = runDriftTest('psi', normal(300, 5), normal(200, 6), { threshold: 0.5 });
    expect(named).toMatchObject({ test: 'psi', reason: 'configured', threshold: 0.5, score: 'distance' });
  });
});

describe('insufficient data, never NaN', () => {
  const insufficient = (result: DriftResult, detail: RegExp) => {
    expect(result).toMatchObject({ status: 'insufficient_data', statistic: null, drifted: false });
    if (result.status === 'insufficient_data') expect(result.detail).toMatch(detail);
  };

  it('an empty window, for every kind and the automatic choice', () => {
    insufficient(runDriftTest('auto', normal(50, 1), new Float64Array(0)), /current window is empty/);
    insufficient(runDriftTest('auto', levels(50, ['a', 'b', 'c']), []), /current window is empty/);
    insufficient(runDriftTest('mmd', rows(20, 1), []), /current window is empty/);
    insufficient(runDriftTest('chi2', [], [], { kind: 'categorical' }), /reference is empty/);
  });

  it('a window of missing values only', () => {
    const missing = new Float64Array([Number.NaN, Number.NaN, Number.POSITIVE_INFINITY]);
    const result = runDriftTest('wasserstein', normal(50, 1), missing);
    insufficient(result, /no usable value \(3 missing\)/);
    expect(result.current).toEqual({ size: 0, missing: 3 });
    insufficient(runDriftTest('chi2', ['a', 'b'], [null, null]), /no usable value \(2 missing\)/);
  });

  it('where the test is undefined: one category for chi2, single rows or identical rows for mmd', () => {
    insufficient(runDriftTest('chi2', ['a', 'a'], ['a']), /one category/);
    insufficient(runDriftTest('mmd', rows(20, 1), rows(1, 2)), /two rows/);
    const same = Array.from({ length: 5 }, () => new Float64Array([1, 2, 3]));
    insufficient(runDriftTest('mmd', same, rows(5, 2)), /identical/);
  });

  it('a single value is still a defined KS test (SciPy computes it), and z on one shared level is p = 1', () => {
    expect(runDriftTest('ks', new Float64Array([0.5]), normal(10, 1))).toMatchObject({ status: 'ok' });
    expect(runDriftTest('z', ['a'], ['a', 'a'])).toMatchObject({
      status: 'ok',
      statistic: 0,
      pValue: 1,
      drifted: false,
    });
  });
});

describe('registry', () => {
  it('rejects an unknown test, listing the known ones', () => {
    expect(() => runDriftTest('kolmogorov', normal(5, 1), normal(5, 2))).toThrow(
      /unknown drift test "kolmogorov"; registered: .*chi2, .*jensenshannon, ks, mmd, psi, .*wasserstein, z/,
    );
  });

  it('rejects a duplicate name and a test without kinds', () => {
    const copy: DriftTest = { ...findDriftTest('ks')! };
    expect(() => registerDriftTest(copy)).toThrow(/drift test "ks" is already registered/);
    expect(() => registerDriftTest({ ...copy, name: 'no-kinds', kinds: [] })).toThrow(/column kinds/);
  });

  it('rejects a test applied to a kind it does not take, and mixed sample kinds', () => {
    expect(() => runDriftTest('ks', ['a'], ['b'])).toThrow(/numeric columns, not categorical/);
    expect(() => runDriftTest('psi', normal(5, 1), ['a'])).toThrow(
      /numeric sample but current is a categorical/,
    );
  });

  it('a custom test registers and runs by name', () => {
    const meanShift: DriftTest = {
      name: 'mean-shift',
      title: 'Absolute difference of means',
      kinds: ['numeric'],
      score: 'distance',
      defaultThreshold: 0.5,
      compute: (reference, current) => {
        const mean = (x: Float64Array) => x.reduce((s, v) => s + v, 0) / x.length;
        return { statistic: Math.abs(mean(current as Float64Array) - mean(reference as Float64Array)) };
      },
    };
    registerDriftTest(meanShift);
    const result = runDriftTest('mean-shift', new Float64Array([0, 1, Number.NaN]), new Float64Array([2, 3]));
    expect(result).toMatchObject({
      test: 'mean-shift',
      status: 'ok',
      statistic: 2,
      drifted: true,
      reason: 'configured',
    });
    expect(result.reference).toEqual({ size: 2, missing: 1 });
    // The automatic choice stays Evidently's rule.
    expect(runDriftTest('auto', normal(100, 1), normal(100, 2)).test).toBe('ks');
  });
});

describe('dataset drift', () => {
  const result = (drifted: boolean, status: 'ok' | 'insufficient_data' = 'ok') =>
    (status === 'ok'
      ? { status, drifted, statistic: 0 }
      : { status, drifted: false, statistic: null, detail: 'empty' }) as unknown as DriftResult;

  it('is the share of tested columns drifted, at least the configured share', () => {
    const results = [
      result(true),
      result(false),
      result(true),
      result(false),
      result(false, 'insufficient_data'),
    ];
    expect(datasetDrift(results)).toMatchObject({
      columns: 5,
      tested: 4,
      drifted: 2,
      share: 0.5,
      datasetDrifted: true,
    });
    expect(datasetDrift(results, 0.6)).toMatchObject({ share: 0.5, threshold: 0.6, datasetDrifted: false });
  });

  it('with nothing tested, says so', () => {
    expect(datasetDrift([result(false, 'insufficient_data')])).toMatchObject({
      status: 'insufficient_data',
      share: 0,
      datasetDrifted: false,
    });
    expect(() => datasetDrift([], 0)).toThrow(/share/);
  });
});

describe('mmd permutation test', () => {
  it('finds a shift, not an unshifted sample, reproducibly from the seed', () => {
    const reference = rows(120, 1);
    const shifted = mmdTwoSample(reference, rows(100, 2, 0.6), { seed: 7, permutations: 100 });
    const same = mmdTwoSample(reference, rows(100, 3), { seed: 7, permutations: 100 });
    if ('insufficient' in shifted || 'insufficient' in same) throw new Error('insufficient');
    expect(shifted.pValue).toBeCloseTo(1 / 101, 12);
    expect(same.pValue).toBeGreaterThan(0.05);
    expect(mmdTwoSample(reference, rows(100, 3), { seed: 7, permutations: 100 })).toEqual(same);
    const result = runDriftTest('auto', reference, rows(100, 2, 0.6), { permutations: 100 });
    expect(result).toMatchObject({ test: 'mmd', status: 'ok', drifted: true });
  });
});
