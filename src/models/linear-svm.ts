import { z } from 'zod';
import { denseToCsr, type Matrix, type ModelInput } from '../data/matrix.js';
import type { GraphBuilder as OnnxGraph } from '../onnx/graph.js';
import { Random } from '../util/random.js';
import type { FitOptions, FittedModel, ModelFamily, SavedModel } from './family.js';
import { fitControl } from './fit-control.js';
import {
  classCodes,
  classWeightParam,
  matrixInput,
  resolveClassWeights,
  validateClassifierInputs,
} from './linear-common.js';
import { binaryColumnsOnnx, linearScoresOnnx, placeClassesOnnx } from './linear-onnx.js';
import type { OvrTask } from './linear-svm-solver.js';
import { resolveThreads, shared, solveTask } from './linear-svm-threads.js';
import { fitPlattSigmoid, platt, sigmoid } from './platt.js';

export { DualCoordinateDescent, type DualSolveOptions } from './linear-svm-solver.js';

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
 * The binary problems (k' one-vs-rest problems, and k' per calibration fold) are independent: above a
 * size where it pays, they are solved on `threads` threads (linear-svm-threads.ts), each with its own
 * seeded generator, so the model is bit-identical whatever the thread count.
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
  /**
   * Threads solving the binary problems (overrides `model.threads`); default the KILN_THREADS environment
   * variable, else every core (os.availableParallelism()); 1 solves on the calling thread. Small fits
   * always use 1. Not recorded with the model: results do not depend on it.
   */
  threads: z.number().int().positive().optional(),
});

export type LinearSvmParams = z.infer<typeof linearSvmParams>;
export type SvmLoss = LinearSvmParams['loss'];

export const LINEAR_SVM = 'linear_svm';

export const linearSvm: ModelFamily<LinearSvmParams> = {
  name: LINEAR_SVM,
  description:
    'Linear SVM (one-vs-rest, liblinear dual coordinate descent), class weights, Platt-calibrated probabilities, dense or sparse input',
  params: linearSvmParams,
  tasks: ['binary', 'multiclass'],
  capabilities: {
    inputs: ['dense', 'sparse'],
    missingValues: false,
    sampleWeights: true,
    warmStart: false,
    threads: true,
  },
  fit: async (X, y, options) => fitLinearSvm(matrixInput(X, LINEAR_SVM), classCodes(y, LINEAR_SVM), options),
  load: (saved, context) => loadLinearSvm(saved, context.classes),
  exportOnnx(saved, g, features, context) {
    return loadLinearSvm(saved, context.classes).exportOnnx(g, features);
  },
};

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

  predict(input: ModelInput): Float64Array {
    const X = matrixInput(input, LINEAR_SVM);
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

  /**
   * `predict` as ONNX nodes reading the [N, p] double tensor X: decision values, then per column
   * Platt's sigmoid 1 / (1 + exp(a f + b)) = Sigmoid(-(a f + b)) normalised to sum 1 (uniform where
   * every sigmoid underflows to 0), or the softmax of the decision values without calibration; one
   * column and its complement for two classes; the fitted classes placed among the package's.
   */
  exportOnnx(g: OnnxGraph, X: string): string {
    const kk = this.intercept.length;
    const f = linearScoresOnnx(g, X, this.weights, this.intercept);
    const cal = this.calibration;
    const sigmoid = cal
      ? g.node('Sigmoid', [
          g.node('Neg', [
            g.node('Add', [
              g.node('Mul', [f, g.doubles(Array.from(cal.a), [1, kk])]),
              g.doubles(Array.from(cal.b), [1, kk]),
            ]),
          ]),
        ])
      : undefined;
    let proba: string;
    if (kk === 1) proba = binaryColumnsOnnx(g, sigmoid ?? g.node('Sigmoid', [f]));
    else if (sigmoid) {
      const sum = g.node('ReduceSum', [sigmoid, g.int64s([1], [1])], { keepdims: 1 });
      proba = g.node('Where', [
        g.node('Greater', [sum, g.doubles([0])]),
        g.node('Div', [sigmoid, sum]),
        g.doubles([1 / kk]),
      ]);
    } else proba = g.node('Softmax', [f], { axis: 1 });
    return placeClassesOnnx(g, proba, this.fittedClasses, this.classes.length);
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

export async function fitLinearSvm(
  X: Matrix,
  y: Int32Array,
  options: FitOptions<LinearSvmParams>,
): Promise<LinearSvmModel> {
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
  const calibrated = params.calibration === 'sigmoid';
  const k = params.calibrationFolds;
  if (calibrated) {
    const small = active.filter((c) => counts[c] < k).map((c) => classes[c]);
    if (small.length > 0) {
      options.warn?.(
        `${LINEAR_SVM}: classes with fewer rows than the ${k} calibration folds are calibrated on decision values of SVMs that never saw them: ${small.join(', ')}`,
      );
    }
  }

  // Every binary problem gets its own generator, drawn here in a fixed order from separate streams (the
  // final SVM's the same with or without calibration), so no result depends on the thread that solves it.
  const base = new Random(options.seed);
  const finalRng = base.fork(0);
  const fold = calibrated ? stratifiedFolds(y, classes.length, k, base.fork(1)) : null;
  const group: number[] = [];
  const column: number[] = [];
  const seed: number[] = [];
  const addGroup = (g: number, rng: Random) => {
    for (let c = 0; c < kk; c++) {
      group.push(g);
      column.push(c);
      seed.push(forkSeed(rng, c));
    }
  };
  addGroup(-1, finalRng);
  if (calibrated) for (let f = 0; f < k; f++) addGroup(f, base.fork(2 + f));

  const csr = X.kind === 'csr' ? X : denseToCsr(X);
  // Work ~ stored values (and the bias feature) x problems; a calibration fold's problems see (k - 1) / k
  // of the rows, so the k folds weigh as k - 1 whole problems: (nnz + n) x k' x k in all.
  const work = (csr.indptr[n] + n) * kk * (calibrated ? k : 1);
  const threads = resolveThreads(params.threads ?? options.threads, group.length, work);
  const share = threads > 1;
  const p = X.cols;
  const f64 = (length: number) =>
    share ? new Float64Array(new SharedArrayBuffer(length * 8)) : new Float64Array(length);
  const task: OvrTask = {
    X: share
      ? { ...csr, indptr: shared(csr.indptr), indices: shared(csr.indices), data: shared(csr.data) }
      : csr,
    bias: params.fitIntercept ? params.interceptScaling : 0,
    y: share ? shared(y) : y,
    active: Int32Array.from(active),
    classWeight,
    sampleWeight: share ? shared(sampleWeight ?? null) : (sampleWeight ?? null),
    C: params.C,
    loss: params.loss,
    tol: params.tol,
    maxIter: params.maxIter,
    fold: share ? shared(fold) : fold,
    group: Int32Array.from(group),
    column: Int32Array.from(column),
    seed: Uint32Array.from(seed),
    weights: f64(p * kk),
    intercept: f64(kk),
    outOfFold: calibrated ? f64(n * kk) : null,
    iterations: share
      ? new Int32Array(new SharedArrayBuffer(group.length * 4))
      : new Int32Array(group.length),
    converged: share ? new Uint8Array(new SharedArrayBuffer(group.length)) : new Uint8Array(group.length),
  };
  const control = fitControl(options, 'binary problems', group.length);
  control.check();
  await solveTask(task, threads, control);

  const finalIterations = Array.from(task.iterations.subarray(0, kk));
  const finalUnconverged = kk - task.converged.subarray(0, kk).reduce((a, b) => a + b, 0);
  const unconverged = group.length - task.converged.reduce((a, b) => a + b, 0);
  let calibrationIterations = 0;
  for (let t = kk; t < group.length; t++) calibrationIterations += task.iterations[t];

  let calibration: { a: Float64Array; b: Float64Array } | null = null;
  if (task.outOfFold) {
    const { outOfFold } = task;
    calibration = { a: new Float64Array(kk), b: new Float64Array(kk) };
    const values = new Float64Array(n);
    const positive = new Uint8Array(n);
    for (let c = 0; c < kk; c++) {
      const pos = kk === 1 ? active[1] : active[c];
      for (let i = 0; i < n; i++) {
        values[i] = outOfFold[i * kk + c];
        positive[i] = y[i] === pos ? 1 : 0;
      }
      const fit = fitPlattSigmoid(values, positive, sampleWeight);
      calibration.a[c] = fit.a;
      calibration.b[c] = fit.b;
    }
  }

  if (unconverged > 0) {
    options.warn?.(
      `${LINEAR_SVM}: ${unconverged} binary problem(s) reached maxIter (${params.maxIter}) before the projected-gradient gap fell to tol ${params.tol}; raise maxIter or tol, lower C, or scale the features`,
    );
  }
  const converged = finalUnconverged === 0;
  // The thread count is not recorded with the model: it changes nothing in it.
  const { threads: _threads, ...recorded } = params;
  const meta = {
    params: recorded,
    classes: [...classes],
    iterations: finalIterations,
    converged,
  };
  const diag = {
    iterations: Math.max(...finalIterations),
    iterationsTotal: finalIterations.reduce((a, b) => a + b, 0),
    converged,
    binaryProblems: kk,
    calibration: params.calibration,
    calibrationIterations,
    threads,
  };
  // Copies out of shared memory (slice allocates an ordinary buffer).
  return new LinearSvmModel(
    classes,
    active,
    task.weights.slice(),
    task.intercept.slice(),
    calibration,
    meta,
    diag,
  );
}

/**
 * The seed `parent.fork(stream)` gives its child (the same one draw from `parent`), so a child can be
 * rebuilt as `new Random(seed)` on another thread. The test suite checks it against Random.fork.
 */
export function forkSeed(parent: Random, stream: number): number {
  return (parent.nextUint32() ^ Math.imul(stream + 1, 0x9e3779b1)) >>> 0;
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

/** Fold of each row: each class's rows shuffled, then dealt round-robin over the classes laid end to end. */
export function stratifiedFolds(y: Int32Array, k: number, folds: number, rng: Random): Int32Array {
  const members: number[][] = Array.from({ length: k }, () => []);
  for (let i = 0; i < y.length; i++) members[y[i]].push(i);
  const fold = new Int32Array(y.length);
  let next = 0;
  for (const list of members) for (const i of rng.shuffle(list)) fold[i] = next++ % folds;
  return fold;
}
