import { describe, expect, it } from 'vitest';
import { classificationMetrics, predictLabels } from '../../src/evaluation/metrics.js';
import { metricValues } from '../../src/evaluation/registry.js';
import { binary, evaluationInput } from './fixtures.js';

// Expected values were worked out by hand and checked with scikit-learn 1.2.1.

describe('binary metrics', () => {
  // Sorted by score: 0.8 (pos), 0.4 (neg), 0.35 (pos), 0.1 (neg).
  // ROC points (0,0) (0,.5) (.5,.5) (.5,1) (1,1): area .5*.5 + .5*1 = 0.75.
  // Average precision: recall .5 at precision 1, then recall 1 at precision 2/3: .5*1 + .5*2/3 = 0.8333.
  const input = binary([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]);
  const m = classificationMetrics(input);

  it('matches scikit-learn on the classic four-row example', () => {
    expect(m.roc_auc).toBeCloseTo(0.75, 12);
    expect(m.pr_auc).toBeCloseTo(5 / 6, 12);
    // Predicted at 0.5: [0, 0, 0, 1]; one positive missed.
    expect(m.confusion).toEqual([
      [2, 0],
      [1, 1],
    ]);
    expect(m.accuracy).toBeCloseTo(0.75, 12);
    expect(m.balanced_accuracy).toBeCloseTo(0.75, 12);
    expect(m.precision).toBeCloseTo(1, 12);
    expect(m.recall).toBeCloseTo(0.5, 12);
    expect(m.f1).toBeCloseTo(2 / 3, 12);
    // Class "no": P 2/3, R 1, F1 .8; class "yes": P 1, R .5, F1 2/3; macro F1 = (0.8 + 2/3) / 2.
    expect(m.precision_macro).toBeCloseTo(5 / 6, 12);
    expect(m.f1_macro).toBeCloseTo(0.7333333333333334, 12);
    expect(m.f1_weighted).toBeCloseTo(0.7333333333333334, 12);
    // -mean(log .9, log .6, log .35, log .8)
    expect(m.log_loss).toBeCloseTo(0.47228795380917615, 12);
  });

  it('counts ties as one half in ROC AUC and groups them in average precision', () => {
    // Positives .5 .8 .2 vs negatives .5 .3 .8: pairs won 1.5 + 2.5 + 0 of 9 = 4/9.
    // AP: groups {.8: +1/-1}, {.5: +1/-1}, {.3: -1}, {.2: +1} give precision .5 at each recall step: 0.5.
    const tied = classificationMetrics(binary([0, 1, 0, 1, 0, 1], [0.5, 0.5, 0.3, 0.8, 0.8, 0.2]));
    expect(tied.roc_auc).toBeCloseTo(4 / 9, 12);
    expect(tied.pr_auc).toBeCloseTo(0.5, 12);
  });

  it('uses the positive class index for scores and labels', () => {
    const flipped = classificationMetrics({ ...input, positive: 0 });
    // Class "no" scored by 1 - s: the same ranking reversed on flipped labels, so the same AUC.
    expect(flipped.roc_auc).toBeCloseTo(0.75, 12);
    expect(flipped.pr_auc).toBeCloseTo(5 / 6, 12);
    expect(flipped.precision).toBeCloseTo(2 / 3, 12);
    expect(flipped.recall).toBeCloseTo(1, 12);
  });

  it('predicts positive at proba >= threshold', () => {
    expect(Array.from(predictLabels({ ...input, threshold: 0.35 }))).toEqual([0, 1, 1, 1]);
    expect(Array.from(predictLabels({ ...input, threshold: 0.36 }))).toEqual([0, 1, 0, 1]);
  });

  it('clips log loss at 1e-15', () => {
    // Row 1: p(true) = 0 -> 1e-15 -> 34.5388; row 2: p(true) = 1 -> 1 - 1e-15 -> ~0.
    // scikit-learn < 1.2 (default eps 1e-15), or 1.2 with eps=1e-15: 17.269388197455342.
    const m2 = classificationMetrics(binary([1, 0], [0, 0]));
    expect(m2.log_loss).toBeCloseTo(17.269388197455342, 10);
  });
});

describe('multiclass metrics', () => {
  // argmax predictions [0,0,1,1,2,2,2,2] for truth [0,0,0,1,1,2,2,2]:
  // confusion [[2,1,0],[0,1,1],[0,0,3]]; per class P (1, .5, .75), R (2/3, .5, 1), F1 (.8, .5, 6/7).
  const input = {
    yTrue: Int32Array.from([0, 0, 0, 1, 1, 2, 2, 2]),
    proba: Float64Array.from(
      [
        [0.7, 0.2, 0.1],
        [0.5, 0.3, 0.2],
        [0.3, 0.6, 0.1],
        [0.2, 0.7, 0.1],
        [0.1, 0.4, 0.5],
        [0.1, 0.1, 0.8],
        [0.2, 0.2, 0.6],
        [0.3, 0.3, 0.4],
      ].flat(),
    ),
    classes: ['a', 'b', 'c'],
  };
  const m = classificationMetrics(input);

  it('has macro, micro and weighted averages as scikit-learn', () => {
    expect(m.confusion).toEqual([
      [2, 1, 0],
      [0, 1, 1],
      [0, 0, 3],
    ]);
    expect(m.f1_macro).toBeCloseTo((0.8 + 0.5 + 6 / 7) / 3, 12); // 0.719047619
    expect(m.f1_weighted).toBeCloseTo((3 * 0.8 + 2 * 0.5 + 3 * (6 / 7)) / 8, 12); // 0.746428571
    expect(m.f1_micro).toBeCloseTo(0.75, 12);
    expect(m.precision_macro).toBeCloseTo(0.75, 12);
    expect(m.precision_weighted).toBeCloseTo(0.78125, 12);
    expect(m.recall_macro).toBeCloseTo(0.7222222222222222, 12);
    expect(m.recall_weighted).toBeCloseTo(0.75, 12);
    expect(m.balanced_accuracy).toBeCloseTo(0.7222222222222222, 12);
    expect(m.accuracy).toBeCloseTo(0.75, 12);
    expect(m.perClass.map((c) => c.support)).toEqual([3, 2, 3]);
    expect(m.perClass[2].f1).toBeCloseTo(6 / 7, 12);
  });

  it('has log loss, macro one-vs-rest ROC AUC and average precision as scikit-learn', () => {
    expect(m.log_loss).toBeCloseTo(0.647127563948982, 12);
    expect(m.roc_auc).toBeCloseTo(0.9388888888888888, 12);
    expect(m.pr_auc).toBeCloseTo(0.8888888888888887, 12);
    expect(m.positive).toBeNull();
    expect(m.precision).toBeUndefined();
  });

  it('exposes a flat record without binary-only metrics', () => {
    const values = metricValues(evaluationInput(input));
    expect(values.f1_macro).toBe(m.f1_macro);
    expect(values.roc_auc).toBe(m.roc_auc);
    expect(Object.hasOwn(values, 'f1')).toBe(false);
    expect(Object.values(values).every((v) => typeof v === 'number')).toBe(true);
  });
});

describe('degenerate inputs', () => {
  it('counts precision of a never-predicted class as 0 without poisoning averages', () => {
    // Nothing reaches 0.5: "yes" is never predicted. scikit-learn (zero_division=0): precision 0,
    // precision_macro (0.5 + 0) / 2 = 0.25, f1_macro (2/3 + 0) / 2 = 1/3.
    const input = binary([0, 1, 1, 0], [0.1, 0.2, 0.3, 0.4]);
    const m = classificationMetrics(input);
    expect(m.precision).toBe(0);
    expect(m.f1).toBe(0);
    expect(m.precision_macro).toBeCloseTo(0.25, 12);
    expect(m.f1_macro).toBeCloseTo(1 / 3, 12);
    expect(m.notes.precision).toContain('never predicted');
    expect(Object.values(metricValues(evaluationInput(input))).some(Number.isNaN)).toBe(false);
  });

  it('averages labels seen in y_true or y_pred, and balanced accuracy over y_true classes', () => {
    // Truth [0,0,1,1], predicted [0,2,1,1], class "c" never true: scikit-learn f1_macro 5/9,
    // recall_macro 0.5, balanced_accuracy 0.75. Class "d" appears nowhere and is left out.
    const proba = Float64Array.from(
      [
        [1, 0, 0, 0],
        [0, 0, 1, 0],
        [0, 1, 0, 0],
        [0, 1, 0, 0],
      ].flat(),
    );
    const m = classificationMetrics({
      yTrue: Int32Array.from([0, 0, 1, 1]),
      proba,
      classes: ['a', 'b', 'c', 'd'],
    });
    expect(m.f1_macro).toBeCloseTo(5 / 9, 12);
    expect(m.recall_macro).toBeCloseTo(0.5, 12);
    expect(m.balanced_accuracy).toBeCloseTo(0.75, 12);
    expect(m.notes.recall_macro).toContain('"c"');
    expect(m.notes.roc_auc).toContain('absent from y_true');
  });

  it('gives NaN ROC AUC with a reason when y_true holds one class', () => {
    const m = classificationMetrics(binary([1, 1, 1], [0.2, 0.6, 0.9]));
    expect(m.roc_auc).toBeNaN();
    expect(m.notes.roc_auc).toBe('only class "yes" is present in y_true; ROC AUC is undefined');
    // Every ranked row is positive, so precision is 1 at every recall step.
    expect(m.pr_auc).toBe(1);
    const none = classificationMetrics(binary([0, 0], [0.2, 0.6]));
    expect(none.pr_auc).toBeNaN();
    expect(none.notes.pr_auc).toContain('no row of the positive class "yes"');
  });

  it('rejects malformed input with a clear message', () => {
    const input = binary([0, 1], [0.2, 0.7]);
    expect(() => classificationMetrics({ ...input, proba: new Float64Array(3) })).toThrow(
      /n x k = 2 x 2 = 4 values, got 3/,
    );
    expect(() => classificationMetrics({ ...input, yTrue: Int32Array.from([0, 2]) })).toThrow(
      /yTrue\[1\] = 2/,
    );
    expect(() =>
      classificationMetrics({ ...input, proba: Float64Array.from([0.5, 0.5, Number.NaN, 1]) }),
    ).toThrow(/row 1, class "no" is NaN/);
  });
});
