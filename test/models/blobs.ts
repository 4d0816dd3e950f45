import { type DenseMatrix, denseMatrix } from '../../src/data/matrix.js';
import type { Random } from '../../src/util/random.js';

/**
 * k Gaussian blobs in p dimensions (centres `spread` apart on the axes), about `zeroFraction` exact zeros;
 * classes named c0, c1, ...
 */
export function blobs(
  rng: Random,
  counts: number[],
  p: number,
  spread: number,
  zeroFraction = 0,
): { X: DenseMatrix; y: Int32Array; classes: string[] } {
  const n = counts.reduce((a, b) => a + b, 0);
  const X = denseMatrix(n, p);
  const y = new Int32Array(n);
  let i = 0;
  counts.forEach((count, c) => {
    for (let t = 0; t < count; t++, i++) {
      y[i] = c;
      for (let j = 0; j < p; j++) {
        const centre = j === c % p ? spread * (c < p ? 1 : -1) : 0;
        X.data[i * p + j] = rng.next() < zeroFraction ? 0 : centre + rng.normal();
      }
    }
  });
  return { X, y, classes: counts.map((_, c) => `c${c}`) };
}
