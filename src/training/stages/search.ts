import { holdoutSplit, splitOptions } from '../../data/split.js';
import { crossValidate, type TrialResult } from '../cross-validate.js';
import { type Candidate, searchCandidates } from '../search.js';
import type { RunContext } from '../stage.js';
import type { Splits } from './split.js';
import type { TrainingSet } from './validate.js';

export interface SearchResult {
  candidates: Candidate[];
  /** Trials scored on a fixed validation split; empty when candidates compete by cross-validation. */
  trials: TrialResult[];
  /** The winner's index, when this stage chose it. */
  best?: number;
  /** What the candidates are scored on, for the report. */
  scoredOn: string;
}

/** Records a finished trial at once, so a crash loses nothing finished. */
export function trialRecorder(context: RunContext) {
  return (t: TrialResult) =>
    context.store.recordTrial({
      runId: context.run.id,
      index: t.index,
      params: t.params,
      foldScores: t.foldScores,
      mean: t.mean,
      std: t.std,
      seconds: t.seconds,
    });
}

/**
 * The candidates of the configured search (the base params alone with `noSearch`). With a fixed
 * validation split (`search.validation.fraction`) they compete on it here and only the winner is
 * cross-validated next; otherwise they compete by cross-validation in the next stage.
 */
export async function search(
  context: RunContext,
  input: { set: TrainingSet; splits: Splits; noSearch: boolean },
): Promise<SearchResult> {
  const { project, seed } = context;
  const { set, splits } = input;
  const config = input.noSearch ? undefined : project.model.search;
  const candidates = searchCandidates(
    { params: project.model.params, features: project.features },
    config,
    seed,
  );
  const validation = config?.validation ?? 'cv';
  if (validation === 'cv' || candidates.length === 1)
    return { candidates, trials: [], scoredOn: `${splits.folds.length}-fold cross-validation` };
  const split = holdoutSplit(set.table, validation.fraction, {
    ...splitOptions(splits.config, { seed, target: project.target.column }),
    rows: splits.devRows,
  });
  const { trials, best } = await crossValidate({
    ...set,
    folds: [{ train: split.train, valid: split.test }],
    candidates,
    seed,
    stage: 'search',
    onTrial: trialRecorder(context),
    gates: project.gates,
  });
  return {
    candidates,
    trials,
    best,
    scoredOn: `a fixed validation split (${split.test.length} of ${splits.devRows.length} rows, seed ${seed})`,
  };
}
