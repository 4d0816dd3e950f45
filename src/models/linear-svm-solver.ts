import { type CsrMatrix, denseToCsr, type Matrix } from '../data/matrix.js';
import { Random } from '../util/random.js';

/**
 * The compute core of linear_svm (see linear-svm.ts): liblinear's dual coordinate descent for one binary
 * problem, and the one-vs-rest problems of a fit described as plain typed arrays, so the same code
 * solves them on the calling thread or on worker threads (linear-svm-threads.ts) over shared memory.
 * Imports nothing heavy: worker threads load this module and little else.
 */

export type SvmLoss = 'squared_hinge' | 'hinge';

export interface DualSolveOptions {
  loss: SvmLoss;
  tol: number;
  maxIter: number;
  rng: Random;
  /** Called after every pass over the rows (a worker thread's sign of life). */
  onPass?: () => void;
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
    const { tol, maxIter, rng, onPass } = options;
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
      onPass?.();
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

/**
 * The binary problems of one fit and where their results go. Plain data (a CSR matrix and typed arrays,
 * over SharedArrayBuffers when worker threads take part) so it can be posted to a worker as it is.
 *
 * Problem t solves class `active[column[t]]` against the rest (with two classes, one problem: the second
 * class against the first) on every row (`group[t] = -1`, the model's weights) or on the rows outside
 * calibration fold f (`group[t] = f`, decision values of fold f's rows for the Platt fit). Each problem
 * draws from its own generator, `new Random(seed[t])`, so results do not depend on which thread solves
 * which problem or in which order.
 */
export interface OvrTask {
  X: CsrMatrix;
  /** The constant feature carrying the intercept (interceptScaling), 0 for none. */
  bias: number;
  /** Class code of each row. */
  y: Int32Array;
  /** Class codes with rows; the positive class of column c is active[c] (active[1] with two classes). */
  active: Int32Array;
  /** Class weight by class code. */
  classWeight: Float64Array;
  sampleWeight: Float64Array | null;
  C: number;
  loss: SvmLoss;
  tol: number;
  maxIter: number;
  /** Calibration fold of each row; null without calibration. */
  fold: Int32Array | null;
  group: Int32Array;
  column: Int32Array;
  seed: Uint32Array;
  /** Out: feature-major p x k' weights of the group -1 problems (k' = number of columns). */
  weights: Float64Array;
  /** Out: intercept of each column (bias x the weight of the bias feature). */
  intercept: Float64Array;
  /** Out: row-major n x k' decision values of each row by the problem that held its fold out. */
  outOfFold: Float64Array | null;
  /** Out: passes made by each problem. */
  iterations: Int32Array;
  /** Out: 1 where a problem met the stopping rule before maxIter. */
  converged: Uint8Array;
}

/** Solves problems of a task one at a time on this thread, reusing one solver's buffers. */
export class OvrSolver {
  private readonly solver: DualCoordinateDescent;
  private readonly sign: Int8Array;
  private readonly cost: Float64Array;
  private readonly columns: number;
  /** Rows each group trains on, and (calibration folds) the rows it predicts, built on first use. */
  private readonly rows = new Map<number, { train: Int32Array; valid: Int32Array }>();

  constructor(
    private readonly task: OvrTask,
    /** Called after every pass of every solve. */
    private readonly onPass?: () => void,
  ) {
    this.solver = new DualCoordinateDescent(task.X, task.bias);
    this.sign = new Int8Array(task.y.length);
    this.cost = new Float64Array(task.y.length);
    this.columns = task.intercept.length;
  }

  solve(problem: number): void {
    const { task, solver, sign, cost, columns } = this;
    const { y, active, classWeight, sampleWeight, C } = task;
    const group = task.group[problem];
    const column = task.column[problem];
    const { train, valid } = this.groupRows(group);
    const binary = active.length === 2;
    const pos = binary ? active[1] : active[column];
    const cp = C * classWeight[pos];
    const cn = binary ? C * classWeight[active[0]] : C;
    for (let r = 0; r < train.length; r++) {
      const i = train[r];
      const positive = y[i] === pos;
      sign[i] = positive ? 1 : -1;
      cost[i] = (sampleWeight ? sampleWeight[i] : 1) * (positive ? cp : cn);
    }
    const result = solver.solve(train, sign, cost, {
      loss: task.loss,
      tol: task.tol,
      maxIter: task.maxIter,
      rng: new Random(task.seed[problem]),
      onPass: this.onPass,
    });
    task.iterations[problem] = result.iterations;
    task.converged[problem] = result.converged ? 1 : 0;
    if (group < 0) {
      const { w } = solver;
      const p = task.X.cols;
      const { weights } = task;
      for (let j = 0; j < p; j++) weights[j * columns + column] = w[j];
      task.intercept[column] = w[p] * solver.bias;
    } else if (task.outOfFold) {
      const { outOfFold } = task;
      for (let r = 0; r < valid.length; r++) {
        const i = valid[r];
        outOfFold[i * columns + column] = solver.decision(i);
      }
    }
  }

  private groupRows(group: number): { train: Int32Array; valid: Int32Array } {
    let rows = this.rows.get(group);
    if (!rows) {
      const n = this.task.y.length;
      const { fold } = this.task;
      if (group < 0 || !fold) {
        rows = { train: Int32Array.from({ length: n }, (_, i) => i), valid: new Int32Array(0) };
      } else {
        const train: number[] = [];
        const valid: number[] = [];
        for (let i = 0; i < n; i++) (fold[i] === group ? valid : train).push(i);
        rows = { train: Int32Array.from(train), valid: Int32Array.from(valid) };
      }
      this.rows.set(group, rows);
    }
    return rows;
  }
}
