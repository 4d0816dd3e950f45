import { describe, expect, it } from 'vitest';
import { denseMatrix, denseToCsr } from '../../src/data/matrix.js';
import { LogisticObjective } from '../../src/models/logistic-objective.js';
import {
  choleskyShifted,
  choleskySolve,
  minimizeNewtonCholesky,
  type NewtonProblem,
} from '../../src/models/optim/newton-cholesky.js';
import { Random } from '../../src/util/random.js';

/** 0.5 (x - 1)' A (x - 1) with A = B B' + I, B seeded; the Hessian is A everywhere. */
function quadratic(n: number, seed: number): NewtonProblem & { A: Float64Array } {
  const rng = new Random(seed);
  const B = Float64Array.from({ length: n * n }, () => rng.normal());
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = i === j ? 1 : 0;
      for (let k = 0; k < n; k++) s += B[i * n + k] * B[j * n + k];
      A[i * n + j] = s;
    }
  return {
    A,
    evaluate(x, g) {
      let f = 0;
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += A[i * n + j] * (x[j] - 1);
        g[i] = s;
        f += 0.5 * (x[i] - 1) * s;
      }
      return f;
    },
    hessian(H) {
      H.set(A);
    },
  };
}

describe('minimizeNewtonCholesky', () => {
  it('solves a quadratic in one full step', async () => {
    const problem = quadratic(12, 1);
    const r = await minimizeNewtonCholesky(problem, new Float64Array(12), { gtol: 1e-10 });
    expect(r).toMatchObject({ converged: true, iterations: 1, functionEvaluations: 2 });
    for (const v of r.x) expect(v).toBeCloseTo(1, 10);
  });

  it('factors and solves a symmetric positive definite system from its lower triangle', () => {
    const { A } = quadratic(9, 2);
    const L = Float64Array.from(A);
    // Garbage above the diagonal must not be read.
    for (let i = 0; i < 9; i++) for (let j = i + 1; j < 9; j++) L[i * 9 + j] = Number.NaN;
    choleskyShifted(L, 9);
    const b = Float64Array.from({ length: 9 }, (_, i) => i - 4);
    const x = Float64Array.from(b);
    choleskySolve(L, 9, x);
    for (let i = 0; i < 9; i++) {
      let s = 0;
      for (let j = 0; j < 9; j++) s += A[i * 9 + j] * x[j];
      expect(s).toBeCloseTo(b[i], 10);
    }
  });

  it('factors a singular matrix with a small shift instead of failing', () => {
    // [[1, 1], [1, 1]]: the second pivot is 0.
    const H = Float64Array.from([1, 0, 1, 1]);
    choleskyShifted(H, 2);
    for (const v of H) expect(Number.isFinite(v)).toBe(true);
  });

  it('backtracks when the full step goes uphill, and stops at the optimum to machine precision', async () => {
    // f(x) = 1e6 + sqrt(1 + x^2) + x / 10: from x = 2 the full Newton step overshoots far to the left
    // (uphill). Near the minimum the gradient stays nonzero while the gain of a step falls below what
    // 1e6 + ... can resolve.
    let calls = 0;
    let at = 0;
    const problem: NewtonProblem = {
      evaluate(x, g) {
        calls++;
        at = x[0];
        g[0] = at / Math.sqrt(1 + at * at) + 0.1;
        return 1e6 + Math.sqrt(1 + at * at) + at / 10;
      },
      hessian(H) {
        H[0] = (1 + at * at) ** -1.5;
      },
    };
    const r = await minimizeNewtonCholesky(problem, [2], { gtol: 0, maxIter: 100 });
    expect(r.converged).toBe(true);
    expect(r.message).toMatch(/machine precision/);
    // sqrt(1 + x^2) has slope -0.1 at x = -1 / sqrt(99).
    expect(Math.abs(r.x[0] + 1 / Math.sqrt(99))).toBeLessThan(1e-7);
    expect(r.iterations).toBeLessThan(30);
    expect(calls).toBeGreaterThan(r.iterations + 1);
  });

  it('stops when the caller says so after a full step, and reports maxIter otherwise', async () => {
    const problem = quadratic(5, 3);
    let checks = 0;
    const stopped = await minimizeNewtonCholesky(problem, new Float64Array(5), {
      gtol: 0,
      stop: () => (++checks === 1 ? 'enough' : undefined),
    });
    expect(stopped).toMatchObject({ converged: true, message: 'enough', iterations: 1 });
    const capped = await minimizeNewtonCholesky(
      { ...problem, hessian: (H) => H.set(problem.A.map((v) => 4 * v)) },
      new Float64Array(5),
      { gtol: 0, maxIter: 3 },
    );
    expect(capped).toMatchObject({ converged: false, iterations: 3 });
    expect(capped.message).toMatch(/maxIter/);
  });
});

describe('LogisticObjective.hessian', () => {
  const rng = new Random(5);
  const n = 80;
  const p = 8;
  const X = denseMatrix(n, p);
  // Two numeric columns (1 and 2, one of them half zeros: dense columns) and a six-level one-hot
  // block (sparse columns), one level placed before the numeric columns.
  const levels = [0, 3, 4, 5, 6, 7];
  for (let i = 0; i < n; i++) {
    X.data[i * p + 1] = rng.normal();
    X.data[i * p + 2] = rng.next() < 0.5 ? 0 : rng.normal();
    X.data[i * p + levels[rng.int(6)]] = 1;
  }
  const y = Int32Array.from({ length: n }, () => (rng.next() < 0.3 ? 1 : 0));
  const s = Float64Array.from({ length: n }, () => 0.5 + rng.next());

  for (const fitIntercept of [true, false]) {
    for (const matrix of [X, denseToCsr(X)]) {
      it(`equals central differences of the gradient (${matrix.kind}, intercept ${fitIntercept})`, () => {
        const objective = new LogisticObjective(matrix, y, s, 1, fitIntercept, 0.8);
        const d = p + (fitIntercept ? 1 : 0);
        const w = Float64Array.from({ length: d }, () => 0.5 * rng.normal());
        const H = new Float64Array(d * d);
        objective.evaluate(w, new Float64Array(d));
        objective.hessian(H);
        const gp = new Float64Array(d);
        const gm = new Float64Array(d);
        const h = 1e-6;
        for (let k = 0; k < d; k++) {
          const wp = Float64Array.from(w);
          const wm = Float64Array.from(w);
          wp[k] += h;
          wm[k] -= h;
          objective.evaluate(wp, gp);
          objective.evaluate(wm, gm);
          // Column k below the diagonal (the lower triangle is what the solver reads).
          for (let j = k; j < d; j++) {
            const numeric = (gp[j] - gm[j]) / (2 * h);
            expect(Math.abs(H[j * d + k] - numeric)).toBeLessThan(1e-8);
          }
        }
      });
    }
  }

  it('gives the value and gradient of a direct computation over the split layout', () => {
    const objective = new LogisticObjective(X, y, s, 1, true, 0.8);
    const w = Float64Array.from({ length: p + 1 }, () => rng.normal());
    const grad = new Float64Array(p + 1);
    const value = objective.evaluate(w, grad) * objective.scale;
    let expected = 0;
    const direct = new Float64Array(p + 1);
    for (let i = 0; i < n; i++) {
      let z = w[p];
      for (let j = 0; j < p; j++) z += X.data[i * p + j] * w[j];
      const sign = y[i] === 1 ? 1 : -1;
      expected += 0.8 * s[i] * Math.log1p(Math.exp(-sign * z));
      const r = (0.8 * s[i] * -sign) / (1 + Math.exp(sign * z));
      for (let j = 0; j < p; j++) direct[j] += r * X.data[i * p + j];
      direct[p] += r;
    }
    for (let j = 0; j < p; j++) {
      expected += 0.5 * w[j] * w[j];
      direct[j] += w[j];
    }
    expect(Math.abs(value - expected) / expected).toBeLessThan(1e-12);
    for (let j = 0; j <= p; j++) expect(grad[j] * objective.scale).toBeCloseTo(direct[j], 10);
  });

  it('is refused for multinomial problems', () => {
    const objective = new LogisticObjective(
      X,
      Int32Array.from(y, (v, i) => v + (i % 2)),
      s,
      3,
      true,
      1,
    );
    objective.evaluate(new Float64Array(3 * p + 3), new Float64Array(3 * p + 3));
    expect(() => objective.hessian(new Float64Array(1))).toThrow(/binary/);
  });
});
