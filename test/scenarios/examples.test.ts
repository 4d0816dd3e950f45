import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProject } from '../../src/config/load.js';
import { evaluatePackage } from '../../src/scoring/evaluate.js';
import { importLogisticRegression } from '../../src/training/import.js';
import { trainProject } from '../../src/training/train.js';
import { hasSharedDataset, repoRoot, sharedDatasets } from './shared-data.js';

const examples = path.join(repoRoot, 'examples');
let scratch: string;

// Runs and packages go to a scratch folder, not into the examples.
beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 'kiln-examples-'));
  process.env.KILN_METADATA_URI = `sqlite://${path.join(scratch, 'kiln.db')}`;
  process.env.KILN_ARTIFACTS_URI = `file://${path.join(scratch, 'artifacts')}`;
  process.env.KILN_LOCAL_DIR = path.join(scratch, 'local');
});
afterAll(() => {
  delete process.env.KILN_METADATA_URI;
  delete process.env.KILN_ARTIFACTS_URI;
  delete process.env.KILN_LOCAL_DIR;
});

describe.skipIf(!hasSharedDataset('customer-risk'))('customer-risk example', () => {
  it('reaches ROC AUC >= 0.62 and positive-class F1 >= 0.42 in 5-fold stratified CV, seed 0', async () => {
    const result = await trainProject(await loadProject(path.join(examples, 'customer-risk')));
    const cv = (result.run.metrics as { cv: Record<string, number> }).cv;
    expect(cv.roc_auc).toBeGreaterThanOrEqual(0.62);
    expect(cv.f1).toBeGreaterThanOrEqual(0.42);
    expect(result.passed).toBe(true);
  });
});

describe.skipIf(!hasSharedDataset('toon-propensity'))('toon-propensity example', () => {
  it('reaches ROC AUC >= 0.737 in 5-fold stratified CV, seed 0', async () => {
    const result = await trainProject(await loadProject(path.join(examples, 'toon-propensity')));
    expect((result.run.metrics as { cv: Record<string, number> }).cv.roc_auc).toBeGreaterThanOrEqual(0.737);
  });

  it('imports the shipped v4 coefficients and scores all of data_set.csv at ROC AUC 0.7466 ± 0.0005', async () => {
    const packageDir = path.join(scratch, 'v4-package');
    await importLogisticRegression(
      await loadProject(path.join(examples, 'toon-propensity', 'import-v4')),
      path.join(sharedDatasets, 'toon-propensity', 'model_v4_coefficients.json'),
      packageDir,
    );
    const evaluation = await evaluatePackage({
      modelDir: packageDir,
      input: path.join(sharedDatasets, 'toon-propensity', 'data_set.csv'),
      bootstrap: 0,
    });
    expect(evaluation.data.rowsAccepted).toBe(20_000);
    expect(Math.abs(evaluation.values.roc_auc - 0.7466)).toBeLessThanOrEqual(0.0005);
  });
});
