import { Random } from '../../util/random.js';
import type { DriftTest, DriftTestOptions, Undefined } from './types.js';

/** Rows kept per sample (a seeded subsample beyond): the permutation test costs (n + m)^2 per draw. */
const MAX_ROWS = 500;
const DEFAULT_PERMUTATIONS = 200;

/** The median distance between distinct reference rows: the kernel's bandwidth (median heuristic). */
export function medianBandwidth(rows: readonly Float64Array[]): number {
  const distances = new Float64Array((rows.length * (rows.length - 1)) / 2);
  let k = 0;
  for (let i = 0; i < rows.length; i++)
    for (let j = i + 1; j < rows.length; j++) distances[k++] = Math.sqrt(squaredDistance(rows[i], rows[j]));
  distances.sort();
  const mid = distances.length >> 1;
  return distances.length % 2 ? distances[mid] : (distances[mid - 1] + distances[mid]) / 2;
}

function squaredDistance(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let d = 0; d < a.length; d++) s += (a[d] - b[d]) ** 2;
  return s;
}

/** Gaussian kernel matrix of the pooled rows, k(x, y) = exp(-|x - y|^2 / (2 sigma^2)). */
function kernelMatrix(rows: readonly Float64Array[], sigma: number): Float64Array {
  const n = rows.length;
  const K = new Float64Array(n * n);
  const scale = -1 / (2 * sigma * sigma);
  for (let i = 0; i < n; i++) {
    K[i * n + i] = 1;
    for (let j = i + 1; j < n; j++)
      K[i * n + j] = K[j * n + i] = Math.exp(scale * squaredDistance(rows[i], rows[j]));
  }
  return K;
}

/** Sum of K over ordered pairs i != j of the given indices. */
function offDiagonalSum(K: Float64Array, n: number, idx: Int32Array, from: number, to: number): number {
  let s = 0;
  for (let a = from; a < to; a++) {
    const row = idx[a] * n;
    for (let b = a + 1; b < to; b++) s += K[row + idx[b]];
  }
  return 2 * s;
}

/** Unbiased MMD^2 with the first nx indices as the reference, from the pooled kernel matrix. */
function mmdSquared(K: Float64Array, n: number, idx: Int32Array, nx: number, offTotal: number): number {
  const ny = n - nx;
  const xx = offDiagonalSum(K, n, idx, 0, nx);
  const yy = offDiagonalSum(K, n, idx, nx, n);
  const xy = (offTotal - xx - yy) / 2;
  return xx / (nx * (nx - 1)) + yy / (ny * (ny - 1)) - (2 * xy) / (nx * ny);
}

function subsample(rows: readonly Float64Array[], random: Random): readonly Float64Array[] {
  if (rows.length <= MAX_ROWS) return rows;
  const order = random.shuffle(Int32Array.from(rows, (_, i) => i));
  return Array.from(order.subarray(0, MAX_ROWS), (i) => rows[i]);
}

/**
 * Kernel two-sample test on vectors: unbiased MMD^2 with a Gaussian kernel whose bandwidth is fixed by
 * the median heuristic on the reference, p-value by a seeded permutation test, (1 + #{permuted >= observed})
 * / (1 + permutations). Beyond 500 rows a side, a seeded subsample of each.
 */
export function mmdTwoSample(
  reference: readonly Float64Array[],
  current: readonly Float64Array[],
  options: DriftTestOptions = {},
): { statistic: number; pValue: number; bandwidth: number } | Undefined {
  const random = new Random(options.seed ?? 0);
  const x = subsample(reference, random);
  const y = subsample(current, random);
  if (x.length < 2 || y.length < 2) return { insufficient: 'MMD needs at least two rows on each side' };
  const bandwidth = medianBandwidth(x);
  if (!(bandwidth > 0)) return { insufficient: 'reference rows are all identical: no kernel bandwidth' };
  const pooled = [...x, ...y];
  const n = pooled.length;
  const K = kernelMatrix(pooled, bandwidth);
  let offTotal = 0;
  for (let i = 0; i < K.length; i++) offTotal += K[i];
  offTotal -= n;
  const idx = Int32Array.from(pooled, (_, i) => i);
  const statistic = mmdSquared(K, n, idx, x.length, offTotal);
  const permutations = options.permutations ?? DEFAULT_PERMUTATIONS;
  let atLeast = 0;
  for (let p = 0; p < permutations; p++) {
    random.shuffle(idx);
    if (mmdSquared(K, n, idx, x.length, offTotal) >= statistic) atLeast++;
  }
  return { statistic, pValue: (1 + atLeast) / (1 + permutations), bandwidth };
}

export const mmdTest: DriftTest = {
  name: 'mmd',
  title: 'Maximum mean discrepancy (Gaussian kernel, permutation test)',
  kinds: ['vector'],
  score: 'p_value',
  defaultThreshold: 0.05,
  compute: (reference, current, options) => {
    const result = mmdTwoSample(reference as Float64Array[], current as Float64Array[], options);
    return 'insufficient' in result ? result : { statistic: result.statistic, pValue: result.pValue };
  },
};
