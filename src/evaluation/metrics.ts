/**
 * Classification metrics with scikit-learn's definitions, so numbers match what the notebook printed:
 * zero_division=0 for precision/recall/F1, labels averaged over the classes present in y_true or
 * y_pred, log loss clipped at 1e-15, ROC AUC with ties counted one half, average precision as a step sum.
 */
import { decideAll, decisionRule } from '../tasks/decide.js';
import { type Ranking, rankAreas, rankScores } from './ranking.js';

export interface ClassificationInput {
  /** Class codes 0..k-1. */
  yTrue: Int32Array;
  /** Row-major n x k predicted probabilities. */
  proba: Float64Array;
  classes: readonly string[];
  /** Binary only: index of the positive class (default 1). */
  positive?: number;
  /** Binary only: predict positive when proba[positive] >= threshold (default 0.5). */
  threshold?: number;
}

export interface ClassReport {
  class: string;
  precision: number;
  recall: number;
  f1: number;
  /** Rows of this class in y_true. */
  support: number;
}

export interface LabelMetrics {
  accuracy: number;
  balanced_accuracy: number;
  /** Binary only: the positive class's precision, recall and F1. */
  precision?: number;
  recall?: number;
  f1?: number;
  precision_macro: number;
  precision_micro: number;
  precision_weighted: number;
  recall_macro: number;
  recall_micro: number;
  recall_weighted: number;
  f1_macro: number;
  f1_micro: number;
  f1_weighted: number;
  perClass: ClassReport[];
  /** Why a value is undefined (NaN) or was computed by a convention, keyed by metric name. */
  notes: Record<string, string>;
}

export interface ClassificationMetrics extends LabelMetrics {
  n: number;
  classes: readonly string[];
  /** Positive class index and decision threshold; null for multiclass (argmax). */
  positive: number | null;
  threshold: number | null;
  log_loss: number;
  /** Binary: exact ROC AUC; multiclass: macro one-vs-rest over classes present in y_true. NaN if undefined. */
  roc_auc: number;
  /** Average precision; multiclass: macro one-vs-rest over classes present in y_true. NaN if undefined. */
  pr_auc: number;
  /** k x k counts, rows true class, columns predicted class. */
  confusion: number[][];
}

export const LOG_LOSS_EPS = 1e-15;

/** The built-in classification metrics, with whether a higher value is better (search ranking, gates, plots). */
export const METRICS: Readonly<
  Record<string, { label: string; higherIsBetter: boolean; binaryOnly?: boolean }>
> = {
  accuracy: { label: 'Accuracy', higherIsBetter: true },
  balanced_accuracy: { label: 'Balanced accuracy', higherIsBetter: true },
  log_loss: { label: 'Log loss', higherIsBetter: false },
  roc_auc: { label: 'ROC AUC', higherIsBetter: true },
  pr_auc: { label: 'PR AUC (average precision)', higherIsBetter: true },
  precision: { label: 'Precision (positive class)', higherIsBetter: true, binaryOnly: true },
  recall: { label: 'Recall (positive class)', higherIsBetter: true, binaryOnly: true },
  f1: { label: 'F1 (positive class)', higherIsBetter: true, binaryOnly: true },
  precision_macro: { label: 'Precision, macro', higherIsBetter: true },
  precision_micro: { label: 'Precision, micro', higherIsBetter: true },
  precision_weighted: { label: 'Precision, weighted', higherIsBetter: true },
  recall_macro: { label: 'Recall, macro', higherIsBetter: true },
  recall_micro: { label: 'Recall, micro', higherIsBetter: true },
  recall_weighted: { label: 'Recall, weighted', higherIsBetter: true },
  f1_macro: { label: 'F1, macro', higherIsBetter: true },
  f1_micro: { label: 'F1, micro', higherIsBetter: true },
  f1_weighted: { label: 'F1, weighted', higherIsBetter: true },
};

interface CheckedInput {
  n: number;
  k: number;
  /** null for multiclass. */
  positive: number | null;
  threshold: number | null;
}

export function checkInput(input: ClassificationInput): CheckedInput {
  const { yTrue, proba, classes } = input;
  const n = yTrue.length;
  const k = classes.length;
  if (k < 2) throw new Error(`classification metrics need at least 2 classes, got ${k}`);
  if (n === 0) throw new Error('classification metrics need at least one row');
  if (proba.length !== n * k) {
    throw new Error(`proba must be n x k = ${n} x ${k} = ${n * k} values, got ${proba.length}`);
  }
  for (let i = 0; i < n; i++) {
    const y = yTrue[i];
    if (y < 0 || y >= k) throw new Error(`yTrue[${i}] = ${y} is not a class code in 0..${k - 1}`);
  }
  for (let j = 0; j < proba.length; j++) {
    if (!Number.isFinite(proba[j])) {
      throw new Error(`proba of row ${Math.floor(j / k)}, class "${classes[j % k]}" is ${proba[j]}`);
    }
  }
  if (k !== 2) return { n, k, positive: null, threshold: null };
  const positive = input.positive ?? 1;
  const threshold = input.threshold ?? 0.5;
  if (positive !== 0 && positive !== 1)
    throw new Error(`positive must be class index 0 or 1, got ${positive}`);
  if (!Number.isFinite(threshold)) throw new Error(`threshold must be a finite number, got ${threshold}`);
  return { n, k, positive, threshold };
}

/** The task's decision: binary, positive when proba[positive] >= threshold; multiclass, argmax. */
export function predictLabels(input: ClassificationInput): Int32Array {
  const { n, k, positive, threshold } = checkInput(input);
  return decideAll(input.proba, n, decisionRule(k, positive ?? undefined, threshold ?? undefined));
}

/** Row-major k x k (rows true, columns predicted); `weights` per row count a row several times (bootstrap). */
export function confusionCounts(
  yTrue: Int32Array,
  yPred: Int32Array,
  k: number,
  weights?: ArrayLike<number>,
): Float64Array {
  const counts = new Float64Array(k * k);
  for (let i = 0; i < yTrue.length; i++)
    counts[yTrue[i] * k + yPred[i]] += weights === undefined ? 1 : weights[i];
  return counts;
}

/** Everything that follows from the confusion matrix alone. */
export function labelMetrics(
  counts: Float64Array,
  classes: readonly string[],
  positive: number | null,
): LabelMetrics {
  const k = classes.length;
  const support = new Float64Array(k);
  const predicted = new Float64Array(k);
  let total = 0;
  let correct = 0;
  for (let t = 0; t < k; t++) {
    for (let p = 0; p < k; p++) {
      const c = counts[t * k + p];
      support[t] += c;
      predicted[p] += c;
      total += c;
    }
    correct += counts[t * k + t];
  }
  const perClass: ClassReport[] = [];
  const notes: Record<string, string> = {};
  const neverPredicted: string[] = [];
  const neverTrue: string[] = [];
  let macroP = 0;
  let macroR = 0;
  let macroF = 0;
  let weightedP = 0;
  let weightedR = 0;
  let weightedF = 0;
  let labels = 0;
  let recallSum = 0;
  let present = 0;
  for (let c = 0; c < k; c++) {
    const tp = counts[c * k + c];
    const precision = predicted[c] > 0 ? tp / predicted[c] : 0;
    const recall = support[c] > 0 ? tp / support[c] : 0;
    const f1 = support[c] + predicted[c] > 0 ? (2 * tp) / (support[c] + predicted[c]) : 0;
    perClass.push({ class: classes[c], precision, recall, f1, support: support[c] });
    if (support[c] > 0) {
      recallSum += recall;
      present++;
    }
    // scikit-learn averages over the labels seen in y_true or y_pred, not over every declared class.
    if (support[c] === 0 && predicted[c] === 0) continue;
    if (predicted[c] === 0) neverPredicted.push(classes[c]);
    if (support[c] === 0) neverTrue.push(classes[c]);
    labels++;
    macroP += precision;
    macroR += recall;
    macroF += f1;
    weightedP += precision * support[c];
    weightedR += recall * support[c];
    weightedF += f1 * support[c];
  }
  if (neverPredicted.length > 0) {
    notes.precision_macro = `never predicted, precision counted as 0 (zero_division=0): ${listNames(neverPredicted)}`;
    if (positive !== null && predicted[positive] === 0) {
      notes.precision = `the positive class "${classes[positive]}" is never predicted; precision counted as 0`;
    }
  }
  if (neverTrue.length > 0) {
    notes.recall_macro = `predicted but absent from y_true, recall counted as 0: ${listNames(neverTrue)}`;
  }
  const accuracy = total > 0 ? correct / total : Number.NaN;
  const result: LabelMetrics = {
    accuracy,
    balanced_accuracy: present > 0 ? recallSum / present : Number.NaN,
    precision_macro: macroP / labels,
    precision_micro: accuracy,
    precision_weighted: weightedP / total,
    recall_macro: macroR / labels,
    recall_micro: accuracy,
    recall_weighted: weightedR / total,
    f1_macro: macroF / labels,
    f1_micro: accuracy,
    f1_weighted: weightedF / total,
    perClass,
    notes,
  };
  if (positive !== null) {
    result.precision = perClass[positive].precision;
    result.recall = perClass[positive].recall;
    result.f1 = perClass[positive].f1;
  }
  return result;
}

/** One ranking per scored class: the positive class when binary, every class (one-vs-rest) otherwise. */
export function classRankings(input: ClassificationInput): { cls: number; ranking: Ranking }[] {
  const { n, k, positive } = checkInput(input);
  const scored = positive === null ? Array.from({ length: k }, (_, c) => c) : [positive];
  return scored.map((cls) => {
    const scores = new Float64Array(n);
    for (let i = 0; i < n; i++) scores[i] = input.proba[i * k + cls];
    return { cls, ranking: rankScores(input.yTrue, scores, cls) };
  });
}

export interface RankingSummary {
  roc_auc: number;
  pr_auc: number;
  /** Scored classes left out of the macro average because y_true lacks them (or has nothing else). */
  skipped: number[];
}

export function rankingMetrics(
  rankings: { cls: number; ranking: Ranking }[],
  weights?: ArrayLike<number>,
): RankingSummary {
  if (rankings.length === 1) {
    const { rocAuc, averagePrecision } = rankAreas(rankings[0].ranking, weights);
    return {
      roc_auc: rocAuc,
      pr_auc: averagePrecision,
      skipped: Number.isNaN(rocAuc) ? [rankings[0].cls] : [],
    };
  }
  let roc = 0;
  let ap = 0;
  const skipped: number[] = [];
  for (const { cls, ranking } of rankings) {
    const areas = rankAreas(ranking, weights);
    if (Number.isNaN(areas.rocAuc)) {
      skipped.push(cls);
      continue;
    }
    roc += areas.rocAuc;
    ap += areas.averagePrecision;
  }
  const used = rankings.length - skipped.length;
  return { roc_auc: used > 0 ? roc / used : Number.NaN, pr_auc: used > 0 ? ap / used : Number.NaN, skipped };
}

/** Mean of -log(p of the true class), p clipped to [1e-15, 1 - 1e-15]. */
export function rowLogLoss(input: ClassificationInput): Float64Array {
  const { yTrue, proba, classes } = input;
  const k = classes.length;
  const losses = new Float64Array(yTrue.length);
  for (let i = 0; i < yTrue.length; i++) {
    const p = Math.min(Math.max(proba[i * k + yTrue[i]], LOG_LOSS_EPS), 1 - LOG_LOSS_EPS);
    losses[i] = -Math.log(p);
  }
  return losses;
}

export function classificationMetrics(input: ClassificationInput): ClassificationMetrics {
  const { n, k, positive, threshold } = checkInput(input);
  const { yTrue, classes } = input;
  const counts = confusionCounts(yTrue, predictLabels(input), k);
  const labels = labelMetrics(counts, classes, positive);
  const notes = { ...labels.notes };

  const ranked = rankingMetrics(classRankings(input));
  const presentClasses = labels.perClass.filter((c) => c.support > 0).map((c) => c.class);
  if (presentClasses.length < 2) {
    notes.roc_auc = `only class "${presentClasses[0]}" is present in y_true; ROC AUC is undefined`;
  } else if (positive === null && ranked.skipped.length > 0) {
    notes.roc_auc = `macro one-vs-rest over ${k - ranked.skipped.length} of ${k} classes; absent from y_true: ${listNames(ranked.skipped.map((c) => classes[c]))}`;
  }
  if (positive !== null) {
    if (labels.perClass[positive].support === 0) {
      notes.pr_auc = `no row of the positive class "${classes[positive]}" in y_true; average precision is undefined`;
    }
  } else if (notes.roc_auc !== undefined) {
    notes.pr_auc = notes.roc_auc.replace('ROC AUC', 'average precision');
  }

  let logLoss = 0;
  for (const loss of rowLogLoss(input)) logLoss += loss;

  const confusion: number[][] = [];
  for (let t = 0; t < k; t++) confusion.push(Array.from(counts.subarray(t * k, (t + 1) * k)));
  return {
    n,
    classes,
    positive,
    threshold,
    ...labels,
    log_loss: logLoss / n,
    roc_auc: ranked.roc_auc,
    pr_auc: ranked.pr_auc,
    confusion,
    notes,
  };
}

function listNames(names: string[], max = 10): string {
  const shown = names.slice(0, max).map((name) => `"${name}"`);
  return names.length > max ? `${shown.join(', ')} and ${names.length - max} more` : shown.join(', ');
}
