import { describe, expect, it } from 'vitest';
import { type FeatureStepInput, fitPipeline, loadPipeline, NO_UNSEEN } from '../../src/features/pipeline.js';
import { cat, num, table } from './helpers.js';

const training = table({
  state: cat(['CA', 'NY', 'TX', 'CA', 'NY', 'TX']),
  plan: cat(['basic', 'pro', 'basic', 'pro', 'basic', 'pro']),
  income: num([1, 2, 3, 4, 5, 6]),
});

// `plan` is left out of the pipelines that do not encode it.
const fitted = async (steps: FeatureStepInput[], options: object = { exclude: ['plan'] }) =>
  (await fitPipeline(steps, training, options)).pipeline;

describe('unseen values reported by the feature pipeline', () => {
  it("one_hot 'ignore' and ordinal 'nan' report each unseen value with its row and column", async () => {
    const pipeline = await fitted(
      [
        { step: 'one_hot', columns: ['state'] },
        { step: 'ordinal', column: 'plan' },
      ],
      { allowMissing: true },
    );
    const scoring = table({
      state: cat(['CA', 'PR', null, 'TX']),
      plan: cat(['pro', 'basic', 'gold', 'pro']),
      income: num([1, 2, 3, 4]),
    });
    const { rowErrors, unseen } = pipeline.transform(scoring);
    const expected = [
      { row: 1, column: 'state', value: 'PR', scoredAs: 'scored as no level seen in training' },
      // Training had no missing state, so a missing one has no level either (missing: 'level').
      { row: 2, column: 'state', value: null, scoredAs: 'scored as no level seen in training' },
      { row: 2, column: 'plan', value: 'gold', scoredAs: 'scored as a missing value' },
    ];
    expect(rowErrors.size).toBe(0);
    expect(unseen).toEqual(expected);
    // Found without transforming (the ONNX engine's way), and the same after a round trip of the state.
    expect(pipeline.findUnseen(scoring)).toEqual(expected);
    expect(loadPipeline(JSON.parse(JSON.stringify(pipeline.state()))).findUnseen(scoring)).toEqual(expected);
  });

  it('reports nothing for seen values, with the shared empty list (no allocation per call)', async () => {
    const pipeline = await fitted([{ step: 'one_hot', columns: ['state'] }]);
    const seen = table({ state: cat(['CA', 'NY']), plan: cat(['pro', 'pro']), income: num([1, 2]) });
    expect(pipeline.transform(seen).unseen).toBe(NO_UNSEEN);
    expect(pipeline.findUnseen(seen)).toBe(NO_UNSEEN);
    // The list handed out after a call with findings is the caller's: the next call does not change it.
    const first = pipeline.transform(table({ state: cat(['PR']), plan: cat(['pro']), income: num([1]) }));
    pipeline.transform(table({ state: cat(['VI', 'GU']), plan: cat(['pro', 'pro']), income: num([1, 2]) }));
    expect(first.unseen.map((u) => u.value)).toEqual(['PR']);
  });

  it("leaves missing values alone under missing: 'ignore', and refuses instead of reporting under 'error'", async () => {
    const scoring = table({ state: cat(['PR', null]), plan: cat(['pro', 'pro']), income: num([1, 2]) });
    const ignoring = await fitted([{ step: 'one_hot', columns: ['state'], missing: 'ignore' }]);
    expect(ignoring.transform(scoring).unseen.map((u) => u.value)).toEqual(['PR']);
    const refusing = await fitted([{ step: 'one_hot', columns: ['state'], unseen: 'error' }]);
    const { rowErrors, unseen } = refusing.transform(scoring);
    expect([...rowErrors.keys()]).toEqual([0, 1]);
    expect(unseen).toEqual([]);
    expect(refusing.findUnseen(scoring)).toEqual([]);
  });

  it('looks values up after the steps before: a missing value an impute step fills is not unseen', async () => {
    const pipeline = await fitted([
      { step: 'impute', columns: ['state'], strategy: 'mode' },
      { step: 'one_hot', columns: ['state'] },
    ]);
    const scoring = table({ state: cat([null, 'PR']), plan: cat(['pro', 'pro']), income: num([1, 2]) });
    const expected = [
      { row: 1, column: 'state', value: 'PR', scoredAs: 'scored as no level seen in training' },
    ];
    expect(pipeline.transform(scoring).unseen).toEqual(expected);
    expect(pipeline.findUnseen(scoring)).toEqual(expected);
  });
});
