import { deriveStep } from './derive.js';
import { dropStep } from './drop.js';
import { imputeStep } from './impute.js';
import { oneHotStep } from './one-hot.js';
import { ordinalStep } from './ordinal.js';
import { scaleStep } from './scale.js';
import { tfidfStep } from './tfidf-step.js';

export {
  type BuiltinStepConfig,
  type BuiltinStepName,
  builtinStepConfigSchema,
  builtinStepSchema,
  type StepConfig,
  tfidfStepSchema,
} from './configs.js';
export type { DeriveState } from './derive.js';
export type { DropState } from './drop.js';
export type { ImputeState } from './impute.js';
export { MISSING_LEVEL, type OneHotState } from './one-hot.js';
export type { OrdinalState } from './ordinal.js';
export {
  fitStep,
  getStepKind,
  loadStep,
  parseStepConfig,
  registerFeatureStep,
  stepKindNames,
} from './registry.js';
export type { ScaleState } from './scale.js';
export {
  type BuiltinStepKind,
  type FitContext,
  type FittedStep,
  parseStepState,
  type RowErrors,
  type SparseFeatures,
  type StepKind,
  type StepState,
  type TensorFeatures,
} from './step.js';
export type { TfidfStepState } from './tfidf.js';
export { deriveStep, dropStep, imputeStep, oneHotStep, ordinalStep, scaleStep, tfidfStep };
