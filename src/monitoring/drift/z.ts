import { levelCounts } from './samples.js';
import { normalSf } from './special.js';
import type { DriftTest } from './types.js';

/**
 * Two-proportion z-test of the first level (in sorted order) against the rest, pooled variance
 * (Evidently's proportions_diff_z_stat_ztest). Both samples holding the same single level: z = 0, p = 1.
 * The p-value is 2 sf(|z|), which Evidently writes 2 (1 - cdf(|z|)): equal until 1 - cdf rounds to 0.
 */
export const zTest: DriftTest = {
  name: 'z',
  title: 'Z-test for two proportions',
  kinds: ['categorical', 'numeric'],
  score: 'p_value',
  defaultThreshold: 0.05,
  compute: (reference, current) => {
    const counts = levelCounts(reference as readonly string[], current as readonly string[]);
    if (counts.levels.length === 1) return { statistic: 0, pValue: 1 };
    const n1 = reference.length;
    const n2 = current.length;
    // Evidently codes the first level 0 and every other level 1.
    const p1 = (n1 - counts.reference[0]) / n1;
    const p2 = (n2 - counts.current[0]) / n2;
    const pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
    const z = (p1 - p2) / Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
    return { statistic: z, pValue: 2 * normalSf(Math.abs(z)) };
  },
};
