import { describe, expect, it } from 'vitest';
import { type DenseMatrix, denseMatrix, denseToCsr, type Matrix } from '../../src/data/matrix.js';
import type { FitOptions } from '../../src/models/family.js';
import { getModelFamily } from '../../src/models/registry.js';
import { type RidgeModel, type RidgeParams, ridgeParams, ridgeRegression } from '../../src/models/ridge.js';
import { Random } from '../../src/util/random.js';

/** y = X w + b + noise, X ~ N(0, 1) with about `zeroFraction` exact zeros (so CSR input is sparse). */
function generate(rng: Random, n: number, w: number[], b: number, noise: number, zeroFraction = 0) {
  const p = w.length;
  const X = denseMatrix(n, p);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let v = b;
    for (let j = 0; j < p; j++) {
      const x = rng.next() < zeroFraction ? 0 : rng.normal() + 0.5 * j;
      X.data[i * p + j] = x;
      v += w[j] * x;
    }
    y[i] = v + noise * rng.normal();
  }
  return { X, y };
}

/** Solves A x = b (A n x n, row-major) by Gaussian elimination with partial pivoting. */
function solve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let pivot = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[pivot][c])) pivot = r;
    [M[c], M[pivot]] = [M[pivot], M[c]];
    for (let r = c + 1; r < n; r++) {
      const f = M[r][c] / M[c][c];
      for (let k = c; k <= n; k++) M[r][k] -= f * M[c][k];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let v = M[r][n];
    for (let k = r + 1; k < n; k++) v -= M[r][k] * x[k];
    x[r] = v / M[r][r];
  }
  return x;
}

/**
 * The closed-form minimiser of sum_i s_i (y_i - x_i.w - b)^2 + alpha ||w||^2, written directly (no
 * centring): the normal equations of the design [X, 1] with the intercept's diagonal left unpenalised.
 */
function closedForm(
  X: DenseMatrix,
  y: Float64Array,
  alpha: number,
  fitIntercept: boolean,
  s?: Float64Array,
): { coef: number[]; intercept: number } {
  const p = X.cols;
  const q = fitIntercept ? p + 1 : p;
  const A = Array.from({ length: q }, () => new Array<number>(q).fill(0));
  const rhs = new Array<number>(q).fill(0);
  for (let i = 0; i < X.rows; i++) {
    const row = Array.from(X.data.subarray(i * p, (i + 1) * p));
    if (fitIntercept) row.push(1);
    const w = s ? s[i] : 1;
    for (let a = 0; a < q; a++) {
      rhs[a] += w * row[a] * y[i];
      for (let c = 0; c < q; c++) A[a][c] += w * row[a] * row[c];
    }
  }
  for (let j = 0; j < p; j++) A[j][j] += alpha;
  const x = solve(A, rhs);
  return { coef: x.slice(0, p), intercept: fitIntercept ? x[p] : 0 };
}

function options(params: Partial<RidgeParams> = {}, extra: Partial<FitOptions<RidgeParams>> = {}) {
  return {
    params: ridgeParams.parse(params),
    task: 'regression' as const,
    classes: [],
    seed: 0,
    ...extra,
  };
}

async function train(
  X: Matrix,
  y: Float64Array,
  params: Partial<RidgeParams> = {},
  extra: Partial<FitOptions<RidgeParams>> = {},
) {
  const warnings: string[] = [];
  const model = (await ridgeRegression.fit(
    X,
    y,
    options(params, { warn: (m) => warnings.push(m), ...extra }),
  )) as RidgeModel;
  return { model, warnings, coef: Array.from(model.coef), intercept: model.intercept };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

describe('ridge family', () => {
  const w = [1.5, -2, 0.5, 0, 3];
  const { X, y } = generate(new Random(3), 400, w, 0.7, 0.5, 0.4);
  const weights = Float64Array.from({ length: X.rows }, (_, i) => [0.5, 1, 2, 0, 3][i % 5]);

  it('is registered by name for regression, with dense and sparse input and sample weights', () => {
    expect(getModelFamily('ridge')).toBe(ridgeRegression);
    expect(ridgeRegression.tasks).toEqual(['regression']);
    expect(ridgeRegression.capabilities).toMatchObject({
      inputs: ['dense', 'sparse'],
      missingValues: false,
      sampleWeights: true,
    });
    expect(ridgeParams.parse({})).toEqual({
      alpha: 1,
      fitIntercept: true,
      solver: 'auto',
      tol: 1e-10,
      maxIter: 10_000,
    });
    expect(() => ridgeParams.parse({ alpha: -1 })).toThrow();
    expect(() => ridgeParams.parse({ lambda: 1 })).toThrow();
  });

  for (const fitIntercept of [true, false]) {
    for (const weighted of [false, true]) {
      it(`matches the closed-form solution (${weighted ? 'weighted' : 'unweighted'}, ${fitIntercept ? 'with' : 'without'} intercept)`, async () => {
        const s = weighted ? weights : undefined;
        for (const alpha of [0.1, 10]) {
          const expected = closedForm(X, y, alpha, fitIntercept, s);
          const { coef, intercept, model } = await train(
            X,
            y,
            { alpha, fitIntercept },
            s ? { sampleWeight: s } : {},
          );
          expect(maxAbsDiff(coef, expected.coef)).toBeLessThan(1e-10);
          expect(Math.abs(intercept - expected.intercept)).toBeLessThan(1e-10);
          if (!fitIntercept) expect(intercept).toBe(0);
          expect(model.diagnostics()).toEqual({ solver: 'cholesky', iterations: 1, converged: true });
        }
      });
    }
  }

  it('weights a row like repeating it', async () => {
    const counts = Int32Array.from({ length: X.rows }, (_, i) => i % 3);
    const rows: number[] = [];
    counts.forEach((c, i) => {
      for (let t = 0; t < c; t++) rows.push(i);
    });
    const repeated = denseMatrix(rows.length, X.cols);
    rows.forEach((i, r) => {
      repeated.data.set(X.data.subarray(i * X.cols, (i + 1) * X.cols), r * X.cols);
    });
    const weighted = await train(X, y, { alpha: 2 }, { sampleWeight: Float64Array.from(counts) });
    const copies = await train(
      repeated,
      Float64Array.from(rows, (i) => y[i]),
      { alpha: 2 },
    );
    expect(maxAbsDiff(weighted.coef, copies.coef)).toBeLessThan(1e-10);
    expect(Math.abs(weighted.intercept - copies.intercept)).toBeLessThan(1e-10);
  });

  it('predicts X w + b, one value per row', async () => {
    const { model, coef, intercept } = await train(X, y, { alpha: 1 });
    const predictions = model.predict(X);
    expect(predictions).toBeInstanceOf(Float64Array);
    expect(predictions.length).toBe(X.rows);
    for (let i = 0; i < X.rows; i++) {
      let v = intercept;
      for (let j = 0; j < X.cols; j++) v += X.data[i * X.cols + j] * coef[j];
      expect(Math.abs(predictions[i] - v)).toBeLessThan(1e-12);
    }
    expect(() => model.predict(denseMatrix(1, 3))).toThrow(
      /ridge: model has 5 features, input matrix has 3 columns/,
    );
  });

  it('gives the same coefficients for dense and CSR input, with either solver', async () => {
    const csr = denseToCsr(X);
    expect(csr.data.length).toBeLessThan(0.7 * X.rows * X.cols);
    for (const solver of ['cholesky', 'cg'] as const) {
      for (const s of [undefined, weights]) {
        const extra = s ? { sampleWeight: s } : {};
        const dense = await train(X, y, { alpha: 0.5, solver }, extra);
        const sparse = await train(csr, y, { alpha: 0.5, solver }, extra);
        expect(maxAbsDiff(sparse.coef, dense.coef)).toBeLessThan(1e-12);
        expect(Math.abs(sparse.intercept - dense.intercept)).toBeLessThan(1e-12);
        expect(maxAbsDiff(sparse.model.predict(csr), dense.model.predict(X))).toBeLessThan(1e-12);
      }
    }
  });

  it('Cholesky and conjugate gradients agree to 1e-8', async () => {
    for (const fitIntercept of [true, false]) {
      for (const s of [undefined, weights]) {
        const extra = s ? { sampleWeight: s } : {};
        const exact = await train(X, y, { alpha: 0.3, fitIntercept, solver: 'cholesky' }, extra);
        const cg = await train(denseToCsr(X), y, { alpha: 0.3, fitIntercept, solver: 'cg' }, extra);
        expect(maxAbsDiff(cg.coef, exact.coef)).toBeLessThan(1e-8);
        expect(Math.abs(cg.intercept - exact.intercept)).toBeLessThan(1e-8);
        expect(cg.model.diagnostics()).toMatchObject({ solver: 'cg', converged: true });
        expect(Number(cg.model.diagnostics().iterations)).toBeGreaterThan(1);
        expect(cg.warnings).toEqual([]);
      }
    }
  });

  it('warns when conjugate gradients stop at maxIter', async () => {
    const { model, warnings } = await train(X, y, { solver: 'cg', maxIter: 1 });
    expect(model.diagnostics()).toMatchObject({ solver: 'cg', iterations: 1, converged: false });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/ridge: conjugate gradients reached maxIter \(1\)/);
  });

  it('round-trips through save and load with identical predictions', async () => {
    for (const solver of ['cholesky', 'cg'] as const) {
      const { model } = await train(X, y, { alpha: 2, solver }, { sampleWeight: weights });
      const saved = model.save();
      expect(saved.tensors.coef.shape).toEqual([1, X.cols]);
      expect(saved.tensors.intercept.shape).toEqual([1]);
      // The manifest stores meta as JSON.
      const loaded = ridgeRegression.load(
        { meta: JSON.parse(JSON.stringify(saved.meta)), tensors: saved.tensors },
        { task: 'regression', classes: [] },
      ) as RidgeModel;
      expect(Array.from(loaded.predict(X))).toEqual(Array.from(model.predict(X)));
      expect(loaded.save().tensors.coef.data).toEqual(saved.tensors.coef.data);
      expect(loaded.save().tensors.intercept.data).toEqual(saved.tensors.intercept.data);
      expect(loaded.diagnostics()).toEqual(model.diagnostics());
    }
  });

  it('rejects malformed saved models', async () => {
    const { model } = await train(X, y);
    const saved = model.save();
    const context = { task: 'regression' as const, classes: [] };
    const { intercept: _, ...noIntercept } = saved.tensors;
    expect(() => ridgeRegression.load({ ...saved, tensors: noIntercept }, context)).toThrow(
      /needs tensors "coef" and "intercept"/,
    );
    expect(() =>
      ridgeRegression.load(
        { ...saved, tensors: { ...saved.tensors, coef: { shape: [2, 5], data: new Float64Array(10) } } },
        context,
      ),
    ).toThrow(/"coef" must have shape \[1, p\]/);
  });

  it('rejects class codes as y: a regression needs numeric targets', async () => {
    // fit returns a promise: a bad input is a rejection, not an exception thrown before it exists.
    const small = denseMatrix(3, 2, Float64Array.from([1, 2, 3, 4, 5, 6]));
    await expect(ridgeRegression.fit(small, Int32Array.from([1, 2, 3]), options())).rejects.toThrow(
      /ridge: a regression needs numeric targets \(Float64Array\) as y/,
    );
  });

  it('rejects bad input with clear errors', async () => {
    const small = denseMatrix(3, 2, Float64Array.from([1, 2, 3, 4, 5, 6]));
    const target = Float64Array.from([1, 2, 3]);
    const nan = denseMatrix(3, 2, Float64Array.from([1, 2, 3, Number.NaN, 5, 6]));
    await expect(ridgeRegression.fit(nan, target, options())).rejects.toThrow(
      /ridge: X holds NaN; impute missing values before the model/,
    );
    await expect(
      ridgeRegression.fit(small, target, options({}, { sampleWeight: Float64Array.from([1, -1, 1]) })),
    ).rejects.toThrow(/ridge: sampleWeight\[1\] = -1 must be finite and >= 0/);
    await expect(
      ridgeRegression.fit(small, target, options({}, { sampleWeight: new Float64Array(3) })),
    ).rejects.toThrow(/the sample weights sum to 0/);
    await expect(ridgeRegression.fit(small, Float64Array.from([1, 2]), options())).rejects.toThrow(
      /X has 3 rows but y has 2 values/,
    );
    await expect(
      ridgeRegression.fit(small, Float64Array.from([1, Number.NaN, 3]), options()),
    ).rejects.toThrow(/y\[1\] is NaN/);
  });
});
