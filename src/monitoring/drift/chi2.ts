import { levelCounts } from './samples.js';
import { chi2Sf } from './special.js';
import type { DriftTest } from './types.js';

/**
 * Chi-square goodness of fit of the current level counts against the reference shares scaled to the
 * current size, over both samples' levels (Evidently's chisquare test, scipy.stats.chisquare). A level
 * the reference never saw expects 0 and makes the statistic infinite (p = 0), as in SciPy.
 */
export const chi2Test: DriftTest = {
  name: 'chi2',
  title: 'Chi-square (level counts)',
  kinds: ['categorical', 'numeric'],
  score: 'p_value',
  defaultThreshold: 0.05,
  compute: (reference, current) => {
    const counts = levelCounts(reference as readonly string[], current as readonly string[]);
    if (counts.levels.length < 2)
      return { insufficient: 'one category only: the chi-square test is undefined' };
    const scale = current.length / reference.length;
    let statistic = 0;
    for (let i = 0; i < counts.levels.length; i++) {
      const expected = counts.reference[i] * scale;
      const gap = counts.current[i] - expected;
      statistic += (gap * gap) / expected;
    }
    return { statistic, pValue: chi2Sf(statistic, counts.levels.length - 1) };
  },
};
