/**
 * Vocabulary of a training corpus as scikit-learn's CountVectorizer builds it: document frequencies,
 * min_df / max_df / max_features pruning, terms sorted.
 */
import type { Visit } from './ngrams.js';
import { TermIndex } from './terms.js';

/** Every term occurrence of a corpus, as provisional term ids (first-seen order). */
export interface CorpusCounts {
  readonly nDocs: number;
  /** Provisional id → term. */
  readonly terms: readonly string[];
  /** Documents containing each term. */
  readonly df: readonly number[];
  /** Occurrences of each term in the whole corpus (max_features ranks by it). */
  readonly total: readonly number[];
  /** Term ids of every occurrence, document after document. */
  readonly occurrences: Int32Array;
  /** Document d's occurrences are occurrences[docStart[d] .. docStart[d + 1]). */
  readonly docStart: Int32Array;
}

/** One pass over the corpus: each term occurrence is one hash-table probe and its id recorded. */
export function countCorpus(
  docs: readonly (string | null)[],
  analyze: (doc: string, visit: Visit) => void,
): CorpusCounts {
  const index = new TermIndex();
  const df: number[] = [];
  const total: number[] = [];
  const lastDoc: number[] = [];
  const occurrences = new GrowableInt32();
  const docStart = new Int32Array(docs.length + 1);
  let d = 0;
  const visit: Visit = (text, start, end) => {
    const id = index.add(text, start, end);
    if (id === df.length) {
      df.push(0);
      total.push(0);
      lastDoc.push(-1);
    }
    total[id]++;
    if (lastDoc[id] !== d) {
      lastDoc[id] = d;
      df[id]++;
    }
    occurrences.push(id);
  };
  for (; d < docs.length; d++) {
    analyze(docs[d] ?? '', visit);
    docStart[d + 1] = occurrences.length;
  }
  return { nDocs: docs.length, terms: index.terms, df, total, occurrences: occurrences.view(), docStart };
}

export interface PruneOptions {
  /** 1: no minimum; an integer ≥ 2: a document count; in (0, 1): a fraction of the documents. */
  readonly minDf: number;
  /** 1: no maximum; an integer ≥ 2: a document count; in (0, 1): a fraction of the documents. */
  readonly maxDf: number;
  /** Keep the terms most frequent over the corpus; ties go to the term first in sorted order. */
  readonly maxFeatures?: number;
}

/**
 * Ids of the terms kept, in column order (terms sorted by code point, as Python sorts strings).
 * scikit-learn reads an int df limit as a count and a float as a fraction; JSON has one number type, so
 * 1 means each limit's default (min_df=1, max_df=1.0: no pruning), other integers are counts.
 */
export function pruneVocabulary(counts: CorpusCounts, options: PruneOptions): number[] {
  const { nDocs, terms, df, total } = counts;
  const docCount = (limit: number, none: number) => (limit === 1 ? none : limit < 1 ? limit * nDocs : limit);
  const minCount = docCount(options.minDf, 1);
  const maxCount = docCount(options.maxDf, nDocs);
  if (maxCount < minCount) {
    throw new Error(
      `minDf ${options.minDf} asks for ${minCount} documents, more than maxDf ${options.maxDf} allows (${maxCount} of ${nDocs})`,
    );
  }
  let kept: number[] = [];
  for (let id = 0; id < terms.length; id++) if (df[id] >= minCount && df[id] <= maxCount) kept.push(id);
  if (kept.length === 0) {
    throw new Error(
      terms.length === 0
        ? 'the training texts have no terms (empty, or only tokens shorter than minTokenLength)'
        : `no terms are left after pruning with minDf ${options.minDf} and maxDf ${options.maxDf}`,
    );
  }
  kept = sortByTerm(kept, terms);
  if (options.maxFeatures !== undefined && kept.length > options.maxFeatures) {
    // A stable sort of the term-sorted ids: equal totals keep term order.
    kept = sortByTerm(kept.sort((a, b) => total[b] - total[a]).slice(0, options.maxFeatures), terms);
  }
  return kept;
}

/**
 * Ids ordered by their term's code points, as Python sorts strings (JavaScript's `<` compares UTF-16
 * units, which differs past U+FFFF). Comparing strings is slow, so a typed-array sort on each term's
 * first two characters packed with its position does most of the work, and only terms sharing those
 * two characters are compared in full.
 */
function sortByTerm(ids: readonly number[], terms: readonly string[]): number[] {
  const byTerm = (a: number, b: number) => compareCodePoints(terms[a], terms[b]);
  if (ids.length > POSITION_LIMIT) return [...ids].sort(byTerm);
  const keys = new Float64Array(ids.length);
  ids.forEach((id, k) => {
    const term = terms[id];
    const prefix = codePointRank(term.charCodeAt(0) || 0) * 0x10000 + codePointRank(term.charCodeAt(1) || 0);
    keys[k] = prefix * POSITION_LIMIT + k;
  });
  keys.sort();
  const sorted = Array.from(keys, (key) => ids[key % POSITION_LIMIT]);
  for (let from = 0; from < sorted.length; ) {
    const prefix = Math.floor(keys[from] / POSITION_LIMIT);
    let to = from + 1;
    while (to < sorted.length && Math.floor(keys[to] / POSITION_LIMIT) === prefix) to++;
    if (to - from > 1) {
      const group = sorted.slice(from, to).sort(byTerm);
      for (let k = 0; k < group.length; k++) sorted[from + k] = group[k];
    }
    from = to;
  }
  return sorted;
}

/** Positions packed below a 32-bit prefix in a double's 53-bit integer range. */
const POSITION_LIMIT = 2 ** 21;

function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** Moves surrogates above U+E000–U+FFFF so that units compare as the code points they belong to. */
const codePointRank = (unit: number) =>
  unit >= 0xe000 ? unit - 0x800 : unit >= 0xd800 ? unit + 0x2000 : unit;

/** An Int32Array that doubles when full. */
export class GrowableInt32 {
  private data = new Int32Array(1024);
  length = 0;

  push(value: number): void {
    if (this.length === this.data.length) {
      const bigger = new Int32Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = value;
  }

  /** The values pushed, without a copy (the buffer's tail stays allocated). */
  view(): Int32Array {
    return this.data.subarray(0, this.length);
  }
}
