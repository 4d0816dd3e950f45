export type {
  FamilyCapabilities,
  FitOptions,
  FitProgress,
  FittedModel,
  ModelContext,
  ModelFamily,
  SavedModel,
  Tensors,
} from './family.js';
export { type FitControl, fitControl } from './fit-control.js';
export { LogisticObjective } from './logistic-objective.js';
export {
  fitLogisticRegression,
  LOGISTIC_REGRESSION,
  LogisticRegressionModel,
  type LogisticRegressionParams,
  loadLogisticRegression,
  logisticRegression,
  logisticRegressionParams,
} from './logistic-regression.js';
export { type LbfgsOptions, type LbfgsResult, minimizeLbfgs, type ObjectiveFunction } from './optim/lbfgs.js';
export { getModelFamily, modelFamilyNames, registerModelFamily } from './registry.js';
export { fitRidge, RIDGE_REGRESSION, RidgeModel, ridgeParams, ridgeRegression } from './ridge.js';
