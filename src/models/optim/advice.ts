import type { Matrix } from '../../data/matrix.js';

/**
 * Largest root mean square of a column beyond which the features count as unscaled. A scale step
 * leaves every column at exactly 1 on the rows it was fitted on; one-hot, TF-IDF and min-max columns
 * stay at or below 1. Raw amounts (deposits in the thousands) are far above it.
 */
const UNIT_SCALE_RMS = 2;

/**
 * What to try when a linear solver stops short of its tolerance. Columns on very different scales
 * make the problem ill-conditioned, and standardising them is the cure. When the columns are already
 * on a unit scale, standardising changes nothing: the fit needs more iterations, a looser tolerance,
 * or a smaller C (stronger regularisation conditions the problem, and with a large C on nearly
 * separable classes the coefficients keep growing).
 */
export function convergenceAdvice(X: Matrix): string {
  const rms = largestColumnRms(X);
  if (rms > UNIT_SCALE_RMS)
    return `standardise the features (add a scale step: a column's root mean square is ${rms.toPrecision(3)}), or raise maxIter or tol`;
  return `the features are already on a unit scale (largest column root mean square ${rms.toPrecision(3)}), so standardising will not help: raise maxIter or tol, or lower C`;
}

function largestColumnRms(X: Matrix): number {
  const sums = new Float64Array(X.cols);
  if (X.kind === 'dense') {
    for (let i = 0; i < X.rows; i++) {
      const row = i * X.cols;
      for (let j = 0; j < X.cols; j++) sums[j] += X.data[row + j] ** 2;
    }
  } else {
    for (let k = 0; k < X.indptr[X.rows]; k++) sums[X.indices[k]] += X.data[k] ** 2;
  }
  let largest = 0;
  for (const sum of sums) largest = Math.max(largest, sum);
  return Math.sqrt(largest / Math.max(1, X.rows));
}
