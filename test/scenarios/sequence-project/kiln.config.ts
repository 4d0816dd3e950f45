/**
 * Operating modes from a window of readings: each row is a series of timesteps with two sensor values
 * (s1, s2), in a CSV whose `readings` cells are JSON. A step of the project's own (plugins.ts) keeps the
 * last 5 timesteps as a [n, 5, 2] tensor; a family of its own takes that sequence input. The data,
 * data/train.csv, is written by test/scenarios/sequences.test.ts.
 */
import { defineProject, registerFeatureStep, registerModelFamily } from 'kiln';
import { lastWindow, windowCentroid } from './plugins.js';

registerFeatureStep(lastWindow);
registerModelFamily(windowCentroid);

export default defineProject({
  name: 'sequence-demo',
  seed: 0,
  data: {
    source: { path: 'data/train.csv' },
    id: 'asset',
    schema: {
      asset: { type: 'string', nullable: false },
      readings: {
        type: 'sequence',
        nullable: false,
        fields: ['s1', 's2'],
        length: { min: 3, max: 200 },
        min: -50,
        max: 50,
        description: 'sensor readings, oldest first',
      },
      mode: { type: 'category', nullable: false, values: ['idle', 'run', 'fault'] },
    },
    onInvalid: 'quarantine',
  },
  target: { column: 'mode' },
  features: [{ step: 'last_window', column: 'readings', size: 5 }],
  model: { family: 'window_centroid', params: { temperature: 2 } },
  evaluation: { bootstrap: 200 },
  gates: ['accuracy >= 0.9'],
  registry: { alias: 'champion' },
});
