import { Registry } from '../util/registry.js';
import type { ModelFamily } from './family.js';
import { linearSvm } from './linear-svm.js';
import { logisticRegression } from './logistic-regression.js';
import { ridgeRegression } from './ridge.js';

/** The families Kiln ships. */
function builtinFamilies(): ModelFamily[] {
  return [logisticRegression, linearSvm, ridgeRegression] as ModelFamily[];
}

const families = new Registry<ModelFamily>('model family', builtinFamilies);

/** Adds a family (from a project's own code, through the SDK); names are unique. */
export function registerModelFamily<P>(family: ModelFamily<P>): void {
  families.register(family as ModelFamily);
}

export function getModelFamily(name: string): ModelFamily {
  return families.get(name);
}

export function modelFamilyNames(): string[] {
  return families.names();
}
