import { z } from 'zod';
import { type Matrix, type ModelInput, matTVecAdd, matVec } from '../data/matrix.js';
import type { FitOptions, FittedModel, ModelFamily, SavedModel } from './family.js';
import { type FitControl, fitControl } from './fit-control.js';
import { matrixInput } from './linear-common.js';
import { linearScoresOnnx } from './linear-onnx.js';

/**
 * Ridge (L2-regularised least squares) regression with scikit-learn's objective
 *   min_w,b  sum_i s_i (y_i - x_i.w - b)^2 + alpha ||w||^2
 * (s_i sample weights, intercept not penalised). With an intercept the problem is solved on data
 * centred by the weighted means, as scikit-learn does; the centring stays implicit, so CSR input is
 * never densified. Up to `choleskyMaxFeatures` features the normal equations are solved exactly by
 * Cholesky; above, by conjugate gradients on the same system.
 */
export const ridgeParams = z.strictObject({
  alpha: z.number().nonnegative().default(1),
  fitIntercept: z.boolean().default(true),
  solver: z.enum(['auto', 'cholesky', 'cg']).default('auto'),
  /** Conjugate gradients: stop when the residual norm falls below tol times the right-hand side's. */
  tol: z.number().positive().default(1e-10),
  maxIter: z.number().int().positive().default(10_000),
});

export type RidgeParams = z.infer<typeof ridgeParams>;

export const RIDGE_REGRESSION = 'ridge';

/** 'auto' solves exactly up to this many features. */
const CHOLESKY_MAX_FEATURES = 2000;

export const ridgeRegression: ModelFamily<RidgeParams> = {
  name: RIDGE_REGRESSION,
  description:
    'Ridge (L2-regularised least squares) regression, exact or conjugate gradients, dense or sparse',
  params: ridgeParams,
  tasks: ['regression'],
  capabilities: {
    inputs: ['dense', 'sparse'],
    missingValues: false,
    sampleWeights: true,
    warmStart: false,
    threads: false,
  },
  fit: async (X, y, options) => fitRidge(matrixInput(X, RIDGE_REGRESSION), targetValues(y), options),
  load: (saved) => loadRidge(saved),
  exportOnnx(saved, g, features) {
    // [N, 1] = X coef' + intercept (coef [1, p] is already feature-major p x 1).
    const model = loadRidge(saved);
    return linearScoresOnnx(g, features, model.coef, [model.intercept]);
  },
};

function targetValues(y: Int32Array | Float64Array): Float64Array {
  if (!(y instanceof Float64Array))
    throw new Error(`${RIDGE_REGRESSION}: a regression needs numeric targets (Float64Array) as y`);
  return y;
}

export class RidgeModel implements FittedModel {
  readonly family = RIDGE_REGRESSION;

  constructor(
    readonly coef: Float64Array,
    readonly intercept: number,
    private readonly meta: Record<string, unknown>,
    private readonly diag: Record<string, number | boolean | string>,
  ) {}

  /** [n, 1] predictions. */
  predict(input: ModelInput): Float64Array {
    const X = matrixInput(input, RIDGE_REGRESSION);
    if (X.cols !== this.coef.length)
      throw new Error(
        `${RIDGE_REGRESSION}: model has ${this.coef.length} features, input matrix has ${X.cols} columns`,
      );
    return matVec(X, this.coef, new Float64Array(X.rows), this.intercept);
  }

  save(): SavedModel {
    return {
      meta: { ...this.meta },
      tensors: {
        coef: { shape: [1, this.coef.length], data: Float64Array.from(this.coef) },
        intercept: { shape: [1], data: Float64Array.of(this.intercept) },
      },
    };
  }

  diagnostics(): Record<string, number | boolean | string> {
    return { ...this.diag };
  }
}

export async function fitRidge(
  X: Matrix,
  y: Float64Array,
  options: FitOptions<RidgeParams>,
): Promise<RidgeModel> {
  const params = ridgeParams.parse(options.params);
  const n = X.rows;
  const p = X.cols;
  if (y.length !== n) throw new Error(`${RIDGE_REGRESSION}: X has ${n} rows but y has ${y.length} values`);
  if (n === 0) throw new Error(`${RIDGE_REGRESSION}: no training rows`);
  const s = options.sampleWeight ?? new Float64Array(n).fill(1);
  if (s.length !== n)
    throw new Error(`${RIDGE_REGRESSION}: sampleWeight has ${s.length} values for ${n} rows`);
  let total = 0;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(y[i])) throw new Error(`${RIDGE_REGRESSION}: y[${i}] is ${y[i]}, not a number`);
    if (!(s[i] >= 0 && Number.isFinite(s[i])))
      throw new Error(`${RIDGE_REGRESSION}: sampleWeight[${i}] = ${s[i]} must be finite and >= 0`);
    total += s[i];
  }
  if (!(total > 0)) throw new Error(`${RIDGE_REGRESSION}: the sample weights sum to 0`);
  for (const v of X.data)
    if (!Number.isFinite(v))
      throw new Error(`${RIDGE_REGRESSION}: X holds ${v}; impute missing values before the model`);

  // Weighted means (zero without an intercept: no centring).
  const xMean = new Float64Array(p);
  let yMean = 0;
  if (params.fitIntercept) {
    matTVecAdd(X, s, xMean);
    for (let j = 0; j < p; j++) xMean[j] /= total;
    for (let i = 0; i < n; i++) yMean += s[i] * y[i];
    yMean /= total;
  }
  // b = Xc' S yc
  const r = new Float64Array(n);
  for (let i = 0; i < n; i++) r[i] = s[i] * (y[i] - yMean);
  const rhs = centredTVec(X, r, xMean);

  const exact = params.solver === 'cholesky' || (params.solver === 'auto' && p <= CHOLESKY_MAX_FEATURES);
  // The exact solve is one step of work; conjugate gradients report each iteration.
  const control = fitControl(options, exact ? 'solves' : 'iterations', exact ? 1 : params.maxIter);
  control.check();
  let solved: { coef: Float64Array; iterations: number; converged: boolean };
  if (exact) {
    solved = {
      coef: solveCholesky(normalMatrix(X, s, xMean, total, params.alpha), rhs),
      iterations: 1,
      converged: true,
    };
    await control.tick(1);
  } else solved = await solveCg(X, s, xMean, params, rhs, control);
  const { coef, iterations, converged } = solved;
  if (!converged)
    options.warn?.(
      `${RIDGE_REGRESSION}: conjugate gradients reached maxIter (${params.maxIter}) before the residual fell to tol ${params.tol}`,
    );
  let intercept = 0;
  if (params.fitIntercept) {
    intercept = yMean;
    for (let j = 0; j < p; j++) intercept -= xMean[j] * coef[j];
  }
  const solver = exact ? 'cholesky' : 'cg';
  return new RidgeModel(
    coef,
    intercept,
    { params, solver, iterations, converged },
    { solver, iterations, converged },
  );
}

/** Xc' r with Xc = X - 1 mean' (the centring applied implicitly). */
function centredTVec(X: Matrix, r: Float64Array, mean: Float64Array): Float64Array {
  const out = matTVecAdd(X, r, new Float64Array(X.cols));
  let sum = 0;
  for (const v of r) sum += v;
  for (let j = 0; j < out.length; j++) out[j] -= mean[j] * sum;
  return out;
}

/** Xc' S Xc + alpha I, dense p x p (small p only). */
function normalMatrix(
  X: Matrix,
  s: Float64Array,
  mean: Float64Array,
  total: number,
  alpha: number,
): Float64Array {
  const p = X.cols;
  const A = new Float64Array(p * p);
  const row = new Float64Array(p);
  for (let i = 0; i < X.rows; i++) {
    row.fill(0);
    if (X.kind === 'dense') row.set(X.data.subarray(i * p, (i + 1) * p));
    else for (let q = X.indptr[i]; q < X.indptr[i + 1]; q++) row[X.indices[q]] += X.data[q];
    const w = s[i];
    if (w === 0) continue;
    for (let a = 0; a < p; a++) {
      const v = w * row[a];
      if (v === 0) continue;
      for (let b = 0; b <= a; b++) A[a * p + b] += v * row[b];
    }
  }
  for (let a = 0; a < p; a++) {
    for (let b = 0; b <= a; b++) {
      // sum_i s_i (x_ia - m_a)(x_ib - m_b) = sum_i s_i x_ia x_ib - total m_a m_b
      const v = A[a * p + b] - total * mean[a] * mean[b];
      A[a * p + b] = v;
      A[b * p + a] = v;
    }
    A[a * p + a] += alpha;
  }
  return A;
}

/** Solves A x = b for symmetric positive (semi)definite A; a singular A gets a tiny ridge added. */
function solveCholesky(A: Float64Array, b: Float64Array): Float64Array {
  const p = b.length;
  const L = new Float64Array(p * p);
  let jitter = 0;
  for (let attempt = 0; ; attempt++) {
    if (factor(A, L, p, jitter)) break;
    // alpha = 0 with collinear columns: the minimum-norm direction is approached by a tiny ridge.
    if (attempt > 8) throw new Error(`${RIDGE_REGRESSION}: the normal equations are singular; raise alpha`);
    let trace = 0;
    for (let a = 0; a < p; a++) trace += A[a * p + a];
    jitter = jitter === 0 ? Math.max(trace / Math.max(p, 1), 1) * 1e-12 : jitter * 100;
  }
  const z = new Float64Array(p);
  for (let a = 0; a < p; a++) {
    let v = b[a];
    for (let k = 0; k < a; k++) v -= L[a * p + k] * z[k];
    z[a] = v / L[a * p + a];
  }
  const x = new Float64Array(p);
  for (let a = p - 1; a >= 0; a--) {
    let v = z[a];
    for (let k = a + 1; k < p; k++) v -= L[k * p + a] * x[k];
    x[a] = v / L[a * p + a];
  }
  return x;
}

function factor(A: Float64Array, L: Float64Array, p: number, jitter: number): boolean {
  L.fill(0);
  for (let a = 0; a < p; a++) {
    for (let b = 0; b <= a; b++) {
      let v = A[a * p + b] + (a === b ? jitter : 0);
      for (let k = 0; k < b; k++) v -= L[a * p + k] * L[b * p + k];
      if (a === b) {
        if (!(v > 0)) return false;
        L[a * p + a] = Math.sqrt(v);
      } else L[a * p + b] = v / L[b * p + b];
    }
  }
  return true;
}

/** Conjugate gradients on (Xc' S Xc + alpha I) w = rhs, products computed without forming the matrix. */
async function solveCg(
  X: Matrix,
  s: Float64Array,
  mean: Float64Array,
  params: RidgeParams,
  rhs: Float64Array,
  control: FitControl,
): Promise<{ coef: Float64Array; iterations: number; converged: boolean }> {
  const p = X.cols;
  const n = X.rows;
  let meanDot = 0;
  const xw = new Float64Array(n);
  const apply = (v: Float64Array, out: Float64Array) => {
    // Xc v = X v - (mean . v); then Xc' S (Xc v)
    matVec(X, v, xw);
    meanDot = 0;
    for (let j = 0; j < p; j++) meanDot += mean[j] * v[j];
    for (let i = 0; i < n; i++) xw[i] = s[i] * (xw[i] - meanDot);
    out.set(centredTVec(X, xw, mean));
    for (let j = 0; j < p; j++) out[j] += params.alpha * v[j];
  };
  const w = new Float64Array(p);
  const r = Float64Array.from(rhs);
  const d = Float64Array.from(r);
  const Ad = new Float64Array(p);
  let rr = dot(r, r);
  const stop = params.tol * params.tol * Math.max(rr, Number.MIN_VALUE);
  let iterations = 0;
  while (rr > stop && iterations < params.maxIter) {
    apply(d, Ad);
    const step = rr / dot(d, Ad);
    for (let j = 0; j < p; j++) {
      w[j] += step * d[j];
      r[j] -= step * Ad[j];
    }
    const next = dot(r, r);
    for (let j = 0; j < p; j++) d[j] = r[j] + (next / rr) * d[j];
    rr = next;
    iterations++;
    await control.tick(iterations, rr);
  }
  return { coef: w, iterations, converged: rr <= stop };
}

function dot(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let j = 0; j < a.length; j++) sum += a[j] * b[j];
  return sum;
}

export function loadRidge(saved: SavedModel): RidgeModel {
  const { coef, intercept } = saved.tensors;
  if (!coef || !intercept)
    throw new Error(`${RIDGE_REGRESSION}: saved model needs tensors "coef" and "intercept"`);
  if (coef.shape.length !== 2 || coef.shape[0] !== 1 || coef.data.length !== coef.shape[1])
    throw new Error(`${RIDGE_REGRESSION}: tensor "coef" must have shape [1, p], got [${coef.shape}]`);
  if (intercept.data.length !== 1)
    throw new Error(`${RIDGE_REGRESSION}: tensor "intercept" must have shape [1], got [${intercept.shape}]`);
  const diag: Record<string, number | boolean | string> = {};
  for (const key of ['solver', 'iterations', 'converged'] as const) {
    const v = saved.meta[key];
    if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') diag[key] = v;
  }
  return new RidgeModel(Float64Array.from(coef.data), intercept.data[0], saved.meta, diag);
}
