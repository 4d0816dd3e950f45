/**
 * Limited-memory BFGS (Nocedal & Wright, algorithms 7.4 and 7.5) with the Moré–Thuente line search
 * (MINPACK-2 dcsrch/dcstep, the one L-BFGS-B and so scipy use), for smooth unconstrained problems.
 */

/** Returns f(x) and writes the gradient at x into `gradient` (every entry, not accumulated). */
export type ObjectiveFunction = (x: Float64Array, gradient: Float64Array) => number;

export interface LbfgsOptions {
  /** Number of (s, y) correction pairs kept. */
  memory?: number;
  maxIter?: number;
  /** Stop when max |gradient_i| <= gtol. */
  gtol?: number;
  /** Stop when (f_k - f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) <= ftol. */
  ftol?: number;
  /** Function evaluations allowed per line search. */
  maxLineSearch?: number;
  /**
   * Checked after each accepted iteration that the gradient and ftol tests did not end (the last call
   * of the objective was at the new point): a reason to stop, the fit having converged by the
   * caller's measure, or undefined to go on.
   */
  stop?: () => string | undefined;
  /**
   * Called after each accepted iteration with the iteration count and objective value; awaited, so it
   * can yield to the event loop, and it may throw to stop (an aborted fit).
   */
  onIteration?: (iteration: number, value: number) => Promise<void> | void;
}

export interface LbfgsResult {
  x: Float64Array;
  value: number;
  /** Max-abs gradient at `x`. */
  gradientNorm: number;
  iterations: number;
  functionEvaluations: number;
  converged: boolean;
  message: string;
}

const EPS = 2.220446049250313e-16;
// Line-search constants of L-BFGS-B: sufficient decrease, curvature, interval width, extrapolation.
const LS_FTOL = 1e-3;
const LS_GTOL = 0.9;
const LS_XTOL = 0.1;
const XTRAPL = 1.1;
const XTRAPU = 4;
const STPMAX = 1e10;

/** Interval state of the Moré–Thuente search: best step x, other end y, derivatives d. */
interface Bracket {
  stx: number;
  fx: number;
  dx: number;
  sty: number;
  fy: number;
  dy: number;
  brackt: boolean;
}

type LineSearchStatus = 'converged' | 'warning' | 'failed';

export async function minimizeLbfgs(
  fn: ObjectiveFunction,
  x0: ArrayLike<number>,
  options: LbfgsOptions = {},
): Promise<LbfgsResult> {
  const n = x0.length;
  const m = options.memory ?? 10;
  const maxIter = options.maxIter ?? 1000;
  const gtol = options.gtol ?? 1e-5;
  const ftol = options.ftol ?? 64 * EPS;
  const maxLs = options.maxLineSearch ?? 20;
  if (!(m >= 1) || !(maxIter >= 0) || !(maxLs >= 1))
    throw new Error('lbfgs: memory and maxLineSearch must be >= 1, maxIter >= 0');

  let x = Float64Array.from(x0);
  let g = new Float64Array(n);
  let xt = new Float64Array(n);
  let gt = new Float64Array(n);
  const d = new Float64Array(n);
  const S = new Float64Array(m * n);
  const Y = new Float64Array(m * n);
  const rho = new Float64Array(m);
  const alpha = new Float64Array(m);
  const br: Bracket = { stx: 0, fx: 0, dx: 0, sty: 0, fy: 0, dy: 0, brackt: false };

  let f = fn(x, g);
  let evaluations = 1;
  if (!Number.isFinite(f)) throw new Error(`lbfgs: objective is ${f} at the starting point`);
  let ft = f;
  let gnorm = maxAbs(g);
  let iterations = 0;
  let stored = 0;
  let head = 0;
  let gamma = 1;
  let converged = gnorm <= gtol;
  let message = converged ? 'gradient below gtol' : `reached maxIter (${maxIter})`;

  /** Moré–Thuente search along d from x (value f0, slope dg0 < 0); leaves the last trial in xt/ft/gt. */
  const lineSearch = (f0: number, dg0: number, initialStep: number): LineSearchStatus => {
    let stp = initialStep;
    let stage = 1;
    const gtest = LS_FTOL * dg0;
    let width = STPMAX;
    let width1 = 2 * width;
    let upper = STPMAX;
    br.stx = 0;
    br.fx = f0;
    br.dx = dg0;
    br.sty = 0;
    br.fy = f0;
    br.dy = dg0;
    br.brackt = false;
    let stmin = 0;
    let stmax = stp + XTRAPU * stp;
    for (let k = 0; k < maxLs; k++) {
      for (let i = 0; i < n; i++) xt[i] = x[i] + stp * d[i];
      ft = fn(xt, gt);
      evaluations++;
      if (!Number.isFinite(ft)) {
        // Overflow: never go this far again; halve toward the best step.
        upper = stp;
        stp = br.stx + 0.5 * (stp - br.stx);
        continue;
      }
      const dg = dot(gt, 0, d, n);
      const ftest = f0 + stp * gtest;
      if (stage === 1 && ft <= ftest && dg >= 0) stage = 2;
      if (ft <= ftest && Math.abs(dg) <= -LS_GTOL * dg0) return 'converged';
      if (br.brackt && (stp <= stmin || stp >= stmax || stmax - stmin <= LS_XTOL * stmax)) return 'warning';
      if (stp >= STPMAX && ft <= ftest && dg <= gtest) return 'warning';

      if (stage === 1 && ft <= br.fx && ft > ftest) {
        // Modified function psi(stp) = f - stp * gtest until a step with sufficient decrease is found.
        br.fx -= br.stx * gtest;
        br.fy -= br.sty * gtest;
        br.dx -= gtest;
        br.dy -= gtest;
        stp = cubicStep(br, stp, ft - stp * gtest, dg - gtest, stmin, stmax);
        br.fx += br.stx * gtest;
        br.fy += br.sty * gtest;
        br.dx += gtest;
        br.dy += gtest;
      } else {
        stp = cubicStep(br, stp, ft, dg, stmin, stmax);
      }
      if (br.brackt) {
        if (Math.abs(br.sty - br.stx) >= 0.66 * width1) stp = br.stx + 0.5 * (br.sty - br.stx);
        width1 = width;
        width = Math.abs(br.sty - br.stx);
        stmin = Math.min(br.stx, br.sty);
        stmax = Math.max(br.stx, br.sty);
      } else {
        stmin = stp + XTRAPL * (stp - br.stx);
        stmax = stp + XTRAPU * (stp - br.stx);
      }
      stp = Math.max(stp, 0);
      if (stp >= upper) stp = br.stx + 0.5 * (upper - br.stx);
      if (br.brackt && (stp <= stmin || stp >= stmax || stmax - stmin <= LS_XTOL * stmax)) stp = br.stx;
    }
    return 'failed';
  };

  while (!converged && iterations < maxIter) {
    // Two-loop recursion: d = -H g, the initial H being gamma * I with gamma = s'y / y'y of the newest pair.
    for (let i = 0; i < n; i++) d[i] = -g[i];
    for (let k = 0; k < stored; k++) {
      const j = (head - 1 - k + m) % m;
      const a = rho[j] * dot(S, j * n, d, n);
      alpha[j] = a;
      const yo = j * n;
      for (let i = 0; i < n; i++) d[i] -= a * Y[yo + i];
    }
    if (stored > 0) for (let i = 0; i < n; i++) d[i] *= gamma;
    for (let k = stored - 1; k >= 0; k--) {
      const j = (head - 1 - k + m) % m;
      const so = j * n;
      const b = alpha[j] - rho[j] * dot(Y, so, d, n);
      for (let i = 0; i < n; i++) d[i] += b * S[so + i];
    }

    const dg0 = dot(g, 0, d, n);
    if (!(dg0 < 0)) {
      if (stored === 0) {
        message =
          'search direction is not a descent direction (gradient is not finite or too small to act on)';
        break;
      }
      stored = 0;
      continue;
    }
    const initialStep = stored === 0 ? Math.min(1 / Math.sqrt(dot(d, 0, d, n)), STPMAX) : 1;
    const status = lineSearch(f, dg0, initialStep);
    if (status === 'failed' || !(ft < f)) {
      // Like L-BFGS-B: drop the curvature pairs and retry from x with steepest descent, once.
      if (stored === 0) {
        message = `line search failed to decrease the objective (${status})`;
        break;
      }
      stored = 0;
      continue;
    }

    // Accept the trial point; keep the pair only when the curvature condition holds (the slot at
    // `head` may still hold the oldest pair, so it is written only then).
    let sy = 0;
    let yy = 0;
    for (let i = 0; i < n; i++) {
      const yi = gt[i] - g[i];
      sy += (xt[i] - x[i]) * yi;
      yy += yi * yi;
    }
    if (sy > EPS * yy) {
      const so = head * n;
      for (let i = 0; i < n; i++) {
        S[so + i] = xt[i] - x[i];
        Y[so + i] = gt[i] - g[i];
      }
      rho[head] = 1 / sy;
      gamma = sy / yy;
      head = (head + 1) % m;
      if (stored < m) stored++;
    }
    const fPrev = f;
    f = ft;
    let swap = x;
    x = xt;
    xt = swap;
    swap = g;
    g = gt;
    gt = swap;
    iterations++;
    gnorm = maxAbs(g);
    if (gnorm <= gtol) {
      converged = true;
      message = 'gradient below gtol';
    } else if (fPrev - f <= ftol * Math.max(Math.abs(fPrev), Math.abs(f), 1)) {
      converged = true;
      message = 'relative reduction of the objective below ftol';
    } else {
      const reason = options.stop?.();
      if (reason) {
        converged = true;
        message = reason;
      }
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
 * dcstep of MINPACK-2: a safeguarded cubic/quadratic step from the bracket and the trial (stp, fp, dp),
 * and the updated bracket. Returns the next trial step.
 */
function cubicStep(br: Bracket, stp: number, fp: number, dp: number, stpmin: number, stpmax: number): number {
  const { stx, fx, dx, sty, fy, dy } = br;
  const sgnd = dp * Math.sign(dx);
  let stpf: number;
  if (fp > fx) {
    // Higher value: the minimum is bracketed; take the cubic step, or halfway to the quadratic one.
    const theta = (3 * (fx - fp)) / (stp - stx) + dx + dp;
    const s = Math.max(Math.abs(theta), Math.abs(dx), Math.abs(dp));
    let gamma = s * Math.sqrt(Math.max(0, (theta / s) ** 2 - (dx / s) * (dp / s)));
    if (stp < stx) gamma = -gamma;
    const p = gamma - dx + theta;
    const q = gamma - dx + gamma + dp;
    const stpc = stx + (p / q) * (stp - stx);
    const stpq = stx + (dx / ((fx - fp) / (stp - stx) + dx) / 2) * (stp - stx);
    stpf = Math.abs(stpc - stx) < Math.abs(stpq - stx) ? stpc : stpc + (stpq - stpc) / 2;
    br.brackt = true;
  } else if (sgnd < 0) {
    // Derivatives of opposite sign: bracketed; the step farther from stp (cubic vs secant).
    const theta = (3 * (fx - fp)) / (stp - stx) + dx + dp;
    const s = Math.max(Math.abs(theta), Math.abs(dx), Math.abs(dp));
    let gamma = s * Math.sqrt(Math.max(0, (theta / s) ** 2 - (dx / s) * (dp / s)));
    if (stp > stx) gamma = -gamma;
    const p = gamma - dp + theta;
    const q = gamma - dp + gamma + dx;
    const stpc = stp + (p / q) * (stx - stp);
    const stpq = stp + (dp / (dp - dx)) * (stx - stp);
    stpf = Math.abs(stpc - stp) > Math.abs(stpq - stp) ? stpc : stpq;
    br.brackt = true;
  } else if (Math.abs(dp) < Math.abs(dx)) {
    // Same sign, derivative magnitude decreasing: cubic step only if it goes the right way.
    const theta = (3 * (fx - fp)) / (stp - stx) + dx + dp;
    const s = Math.max(Math.abs(theta), Math.abs(dx), Math.abs(dp));
    let gamma = s * Math.sqrt(Math.max(0, (theta / s) ** 2 - (dx / s) * (dp / s)));
    if (stp > stx) gamma = -gamma;
    const p = gamma - dp + theta;
    const q = gamma + (dx - dp) + gamma;
    const r = p / q;
    const stpc = r < 0 && gamma !== 0 ? stp + r * (stx - stp) : stp > stx ? stpmax : stpmin;
    const stpq = stp + (dp / (dp - dx)) * (stx - stp);
    if (br.brackt) {
      stpf = Math.abs(stpc - stp) < Math.abs(stpq - stp) ? stpc : stpq;
      stpf = stp > stx ? Math.min(stp + 0.66 * (sty - stp), stpf) : Math.max(stp + 0.66 * (sty - stp), stpf);
    } else {
      stpf = Math.abs(stpc - stp) > Math.abs(stpq - stp) ? stpc : stpq;
      stpf = Math.max(stpmin, Math.min(stpmax, stpf));
    }
  } else if (br.brackt) {
    // Same sign, derivative not decreasing, bracketed: cubic step toward sty.
    const theta = (3 * (fp - fy)) / (sty - stp) + dy + dp;
    const s = Math.max(Math.abs(theta), Math.abs(dy), Math.abs(dp));
    let gamma = s * Math.sqrt(Math.max(0, (theta / s) ** 2 - (dy / s) * (dp / s)));
    if (stp > sty) gamma = -gamma;
    const p = gamma - dp + theta;
    const q = gamma - dp + gamma + dy;
    stpf = stp + (p / q) * (sty - stp);
  } else {
    stpf = stp > stx ? stpmax : stpmin;
  }

  if (fp > fx) {
    br.sty = stp;
    br.fy = fp;
    br.dy = dp;
  } else {
    if (sgnd < 0) {
      br.sty = stx;
      br.fy = fx;
      br.dy = dx;
    }
    br.stx = stp;
    br.fx = fp;
    br.dx = dp;
  }
  return stpf;
}

/** sum_i a[offset + i] * b[i]. */
function dot(a: Float64Array, offset: number, b: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[offset + i] * b[i];
  return s;
}

function maxAbs(a: Float64Array): number {
  let v = 0;
  for (let i = 0; i < a.length; i++) {
    const x = Math.abs(a[i]);
    if (x > v || Number.isNaN(x)) v = x;
  }
  return v;
}
