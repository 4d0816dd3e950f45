import type { FeatureStepConfig } from '../config/schema.js';
import { inputKind, type ModelInput, takeInputRows } from '../data/matrix.js';
import type { Fold } from '../data/split.js';
import { type Table, takeRows } from '../data/table.js';
import { allGatesPassed, evaluateGates, higherIsBetter, metricValues } from '../evaluation/index.js';
import { fitPipeline } from '../features/pipeline.js';
import type { FittedModel, ModelFamily, SavedModel } from '../models/family.js';
import type { Task } from '../tasks/index.js';
import type { Progress } from '../util/progress.js';
import { pickRows, pickValues } from './rows.js';
import type { Candidate } from './search.js';

/** What a training run learns from: the task, the table, the encoded targets and how to fit. */
export interface CrossValidationInput {
  table: Table;
  task: Task;
  /** Class codes (classification) or values (regression), one per table row. */
  y: Int32Array | Float64Array;
  /** Class names (classification); empty for regression. */
  classes: readonly string[];
  /** Sample weights per table row (`data.weight`), for families that take them. */
  weights?: Float64Array;
  exclude: readonly string[];
  family: ModelFamily;
  headline: string;
  /** Binary: the positive class's index. */
  positive: number | undefined;
  /** `model.threads`. */
  threads?: number;
  signal?: AbortSignal;
  progress: Progress;
  warn: (message: string) => void;
}

export interface CrossValidationRun extends CrossValidationInput {
  folds: readonly Fold[];
  candidates: readonly Candidate[];
  seed: number;
  /** Gates a candidate should pass: the best is taken among candidates whose fold means pass them all. */
  gates?: readonly string[];
  /** Progress stage name; "cross-validate" unless this is a search on a validation split. */
  stage?: string;
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
  /** Row-major out-of-fold scores (the task's width per row); rows no fold could score stay NaN. */
  oof: Float64Array;
}

interface PreparedFold {
  Xtrain: ModelInput;
  ytrain: Int32Array | Float64Array;
  wtrain?: Float64Array;
  Xvalid: ModelInput;
  /** Rows of the full table each valid row came from; rows the pipeline refused are left out. */
  validRows: Int32Array;
  yvalid: Int32Array | Float64Array;
}

/** Width of a score row for this run's task. */
export function scoreWidth(input: Pick<CrossValidationInput, 'task' | 'classes'>): number {
  return input.task.width({ classes: input.classes });
}

/** The task's metrics of scores against targets (NaN marks an undefined one). */
export function scoreMetrics(
  input: Pick<CrossValidationInput, 'task' | 'classes' | 'positive'>,
  yTrue: Int32Array | Float64Array,
  scores: Float64Array,
  threshold?: number,
): Record<string, number> {
  return metricValues({
    task: input.task.name,
    yTrue,
    scores,
    classes: input.classes,
    positive: input.positive,
    threshold,
  });
}

/**
 * k-fold cross-validation of every candidate (one fold: a fixed validation split). The feature
 * pipeline is fitted on each fold's training rows only, and reused by consecutive candidates with the
 * same feature steps (only the last prepared folds are kept: they can be large).
 */
export async function crossValidate(
  input: CrossValidationRun,
): Promise<{ trials: TrialResult[]; best: number }> {
  const { table, folds, family, candidates, headline, progress } = input;
  const width = scoreWidth(input);
  let prepared: { key: string; folds: PreparedFold[] } | undefined;
  const trials: TrialResult[] = [];
  const totalFits = candidates.length * folds.length;
  progress.stage(input.stage ?? 'cross-validate', { folds: folds.length, trials: candidates.length });
  for (const [index, candidate] of candidates.entries()) {
    const started = performance.now();
    const featuresKey = JSON.stringify(candidate.features);
    if (prepared?.key !== featuresKey) {
      prepared = undefined; // let the previous folds go before fitting the next pipelines
      const fitted: PreparedFold[] = [];
      for (const [f, fold] of folds.entries())
        fitted.push(await prepareFold(input, candidate.features, fold, f));
      prepared = { key: featuresKey, folds: fitted };
    }
    const params = { ...candidate.params, ...candidate.settings };
    const oof = new Float64Array(table.nRows * width).fill(Number.NaN);
    const foldScores: number[] = [];
    const foldMetrics: Record<string, number>[] = [];
    // Each fold starts from the previous fold's solution where the family can: same optimum, fewer
    // solver iterations. The packaged final fit starts cold, so it depends on its config and data alone.
    let warmStart: SavedModel | undefined;
    for (const [f, fold] of prepared.folds.entries()) {
      const model = await fitModel(input, fold.Xtrain, fold.ytrain, fold.wtrain, candidate, input.seed + f, {
        warmStart,
        context: `trial ${index + 1}, fold ${f + 1}`,
      });
      if (family.capabilities.warmStart) warmStart = model.save();
      const scores = await model.predict(fold.Xvalid);
      for (let r = 0; r < fold.validRows.length; r++) {
        oof.set(scores.subarray(r * width, (r + 1) * width), fold.validRows[r] * width);
      }
      const metrics = scoreMetrics(input, fold.yvalid, scores);
      if (!(headline in metrics)) {
        throw new Error(
          `evaluation.headline "${headline}" is not a metric of ${input.task.name} models; available: ${Object.keys(metrics).join(', ')}`,
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

/**
 * One fit of the family with what it declares it can take: sample weights, warm start and threads
 * only where its capabilities say so, the model input checked against the input kinds it reads.
 */
export async function fitModel(
  input: CrossValidationInput,
  X: ModelInput,
  y: Int32Array | Float64Array,
  weights: Float64Array | undefined,
  candidate: Candidate,
  seed: number,
  options: { warmStart?: SavedModel; context: string },
): Promise<FittedModel> {
  const { family } = input;
  const kind = inputKind(X);
  if (!family.capabilities.inputs.includes(kind))
    throw new Error(
      `model family ${family.name} takes ${family.capabilities.inputs.join(' or ')} input; the feature pipeline makes ${kind === 'sparse' ? 'a sparse matrix' : kind === 'dense' ? 'a dense matrix' : `a ${kind} tensor`}`,
    );
  return family.fit(X, y, {
    params: family.params.parse(candidate.params),
    task: input.task.name,
    classes: input.classes,
    seed,
    ...(weights ? { sampleWeight: weights } : {}),
    ...(family.capabilities.threads && input.threads !== undefined ? { threads: input.threads } : {}),
    ...(family.capabilities.warmStart && options.warmStart ? { warmStart: options.warmStart } : {}),
    signal: input.signal,
    warn: (message) => input.warn(`${options.context}: ${message}`),
  });
}

async function prepareFold(
  input: CrossValidationInput,
  features: readonly FeatureStepConfig[],
  fold: Fold,
  f: number,
): Promise<PreparedFold> {
  const trainTable = takeRows(input.table, fold.train);
  const { pipeline, X: Xtrain } = await fitPipeline(features, trainTable, {
    exclude: input.exclude,
    allowMissing: input.family.capabilities.missingValues,
    consumer: `model family ${input.family.name}`,
  });
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
    Xvalid = takeInputRows(X, keep);
  }
  return {
    Xtrain,
    ytrain: pickValues(input.y, fold.train),
    ...(input.weights ? { wtrain: pickValues(input.weights, fold.train) } : {}),
    Xvalid,
    validRows,
    yvalid: pickValues(input.y, validRows),
  };
}

/** Each fold's metrics of a cross-validated trial, scored on the rows the fold could transform. */
export function foldMetrics(
  input: Pick<CrossValidationInput, 'task' | 'classes' | 'positive' | 'y'>,
  trial: TrialResult,
  folds: readonly Fold[],
  threshold: number | undefined,
): Record<string, number>[] {
  const width = scoreWidth(input);
  return folds.map((fold) => {
    const rows = fold.valid.filter((i) => !Number.isNaN(trial.oof[i * width]));
    return scoreMetrics(input, pickValues(input.y, rows), pickRows(trial.oof, rows, width), threshold);
  });
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
