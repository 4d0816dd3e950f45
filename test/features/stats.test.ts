import { describe, expect, it } from 'vitest';
import { nanMedian, numericMode, select } from '../../src/features/stats.js';
import { Random } from '../../src/util/random.js';

/** The definitions, by sorting: what the selection-based and counting versions must reproduce. */
function sortedMedian(values: Float64Array): number {
  const present = Float64Array.from([...values].filter((v) => !Number.isNaN(v))).sort();
  const n = present.length;
  if (n === 0) return Number.NaN;
  return n % 2 ? present[n >> 1] : (present[(n >> 1) - 1] + present[n >> 1]) / 2;
}

function sortedMode(values: Float64Array): number {
  const present = Float64Array.from([...values].filter((v) => !Number.isNaN(v))).sort();
  let best = Number.NaN;
  let bestCount = 0;
  for (let i = 0; i < present.length; ) {
    let j = i + 1;
    while (j < present.length && present[j] === present[i]) j++;
    if (j - i > bestCount) [best, bestCount] = [present[i], j - i];
    i = j;
  }
  return best;
}

function samples(): Float64Array[] {
  const rng = new Random(7);
  const out: Float64Array[] = [
    new Float64Array([]),
    new Float64Array([Number.NaN, Number.NaN]),
    new Float64Array([3]),
    new Float64Array([2, 1]),
    new Float64Array(1000).fill(4),
    Float64Array.from({ length: 1001 }, (_, i) => i),
    Float64Array.from({ length: 1000 }, (_, i) => 1000 - i),
    new Float64Array([-1e308, 1e308, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, 0]),
  ];
  for (let s = 0; s < 60; s++) {
    const n = 1 + rng.below(3000);
    const distinct = 1 + rng.below(s % 2 ? 5 : 5000);
    out.push(
      Float64Array.from({ length: n }, () =>
        rng.next() < 0.1 ? Number.NaN : rng.below(distinct) - distinct / 2 + (s % 3 ? 0 : rng.next()),
      ),
    );
  }
  return out;
}

describe('training statistics', () => {
  it('nanMedian equals the sort-based median (numpy.nanmedian) on ties, runs, NaNs and extremes', () => {
    for (const values of samples()) {
      const before = values.slice();
      expect(nanMedian(values)).toStrictEqual(sortedMedian(values));
      expect(values).toStrictEqual(before);
    }
  });

  it('select puts the k-th smallest at k with nothing greater before it and nothing smaller after', () => {
    const rng = new Random(3);
    for (let s = 0; s < 40; s++) {
      const a = Float64Array.from({ length: 1 + rng.below(500) }, () => rng.below(1 + (s % 7) * 20));
      const sorted = a.slice().sort();
      const k = rng.below(a.length);
      select(a, k);
      expect(a[k]).toBe(sorted[k]);
      for (let i = 0; i < k; i++) expect(a[i]).toBeLessThanOrEqual(a[k]);
      for (let i = k + 1; i < a.length; i++) expect(a[i]).toBeGreaterThanOrEqual(a[k]);
      expect(a.slice().sort()).toStrictEqual(sorted);
    }
  });

  it('numericMode equals the sort-based mode, ties to the smallest value, whatever the row order', () => {
    const rng = new Random(11);
    for (const values of samples()) {
      const expected = sortedMode(values);
      expect(numericMode(values)).toStrictEqual(expected === 0 ? 0 : expected);
      expect(numericMode(rng.shuffle(values.slice()))).toStrictEqual(numericMode(values));
    }
    expect(numericMode(new Float64Array([-0, 0, 5]))).toStrictEqual(0);
    expect(numericMode(new Float64Array([2, 1, 2, 1]))).toBe(1);
  });
});
