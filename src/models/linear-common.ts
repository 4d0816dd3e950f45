import { z } from 'zod';
import type { CsrMatrix, Matrix, ModelInput } from '../data/matrix.js';

/** What the linear families (logistic regression, linear SVM, ridge) share: inputs, class weights, checks. */

/**
 * Class weights of the linear families: 'balanced' = n_samples / (n_classes * count(class)); a record:
 * weight by class name (others 1).
 */
export const classWeightParam = z
  .union([z.literal('balanced'), z.record(z.string(), z.number().nonnegative()), z.null()])
  .default(null);

export type ClassWeightSpec = z.infer<typeof classWeightParam>;

/** The matrix of a linear family's input (the pipeline never hands it a tensor it did not declare). */
export function matrixInput(X: ModelInput, family: string): Matrix {
  if (X.kind === 'tensor')
    throw new Error(
      `${family}: takes a dense or sparse matrix, not a tensor of shape [${X.shape.join(', ')}]`,
    );
  return X;
}

/** Class codes of a classifier's target. */
export function classCodes(y: Int32Array | Float64Array, family: string): Int32Array {
  if (!(y instanceof Int32Array))
    throw new Error(`${family}: a classifier needs class codes (Int32Array) as y`);
  return y;
}

/** Checks labels, sample weights and finite X for a classifier fit; errors are prefixed by `family`. */
export function validateClassifierInputs(
  X: Matrix,
  y: Int32Array,
  classes: readonly string[],
  sampleWeight: Float64Array | undefined,
  family: string,
): void {
  const n = X.rows;
  if (y.length !== n) throw new Error(`${family}: X has ${n} rows but y has ${y.length} labels`);
  if (n === 0) throw new Error(`${family}: no training rows`);
  for (let i = 0; i < n; i++) {
    if (y[i] < 0 || y[i] >= classes.length) {
      throw new Error(`${family}: y[${i}] = ${y[i]} is not a class code in [0, ${classes.length - 1}]`);
    }
  }
  if (sampleWeight) {
    if (sampleWeight.length !== n) {
      throw new Error(`${family}: sampleWeight has ${sampleWeight.length} values for ${n} rows`);
    }
    for (let i = 0; i < n; i++) {
      const s = sampleWeight[i];
      if (!(s >= 0 && Number.isFinite(s))) {
        throw new Error(`${family}: sampleWeight[${i}] = ${s} must be finite and >= 0`);
      }
    }
  }
  const data = X.data;
  for (let q = 0; q < data.length; q++) {
    if (!Number.isFinite(data[q])) {
      const [row, col] = X.kind === 'dense' ? [Math.floor(q / X.cols), q % X.cols] : csrPosition(X, q);
      throw new Error(`${family}: X[${row}, ${col}] is ${data[q]}; impute missing values before the model`);
    }
  }
}

function csrPosition(X: CsrMatrix, q: number): [number, number] {
  let row = 0;
  while (X.indptr[row + 1] <= q) row++;
  return [row, X.indices[q]];
}

/** Weight per class code from a `classWeight` spec; `counts` per class, `present` classes with rows. */
export function resolveClassWeights(
  spec: ClassWeightSpec,
  classes: readonly string[],
  counts: Float64Array,
  present: number,
  n: number,
  family: string,
): Float64Array {
  const weights = new Float64Array(classes.length).fill(1);
  if (spec === 'balanced') {
    for (let c = 0; c < classes.length; c++) if (counts[c] > 0) weights[c] = n / (present * counts[c]);
  } else if (spec) {
    for (const [name, weight] of Object.entries(spec)) {
      const c = classes.indexOf(name);
      if (c < 0)
        throw new Error(`${family}: classWeight names "${name}", not a class of [${classes.join(', ')}]`);
      weights[c] = weight;
    }
  }
  return weights;
}
