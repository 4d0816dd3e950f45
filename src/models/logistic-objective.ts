import type { CsrMatrix, DenseMatrix, Matrix } from '../data/matrix.js';
import { addHessian, binaryPass, type ColumnLayout, columnLayout } from './logistic-binary.js';

/** Row i's scores z[c] = x_i . coef[c] + intercept[c]; coef row-major kk x p. */
export function linearScores(
  X: Matrix,
  i: number,
  coef: Float64Array,
  intercept: Float64Array,
  kk: number,
  p: number,
  z: Float64Array,
): void {
  if (X.kind === 'dense') {
    const { data } = X;
    const base = i * p;
    for (let c = 0; c < kk; c++) {
      let s = intercept[c];
      const wo = c * p;
      for (let j = 0; j < p; j++) s += data[base + j] * coef[wo + j];
      z[c] = s;
    }
  } else {
    const { indptr, indices, data } = X;
    const start = indptr[i];
    const end = indptr[i + 1];
    for (let c = 0; c < kk; c++) {
      let s = intercept[c];
      const wo = c * p;
      for (let q = start; q < end; q++) s += data[q] * coef[wo + indices[q]];
      z[c] = s;
    }
  }
}

/**
 * The objective divided by `scale` = C * sum_i s_i, and its gradient, in one pass over X; binary
 * problems also the Hessian (Newton-Cholesky). Binary passes run over a column layout (dense block and
 * sparse rest, logistic-binary.ts). Multinomial dense rows go in blocks of four: each coefficient is
 * loaded once for four dot products (independent accumulators), and the gradient is updated once per
 * block, which halves the time of a row-at-a-time loop.
 * Parameters: the kk x p coefficients, class-major (feature-major for sparse multinomial input), then,
 * with an intercept, kk intercepts; `unpack` returns them class-major.
 */
export class LogisticObjective {
  /** Multiply `evaluate` by this for scikit-learn's objective. */
  readonly scale: number;
  /** Per row: s_i / sum_i s_i, and (binary) +1 / -1. */
  readonly weights: Float64Array;
  readonly sign: Float64Array;
  private readonly l2: number;
  /** Scores, then residuals d(loss)/d(score), of the rows in the current block: [row * kk + class]. */
  private readonly block: Float64Array;
  private readonly featureMajor: boolean;
  /** Every row's scores at the point of the last `evaluate`: [row * kk + class]. */
  readonly scores: Float64Array;
  /**
   * The matrix of the multinomial passes: a dense one that is mostly zeros (at most 30 %: one-hot
   * columns) as CSR, whose passes touch only the nonzeros.
   */
  private readonly X: Matrix;
  /** Stored nonzeros of the input matrix (the work of a pass). */
  readonly nonzeros: number;
  /** Binary: the columns laid out for its passes (logistic-binary.ts), and per row s_i q_i for `hessian`. */
  private readonly layout?: ColumnLayout;
  private curvature?: Float64Array;

  /**
   * @param labels class index per row in [0, kk) for multinomial, 0/1 for binary (kk = 1)
   * @param sampleWeights s_i per row (sample weight x class weight)
   */
  constructor(
    X: Matrix,
    private readonly labels: Int32Array,
    sampleWeights: Float64Array,
    private readonly kk: number,
    private readonly fitIntercept: boolean,
    C: number,
  ) {
    if (kk === 1) {
      this.layout = columnLayout(X);
      this.nonzeros = this.layout.nonzeros;
      this.X = X;
    } else {
      this.nonzeros = X.kind === 'dense' ? denseNonzeros(X) : X.indptr[X.rows];
      this.X = X.kind === 'dense' && this.nonzeros <= 0.3 * X.data.length ? toCsr(X, this.nonzeros) : X;
    }
    let sum = 0;
    for (let i = 0; i < sampleWeights.length; i++) sum += sampleWeights[i];
    if (!(sum > 0)) throw new Error('logistic_regression: sample and class weights sum to zero');
    this.scale = C * sum;
    this.l2 = 1 / this.scale;
    this.weights = sampleWeights.map((s) => s / sum);
    this.sign = kk === 1 ? Float64Array.from(labels, (c) => (c === 1 ? 1 : -1)) : new Float64Array(0);
    this.block = new Float64Array(4 * kk);
    this.featureMajor = kk > 1 && this.X.kind === 'csr';
    this.scores = new Float64Array(X.rows * kk);
  }

  evaluate(w: Float64Array, grad: Float64Array): number {
    grad.fill(0);
    const { X, kk } = this;
    let loss: number;
    if (this.layout) {
      loss = binaryPass(this.layout, this, this.fitIntercept, w, grad);
    } else {
      loss = X.kind === 'dense' ? this.multinomialDense(X, w, grad) : this.multinomialCsr(X, w, grad);
    }
    const nw = kk * X.cols;
    const l2 = this.l2;
    let norm = 0;
    for (let j = 0; j < nw; j++) {
      norm += w[j] * w[j];
      grad[j] += l2 * w[j];
    }
    return loss + 0.5 * l2 * norm;
  }

  private multinomialDense(X: DenseMatrix, w: Float64Array, grad: Float64Array): number {
    const { rows, cols: p, data } = X;
    const { labels, weights, kk, block: z, scores } = this;
    const bo = kk * p;
    const fitIntercept = this.fitIntercept;
    let loss = 0;
    for (let i = 0; i < rows; i += 4) {
      const count = Math.min(4, rows - i);
      const o0 = i * p;
      if (count === 4) {
        const o1 = o0 + p;
        const o2 = o1 + p;
        const o3 = o2 + p;
        for (let c = 0; c < kk; c++) {
          const bc = fitIntercept ? w[bo + c] : 0;
          const wo = c * p;
          let s0 = bc;
          let s1 = bc;
          let s2 = bc;
          let s3 = bc;
          for (let j = 0; j < p; j++) {
            const wj = w[wo + j];
            s0 += data[o0 + j] * wj;
            s1 += data[o1 + j] * wj;
            s2 += data[o2 + j] * wj;
            s3 += data[o3 + j] * wj;
          }
          z[c] = s0;
          z[kk + c] = s1;
          z[2 * kk + c] = s2;
          z[3 * kk + c] = s3;
        }
        scores.set(z, i * kk);
        loss += softmaxTerms(z, labels, weights, i, 4, kk);
        for (let c = 0; c < kk; c++) {
          const r0 = z[c];
          const r1 = z[kk + c];
          const r2 = z[2 * kk + c];
          const r3 = z[3 * kk + c];
          if (fitIntercept) grad[bo + c] += r0 + r1 + r2 + r3;
          const wo = c * p;
          for (let j = 0; j < p; j++) {
            grad[wo + j] += r0 * data[o0 + j] + r1 * data[o1 + j] + r2 * data[o2 + j] + r3 * data[o3 + j];
          }
        }
      } else {
        for (let t = 0; t < count; t++) {
          const o = o0 + t * p;
          for (let c = 0; c < kk; c++) {
            let s = fitIntercept ? w[bo + c] : 0;
            const wo = c * p;
            for (let j = 0; j < p; j++) s += data[o + j] * w[wo + j];
            z[t * kk + c] = s;
          }
        }
        scores.set(z.subarray(0, count * kk), i * kk);
        loss += softmaxTerms(z, labels, weights, i, count, kk);
        for (let t = 0; t < count; t++) {
          const o = o0 + t * p;
          for (let c = 0; c < kk; c++) {
            const r = z[t * kk + c];
            if (fitIntercept) grad[bo + c] += r;
            const wo = c * p;
            for (let j = 0; j < p; j++) grad[wo + j] += r * data[o + j];
          }
        }
      }
    }
    return loss;
  }

  /**
   * Feature-major weights: each nonzero x_ij meets its kk class weights side by side in memory. Classes
   * go four at a time, in registers across the row's nonzeros (the row stays in L1): a loop over all kk
   * classes per nonzero loads and stores every score once per nonzero, 1.6x slower on posos' TF-IDF.
   */
  private multinomialCsr(X: CsrMatrix, w: Float64Array, grad: Float64Array): number {
    const { rows, cols: p, indptr, indices, data } = X;
    const { labels, weights, kk, block: z, scores } = this;
    const bo = kk * p;
    const fitIntercept = this.fitIntercept;
    const tail = kk - (kk % 4);
    let loss = 0;
    for (let i = 0; i < rows; i++) {
      const start = indptr[i];
      const end = indptr[i + 1];
      for (let c = 0; c < tail; c += 4) {
        let s0 = fitIntercept ? w[bo + c] : 0;
        let s1 = fitIntercept ? w[bo + c + 1] : 0;
        let s2 = fitIntercept ? w[bo + c + 2] : 0;
        let s3 = fitIntercept ? w[bo + c + 3] : 0;
        for (let q = start; q < end; q++) {
          const v = data[q];
          const wo = indices[q] * kk + c;
          s0 += v * w[wo];
          s1 += v * w[wo + 1];
          s2 += v * w[wo + 2];
          s3 += v * w[wo + 3];
        }
        z[c] = s0;
        z[c + 1] = s1;
        z[c + 2] = s2;
        z[c + 3] = s3;
      }
      for (let c = tail; c < kk; c++) {
        let s = fitIntercept ? w[bo + c] : 0;
        for (let q = start; q < end; q++) s += data[q] * w[indices[q] * kk + c];
        z[c] = s;
      }
      scores.set(z.subarray(0, kk), i * kk);
      loss += softmaxTerms(z, labels, weights, i, 1, kk);
      if (fitIntercept) for (let c = 0; c < kk; c++) grad[bo + c] += z[c];
      for (let c = 0; c < tail; c += 4) {
        const r0 = z[c];
        const r1 = z[c + 1];
        const r2 = z[c + 2];
        const r3 = z[c + 3];
        for (let q = start; q < end; q++) {
          const v = data[q];
          const wo = indices[q] * kk + c;
          grad[wo] += v * r0;
          grad[wo + 1] += v * r1;
          grad[wo + 2] += v * r2;
          grad[wo + 3] += v * r3;
        }
      }
      for (let c = tail; c < kk; c++) {
        const r = z[c];
        for (let q = start; q < end; q++) grad[indices[q] * kk + c] += data[q] * r;
      }
    }
    return loss;
  }

  /** The inverse of `unpack`: coefficients (k' x p, row-major) and intercepts into the solver's vector. */
  pack(coef: ArrayLike<number>, intercept: ArrayLike<number>, w: Float64Array): void {
    const { kk } = this;
    const p = this.X.cols;
    for (let c = 0; c < kk; c++) {
      for (let j = 0; j < p; j++) w[this.featureMajor ? j * kk + c : c * p + j] = coef[c * p + j];
    }
    if (this.fitIntercept) for (let c = 0; c < kk; c++) w[kk * p + c] = intercept[c];
  }

  /** Coefficients as kk x p row-major (class-major) and the intercepts, from solver parameters `w`. */
  unpack(w: Float64Array): { coef: Float64Array; intercept: Float64Array } {
    const { kk } = this;
    const p = this.X.cols;
    let coef = w.slice(0, kk * p);
    if (this.featureMajor) {
      coef = new Float64Array(kk * p);
      for (let j = 0; j < p; j++) for (let c = 0; c < kk; c++) coef[c * p + j] = w[j * kk + c];
    }
    const intercept = this.fitIntercept ? w.slice(kk * p, kk * p + kk) : new Float64Array(kk);
    return { coef, intercept };
  }
  /**
   * Binary only: the Hessian of `evaluate` at the point of its last call, into the lower triangle of
   * H (row-major d x d, d = p, plus 1 for the intercept, last): sum_i s_i q_i x_i x_i' with
   * q_i = sigma(z_i) (1 - sigma(z_i)) from the cached scores, plus the penalty on the coefficients.
   */
  hessian(H: Float64Array): void {
    const { X, weights, scores, layout } = this;
    if (!layout) throw new Error('logistic_regression: the Hessian is implemented for binary problems');
    const p = X.cols;
    const d = p + (this.fitIntercept ? 1 : 0);
    this.curvature ??= new Float64Array(X.rows);
    const q = this.curvature;
    for (let i = 0; i < X.rows; i++) {
      const e = Math.exp(-Math.abs(scores[i]));
      q[i] = (weights[i] * e) / ((1 + e) * (1 + e));
    }
    H.fill(0);
    addHessian(layout, q, H, d);
    if (this.fitIntercept) {
      let sum = 0;
      for (let i = 0; i < X.rows; i++) sum += q[i];
      H[p * d + p] = sum;
    }
    for (let j = 0; j < p; j++) H[j * d + j] += this.l2;
  }
}

function denseNonzeros(X: DenseMatrix): number {
  let nonzeros = 0;
  for (let q = 0; q < X.data.length; q++) if (X.data[q] !== 0) nonzeros++;
  return nonzeros;
}

/** denseToCsr (data/matrix.ts) in one pass, the nonzeros being counted already. */
function toCsr(X: DenseMatrix, nonzeros: number): CsrMatrix {
  const { rows, cols, data } = X;
  const indptr = new Int32Array(rows + 1);
  const indices = new Int32Array(nonzeros);
  const values = new Float64Array(nonzeros);
  let k = 0;
  for (let i = 0, q = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++, q++) {
      if (data[q] === 0) continue;
      indices[k] = j;
      values[k++] = data[q];
    }
    indptr[i + 1] = k;
  }
  return { kind: 'csr', rows, cols, indptr, indices, data: values };
}

/**
 * Multinomial terms of rows i .. i+count-1 with scores z[t * kk + c]: returns sum_t s (lse(z_t) - z_t,y)
 * and overwrites the scores with their derivatives s (softmax(z_t) - onehot(y)).
 */
function softmaxTerms(
  z: Float64Array,
  labels: Int32Array,
  weights: Float64Array,
  i: number,
  count: number,
  kk: number,
): number {
  let loss = 0;
  for (let t = 0; t < count; t++) {
    const o = t * kk;
    const si = weights[i + t];
    const yi = labels[i + t];
    let zmax = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < kk; c++) if (z[o + c] > zmax) zmax = z[o + c];
    const zy = z[o + yi];
    let sum = 0;
    for (let c = 0; c < kk; c++) {
      const e = Math.exp(z[o + c] - zmax);
      z[o + c] = e;
      sum += e;
    }
    loss += si * (zmax + Math.log(sum) - zy);
    const scale = si / sum;
    for (let c = 0; c < kk; c++) z[o + c] *= scale;
    z[o + yi] -= si;
  }
  return loss;
}
