import { describe, expect, it } from 'vitest';
import { denseMatrix, denseToCsr, type Matrix } from '../../src/data/matrix.js';
import { getModelFamily } from '../../src/models/index.js';
import {
  DualCoordinateDescent,
  type LinearSvmModel,
  type LinearSvmParams,
  linearSvm,
  linearSvmParams,
  type SvmLoss,
} from '../../src/models/linear-svm.js';
import { fitPlattSigmoid } from '../../src/models/platt.js';
import { Random } from '../../src/util/random.js';
import { blobs } from './blobs.js';

async function train(
  X: Matrix,
  y: Int32Array,
  classes: string[],
  params: Partial<LinearSvmParams> = {},
  extra: { seed?: number; sampleWeight?: Float64Array } = {},
) {
  const warnings: string[] = [];
  const model = (await linearSvm.fit(X, y, {
    params: linearSvmParams.parse(params),
    task: classes.length === 2 ? 'binary' : 'multiclass',
    classes,
    seed: extra.seed ?? 0,
    sampleWeight: extra.sampleWeight,
    warn: (m) => warnings.push(m),
  })) as LinearSvmModel;
  const saved = model.save();
  return { model, warnings, saved, coef: saved.tensors.coef.data, intercept: saved.tensors.intercept.data };
}

const binaryContext = (classes: string[]) => ({ task: 'binary' as const, classes });

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

/** Values with -0 written as 0, so exact comparisons ignore the sign of zero. */
function plain(a: ArrayLike<number>): number[] {
  return Array.from(a, (v) => v + 0);
}

function logLoss(proba: Float64Array, y: Int32Array, k: number): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s -= Math.log(Math.max(proba[i * k + y[i]], 1e-15));
  return s / y.length;
}

function argmaxRows(values: Float64Array, k: number): Int32Array {
  const out = new Int32Array(values.length / k);
  for (let i = 0; i < out.length; i++) {
    for (let c = 1; c < k; c++) if (values[i * k + c] > values[i * k + out[i]]) out[i] = c;
  }
  return out;
}

describe('DualCoordinateDescent', () => {
  const { X, y } = blobs(new Random(5), [70, 50], 4, 1.2, 0.3);
  const sign = Int8Array.from(y, (c) => (c === 1 ? 1 : -1));
  const bias = 1.5;

  for (const loss of ['hinge', 'squared_hinge'] as SvmLoss[]) {
    it(`${loss}: KKT holds and the primal and dual objectives meet`, () => {
      // Uneven costs (sample and class weights) and a row left out, to exercise C_i and `rows`.
      const cost = Float64Array.from(y, (c, i) => (c === 1 ? 2 : 0.7) * (1 + (i % 3)));
      const rows = Int32Array.from({ length: X.rows - 1 }, (_, r) => r + 1);
      const solver = new DualCoordinateDescent(X, bias);
      const tol = 1e-9;
      const result = solver.solve(rows, sign, cost, { loss, tol, maxIter: 100_000, rng: new Random(1) });
      expect(result.converged).toBe(true);
      const { w, alpha } = solver;
      const p = X.cols;
      expect(alpha[0]).toBe(0);

      // w = sum alpha_i y_i x~_i, x~ = (x, bias), recomputed from the dual variables.
      const rebuilt = new Float64Array(p + 1);
      for (const i of rows) {
        for (let j = 0; j < p; j++) rebuilt[j] += alpha[i] * sign[i] * X.data[i * p + j];
        rebuilt[p] += alpha[i] * sign[i] * bias;
      }
      expect(maxAbsDiff(rebuilt, w)).toBeLessThan(1e-10);

      let norm = 0;
      for (let j = 0; j <= p; j++) norm += w[j] * w[j];
      let primal = 0.5 * norm;
      let dual = -0.5 * norm;
      for (const i of rows) {
        let margin = bias * w[p];
        for (let j = 0; j < p; j++) margin += X.data[i * p + j] * w[j];
        margin *= sign[i];
        const hinge = Math.max(0, 1 - margin);
        primal += cost[i] * (loss === 'hinge' ? hinge : hinge * hinge);
        const d = loss === 'hinge' ? 0 : 1 / (2 * cost[i]);
        dual += alpha[i] - 0.5 * d * alpha[i] * alpha[i];

        // Projected gradient of the dual at alpha_i, with its box [0, C_i] (hinge) or [0, inf).
        const g = margin - 1 + d * alpha[i];
        const upper = loss === 'hinge' ? cost[i] : Number.POSITIVE_INFINITY;
        expect(alpha[i]).toBeGreaterThanOrEqual(0);
        expect(alpha[i]).toBeLessThanOrEqual(upper);
        if (alpha[i] === 0) expect(g).toBeGreaterThan(-1e-7);
        else if (alpha[i] === upper) expect(g).toBeLessThan(1e-7);
        else expect(Math.abs(g)).toBeLessThan(1e-7);
      }
      expect(primal).toBeGreaterThanOrEqual(dual - 1e-9);
      expect((primal - dual) / primal).toBeLessThan(1e-7);
    });
  }

  it('stops by the projected-gradient gap: a looser tol takes fewer passes', () => {
    const cost = new Float64Array(X.rows).fill(1);
    const rows = Int32Array.from({ length: X.rows }, (_, i) => i);
    const solver = new DualCoordinateDescent(X, 1);
    const options = { loss: 'hinge' as const, maxIter: 10_000, rng: new Random(2) };
    const loose = solver.solve(rows, sign, cost, { ...options, tol: 1e-1 });
    const tight = solver.solve(rows, sign, cost, { ...options, tol: 1e-8 });
    expect(loose.converged && tight.converged).toBe(true);
    expect(loose.iterations).toBeLessThan(tight.iterations);
  });
});

describe('linear_svm family', () => {
  it('is registered by name with its defaults, like LinearSVC', () => {
    expect(getModelFamily('linear_svm')).toBe(linearSvm);
    expect(linearSvm.capabilities.inputs).toContain('sparse');
    expect(linearSvmParams.parse({})).toEqual({
      C: 1,
      loss: 'squared_hinge',
      classWeight: null,
      fitIntercept: true,
      interceptScaling: 1,
      tol: 1e-4,
      maxIter: 1000,
      calibration: 'sigmoid',
      calibrationFolds: 3,
    });
    expect(() => linearSvmParams.parse({ penalty: 'l1' })).toThrow();
    expect(() => linearSvmParams.parse({ loss: 'log' })).toThrow();
    expect(() => linearSvmParams.parse({ calibrationFolds: 1 })).toThrow();
  });

  it('finds the maximum-margin line of separable points, the penalised intercept included', async () => {
    // Support vectors (3, 0) and (1, 0): minimising |w|^2 + b^2 with y (w.x + b) >= 1 gives w = (1, 0),
    // b = -2 (both constraints active), the line x1 = 2 halfway between them; the others lie beyond.
    const X = denseMatrix(6, 2, Float64Array.from([3, 0, 1, 0, 4, 1, 5, 2, 0, -1, -1, 1]));
    const y = Int32Array.from([1, 0, 1, 1, 0, 0]);
    const { model, coef, intercept } = await train(X, y, ['neg', 'pos'], {
      loss: 'hinge',
      C: 1000,
      tol: 1e-12,
      calibration: 'none',
    });
    expect(maxAbsDiff(coef, [1, 0])).toBeLessThan(1e-9);
    expect(intercept[0]).toBeCloseTo(-2, 9);
    expect(maxAbsDiff(model.decisionFunction(X), [1, -1, 2, 3, -2, -3])).toBeLessThan(1e-9);

    // The dual variables of the support vectors: w~ = 1.5 (3, 0, 1) - 3.5 (1, 0, 1).
    const solver = new DualCoordinateDescent(X, 1);
    const rows = Int32Array.from({ length: 6 }, (_, i) => i);
    solver.solve(
      rows,
      Int8Array.from(y, (c) => 2 * c - 1),
      new Float64Array(6).fill(1000),
      {
        loss: 'hinge',
        tol: 1e-12,
        maxIter: 10_000,
        rng: new Random(0),
      },
    );
    expect(maxAbsDiff(solver.alpha, [1.5, 3.5, 0, 0, 0, 0])).toBeLessThan(1e-9);
  });

  it('class weights move the boundary toward the lighter class', async () => {
    const { X, y } = blobs(new Random(8), [300, 300], 2, 1);
    const positives = (m: LinearSvmModel) => {
      const f = m.decisionFunction(X);
      return f.filter((v) => v > 0).length;
    };
    const plainFit = await train(X, y, ['a', 'b'], { calibration: 'none' });
    const heavyB = await train(X, y, ['a', 'b'], { calibration: 'none', classWeight: { b: 5 } });
    const heavyA = await train(X, y, ['a', 'b'], { calibration: 'none', classWeight: { a: 5 } });
    expect(heavyB.intercept[0]).toBeGreaterThan(plainFit.intercept[0]);
    expect(positives(heavyB.model)).toBeGreaterThan(positives(plainFit.model) + 30);
    expect(positives(heavyA.model)).toBeLessThan(positives(plainFit.model) - 30);

    // With two classes a class weight is that sample weight on its rows (liblinear's Cp and Cn).
    const weights = Float64Array.from(y, (c) => (c === 1 ? 5 : 1));
    const bySample = await train(X, y, ['a', 'b'], { calibration: 'none' }, { sampleWeight: weights });
    expect(plain(bySample.coef)).toEqual(plain(heavyB.coef));

    // 'balanced' on a 9:1 split predicts the rare class more often than no weights.
    const skewed = blobs(new Random(9), [540, 60], 2, 1);
    const count = (m: LinearSvmModel) => m.decisionFunction(skewed.X).filter((v) => v > 0).length;
    const none = await train(skewed.X, skewed.y, ['a', 'b'], { calibration: 'none' });
    const balanced = await train(skewed.X, skewed.y, ['a', 'b'], {
      calibration: 'none',
      classWeight: 'balanced',
    });
    const explicit = await train(skewed.X, skewed.y, ['a', 'b'], {
      calibration: 'none',
      classWeight: { a: 600 / (2 * 540), b: 600 / (2 * 60) },
    });
    expect(plain(balanced.coef)).toEqual(plain(explicit.coef));
    expect(count(balanced.model)).toBeGreaterThan(count(none.model) + 20);
  });

  it('one-vs-rest: a class weight scales only its own positives', async () => {
    const { X, y } = blobs(new Random(10), [100, 100, 100], 3, 1.5);
    const base = await train(X, y, ['a', 'b', 'c'], { calibration: 'none' });
    const heavy = await train(X, y, ['a', 'b', 'c'], { calibration: 'none', classWeight: { c: 4 } });
    const p = X.cols;
    // Problems a and b keep C = 1 for every row (c's rows are their negatives), so they do not change.
    expect(plain(heavy.coef.subarray(0, 2 * p))).toEqual(plain(base.coef.subarray(0, 2 * p)));
    expect(heavy.intercept[2]).toBeGreaterThan(base.intercept[2]);
  });

  it('sigmoid calibration: probabilities in (0, 1) summing to 1, with a better held-out log-loss than a softmax of margins', async () => {
    const counts = [400, 250, 150, 100];
    const fit = blobs(new Random(21), counts, 3, 1.2, 0.2);
    const held = blobs(new Random(22), counts, 3, 1.2, 0.2);
    const classes = ['a', 'b', 'c', 'd'];
    const calibrated = await train(denseToCsr(fit.X), fit.y, classes);
    const raw = await train(denseToCsr(fit.X), fit.y, classes, { calibration: 'none' });
    expect(calibrated.model.diagnostics()).toMatchObject({ calibration: 'sigmoid', converged: true });
    // The calibration refits the same SVM: only the probabilities differ.
    expect(plain(calibrated.coef)).toEqual(plain(raw.coef));

    const proba = calibrated.model.predict(held.X);
    for (let i = 0; i < held.X.rows; i++) {
      let sum = 0;
      for (let c = 0; c < 4; c++) {
        const v = proba[i * 4 + c];
        expect(v > 0 && v < 1).toBe(true);
        sum += v;
      }
      expect(sum).toBeCloseTo(1, 12);
    }
    const calibratedLoss = logLoss(proba, held.y, 4);
    const rawLoss = logLoss(raw.model.predict(held.X), held.y, 4);
    expect(calibratedLoss).toBeLessThan(rawLoss - 0.05);

    // Uncalibrated probabilities are the softmax of the decision values: same argmax.
    expect(argmaxRows(raw.model.predict(held.X), 4)).toEqual(
      argmaxRows(raw.model.decisionFunction(held.X), 4),
    );
  });

  it('binary calibration: one sigmoid on the positive column, P(negative) = 1 - P(positive)', async () => {
    const { X, y } = blobs(new Random(23), [300, 100], 2, 1);
    const { model, saved } = await train(X, y, ['no', 'yes']);
    expect(saved.tensors.calibration_a.shape).toEqual([1]);
    expect(saved.tensors.calibration_a.data[0]).toBeLessThan(0);
    const f = model.decisionFunction(X);
    const proba = model.predict(X);
    const a = saved.tensors.calibration_a.data[0];
    const b = saved.tensors.calibration_b.data[0];
    for (let i = 0; i < X.rows; i++) {
      expect(proba[2 * i + 1]).toBeCloseTo(1 / (1 + Math.exp(a * f[i] + b)), 12);
      expect(proba[2 * i] + proba[2 * i + 1]).toBeCloseTo(1, 12);
    }
  });

  it("Platt's fit recovers a known sigmoid and is stationary for scikit-learn's smoothed objective", () => {
    const rng = new Random(31);
    const n = 20_000;
    const f = Float64Array.from({ length: n }, () => 2 * rng.normal());
    const positive = Uint8Array.from(f, (v) => (rng.next() < 1 / (1 + Math.exp(-1.5 * v + 0.3)) ? 1 : 0));
    const fit = fitPlattSigmoid(f, positive);
    expect(fit.a).toBeCloseTo(-1.5, 1);
    expect(fit.b).toBeCloseTo(0.3, 1);

    let n1 = 0;
    for (const t of positive) n1 += t;
    const hi = (n1 + 1) / (n1 + 2);
    const lo = 1 / (n - n1 + 2);
    let ga = 0;
    let gb = 0;
    for (let i = 0; i < n; i++) {
      const p = 1 / (1 + Math.exp(fit.a * f[i] + fit.b));
      const t = positive[i] ? hi : lo;
      ga += f[i] * (t - p);
      gb += t - p;
    }
    expect(Math.abs(ga)).toBeLessThan(1e-5);
    expect(Math.abs(gb)).toBeLessThan(1e-5);
  });

  it('gives identical coefficients and predictions for dense and CSR input', async () => {
    const { X, y } = blobs(new Random(41), [120, 80, 60], 6, 1, 0.5);
    const classes = ['a', 'b', 'c'];
    for (const loss of ['squared_hinge', 'hinge'] as const) {
      const dense = await train(X, y, classes, { loss });
      const sparse = await train(denseToCsr(X), y, classes, { loss });
      expect(plain(sparse.coef)).toEqual(plain(dense.coef));
      expect(plain(sparse.intercept)).toEqual(plain(dense.intercept));
      expect(plain(sparse.saved.tensors.calibration_b.data)).toEqual(
        plain(dense.saved.tensors.calibration_b.data),
      );
      expect(plain(sparse.model.predict(denseToCsr(X)))).toEqual(plain(dense.model.predict(X)));
    }
  });

  it('round-trips through save and load with identical predictions', async () => {
    const { X, y } = blobs(new Random(51), [60, 40, 30], 4, 1, 0.3);
    const classes = ['a', 'b', 'c', 'unseen'];
    for (const calibration of ['sigmoid', 'none'] as const) {
      const { model, saved } = await train(X, y, classes, { calibration });
      expect(saved.tensors.coef.shape).toEqual([3, 4]);
      expect(saved.meta).toMatchObject({ fittedClasses: ['a', 'b', 'c'], converged: true });
      expect(Boolean(saved.tensors.calibration_a)).toBe(calibration === 'sigmoid');
      // The manifest stores meta as JSON.
      const loaded = linearSvm.load(
        { meta: JSON.parse(JSON.stringify(saved.meta)), tensors: saved.tensors },
        { task: 'multiclass', classes },
      ) as LinearSvmModel;
      expect(plain(loaded.predict(X))).toEqual(plain(model.predict(X)));
      expect(plain(loaded.decisionFunction(X))).toEqual(plain(model.decisionFunction(X)));
      expect(loaded.save().tensors.coef.data).toEqual(saved.tensors.coef.data);
      expect(loaded.diagnostics()).toMatchObject({ calibration, converged: true });
    }
  });

  it('rejects malformed saved models with clear errors', async () => {
    const { X, y } = blobs(new Random(52), [30, 30], 2, 1);
    const { saved } = await train(X, y, ['a', 'b']);
    const { calibration_a: _, ...uncalibrated } = saved.tensors;
    expect(() => linearSvm.load({ ...saved, tensors: uncalibrated }, binaryContext(['a', 'b']))).toThrow(
      /calibration_a/,
    );
    expect(() =>
      linearSvm.load(
        { ...saved, tensors: { ...saved.tensors, intercept: { shape: [2], data: new Float64Array(2) } } },
        binaryContext(['a', 'b']),
      ),
    ).toThrow(/"intercept" must have shape \[1\]/);
    expect(() => linearSvm.load(saved, binaryContext(['a', 'c']))).toThrow(/saved class "b"/);
  });

  it('is deterministic for a seed', async () => {
    const { X, y } = blobs(new Random(61), [80, 60, 40], 5, 0.8, 0.4);
    const classes = ['a', 'b', 'c'];
    const one = await train(denseToCsr(X), y, classes, {}, { seed: 7 });
    const two = await train(denseToCsr(X), y, classes, {}, { seed: 7 });
    expect(plain(two.coef)).toEqual(plain(one.coef));
    expect(plain(two.model.predict(X))).toEqual(plain(one.model.predict(X)));
    // Another seed visits rows in another order: the same optimum to within the tolerance.
    const other = await train(denseToCsr(X), y, classes, { tol: 1e-8 }, { seed: 8 });
    const tight = await train(denseToCsr(X), y, classes, { tol: 1e-8 }, { seed: 7 });
    expect(maxAbsDiff(other.coef, tight.coef)).toBeLessThan(1e-5);
  });

  it('warns about non-convergence and classes without rows', async () => {
    const { X, y } = blobs(new Random(71), [50, 50], 3, 0.5);
    const { warnings, model } = await train(X, y, ['a', 'b', 'c'], { maxIter: 1, tol: 1e-12 });
    expect(model.diagnostics().converged).toBe(false);
    expect(warnings.some((w) => /reached maxIter \(1\)/.test(w))).toBe(true);
    expect(warnings.some((w) => /no training rows get probability 0: c/.test(w))).toBe(true);
    const proba = model.predict(X);
    for (let i = 0; i < X.rows; i++) expect(proba[i * 3 + 2]).toBe(0);
  });

  it('rejects bad input with clear errors', async () => {
    const X = denseMatrix(2, 1, Float64Array.from([1, Number.NaN]));
    await expect(train(X, Int32Array.from([0, 1]), ['a', 'b'])).rejects.toThrow(
      /linear_svm: X\[1, 0\] is NaN/,
    );
    const ok = denseMatrix(2, 1, Float64Array.from([1, 2]));
    await expect(train(ok, Int32Array.from([0, 0]), ['a', 'b'])).rejects.toThrow(/at least 2 classes/);
    await expect(train(ok, Int32Array.from([0, 1]), ['a', 'b'], { classWeight: { z: 2 } })).rejects.toThrow(
      /linear_svm: classWeight names "z"/,
    );
  });
});
