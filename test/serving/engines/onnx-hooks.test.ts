/**
 * Each built-in step kind's and family's own ONNX hook, alone, against its JS transform or predict
 * (through the contract suites' helpers, test/contracts/onnx-parity.ts).
 */
import { describe, expect, it } from 'vitest';
import type { TaskName } from '../../../src/config/schema.js';
import { denseMatrix } from '../../../src/data/matrix.js';
import { isStringColumn, type Table, takeRows } from '../../../src/data/table.js';
import { getStepKind } from '../../../src/features/steps/registry.js';
import type { ModelContext } from '../../../src/models/family.js';
import { getModelFamily } from '../../../src/models/registry.js';
import { Random } from '../../../src/util/random.js';
import { familyOnnxParity, stepOnnxParity } from '../../contracts/onnx-parity.js';
import { multiclassRows, textRows } from './fixtures.js';

// Scoring rows with every kind of missing, unseen and degenerate value (x2 = 50 divides by zero in
// `ratio`); fitted on rows without the levels that are to be unseen.
const UNSEEN = new Set(['purple', 'XXL', 'central', 'kiosk']);
const train = withoutUnseen(multiclassRows(400, 1));
const score = multiclassRows(200, 2);
const texts = { train: textRows(200, 1), score: textRows(80, 2) };

function withoutUnseen(table: Table): Table {
  const strings = [...table.columns.values()].filter(isStringColumn);
  const keep = [...Array(table.nRows).keys()].filter((i) =>
    strings.every((c) => !UNSEEN.has(c.values[i] ?? '')),
  );
  return takeRows(table, keep);
}

const STEPS: (Record<string, unknown> & { step: string })[] = [
  { step: 'impute', columns: ['x1', 'x2', 'flag'], strategy: 'median' },
  { step: 'impute', columns: ['color'], strategy: 'mode' },
  { step: 'impute', columns: ['shop'], strategy: 'constant', value: 'unknown' },
  { step: 'derive', name: 'ratio', expr: 'x1 / (x2 - 50)' },
  { step: 'derive', name: 'mix', expr: 'log1p(max(x1, x2)) - sqrt(abs(x1)) + exp(-x2 / 30) + min(x2, 3)' },
  { step: 'derive', name: 'c', expr: '2.5' },
  { step: 'one_hot', columns: ['color', 'shop'] },
  { step: 'one_hot', columns: ['region'], drop: 'first', unseen: 'error', missing: 'ignore' },
  { step: 'one_hot', columns: ['size'], unseen: 'error' },
  { step: 'ordinal', column: 'size', order: ['S', 'M', 'L', 'XL'] },
  { step: 'ordinal', column: 'region', unseen: 'error' },
  { step: 'scale', columns: ['x1', 'flag'] },
  { step: 'drop', columns: ['shop', 'x2'] },
  { step: 'tfidf', column: 'question' },
  { step: 'tfidf', column: 'question', analyzer: 'char_wb', ngramRange: [2, 4], stripAccents: true },
];

describe("each step kind's exportOnnx equals its transform", () => {
  for (const config of STEPS) {
    it(JSON.stringify(config), async () => {
      const kind = getStepKind(config.step);
      const data = config.step === 'tfidf' ? texts : { train, score };
      const step = await kind.fit(data.train, kind.config.parse(config), { exclude: new Set() });
      expect(await stepOnnxParity(kind, step.state, data.score)).toBeLessThanOrEqual(1e-9);
    });
  }
});

/** Seeded blobs: class c shifted along feature c; `scale` stretches the features. */
function blobs(task: TaskName, k: number, n: number, seed: number, scale = 1) {
  const rng = new Random(seed);
  const p = 5;
  const X = denseMatrix(n, p);
  const y = task === 'regression' ? new Float64Array(n) : new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % k;
    for (let j = 0; j < p; j++) X.data[i * p + j] = scale * (rng.normal() + (j === c ? 2 : 0));
    y[i] = task === 'regression' ? X.data[i * p] - 0.5 * X.data[i * p + 1] + 0.1 * rng.normal() : c;
  }
  return { X, y };
}

const FAMILIES: { family: string; task: TaskName; classes: string[]; params?: Record<string, unknown> }[] = [
  { family: 'logistic_regression', task: 'binary', classes: ['no', 'yes'] },
  { family: 'logistic_regression', task: 'multiclass', classes: ['a', 'b', 'c', 'd'] },
  { family: 'linear_svm', task: 'binary', classes: ['no', 'yes'] },
  { family: 'linear_svm', task: 'binary', classes: ['no', 'yes'], params: { calibration: 'none' } },
  { family: 'linear_svm', task: 'multiclass', classes: ['a', 'b', 'c', 'd'] },
  {
    family: 'linear_svm',
    task: 'multiclass',
    classes: ['a', 'b', 'c', 'd'],
    params: { calibration: 'none' },
  },
  { family: 'ridge', task: 'regression', classes: [] },
];

describe("each family's exportOnnx equals its predict", () => {
  for (const { family: name, task, classes, params = {} } of FAMILIES) {
    it(`${name} ${task} ${JSON.stringify(params)}`, async () => {
      const family = getModelFamily(name);
      const context: ModelContext = { task, classes };
      const { X, y } = blobs(task, Math.max(classes.length, 1), 240, 3);
      const model = await family.fit(X, y, { params: family.params.parse(params), task, classes, seed: 0 });
      const saved = model.save();
      // Rows far out (large features: sigmoids that underflow, softmax far from 0) and ordinary ones.
      expect(await familyOnnxParity(family, saved, context, blobs(task, 4, 300, 9).X)).toBeLessThanOrEqual(
        1e-12,
      );
      const far = await familyOnnxParity(family, saved, context, blobs(task, 4, 100, 10, 300).X);
      expect(far).toBeLessThanOrEqual(task === 'regression' ? 1e-9 : 1e-12);
    });
  }

  it('gives classes without training rows 0, as predict does (linear_svm, logistic_regression)', async () => {
    const classes = ['a', 'b', 'c', 'd', 'e'];
    for (const name of ['linear_svm', 'logistic_regression']) {
      const family = getModelFamily(name);
      for (const k of [2, 3]) {
        // Only the first k classes have rows.
        const { X, y } = blobs('multiclass', k, 150, 4);
        const model = await family.fit(X, y, {
          params: family.params.parse({}),
          task: 'multiclass',
          classes,
          seed: 0,
        });
        const context: ModelContext = { task: 'multiclass', classes };
        expect(
          await familyOnnxParity(family, model.save(), context, blobs('multiclass', 5, 100, 5).X),
        ).toBeLessThanOrEqual(1e-12);
      }
    }
  });
});
