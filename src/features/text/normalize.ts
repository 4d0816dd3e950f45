/**
 * Text normalization before tokenizing, as scikit-learn's `preprocessor` with `lowercase` and
 * `strip_accents='unicode'`, plus Unicode NFKC and apostrophe unification so that text typed on
 * different keyboards gives the same terms.
 */

export interface NormalizeOptions {
  /** Lower-case (locale-independent), as Python's `str.lower()` that scikit-learn uses. */
  readonly lowercase: boolean;
  /** Decompose (NFKD) and remove nonspacing marks: "é" → "e", "œ" stays (it has no decomposition). */
  readonly stripAccents: boolean;
}

const NON_ASCII = /[\u0080-\uffff]/;
const NONSPACING_MARKS = /\p{Mn}/gu;
/** Curly quotes and the modifier letter apostrophe used as apostrophes ("l’épilepsie"). */
const APOSTROPHES = /[\u2018\u2019\u02bc]/g;
const WHITESPACE = /\s+/g;

/**
 * NFKC (compatibility forms such as "ﬁ", "m²" and no-break spaces fold to their plain equivalents, so
 * the result does not depend on how the text was typed), then case, then accents, apostrophes unified
 * to "'", and whitespace runs collapsed to one space with no space at either end (the word boundaries
 * char_wb n-grams rely on).
 */
export function normalizeText(text: string, options: NormalizeOptions): string {
  // ASCII is already NFKC and has no accents: skip both Unicode passes for the common case.
  const ascii = !NON_ASCII.test(text);
  let s = ascii ? text : text.normalize('NFKC');
  if (options.lowercase) s = s.toLowerCase();
  if (!ascii) {
    // Lower-casing first, as scikit-learn does: some capitals lower-case to a letter plus a mark.
    if (options.stripAccents) s = s.normalize('NFKD').replace(NONSPACING_MARKS, '');
    s = s.replace(APOSTROPHES, "'");
  }
  return s.replace(WHITESPACE, ' ').trim();
}
