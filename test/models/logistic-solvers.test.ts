import { describe, expect, it } from 'vitest';
import { type DenseMatrix, denseMatrix, denseToCsr, type Matrix } from '../../src/data/matrix.js';
import { LogisticObjective } from '../../src/models/logistic-objective.js';
import {
  chooseSolver,
  type LogisticRegressionModel,
  type LogisticRegressionParams,
  logisticRegression,
  logisticRegressionParams,
} from '../../src/models/logistic-regression.js';
import { minimizeLbfgs } from '../../src/models/optim/lbfgs.js';
import { Random } from '../../src/util/random.js';

/**
 * A small credit-like problem: `numeric` standard normal columns (two of them nearly collinear) and a
 * one-hot block of `levels` levels with uneven frequencies; y ~ Bernoulli(sigmoid(x.w + b)), about
 * 10 % positive.
 */
function oneHotProblem(seed: number, n = 1500, numeric = 4, levels = 12): { X: DenseMatrix; y: Int32Array } {
  const rng = new Random(seed);
  const p = numeric + levels;
  const X = denseMatrix(n, p);
  const y = new Int32Array(n);
  const effect = Array.from({ length: levels }, () => 0.6 * rng.normal());
  for (let i = 0; i < n; i++) {
    const o = i * p;
    for (let j = 0; j < numeric; j++) X.data[o + j] = rng.normal();
    X.data[o + 1] = X.data[o] + 0.05 * rng.normal();
    const level = Math.min(levels - 1, Math.floor(levels * rng.next() ** 2));
    X.data[o + numeric + level] = 1;
    const z = -2.4 + 0.8 * X.data[o] - 0.5 * X.data[o + 2] + effect[level];
    y[i] = rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  return { X, y };
}

async function train(X: Matrix, y: Int32Array, params: Partial<LogisticRegressionParams>, extra = {}) {
  const classes = ['no', 'yes', 'maybe'].slice(0, Math.max(...y) + 1);
  const warnings: string[] = [];
  const model = (await logisticRegression.fit(X, y, {
    params: logisticRegressionParams.parse(params),
    task: classes.length === 2 ? 'binary' : 'multiclass',
    classes,
    seed: 0,
    warn: (m) => warnings.push(m),
    ...extra,
  })) as LogisticRegressionModel;
  const { coef, intercept } = model.save().tensors;
  return { model, warnings, diagnostics: model.diagnostics(), coef, intercept };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

describe('logistic_regression solvers', () => {
  const { X, y } = oneHotProblem(1);
  // Tight enough that the collinear pair's coefficients settle too (tol 1e-10 leaves them 1.6e-6 apart).
  const tight = { scoreTol: 0, tol: 1e-12, ftol: 1e-30 };

  for (const [name, matrix] of [
    ['dense', X],
    ['CSR', denseToCsr(X)],
  ] as const) {
    it(`newton-cholesky and L-BFGS reach the same optimum (${name}, balanced, with and without intercept)`, async () => {
      for (const fitIntercept of [true, false]) {
        const common = { ...tight, classWeight: 'balanced' as const, C: 0.5, fitIntercept };
        const newton = await train(matrix, y, { ...common, solver: 'newton-cholesky' });
        const lbfgs = await train(matrix, y, { ...common, solver: 'lbfgs', maxIter: 10_000 });
        expect(newton.diagnostics).toMatchObject({ solver: 'newton-cholesky', converged: true });
        // L-BFGS runs until its line search cannot lower the objective any more (rounding level).
        expect(lbfgs.diagnostics.solver).toBe('lbfgs');
        expect(maxAbsDiff(newton.coef.data, lbfgs.coef.data)).toBeLessThan(1e-6);
        expect(maxAbsDiff(newton.intercept.data, lbfgs.intercept.data)).toBeLessThan(1e-6);
        expect(
          Math.abs(Number(newton.diagnostics.objective) - Number(lbfgs.diagnostics.objective)),
        ).toBeLessThan(1e-9 * Number(lbfgs.diagnostics.objective));
        // Newton's few iterations are the point of it.
        expect(Number(newton.diagnostics.iterations)).toBeLessThan(15);
        expect(Number(lbfgs.diagnostics.iterations)).toBeGreaterThan(Number(newton.diagnostics.iterations));
      }
    });
  }

  it('newton-cholesky takes sample weights like L-BFGS does', async () => {
    const sampleWeight = Float64Array.from({ length: y.length }, (_, i) => 0.5 + (i % 7) / 3);
    const newton = await train(X, y, { ...tight, solver: 'newton-cholesky' }, { sampleWeight });
    const lbfgs = await train(X, y, { ...tight, solver: 'lbfgs', maxIter: 10_000 }, { sampleWeight });
    expect(maxAbsDiff(newton.coef.data, lbfgs.coef.data)).toBeLessThan(1e-6);
  });

  it('auto picks newton-cholesky for a binary problem with few features, lbfgs otherwise', async () => {
    expect((await train(X, y, {})).diagnostics.solver).toBe('newton-cholesky');
    const three = Int32Array.from(y, (v, i) => (v === 1 ? 1 : i % 3 === 0 ? 2 : 0));
    expect((await train(X, three, {})).diagnostics.solver).toBe('lbfgs');
    // 50,000 columns (a TF-IDF vocabulary), 20 nonzeros a row: a 50,001^2 Hessian is out of the question.
    expect(chooseSolver('auto', { rows: 10_000, cols: 50_000, nonzeros: 200_000 }, 1)).toBe('lbfgs');
    // 300 dense columns: 45,000 products a row for the Hessian against 750 for L-BFGS's passes.
    expect(chooseSolver('auto', { rows: 10_000, cols: 300, nonzeros: 3_000_000 }, 1)).toBe('lbfgs');
    expect(chooseSolver('auto', { rows: 10_000, cols: 103, nonzeros: 220_000 }, 1)).toBe('newton-cholesky');
    expect(chooseSolver('lbfgs', { rows: 10_000, cols: 103, nonzeros: 220_000 }, 1)).toBe('lbfgs');
    await expect(train(X, three, { solver: 'newton-cholesky' })).rejects.toThrow(
      /newton-cholesky solves binary problems; this one has 3 classes/,
    );
  });

  it('stops once no score moves by more than scoreTol, near the optimum', async () => {
    const optimum = await train(X, y, { ...tight, solver: 'lbfgs', maxIter: 10_000 });
    const loose = await train(X, y, { solver: 'lbfgs', scoreTol: 1e-2 });
    expect(loose.diagnostics.message).toMatch(/no score changed by more than scoreTol/);
    expect(Number(loose.diagnostics.iterations)).toBeLessThan(Number(optimum.diagnostics.iterations));
    // What is left after a step that small is small too, on every row's log-odds.
    const logit = (m: LogisticRegressionModel) => {
      const proba = m.predict(X);
      return Array.from({ length: X.rows }, (_, i) => Math.log(proba[2 * i + 1] / proba[2 * i]));
    };
    expect(maxAbsDiff(logit(loose.model), logit(optimum.model))).toBeLessThan(0.2);
    expect(maxAbsDiff(logit(loose.model), logit(optimum.model))).toBeGreaterThan(1e-6);
  });

  it("solver 'lbfgs' with scoreTol 0 reproduces the fit made before scoreTol existed, exactly", async () => {
    const weights = new Float64Array(y.length).fill(1);
    const objective = new LogisticObjective(X, y, weights, 1, true, 1);
    const scale = objective.scale;
    // What fitLogisticRegression ran before: L-BFGS on the summed objective, tol 1e-8, ftol 64 eps.
    const before = await minimizeLbfgs(
      (x, g) => {
        const v = objective.evaluate(x, g) * scale;
        for (let j = 0; j < g.length; j++) g[j] *= scale;
        return v;
      },
      new Float64Array(X.cols + 1),
      { maxIter: 1000, gtol: 1e-8 * scale, ftol: 64 * Number.EPSILON },
    );
    const now = await train(X, y, { solver: 'lbfgs', scoreTol: 0 });
    expect(now.diagnostics.iterations).toBe(before.iterations);
    expect(Array.from(now.coef.data)).toEqual(Array.from(before.x.subarray(0, X.cols)));
    expect(now.intercept.data[0]).toBe(before.x[X.cols]);
  });

  it('warm-starts newton-cholesky from a nearby solution in fewer iterations', async () => {
    const other = oneHotProblem(2);
    const nearby = (await train(other.X, other.y, {})).model.save();
    const cold = await train(X, y, tight);
    const warm = await train(X, y, tight, { warmStart: nearby });
    expect(maxAbsDiff(warm.coef.data, cold.coef.data)).toBeLessThan(1e-8);
    expect(Number(warm.diagnostics.iterations)).toBeLessThan(Number(cold.diagnostics.iterations));
  });
});
