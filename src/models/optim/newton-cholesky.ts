/**
 * Newton's method for smooth, strictly convex problems with few parameters (Nocedal & Wright,
 * algorithm 3.1 with the Armijo backtracking line search): each iteration solves H d = -g with a
 * Cholesky factorisation of the Hessian and steps along d, trying the full step first. Near the
 * optimum convergence is quadratic: a handful of iterations, each costing one Hessian (built by the
 * problem) and a d^3 / 6 factorisation, where L-BFGS needs hundreds of cheaper ones. This is
 * scikit-learn's `newton-cholesky` solver.
 */
import type { LbfgsResult } from './lbfgs.js';

export interface NewtonProblem {
  /** f(x), writing the gradient at x into `gradient` (every entry). */
  evaluate(x: Float64Array, gradient: Float64Array): number;
  /** The Hessian at the point of the last `evaluate`, into the lower triangle of H (row-major d x d). */
  hessian(H: Float64Array): void;
}

export interface NewtonOptions {
  maxIter?: number;
  /** Stop when max |gradient_i| <= gtol. */
  gtol?: number;
  /**
   * Checked after each accepted step (the problem's last `evaluate` was at the new point): a reason
   * to stop, the fit having converged by the caller's measure, or undefined to go on.
   */
  stop?: () => string | undefined;
  /** As in L-BFGS: awaited after each iteration, may throw to stop (an aborted fit). */
  onIteration?: (iteration: number, value: number) => Promise<void> | void;
}

/** The same result as L-BFGS's, so callers treat both solvers alike. */
export type NewtonResult = LbfgsResult;

const EPS = 2.220446049250313e-16;
/** Sufficient decrease of the Armijo condition, as L-BFGS-B's line search. */
const ARMIJO = 1e-4;
const MAX_HALVINGS = 40;

export async function minimizeNewtonCholesky(
  problem: NewtonProblem,
  x0: ArrayLike<number>,
  options: NewtonOptions = {},
): Promise<NewtonResult> {
  const n = x0.length;
  const maxIter = options.maxIter ?? 100;
  const gtol = options.gtol ?? 1e-8;
  let x = Float64Array.from(x0);
  let xt = new Float64Array(n);
  let g = new Float64Array(n);
  let gt = new Float64Array(n);
  const H = new Float64Array(n * n);
  const d = new Float64Array(n);

  let f = problem.evaluate(x, g);
  let evaluations = 1;
  if (!Number.isFinite(f)) throw new Error(`newton-cholesky: objective is ${f} at the starting point`);
  let gnorm = maxAbs(g);
  let iterations = 0;
  let converged = gnorm <= gtol;
  let message = converged ? 'gradient below gtol' : `reached maxIter (${maxIter})`;

  while (!converged && iterations < maxIter) {
    problem.hessian(H);
    choleskyShifted(H, n);
    for (let i = 0; i < n; i++) d[i] = -g[i];
    choleskySolve(H, n, d);
    let slope = 0;
    for (let i = 0; i < n; i++) slope += g[i] * d[i];
    if (!(slope < 0)) {
      message = 'the Newton direction is not a descent direction (gradient not finite or at rounding level)';
      break;
    }
    // What a full step gains, -slope / 2 on the quadratic model, below what f can resolve: the line
    // search could not tell a better point from a worse one. This close, the full step is safe; take
    // it and stop.
    const atRounding = -slope <= 32 * EPS * Math.max(Math.abs(f), 1);
    let step = 1;
    let ft = Number.NaN;
    for (let k = 0; k < MAX_HALVINGS; k++) {
      for (let i = 0; i < n; i++) xt[i] = x[i] + step * d[i];
      ft = problem.evaluate(xt, gt);
      evaluations++;
      if (atRounding || ft <= f + ARMIJO * step * slope) break;
      step /= 2;
    }
    if (!atRounding && !(ft <= f + ARMIJO * step * slope)) {
      message = 'line search failed to decrease the objective';
      // The problem's last evaluate was at a rejected trial: evaluate x again so its state is x's.
      f = problem.evaluate(x, g);
      evaluations++;
      break;
    }
    let swap = x;
    x = xt;
    xt = swap;
    swap = g;
    g = gt;
    gt = swap;
    f = ft;
    iterations++;
    gnorm = maxAbs(g);
    const reason = step === 1 ? options.stop?.() : undefined;
    if (gnorm <= gtol) {
      converged = true;
      message = 'gradient below gtol';
    } else if (reason) {
      converged = true;
      message = reason;
    } else if (atRounding) {
      converged = true;
      message = 'at the optimum to machine precision (a Newton step gains less than the objective resolves)';
    }
    await options.onIteration?.(iterations, f);
  }
  return {
    x,
    value: f,
    gradientNorm: gnorm,
    iterations,
    functionEvaluations: evaluations,
    converged,
    message,
  };
}

/**
 * Cholesky factor L (H = L L') in place, from H's lower triangle. A Hessian that is not numerically
 * positive definite (a direction with no curvature at rounding level) is factored with a growing
 * multiple of the identity added, which keeps the direction a descent direction.
 */
export function choleskyShifted(H: Float64Array, n: number): void {
  const lower = Float64Array.from(H);
  let largest = 0;
  for (let i = 0; i < n; i++) largest = Math.max(largest, H[i * n + i]);
  let shift = 0;
  while (!cholesky(H, n)) {
    shift = shift === 0 ? Math.max(largest, 1) * 1e-12 : shift * 10;
    H.set(lower);
    for (let i = 0; i < n; i++) H[i * n + i] += shift;
  }
}

/** In place; false when a pivot is not positive. Reads and writes the lower triangle only. */
function cholesky(A: Float64Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    let diag = A[rj + j];
    for (let k = 0; k < j; k++) diag -= A[rj + k] * A[rj + k];
    if (!(diag > 0)) return false;
    const ljj = Math.sqrt(diag);
    A[rj + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      let s = A[ri + j];
      for (let k = 0; k < j; k++) s -= A[ri + k] * A[rj + k];
      A[ri + j] = s / ljj;
    }
  }
  return true;
}

/** Solves L L' x = b in place (b becomes x), L from `cholesky`. */
export function choleskySolve(L: Float64Array, n: number, b: Float64Array): void {
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[ri + k] * b[k];
    b[i] = s / L[ri + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i];
    for (let k = i + 1; k < n; k++) s -= L[k * n + i] * b[k];
    b[i] = s / L[i * n + i];
  }
}

function maxAbs(a: Float64Array): number {
  let v = 0;
  for (let i = 0; i < a.length; i++) {
    const x = Math.abs(a[i]);
    if (x > v || Number.isNaN(x)) v = x;
  }
  return v;
}
