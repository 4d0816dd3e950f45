/** Every built-in model family against the family contract. */
import { linearSvm } from '../../src/models/linear-svm.js';
import { logisticRegression } from '../../src/models/logistic-regression.js';
import { ridgeRegression } from '../../src/models/ridge.js';
import { describeModelFamilyContract } from './model-family.js';
import { familyOnnxParity } from './onnx-parity.js';

describeModelFamilyContract({
  family: logisticRegression,
  weights: { params: { tol: 1e-10 }, tolerance: 1e-6 },
  onnxParity: familyOnnxParity,
});

describeModelFamilyContract({
  family: linearSvm,
  params: { binary: { threads: 1 }, multiclass: { threads: 1 } },
  // Platt calibration draws its folds over rows, so the weight check compares the SVMs themselves.
  weights: { params: { calibration: 'none', tol: 1e-10, maxIter: 100_000, threads: 1 }, tolerance: 1e-5 },
  onnxParity: familyOnnxParity,
});

describeModelFamilyContract({
  family: ridgeRegression,
  weights: { params: {}, tolerance: 1e-9 },
  onnxParity: familyOnnxParity,
});
