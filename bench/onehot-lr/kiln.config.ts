import { defineProject } from 'kiln';

const number = { type: 'number', nullable: false } as const;
const category = { type: 'category', nullable: false } as const;

/**
 * Issue 11, item 17: a credit file one-hot-heavy for logistic regression (generate.ts writes it). The
 * same pipeline as bench/onehot-lr/sklearn_peer.py: numeric columns standardised, the categorical
 * ones one-hot encoded (all levels), balanced logistic regression with C = 1, 5-fold stratified CV.
 */
export default defineProject({
  name: 'bench-onehot-lr',
  seed: 0,
  data: {
    source: { path: '../results/onehot-lr/credit.csv' },
    schema: {
      loan_amnt: number,
      funded_amnt: number,
      funded_amnt_inv: number,
      int_rate: number,
      installment: number,
      annual_inc: number,
      dti: number,
      delinq_2yrs: number,
      fico_range_low: number,
      fico_range_high: number,
      inq_last_6mths: number,
      open_acc: number,
      pub_rec: number,
      revol_bal: number,
      revol_util: number,
      total_acc: number,
      mort_acc: number,
      addr_state: category,
      purpose: category,
      emp_length: category,
      grade: category,
      home_ownership: category,
      defaulted: { type: 'integer', nullable: false, min: 0, max: 1 },
    },
  },
  target: { column: 'defaulted', positive: '1' },
  split: { strategy: 'stratified', folds: 5 },
  features: [
    { step: 'one_hot', columns: ['addr_state', 'purpose', 'emp_length', 'grade', 'home_ownership'] },
    { step: 'scale', columns: 'numeric' },
  ],
  model: { family: 'logistic_regression', params: { C: 1, classWeight: 'balanced' } },
  evaluation: { headline: 'roc_auc' },
  stores: {
    metadata: 'sqlite://../results/onehot-lr/kiln.db',
    artifacts: 'file://../results/onehot-lr/artifacts',
  },
});
