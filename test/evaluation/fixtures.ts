import type { ClassificationInput } from '../../src/evaluation/metrics.js';
import type { EvaluationInput } from '../../src/evaluation/registry.js';
import { Random } from '../../src/util/random.js';

/** Binary input from positive-class scores (class 1 positive). */
export function binary(yTrue: number[], scores: number[], threshold?: number): ClassificationInput {
  const proba = new Float64Array(scores.length * 2);
  scores.forEach((s, i) => {
    proba[i * 2] = 1 - s;
    proba[i * 2 + 1] = s;
  });
  return { yTrue: Int32Array.from(yTrue), proba, classes: ['no', 'yes'], threshold };
}

/**
 * A noisy binary problem: about `prevalence` positives, scores rounded to 2 decimals so ties are
 * common (the case where a careless AUC goes wrong).
 */
export function syntheticBinary(n: number, seed: number, prevalence = 0.3): ClassificationInput {
  const rng = new Random(seed);
  const y: number[] = [];
  const s: number[] = [];
  for (let i = 0; i < n; i++) {
    const label = rng.next() < prevalence ? 1 : 0;
    const z = 1.5 * label - 1 + rng.normal();
    y.push(label);
    s.push(Math.round(100 / (1 + Math.exp(-z))) / 100);
  }
  return binary(y, s);
}

/** A noisy k-class problem with softmax probabilities. */
export function syntheticMulticlass(n: number, k: number, seed: number): ClassificationInput {
  const rng = new Random(seed);
  const yTrue = new Int32Array(n);
  const proba = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    const label = rng.int(k);
    yTrue[i] = label;
    let sum = 0;
    for (let c = 0; c < k; c++) {
      const e = Math.exp((c === label ? 1.2 : 0) + rng.normal());
      proba[i * k + c] = e;
      sum += e;
    }
    for (let c = 0; c < k; c++) proba[i * k + c] /= sum;
  }
  return { yTrue, proba, classes: Array.from({ length: k }, (_, c) => `class_${c}`) };
}

/** The metric registry's input for classification input: binary or multiclass by the number of classes. */
export function evaluationInput(input: ClassificationInput): EvaluationInput {
  return {
    task: input.classes.length === 2 ? 'binary' : 'multiclass',
    yTrue: input.yTrue,
    scores: input.proba,
    classes: input.classes,
    positive: input.positive,
    threshold: input.threshold,
  };
}
