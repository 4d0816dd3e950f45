import { shares } from './samples.js';
import type { DriftTest } from './types.js';

/** scipy.spatial.distance.jensenshannon(p, q, base=2): the square root of the JS divergence, in [0, 1]. */
export function jensenShannonDistance(p: Float64Array, q: Float64Array): number {
  const total = (x: Float64Array) => x.reduce((s, v) => s + v, 0);
  const sp = total(p);
  const sq = total(q);
  let divergence = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i] / sp;
    const qi = q[i] / sq;
    const mi = (pi + qi) / 2;
    if (pi > 0) divergence += pi * Math.log(pi / mi);
    if (qi > 0) divergence += qi * Math.log(qi / mi);
  }
  return Math.sqrt(Math.max(0, divergence / Math.LN2 / 2));
}

/**
 * Jensen-Shannon distance between the reference and current shares (Evidently's jensenshannon, base 2):
 * a numeric column with more than 20 distinct reference values in Sturges bins over both samples,
 * any other column by level.
 */
export const jensenShannonTest: DriftTest = {
  name: 'jensenshannon',
  title: 'Jensen-Shannon distance',
  kinds: ['numeric', 'categorical'],
  score: 'distance',
  defaultThreshold: 0.1,
  compute: (reference, current) => {
    const s = shares(reference as Float64Array, current as Float64Array, 'both');
    return { statistic: jensenShannonDistance(s.reference, s.current) };
  },
};
