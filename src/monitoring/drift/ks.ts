import { kolmogorovSf } from './kolmogorov.js';
import { sorted } from './samples.js';
import type { DriftStat, DriftTest } from './types.js';

/** ks_2samp's method='auto': exact when both samples have at most this many values. */
const MAX_EXACT_N = 10_000;

/**
 * Two-sample Kolmogorov-Smirnov, two-sided, as scipy.stats.ks_2samp(method='auto') in SciPy 1.10:
 * the largest gap between the empirical CDFs; the exact p-value (Hodges' lattice paths) up to 10,000
 * values a side, else Smirnov's asymptotic one, kstwo at n = round(n1 n2 / (n1 + n2)).
 */
export function ks2samp(reference: Float64Array, current: Float64Array): DriftStat {
  const a = sorted(reference);
  const b = sorted(current);
  const n1 = a.length;
  const n2 = b.length;
  let d = largestGap(a, b);
  const g = gcd(n1, n2);
  if (Math.max(n1, n2) <= MAX_EXACT_N) {
    // SciPy reports the gap rounded onto the lattice of the exact computation.
    const lcm = (n1 / g) * n2;
    const h = roundHalfEven(d * lcm);
    d = h / lcm;
    const prob = h === 0 ? 1 : n1 === n2 ? probOutsideSquare(n1, h) : probOutsideInside(n1, n2, g, h);
    if (prob >= 0 && prob <= 1) return { statistic: d, pValue: prob };
  }
  const [m, n] = n1 >= n2 ? [n1, n2] : [n2, n1];
  const en = (m * n) / (m + n);
  return { statistic: d, pValue: Math.min(1, Math.max(0, kolmogorovSf(roundHalfEven(en), d))) };
}

/** max |F1 - F2| over the pooled values, F counting values <= x (searchsorted side='right'). */
function largestGap(a: Float64Array, b: Float64Array): number {
  let i = 0;
  let j = 0;
  let maxS = Number.NEGATIVE_INFINITY;
  let minS = Number.POSITIVE_INFINITY;
  while (i < a.length || j < b.length) {
    const x = j >= b.length || (i < a.length && a[i] <= b[j]) ? a[i] : b[j];
    while (i < a.length && a[i] <= x) i++;
    while (j < b.length && b[j] <= x) j++;
    const diff = i / a.length - j / b.length;
    if (diff > maxS) maxS = diff;
    if (diff < minS) minS = diff;
  }
  const lowGap = Math.min(1, Math.max(0, -minS));
  return Math.max(lowGap, maxS);
}

/** P(D_{n,n} >= h/n), Horner-like to avoid the cancellation of the alternating binomial sum. */
function probOutsideSquare(n: number, h: number): number {
  let p = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    p = p1 * (1 - p);
  }
  return 2 * p;
}

/**
 * Share of lattice paths from (0,0) to (m,n) that leave the band |x/m - y/n| < h/lcm(m,n), by
 * Viehmann's recursion for 1 - p over one sliding column (SciPy's _compute_outer_prob_inside_method).
 */
function probOutsideInside(m0: number, n0: number, g: number, h: number): number {
  const [m, n] = m0 >= n0 ? [m0, n0] : [n0, m0];
  const mg = m / g;
  const ng = n / g;
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const A = new Float64Array(Math.min(2 * maxj + 2, n + 1)).fill(1);
  A.fill(0, minj, maxj);
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = (A[jj + minj - lastminj] * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) A.fill(1, maxj - minj, maxj - minj + (lastlen - curlen));
  }
  return A[maxj - minj - 1];
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** numpy.round: halves to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export const ksTest: DriftTest = {
  name: 'ks',
  title: 'Kolmogorov-Smirnov (two-sample)',
  kinds: ['numeric'],
  score: 'p_value',
  defaultThreshold: 0.05,
  compute: (reference, current) => ks2samp(reference as Float64Array, current as Float64Array),
};
