import type { SplitConfig } from '../config/schema.js';
import { type Fold, kFoldSplit, splitOptions } from '../data/split.js';
import {
  classificationMetrics,
  type FoldSummary,
  foldSummary,
  metricValues,
  type Variability,
} from '../evaluation/index.js';
import { type CrossValidationInput, crossValidate, type TrialResult } from './cross-validate.js';
import type { Candidate } from './search.js';

/** Each fold's metrics of a cross-validated trial, scored on the rows the fold could transform. */
export function foldMetrics(
  trial: TrialResult,
  folds: readonly Fold[],
  y: Int32Array,
  classes: readonly string[],
  positive: number | undefined,
  threshold: number | undefined,
): Record<string, number>[] {
  const k = classes.length;
  return folds.map((fold) => {
    const rows = fold.valid.filter((i) => !Number.isNaN(trial.oof[i * k]));
    const proba = new Float64Array(rows.length * k);
    for (let r = 0; r < rows.length; r++)
      proba.set(trial.oof.subarray(rows[r] * k, (rows[r] + 1) * k), r * k);
    return metricValues(
      classificationMetrics({
        yTrue: Int32Array.from(rows, (i) => y[i]),
        proba,
        classes,
        positive,
        threshold,
      }),
    );
  });
}

/** Mean ± std of each metric over a list of metric records (folds, or repeats). */
export function summarise(values: readonly Record<string, number>[]): Record<string, FoldSummary> {
  const out: Record<string, FoldSummary> = {};
  for (const name of Object.keys(values[0])) out[name] = foldSummary(values.map((m) => m[name]));
  return out;
}

/**
 * Variability of the chosen candidate: repeats 2..n cross-validate it again on folds drawn with seed
 * + r (the model seeded the same way); repeat 1 is the run's own cross-validation, passed in.
 */
export async function repeatedCrossValidation(input: {
  cv: Omit<CrossValidationInput, 'folds' | 'candidates' | 'seed' | 'stage' | 'onTrial'>;
  split: SplitConfig;
  target: string;
  rows: Int32Array;
  candidate: Candidate;
  repeats: number;
  seed: number;
  threshold: number | undefined;
  firstRepeat: Record<string, number>[];
}): Promise<Variability> {
  const { cv, repeats, seed } = input;
  const perRepeat = [summaryMeans(input.firstRepeat)];
  const allFolds = [...input.firstRepeat];
  for (let r = 1; r < repeats; r++) {
    const folds = kFoldSplit(cv.table, input.split.folds, {
      ...splitOptions(input.split, { seed: seed + r, target: input.target }),
      rows: input.rows,
    });
    const { trials } = await crossValidate({
      ...cv,
      folds,
      candidates: [input.candidate],
      seed: seed + r,
      stage: `repeat ${r + 1}/${repeats}`,
    });
    const values = foldMetrics(trials[0], folds, cv.y, cv.classes, cv.positive, input.threshold);
    allFolds.push(...values);
    perRepeat.push(summaryMeans(values));
  }
  return {
    repeats,
    folds: input.split.folds,
    seeds: Array.from({ length: repeats }, (_, r) => seed + r),
    perRepeat,
    overRepeats: summarise(perRepeat),
    overFolds: summarise(allFolds),
  };
}

function summaryMeans(values: readonly Record<string, number>[]): Record<string, number> {
  return Object.fromEntries(Object.entries(summarise(values)).map(([name, s]) => [name, s.mean]));
}
