/** Drift tests in a registry: compare a column's live window with its reference, chosen by kind and size. */
export { chi2Test } from './chi2.js';
export { jensenShannonDistance, jensenShannonTest } from './jensenshannon.js';
export { kolmogorovSf, smirnovSf } from './kolmogorov.js';
export { ks2samp, ksTest } from './ks.js';
export { medianBandwidth, mmdTest, mmdTwoSample } from './mmd.js';
export { psiTest } from './psi.js';
export {
  chooseDriftTest,
  type DatasetDrift,
  type DriftTestChoice,
  datasetDrift,
  driftTests,
  findDriftTest,
  getDriftTest,
  type RunDriftOptions,
  registerDriftTest,
  runDriftTest,
  SMALL_REFERENCE,
} from './registry.js';
export { sampleKind } from './samples.js';
export { chi2Sf, normalSf } from './special.js';
export type {
  CategoricalSample,
  CleanSample,
  ColumnKind,
  DriftResult,
  DriftSample,
  DriftScore,
  DriftStat,
  DriftTest,
  DriftTestOptions,
  NumericSample,
  SampleSize,
  Undefined,
  VectorSample,
} from './types.js';
export { wassersteinDistance, wassersteinTest } from './wasserstein.js';
export { zTest } from './z.js';
