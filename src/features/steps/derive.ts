import { getColumn, isNumericColumn, numericColumn, type Table } from '../../data/table.js';
import { evaluateExpression, parseExpression } from '../expression.js';
import { builtinStepConfigSchema } from './configs.js';
import { deriveExpression } from './derive-onnx.js';
import {
  assertNotExcluded,
  type BuiltinStepKind,
  type FittedStep,
  parseState,
  replaceColumns,
  type StepConfig,
  type StepState,
} from './step.js';

export interface DeriveState extends StepState {
  readonly config: StepConfig<'derive'>;
}

/**
 * A numeric column computed from an arithmetic expression over numeric columns (see expression.ts for
 * the syntax). A name that already exists replaces that column in place; a new name is appended.
 */
export const deriveStep: BuiltinStepKind<'derive', DeriveState> = {
  name: 'derive',
  description: 'a new numeric column from an arithmetic expression over columns',
  takes: ['number', 'integer', 'boolean', 'datetime'],
  gives: 'table',
  config: builtinStepConfigSchema('derive'),
  fit(table, config, context) {
    const expression = parseExpression(config.expr);
    assertNotExcluded(config.name, context);
    for (const name of expression.columns) {
      assertNotExcluded(name, context);
      const column = getColumn(table, name);
      if (!isNumericColumn(column)) {
        throw new Error(
          `expression "${config.expr}": column "${name}" is ${column.type}, expected a numeric column`,
        );
      }
    }
    return fittedDerive({ config }, expression);
  },
  load(raw) {
    return fittedDerive(parseState('derive', {}, raw));
  },
  exportOnnx({ config }, g, columns) {
    const value = deriveExpression(
      g,
      parseExpression(config.expr),
      (name) => columns.numeric(name),
      () => columns.rowShape(),
    );
    columns.setNumeric(config.name, value);
  },
};

function fittedDerive(
  state: DeriveState,
  expression = parseExpression(state.config.expr),
): FittedStep<DeriveState> {
  return {
    state,
    reads: expression.columns,
    writes: [state.config.name],
    transform(table: Table): Table {
      const values = evaluateExpression(expression, table.nRows, (name) => numericColumn(table, name).values);
      return replaceColumns(table, [[state.config.name, { type: 'number', values }]]);
    },
  };
}
