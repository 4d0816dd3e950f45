import { describe, expect, it } from 'vitest';
import type { LiveModel, Scored } from '../../../src/serving/server/predict.js';
import { recordsJson } from '../../../src/serving/server/routes/v1.js';

const live = (classes: string[]) =>
  ({ model: { name: 'risk "v"', version: 'ünï' }, classes }) as unknown as LiveModel;

describe('records response JSON', () => {
  it('is valid JSON holding every prediction, with awkward class names escaped', () => {
    const classes = ['a"b', 'c\\d', 'é\n', '0'];
    const scored = {
      ids: ['id-1', 'id-2'],
      labels: ['c\\d', '0'],
      proba: Float64Array.from([0.1, 0.6, 0.2, 0.1, 1e-20, 0.25, 0.25, 0.5 - 1e-20]),
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
      proba: Float64Array.from([Number.NaN, 1]),
    } as unknown as Scored;
    expect(JSON.parse(recordsJson(live(['0', '1']), scored)).predictions[0].probabilities).toEqual({
      '0': null,
      '1': 1,
    });
  });
});
