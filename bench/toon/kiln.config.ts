import { defineProject } from 'kiln';
import { notebookPreprocessing, toonData } from '../../examples/toon-propensity/schema.js';

/**
 * The reference pipeline scikit-learn runs in bench/peers/toon_sklearn.py, step for step, with the same
 * solver (L-BFGS) stopped by the same rule as Debian's scikit-learn 1.2.1 (scipy's default ftol on the
 * summed objective, no score test).
 */
export default defineProject({
  name: 'bench-toon',
  seed: 0,
  data: {
    ...toonData,
    source: { ...toonData.source, path: '../../../shared/datasets/toon-propensity/data_set.csv' },
  },
  target: { column: 'bought_toon', positive: 'true' },
  split: { strategy: 'stratified', folds: 5 },
  features: [
    ...notebookPreprocessing,
    { step: 'scale', columns: 'numeric' },
    { step: 'scale', columns: 'boolean' },
  ],
  model: {
    family: 'logistic_regression',
    params: { C: 1, classWeight: 'balanced', solver: 'lbfgs', scoreTol: 0, ftol: 2.220446049250313e-9 },
  },
  stores: {
    metadata: 'sqlite://../results/bench-toon.db',
    artifacts: 'file://../results/bench-toon-artifacts',
  },
});
