/**
 * Terms of a document, as scikit-learn's analyzers make them. Each term goes to a `visit` callback as a
 * range of a string (`text.slice(start, end)`): a vectorizer looks it up without building it.
 */
import { type NormalizeOptions, normalizeText } from './normalize.js';
import { type TokenizeOptions, tokenize } from './tokenize.js';

/** [min n, max n], both included. */
export type NgramRange = readonly [number, number];

export type Visit = (text: string, start: number, end: number) => void;

/**
 * scikit-learn `_word_ngrams`: every n-gram for n in range, by n then position, tokens joined by one
 * space. A document shorter than n has no n-grams of that size.
 */
export function forEachWordNgram(tokens: readonly string[], [minN, maxN]: NgramRange, visit: Visit): void {
  const count = tokens.length;
  for (let n = minN; n <= Math.min(maxN, count); n++) {
    for (let i = 0; i + n <= count; i++) {
      let gram = tokens[i];
      for (let k = 1; k < n; k++) gram += ` ${tokens[i + k]}`;
      visit(gram, 0, gram.length);
    }
  }
}

/**
 * scikit-learn `_char_wb_ngrams`: words are the space-separated parts of `text`; each is padded with one
 * space on both sides and n-grams are taken inside the padded word only. A padded word no longer than
 * n is emitted once, whole, and stops the larger sizes (they would repeat it): "a" with n = 2..5 gives
 * " a", "a ", " a ". Expects `text` as `normalizeText` returns it (single spaces), so the padded words
 * are substrings of " text " and no per-word string is built.
 */
export function forEachCharWbNgram(text: string, [minN, maxN]: NgramRange, visit: Visit): void {
  const s = ` ${text} `;
  let start = 0;
  while (start < s.length - 1) {
    const end = s.indexOf(' ', start + 1);
    const length = end - start + 1;
    if (length > 2) {
      for (let n = minN; n <= maxN; n++) {
        if (length <= n) {
          visit(s, start, end + 1);
          break;
        }
        for (let at = start; at + n <= end + 1; at++) visit(s, at, at + n);
      }
    }
    start = end;
  }
}

export interface AnalyzerOptions extends NormalizeOptions, TokenizeOptions {
  readonly analyzer: 'word' | 'char_wb';
  readonly ngramRange: NgramRange;
}

/**
 * The terms of one document: normalized, then word n-grams of its tokens or char_wb n-grams of its
 * space-separated words. char_wb follows scikit-learn and does not tokenize: punctuation stays in the
 * words ("l'épilepsie?" gives " l'é" and "ie? ").
 */
export function makeAnalyzer(options: AnalyzerOptions): (doc: string, visit: Visit) => void {
  const { analyzer, ngramRange } = options;
  if (analyzer === 'char_wb') {
    return (doc, visit) => forEachCharWbNgram(normalizeText(doc, options), ngramRange, visit);
  }
  return (doc, visit) => forEachWordNgram(tokenize(normalizeText(doc, options), options), ngramRange, visit);
}
