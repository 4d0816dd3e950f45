import { z } from 'zod';
import { type CsrMatrix, denseToCsr, type Matrix } from '../features/matrix.js';
import { Random } from '../util/random.js';
import type { FitOptions, FittedModel, ModelFamily, SavedModel } from './family.js';
import { classWeightParam, resolveClassWeights, validateClassifierInputs } from './logistic-regression.js';

/**
 * Linear support vector classifier as scikit-learn's LinearSVC (liblinear, dual solvers): one-vs-rest
 * binary problems
 *   min_w 0.5 ||w||^2 + sum_i C_i loss(y_i w.x_i),  loss = max(0, 1 - m)^2 (squared hinge) or max(0, 1 - m)
 * where, with an intercept, x_i carries an extra feature `interceptScaling` whose weight is penalised
 * like the others (liblinear's bias term), so results match LinearSVC. C_i = C x sample weight, times
 * the class weight of the positive class for its positive rows; the negative rows of a one-vs-rest
 * problem keep plain C (liblinear's Cp/Cn), and with two classes each side takes its own class's weight.
 *
 * Probabilities (`calibration: 'sigmoid'`) follow scikit-learn's CalibratedClassifierCV(method='sigmoid',
 * ensemble=False): decision values of every row are predicted out of fold by SVMs trained on the other
 * `calibrationFolds - 1` stratified folds, one Platt sigmoid per class is fitted on them, and the SVM is
 * then refitted once on all rows, so the model stays a single linear SVM plus 2 numbers per class. The
 * class sigmoids are normalised to sum to 1, as scikit-learn does for one-vs-rest. With 'none' the
 * probabilities are the softmax of the decision values: an uncalibrated ranking, not probabilities.
 *
 * `warmStart` is ignored: each fit starts from alpha = 0, as liblinear does.
 */
export const linearSvmParams = z.strictObject({
  /** Inverse regularisation strength. */
  C: z.number().positive().default(1),
  loss: z.enum(['squared_hinge', 'hinge']).default('squared_hinge'),
  classWeight: classWeightParam,
  fitIntercept: z.boolean().default(true),
  /** Value of the constant feature that carries the (penalised) intercept. */
  interceptScaling: z.number().positive().default(1),
  /** liblinear's stopping rule: max - min projected gradient of the dual over a pass <= tol. */
  tol: z.number().positive().default(1e-4),
  /** Passes over the rows per binary problem. */
  maxIter: z.number().int().positive().default(1000),
  calibration: z.enum(['sigmoid', 'none']).default('sigmoid'),
  calibrationFolds: z.number().int().min(2).default(3),
});

export type LinearSvmParams = z.infer<typeof linearSvmParams>;
export type SvmLoss = LinearSvmParams['loss'];

export const LINEAR_SVM = 'linear_svm';

export const linearSvm: ModelFamily<LinearSvmParams> = {
  name: LINEAR_SVM,
  description:
    'Linear SVM (one-vs-rest, liblinear dual coordinate descent), class weights, Platt-calibrated probabilities, dense or sparse input',
  params: linearSvmParams,
  supportsSparse: true,
  fit: fitLinearSvm,
  load: loadLinearSvm,
};

export interface DualSolveOptions {
  loss: SvmLoss;
  tol: number;
  maxIter: number;
  rng: Random;
}

/**
 * Dual coordinate descent for one binary L2-regularised SVM (Hsieh et al., ICML 2008; liblinear's
 * solve_l2r_l1l2_svc with shrinking):
 *   min_alpha 0.5 alpha' (Q + D) alpha - sum alpha,  0 <= alpha_i <= U_i,  Q_ij = y_i y_j x_i.x_j
 * with U_i = C_i, D_ii = 0 (hinge) or U_i = inf, D_ii = 1 / (2 C_i) (squared hinge), and w = sum
 * alpha_i y_i x_i kept up to date. One instance serves every binary problem on the same X: the squared
 * row norms are computed once and the buffers reused. Dense input is copied to CSR once, so one tight
 * loop serves both and they give identical results.
 */
export class DualCoordinateDescent {
  /** The last solution: X.cols weights, then the weight of the bias feature (intercept = bias * w[cols]). */
  readonly w: Float64Array;
  /** The last solve's dual variables by row of X (0 for rows outside it). */
  readonly alpha: Float64Array;
  readonly X: CsrMatrix;
  /** ||x_i||^2 + bias^2. */
  private readonly sqNorms: Float64Array;
  private readonly qd: Float64Array;
  private readonly diag: Float64Array;
  private readonly upper: Float64Array;
  private readonly index: Int32Array;

  /** @param bias the constant feature appended to every row (interceptScaling), 0 for none */
  constructor(
    X: Matrix,
    readonly bias: number,
  ) {
    this.X = X.kind === 'csr' ? X : denseToCsr(X);
    const n = X.rows;
    this.w = new Float64Array(X.cols + 1);
    this.alpha = new Float64Array(n);
    this.sqNorms = new Float64Array(n);
    this.qd = new Float64Array(n);
    this.diag = new Float64Array(n);
    this.upper = new Float64Array(n);
    this.index = new Int32Array(n);
    const { indptr, data } = this.X;
    for (let i = 0; i < n; i++) {
      let s = bias * bias;
      for (let q = indptr[i]; q < indptr[i + 1]; q++) s += data[q] * data[q];
      this.sqNorms[i] = s;
    }
  }

  /** x_i . w, the bias feature included, for the last solution. */
  decision(i: number): number {
    const { indptr, indices, data } = this.X;
    return sparseDot(indices, data, indptr[i], indptr[i + 1], this.w) + this.bias * this.w[this.X.cols];
  }

  /**
   * Solves the problem on `rows` (rows with cost 0 take no part, as liblinear drops zero weights).
   * @param y +1 / -1 by row of X
   * @param cost C_i by row of X
   * @returns outer passes made, and whether the stopping rule was met before maxIter
   */
  solve(
    rows: ArrayLike<number>,
    y: Int8Array,
    cost: Float64Array,
    options: DualSolveOptions,
  ): { iterations: number; converged: boolean } {
    const { w, alpha, qd, diag, upper, index, bias } = this;
    const { cols: p, indptr, indices, data } = this.X;
    const hinge = options.loss === 'hinge';
    const { tol, maxIter, rng } = options;
    w.fill(0);
    alpha.fill(0);
    let l = 0;
    for (let r = 0; r < rows.length; r++) {
      const i = rows[r];
      const ci = cost[i];
      if (!(ci > 0)) continue;
      diag[i] = hinge ? 0 : 0.5 / ci;
      upper[i] = hinge ? ci : Number.POSITIVE_INFINITY;
      qd[i] = this.sqNorms[i] + diag[i];
      index[l++] = i;
    }
    // `below` draws once per number but needs n < 2^21.
    const draw = l < 2_097_152 ? (m: number) => rng.below(m) : (m: number) => rng.int(m);

    let active = l;
    let pgMaxOld = Number.POSITIVE_INFINITY;
    let pgMinOld = Number.NEGATIVE_INFINITY;
    let iterations = 0;
    let converged = false;
    while (iterations < maxIter) {
      let pgMaxNew = Number.NEGATIVE_INFINITY;
      let pgMinNew = Number.POSITIVE_INFINITY;
      for (let s = 0; s < active - 1; s++) {
        const j = s + draw(active - s);
        const t = index[s];
        index[s] = index[j];
        index[j] = t;
      }
      for (let s = 0; s < active; s++) {
        const i = index[s];
        const start = indptr[i];
        const end = indptr[i + 1];
        const yi = y[i];
        const ai = alpha[i];
        const ui = upper[i];
        const g = (sparseDot(indices, data, start, end, w) + bias * w[p]) * yi - 1 + ai * diag[i];

        let pg = 0;
        if (ai === 0) {
          if (g > pgMaxOld) {
            // At the lower bound and pushed further out: leave it out until the final check.
            active--;
            index[s] = index[active];
            index[active] = i;
            s--;
            continue;
          }
          if (g < 0) pg = g;
        } else if (ai === ui) {
          if (g < pgMinOld) {
            active--;
            index[s] = index[active];
            index[active] = i;
            s--;
            continue;
          }
          if (g > 0) pg = g;
        } else {
          pg = g;
        }
        if (pg > pgMaxNew) pgMaxNew = pg;
        if (pg < pgMinNew) pgMinNew = pg;

        if (Math.abs(pg) > 1e-12) {
          const next = Math.min(Math.max(ai - g / qd[i], 0), ui);
          alpha[i] = next;
          const d = (next - ai) * yi;
          sparseAxpy(indices, data, start, end, d, w);
          w[p] += d * bias;
        }
      }
      iterations++;
      if (pgMaxNew - pgMinNew <= tol) {
        if (active === l) {
          converged = true;
          break;
        }
        // Converged on the shrunk set: check every row again before stopping.
        active = l;
        pgMaxOld = Number.POSITIVE_INFINITY;
        pgMinOld = Number.NEGATIVE_INFINITY;
        continue;
      }
      pgMaxOld = pgMaxNew <= 0 ? Number.POSITIVE_INFINITY : pgMaxNew;
      pgMinOld = pgMinNew >= 0 ? Number.NEGATIVE_INFINITY : pgMinNew;
    }
    return { iterations, converged };
  }
}

/**
 * sum_q data[q] * w[indices[q]] over [start, end). Four accumulators: V8 does not reorder the additions,
 * and one chain of dependent adds runs at a third of the speed on TF-IDF rows.
 */
function sparseDot(
  indices: Int32Array,
  data: Float64Array,
  start: number,
  end: number,
  w: Float64Array,
): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let q = start;
  for (; q + 7 < end; q += 8) {
    s0 += data[q] * w[indices[q]] + data[q + 4] * w[indices[q + 4]];
    s1 += data[q + 1] * w[indices[q + 1]] + data[q + 5] * w[indices[q + 5]];
    s2 += data[q + 2] * w[indices[q + 2]] + data[q + 6] * w[indices[q + 6]];
    s3 += data[q + 3] * w[indices[q + 3]] + data[q + 7] * w[indices[q + 7]];
  }
  for (; q < end; q++) s0 += data[q] * w[indices[q]];
  return s0 + s1 + (s2 + s3);
}

/** w[indices[q]] += a * data[q] over [start, end), unrolled by four (repeated indices still add in order). */
function sparseAxpy(
  indices: Int32Array,
  data: Float64Array,
  start: number,
  end: number,
  a: number,
  w: Float64Array,
): void {
  let q = start;
  for (; q + 3 < end; q += 4) {
    w[indices[q]] += a * data[q];
    w[indices[q + 1]] += a * data[q + 1];
    w[indices[q + 2]] += a * data[q + 2];
    w[indices[q + 3]] += a * data[q + 3];
  }
  for (; q < end; q++) w[indices[q]] += a * data[q];
}

/** A fitted model; decision columns follow `fittedClasses` (one column for two classes, the second positive). */
export class LinearSvmModel implements FittedModel {
  readonly family = LINEAR_SVM;

  /**
   * @param weights feature-major p x k' (the k' weights of a feature side by side, so scoring a sparse
   *   row reads each nonzero's weights from one cache line)
   * @param calibration Platt parameters per decision column, P = 1 / (1 + exp(a f + b)); null: softmax
   */
  constructor(
    readonly classes: readonly string[],
    /** Indices into `classes` of the classes seen at fit. */
    readonly fittedClasses: readonly number[],
    private readonly weights: Float64Array,
    readonly intercept: Float64Array,
    readonly calibration: { a: Float64Array; b: Float64Array } | null,
    private readonly meta: Record<string, unknown>,
    private readonly diag: Record<string, number | boolean | string>,
  ) {}

  get features(): number {
    return this.weights.length / this.intercept.length;
  }

  /** Row-major n x k' decision values x.w_c + b_c, columns in `fittedClasses` order (k' = 1 if binary). */
  decisionFunction(X: Matrix): Float64Array {
    const p = this.features;
    if (X.cols !== p)
      throw new Error(`${LINEAR_SVM}: model has ${p} features, input matrix has ${X.cols} columns`);
    const kk = this.intercept.length;
    const { weights, intercept } = this;
    const out = new Float64Array(X.rows * kk);
    // Zeros skipped and features in order either way, so dense and CSR rows give identical sums.
    const add = (o: number, j: number, v: number) => {
      const wo = j * kk;
      for (let c = 0; c < kk; c++) out[o + c] += v * weights[wo + c];
    };
    for (let i = 0; i < X.rows; i++) {
      const o = i * kk;
      out.set(intercept, o);
      if (X.kind === 'csr') {
        for (let q = X.indptr[i]; q < X.indptr[i + 1]; q++)
          if (X.data[q] !== 0) add(o, X.indices[q], X.data[q]);
      } else {
        for (let j = 0, q = i * p; j < p; j++, q++) if (X.data[q] !== 0) add(o, j, X.data[q]);
      }
    }
    return out;
  }

  predictProba(X: Matrix): Float64Array {
    const f = this.decisionFunction(X);
    const kk = this.intercept.length;
    const k = this.classes.length;
    const active = this.fittedClasses;
    const out = new Float64Array(X.rows * k);
    const z = new Float64Array(kk);
    for (let i = 0; i < X.rows; i++) {
      const o = i * k;
      for (let c = 0; c < kk; c++) z[c] = f[i * kk + c];
      if (kk === 1) {
        const pos = this.calibration
          ? platt(z[0], this.calibration.a[0], this.calibration.b[0])
          : sigmoid(z[0]);
        out[o + active[0]] = 1 - pos;
        out[o + active[1]] = pos;
        continue;
      }
      let sum = 0;
      if (this.calibration) {
        const { a, b } = this.calibration;
        for (let c = 0; c < kk; c++) {
          z[c] = platt(z[c], a[c], b[c]);
          sum += z[c];
        }
      } else {
        let zmax = Number.NEGATIVE_INFINITY;
        for (let c = 0; c < kk; c++) if (z[c] > zmax) zmax = z[c];
        for (let c = 0; c < kk; c++) {
          z[c] = Math.exp(z[c] - zmax);
          sum += z[c];
        }
      }
      // Every sigmoid can underflow to 0 far from all classes: uniform then, as scikit-learn.
      for (let c = 0; c < kk; c++) out[o + active[c]] = sum > 0 ? z[c] / sum : 1 / kk;
    }
    return out;
  }

  save(): SavedModel {
    const kk = this.intercept.length;
    const p = this.features;
    const coef = new Float64Array(kk * p);
    for (let j = 0; j < p; j++) for (let c = 0; c < kk; c++) coef[c * p + j] = this.weights[j * kk + c];
    const tensors: SavedModel['tensors'] = {
      coef: { shape: [kk, p], data: coef },
      intercept: { shape: [kk], data: Float64Array.from(this.intercept) },
    };
    if (this.calibration) {
      tensors.calibration_a = { shape: [kk], data: Float64Array.from(this.calibration.a) };
      tensors.calibration_b = { shape: [kk], data: Float64Array.from(this.calibration.b) };
    }
    return { meta: { ...this.meta, fittedClasses: this.fittedClasses.map((c) => this.classes[c]) }, tensors };
  }

  diagnostics(): Record<string, number | boolean | string> {
    return { ...this.diag };
  }
}

export function fitLinearSvm(X: Matrix, y: Int32Array, options: FitOptions<LinearSvmParams>): LinearSvmModel {
  const params = linearSvmParams.parse(options.params);
  const { classes, sampleWeight } = options;
  const n = X.rows;
  validateClassifierInputs(X, y, classes, sampleWeight, LINEAR_SVM);

  const counts = new Float64Array(classes.length);
  for (let i = 0; i < n; i++) counts[y[i]]++;
  const active: number[] = [];
  for (let c = 0; c < classes.length; c++) if (counts[c] > 0) active.push(c);
  if (active.length < 2) {
    throw new Error(
      `${LINEAR_SVM}: needs at least 2 classes in y, got ${active.length} (${active.map((c) => classes[c]).join(', ') || 'no rows'})`,
    );
  }
  if (active.length < classes.length) {
    const missing = classes.filter((_, c) => counts[c] === 0);
    options.warn?.(`${LINEAR_SVM}: classes with no training rows get probability 0: ${missing.join(', ')}`);
  }
  const classWeight = resolveClassWeights(params.classWeight, classes, counts, active.length, n, LINEAR_SVM);
  const kk = active.length === 2 ? 1 : active.length;
  const solver = new DualCoordinateDescent(X, params.fitIntercept ? params.interceptScaling : 0);
  const problems = new OneVsRest(solver, y, active, classWeight, params, sampleWeight);

  // Separate streams, drawn in a fixed order, so the final SVM is the same with or without calibration.
  const base = new Random(options.seed);
  const finalRng = base.fork(0);
  let unconverged = 0;

  let calibration: { a: Float64Array; b: Float64Array } | null = null;
  let calibrationIterations = 0;
  if (params.calibration === 'sigmoid') {
    const k = params.calibrationFolds;
    const small = active.filter((c) => counts[c] < k).map((c) => classes[c]);
    if (small.length > 0) {
      options.warn?.(
        `${LINEAR_SVM}: classes with fewer rows than the ${k} calibration folds are calibrated on decision values of SVMs that never saw them: ${small.join(', ')}`,
      );
    }
    const fold = stratifiedFolds(y, classes.length, k, base.fork(1));
    const outOfFold = new Float64Array(n * kk);
    for (let f = 0; f < k; f++) {
      const train: number[] = [];
      const valid: number[] = [];
      for (let i = 0; i < n; i++) (fold[i] === f ? valid : train).push(i);
      const stats = problems.fit(Int32Array.from(train), base.fork(2 + f), (column) => {
        for (const i of valid) outOfFold[i * kk + column] = solver.decision(i);
      });
      calibrationIterations += stats.iterations.reduce((a, b) => a + b, 0);
      unconverged += stats.unconverged;
    }
    calibration = { a: new Float64Array(kk), b: new Float64Array(kk) };
    const values = new Float64Array(n);
    const positive = new Uint8Array(n);
    for (let column = 0; column < kk; column++) {
      const pos = kk === 1 ? active[1] : active[column];
      for (let i = 0; i < n; i++) {
        values[i] = outOfFold[i * kk + column];
        positive[i] = y[i] === pos ? 1 : 0;
      }
      const fit = fitPlattSigmoid(values, positive, sampleWeight);
      calibration.a[column] = fit.a;
      calibration.b[column] = fit.b;
    }
  }

  const p = X.cols;
  const weights = new Float64Array(p * kk);
  const intercept = new Float64Array(kk);
  const all = new Int32Array(n);
  for (let i = 0; i < n; i++) all[i] = i;
  const final = problems.fit(all, finalRng, (column, w) => {
    for (let j = 0; j < p; j++) weights[j * kk + column] = w[j];
    intercept[column] = w[p] * solver.bias;
  });
  unconverged += final.unconverged;
  if (unconverged > 0) {
    options.warn?.(
      `${LINEAR_SVM}: ${unconverged} binary problem(s) reached maxIter (${params.maxIter}) before the projected-gradient gap fell to tol ${params.tol}; raise maxIter or tol, lower C, or scale the features`,
    );
  }
  const converged = final.unconverged === 0;
  const meta = {
    params,
    classes: [...classes],
    iterations: final.iterations,
    converged,
  };
  const diag = {
    iterations: Math.max(...final.iterations),
    iterationsTotal: final.iterations.reduce((a, b) => a + b, 0),
    converged,
    binaryProblems: kk,
    calibration: params.calibration,
    calibrationIterations,
  };
  return new LinearSvmModel(classes, active, weights, intercept, calibration, meta, diag);
}

export function loadLinearSvm(saved: SavedModel, classes: readonly string[]): LinearSvmModel {
  const { coef, intercept, calibration_a: ta, calibration_b: tb } = saved.tensors;
  if (!coef || !intercept) throw new Error(`${LINEAR_SVM}: saved model needs tensors "coef" and "intercept"`);
  const [kk, p] = coef.shape;
  if (coef.shape.length !== 2 || coef.data.length !== kk * p)
    throw new Error(`${LINEAR_SVM}: tensor "coef" has shape [${coef.shape}] and ${coef.data.length} values`);
  for (const [name, t] of [
    ['intercept', intercept],
    ['calibration_a', ta],
    ['calibration_b', tb],
  ] as const) {
    if (t && (t.shape.length !== 1 || t.shape[0] !== kk || t.data.length !== kk))
      throw new Error(`${LINEAR_SVM}: tensor "${name}" must have shape [${kk}], got [${t.shape}]`);
  }
  // The params say whether it was calibrated; a model saved without them, by its tensors.
  const declared = (saved.meta.params as { calibration?: unknown } | undefined)?.calibration;
  const calibrated = declared === undefined ? Boolean(ta || tb) : declared === 'sigmoid';
  if (calibrated && (!ta || !tb))
    throw new Error(
      `${LINEAR_SVM}: a sigmoid-calibrated model needs tensors "calibration_a" and "calibration_b"`,
    );
  const names = (saved.meta.fittedClasses as string[] | undefined) ?? [...classes];
  const fitted = names.map((name) => {
    const index = classes.indexOf(name);
    if (index < 0)
      throw new Error(`${LINEAR_SVM}: saved class "${name}" is not among [${classes.join(', ')}]`);
    return index;
  });
  if (fitted.length !== (kk === 1 ? 2 : kk))
    throw new Error(`${LINEAR_SVM}: ${fitted.length} fitted classes do not match coef with ${kk} rows`);
  const weights = new Float64Array(p * kk);
  for (let c = 0; c < kk; c++) for (let j = 0; j < p; j++) weights[j * kk + c] = coef.data[c * p + j];
  const iterations = saved.meta.iterations;
  const diag: Record<string, number | boolean | string> = {
    calibration: calibrated ? 'sigmoid' : 'none',
    binaryProblems: kk,
  };
  if (Array.isArray(iterations) && iterations.length > 0) diag.iterations = Math.max(...iterations);
  if (typeof saved.meta.converged === 'boolean') diag.converged = saved.meta.converged;
  const { fittedClasses: _, ...meta } = saved.meta;
  return new LinearSvmModel(
    classes,
    fitted,
    weights,
    Float64Array.from(intercept.data),
    calibrated && ta && tb ? { a: Float64Array.from(ta.data), b: Float64Array.from(tb.data) } : null,
    meta,
    diag,
  );
}

/** The k' binary problems of a fit, solved one after the other on the same buffers. */
class OneVsRest {
  private readonly sign: Int8Array;
  private readonly cost: Float64Array;

  constructor(
    private readonly solver: DualCoordinateDescent,
    private readonly y: Int32Array,
    private readonly active: readonly number[],
    private readonly classWeight: Float64Array,
    private readonly params: LinearSvmParams,
    private readonly sampleWeight: Float64Array | undefined,
  ) {
    this.sign = new Int8Array(y.length);
    this.cost = new Float64Array(y.length);
  }

  /** Solves every problem on `rows`; `onSolved` reads the column's weights before the next solve. */
  fit(
    rows: Int32Array,
    rng: Random,
    onSolved: (column: number, w: Float64Array) => void,
  ): { iterations: number[]; unconverged: number } {
    const { y, active, classWeight, params, sampleWeight, sign, cost, solver } = this;
    const binary = active.length === 2;
    const columns = binary ? 1 : active.length;
    const iterations: number[] = [];
    let unconverged = 0;
    for (let column = 0; column < columns; column++) {
      const pos = binary ? active[1] : active[column];
      const cp = params.C * classWeight[pos];
      const cn = binary ? params.C * classWeight[active[0]] : params.C;
      for (const i of rows) {
        const positive = y[i] === pos;
        sign[i] = positive ? 1 : -1;
        cost[i] = (sampleWeight ? sampleWeight[i] : 1) * (positive ? cp : cn);
      }
      const result = solver.solve(rows, sign, cost, {
        loss: params.loss,
        tol: params.tol,
        maxIter: params.maxIter,
        rng: rng.fork(column),
      });
      iterations.push(result.iterations);
      if (!result.converged) unconverged++;
      onSolved(column, solver.w);
    }
    return { iterations, unconverged };
  }
}

/** Fold of each row: each class's rows shuffled, then dealt round-robin over the classes laid end to end. */
function stratifiedFolds(y: Int32Array, k: number, folds: number, rng: Random): Int32Array {
  const members: number[][] = Array.from({ length: k }, () => []);
  for (let i = 0; i < y.length; i++) members[y[i]].push(i);
  const fold = new Int32Array(y.length);
  let next = 0;
  for (const list of members) for (const i of rng.shuffle(list)) fold[i] = next++ % folds;
  return fold;
}

/**
 * Platt's sigmoid P(positive | f) = 1 / (1 + exp(a f + b)) by Newton's method with backtracking (Lin,
 * Lin & Weng 2007, as libsvm), on Platt's smoothed targets (N+ + 1) / (N+ + 2) and 1 / (N- + 2) with
 * the prior start b = log((N- + 1) / (N+ + 1)), as scikit-learn's _sigmoid_calibration; N are summed
 * sample weights.
 */
export function fitPlattSigmoid(
  f: Float64Array,
  positive: Uint8Array,
  sampleWeight?: Float64Array,
): { a: number; b: number } {
  const n = f.length;
  let prior1 = 0;
  let prior0 = 0;
  for (let i = 0; i < n; i++) {
    const s = sampleWeight ? sampleWeight[i] : 1;
    if (positive[i]) prior1 += s;
    else prior0 += s;
  }
  const hi = (prior1 + 1) / (prior1 + 2);
  const lo = 1 / (prior0 + 2);
  // libsvm's absolute gradient tolerance, for unit weights; scaled by the mean weight otherwise.
  const eps = 1e-5 * Math.max((prior0 + prior1) / Math.max(n, 1), Number.MIN_VALUE);
  const objective = (a: number, b: number): number => {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const t = positive[i] ? hi : lo;
      const z = a * f[i] + b;
      const s = sampleWeight ? sampleWeight[i] : 1;
      v += s * (z >= 0 ? t * z + Math.log1p(Math.exp(-z)) : (t - 1) * z + Math.log1p(Math.exp(z)));
    }
    return v;
  };
  let a = 0;
  let b = Math.log((prior0 + 1) / (prior1 + 1));
  let value = objective(a, b);
  for (let iteration = 0; iteration < 100; iteration++) {
    let g1 = 0;
    let g2 = 0;
    let h11 = 1e-12;
    let h22 = 1e-12;
    let h21 = 0;
    for (let i = 0; i < n; i++) {
      const z = a * f[i] + b;
      const e = Math.exp(-Math.abs(z));
      // p = 1 / (1 + exp(z)) and 1 - p, without overflow.
      const p = z >= 0 ? e / (1 + e) : 1 / (1 + e);
      const q = 1 - p;
      const s = sampleWeight ? sampleWeight[i] : 1;
      const d2 = s * p * q;
      const d1 = s * ((positive[i] ? hi : lo) - p);
      h11 += f[i] * f[i] * d2;
      h22 += d2;
      h21 += f[i] * d2;
      g1 += f[i] * d1;
      g2 += d1;
    }
    if (Math.abs(g1) < eps && Math.abs(g2) < eps) break;
    const det = h11 * h22 - h21 * h21;
    const da = -(h22 * g1 - h21 * g2) / det;
    const db = -(-h21 * g1 + h11 * g2) / det;
    const gd = g1 * da + g2 * db;
    let step = 1;
    while (step >= 1e-10) {
      const next = objective(a + step * da, b + step * db);
      if (next < value + 1e-4 * step * gd) {
        a += step * da;
        b += step * db;
        value = next;
        break;
      }
      step /= 2;
    }
    if (step < 1e-10) break;
  }
  return { a, b };
}

/** 1 / (1 + exp(a f + b)), without overflow. */
function platt(f: number, a: number, b: number): number {
  const z = a * f + b;
  return z >= 0 ? Math.exp(-z) / (1 + Math.exp(-z)) : 1 / (1 + Math.exp(z));
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}
