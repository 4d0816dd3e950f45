import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { loadTable } from '../../../src/data/load.js';
import { type Column, makeTable, takeRows } from '../../../src/data/table.js';
import {
  type CsrMatrix,
  type FeatureStepInput,
  featureReferenceStats,
  fitPipeline,
  loadPipeline,
  type ModelInput,
  parseStepConfig,
  tfidfStepSchema,
} from '../../../src/features/index.js';
import { fitTfidf } from '../../../src/features/text/tfidf.js';

const QUESTIONS = [
  "Est-ce que l'ibuprofène est contre-indiqué pendant la grossesse ?",
  'Quels sont les effets secondaires du Lévothyrox ?',
  'Peut-on prendre du Doliprane avec de l\u2019ibuprofène ?',
  "J'ai oublié ma pilule hier soir, que faire ?",
  null,
  'EFFETS SECONDAIRES DE LA DÉPAKINE',
];
const AGES = [31, 45, 28, 22, 60, 39];

const text = (values: readonly (string | null)[]): Column => ({ type: 'text', values: [...values] });
const questions = () =>
  makeTable([
    ['question', text(QUESTIONS)],
    ['age', { type: 'number', values: Float64Array.from(AGES) }],
    ['intent', { type: 'category', values: ['a', 'b', 'a', 'c', 'b', 'b'] }],
  ]);

type TfidfInput = z.input<typeof tfidfStepSchema>;
const WORDS: TfidfInput = { step: 'tfidf', column: 'question', ngramRange: [1, 2], stripAccents: true };
const CHARS: TfidfInput = { step: 'tfidf', column: 'question', analyzer: 'char_wb', ngramRange: [2, 4] };
const STEPS: FeatureStepInput[] = [WORDS, CHARS, { step: 'scale', columns: 'numeric' }];
const EXCLUDE = { exclude: ['intent'] };

const csr = (X: ModelInput): CsrMatrix => {
  if (X.kind !== 'csr') throw new Error(`expected CSR, got ${X.kind}`);
  return X;
};
const rowOf = (X: CsrMatrix, i: number) => ({
  indices: Array.from(X.indices.subarray(X.indptr[i], X.indptr[i + 1])),
  data: Array.from(X.data.subarray(X.indptr[i], X.indptr[i + 1])),
});

describe('tfidf step in the feature pipeline', () => {
  it('hstacks the dense columns and each tfidf block into one CSR matrix as wide as featureNames', async () => {
    const { pipeline, X } = await fitPipeline(STEPS, questions(), EXCLUDE);
    const M = csr(X);
    const words = fitTfidf(QUESTIONS, tfidfStepSchema.parse(WORDS));
    const chars = fitTfidf(QUESTIONS, tfidfStepSchema.parse(CHARS));
    const nWords = words.vectorizer.vocabulary.length;
    const nChars = chars.vectorizer.vocabulary.length;

    expect(M.rows).toBe(QUESTIONS.length);
    expect(M.cols).toBe(pipeline.featureNames.length);
    expect(M.cols).toBe(1 + nWords + nChars);
    // The text column is consumed by its tfidf steps; the numeric one stays first.
    expect(words.vectorizer.vocabulary.slice(0, 3)).toEqual(['ai', 'ai oublie', 'avec']);
    expect(pipeline.featureNames.slice(0, 3)).toEqual([
      'age',
      'question_words:ai',
      'question_words:ai oublie',
    ]);
    expect(pipeline.featureNames[1 + nWords]).toBe(`question_chars:${chars.vectorizer.vocabulary[0]}`);
    expect(pipeline.featureNames).toContain("question_words:l' ibuprofene");
    expect(pipeline.inputColumns).toEqual(['question', 'age']);

    const mean = AGES.reduce((s, v) => s + v, 0) / AGES.length;
    const std = Math.sqrt(AGES.reduce((s, v) => s + (v - mean) ** 2, 0) / AGES.length);
    for (let i = 0; i < M.rows; i++) {
      const expected = { indices: [0], data: [(AGES[i] - mean) / std] };
      for (const [offset, block] of [
        [1, words.X],
        [1 + nWords, chars.X],
      ] as const) {
        const r = rowOf(block, i);
        expected.indices.push(...r.indices.map((j) => j + offset));
        expected.data.push(...r.data);
      }
      expect(rowOf(M, i)).toEqual(expected);
    }
    // The missing question is an empty document: only its age.
    expect(rowOf(M, 4).indices).toEqual([0]);
  });

  it('transforms from the frozen JSON state, a single row as in the batch', async () => {
    const table = questions();
    const { pipeline, X } = await fitPipeline(STEPS, table, EXCLUDE);
    const state = JSON.parse(JSON.stringify(pipeline.state()));
    const tfidfState = state.steps[0];
    expect(Object.keys(tfidfState)).toEqual(['config', 'vocabulary', 'idf']);
    expect(tfidfState.vocabulary).toEqual(
      pipeline.featureNames
        .slice(1, 1 + tfidfState.vocabulary.length)
        .map((n: string) => n.slice('question_words:'.length)),
    );

    const loaded = loadPipeline(state);
    expect(loaded.featureNames).toEqual(pipeline.featureNames);
    const again = loaded.transform(table);
    expect(again.rowErrors.size).toBe(0);
    expect(again.X).toEqual(X);
    const one = csr(loaded.transform(takeRows(table, [2])).X);
    expect(one.rows).toBe(1);
    expect(rowOf(one, 0)).toEqual(rowOf(csr(X), 2));
  });

  it('gives the tfidf block alone without copying when there is no other feature', async () => {
    const { pipeline, X } = await fitPipeline([WORDS], questions(), { exclude: ['intent', 'age'] });
    expect(X.kind).toBe('csr');
    expect(csr(X).cols).toBe(pipeline.featureNames.length);
    expect(pipeline.featureNames.every((name) => name.startsWith('question_words:'))).toBe(true);
    expect(csr(pipeline.transform(takeRows(questions(), [])).X)).toMatchObject({
      rows: 0,
      cols: csr(X).cols,
    });
  });

  it('keeps dense pipelines dense', async () => {
    const { X } = await fitPipeline(
      [
        { step: 'scale', columns: 'numeric' },
        { step: 'drop', columns: ['question'] },
      ],
      questions(),
      EXCLUDE,
    );
    expect(X.kind).toBe('dense');
  });

  it('computes drift reference statistics over the CSR matrix, zeros included', async () => {
    const { pipeline, X } = await fitPipeline(STEPS, questions(), EXCLUDE);
    const M = csr(X);
    const stats = featureReferenceStats(M, pipeline.featureNames);
    expect(stats).toHaveLength(M.cols);
    expect(stats[0]).toMatchObject({ name: 'age', min: expect.any(Number), missingFraction: 0 });
    expect(stats[0].mean).toBeCloseTo(0, 12);
    expect(stats[0].std).toBeCloseTo(1, 12);
    const j = pipeline.featureNames.indexOf('question_words:effets secondaires');
    const column = Array.from({ length: M.rows }, (_, i) => rowOf(M, i)).map(
      (r) => r.data[r.indices.indexOf(j)] ?? 0,
    );
    const mean = column.reduce((s, v) => s + v, 0) / column.length;
    expect(stats[j].min).toBe(0);
    expect(stats[j].max).toBe(Math.max(...column));
    expect(stats[j].mean).toBeCloseTo(mean, 14);
    expect(stats[j].std).toBeCloseTo(
      Math.sqrt(column.reduce((s, v) => s + (v - mean) ** 2, 0) / column.length),
      14,
    );
  });

  it('explains a text column left without a tfidf step, and tfidf steps sharing a name', async () => {
    await expect(fitPipeline([{ step: 'scale', columns: 'numeric' }], questions(), EXCLUDE)).rejects.toThrow(
      'column "question" is text: add a tfidf step for it (or drop it)',
    );
    await expect(
      fitPipeline([WORDS, { ...WORDS, ngramRange: [1, 1] }], questions(), EXCLUDE),
    ).rejects.toThrow('two feature steps make sparse features named "question_words"');
    expect(
      (await fitPipeline([WORDS, { ...WORDS, name: 'unigrams', ngramRange: [1, 1] }], questions(), EXCLUDE))
        .pipeline.featureNames,
    ).toContain('unigrams:grossesse');
    await expect(fitPipeline([{ ...WORDS, column: 'age' }], questions(), EXCLUDE)).rejects.toThrow(
      'column "age" is number: tfidf needs a text, string or category column',
    );
    await expect(fitPipeline([{ ...WORDS, column: 'intent' }], questions(), EXCLUDE)).rejects.toThrow(
      'excluded',
    );
  });

  it('validates the step config', () => {
    const parsed = parseStepConfig({ step: 'tfidf', column: 'q' });
    expect(parsed).toMatchObject({
      analyzer: 'word',
      ngramRange: [1, 1],
      lowercase: true,
      stripAccents: false,
      minTokenLength: 2,
      elisions: 'keep',
      minDf: 1,
      maxDf: 1,
      sublinearTf: false,
      norm: 'l2',
    });
    for (const bad of [
      { ngramRange: [3, 2] },
      { minDf: 1.5 },
      { maxDf: 0 },
      { analyzer: 'char' },
      { maxFeatures: 0 },
    ]) {
      expect(() => parseStepConfig({ step: 'tfidf', column: 'q', ...bad })).toThrow();
    }
  });

  it('reads a text column from CSV as strings, multi-line cells included', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kiln-text-'));
    writeFileSync(
      path.join(dir, 'questions.csv'),
      'id,question,intent\n1,"Quelle dose de Doliprane, svp ?",a\n2,"Effets du\nLévothyrox",b\n3,,a\n',
    );
    const { table } = await loadTable(
      {
        source: { path: 'questions.csv' },
        schema: {
          id: { type: 'integer' },
          question: { type: 'text' },
          intent: { type: 'category' },
        },
      },
      { baseDir: dir },
    );
    expect(table.columns.get('question')).toEqual({
      type: 'text',
      values: ['Quelle dose de Doliprane, svp ?', 'Effets du\nLévothyrox', null],
    });
    const { pipeline, X } = await fitPipeline([WORDS], table, { exclude: ['id', 'intent'] });
    expect(pipeline.inputs).toEqual([{ name: 'question', type: 'text' }]);
    expect(pipeline.featureNames).toContain('question_words:du levothyrox');
    expect(rowOf(csr(X), 2).indices).toEqual([]);
  });
});
