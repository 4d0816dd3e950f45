/**
 * N-D tensors between feature steps and models, beside tables and CSR blocks: windows of readings
 * `[n, time, features]`, images `[n, height, width, channels]`, embeddings `[n, d]`. Row-major (the last
 * axis varies fastest), the first axis is always the row (example) axis.
 */

export type DType = 'float64' | 'float32' | 'int32' | 'uint8';

export type TensorData<D extends DType = DType> = {
  float64: Float64Array;
  float32: Float32Array;
  int32: Int32Array;
  uint8: Uint8Array;
}[D];

export interface Tensor<D extends DType = DType> {
  readonly kind: 'tensor';
  readonly dtype: D;
  /** [rows, ...]; every entry a non-negative integer. */
  readonly shape: readonly number[];
  readonly data: TensorData<D>;
}

const CONSTRUCTORS = {
  float64: Float64Array,
  float32: Float32Array,
  int32: Int32Array,
  uint8: Uint8Array,
} as const;

/** A tensor over `data` (not copied), or a zero-filled one; the length must match the shape. */
export function tensor<D extends DType>(dtype: D, shape: readonly number[], data?: TensorData<D>): Tensor<D> {
  if (shape.length === 0) throw new Error('a tensor needs at least one axis (the row axis)');
  for (const [axis, size] of shape.entries()) {
    if (!Number.isInteger(size) || size < 0)
      throw new Error(`tensor shape [${shape.join(', ')}]: axis ${axis} is ${size}, not a size`);
  }
  const length = elementCount(shape);
  const values = data ?? (new CONSTRUCTORS[dtype](length) as TensorData<D>);
  if (!(values instanceof CONSTRUCTORS[dtype]))
    throw new Error(`a ${dtype} tensor needs a ${CONSTRUCTORS[dtype].name}, got ${values.constructor.name}`);
  if (values.length !== length)
    throw new Error(`tensor shape [${shape.join(', ')}] needs ${length} values, got ${values.length}`);
  return { kind: 'tensor', dtype, shape: [...shape], data: values };
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((product, size) => product * size, 1);
}

/** Values per row: the product of every axis but the first. */
export function rowSize(t: Tensor): number {
  return elementCount(t.shape.slice(1));
}

/** Rows by index, copied (fold subsets). */
export function takeTensorRows<D extends DType>(t: Tensor<D>, rows: ArrayLike<number>): Tensor<D> {
  const size = rowSize(t);
  const out = new CONSTRUCTORS[t.dtype](rows.length * size) as TensorData<D>;
  for (let r = 0; r < rows.length; r++) {
    const i = rows[r];
    if (i < 0 || i >= t.shape[0]) throw new Error(`row ${i} is outside a tensor of ${t.shape[0]} rows`);
    out.set(t.data.subarray(i * size, (i + 1) * size) as never, r * size);
  }
  return tensor(t.dtype, [rows.length, ...t.shape.slice(1)], out);
}
