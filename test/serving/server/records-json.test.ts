import { describe, expect, it } from 'vitest';
import { type LiveModel, presentPrediction, type Scored } from '../../../src/serving/server/predict.js';
import { recordsJson } from '../../../src/serving/server/routes/v1.js';
import { getTask, type TaskOutput } from '../../../src/tasks/index.js';

const live = (classes: string[]) =>
  ({ model: { name: 'risk "v"', version: 'ünï' }, classes, width: classes.length }) as unknown as LiveModel;

describe('records response JSON', () => {
  it('is valid JSON holding every prediction, with awkward class names escaped', () => {
    const classes = ['a"b', 'c\\d', 'é\n', '0'];
    const scored = {
      ids: ['id-1', 'id-2'],
      labels: ['c\\d', '0'],
      scores: Float64Array.from([0.1, 0.6, 0.2, 0.1, 1e-20, 0.25, 0.25, 0.5 - 1e-20]),
      unseen: [],
    } as unknown as Scored;
    const parsed = JSON.parse(recordsJson(live(classes), scored));
    expect(parsed).toEqual({
      model: 'risk "v"',
      version: 'ünï',
      predictions: [
        {
          prediction_id: 'id-1',
          label: 'c\\d',
          probabilities: { 'a"b': 0.1, 'c\\d': 0.6, 'é\n': 0.2, '0': 0.1 },
        },
        {
          prediction_id: 'id-2',
          label: '0',
          probabilities: { 'a"b': 1e-20, 'c\\d': 0.25, 'é\n': 0.25, '0': 0.5 - 1e-20 },
        },
      ],
    });
  });

  it('writes a non-finite probability as null, as JSON.stringify would', () => {
    const scored = {
      ids: ['x'],
      labels: ['1'],
      scores: Float64Array.from([Number.NaN, 1]),
      unseen: [],
    } as unknown as Scored;
    expect(JSON.parse(recordsJson(live(['0', '1']), scored)).predictions[0].probabilities).toEqual({
      '0': null,
      '1': 1,
    });
  });

  it('is what the task presents, for classification (decided once) and for the other tasks', () => {
    const output: TaskOutput = { classes: ['no', 'yes'], positive: 'yes', threshold: 0.3 };
    const task = getTask('binary');
    const binary = {
      ...live(['no', 'yes']),
      task,
      output,
      rule: task.rule(output),
    } as unknown as LiveModel;
    const scored = {
      ids: ['a', 'b'],
      labels: ['yes', 'no'],
      scores: Float64Array.from([0.6, 0.4, 0.8, 0.2]),
      unseen: [],
    } as unknown as Scored;
    for (const i of [0, 1])
      expect(presentPrediction(binary, scored, i)).toEqual(
        task.present({ values: scored.scores, width: 2 }, i, output),
      );
    expect(JSON.parse(recordsJson(binary, scored)).predictions[0]).toEqual({
      prediction_id: 'a',
      ...task.present({ values: scored.scores, width: 2 }, 0, output),
    });

    const regression = {
      model: { name: 'price', version: '1' },
      task: getTask('regression'),
      output: { classes: [] },
      classes: [],
      width: 1,
    } as unknown as LiveModel;
    const values = {
      ids: ['x', 'y'],
      labels: undefined,
      scores: Float64Array.from([12.5, -3]),
      unseen: [],
    } as unknown as Scored;
    expect(JSON.parse(recordsJson(regression, values))).toEqual({
      model: 'price',
      version: '1',
      predictions: [
        { prediction_id: 'x', value: 12.5 },
        { prediction_id: 'y', value: -3 },
      ],
    });
  });

  it('puts warnings on the rows that scored unseen values, the value escaped and clipped', () => {
    const long = 'x'.repeat(300);
    const unseen = [
      { row: 1, column: 'state', value: 'P"R', scoredAs: 'scored as no level seen in training' },
      { row: 1, column: 'plan', value: long, scoredAs: 'scored as a missing value' },
      { row: 2, column: 'state', value: null, scoredAs: 'scored as no level seen in training' },
    ];
    const scored = {
      ids: ['a', 'b', 'c'],
      labels: ['0', '1', '0'],
      scores: Float64Array.from([0.6, 0.4, 0.3, 0.7, 0.9, 0.1]),
      unseen,
    } as unknown as Scored;
    const { predictions } = JSON.parse(recordsJson(live(['0', '1']), scored));
    expect(predictions[0]).not.toHaveProperty('warnings');
    expect(predictions[1].probabilities).toEqual({ '0': 0.3, '1': 0.7 });
    expect(predictions[1].warnings).toEqual([
      { field: 'state', reason: 'unseen level "P\\"R": scored as no level seen in training' },
      {
        field: 'plan',
        reason: `unseen level "${'x'.repeat(199)}... (102 more characters): scored as a missing value`,
      },
    ]);
    expect(predictions[2].warnings).toEqual([
      { field: 'state', reason: 'missing value (none in training): scored as no level seen in training' },
    ]);

    const regression = {
      model: { name: 'price', version: '1' },
      task: getTask('regression'),
      output: { classes: [] },
      classes: [],
      width: 1,
    } as unknown as LiveModel;
    const values = { ...scored, labels: undefined, scores: Float64Array.from([1, 2, 3]) } as Scored;
    expect(JSON.parse(recordsJson(regression, values)).predictions).toEqual([
      { prediction_id: 'a', value: 1 },
      { prediction_id: 'b', value: 2, warnings: predictions[1].warnings },
      { prediction_id: 'c', value: 3, warnings: predictions[2].warnings },
    ]);
  });
});
