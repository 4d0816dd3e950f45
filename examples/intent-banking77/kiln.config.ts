import { defineProject } from 'kiln';

/**
 * BANKING77: English customer-service questions → 77 intents (PolyAI, CC BY 4.0). The posos pipeline
 * with only this file changed: the data, the column names, no French elisions, and the dataset's own
 * test split scored by the final model.
 */
export default defineProject({
  name: 'intent-banking77',
  description: 'Intent of an English banking customer-service question (BANKING77).',
  seed: 0,
  data: {
    source: { path: '../../../shared/datasets/intent-banking77/train.csv' },
    test: { path: '../../../shared/datasets/intent-banking77/test.csv' },
    schema: {
      text: { type: 'text', nullable: false },
      category: { type: 'category', nullable: false },
    },
  },
  target: { column: 'category' },
  split: { strategy: 'stratified', folds: 5 },
  features: [
    { step: 'tfidf', column: 'text', analyzer: 'word', ngramRange: [1, 2], sublinearTf: true },
    { step: 'tfidf', column: 'text', analyzer: 'char_wb', ngramRange: [2, 5], sublinearTf: true },
  ],
  model: {
    family: 'linear_svm',
    params: { C: 0.5 },
    search: {
      strategy: 'random',
      trials: 8,
      validation: { fraction: 0.2 },
      space: {
        C: { min: 0.1, max: 2, log: true },
        'features.0.ngramRange': [
          [1, 1],
          [1, 2],
        ],
        'features.1.minDf': [1, 2],
      },
    },
  },
  evaluation: { headline: 'f1_macro', bootstrap: 1000, repeats: 5 },
  registry: {
    intendedUse: 'Routing English banking customer-service questions to one of 77 intents.',
    limitations: ['Trained on one bank’s question set (BANKING77); other products and phrasings are unseen.'],
  },
  serving: {
    port: 4003,
    textRoutes: [
      {
        path: '/intent',
        model: 'intent-banking77',
        column: 'text',
        field: 'question',
        batchField: 'questions',
        label: 'intent',
        page: '/',
        title: 'BANKING77: intent of a question',
      },
    ],
  },
});
