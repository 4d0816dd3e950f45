import { describe, expect, it } from 'vitest';
import { Random } from '../../src/util/random.js';

describe('Random', () => {
  it('repeats its stream for a seed and differs across seeds', () => {
    const a = new Random(42);
    const b = new Random(42);
    const c = new Random(43);
    const first = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(first);
    expect(Array.from({ length: 5 }, () => c.nextUint32())).not.toEqual(first);
  });

  it('draws below(n) uniformly over [0, n)', () => {
    const rng = new Random(1);
    const n = 7;
    const counts = new Array(n).fill(0);
    const draws = 70_000;
    for (let i = 0; i < draws; i++) {
      const v = rng.below(n);
      expect(Number.isInteger(v) && v >= 0 && v < n).toBe(true);
      counts[v]++;
    }
    // Chi-square with 6 degrees of freedom: 22.46 is the 0.999 quantile.
    const expected = draws / n;
    const chi2 = counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(22.46);
  });

  it('refuses below(n) outside 1 <= n < 2^21', () => {
    const rng = new Random(1);
    expect(() => rng.below(0)).toThrow(/below/);
    expect(() => rng.below(2 ** 21)).toThrow(/below/);
    expect(() => rng.below(2.5)).toThrow(/below/);
  });

  it.each([1, 2, 7, 20_000, 2 ** 21 - 1])(
    'fillBelow(%i) draws exactly what below() draws, state included',
    (n) => {
      const one = new Random(5);
      const batch = new Random(5);
      const out = new Int32Array(50_000);
      batch.fillBelow(n, out);
      expect(Array.from(out)).toEqual(Array.from({ length: out.length }, () => one.below(n)));
      expect(batch.nextUint32()).toBe(one.nextUint32());
      expect(() => batch.fillBelow(0, out)).toThrow(/below/);
    },
  );
});
