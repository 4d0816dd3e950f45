import type { FeatureStepConfig } from '../config/schema.js';
import type { Fold } from '../data/split.js';
import { type Table, takeRows } from '../data/table.js';
import {
  allGatesPassed,
  classificationMetrics,
  evaluateGates,
  higherIsBetter,
  metricValues,
} from '../evaluation/index.js';
import { type Matrix, takeMatrixRows } from '../features/matrix.js';
import { fitPipeline } from '../features/pipeline.js';
import type { ModelFamily, SavedModel } from '../models/family.js';
import type { Progress } from '../util/progress.js';
import type { Candidate } from './search.js';

export interface CrossValidationInput {
  table: Table;
  y: Int32Array;
  classes: readonly string[];
  folds: readonly Fold[];
  exclude: readonly string[];
  family: ModelFamily<unknown>;
  candidates: readonly Candidate[];
  headline: string;
  positive: number | undefined;
  seed: number;
  progress: Progress;
  /** Gates a candidate should pass: the best is taken among candidates whose fold means pass them all. */
  gates?: readonly string[];
  /** Progress stage name; "cross-validate" unless this is a search on a validation split. */
  stage?: string;
  warn: (message: string) => void;
  /** Called as each trial finishes (the run records it at once, so a crash loses nothing finished). */
  onTrial?: (trial: TrialResult) => Promise<void> | void;
}

export interface TrialResult {
  index: number;
  /** The model params, plus the candidate's feature settings (`features.<i>.<field>`). */
  params: Record<string, unknown>;
  foldScores: number[];
  mean: number;
  std: number;
  /** Every metric's mean over folds. */
  metricMeans: Record<string, number>;
  /** Whether `metricMeans` pass every gate given (true without gates). */
  passesGates: boolean;
  seconds: number;
  /** Row-major n x k out-of-fold probabilities; rows no fold could score stay NaN. */
  oof: Float64Array;
}

interface PreparedFold {
  Xtrain: Matrix;
  ytrain: Int32Array;
  Xvalid: Matrix;
  /** Rows of the full table each valid row came from; rows the pipeline refused are left out. */
  validRows: Int32Array;
  yvalid: Int32Array;
}

/**
 * k-fold cross-validation of every candidate (one fold: a fixed validation split). The feature
 * pipeline is fitted on each fold's training rows only, and reused by consecutive candidates with the
 * same feature steps (only the last prepared folds are kept: they can be large).
 */
export async function crossValidate(
  input: CrossValidationInput,
): Promise<{ trials: TrialResult[]; best: number }> {
  const { table, classes, folds, family, candidates, headline, progress } = input;
  const k = classes.length;
  let prepared: { key: string; folds: PreparedFold[] } | undefined;
  const trials: TrialResult[] = [];
  const totalFits = candidates.length * folds.length;
  progress.stage(input.stage ?? 'cross-validate', { folds: folds.length, trials: candidates.length });
  for (const [index, candidate] of candidates.entries()) {
    const started = performance.now();
    const featuresKey = JSON.stringify(candidate.features);
    if (prepared?.key !== featuresKey) {
      prepared = undefined; // let the previous folds go before fitting the next pipelines
      prepared = {
        key: featuresKey,
        folds: folds.map((fold, f) => prepareFold(input, candidate.features, fold, f)),
      };
    }
    const params = { ...candidate.params, ...candidate.settings };
    const oof = new Float64Array(table.nRows * k).fill(Number.NaN);
    const foldScores: number[] = [];
    const foldMetrics: Record<string, number>[] = [];
    // Each fold starts from the previous fold's solution: same optimum, fewer solver iterations. The
    // packaged final fit starts cold, so it depends on its config and data alone.
    let warmStart: SavedModel | undefined;
    for (const [f, fold] of prepared.folds.entries()) {
      const model = family.fit(fold.Xtrain, fold.ytrain, {
        params: family.params.parse(candidate.params),
        classes,
        seed: input.seed + f,
        warn: (message) => input.warn(`trial ${index + 1}, fold ${f + 1}: ${message}`),
        warmStart,
      });
      warmStart = model.save();
      const proba = model.predictProba(fold.Xvalid);
      for (let r = 0; r < fold.validRows.length; r++) {
        oof.set(proba.subarray(r * k, (r + 1) * k), fold.validRows[r] * k);
      }
      const metrics = metricValues(
        classificationMetrics({ yTrue: fold.yvalid, proba, classes, positive: input.positive }),
      );
      if (!(headline in metrics)) {
        throw new Error(
          `evaluation.headline "${headline}" is not a metric; available: ${Object.keys(metrics).join(', ')}`,
        );
      }
      foldScores.push(metrics[headline]);
      foldMetrics.push(metrics);
      progress.tick('fits', index * folds.length + f + 1, totalFits);
    }
    const mean = foldScores.reduce((a, b) => a + b, 0) / foldScores.length;
    const std = Math.sqrt(
      foldScores.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, foldScores.length - 1),
    );
    const metricMeans = Object.fromEntries(
      Object.keys(foldMetrics[0]).map((name) => [
        name,
        foldMetrics.reduce((sum, m) => sum + m[name], 0) / foldMetrics.length,
      ]),
    );
    const trial: TrialResult = {
      index,
      params,
      foldScores,
      mean,
      std,
      metricMeans,
      passesGates: allGatesPassed(evaluateGates(input.gates ?? [], metricMeans)),
      seconds: (performance.now() - started) / 1000,
      oof,
    };
    trials.push(trial);
    if (candidates.length > 1)
      progress.info(`trial ${index + 1}/${candidates.length}`, {
        ...params,
        [headline]: mean,
        ...(input.gates?.length ? { gates: trial.passesGates ? 'pass' : 'fail' } : {}),
      });
    await input.onTrial?.(trial);
  }
  return { trials, best: bestTrial(trials, headline) };
}

function prepareFold(
  input: CrossValidationInput,
  features: readonly FeatureStepConfig[],
  fold: Fold,
  f: number,
): PreparedFold {
  const trainTable = takeRows(input.table, fold.train);
  const { pipeline, X: Xtrain } = fitPipeline(features, trainTable, { exclude: input.exclude });
  const { X, rowErrors } = pipeline.transform(takeRows(input.table, fold.valid));
  let validRows = fold.valid;
  let Xvalid = X;
  if (rowErrors.size > 0) {
    // e.g. a level seen only in this fold under `unseen: "error"`: these rows cannot be scored here.
    const [row, reason] = rowErrors.entries().next().value!;
    input.warn(
      `fold ${f + 1}: ${rowErrors.size} validation rows could not be transformed and are left out (first: row ${fold.valid[row]}: ${reason})`,
    );
    const keep = [...fold.valid.keys()].filter((r) => !rowErrors.has(r));
    validRows = Int32Array.from(keep, (r) => fold.valid[r]);
    Xvalid = takeMatrixRows(X, keep);
  }
  return {
    Xtrain,
    ytrain: Int32Array.from(fold.train, (i) => input.y[i]),
    Xvalid,
    validRows,
    yvalid: Int32Array.from(validRows, (i) => input.y[i]),
  };
}

/** The best headline among trials that pass the gates, or among all when none does. */
function bestTrial(trials: readonly TrialResult[], headline: string): number {
  const sign = higherIsBetter(headline) ? 1 : -1;
  const anyPasses = trials.some((t) => t.passesGates);
  let best = -1;
  for (const [i, t] of trials.entries()) {
    if (anyPasses && !t.passesGates) continue;
    const better =
      best < 0 ||
      (!Number.isNaN(t.mean) &&
        (Number.isNaN(trials[best].mean) || sign * t.mean > sign * trials[best].mean));
    if (better) best = i;
  }
  return best;
}
