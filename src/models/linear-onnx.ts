/**
 * ONNX pieces the linear families' `exportOnnx` hooks share: the linear scores X W' + b, the two
 * columns of a binary model, and the placement of the fitted classes' scores among the package's
 * classes (a class without training rows scores 0, as `predict` leaves it).
 */
import { DOUBLE, type GraphBuilder } from '../onnx/graph.js';

/**
 * [N, k'] = X [N, p] times W plus intercept, for W feature-major p x k' (row j: feature j's weight in
 * each of the k' scores) and intercept [k'].
 */
export function linearScoresOnnx(
  g: GraphBuilder,
  X: string,
  weights: ArrayLike<number>,
  intercept: ArrayLike<number>,
): string {
  const kk = intercept.length;
  const W = g.doubles(Array.from(weights), [weights.length / kk, kk]);
  return g.node('Add', [g.node('MatMul', [X, W]), g.doubles(Array.from(intercept), [1, kk])]);
}

/** Feature-major p x k' weights from coefficients saved class-major, k' x p (a class per row). */
export function featureMajor(coef: ArrayLike<number>, kk: number): Float64Array {
  const p = coef.length / kk;
  const out = new Float64Array(coef.length);
  for (let c = 0; c < kk; c++) for (let j = 0; j < p; j++) out[j * kk + c] = coef[c * p + j];
  return out;
}

/** [N, 2] = [1 - positive, positive] from the [N, 1] probability of the second class. */
export function binaryColumnsOnnx(g: GraphBuilder, positive: string): string {
  return g.node('Concat', [g.node('Sub', [g.doubles([1]), positive]), positive], { axis: 1 });
}

/**
 * [N, k] scores in the package's class order from [N, fitted.length] scores of the fitted classes
 * (`fitted[i]` = index of fitted class i among the k): the others get 0. A Gather from the scores and
 * a zero column, so every value is copied exactly.
 */
export function placeClassesOnnx(
  g: GraphBuilder,
  scores: string,
  fitted: readonly number[],
  k: number,
): string {
  if (fitted.length === k && fitted.every((c, i) => c === i)) return scores;
  const source = new Array<number>(k).fill(fitted.length);
  fitted.forEach((c, i) => {
    source[c] = i;
  });
  const shape = g.node('Concat', [g.node('Shape', [scores], { start: 0, end: 1 }), g.int64s([1], [1])], {
    axis: 0,
  });
  const zero = g.node('ConstantOfShape', [shape], {
    value: { tensor: { dataType: DOUBLE, dims: [1], doubleData: [0] } },
  });
  return g.node('Gather', [g.node('Concat', [scores, zero], { axis: 1 }), g.int64s(source, [k])], {
    axis: 1,
  });
}
