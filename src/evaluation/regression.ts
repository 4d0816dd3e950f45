/**
 * Regression metrics with scikit-learn's definitions: MAE, MSE, RMSE, R² (1 - SSres / SStot, NaN for a
 * constant target as sklearn's force_finite=False), MAPE (|y - ŷ| / max(|y|, machine epsilon), as a
 * fraction, not a percentage).
 */

export interface RegressionMetrics {
  n: number;
  mae: number;
  mse: number;
  rmse: number;
  r2: number;
  mape: number;
}

export const REGRESSION_METRICS: Readonly<Record<string, { label: string; higherIsBetter: boolean }>> = {
  mae: { label: 'Mean absolute error', higherIsBetter: false },
  mse: { label: 'Mean squared error', higherIsBetter: false },
  rmse: { label: 'Root mean squared error', higherIsBetter: false },
  r2: { label: 'R² (coefficient of determination)', higherIsBetter: true },
  mape: { label: 'Mean absolute percentage error (fraction)', higherIsBetter: false },
};

/** `yPred[i * width]` is row i's prediction (width 1 for a single target). */
export function regressionMetrics(yTrue: Float64Array, yPred: Float64Array, width = 1): RegressionMetrics {
  const n = yTrue.length;
  if (n === 0) throw new Error('regression metrics need at least one row');
  if (yPred.length !== n * width)
    throw new Error(`predictions must be ${n} x ${width} values, got ${yPred.length}`);
  let mean = 0;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(yTrue[i])) throw new Error(`yTrue[${i}] is ${yTrue[i]}`);
    if (!Number.isFinite(yPred[i * width])) throw new Error(`prediction of row ${i} is ${yPred[i * width]}`);
    mean += yTrue[i];
  }
  mean /= n;
  let absolute = 0;
  let squared = 0;
  let total = 0;
  let relative = 0;
  for (let i = 0; i < n; i++) {
    const error = yTrue[i] - yPred[i * width];
    absolute += Math.abs(error);
    squared += error * error;
    total += (yTrue[i] - mean) ** 2;
    relative += Math.abs(error) / Math.max(Math.abs(yTrue[i]), Number.EPSILON);
  }
  const mse = squared / n;
  return {
    n,
    mae: absolute / n,
    mse,
    rmse: Math.sqrt(mse),
    r2: total > 0 ? 1 - squared / total : Number.NaN,
    mape: relative / n,
  };
}
