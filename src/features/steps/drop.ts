import { ALL_COLUMN_TYPES, getColumn, type Table, withoutColumns } from '../../data/table.js';
import { builtinStepConfigSchema } from './configs.js';
import {
  type BuiltinStepKind,
  type FittedStep,
  parseState,
  type StepConfig,
  type StepState,
} from './step.js';

export interface DropState extends StepState {
  readonly config: StepConfig<'drop'>;
}

/** Removes columns. At scoring an absent column is fine: it is not needed. */
export const dropStep: BuiltinStepKind<'drop', DropState> = {
  name: 'drop',
  description: 'remove columns',
  takes: ALL_COLUMN_TYPES,
  gives: 'table',
  config: builtinStepConfigSchema('drop'),
  fit(table, config) {
    // A typo should fail at fit rather than leave the intended column in the features.
    for (const name of config.columns) getColumn(table, name);
    return fittedDrop({ config });
  },
  load(raw) {
    return fittedDrop(parseState('drop', {}, raw));
  },
  exportOnnx(state, _g, columns) {
    for (const name of state.config.columns) columns.delete(name);
  },
};

function fittedDrop(state: DropState): FittedStep<DropState> {
  return {
    state,
    reads: [],
    writes: [],
    transform: (table: Table) => withoutColumns(table, state.config.columns),
  };
}
