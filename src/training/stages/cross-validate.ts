import {
  type BootstrapInterval,
  bootstrapEvaluation,
  type ClassificationMetrics,
  classificationOf,
  type EvaluationInput,
  type FoldSummary,
  metricValues,
  selectThreshold,
  type Variability,
} from '../../evaluation/index.js';
import { crossValidate, foldMetrics, scoreWidth, type TrialResult } from '../cross-validate.js';
import { pickRows, pickValues } from '../rows.js';
import type { Candidate } from '../search.js';
import type { RunContext } from '../stage.js';
import { repeatedCrossValidation, summarise } from '../variability.js';
import { type SearchResult, trialRecorder } from './search.js';
import type { Splits } from './split.js';
import type { TrainingSet } from './validate.js';

export interface CrossValidated {
  candidate: Candidate;
  /** Every trial the run scored (the search's, or the cross-validated candidates'), and the winner. */
  trials: TrialResult[];
  best: number;
  /** The winner's cross-validation. */
  trial: TrialResult;
  /** The winner's model params as its family parses them, and its feature settings. */
  params: Record<string, unknown>;
  featureSettings: Record<string, unknown>;
  /** Binary: the decision threshold chosen on the out-of-fold predictions. */
  threshold?: number;
  /** The pooled out-of-fold predictions, and every metric of them. */
  oof: EvaluationInput;
  oofMetrics: Record<string, number>;
  /** Classification: per class, confusion and notes of the pooled predictions. */
  classification?: ClassificationMetrics;
  folds: Record<string, FoldSummary>;
  /** Each metric's mean over folds (what the gates test without a test set). */
  cvMeans: Record<string, number>;
  intervals: Record<string, BootstrapInterval>;
  variability?: Variability;
}

/**
 * Cross-validates the candidates (or only the search's winner) on the folds, then measures the
 * winner from its out-of-fold predictions: the decision threshold (binary), every metric of the task
 * pooled and per fold, the headline's bootstrap interval, and repeated cross-validation.
 */
export async function crossValidateStage(
  context: RunContext,
  input: { set: TrainingSet; splits: Splits; searched: SearchResult },
): Promise<CrossValidated> {
  const { project, seed } = context;
  const { set, splits, searched } = input;
  let trials: TrialResult[];
  let best: number;
  let trial: TrialResult;
  if (searched.best !== undefined) {
    ({ trials, best } = searched as { trials: TrialResult[]; best: number });
    const evaluated = await crossValidate({
      ...set,
      folds: splits.folds,
      candidates: [searched.candidates[best]],
      seed,
    });
    trial = evaluated.trials[0];
  } else {
    ({ trials, best } = await crossValidate({
      ...set,
      folds: splits.folds,
      candidates: searched.candidates,
      seed,
      onTrial: trialRecorder(context),
      gates: project.gates,
    }));
    trial = trials[best];
  }
  const candidate = searched.candidates[best];
  const params = set.family.params.parse(candidate.params) as Record<string, unknown>;
  const featureSettings = Object.fromEntries(
    Object.entries(candidate.settings).filter(([key]) => key.startsWith('features.')),
  );

  context.progress.stage('evaluate');
  const width = scoreWidth(set);
  const scored = splits.devRows.filter((i) => !Number.isNaN(trial.oof[i * width]));
  const pooled = {
    task: set.task.name,
    yTrue: pickValues(set.y, scored),
    scores: pickRows(trial.oof, scored, width),
    classes: set.classes,
    positive: set.positive,
  };
  const threshold =
    set.positive === undefined || !(pooled.yTrue instanceof Int32Array)
      ? undefined
      : selectThreshold(
          { yTrue: pooled.yTrue, proba: pooled.scores, classes: set.classes, positive: set.positive },
          project.evaluation.threshold,
        ).threshold;
  const oof: EvaluationInput = { ...pooled, threshold };
  const oofMetrics = metricValues(oof);
  const foldValues = foldMetrics(set, trial, splits.folds, threshold);
  const folds = summarise(foldValues);
  const cvMeans = Object.fromEntries(Object.entries(folds).map(([name, s]) => [name, s.mean]));
  const intervals: Record<string, BootstrapInterval> = {};
  if (project.evaluation.bootstrap > 0)
    intervals[set.headline] = bootstrapEvaluation(oof, set.headline, {
      seed,
      replicates: project.evaluation.bootstrap,
    });

  let variability: Variability | undefined;
  if (project.evaluation.repeats > 1) {
    if (splits.config.strategy === 'time' || !splits.config.shuffle)
      context.warn(
        'evaluation.repeats: the folds do not change with the seed (time split or shuffle off); repeats vary only the model seed',
      );
    variability = await repeatedCrossValidation({
      cv: set,
      split: splits.config,
      target: project.target.column,
      rows: splits.devRows,
      candidate,
      repeats: project.evaluation.repeats,
      seed,
      threshold,
      firstRepeat: foldValues,
    });
  }
  return {
    candidate,
    trials,
    best,
    trial,
    params,
    featureSettings,
    ...(threshold === undefined ? {} : { threshold }),
    oof,
    oofMetrics,
    ...(set.task.target === 'classes' ? { classification: classificationOf(oof) } : {}),
    folds,
    cvMeans,
    intervals,
    ...(variability ? { variability } : {}),
  };
}
