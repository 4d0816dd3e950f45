import type { SplitConfig } from '../config/schema.js';
import { kFoldSplit, splitOptions } from '../data/split.js';
import { type FoldSummary, foldSummary, type Variability } from '../evaluation/index.js';
import { type CrossValidationInput, crossValidate, foldMetrics } from './cross-validate.js';
import type { Candidate } from './search.js';

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
  cv: CrossValidationInput;
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
    const values = foldMetrics(cv, trials[0], folds, input.threshold);
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
