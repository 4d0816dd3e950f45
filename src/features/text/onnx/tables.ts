/**
 * Character tables for the ONNX form of the text steps, computed at export time from the exporting
 * runtime's own Unicode data (V8/ICU: `String.prototype.normalize`, `toLowerCase`, `\p{…}` in regular
 * expressions), so that the graph classifies and maps each character exactly as `normalize.ts` and
 * `tokenize.ts` do in this runtime. The graph looks them up with `ai.onnx.ml` LabelEncoder nodes.
 *
 * Everything here is per code point (one graph element = one UTF-8 code point, as the com.microsoft
 * Tokenizer splits a string). Where whole-string normalisation is not the concatenation of per-character
 * results, the graph corrects it with the context tables below (final sigma, canonical composition); the
 * remaining differences are listed in onnx.ts.
 */
import type { NormalizeOptions } from '../normalize.js';
import { ELIDED_WORDS } from '../tokenize.js';

const MAX_CODE_POINT = 0x10ffff;
const NONSPACING_MARKS = /\p{Mn}/gu;
const NONSPACING_MARK = /^\p{Mn}$/u;
const APOSTROPHES = /[\u2018\u2019\u02bc]/g;
const WORD_CHAR = /^[\p{L}\p{N}\p{M}_]$/u;
const WHITESPACE = /^\s$/u;
const CASED = /^\p{Cased}$/u;
const CASE_IGNORABLE = /^\p{Case_Ignorable}$/u;
/** U+03A3 GREEK CAPITAL LETTER SIGMA: the one character whose lower case depends on its context. */
export const CAPITAL_SIGMA = '\u03a3';
export const FINAL_SIGMA = '\u03c2';

/** Every Unicode scalar value (code points minus surrogates), as a one-character string. */
function* codePoints(): Generator<string> {
  for (let cp = 0; cp <= MAX_CODE_POINT; cp++) {
    if (cp === 0xd800) cp = 0xe000;
    yield String.fromCodePoint(cp);
  }
}

/**
 * One character through `normalizeText` without the whitespace collapse: NFKC, lower case, NFKD and no
 * nonspacing marks, apostrophes unified. (ASCII skips the Unicode passes there; they are identities on it.)
 */
export function normalizeChars(text: string, options: NormalizeOptions): string {
  let s = text.normalize('NFKC');
  if (options.lowercase) s = s.toLowerCase();
  if (options.stripAccents) s = s.normalize('NFKD').replace(NONSPACING_MARKS, '');
  return s.replace(APOSTROPHES, "'");
}

const cache = new Map<string, unknown>();
function cached<T>(key: string, make: () => T): T {
  let value = cache.get(key) as T | undefined;
  if (value === undefined) {
    value = make();
    cache.set(key, value);
  }
  return value;
}

const normKey = (o: NormalizeOptions) => `${o.lowercase ? 'L' : 'l'}${o.stripAccents ? 'S' : 's'}`;

/**
 * Characters that normalisation changes, with what each becomes (possibly several code points, or
 * none: a stripped accent). With accents kept, the result is decomposed (NFD): `normalizeText` then
 * equals NFC of the concatenated per-character results, which the graph computes (canonical reordering
 * and composition); with accents stripped it equals their concatenation. Capital sigma maps to σ here;
 * the graph makes it ς in final position.
 */
export function normalizationTable(options: NormalizeOptions): ReadonlyMap<string, string> {
  return cached(`norm:${normKey(options)}`, () => {
    const table = new Map<string, string>();
    for (const c of codePoints()) {
      const code = c.codePointAt(0)!;
      // Fast path: ASCII only changes by lower-casing.
      if (code < 0x80) {
        if (options.lowercase && c !== c.toLowerCase()) table.set(c, c.toLowerCase());
        continue;
      }
      // Accents kept: decomposed (NFD), for the graph to reorder marks and compose again (NFC).
      let mapped = normalizeChars(c, options);
      if (!options.stripAccents) mapped = mapped.normalize('NFD');
      if (mapped !== c) table.set(c, mapped);
    }
    return table;
  });
}

/** Characters of tokenize.ts's words: letters, digits, marks and "_" (`[\p{L}\p{N}\p{M}_]`). */
export function wordCharacters(): readonly string[] {
  return cached('word', () => [...codePoints()].filter((c) => WORD_CHAR.test(c)));
}

/** JavaScript's `\s`: what normalizeText collapses and char_wb splits words on. */
export function whitespaceCharacters(): readonly string[] {
  return cached('space', () => [...codePoints()].filter((c) => WHITESPACE.test(c)));
}

/** Apostrophes tokenize.ts accepts inside a word; normalisation leaves only "'" of them. */
export const APOSTROPHE_CHARACTERS: readonly string[] = ["'", '\u2018', '\u2019', '\u02bc'];

/**
 * Every string whose lower case is an elided word (l, d, qu, jusqu, ...): what `tokenize` accepts as the
 * head before an apostrophe, spelled in any case (the word analyzer may keep capitals).
 */
export function elisionKeys(lowercase: boolean): readonly string[] {
  return cached(`elide:${lowercase}`, () => {
    if (lowercase) return [...ELIDED_WORDS];
    // Characters whose lower case is one ASCII letter of an elided word ("L", "Q", ...).
    const letters = new Set([...ELIDED_WORDS].join(''));
    const variants = new Map<string, string[]>();
    for (const c of codePoints()) {
      const lower = c.toLowerCase();
      if (lower.length === 1 && letters.has(lower)) {
        variants.set(lower, [...(variants.get(lower) ?? []), c]);
      } else if (lower !== c && lower.length > 1 && /^[a-z]+$/.test(lower)) {
        throw new Error(`"${c}" lower-cases to "${lower}": elision keys assume one letter per character`);
      }
    }
    const keys: string[] = [];
    for (const word of ELIDED_WORDS) {
      let spellings = [''];
      for (const letter of word) {
        spellings = spellings.flatMap((s) => (variants.get(letter) ?? [letter]).map((v) => s + v));
      }
      keys.push(...spellings);
    }
    return keys;
  });
}

/** Length in code points of the longest elided word: the graph looks back this far from an apostrophe. */
export const MAX_ELIDED_LENGTH = Math.max(...[...ELIDED_WORDS].map((w) => [...w].length));

/**
 * Canonical combining classes, as ranks (1, 2, ... in the order of the classes; 0 = a starter): what
 * canonical reordering sorts marks by and canonical composition blocks on. JavaScript does not expose
 * the classes, so they are read off `normalize('NFD')`, which reorders two marks after a letter when
 * the first has the higher class. With accents stripped only marks that are not \p{Mn} remain.
 */
export function combiningClassRanks(options: NormalizeOptions): ReadonlyMap<string, number> {
  return cached(`ccc:${options.stripAccents}`, () => {
    const reorders = (x: string, y: string) => `a${x}${y}`.normalize('NFD') === `a${y}${x}`;
    const marks: string[] = [];
    for (const c of codePoints()) {
      if (c.normalize('NFD') !== c) continue;
      // Class > 1: moves after U+0334 (class 1); class 1..229: moves before U+0301 (class 230).
      if (!reorders(c, '\u0334') && !reorders('\u0301', c)) continue;
      if (options.stripAccents && NONSPACING_MARK.test(c)) continue;
      marks.push(c);
    }
    const compare = (x: string, y: string) => (reorders(x, y) ? 1 : reorders(y, x) ? -1 : 0);
    marks.sort(compare);
    const ranks = new Map<string, number>();
    let rank = 1;
    marks.forEach((m, i) => {
      if (i > 0 && compare(marks[i - 1], m) !== 0) rank++;
      ranks.set(m, rank);
    });
    return ranks;
  });
}

/**
 * Canonical composition (NFC's primary composites) as pairs: a starter, possibly already composed with
 * some of its marks, and the next character it composes with → the composite. Generated from every
 * composite's canonical decomposition d0 d1 … dk: for each subset of the marks already absorbed and
 * each later one, NFC(d0 + absorbed) + next → NFC(d0 + absorbed + next) when both are one character,
 * i.e. every state NFC's composition loop can reach on decomposed, canonically ordered text (Hangul
 * jamo and the other starter pairs included).
 */
export function compositionPairs(): ReadonlyMap<string, string> {
  return cached('compose', () => {
    const pairs = new Map<string, string>();
    for (const z of codePoints()) {
      const d = [...z.normalize('NFD')];
      if (d.length < 2 || z.normalize('NFC') !== z) continue;
      const rest = d.slice(1);
      for (let mask = 0; mask < 1 << rest.length; mask++) {
        const absorbed = rest.filter((_, i) => mask & (1 << i)).join('');
        const from = 32 - Math.clz32(mask);
        for (let i = from; i < rest.length; i++) {
          const x = (d[0] + absorbed).normalize('NFC');
          const y = (d[0] + absorbed + rest[i]).normalize('NFC');
          if ([...x].length !== 1 || [...y].length !== 1) continue;
          const known = pairs.get(x + rest[i]);
          if (known !== undefined && known !== y)
            throw new Error(`"${x + rest[i]}" composes to two characters`);
          pairs.set(x + rest[i], y);
        }
      }
    }
    return pairs;
  });
}

/**
 * What each character contributes to the final-sigma context of its neighbours, from its NFKC form (the
 * string toLowerCase sees): ICU skips case-ignorable characters and asks whether the first other one is
 * cased. Bits: 4 = all its code points are case-ignorable (skipped); 2 = seen from the right (the last
 * non-ignorable code point) it is cased; 1 = seen from the left (the first non-ignorable one) it is
 * cased. Characters absent from the table are neither (0). `sigmas` are the characters that become Σ.
 */
export function sigmaContextTable(): {
  readonly classes: ReadonlyMap<string, number>;
  readonly sigmas: readonly string[];
} {
  return cached('sigma', () => {
    const classes = new Map<string, number>();
    const sigmas: string[] = [];
    for (const c of codePoints()) {
      const nfkc = c.normalize('NFKC');
      if (nfkc === CAPITAL_SIGMA) sigmas.push(c);
      const parts = [...nfkc];
      const kept = parts.filter((p) => !CASE_IGNORABLE.test(p));
      if (kept.length === 0) {
        classes.set(c, 4);
        continue;
      }
      const bits = (CASED.test(kept[kept.length - 1]) ? 2 : 0) | (CASED.test(kept[0]) ? 1 : 0);
      if (bits !== 0) classes.set(c, bits);
    }
    return { classes, sigmas };
  });
}

/** Unicode version of the tables (they are only exact for a JS runtime with the same Unicode data). */
export const UNICODE_VERSION = `Unicode ${process.versions.unicode ?? '?'} (ICU ${process.versions.icu ?? '?'})`;
