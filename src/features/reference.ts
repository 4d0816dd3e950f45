import type { CsrMatrix, DenseMatrix, Matrix } from '../data/matrix.js';

/** Per-feature statistics of the training matrix, stored in the manifest as the drift reference. */
export interface FeatureReferenceStats {
  readonly name: string;
  /** null when the column has no present value. */
  readonly mean: number | null;
  /** Population standard deviation (ddof 0). */
  readonly std: number | null;
  readonly min: number | null;
  readonly max: number | null;
  /** Fraction of NaN cells. */
  readonly missingFraction: number;
}

export function featureReferenceStats(X: Matrix, featureNames: readonly string[]): FeatureReferenceStats[] {
  if (featureNames.length !== X.cols)
    throw new Error(`${featureNames.length} feature names for ${X.cols} matrix columns`);
  return X.kind === 'dense' ? denseStats(X, featureNames) : sparseStats(X, featureNames);
}

function denseStats(X: DenseMatrix, featureNames: readonly string[]): FeatureReferenceStats[] {
  const { rows, cols, data } = X;
  return featureNames.map((name, j) => {
    let count = 0;
    let sum = 0;
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < rows; i++) {
      const v = data[i * cols + j];
      if (Number.isNaN(v)) continue;
      count++;
      sum += v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const missingFraction = rows === 0 ? 0 : (rows - count) / rows;
    if (count === 0) return { name, mean: null, std: null, min: null, max: null, missingFraction };
    const mean = sum / count;
    let ss = 0;
    for (let i = 0; i < rows; i++) {
      const v = data[i * cols + j];
      if (!Number.isNaN(v)) ss += (v - mean) * (v - mean);
    }
    return { name, mean, std: Math.sqrt(ss / count), min, max, missingFraction };
  });
}

/** The same statistics over every cell, the zeros CSR leaves out included, in O(nnz + cols). */
function sparseStats(X: CsrMatrix, featureNames: readonly string[]): FeatureReferenceStats[] {
  const { rows, cols, indices, data } = X;
  const stored = new Int32Array(cols);
  const missing = new Int32Array(cols);
  const sum = new Float64Array(cols);
  const min = new Float64Array(cols).fill(Number.POSITIVE_INFINITY);
  const max = new Float64Array(cols).fill(Number.NEGATIVE_INFINITY);
  for (let p = 0; p < data.length; p++) {
    const j = indices[p];
    const v = data[p];
    stored[j]++;
    if (Number.isNaN(v)) {
      missing[j]++;
      continue;
    }
    sum[j] += v;
    if (v < min[j]) min[j] = v;
    if (v > max[j]) max[j] = v;
  }
  const mean = new Float64Array(cols);
  for (let j = 0; j < cols; j++) {
    const count = rows - missing[j];
    mean[j] = count > 0 ? sum[j] / count : Number.NaN;
    if (stored[j] < rows) {
      min[j] = Math.min(min[j], 0);
      max[j] = Math.max(max[j], 0);
    }
  }
  const ss = new Float64Array(cols);
  for (let p = 0; p < data.length; p++) {
    const d = data[p] - mean[indices[p]];
    if (!Number.isNaN(d)) ss[indices[p]] += d * d;
  }
  return featureNames.map((name, j) => {
    const count = rows - missing[j];
    const missingFraction = rows === 0 ? 0 : missing[j] / rows;
    if (count === 0) return { name, mean: null, std: null, min: null, max: null, missingFraction };
    const zeros = rows - stored[j];
    const std = Math.sqrt((ss[j] + zeros * mean[j] * mean[j]) / count);
    return { name, mean: mean[j], std, min: min[j], max: max[j], missingFraction };
  });
}
