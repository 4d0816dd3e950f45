import { type Tensor, takeTensorRows } from './tensor.js';

/**
 * Design matrices handed to model families. Dense is row-major; CSR keeps wide sparse features
 * (TF-IDF) compact. Linear algebra goes through matVec/matTVec so a solver works on either.
 */

export interface DenseMatrix {
  readonly kind: 'dense';
  readonly rows: number;
  readonly cols: number;
  /** Row-major, length rows * cols. */
  readonly data: Float64Array;
}

export interface CsrMatrix {
  readonly kind: 'csr';
  readonly rows: number;
  readonly cols: number;
  readonly indptr: Int32Array;
  readonly indices: Int32Array;
  readonly data: Float64Array;
}

export type Matrix = DenseMatrix | CsrMatrix;

export function denseMatrix(rows: number, cols: number, data?: Float64Array): DenseMatrix {
  const values = data ?? new Float64Array(rows * cols);
  if (values.length !== rows * cols)
    throw new Error(`dense matrix ${rows}x${cols} needs ${rows * cols} values, got ${values.length}`);
  return { kind: 'dense', rows, cols, data: values };
}

/** out[i] = sum_j X[i,j] * w[j] (+ bias). */
export function matVec(
  X: Matrix,
  w: ArrayLike<number>,
  out: Float64Array,
  bias = 0,
  wOffset = 0,
): Float64Array {
  if (X.kind === 'dense') {
    const { rows, cols, data } = X;
    for (let i = 0; i < rows; i++) {
      let s = bias;
      const base = i * cols;
      for (let j = 0; j < cols; j++) s += data[base + j] * w[wOffset + j];
      out[i] = s;
    }
  } else {
    const { rows, indptr, indices, data } = X;
    for (let i = 0; i < rows; i++) {
      let s = bias;
      for (let p = indptr[i]; p < indptr[i + 1]; p++) s += data[p] * w[wOffset + indices[p]];
      out[i] = s;
    }
  }
  return out;
}

/** out[j] += sum_i X[i,j] * r[i]  (accumulates; zero `out` first when needed). */
export function matTVecAdd(X: Matrix, r: ArrayLike<number>, out: Float64Array, outOffset = 0): Float64Array {
  if (X.kind === 'dense') {
    const { rows, cols, data } = X;
    for (let i = 0; i < rows; i++) {
      const ri = r[i];
      if (ri === 0) continue;
      const base = i * cols;
      for (let j = 0; j < cols; j++) out[outOffset + j] += data[base + j] * ri;
    }
  } else {
    const { rows, indptr, indices, data } = X;
    for (let i = 0; i < rows; i++) {
      const ri = r[i];
      if (ri === 0) continue;
      for (let p = indptr[i]; p < indptr[i + 1]; p++) out[outOffset + indices[p]] += data[p] * ri;
    }
  }
  return out;
}

/** Rows by index (fold subsets). */
export function takeMatrixRows(X: Matrix, indices: ArrayLike<number>): Matrix {
  if (X.kind === 'dense') {
    const out = new Float64Array(indices.length * X.cols);
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k];
      out.set(X.data.subarray(i * X.cols, (i + 1) * X.cols), k * X.cols);
    }
    return denseMatrix(indices.length, X.cols, out);
  }
  let nnz = 0;
  for (let k = 0; k < indices.length; k++) nnz += X.indptr[indices[k] + 1] - X.indptr[indices[k]];
  const indptr = new Int32Array(indices.length + 1);
  const idx = new Int32Array(nnz);
  const data = new Float64Array(nnz);
  let p = 0;
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k];
    for (let q = X.indptr[i]; q < X.indptr[i + 1]; q++, p++) {
      idx[p] = X.indices[q];
      data[p] = X.data[q];
    }
    indptr[k + 1] = p;
  }
  return { kind: 'csr', rows: indices.length, cols: X.cols, indptr, indices: idx, data };
}

/** The nonzeros of a dense matrix as CSR. */
export function denseToCsr(X: DenseMatrix): CsrMatrix {
  const { rows, cols, data } = X;
  let nnz = 0;
  for (let q = 0; q < data.length; q++) if (data[q] !== 0) nnz++;
  const indptr = new Int32Array(rows + 1);
  const indices = new Int32Array(nnz);
  const values = new Float64Array(nnz);
  let k = 0;
  for (let i = 0; i < rows; i++) {
    for (let j = 0, q = i * cols; j < cols; j++, q++) {
      if (data[q] === 0) continue;
      indices[k] = j;
      values[k++] = data[q];
    }
    indptr[i + 1] = k;
  }
  return { kind: 'csr', rows, cols, indptr, indices, data: values };
}

/** What a feature pipeline hands a model family: a dense or CSR matrix, or an N-D tensor. */
export type ModelInput = Matrix | Tensor;

/** The input kinds a model family can declare it reads. */
export type InputKind = 'dense' | 'sparse' | 'sequence' | 'image' | 'tensor';

/** The kind of an input: `sequence` is a rank-3 tensor [n, time, features], `image` rank 4 [n, h, w, c]. */
export function inputKind(X: ModelInput): InputKind {
  if (X.kind === 'dense') return 'dense';
  if (X.kind === 'csr') return 'sparse';
  return X.shape.length === 3 ? 'sequence' : X.shape.length === 4 ? 'image' : 'tensor';
}

export function inputRows(X: ModelInput): number {
  return X.kind === 'tensor' ? X.shape[0] : X.rows;
}

/** Rows by index of any model input (fold subsets). */
export function takeInputRows(X: ModelInput, indices: ArrayLike<number>): ModelInput {
  return X.kind === 'tensor' ? takeTensorRows(X, indices) : takeMatrixRows(X, indices);
}
