import { describe, expect, it } from 'vitest';
import { type DenseMatrix, denseMatrix, denseToCsr, type Matrix } from '../../src/data/matrix.js';
import {
  getModelFamily,
  LogisticObjective,
  type LogisticRegressionModel,
  type LogisticRegressionParams,
  logisticRegression,
  logisticRegressionParams,
} from '../../src/models/index.js';
import { Random } from '../../src/util/random.js';

interface Generated {
  X: DenseMatrix;
  y: Int32Array;
}

/** Rows x ~ N(0, 1) with about `zeroFraction` exact zeros; y drawn from softmax(W x + b). */
function generate(rng: Random, n: number, W: number[][], b: number[], zeroFraction = 0): Generated {
  const p = W[0].length;
  const k = W.length;
  const X = denseMatrix(n, p);
  const y = new Int32Array(n);
  const scores = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++) X.data[i * p + j] = rng.next() < zeroFraction ? 0 : rng.normal();
    let sum = 0;
    for (let c = 0; c < k; c++) {
      let s = b[c];
      for (let j = 0; j < p; j++) s += W[c][j] * X.data[i * p + j];
      scores[c] = Math.exp(s);
      sum += scores[c];
    }
    let u = rng.next() * sum;
    let c = 0;
    while (c < k - 1 && u >= scores[c]) u -= scores[c++];
    y[i] = c;
  }
  return { X, y };
}

/** Binary data from P(y = 1) = sigmoid(w.x + b), i.e. softmax with class-0 scores fixed at 0. */
function generateBinary(rng: Random, n: number, w: number[], b: number, zeroFraction = 0): Generated {
  return generate(rng, n, [w.map(() => 0), w], [0, b], zeroFraction);
}

async function train(
  X: Matrix,
  y: Int32Array,
  classes: string[],
  params: Partial<LogisticRegressionParams> = {},
  extra = {},
) {
  const warnings: string[] = [];
  const model = (await logisticRegression.fit(X, y, {
    params: logisticRegressionParams.parse(params),
    task: classes.length === 2 ? 'binary' : 'multiclass',
    classes,
    seed: 1,
    warn: (m) => warnings.push(m),
    ...extra,
  })) as LogisticRegressionModel;
  const saved = model.save();
  return { model, warnings, coef: saved.tensors.coef.data, intercept: saved.tensors.intercept.data, saved };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

/** scikit-learn's objective written out directly (W row-major k' x p, then intercepts). */
function referenceObjective(
  X: DenseMatrix,
  labels: Int32Array,
  s: Float64Array,
  kk: number,
  C: number,
  w: Float64Array,
) {
  const p = X.cols;
  let penalty = 0;
  for (let j = 0; j < kk * p; j++) penalty += w[j] * w[j];
  let loss = 0;
  for (let i = 0; i < X.rows; i++) {
    const z: number[] = [];
    for (let c = 0; c < kk; c++) {
      let v = w[kk * p + c];
      for (let j = 0; j < p; j++) v += X.data[i * p + j] * w[c * p + j];
      z.push(v);
    }
    if (kk === 1) {
      const yi = labels[i] === 1 ? 1 : -1;
      loss += s[i] * Math.log(1 + Math.exp(-yi * z[0]));
    } else {
      const lse = Math.log(z.reduce((acc, v) => acc + Math.exp(v), 0));
      loss += s[i] * (lse - z[labels[i]]);
    }
  }
  return 0.5 * penalty + C * loss;
}

describe('LogisticObjective', () => {
  const rng = new Random(7);
  const binary = generateBinary(rng, 57, [1, -2, 0.5, 0], 0.3, 0.4);
  const multi = generate(
    rng,
    61,
    [
      [1, 0, -1],
      [0, 2, 0],
      [-1, -1, 0.5],
      [0.3, 0, 0],
    ],
    [0.2, -0.1, 0, 0.4],
    0.4,
  );
  const cases = [
    { name: 'binary', data: binary, kk: 1 },
    { name: 'multinomial', data: multi, kk: 4 },
  ];

  for (const { name, data, kk } of cases) {
    const { X, y } = data;
    const s = Float64Array.from({ length: X.rows }, () => 0.5 + rng.next());
    const dim = kk * X.cols + kk;
    const w = Float64Array.from({ length: dim }, () => rng.normal());

    for (const matrix of [X, denseToCsr(X)]) {
      it(`${name} ${matrix.kind}: gradient matches central finite differences`, () => {
        const objective = new LogisticObjective(matrix, y, s, kk, true, 0.7);
        const grad = new Float64Array(dim);
        objective.evaluate(w, grad);
        const scratch = new Float64Array(dim);
        const h = 1e-6;
        for (let j = 0; j < dim; j++) {
          const wp = Float64Array.from(w);
          const wm = Float64Array.from(w);
          wp[j] += h;
          wm[j] -= h;
          const numeric = (objective.evaluate(wp, scratch) - objective.evaluate(wm, scratch)) / (2 * h);
          expect(Math.abs(grad[j] - numeric)).toBeLessThan(1e-7 * Math.max(1, Math.abs(numeric)));
        }
      });
    }

    it(`${name}: value times scale is exactly scikit-learn's objective`, () => {
      const objective = new LogisticObjective(X, y, s, kk, true, 0.7);
      const value = objective.evaluate(w, new Float64Array(dim)) * objective.scale;
      const expected = referenceObjective(X, y, s, kk, 0.7, w);
      expect(Math.abs(value - expected) / expected).toBeLessThan(1e-12);
    });
  }

  it('stays finite where a naive log(1 + exp(-m)) overflows', () => {
    const X = denseMatrix(2, 1, Float64Array.from([1, -1]));
    const objective = new LogisticObjective(
      X,
      Int32Array.from([0, 1]),
      Float64Array.from([1, 1]),
      1,
      false,
      1,
    );
    const grad = new Float64Array(1);
    // Both rows misclassified by a margin of 1000: loss 1000 each.
    const value = objective.evaluate(Float64Array.from([1000]), grad) * objective.scale;
    expect(value).toBeCloseTo(0.5 * 1000 ** 2 + 2000, 9);
    expect(grad[0] * objective.scale).toBeCloseTo(1000 + 2, 9);
  });
});

describe('logistic_regression family', () => {
  it('is registered by name with its defaults', () => {
    expect(getModelFamily('logistic_regression')).toBe(logisticRegression);
    expect(logisticRegressionParams.parse({})).toEqual({
      C: 1,
      classWeight: null,
      fitIntercept: true,
      solver: 'auto',
      maxIter: 1000,
      scoreTol: 1e-4,
      tol: 1e-8,
      ftol: 64 * Number.EPSILON,
    });
    expect(() => logisticRegressionParams.parse({ class_weight: 'balanced' })).toThrow();
    expect(() => logisticRegressionParams.parse({ C: 0 })).toThrow();
  });

  it('recovers known binary coefficients from seeded data', async () => {
    const w = [1.5, -2, 0.5];
    const { X, y } = generateBinary(new Random(11), 20_000, w, -0.3);
    const { coef, intercept, model } = await train(X, y, ['no', 'yes'], { C: 1e4 });
    expect(model.diagnostics().converged).toBe(true);
    // Standard errors are about 0.02 at this size.
    expect(maxAbsDiff(coef, w)).toBeLessThan(0.1);
    expect(Math.abs(intercept[0] + 0.3)).toBeLessThan(0.1);
  });

  it('recovers known multinomial coefficients (rows centred, as the penalty makes them)', async () => {
    const W = [
      [1, -1],
      [-0.5, 1.5],
      [-0.5, -0.5],
    ];
    const b = [0.4, -0.2, -0.2];
    const { X, y } = generate(new Random(12), 30_000, W, b);
    const { coef, intercept, saved } = await train(X, y, ['a', 'b', 'c'], { C: 1e4 });
    expect(saved.tensors.coef.shape).toEqual([3, 2]);
    expect(maxAbsDiff(coef, W.flat())).toBeLessThan(0.1);
    expect(maxAbsDiff(intercept, b)).toBeLessThan(0.1);
    expect(Math.abs(intercept[0] + intercept[1] + intercept[2])).toBeLessThan(1e-12);
  });

  it('gives the same solution for dense and CSR input', async () => {
    const bin = generateBinary(new Random(3), 2_000, [1, 0, -1, 2, 0.5], 0.2, 0.6);
    const d1 = await train(bin.X, bin.y, ['n', 'p']);
    const s1 = await train(denseToCsr(bin.X), bin.y, ['n', 'p']);
    expect(maxAbsDiff(d1.coef, s1.coef)).toBeLessThan(1e-6);
    expect(maxAbsDiff(d1.intercept, s1.intercept)).toBeLessThan(1e-6);

    const mul = generate(
      new Random(4),
      2_000,
      [
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 1],
      ],
      [0, 0, 0],
      0.5,
    );
    const d2 = await train(mul.X, mul.y, ['a', 'b', 'c'], { C: 0.5 });
    const s2 = await train(denseToCsr(mul.X), mul.y, ['a', 'b', 'c'], { C: 0.5 });
    expect(maxAbsDiff(d2.coef, s2.coef)).toBeLessThan(1e-6);
    expect(maxAbsDiff(d2.intercept, s2.intercept)).toBeLessThan(1e-6);
  });

  it('balanced class weights equal explicit n / (k * count) weights and move probabilities to the rare class', async () => {
    const { X, y } = generateBinary(new Random(5), 5_000, [1, -1], -3);
    const positives = y.reduce((a, v) => a + v, 0);
    expect(positives / y.length).toBeLessThan(0.15);
    const explicit = { no: 5_000 / (2 * (5_000 - positives)), yes: 5_000 / (2 * positives) };
    const balanced = await train(X, y, ['no', 'yes'], { classWeight: 'balanced' });
    const manual = await train(X, y, ['no', 'yes'], { classWeight: explicit });
    expect(maxAbsDiff(balanced.coef, manual.coef)).toBeLessThan(1e-7);
    expect(maxAbsDiff(balanced.intercept, manual.intercept)).toBeLessThan(1e-7);

    // At the optimum the intercept's gradient vanishes: sum_i s_i (p_i - y_i) = 0. Unweighted, the mean
    // probability is the base rate; balanced, the class-weighted mean is one half.
    const plain = await train(X, y, ['no', 'yes']);
    const pPlain = plain.model.predict(X);
    const pBalanced = balanced.model.predict(X);
    let plainSum = 0;
    let weighted = 0;
    let weightSum = 0;
    for (let i = 0; i < y.length; i++) {
      plainSum += pPlain[2 * i + 1];
      const s = y[i] === 1 ? explicit.yes : explicit.no;
      weighted += s * pBalanced[2 * i + 1];
      weightSum += s;
    }
    expect(plainSum / y.length).toBeCloseTo(positives / y.length, 6);
    expect(weighted / weightSum).toBeCloseTo(0.5, 6);
    expect(balanced.intercept[0]).toBeGreaterThan(plain.intercept[0] + 1);
  });

  it('treats a class weight like the same sample weight on that class', async () => {
    const { X, y } = generateBinary(new Random(6), 1_000, [0.5, 1], 0);
    const byClass = await train(X, y, ['no', 'yes'], { classWeight: { yes: 3 } });
    const sampleWeight = Float64Array.from(y, (c) => (c === 1 ? 3 : 1));
    const bySample = await train(X, y, ['no', 'yes'], {}, { sampleWeight });
    expect(maxAbsDiff(byClass.coef, bySample.coef)).toBeLessThan(1e-7);
    // Weighting a class by 3 mostly shifts the intercept, by about log 3 when the model is right.
    const unweighted = await train(X, y, ['no', 'yes']);
    expect(byClass.intercept[0] - unweighted.intercept[0]).toBeCloseTo(Math.log(3), 1);
  });

  it('round-trips through save and load with identical predictions', async () => {
    for (const [classes, W, b] of [
      [
        ['no', 'yes'],
        [
          [0, 0, 0],
          [1, -1, 2],
        ],
        [0, 0.5],
      ],
      [
        ['a', 'b', 'c'],
        [
          [1, 0, 0],
          [0, 1, 0],
          [0, 0, 1],
        ],
        [0, 0.1, -0.1],
      ],
    ] as const) {
      const { X, y } = generate(
        new Random(8),
        500,
        W.map((r) => [...r]),
        [...b],
      );
      const { model, saved } = await train(X, y, [...classes]);
      const json = JSON.parse(JSON.stringify(saved.meta));
      const restored = logisticRegression.load(
        { meta: json, tensors: saved.tensors },
        { task: classes.length === 2 ? 'binary' : 'multiclass', classes },
      ) as LogisticRegressionModel;
      expect(restored.predict(X)).toEqual(model.predict(X));
      expect(restored.save().meta).toEqual(saved.meta);
      expect(saved.meta).toMatchObject({ classes, converged: true, params: { C: 1, tol: 1e-8 } });
    }
  });

  it('returns n x k probabilities that sum to 1, the positive class second', async () => {
    const mul = generate(
      new Random(9),
      300,
      [
        [2, 0],
        [0, 2],
        [-2, -2],
      ],
      [0, 0, 0],
    );
    const proba = (await train(mul.X, mul.y, ['a', 'b', 'c'])).model.predict(mul.X);
    expect(proba.length).toBe(300 * 3);
    for (let i = 0; i < 300; i++) {
      const row = proba.subarray(3 * i, 3 * i + 3);
      expect(Math.abs(row[0] + row[1] + row[2] - 1)).toBeLessThan(1e-12);
      for (const v of row) expect(v).toBeGreaterThanOrEqual(0);
    }

    // One feature that is the label itself: the positive class must get the high probability.
    const X = denseMatrix(4, 1, Float64Array.from([0, 0, 1, 1]));
    const bin = (await train(X, Int32Array.from([0, 0, 1, 1]), ['neg', 'pos'], { C: 100 })).model.predict(X);
    expect(bin[1]).toBeLessThan(0.5);
    expect(bin[7]).toBeGreaterThan(0.5);
    expect(bin[6] + bin[7]).toBeCloseTo(1, 14);
  });

  it('warns and records non-convergence', async () => {
    const { X, y } = generateBinary(new Random(10), 500, [1, 2, 3], 0);
    const { model, warnings } = await train(X, y, ['n', 'p'], { maxIter: 2 });
    expect(model.diagnostics()).toMatchObject({ converged: false, iterations: 2 });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/did not converge after 2 iterations: max \|gradient\| .* > tol 1e-8/);
  });

  it('gives probability 0 to a declared class with no training rows, with a warning', async () => {
    const { X, y } = generateBinary(new Random(13), 200, [1], 0);
    const { model, warnings, saved } = await train(X, y, ['n', 'p', 'never']);
    expect(warnings[0]).toMatch(/no training rows.*never/);
    expect(saved.meta.fittedClasses).toEqual(['n', 'p']);
    const proba = model.predict(X);
    expect(proba.length).toBe(600);
    for (let i = 0; i < 200; i++) {
      expect(proba[3 * i + 2]).toBe(0);
      expect(proba[3 * i] + proba[3 * i + 1]).toBeCloseTo(1, 14);
    }
  });

  it('rejects bad input with clear errors', async () => {
    const X = denseMatrix(3, 2, Float64Array.from([1, 2, 3, 4, 5, 6]));
    const classes = ['a', 'b'];
    const ok = Int32Array.from([0, 1, 0]);
    const run = (x: Matrix, y: Int32Array, params: Partial<LogisticRegressionParams> = {}, extra = {}) =>
      expect(train(x, y, classes, params, extra)).rejects;
    await run(X, Int32Array.from([0, 2, 0])).toThrow(/y\[1\] = 2 is not a class code in \[0, 1\]/);
    await run(X, Int32Array.from([0, 1])).toThrow(/3 rows but y has 2 labels/);
    await run(X, Int32Array.from([1, 1, 1])).toThrow(/at least 2 classes in y, got 1 \(b\)/);
    const nan = denseMatrix(3, 2, Float64Array.from([1, 2, 3, Number.NaN, 5, 6]));
    await run(nan, ok).toThrow(/X\[1, 1\] is NaN/);
    const csr = denseToCsr(denseMatrix(3, 2, Float64Array.from([1, 0, 0, 4, 5, 6])));
    csr.data[2] = Number.POSITIVE_INFINITY;
    await run(csr, ok).toThrow(/X\[2, 0\] is Infinity/);
    await run(X, ok, {}, { sampleWeight: new Float64Array(2) }).toThrow(
      /sampleWeight has 2 values for 3 rows/,
    );
    await run(X, ok, {}, { sampleWeight: Float64Array.from([1, -1, 1]) }).toThrow(/sampleWeight\[1\] = -1/);
    await run(X, ok, { classWeight: { c: 2 } }).toThrow(/classWeight names "c"/);
    const { model } = await train(X, ok, classes);
    expect(() => model.predict(denseMatrix(1, 3))).toThrow(/2 features, input matrix has 3 columns/);
  });

  it('fits without an intercept when asked', async () => {
    const { X, y } = generateBinary(new Random(14), 2_000, [1, -1], 2);
    const { intercept, coef } = await train(X, y, ['n', 'p'], { fitIntercept: false });
    expect(intercept[0]).toBe(0);
    const withIntercept = await train(X, y, ['n', 'p']);
    expect(withIntercept.intercept[0]).toBeGreaterThan(1);
    expect(maxAbsDiff(coef, withIntercept.coef)).toBeGreaterThan(0.05);
  });
});

describe('warm start', () => {
  it('reaches the same optimum in fewer iterations from a nearby solution, binary and multinomial', async () => {
    const rng = new Random(11);
    for (const { X, y, classes } of [
      { ...generateBinary(rng, 3000, [1.5, -2, 0.5, 0.8], 0.3), classes: ['0', '1'] },
      {
        ...generate(
          rng,
          3000,
          [
            [0, 0, 0],
            [1, -1, 0.5],
            [-0.5, 1, 1],
          ],
          [0, 0.2, -0.1],
        ),
        classes: ['a', 'b', 'c'],
      },
    ]) {
      const half = X.rows >> 1;
      const firstHalf = denseMatrix(half, X.cols, X.data.slice(0, half * X.cols));
      const nearby = (await train(firstHalf, y.slice(0, half), classes)).saved;
      // To the optimum (no score test), where the two must meet.
      const tight = { scoreTol: 0 };
      const cold = await train(X, y, classes, tight);
      const warm = await train(X, y, classes, tight, { warmStart: nearby });
      expect(maxAbsDiff(warm.coef, cold.coef)).toBeLessThan(1e-5);
      expect(maxAbsDiff(warm.intercept, cold.intercept)).toBeLessThan(1e-5);
      expect(Number(warm.model.diagnostics().iterations)).toBeLessThan(
        Number(cold.model.diagnostics().iterations),
      );
    }
  });

  it('ignores a starting model of another shape', async () => {
    const rng = new Random(12);
    const { X, y } = generateBinary(rng, 500, [1, -1], 0);
    const other = (
      await train(
        denseMatrix(
          X.rows,
          1,
          X.data.filter((_, i) => i % 2 === 0),
        ),
        y,
        ['0', '1'],
      )
    ).saved;
    const cold = await train(X, y, ['0', '1']);
    const warm = await train(X, y, ['0', '1'], {}, { warmStart: other });
    expect(maxAbsDiff(warm.coef, cold.coef)).toBe(0);
  });
});
