import { describe, expect, it } from 'vitest';
import {
  type AnalyzerOptions,
  forEachCharWbNgram,
  forEachWordNgram,
  makeAnalyzer,
  type NgramRange,
} from '../../../src/features/text/ngrams.js';

const charWb = (text: string, range: NgramRange) => {
  const grams: string[] = [];
  forEachCharWbNgram(text, range, (s, start, end) => grams.push(s.slice(start, end)));
  return grams;
};

const wordGrams = (tokens: string[], range: NgramRange) => {
  const grams: string[] = [];
  forEachWordNgram(tokens, range, (s, start, end) => grams.push(s.slice(start, end)));
  return grams;
};

const analyze = (doc: string, options: Partial<AnalyzerOptions>) => {
  const terms: string[] = [];
  makeAnalyzer({ analyzer: 'word', ngramRange: [1, 1], lowercase: true, stripAccents: false, ...options })(
    doc,
    (s, start, end) => terms.push(s.slice(start, end)),
  );
  return terms;
};

// Expected lists follow scikit-learn's _char_wb_ngrams: each word padded with one space on both sides;
// for each n, every n-gram of the padded word, by position; a padded word no longer than n is emitted
// once, whole, and ends the word.
describe('char_wb n-grams', () => {
  it('takes n-grams inside each space-padded word, by n then position', () => {
    expect(charWb('chat', [2, 3])).toEqual([' c', 'ch', 'ha', 'at', 't ', ' ch', 'cha', 'hat', 'at ']);
    expect(charWb('le chat', [2, 2])).toEqual([' l', 'le', 'e ', ' c', 'ch', 'ha', 'at', 't ']);
  });

  it('emits a short padded word once, whole, and stops its larger sizes', () => {
    expect(charWb('a', [2, 5])).toEqual([' a', 'a ', ' a ']);
    expect(charWb('ab', [2, 5])).toEqual([' a', 'ab', 'b ', ' ab', 'ab ', ' ab ']);
    // Shorter than the smallest n: the whole padded word, once.
    expect(charWb('a b', [4, 6])).toEqual([' a ', ' b ']);
  });

  it('keeps punctuation inside words, as scikit-learn does (no tokenizing)', () => {
    expect(charWb("l'é?", [3, 5])).toEqual([
      " l'",
      "l'é",
      "'é?",
      'é? ',
      " l'é",
      "l'é?",
      "'é? ",
      " l'é?",
      "l'é? ",
    ]);
  });

  it('has no n-grams for an empty text and ignores extra spaces', () => {
    expect(charWb('', [2, 5])).toEqual([]);
    expect(charWb(' a  b ', [2, 2])).toEqual([' a', 'a ', ' b', 'b ']);
  });
});

describe('word n-grams', () => {
  it('gives every n-gram by n then position, tokens joined by one space', () => {
    expect(wordGrams(['a', 'bb', 'cc', 'dd'], [1, 2])).toEqual([
      'a',
      'bb',
      'cc',
      'dd',
      'a bb',
      'bb cc',
      'cc dd',
    ]);
    expect(wordGrams(['a', 'bb', 'cc'], [2, 3])).toEqual(['a bb', 'bb cc', 'a bb cc']);
    expect(wordGrams(['a'], [2, 3])).toEqual([]);
  });

  it('analyzes a document: normalize, tokenize, n-grams', () => {
    expect(analyze("L'Épilepsie, le TRAITEMENT?", { ngramRange: [1, 2], stripAccents: true })).toEqual([
      "l'",
      'epilepsie',
      'le',
      'traitement',
      "l' epilepsie",
      'epilepsie le',
      'le traitement',
    ]);
    expect(analyze('Le Chat', { analyzer: 'char_wb', ngramRange: [3, 3] })).toEqual([
      ' le',
      'le ',
      ' ch',
      'cha',
      'hat',
      'at ',
    ]);
  });
});
