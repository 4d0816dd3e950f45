import type { ModelInput } from '../../data/matrix.js';
import { takeRows } from '../../data/table.js';
import { type FittedPipeline, fitPipeline } from '../../features/pipeline.js';
import type { FittedModel } from '../../models/family.js';
import { fitModel } from '../cross-validate.js';
import { pickValues } from '../rows.js';
import type { RunContext } from '../stage.js';
import type { CrossValidated } from './cross-validate.js';
import type { Splits } from './split.js';
import type { TrainingSet } from './validate.js';

export interface FittedRun {
  pipeline: FittedPipeline;
  model: FittedModel;
  /** The development rows' model input (the reference statistics are taken from it). */
  X: ModelInput;
}

/** The winner refitted on every development row: feature pipeline, then the model, from a cold start. */
export async function fit(
  context: RunContext,
  input: { set: TrainingSet; splits: Splits; cv: CrossValidated },
): Promise<FittedRun> {
  const { set, splits, cv } = input;
  const dev = takeRows(set.table, splits.devRows);
  context.progress.stage('final fit', { rows: dev.nRows, params: JSON.stringify(cv.params) });
  const { pipeline, X } = await fitPipeline(cv.candidate.features, dev, {
    exclude: set.exclude,
    allowMissing: set.family.capabilities.missingValues,
    consumer: `model family ${set.family.name}`,
  });
  const model = await fitModel(
    set,
    X,
    pickValues(set.y, splits.devRows),
    set.weights && pickValues(set.weights, splits.devRows),
    cv.candidate,
    context.seed,
    { context: 'final fit' },
  );
  return { pipeline, model, X };
}
