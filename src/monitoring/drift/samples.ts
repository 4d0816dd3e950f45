import type { CleanSample, ColumnKind, DriftSample, SampleSize } from './types.js';

/** The kind of a sample by its shape; an empty array is read as categorical unless told otherwise. */
export function sampleKind(sample: DriftSample): ColumnKind {
  if (sample instanceof Float64Array) return 'numeric';
  for (const value of sample) {
    if (value === null || value === undefined) continue;
    return value instanceof Float64Array ? 'vector' : 'categorical';
  }
  return 'categorical';
}

export interface Cleaned {
  readonly values: CleanSample;
  readonly size: SampleSize;
}

/** Drops missing values (non-finite numbers, null levels, rows holding a non-finite number) and counts them. */
export function clean(sample: DriftSample, kind: ColumnKind): Cleaned {
  if (kind === 'numeric') {
    if (!(sample instanceof Float64Array)) throw new Error('a numeric sample must be a Float64Array');
    let kept = 0;
    for (const v of sample) if (Number.isFinite(v)) kept++;
    const values = kept === sample.length ? sample : sample.filter((v) => Number.isFinite(v));
    return { values, size: { size: kept, missing: sample.length - kept } };
  }
  if (sample instanceof Float64Array)
    throw new Error(`a ${kind} sample must be an array, not a Float64Array`);
  if (kind === 'categorical') {
    const values: string[] = [];
    for (const v of sample) {
      if (v === null || v === undefined) continue;
      if (typeof v !== 'string') throw new Error('a categorical sample holds strings (null for missing)');
      values.push(v);
    }
    return { values, size: { size: values.length, missing: sample.length - values.length } };
  }
  const rows: Float64Array[] = [];
  let width = -1;
  for (const row of sample) {
    if (row === null || row === undefined) continue;
    if (!(row instanceof Float64Array)) throw new Error('a vector sample holds Float64Array rows');
    if (width < 0) width = row.length;
    if (row.length !== width) throw new Error(`vector rows differ in width (${width} and ${row.length})`);
    if (row.every((v) => Number.isFinite(v))) rows.push(row);
  }
  return { values: rows, size: { size: rows.length, missing: sample.length - rows.length } };
}

/** Number of distinct values (levels, or numbers) of a cleaned sample; rows count as distinct. */
export function distinctCount(values: CleanSample): number {
  if (values instanceof Float64Array) return new Set(values).size;
  return new Set(values as readonly unknown[]).size;
}

export type Level = string | number;

/** Counts per level over the union of both samples' levels, sorted (numbers numerically). */
export function levelCounts(
  reference: Float64Array | readonly string[],
  current: Float64Array | readonly string[],
): { levels: Level[]; reference: Float64Array; current: Float64Array } {
  const count = (values: Iterable<Level>) => {
    const counts = new Map<Level, number>();
    for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
    return counts;
  };
  const ref = count(reference as Iterable<Level>);
  const cur = count(current as Iterable<Level>);
  const levels = [...new Set([...ref.keys(), ...cur.keys()])].sort(compareLevels);
  return {
    levels,
    reference: Float64Array.from(levels, (l) => ref.get(l) ?? 0),
    current: Float64Array.from(levels, (l) => cur.get(l) ?? 0),
  };
}

function compareLevels(a: Level, b: Level): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** numpy.histogram_bin_edges(values, bins='sturges'): equal widths over [min, max] (±0.5 when constant). */
export function sturgesEdges(values: Float64Array): Float64Array {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const range = hi - lo;
  const width = range / (Math.log2(values.length) + 1);
  const bins = width ? Math.ceil(range / width) : 1;
  if (lo === hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  // numpy.linspace: start + i * step, the last edge set to stop exactly.
  const step = (hi - lo) / bins;
  const edges = new Float64Array(bins + 1);
  for (let i = 0; i < bins; i++) edges[i] = i * step + lo;
  edges[bins] = hi;
  return edges;
}

/**
 * numpy.histogram counts: bins closed on the left, the last one closed on both sides. With `clamp`,
 * values beyond the outer edges fall into the end bins (numpy would drop them).
 */
export function histogram(values: Float64Array, edges: Float64Array, clamp = false): Float64Array {
  const bins = edges.length - 1;
  const counts = new Float64Array(bins);
  for (const v of values) {
    if (v < edges[0] || v > edges[bins]) {
      if (clamp) counts[v < edges[0] ? 0 : bins - 1]++;
      continue;
    }
    let lo = 0;
    let hi = bins;
    // The last edge i with edges[i] <= v, the top edge counted in the last bin.
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if (edges[mid] <= v) lo = mid;
      else hi = mid;
    }
    counts[lo]++;
  }
  return counts;
}

/** Population standard deviation (numpy.std, ddof 0), two passes. */
export function std(values: Float64Array): number {
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / values.length;
  let squares = 0;
  for (const v of values) squares += (v - mean) * (v - mean);
  return Math.sqrt(squares / values.length);
}

export function sorted(values: Float64Array): Float64Array {
  return Float64Array.from(values).sort();
}

/**
 * Reference and current shares over bins or levels, as Evidently's get_binned_data: a numeric column
 * with more than 20 distinct reference values is binned (Sturges edges), any other column counted by
 * level over both samples' levels.
 */
export function shares(
  reference: Float64Array | readonly string[],
  current: Float64Array | readonly string[],
  edgesFrom: 'both' | 'reference',
): { reference: Float64Array; current: Float64Array } {
  if (reference instanceof Float64Array && current instanceof Float64Array && distinctCount(reference) > 20) {
    const edges = sturgesEdges(edgesFrom === 'both' ? concat(reference, current) : reference);
    const clamp = edgesFrom === 'reference';
    return {
      reference: divide(histogram(reference, edges), reference.length),
      current: divide(histogram(current, edges, clamp), current.length),
    };
  }
  const counts = levelCounts(reference, current);
  return {
    reference: divide(counts.reference, reference.length),
    current: divide(counts.current, current.length),
  };
}

function concat(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function divide(counts: Float64Array, n: number): Float64Array {
  return counts.map((c) => c / n);
}
