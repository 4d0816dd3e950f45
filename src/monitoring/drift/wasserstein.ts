import { sorted, std } from './samples.js';
import type { DriftTest } from './types.js';

/** First Wasserstein distance between the empirical distributions (scipy.stats.wasserstein_distance). */
export function wassersteinDistance(u: Float64Array, v: Float64Array): number {
  const a = sorted(u);
  const b = sorted(v);
  const all = new Float64Array(a.length + b.length);
  all.set(a);
  all.set(b, a.length);
  all.sort();
  let i = 0;
  let j = 0;
  let sum = 0;
  for (let k = 0; k < all.length - 1; k++) {
    while (i < a.length && a[i] <= all[k]) i++;
    while (j < b.length && b[j] <= all[k]) j++;
    sum += Math.abs(i / a.length - j / b.length) * (all[k + 1] - all[k]);
  }
  return sum;
}

/** Wasserstein distance in reference standard deviations (floored at 0.001), Evidently's default on large numeric columns. */
export const wassersteinTest: DriftTest = {
  name: 'wasserstein',
  title: 'Wasserstein distance (normed by the reference std)',
  kinds: ['numeric'],
  score: 'distance',
  defaultThreshold: 0.1,
  compute: (reference, current) => {
    const ref = reference as Float64Array;
    const norm = Math.max(std(ref), 0.001);
    return { statistic: wassersteinDistance(ref, current as Float64Array) / norm };
  },
};
