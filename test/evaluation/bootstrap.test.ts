import { describe, expect, it } from 'vitest';
import {
  bootstrapMetric,
  bootstrapStatistic,
  foldSummary,
  percentile,
} from '../../src/evaluation/bootstrap.js';
import type { ClassificationInput } from '../../src/evaluation/metrics.js';
import { metricValues } from '../../src/evaluation/registry.js';
import { Random } from '../../src/util/random.js';
import { binary, evaluationInput, syntheticBinary, syntheticMulticlass } from './fixtures.js';

function resampled(input: ClassificationInput, indices: Int32Array): ClassificationInput {
  const k = input.classes.length;
  const yTrue = new Int32Array(indices.length);
  const proba = new Float64Array(indices.length * k);
  indices.forEach((row, i) => {
    yTrue[i] = input.yTrue[row];
    proba.set(input.proba.subarray(row * k, row * k + k), i * k);
  });
  return { ...input, yTrue, proba };
}

/** Textbook bootstrap: draw rows, copy them, recompute (re-sorting) the metric, take percentiles. */
function naiveInterval(input: ClassificationInput, metric: string, seed: number, replicates: number) {
  const n = input.yTrue.length;
  const rng = new Random(seed);
  const values: number[] = [];
  for (let r = 0; r < replicates; r++) {
    const indices = new Int32Array(n);
    for (let i = 0; i < n; i++) indices[i] = rng.below(n);
    const value = metricValues(evaluationInput(resampled(input, indices)))[metric];
    if (!Number.isNaN(value)) values.push(value);
  }
  values.sort((a, b) => a - b);
  return { lower: percentile(values, 2.5), upper: percentile(values, 97.5), valid: values.length };
}

describe('bootstrap', () => {
  const input = syntheticBinary(1500, 11);

  it.each(['roc_auc', 'pr_auc'])(
    'fast weighted %s agrees with a naive re-sorting bootstrap for the same seed',
    (metric) => {
      const fast = bootstrapMetric(input, metric, { seed: 42, replicates: 200 });
      const naive = naiveInterval(input, metric, 42, 200);
      expect(fast.lower).toBeCloseTo(naive.lower, 10);
      expect(fast.upper).toBeCloseTo(naive.upper, 10);
      expect(fast.valid).toBe(200);
      expect(fast.estimate).toBeCloseTo(metricValues(evaluationInput(input))[metric], 12);
      expect(fast.lower).toBeLessThan(fast.estimate);
      expect(fast.upper).toBeGreaterThan(fast.estimate);
    },
  );

  it.each([
    ['binary', 'f1'],
    ['binary', 'log_loss'],
    ['binary', 'balanced_accuracy'],
    ['multiclass', 'f1_macro'],
    ['multiclass', 'roc_auc'],
  ])('fast %s %s agrees with the generic statistic path', (kind, metric) => {
    const data = kind === 'binary' ? input : syntheticMulticlass(600, 5, 3);
    const fast = bootstrapMetric(data, metric, { seed: 9, replicates: 60 });
    const generic = bootstrapStatistic(
      data.yTrue.length,
      (indices) => metricValues(evaluationInput(resampled(data, indices)))[metric],
      { seed: 9, replicates: 60, metric },
    );
    expect(fast.estimate).toBeCloseTo(generic.estimate, 10);
    expect(fast.lower).toBeCloseTo(generic.lower, 10);
    expect(fast.upper).toBeCloseTo(generic.upper, 10);
  });

  it('is reproducible from the seed and changes with it', () => {
    const a = bootstrapMetric(input, 'roc_auc', { seed: 1, replicates: 100 });
    const b = bootstrapMetric(input, 'roc_auc', { seed: 1, replicates: 100 });
    const c = bootstrapMetric(input, 'roc_auc', { seed: 2, replicates: 100 });
    expect(b).toEqual(a);
    expect(c.lower).not.toBe(a.lower);
    expect(a).toMatchObject({ metric: 'roc_auc', level: 0.95, replicates: 100, seed: 1 });
  });

  it('leaves out replicates where the metric is undefined and says how many remain', () => {
    // One positive in 6 rows: a replicate misses it with probability (5/6)^6 = 33%.
    const tiny = binary([0, 0, 0, 1, 0, 0], [0.1, 0.2, 0.3, 0.9, 0.4, 0.5]);
    const ci = bootstrapMetric(tiny, 'roc_auc', { seed: 5, replicates: 300 });
    expect(ci.valid).toBeLessThan(270);
    expect(ci.valid).toBeGreaterThan(150);
    expect(ci.upper).toBe(1);
  });

  it('rejects unknown and binary-only metrics on multiclass input', () => {
    expect(() => bootstrapMetric(input, 'auroc', { seed: 0 })).toThrow(
      /unknown metric "auroc"; available: accuracy/,
    );
    expect(() => bootstrapMetric(syntheticMulticlass(50, 3, 1), 'f1', { seed: 0 })).toThrow(/"f1"/);
  });
});

describe('percentile and fold summary', () => {
  it('interpolates linearly like numpy.percentile', () => {
    expect(percentile([1, 2, 3, 4], 25)).toBeCloseTo(1.75, 12);
    expect(percentile([1, 2, 3, 4], 97.5)).toBeCloseTo(3.925, 12);
    expect(percentile([], 50)).toBeNaN();
  });

  it('uses the sample standard deviation (ddof 1)', () => {
    // Deviations .05, 0, -.05: sum of squares .005 / (3 - 1) = .0025 -> std .05 (ddof 0 would be .0408).
    const s = foldSummary([0.8, 0.85, 0.9]);
    expect(s.mean).toBeCloseTo(0.85, 12);
    expect(s.std).toBeCloseTo(0.05, 12);
    expect([s.min, s.max, s.n]).toEqual([0.8, 0.9, 3]);
    expect(foldSummary([0.7]).std).toBeNaN();
  });
});
