import { describe, expect, it } from 'vitest';
import { bootstrapEvaluation, bootstrapStatistic } from '../../src/evaluation/bootstrap.js';
import {
  type EvaluationInput,
  higherIsBetter,
  metricsFor,
  metricValues,
} from '../../src/evaluation/registry.js';
import { regressionMetrics } from '../../src/evaluation/regression.js';

const f64 = (values: number[]) => Float64Array.from(values);

describe('regression metrics', () => {
  // scikit-learn's documentation example: y_true [3, -0.5, 2, 7], y_pred [2.5, 0.0, 2, 8].
  const yTrue = f64([3, -0.5, 2, 7]);
  const yPred = f64([2.5, 0, 2, 8]);

  it('MAE, MSE and RMSE by hand: errors 0.5, -0.5, 0, -1', () => {
    const m = regressionMetrics(yTrue, yPred);
    expect(m.n).toBe(4);
    // (0.5 + 0.5 + 0 + 1) / 4
    expect(m.mae).toBeCloseTo(0.5, 15);
    // (0.25 + 0.25 + 0 + 1) / 4
    expect(m.mse).toBeCloseTo(0.375, 15);
    expect(m.rmse).toBeCloseTo(Math.sqrt(0.375), 15);
    expect(m.rmse).toBeCloseTo(0.6123724356957945, 15);
  });

  it('R² = 1 - SSres / SStot', () => {
    // mean 2.875; SStot = 0.015625 + 11.390625 + 0.765625 + 17.015625 = 29.1875; SSres = 1.5.
    const m = regressionMetrics(yTrue, yPred);
    expect(m.r2).toBeCloseTo(1 - 1.5 / 29.1875, 15);
    expect(m.r2).toBeCloseTo(0.9486081370449679, 15); // sklearn.metrics.r2_score
    // Predicting the mean gives 0, a perfect prediction 1, a worse-than-mean one a negative value.
    expect(regressionMetrics(yTrue, new Float64Array(4).fill(2.875)).r2).toBeCloseTo(0, 15);
    expect(regressionMetrics(yTrue, yTrue).r2).toBe(1);
    expect(regressionMetrics(f64([1, 2, 3]), f64([3, 2, 1])).r2).toBeCloseTo(1 - 8 / 2, 15);
  });

  it('R² is NaN for a constant target', () => {
    expect(regressionMetrics(f64([2, 2, 2]), f64([1, 2, 3])).r2).toBeNaN();
    expect(regressionMetrics(f64([2, 2, 2]), f64([2, 2, 2])).r2).toBeNaN();
    expect(regressionMetrics(f64([5]), f64([4])).r2).toBeNaN();
  });

  it('MAPE as a fraction, |y - ŷ| / max(|y|, machine epsilon)', () => {
    // (0.5 / 3 + 0.5 / 0.5 + 0 / 2 + 1 / 7) / 4
    const m = regressionMetrics(yTrue, yPred);
    expect(m.mape).toBeCloseTo((0.5 / 3 + 1 + 0 + 1 / 7) / 4, 15);
    expect(m.mape).toBeCloseTo(0.3273809523809524, 15); // sklearn mean_absolute_percentage_error
    // A zero target divides by machine epsilon: an error of epsilon counts 1, a larger one hugely.
    expect(regressionMetrics(f64([0, 1]), f64([Number.EPSILON, 1])).mape).toBeCloseTo(0.5, 15);
    expect(regressionMetrics(f64([0]), f64([1])).mape).toBe(1 / Number.EPSILON);
  });

  it('reads the first value of each row of wider predictions', () => {
    const wide = f64([2.5, 99, 0, 99, 2, 99, 8, 99]);
    expect(regressionMetrics(yTrue, wide, 2)).toEqual(regressionMetrics(yTrue, yPred));
  });

  it('refuses empty, mismatched and non-finite input', () => {
    expect(() => regressionMetrics(f64([]), f64([]))).toThrow('regression metrics need at least one row');
    expect(() => regressionMetrics(yTrue, f64([1, 2, 3]))).toThrow('predictions must be 4 x 1 values, got 3');
    expect(() => regressionMetrics(f64([1, Number.NaN]), f64([1, 2]))).toThrow('yTrue[1] is NaN');
    expect(() => regressionMetrics(f64([1, 2]), f64([1, Number.POSITIVE_INFINITY]))).toThrow(
      'prediction of row 1 is Infinity',
    );
  });
});

describe('regression metrics in the registry', () => {
  const input: EvaluationInput = {
    task: 'regression',
    yTrue: f64([3, -0.5, 2, 7]),
    scores: f64([2.5, 0, 2, 8]),
    classes: [],
  };

  it('are the metrics of the regression task, with their direction', () => {
    expect(metricsFor('regression').map((m) => m.name)).toEqual(['mae', 'mse', 'rmse', 'r2', 'mape']);
    const values = metricValues(input);
    const { n: _, ...expected } = regressionMetrics(input.yTrue as Float64Array, input.scores);
    expect(values).toEqual(expected);
    expect(Object.keys(values)).toEqual(['mae', 'mse', 'rmse', 'r2', 'mape']);
    expect(higherIsBetter('r2')).toBe(true);
    for (const name of ['mae', 'mse', 'rmse', 'mape']) expect(higherIsBetter(name)).toBe(false);
    // No classification metric applies to a regression.
    expect(metricsFor('regression').some((m) => m.name === 'roc_auc')).toBe(false);
  });

  it('bootstrap a regression metric on the rows each replicate draws', () => {
    const n = 200;
    const yTrue = Float64Array.from({ length: n }, (_, i) => Math.sin(i) * 10 + i / 20);
    const scores = Float64Array.from(yTrue, (v, i) => v + Math.cos(3 * i));
    const data: EvaluationInput = { task: 'regression', yTrue, scores, classes: [] };
    const ci = bootstrapEvaluation(data, 'rmse', { seed: 4, replicates: 150 });
    const naive = bootstrapStatistic(
      n,
      (rows) =>
        regressionMetrics(
          Float64Array.from(rows, (r) => yTrue[r]),
          Float64Array.from(rows, (r) => scores[r]),
        ).rmse,
      { seed: 4, replicates: 150, metric: 'rmse' },
    );
    expect(ci).toEqual(naive);
    expect(ci.estimate).toBeCloseTo(regressionMetrics(yTrue, scores).rmse, 15);
    expect(ci.lower).toBeLessThan(ci.estimate);
    expect(ci.upper).toBeGreaterThan(ci.estimate);
    expect(() => bootstrapEvaluation(data, 'roc_auc', { seed: 0 })).toThrow(
      'metric "roc_auc" does not apply to regression models',
    );
  });
});
