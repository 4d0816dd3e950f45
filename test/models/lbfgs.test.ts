import { describe, expect, it } from 'vitest';
import { minimizeLbfgs, type ObjectiveFunction } from '../../src/models/optim/lbfgs.js';

function rosenbrock(n: number): ObjectiveFunction {
  return (x, g) => {
    g.fill(0);
    let f = 0;
    for (let i = 0; i < n - 1; i++) {
      const a = x[i + 1] - x[i] * x[i];
      const b = 1 - x[i];
      f += 100 * a * a + b * b;
      g[i] += -400 * a * x[i] - 2 * b;
      g[i + 1] += 200 * a;
    }
    return f;
  };
}

/** 0.5 sum_i c_i (x_i - 1)^2 with curvatures 1 .. cond. */
function quadratic(n: number, cond: number): ObjectiveFunction {
  return (x, g) => {
    let f = 0;
    for (let i = 0; i < n; i++) {
      const c = 1 + ((cond - 1) * i) / (n - 1);
      const d = x[i] - 1;
      f += 0.5 * c * d * d;
      g[i] = c * d;
    }
    return f;
  };
}

describe('minimizeLbfgs', () => {
  it('solves the Rosenbrock function from the classic start to the gradient tolerance', async () => {
    const x0 = new Float64Array(10).fill(-1.2);
    const r = await minimizeLbfgs(rosenbrock(10), x0, { gtol: 1e-9, ftol: 0 });
    expect(r.converged).toBe(true);
    expect(r.message).toBe('gradient below gtol');
    expect(r.gradientNorm).toBeLessThanOrEqual(1e-9);
    for (const v of r.x) expect(v).toBeCloseTo(1, 8);
    expect(r.value).toBeLessThan(1e-16);
    // A proper line search takes the unit step almost always: few extra evaluations per iteration.
    expect(r.functionEvaluations).toBeLessThan(1.5 * r.iterations);
    // The start is copied, not overwritten.
    expect(x0[0]).toBe(-1.2);
  });

  it('handles an ill-conditioned quadratic and reports max-abs gradient', async () => {
    const r = await minimizeLbfgs(quadratic(50, 1e4), new Float64Array(50), { gtol: 1e-10, ftol: 0 });
    expect(r.converged).toBe(true);
    for (const v of r.x) expect(Math.abs(v - 1)).toBeLessThan(1e-9);
    const g = new Float64Array(50);
    quadratic(50, 1e4)(r.x, g);
    expect(r.gradientNorm).toBe(Math.max(...g.map(Math.abs)));
  });

  it('stops on the relative decrease of f when the gradient test cannot be met', async () => {
    const r = await minimizeLbfgs(quadratic(20, 100), new Float64Array(20), { gtol: 0, ftol: 1e-6 });
    expect(r.converged).toBe(true);
    expect(r.message).toMatch(/relative reduction/);
    expect(r.gradientNorm).toBeGreaterThan(0);
  });

  it("stops when the caller's test says so, with its reason, only after the built-in tests", async () => {
    let checks = 0;
    const r = await minimizeLbfgs(quadratic(20, 100), new Float64Array(20), {
      gtol: 0,
      ftol: 0,
      stop: () => (++checks === 3 ? 'enough' : undefined),
    });
    expect(r).toMatchObject({ converged: true, message: 'enough', iterations: 3 });
    const gradientFirst = await minimizeLbfgs(quadratic(3, 10), new Float64Array(3), {
      gtol: 1e30,
      stop: () => 'never asked',
    });
    expect(gradientFirst.message).toBe('gradient below gtol');
  });

  it('reports non-convergence at maxIter', async () => {
    const r = await minimizeLbfgs(rosenbrock(4), new Float64Array(4).fill(-1.2), {
      maxIter: 3,
      gtol: 1e-12,
      ftol: 0,
    });
    expect(r.converged).toBe(false);
    expect(r.iterations).toBe(3);
    expect(r.message).toMatch(/maxIter/);
  });

  // With maxIter 1 the only step is the steepest-descent line search, so x1 - x0 = alpha * d, d = -g0.
  for (const [name, f, df, x0] of [
    // The first trial (a unit move) is far too short: the search must extrapolate.
    ['log cosh', (x: number) => Math.log(Math.cosh(x - 3)), (x: number) => Math.tanh(x - 3), 0],
    // The first trial overshoots to a higher value: the search must interpolate back.
    ['pseudo-Huber', (x: number) => Math.sqrt(1 + x * x), (x: number) => x / Math.sqrt(1 + x * x), 0.01],
  ] as const) {
    it(`accepts a step satisfying the strong Wolfe conditions (${name})`, async () => {
      const r = await minimizeLbfgs(
        (x, g) => {
          g[0] = df(x[0]);
          return f(x[0]);
        },
        [x0],
        { maxIter: 1, gtol: 0 },
      );
      expect(r.iterations).toBe(1);
      const d = -df(x0);
      const alpha = (r.x[0] - x0) / d;
      expect(alpha).toBeGreaterThan(0);
      expect(f(r.x[0])).toBeLessThanOrEqual(f(x0) + 1e-3 * alpha * df(x0) * d);
      expect(Math.abs(df(r.x[0]) * d)).toBeLessThanOrEqual(0.9 * Math.abs(df(x0) * d));
      expect(r.functionEvaluations).toBeGreaterThan(2);
    });
  }

  it('returns at once when the start is already stationary', async () => {
    const r = await minimizeLbfgs(quadratic(3, 10), new Float64Array(3).fill(1));
    expect(r).toMatchObject({ iterations: 0, functionEvaluations: 1, converged: true });
  });

  it('backs off from steps where the objective overflows', async () => {
    // Finite only within 0.3 of the minimum at 0.5; the first trial step (length 1) lands outside.
    let overflows = 0;
    const f: ObjectiveFunction = (x, g) => {
      if (Math.abs(x[0] - 0.5) >= 0.3) {
        overflows++;
        g[0] = Number.NaN;
        return Number.POSITIVE_INFINITY;
      }
      g[0] = 4 * (x[0] - 0.5) ** 3 + (x[0] - 0.5);
      return (x[0] - 0.5) ** 4 + 0.5 * (x[0] - 0.5) ** 2;
    };
    const r = await minimizeLbfgs(f, [0.75], { gtol: 1e-10 });
    expect(overflows).toBeGreaterThan(0);
    expect(r.converged).toBe(true);
    expect(r.x[0]).toBeCloseTo(0.5, 8);
  });

  it('rejects a start where the objective is not finite', async () => {
    await expect(minimizeLbfgs(() => Number.NaN, [0])).rejects.toThrow(/starting point/);
  });
});
