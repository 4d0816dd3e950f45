import { describe, expect, it } from 'vitest';
import { denseMatrix } from '../../src/data/matrix.js';
import { type Table, takeRows, withColumn, withoutColumns } from '../../src/data/table.js';
import {
  checkFeatureSteps,
  type FeatureStepInput,
  featureReferenceStats,
  fitPipeline,
  loadPipeline,
  PIPELINE_FORMAT_VERSION,
} from '../../src/features/index.js';
import { cat, customers, dense, num, numbers, table } from './helpers.js';

const STEPS: FeatureStepInput[] = [
  { step: 'impute', columns: 'numeric', strategy: 'median' },
  { step: 'impute', columns: 'boolean', strategy: 'mode' },
  { step: 'impute', columns: ['housing'], strategy: 'constant', value: 'onbekend' },
  { step: 'derive', name: 'gas per kwh', expr: 'gas / col("electricity last")' },
  { step: 'derive', name: 'log income', expr: 'log1p(income)' },
  { step: 'one_hot', columns: ['region', 'contract'], drop: 'first' },
  {
    step: 'ordinal',
    column: 'housing',
    order: ['onbekend', 'appartement', 'rijtjeshuis', 'twee-onder-een-kap', 'vrijstaand'],
  },
  { step: 'scale', columns: 'numeric' },
  { step: 'drop', columns: ['income'] },
];
const EXCLUDE = { exclude: ['id', 'bought'] };

const FEATURES = [
  'age',
  'electricity last',
  'gas',
  'solar',
  'housing',
  'gas per kwh',
  'log income',
  'region_noord',
  'region_oost',
  'region_west',
  'region_zuid',
  'region_nan',
  'contract_variabel',
  'contract_vast',
];

/** Fits a pipeline whose model input is a dense matrix. */
async function fitDense(...args: Parameters<typeof fitPipeline>) {
  const { pipeline, X } = await fitPipeline(...args);
  return { pipeline, X: dense(X) };
}

/** Exact equality of doubles, NaN and signed zero included. */
const bits = (values: Float64Array) => Buffer.from(values.buffer, values.byteOffset, values.byteLength);
const row = (data: Float64Array, i: number, cols: number) => data.subarray(i * cols, (i + 1) * cols);

/** Scales a numeric column of a table, to build scoring batches unlike the training data. */
const mapColumn = (t: Table, name: string, f: (v: number) => number): Table =>
  withColumn(t, name, num(numbers(t, name).map(f)));

describe('feature pipeline', () => {
  const train = customers(400, 7);

  it('fits the steps in order and assembles the non-excluded columns in table order', async () => {
    const { pipeline, X } = await fitDense(STEPS, train, EXCLUDE);
    expect(pipeline.featureNames).toEqual(FEATURES);
    expect(pipeline.inputColumns).toEqual([
      'age',
      'income',
      'electricity last',
      'gas',
      'solar',
      'region',
      'contract',
      'housing',
    ]);
    expect(pipeline.inputs.find((c) => c.name === 'solar')?.type).toBe('boolean');
    expect([X.rows, X.cols]).toEqual([400, FEATURES.length]);
    expect(X.data.every(Number.isFinite)).toBe(true);
    // The training matrix is what transform gives for the training table.
    const again = pipeline.transform(train);
    expect(again.rowErrors.size).toBe(0);
    expect(bits(dense(again.X).data).equals(bits(X.data))).toBe(true);
  });

  it('computes hand-checkable features for a row', async () => {
    const { pipeline, X } = await fitDense(STEPS, train, EXCLUDE);
    const state = pipeline.state();
    const scale = state.steps[7] as unknown as { columns: string[]; means: number[]; scales: number[] };
    const median = (state.steps[0] as unknown as { columns: string[]; fills: number[] }).fills;
    const p = FEATURES.length;
    for (let i = 0; i < 20; i++) {
      const gas = numbers(train, 'gas')[i];
      const electricity = numbers(train, 'electricity last')[i];
      const filledGas = Number.isNaN(gas) ? median[3] : gas;
      const filledElectricity = Number.isNaN(electricity) ? median[2] : electricity;
      const k = scale.columns.indexOf('gas per kwh');
      expect(X.data[i * p + 5]).toBe((filledGas / filledElectricity - scale.means[k]) / scale.scales[k]);
      const region = train.columns.get('region')?.values[i] as string | null;
      const dummies = Array.from(X.data.subarray(i * p + 7, i * p + 12));
      const expected = ['noord', 'oost', 'west', 'zuid', null].map((level) => (level === region ? 1 : 0));
      expect(dummies).toEqual(region === 'midden' ? [0, 0, 0, 0, 0] : expected);
    }
  });

  it('gives bit-identical features for a row scored alone and in the full table', async () => {
    const { pipeline, X } = await fitDense(STEPS, train, EXCLUDE);
    const mismatched: number[] = [];
    for (let i = 0; i < train.nRows; i++) {
      const single = pipeline.transform(takeRows(train, [i]));
      expect(single.rowErrors.size).toBe(0);
      if (!bits(dense(single.X).data).equals(bits(row(X.data, i, X.cols)))) mismatched.push(i);
    }
    expect(mismatched).toEqual([]);
  });

  it('never uses statistics of the scoring batch', async () => {
    const { pipeline } = await fitPipeline(STEPS, train, EXCLUDE);
    // A batch whose values differ wildly from training: ages x10, all gas missing, most regions missing.
    let batch = customers(60, 99);
    batch = mapColumn(batch, 'age', (v) => v * 10);
    batch = mapColumn(batch, 'gas', () => Number.NaN);
    batch = withColumn(
      batch,
      'region',
      cat(Array.from({ length: 60 }, (_, i) => (i % 4 === 0 ? 'zuid' : null))),
    );
    const { X: batchX, rowErrors } = pipeline.transform(batch);
    const X = dense(batchX);
    expect(rowErrors.size).toBe(0);

    // Expected from the training table alone, computed here without the pipeline's code.
    const trainGas = numbers(train, 'gas').filter((v) => !Number.isNaN(v));
    const sorted = [...trainGas].sort((a, b) => a - b);
    const m = sorted.length >> 1;
    const gasMedian = sorted.length % 2 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
    const filled = numbers(train, 'gas').map((v) => (Number.isNaN(v) ? gasMedian : v));
    const mean = filled.reduce((s, v) => s + v, 0) / filled.length;
    const std = Math.sqrt(filled.reduce((s, v) => s + (v - mean) ** 2, 0) / filled.length);
    const p = X.cols;
    const gasColumn = FEATURES.indexOf('gas');
    for (let i = 0; i < X.rows; i++)
      expect(X.data[i * p + gasColumn]).toBeCloseTo((gasMedian - mean) / std, 12);

    // Batch independence: the same row gives the same features in two very different batches.
    const other = pipeline.transform(takeRows(batch, [5, 0, 1, 2]));
    expect(bits(row(dense(other.X).data, 1, p)).equals(bits(row(X.data, 0, p)))).toBe(true);
  });

  it('round-trips through JSON and transforms identically', async () => {
    const { pipeline } = await fitPipeline(STEPS, train, EXCLUDE);
    const json = JSON.stringify(pipeline.state());
    const restored = loadPipeline(JSON.parse(json));
    expect(JSON.stringify(restored.state())).toBe(json);
    expect(restored.featureNames).toEqual(pipeline.featureNames);
    expect(restored.inputColumns).toEqual(pipeline.inputColumns);
    const scoring = mapColumn(customers(200, 3), 'income', (v) => v * 3);
    expect(
      bits(dense(restored.transform(scoring).X).data).equals(bits(dense(pipeline.transform(scoring).X).data)),
    ).toBe(true);
    expect(pipeline.state().formatVersion).toBe(PIPELINE_FORMAT_VERSION);
  });

  it('is not affected by mutating the returned state', async () => {
    const { pipeline } = await fitPipeline(STEPS, train, EXCLUDE);
    const before = dense(pipeline.transform(train).X).data;
    const state = pipeline.state() as unknown as { steps: { fills?: number[] }[] };
    state.steps[0].fills?.fill(1e9);
    expect(bits(dense(pipeline.transform(train).X).data).equals(bits(before))).toBe(true);
  });

  it('scores without the target or id, and ignores extra columns', async () => {
    const { pipeline, X } = await fitDense(STEPS, train, EXCLUDE);
    const scoring = withColumn(
      withoutColumns(train, ['bought', 'id']),
      'region_noord',
      num(new Array(400).fill(7)),
    );
    expect(bits(dense(pipeline.transform(scoring).X).data).equals(bits(X.data))).toBe(true);
  });

  it('reports rows with an unseen level or a missing value left, and keeps the others', async () => {
    const t = table({ a: num([1, 2, 3, 4]), c: cat(['x', 'y', 'x', 'y']), y: num([0, 1, 0, 1]) });
    const { pipeline } = await fitPipeline([{ step: 'one_hot', columns: ['c'], unseen: 'error' }], t, {
      exclude: ['y'],
    });
    const scoring = table({
      a: num([5, Number.NaN, 6, Number.POSITIVE_INFINITY]),
      c: cat(['z', 'x', 'y', 'x']),
    });
    const { X, rowErrors } = pipeline.transform(scoring);
    expect([...rowErrors]).toEqual([
      [0, 'column "c": unseen level "z" (known: "x", "y")'],
      [1, 'column "a": missing value left after the feature steps'],
      [3, 'column "a": non-finite value Infinity'],
    ]);
    expect(Array.from(row(dense(X).data, 2, 3))).toEqual([6, 0, 1]);
  });

  it('refuses an input column that is absent or of another kind', async () => {
    const { pipeline } = await fitPipeline(STEPS, train, EXCLUDE);
    expect(() => pipeline.transform(withoutColumns(train, ['gas']))).toThrow(
      'input has no column "gas", which the feature pipeline needs',
    );
    expect(() => pipeline.transform(withColumn(train, 'age', cat(new Array(400).fill('42'))))).toThrow(
      'input column "age" is category; the feature pipeline was fitted on integer',
    );
  });

  it('explains what is missing when columns are left unencoded or with missing values', async () => {
    await expect(fitPipeline([], train, EXCLUDE)).rejects.toThrow(
      /column "region" is category: add a one_hot or ordinal step/,
    );
    await expect(
      fitPipeline([{ step: 'drop', columns: ['region', 'contract', 'housing'] }], train, EXCLUDE),
    ).rejects.toThrow(
      /column "age" has \d+ missing values after the feature steps, and the model does not handle missing values: add an impute step for it/,
    );
    const withDate = table({ t: num([1, 2], 'datetime'), y: num([0, 1]) });
    await expect(fitPipeline([], withDate, { exclude: ['y'] })).rejects.toThrow(
      /column "t" is datetime: derive a numeric feature/,
    );
    await expect(
      fitPipeline([{ step: 'drop', columns: ['t'] }], withDate, { exclude: ['y'] }),
    ).rejects.toThrow('no feature columns are left');
  });

  it('keeps steps away from the target and id', async () => {
    await expect(
      fitPipeline([{ step: 'derive', name: 'leak', expr: 'bought * 2' }, ...STEPS], train, EXCLUDE),
    ).rejects.toThrow('feature step 1 (derive): column "bought" is excluded');
    // A selector skips excluded columns: the target is neither imputed nor scaled.
    const { pipeline } = await fitPipeline(STEPS, train, EXCLUDE);
    expect(pipeline.state().steps[7]).toMatchObject({ columns: expect.not.arrayContaining(['bought']) });
  });

  it('checks step configs before touching data, naming the step', () => {
    expect(() =>
      checkFeatureSteps([
        { step: 'drop', columns: ['a'] },
        { step: 'derive', name: 'r', expr: 'a.b / c' },
      ]),
    ).toThrow('feature step 2 (derive): expr: expression "a.b / c": member access "a.b" is not allowed');
    expect(() => checkFeatureSteps([{ step: 'scale', method: 'minmax' }])).toThrow(
      'feature step 1 (scale): method: Invalid input: expected "standard"',
    );
    expect(checkFeatureSteps([{ step: 'one_hot', columns: ['c'] }])).toEqual([
      { step: 'one_hot', columns: ['c'], drop: 'none', unseen: 'ignore', missing: 'level' },
    ]);
  });

  it('refuses a state of another format version or with a broken step', async () => {
    const { pipeline } = await fitPipeline(STEPS, train, EXCLUDE);
    const state = JSON.parse(JSON.stringify(pipeline.state()));
    expect(() => loadPipeline({ ...state, formatVersion: 2 })).toThrow(
      `feature pipeline formatVersion 2 is not supported (this Kiln reads ${PIPELINE_FORMAT_VERSION})`,
    );
    state.steps[7].means = 'oops';
    expect(() => loadPipeline(state)).toThrow(/feature step 8: invalid scale step state/);
    expect(() => loadPipeline({ formatVersion: 1 })).toThrow(/invalid feature pipeline state/);
  });
});

describe('feature reference statistics', () => {
  it('computes mean, population std, min, max and missing fraction per feature', () => {
    const X = denseMatrix(4, 2, Float64Array.from([1, 10, 2, Number.NaN, 3, 10, 6, 10]));
    expect(featureReferenceStats(X, ['a', 'b'])).toEqual([
      { name: 'a', mean: 3, std: Math.sqrt(3.5), min: 1, max: 6, missingFraction: 0 },
      { name: 'b', mean: 10, std: 0, min: 10, max: 10, missingFraction: 0.25 },
    ]);
    expect(() => featureReferenceStats(X, ['a'])).toThrow('1 feature names for 2 matrix columns');
  });
});
