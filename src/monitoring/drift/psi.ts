import { shares } from './samples.js';
import type { DriftTest } from './types.js';

/** Evidently's stand-in for an empty bin: a millionth of the smallest share, or 1e-4 if that is larger. */
function fillZeroes(p: Float64Array): Float64Array {
  let low = Number.POSITIVE_INFINITY;
  for (const v of p) if (v !== 0 && v < low) low = v;
  const fill = low <= 0.0001 ? low / 10 ** 6 : 0.0001;
  return p.map((v) => (v === 0 ? fill : v));
}

/**
 * Population stability index, sum (r - c) ln(r / c) over bins. Unlike Evidently, whose Sturges bins span
 * both samples, the bins are fixed from the reference alone (so a stored reference histogram suffices),
 * the outer bins open-ended so that no current value is dropped. Categories, and numeric columns with at
 * most 20 distinct reference values, are compared level by level as Evidently does.
 */
export const psiTest: DriftTest = {
  name: 'psi',
  title: 'Population stability index',
  kinds: ['numeric', 'categorical'],
  score: 'distance',
  defaultThreshold: 0.1,
  compute: (reference, current) => {
    const s = shares(reference as Float64Array, current as Float64Array, 'reference');
    const r = fillZeroes(s.reference);
    const c = fillZeroes(s.current);
    let statistic = 0;
    for (let i = 0; i < r.length; i++) statistic += (r[i] - c[i]) * Math.log(r[i] / c[i]);
    return { statistic };
  },
};
