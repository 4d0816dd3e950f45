/** Row subsets of per-row arrays: targets, weights, and row-major score matrices. */

export function pickValues<A extends Int32Array | Float64Array>(values: A, rows: ArrayLike<number>): A {
  const out = new (values.constructor as new (length: number) => A)(rows.length);
  for (let r = 0; r < rows.length; r++) out[r] = values[rows[r]];
  return out;
}

export function pickRows(matrix: Float64Array, rows: ArrayLike<number>, width: number): Float64Array {
  const out = new Float64Array(rows.length * width);
  for (let r = 0; r < rows.length; r++)
    out.set(matrix.subarray(rows[r] * width, (rows[r] + 1) * width), r * width);
  return out;
}
