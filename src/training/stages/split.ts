import type { SplitConfig } from '../../config/schema.js';
import { type Fold, type Holdout, splitFromConfig } from '../../data/split.js';
import { type Table, takeRows } from '../../data/table.js';
import { pickValues } from '../rows.js';
import type { RunContext } from '../stage.js';
import type { TrainingSet } from './validate.js';

export interface Splits {
  /** The split settings used: `stratified` means random for regression (there are no classes). */
  config: SplitConfig;
  /** Rows that cross-validation and the final fit see (all rows unless a holdout is taken). */
  devRows: Int32Array;
  folds: Fold[];
  holdout: Holdout | null;
  /** What the final model is scored on once: the holdout rows or the test file. */
  test: { table: Table; y: Int32Array | Float64Array; name: string } | null;
}

/** The cross-validation folds on the development rows, and the held-out test set if any. */
export function split(context: RunContext, set: TrainingSet): Splits {
  const { project, seed } = context;
  context.progress.stage('split', { strategy: project.split.strategy, folds: project.split.folds });
  const config: SplitConfig =
    set.task.target === 'numbers' && project.split.strategy === 'stratified'
      ? { ...project.split, strategy: 'random' }
      : project.split;
  const { holdout, folds } = splitFromConfig(set.table, config, { seed, target: project.target.column });
  const devRows = holdout?.train ?? Int32Array.from({ length: set.table.nRows }, (_, i) => i);
  let test: Splits['test'] = null;
  if (holdout) {
    test = {
      table: takeRows(set.table, holdout.test),
      y: pickValues(set.y, holdout.test),
      name: 'held-out test set',
    };
  } else if (set.data.test && set.testTargets) {
    test = { table: set.data.test.table, y: set.testTargets, name: `test file ${set.data.test.report.path}` };
  }
  return { config, devRows, folds, holdout, test };
}
