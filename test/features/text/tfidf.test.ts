import { describe, expect, it } from 'vitest';
import type { CsrMatrix } from '../../../src/data/matrix.js';
import { fitTfidf, loadTfidf, type TfidfOptions } from '../../../src/features/text/tfidf.js';

const WORDS: TfidfOptions = {
  analyzer: 'word',
  ngramRange: [1, 1],
  lowercase: true,
  stripAccents: false,
  minDf: 1,
  maxDf: 1,
  sublinearTf: false,
  norm: 'l2',
};

//  d0: le chat dort               vocabulary (sorted): chat chien dort le mange poisson un
//  d1: le chat mange le poisson   df:                    2    2     2   3    1      1    1
//  d2: le chien dort              total occurrences:     2    2     2   4    1      1    1
//  d3: un chien
const CORPUS = ['le chat dort', 'le chat mange le poisson', 'le chien dort', 'un chien'];
const VOCABULARY = ['chat', 'chien', 'dort', 'le', 'mange', 'poisson', 'un'];
// Smooth idf over n = 4 documents: ln((1 + n) / (1 + df)) + 1.
const IDF_DF1 = Math.log(5 / 2) + 1; // 1.916290731874155
const IDF_DF2 = Math.log(5 / 3) + 1; // 1.5108256237659907
const IDF_DF3 = Math.log(5 / 4) + 1; // 1.2231435513142097

/** Row i as { column: value }. */
const row = (X: CsrMatrix, i: number) =>
  Object.fromEntries(
    Array.from(X.indices.subarray(X.indptr[i], X.indptr[i + 1]), (j, k) => [j, X.data[X.indptr[i] + k]]),
  );

const vocabulary = (options: Partial<TfidfOptions>, docs: readonly (string | null)[] = CORPUS) =>
  fitTfidf(docs, { ...WORDS, ...options }).vectorizer.vocabulary;

describe('TF-IDF fit', () => {
  it('sorts the vocabulary and computes the smooth idf', () => {
    const { vectorizer, X } = fitTfidf(CORPUS, WORDS);
    expect(vectorizer.vocabulary).toEqual(VOCABULARY);
    expect(Array.from(vectorizer.idf)).toEqual([
      IDF_DF2,
      IDF_DF2,
      IDF_DF2,
      IDF_DF3,
      IDF_DF1,
      IDF_DF1,
      IDF_DF1,
    ]);
    expect(vectorizer.idf[3]).toBeCloseTo(1.2231435513142097, 15);
    expect(X).toMatchObject({ kind: 'csr', rows: 4, cols: 7 });
    expect(Array.from(X.indptr)).toEqual([0, 3, 7, 10, 12]);
    expect(Array.from(X.indices)).toEqual([0, 2, 3, 0, 3, 4, 5, 1, 2, 3, 1, 6]);
  });

  it('weights counts by idf and L2-normalizes each row', () => {
    const { X } = fitTfidf(CORPUS, WORDS);
    // d1: chat 1, le 2, mange 1, poisson 1.
    const raw = [1 * IDF_DF2, 2 * IDF_DF3, 1 * IDF_DF1, 1 * IDF_DF1];
    const norm = Math.sqrt(raw.reduce((s, v) => s + v * v, 0));
    const d1 = row(X, 1);
    expect(Object.keys(d1).map(Number)).toEqual([0, 3, 4, 5]);
    [0, 3, 4, 5].forEach((j, k) => {
      expect(d1[j]).toBeCloseTo(raw[k] / norm, 14);
    });
    expect(d1[3]).toBeCloseTo(0.619139506794, 12);
    for (let i = 0; i < X.rows; i++) {
      const values = X.data.subarray(X.indptr[i], X.indptr[i + 1]);
      expect(values.reduce((s, v) => s + v * v, 0)).toBeCloseTo(1, 14);
    }
  });

  it('uses 1 + ln(count) with sublinearTf, and other norms', () => {
    const sublinear = row(fitTfidf(CORPUS, { ...WORDS, sublinearTf: true }).X, 1);
    const raw = [IDF_DF2, (1 + Math.log(2)) * IDF_DF3, IDF_DF1, IDF_DF1];
    const norm = Math.sqrt(raw.reduce((s, v) => s + v * v, 0));
    expect(sublinear[3]).toBeCloseTo(raw[1] / norm, 14);
    expect(sublinear[3]).toBeCloseTo(0.555159489757, 12);

    const l1 = row(fitTfidf(CORPUS, { ...WORDS, norm: 'l1' }).X, 1);
    const plain = [IDF_DF2, 2 * IDF_DF3, IDF_DF1, IDF_DF1];
    expect(l1[3]).toBeCloseTo(plain[1] / plain.reduce((s, v) => s + v, 0), 14);
    expect(row(fitTfidf(CORPUS, { ...WORDS, norm: 'none' }).X, 1)[3]).toBe(2 * IDF_DF3);
  });

  it('prunes by document frequency: 1 means no limit, integers count documents, fractions are shares', () => {
    expect(vocabulary({ minDf: 2 })).toEqual(['chat', 'chien', 'dort', 'le']);
    expect(vocabulary({ minDf: 0.5 })).toEqual(['chat', 'chien', 'dort', 'le']);
    expect(vocabulary({ maxDf: 2 })).toEqual(['chat', 'chien', 'dort', 'mange', 'poisson', 'un']);
    expect(vocabulary({ maxDf: 0.6 })).toEqual(['chat', 'chien', 'dort', 'mange', 'poisson', 'un']);
    expect(vocabulary({ minDf: 1, maxDf: 1 })).toEqual(VOCABULARY);
    expect(() => vocabulary({ minDf: 3, maxDf: 2 })).toThrow(
      'minDf 3 asks for 3 documents, more than maxDf 2 allows (2 of 4)',
    );
    expect(() => vocabulary({ minDf: 4 })).toThrow(
      'no terms are left after pruning with minDf 4 and maxDf 1',
    );
    expect(() => vocabulary({ minDf: 5 })).toThrow('more than maxDf 1 allows (4 of 4)');
    expect(() => vocabulary({}, ['a', '?', null])).toThrow('the training texts have no terms');
  });

  it('keeps the maxFeatures most frequent terms, ties going to the first in term order', () => {
    // "le" occurs 4 times; chat, chien and dort twice each.
    expect(vocabulary({ maxFeatures: 2 })).toEqual(['chat', 'le']);
    expect(vocabulary({ maxFeatures: 3 })).toEqual(['chat', 'chien', 'le']);
    expect(vocabulary({ maxFeatures: 2 }, ['zz aa', 'yy bb'])).toEqual(['aa', 'bb']);
    // Pruning by df comes first: "le" (df 3) is gone, the ties remain.
    expect(vocabulary({ maxDf: 2, maxFeatures: 2 })).toEqual(['chat', 'chien']);
    expect(vocabulary({ maxFeatures: 50 })).toEqual(VOCABULARY);
  });

  it('sorts terms by code point, as Python does, also past U+FFFF', () => {
    // UTF-16 order would put U+20000 (a surrogate pair) before U+FA0E.
    expect(vocabulary({}, ['\u{20000}x \ufa0ex ab aa ba'])).toEqual([
      'aa',
      'ab',
      'ba',
      '\ufa0ex',
      '\u{20000}x',
    ]);
  });
});

describe('TF-IDF transform', () => {
  const { vectorizer } = fitTfidf(CORPUS, { ...WORDS, ngramRange: [1, 2], sublinearTf: true });

  it('ignores terms not in the vocabulary', () => {
    const X = vectorizer.transform(['le chat ronronne', 'le chat']);
    expect(row(X, 0)).toEqual(row(X, 1));
    expect(Object.keys(row(X, 0)).map((j) => vectorizer.vocabulary[Number(j)])).toEqual([
      'chat',
      'le',
      'le chat',
    ]);
  });

  it('gives an all-zero row, not NaN, for an empty, unknown or missing document', () => {
    const X = vectorizer.transform(['', 'quelque chose', null, 'un chien']);
    expect(X).toMatchObject({ rows: 4, cols: vectorizer.vocabulary.length });
    expect(Array.from(X.indptr)).toEqual([0, 0, 0, 0, 3]);
    expect(X.data.every(Number.isFinite)).toBe(true);
    expect(vectorizer.transform([]).indptr).toEqual(new Int32Array([0]));
  });

  it('gives each row the same values alone as in a batch, and as at fit', () => {
    // Enough distinct terms that one short document takes the per-row sort, the batch the transpose.
    const docs = Array.from(
      { length: 60 },
      (_, i) => `mot${i} mot${(i * 7) % 60} le mot${i} ${i % 3 ? 'chat' : ''}`,
    );
    const { vectorizer: wide, X: fitted } = fitTfidf(docs, { ...WORDS, sublinearTf: true });
    const batch = wide.transform(docs);
    expect(batch).toEqual(fitted);
    docs.forEach((doc, i) => {
      const alone = wide.transform([doc]);
      expect(Array.from(alone.indices)).toEqual(
        Array.from(batch.indices.subarray(batch.indptr[i], batch.indptr[i + 1])),
      );
      expect(Array.from(alone.data)).toEqual(
        Array.from(batch.data.subarray(batch.indptr[i], batch.indptr[i + 1])),
      );
    });
  });

  it('restores from its JSON state and transforms identically', () => {
    const options: TfidfOptions = { ...WORDS, analyzer: 'char_wb', ngramRange: [2, 4], stripAccents: true };
    const docs = ["L'épilepsie de l\u2019enfant", 'Dépakine et grossesse ?', 'Levothyrox 75 µg'];
    const { vectorizer: fitted, X } = fitTfidf(docs, options);
    const state = JSON.parse(JSON.stringify(fitted.state()));
    expect(state).toEqual({ vocabulary: fitted.vocabulary, idf: Array.from(fitted.idf) });
    const loaded = loadTfidf(options, state);
    expect(loaded.transform(docs)).toEqual(X);
    expect(loaded.transform(['épilepsie'])).toEqual(fitted.transform(['épilepsie']));
  });

  it('refuses an inconsistent state', () => {
    expect(() => loadTfidf(WORDS, { vocabulary: ['a', 'b'], idf: [1] })).toThrow('2 terms but 1 idf values');
    expect(() => loadTfidf(WORDS, { vocabulary: ['a'], idf: [0.5] })).toThrow('at least 1');
    expect(() => loadTfidf(WORDS, { vocabulary: ['a', 'a'], idf: [1, 1] })).toThrow('a term twice');
  });
});
