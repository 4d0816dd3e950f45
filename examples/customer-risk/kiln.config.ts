import { defineProject } from 'kiln';

/**
 * Customers at risk (26 % positive). The original server used two columns (stakes, deposits) with
 * default weights and swapped them at request time; this pipeline engineers ratios, encodes the
 * categories, balances the classes and searches C by 5-fold cross-validation.
 */
export default defineProject({
  name: 'customer-risk',
  description: 'At-risk customers of a betting and gaming operator.',
  seed: 0,
  data: {
    source: { path: '../../../shared/datasets/customer-risk/train.csv' },
    onInvalid: 'quarantine',
    schema: {
      deposits: { type: 'number', nullable: false, min: 0 },
      withdrawals: { type: 'number', nullable: true, min: 0 },
      stakes: { type: 'number', nullable: false, min: 0 },
      product: { type: 'category', nullable: false, values: ['bet', 'gaming'] },
      age: { type: 'category', nullable: false, values: ['<30', '30-50', '50+'] },
      target: { type: 'integer', nullable: false, min: 0, max: 1 },
    },
  },
  target: { column: 'target', positive: '1' },
  split: { strategy: 'stratified', folds: 5 },
  features: [
    { step: 'impute', columns: ['withdrawals'], strategy: 'median' },
    { step: 'derive', name: 'withdrawal_ratio', expr: 'withdrawals / (deposits + 1)' },
    { step: 'derive', name: 'stake_ratio', expr: 'stakes / (deposits + 1)' },
    { step: 'derive', name: 'net_deposits', expr: 'deposits - withdrawals' },
    { step: 'derive', name: 'log_stakes', expr: 'log1p(stakes)' },
    { step: 'one_hot', columns: ['product', 'age'] },
    { step: 'scale', columns: 'numeric' },
  ],
  model: {
    family: 'logistic_regression',
    params: { C: 1, classWeight: 'balanced' },
    search: { strategy: 'grid', space: { C: [0.001, 0.01, 0.1, 1, 10] } },
  },
  evaluation: { headline: 'roc_auc', threshold: { strategy: 'fixed', value: 0.5 } },
  gates: ['roc_auc >= 0.62', 'f1 >= 0.42'],
  // A passing run moves @champion to its version, so `kiln serve --model customer-risk@champion` serves it.
  registry: { alias: 'champion' },
  serving: {
    // The original client's contract: POST /predict {"instances": [[stakes, deposits], ...]}, mapped by
    // name onto the signature (the original server swapped these two columns). That client never sends
    // product or age, which the model requires: they are filled with the training data's most frequent
    // values (gaming 50.1 %, <30 49.9 %), an explicit assumption; withdrawals is left missing and imputed
    // by the package. Clients that can send every field should use /v1/models/customer-risk/predict.
    legacyRoutes: [
      {
        path: '/predict',
        model: 'customer-risk',
        instances: ['stakes', 'deposits'],
        defaults: { product: 'gaming', age: '<30' },
      },
    ],
  },
});
