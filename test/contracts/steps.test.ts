/** Every built-in feature step kind against the feature step contract, on seeded tables. */
import { makeTable, type Table } from '../../src/data/table.js';
import { getStepKind } from '../../src/features/steps/registry.js';
import { Random } from '../../src/util/random.js';
import { cat, num } from '../features/helpers.js';
import { describeFeatureStepContract } from './feature-step.js';
import { stepOnnxParity } from './onnx-parity.js';

const WORDS = [
  'douleur',
  'dose',
  'enfant',
  "l'aspirine",
  'maux',
  'de',
  'tête',
  'Fièvre',
  'posologie',
  'grossesse',
];

/** Numbers with gaps, categories with gaps and a level the training rows never saw, short texts. */
function rows(n: number, seed: number, unseen: boolean): Table {
  const rng = new Random(seed);
  const pick = <T>(values: readonly T[]) => values[rng.int(values.length)];
  return makeTable([
    [
      'age',
      num(
        Array.from({ length: n }, () => (rng.next() < 0.1 ? Number.NaN : 18 + rng.int(60))),
        'integer',
      ),
    ],
    [
      'income',
      num(Array.from({ length: n }, () => (rng.next() < 0.1 ? Number.NaN : 1000 + 3000 * rng.next()))),
    ],
    ['stakes', num(Array.from({ length: n }, () => 100 * rng.next()))],
    [
      'region',
      cat(
        Array.from({ length: n }, (_, i) =>
          rng.next() < 0.1 ? null : unseen && i % 9 === 0 ? 'island' : pick(['north', 'south', 'east']),
        ),
      ),
    ],
    ['product', cat(Array.from({ length: n }, () => pick(['bet', 'gaming'])))],
    [
      'question',
      {
        type: 'text',
        values: Array.from({ length: n }, () =>
          rng.next() < 0.05 ? null : Array.from({ length: 2 + rng.int(6) }, () => pick(WORDS)).join(' '),
        ),
      },
    ],
  ]);
}

const train = rows(200, 1, false);
const score = rows(60, 2, true);
/** The same columns with the numeric ones as text: a numeric step must refuse them. */
const asText = makeTable(
  [...train.columns].map(([name, column]) =>
    column.type === 'number' || column.type === 'integer'
      ? [name, cat(Array.from(column.values as Float64Array, (v) => (Number.isNaN(v) ? null : String(v))))]
      : [name, column],
  ),
);
/** The same columns with the categorical and text ones as numbers: a string step must refuse them. */
const asNumbers = makeTable(
  [...train.columns].map(([name, column]) =>
    column.type === 'category' || column.type === 'text'
      ? [name, num(Array.from({ length: train.nRows }, (_, i) => i))]
      : [name, column],
  ),
);

const cases: { config: Record<string, unknown> & { step: string }; wrongType?: Table }[] = [
  { config: { step: 'impute', columns: ['age', 'income'], strategy: 'median' } },
  { config: { step: 'impute', columns: 'numeric', strategy: 'mean' } },
  { config: { step: 'impute', columns: ['region'], strategy: 'mode' } },
  { config: { step: 'impute', columns: ['region'], strategy: 'constant', value: 'unknown' } },
  { config: { step: 'derive', name: 'ratio', expr: 'stakes / (income + 1)' }, wrongType: asText },
  { config: { step: 'derive', name: 'lg', expr: 'log1p(max(stakes, age))' }, wrongType: asText },
  { config: { step: 'one_hot', columns: ['region', 'product'] }, wrongType: asNumbers },
  {
    config: { step: 'one_hot', columns: ['region'], drop: 'first', unseen: 'error', missing: 'ignore' },
    wrongType: asNumbers,
  },
  { config: { step: 'ordinal', column: 'region', order: ['south', 'east', 'north'] }, wrongType: asNumbers },
  { config: { step: 'ordinal', column: 'product', unseen: 'error' }, wrongType: asNumbers },
  { config: { step: 'scale', columns: ['stakes', 'income'] }, wrongType: asText },
  { config: { step: 'scale' } },
  { config: { step: 'drop', columns: ['product'] } },
  { config: { step: 'tfidf', column: 'question' }, wrongType: asNumbers },
  {
    config: {
      step: 'tfidf',
      column: 'question',
      analyzer: 'char_wb',
      ngramRange: [2, 4],
      stripAccents: true,
      sublinearTf: true,
    },
    wrongType: asNumbers,
  },
  {
    config: {
      step: 'tfidf',
      column: 'question',
      ngramRange: [1, 2],
      elisions: 'drop',
      minDf: 2,
      norm: 'l1',
      maxFeatures: 20,
    },
  },
];

for (const { config, wrongType } of cases)
  describeFeatureStepContract({
    kind: getStepKind(config.step),
    config,
    train,
    score,
    wrongType,
    onnxParity: stepOnnxParity,
  });
