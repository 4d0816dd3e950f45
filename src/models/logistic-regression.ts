import { z } from 'zod';
import type { Matrix, ModelInput } from '../data/matrix.js';
import type { FitOptions, FittedModel, ModelFamily, SavedModel } from './family.js';
import { fitControl } from './fit-control.js';
import {
  classCodes,
  classWeightParam,
  matrixInput,
  resolveClassWeights,
  validateClassifierInputs,
} from './linear-common.js';
import { binaryColumnsOnnx, featureMajor, linearScoresOnnx, placeClassesOnnx } from './linear-onnx.js';
import { LogisticObjective, linearScores } from './logistic-objective.js';
import { convergenceAdvice } from './optim/advice.js';
import { minimizeLbfgs } from './optim/lbfgs.js';
import { minimizeNewtonCholesky, type NewtonResult } from './optim/newton-cholesky.js';

/**
 * L2-regularised logistic regression with scikit-learn's objective:
 *   binary      0.5 ||w||^2 + C sum_i s_i log(1 + exp(-y_i (x_i.w + b))),  y_i in {-1, +1}
 *   multinomial 0.5 ||W||_F^2 + C sum_i s_i (-log softmax(x_i W' + b)_{y_i})
 * with s_i = sample weight x class weight and the intercept not penalised.
 *
 * The solvers minimise that objective divided by C * sum_i s_i (a weighted mean loss, as recent
 * scikit-learn does), so `tol` means the same thing whatever the data size and weights.
 *
 * When to stop: what a fitted model is used for is its scores (the log-odds x.w + b; for multinomial,
 * each class's score), so by default a fit stops once an iteration moves no training row's score by
 * more than `scoreTol`. Coefficients along directions the data barely determine (collinear columns,
 * rare one-hot levels) may still drift after that, but they no longer change any prediction.
 */
export const logisticRegressionParams = z.strictObject({
  /** Inverse regularisation strength. */
  C: z.number().positive().default(1),
  classWeight: classWeightParam,
  fitIntercept: z.boolean().default(true),
  /**
   * `newton-cholesky` (binary only): Newton's method on the exact Hessian, quadratic convergence in a
   * handful of iterations; each costs a pass adding every row's products of nonzero features and a
   * d^3 / 6 factorisation (d = features + 1), cheap with few features or one-hot ones. `lbfgs`:
   * L-BFGS, many cheap iterations, for many features (text) and multinomial problems. `auto` (default):
   * newton-cholesky for binary problems where its iterations cost less than ~100 of L-BFGS's (see
   * `chooseSolver`), else lbfgs.
   */
  solver: z.enum(['auto', 'newton-cholesky', 'lbfgs']).default('auto'),
  maxIter: z.number().int().positive().default(1000),
  /**
   * Stop when an iteration changes no training row's score by more than this. In log-odds, 1e-4 moves
   * a probability by at most 2.5e-5: below the fourth decimal of any metric, and far below the noise
   * of any threshold. Newton converges quadratically, so what is left after such a step is ~1e-8; L-BFGS
   * converges linearly, and what is left can be 10-20 times its last step (measured on
   * bench/onehot-lr). 0 turns the test off: the fit stops on `tol` (and, for L-BFGS, `ftol`), as Kiln
   * fitted before this setting existed. The old default fit, to the optimum by L-BFGS, is
   * `{ solver: 'lbfgs', scoreTol: 0 }`.
   */
  scoreTol: z.number().nonnegative().default(1e-4),
  /**
   * Stop when the max-abs gradient of the mean-scaled objective is <= tol (as scikit-learn's lbfgs).
   * Along directions the data barely determine (collinear columns) the coefficient error is up to
   * tol * C * sum_i s_i, so the default is tight: scikit-learn's 1e-4 leaves coefficients 0.4 from the
   * optimum on toon-propensity (20,000 rows, collinear usage totals); 1e-8 gets within 3e-5.
   */
  tol: z.number().positive().default(1e-8),
  /**
   * L-BFGS only: stop when an iteration lowers the (summed) objective by less than this relative
   * amount. scipy's default, 2.220446049250313e-9, is what scikit-learn before 1.3 used: set it (with
   * `solver: 'lbfgs'`) to reproduce models fitted there, which stop short of the optimum.
   */
  ftol: z
    .number()
    .positive()
    .default(64 * Number.EPSILON),
});

export type LogisticRegressionParams = z.infer<typeof logisticRegressionParams>;

export const LOGISTIC_REGRESSION = 'logistic_regression';

export const logisticRegression: ModelFamily<LogisticRegressionParams> = {
  name: LOGISTIC_REGRESSION,
  description: 'L2-regularised logistic regression (binary and multinomial), L-BFGS, dense or sparse input',
  params: logisticRegressionParams,
  tasks: ['binary', 'multiclass'],
  capabilities: {
    inputs: ['dense', 'sparse'],
    missingValues: false,
    sampleWeights: true,
    warmStart: true,
    threads: false,
  },
  fit: async (X, y, options) =>
    fitLogisticRegression(matrixInput(X, LOGISTIC_REGRESSION), classCodes(y, LOGISTIC_REGRESSION), options),
  load: (saved, context) => loadLogisticRegression(saved, context.classes),
  exportOnnx(saved, g, features, context) {
    // Logits, sigmoid or softmax (as predict), then the fitted classes placed among the package's.
    const model = loadLogisticRegression(saved, context.classes);
    const kk = model.intercept.length;
    const logits = linearScoresOnnx(g, features, featureMajor(model.coef, kk), model.intercept);
    const proba =
      kk === 1 ? binaryColumnsOnnx(g, g.node('Sigmoid', [logits])) : g.node('Softmax', [logits], { axis: 1 });
    return placeClassesOnnx(g, proba, model.fittedClasses, context.classes.length);
  },
};

/** A fitted model; `coef` is row-major k' x p (k' = 1 for binary, the positive class being the second). */
export class LogisticRegressionModel implements FittedModel {
  readonly family = LOGISTIC_REGRESSION;
  private readonly z: Float64Array;

  constructor(
    readonly classes: readonly string[],
    /** Indices into `classes` of the classes seen at fit, in coefficient order. */
    readonly fittedClasses: readonly number[],
    readonly coef: Float64Array,
    readonly intercept: Float64Array,
    private readonly meta: Record<string, unknown>,
    private readonly diag: Record<string, number | boolean | string>,
  ) {
    this.z = new Float64Array(intercept.length);
  }

  get features(): number {
    return this.coef.length / this.intercept.length;
  }

  predict(input: ModelInput): Float64Array {
    const X = matrixInput(input, LOGISTIC_REGRESSION);
    const p = this.features;
    if (X.cols !== p)
      throw new Error(`logistic_regression: model has ${p} features, input matrix has ${X.cols} columns`);
    const k = this.classes.length;
    const out = new Float64Array(X.rows * k);
    const kk = this.intercept.length;
    const z = this.z;
    const active = this.fittedClasses;
    for (let i = 0; i < X.rows; i++) {
      linearScores(X, i, this.coef, this.intercept, kk, p, z);
      const o = i * k;
      if (kk === 1) {
        const s = z[0];
        const pos = s >= 0 ? 1 / (1 + Math.exp(-s)) : Math.exp(s) / (1 + Math.exp(s));
        out[o + active[0]] = 1 - pos;
        out[o + active[1]] = pos;
      } else {
        let zmax = Number.NEGATIVE_INFINITY;
        for (let c = 0; c < kk; c++) if (z[c] > zmax) zmax = z[c];
        let sum = 0;
        for (let c = 0; c < kk; c++) {
          z[c] = Math.exp(z[c] - zmax);
          sum += z[c];
        }
        for (let c = 0; c < kk; c++) out[o + active[c]] = z[c] / sum;
      }
    }
    return out;
  }

  save(): SavedModel {
    const kk = this.intercept.length;
    return {
      meta: { ...this.meta, fittedClasses: this.fittedClasses.map((c) => this.classes[c]) },
      tensors: {
        coef: { shape: [kk, this.features], data: Float64Array.from(this.coef) },
        intercept: { shape: [kk], data: Float64Array.from(this.intercept) },
      },
    };
  }

  diagnostics(): Record<string, number | boolean | string> {
    return { ...this.diag };
  }
}

export async function fitLogisticRegression(
  X: Matrix,
  y: Int32Array,
  options: FitOptions<LogisticRegressionParams>,
): Promise<LogisticRegressionModel> {
  const params = logisticRegressionParams.parse(options.params);
  const { classes } = options;
  const n = X.rows;
  const p = X.cols;
  validateClassifierInputs(X, y, classes, options.sampleWeight, LOGISTIC_REGRESSION);

  const counts = new Float64Array(classes.length);
  for (let i = 0; i < n; i++) counts[y[i]]++;
  const active: number[] = [];
  for (let c = 0; c < classes.length; c++) if (counts[c] > 0) active.push(c);
  if (active.length < 2) {
    throw new Error(
      `logistic_regression: needs at least 2 classes in y, got ${active.length} (${active.map((c) => classes[c]).join(', ') || 'no rows'})`,
    );
  }
  if (active.length < classes.length) {
    const missing = classes.filter((_, c) => counts[c] === 0);
    options.warn?.(
      `logistic_regression: classes with no training rows get probability 0: ${missing.join(', ')}`,
    );
  }

  const classWeight = resolveClassWeights(
    params.classWeight,
    classes,
    counts,
    active.length,
    n,
    LOGISTIC_REGRESSION,
  );
  const weights = new Float64Array(n);
  for (let i = 0; i < n; i++)
    weights[i] = (options.sampleWeight ? options.sampleWeight[i] : 1) * classWeight[y[i]];
  const binary = active.length === 2;
  const kk = binary ? 1 : active.length;
  const code = new Int32Array(classes.length);
  active.forEach((c, index) => {
    code[c] = index;
  });
  // Index among the classes present; for binary that is 0/1 with the second class positive.
  const labels = Int32Array.from(y, (c) => code[c]);

  const objective = new LogisticObjective(X, labels, weights, kk, params.fitIntercept, params.C);
  const x0 = new Float64Array(kk * p + (params.fitIntercept ? kk : 0));
  const start = options.warmStart;
  const startClasses = start?.meta.fittedClasses as string[] | undefined;
  if (
    start?.tensors.coef?.shape.join() === `${kk},${p}` &&
    startClasses?.join('\u0000') === active.map((c) => classes[c]).join('\u0000')
  ) {
    objective.pack(start.tensors.coef.data, start.tensors.intercept.data, x0);
  }
  const solver = chooseSolver(params.solver, { rows: n, cols: p, nonzeros: objective.nonzeros }, kk);
  const control = fitControl(options, 'iterations', params.maxIter);
  control.check();
  const steps = scoreSteps(objective, params.scoreTol);
  let result: NewtonResult;
  // The objectives minimised are the mean-scaled one for Newton (`tol` bounds its gradient) and, for
  // L-BFGS, the summed one, as scipy sees it in scikit-learn: `ftol` then means what it means there.
  const scale = solver === 'lbfgs' ? objective.scale : 1;
  const evaluate = (x: Float64Array, grad: Float64Array) => steps.evaluated(objective.evaluate(x, grad));
  if (solver === 'newton-cholesky') {
    result = await minimizeNewtonCholesky({ evaluate, hessian: (H) => objective.hessian(H) }, x0, {
      maxIter: params.maxIter,
      gtol: params.tol,
      stop: steps.stop,
      onIteration: (iteration, value) => control.tick(iteration, value),
    });
  } else {
    result = await minimizeLbfgs(
      (x, grad) => {
        const value = evaluate(x, grad) * scale;
        for (let j = 0; j < grad.length; j++) grad[j] *= scale;
        return value;
      },
      x0,
      {
        maxIter: params.maxIter,
        gtol: params.tol * scale,
        ftol: params.ftol,
        stop: steps.stop,
        onIteration: (iteration, value) => control.tick(iteration, value),
      },
    );
  }

  const { coef, intercept } = objective.unpack(result.x);
  // Softmax ignores a common shift of the unpenalised multinomial intercepts; they come out centred
  // because they start at zero and their gradient always sums to zero.
  const objectiveValue = (result.value * objective.scale) / scale;
  const gradientNorm = result.gradientNorm / scale;
  if (!result.converged) {
    options.warn?.(
      `logistic_regression (${solver}) did not converge after ${result.iterations} iterations: max |gradient| ${gradientNorm.toExponential(3)} > tol ${params.tol} (${result.message}); ${convergenceAdvice(X)}`,
    );
  }
  const diag = {
    solver,
    iterations: result.iterations,
    functionEvaluations: result.functionEvaluations,
    converged: result.converged,
    objective: objectiveValue,
    gradientNorm,
    message: result.message,
  };
  const meta = {
    params,
    classes: [...classes],
    solver,
    iterations: result.iterations,
    converged: result.converged,
    objective: objectiveValue,
  };
  return new LogisticRegressionModel(classes, active, coef, intercept, meta, diag);
}

/**
 * The solver `auto` picks: Newton-Cholesky for a binary problem when its estimated work, about 8
 * iterations each costing a Hessian pass (a row's m nonzero features, intercept included, make
 * m (m + 1) / 2 products) and a d^3 / 6 factorisation, is below that of 100 L-BFGS iterations (about
 * 2.5 passes over the nonzeros each: an evaluation and a few line-search trials). L-BFGS took 180 to
 * 460 iterations on toon-propensity and bench/onehot-lr, where Newton took 5 to 10 and fitted 3-8 times
 * faster; counting 100 leans to L-BFGS where the two are close.
 */
export function chooseSolver(
  requested: LogisticRegressionParams['solver'],
  X: { rows: number; cols: number; nonzeros: number },
  kk: number,
): 'newton-cholesky' | 'lbfgs' {
  if (requested === 'newton-cholesky' && kk > 1)
    throw new Error(
      `logistic_regression: solver newton-cholesky solves binary problems; this one has ${kk} classes (use lbfgs or auto)`,
    );
  if (requested !== 'auto') return requested;
  if (kk > 1) return 'lbfgs';
  const d = X.cols + 1;
  const m = X.nonzeros / X.rows + 1;
  const newton = 8 * (X.rows * ((m * (m + 1)) / 2) + d ** 3 / 6);
  const lbfgs = 100 * 2.5 * X.rows * m;
  return newton < lbfgs ? 'newton-cholesky' : 'lbfgs';
}

/**
 * The `scoreTol` test: the objective keeps every row's scores at its last evaluation, which both
 * solvers leave at the point they accept; `stop` compares them with those at the previous point.
 */
function scoreSteps(objective: LogisticObjective, scoreTol: number) {
  let previous: Float64Array | undefined;
  return {
    /** Passes an evaluation's value through; the first one (the starting point) sets the reference. */
    evaluated(value: number): number {
      previous ??= Float64Array.from(objective.scores);
      return value;
    },
    stop: (): string | undefined => {
      const scores = objective.scores;
      let change = 0;
      for (let i = 0; i < scores.length; i++) change = Math.max(change, Math.abs(scores[i] - previous![i]));
      previous!.set(scores);
      return scoreTol > 0 && change <= scoreTol
        ? `no score changed by more than scoreTol (largest change ${change.toExponential(2)})`
        : undefined;
    },
  };
}

export function loadLogisticRegression(
  saved: SavedModel,
  classes: readonly string[],
): LogisticRegressionModel {
  const coefT = saved.tensors.coef;
  const interceptT = saved.tensors.intercept;
  if (!coefT || !interceptT)
    throw new Error('logistic_regression: saved model needs tensors "coef" and "intercept"');
  const [kk, p] = coefT.shape;
  if (coefT.shape.length !== 2 || coefT.data.length !== kk * p) {
    throw new Error(
      `logistic_regression: tensor "coef" has shape [${coefT.shape}] and ${coefT.data.length} values`,
    );
  }
  if (interceptT.shape.length !== 1 || interceptT.shape[0] !== kk || interceptT.data.length !== kk) {
    throw new Error(
      `logistic_regression: tensor "intercept" must have shape [${kk}], got [${interceptT.shape}]`,
    );
  }
  const names = (saved.meta.fittedClasses as string[] | undefined) ?? [...classes];
  const fitted = names.map((name) => {
    const index = classes.indexOf(name);
    if (index < 0)
      throw new Error(`logistic_regression: saved class "${name}" is not among [${classes.join(', ')}]`);
    return index;
  });
  if (fitted.length !== (kk === 1 ? 2 : kk)) {
    throw new Error(`logistic_regression: ${fitted.length} fitted classes do not match coef with ${kk} rows`);
  }
  const diag: Record<string, number | boolean | string> = {};
  for (const key of ['iterations', 'converged', 'objective'] as const) {
    const v = saved.meta[key];
    if (typeof v === 'number' || typeof v === 'boolean') diag[key] = v;
  }
  const { fittedClasses: _, ...meta } = saved.meta;
  return new LogisticRegressionModel(
    classes,
    fitted,
    Float64Array.from(coefT.data),
    Float64Array.from(interceptT.data),
    meta,
    diag,
  );
}
