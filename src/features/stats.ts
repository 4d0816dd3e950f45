/** Training statistics used by fitted steps. NaN (or null) is missing and always skipped. */

/**
 * numpy.nanmedian: the mean of the two middle values for an even count; NaN if nothing is present.
 * By selection, not sorting: V8 sorts a Float64Array at ~2 ms per 16,000 values, and an impute step
 * takes a median per column per fold.
 */
export function nanMedian(values: Float64Array): number {
  const present = presentValues(values);
  const n = present.length;
  if (n === 0) return Number.NaN;
  const mid = n >> 1;
  select(present, mid);
  if (n % 2 === 1) return present[mid];
  // After selection everything before `mid` is at most present[mid]: the lower middle is their maximum.
  let below = present[0];
  for (let i = 1; i < mid; i++) if (present[i] > below) below = present[i];
  return (below + present[mid]) / 2;
}

/**
 * Reorders `a` so that a[k] is the value a sort would put there, with nothing greater before it and
 * nothing smaller after it (Hoare's selection, median-of-three pivots). No NaN in `a`.
 */
export function select(a: Float64Array, k: number): void {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    const m = (lo + hi) >>> 1;
    // Median of three into a[m], with a[lo] <= a[m] <= a[hi] as sentinels for the scans.
    if (a[m] < a[lo]) swap(a, m, lo);
    if (a[hi] < a[lo]) swap(a, hi, lo);
    if (a[hi] < a[m]) swap(a, hi, m);
    const pivot = a[m];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        swap(a, i, j);
        i++;
        j--;
      }
    }
    // Now a[lo..j] <= pivot <= a[i..hi], and anything between j and i equals the pivot.
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

function swap(a: Float64Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

export function nanMean(values: Float64Array): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isNaN(v)) {
      sum += v;
      count++;
    }
  }
  return count === 0 ? Number.NaN : sum / count;
}

/** Mean and population variance (ddof 0), two passes for accuracy; `count` is the non-missing count. */
export function nanMeanVar(values: Float64Array): { mean: number; variance: number; count: number } {
  const mean = nanMean(values);
  let ss = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isNaN(v)) {
      const d = v - mean;
      ss += d * d;
      count++;
    }
  }
  return { mean, variance: count === 0 ? Number.NaN : ss / count, count };
}

/** Most frequent value; ties go to the smallest value so the result never depends on row order. */
export function numericMode(values: Float64Array): number {
  // Counted in a map (columns imputed by mode hold few distinct values), not sorted: see nanMedian.
  const counts = new Map<number, number>();
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isNaN(v)) counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  let best = Number.NaN;
  let bestCount = 0;
  for (const [value, count] of counts) {
    if (count > bestCount || (count === bestCount && value < best)) {
      best = value;
      bestCount = count;
    }
  }
  // -0 and 0 share a key, stored as whichever came first; the row order must not show.
  return best === 0 ? 0 : best;
}

/** Most frequent string; ties go to the smallest by code point. null if nothing is present. */
export function stringMode(values: readonly (string | null)[]): string | null {
  const counts = new Map<string, number>();
  for (const v of values) if (v !== null) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: string | null = null;
  let bestCount = 0;
  for (const [value, count] of counts) {
    if (count > bestCount || (count === bestCount && best !== null && compareCodePoints(value, best) < 0)) {
      best = value;
      bestCount = count;
    }
  }
  return best;
}

/** Sorted distinct non-null values, in code-point order (Python's sorted(), as pandas uses). */
export function sortedLevels(values: readonly (string | null)[]): string[] {
  const distinct = new Set<string>();
  for (const v of values) if (v !== null) distinct.add(v);
  return [...distinct].sort(compareCodePoints);
}

/** Code-point order; JavaScript's default sort compares UTF-16 units, which differs for astral characters. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      // Only when both are in the surrogate/high-BMP range can UTF-16 order disagree with code points.
      if (x >= 0xd800 && y >= 0xd800) return (a.codePointAt(i) ?? x) - (b.codePointAt(i) ?? y);
      return x - y;
    }
  }
  return a.length - b.length;
}

/** A copy of the values without NaN. */
function presentValues(values: Float64Array): Float64Array {
  const out = new Float64Array(values.length);
  let k = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out[k] = v;
    // Branch-free: a NaN is written and then overwritten by the next value.
    k += Number.isNaN(v) ? 0 : 1;
  }
  return out.subarray(0, k);
}
