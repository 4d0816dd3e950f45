export * from '../data/matrix.js';
export { type Expression, type ExprNode, evaluateExpression, parseExpression } from './expression.js';
export {
  checkFeatureSteps,
  type FeatureStepInput,
  type FittedPipeline,
  fitPipeline,
  type InputColumn,
  loadPipeline,
  PIPELINE_FORMAT_VERSION,
  type PipelineOptions,
  type PipelineState,
} from './pipeline.js';
export { type FeatureReferenceStats, featureReferenceStats } from './reference.js';
export * from './steps/index.js';
