import type { ModelFamily } from './family.js';
import { linearSvm } from './linear-svm.js';
import { logisticRegression } from './logistic-regression.js';
import { registerModelFamily } from './registry.js';

export type { FitOptions, FittedModel, ModelFamily, SavedModel, Tensors } from './family.js';
export {
  fitLogisticRegression,
  LOGISTIC_REGRESSION,
  LogisticObjective,
  LogisticRegressionModel,
  type LogisticRegressionParams,
  loadLogisticRegression,
  logisticRegression,
  logisticRegressionParams,
} from './logistic-regression.js';
export { type LbfgsOptions, type LbfgsResult, minimizeLbfgs, type ObjectiveFunction } from './optim/lbfgs.js';
export { getModelFamily, modelFamilyNames, registerModelFamily } from './registry.js';

/** The families Kiln ships, registered when this module is first imported. */
export const builtinModelFamilies: readonly ModelFamily<unknown>[] = [
  logisticRegression as ModelFamily<unknown>,
  linearSvm as ModelFamily<unknown>,
];

for (const family of builtinModelFamilies) registerModelFamily(family);
