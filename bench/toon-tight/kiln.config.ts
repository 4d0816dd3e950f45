import { defineProject } from 'kiln';
import matched from '../toon/kiln.config.js';

/**
 * The same pipeline with Kiln's defaults: solver `auto` (Newton-Cholesky here: binary, 39 features) and
 * its stopping rule (no score moving by more than 1e-4, or gradient below 1e-8): the exact optimum.
 */
export default defineProject({
  ...matched,
  name: 'bench-toon-tight',
  model: { family: 'logistic_regression', params: { C: 1, classWeight: 'balanced' } },
});
