/**
 * A project that brings its own model family and feature step (plugins.ts), registered through the
 * SDK before the project is defined. Its data, data/train.csv, is written by test/sdk/sdk.test.ts.
 */
import { defineProject, registerFeatureStep, registerModelFamily } from 'kiln';
import { interactions, nearestCentroid } from './plugins.js';

registerModelFamily(nearestCentroid);
registerFeatureStep(interactions);

export default defineProject({
  name: 'sdk-demo',
  seed: 0,
  data: {
    source: { path: 'data/train.csv' },
    weight: 'weight',
    schema: {
      x1: { type: 'number', nullable: true },
      x2: { type: 'number', nullable: false },
      weight: { type: 'number', nullable: false, min: 0 },
      label: { type: 'category', nullable: false, values: ['a', 'b'] },
    },
  },
  target: { column: 'label', positive: 'b' },
  features: [{ step: 'interactions', columns: ['x1', 'x2'] }],
  model: { family: 'nearest_centroid', params: { temperature: 2 } },
  gates: ['roc_auc >= 0.75'],
  registry: { alias: 'champion' },
});
