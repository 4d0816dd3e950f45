import { z } from 'zod';
import { type Column, getColumn, isNumericColumn, isStringColumn, type Table } from '../../data/table.js';
import { assertNoMissingMarker } from '../../onnx/columns.js';
import { OnnxExportError } from '../../onnx/errors.js';
import { nanMean, nanMedian, numericMode, stringMode } from '../stats.js';
import { builtinStepConfigSchema } from './configs.js';
import {
  assertFinite,
  type BuiltinStepKind,
  type FittedStep,
  parseState,
  replaceColumns,
  resolveColumns,
  type StepConfig,
  type StepState,
} from './step.js';

export interface ImputeState extends StepState {
  readonly config: StepConfig<'impute'>;
  readonly columns: readonly string[];
  /** Fill value per column, frozen at fit: a number for numeric columns, a string for string columns. */
  readonly fills: readonly (number | string)[];
}

/**
 * Fills missing values with a value computed on the training data: median (numpy's: mean of the two
 * middle values for an even count), mean, mode (ties → smallest value), or a constant (a number for
 * numeric columns, a string such as "onbekend" for category columns).
 */
export const imputeStep: BuiltinStepKind<'impute', ImputeState> = {
  name: 'impute',
  description: 'fill missing values with a training median, mean, mode or a constant',
  takes: ['number', 'integer', 'boolean', 'datetime', 'category', 'string', 'text'],
  gives: 'table',
  config: builtinStepConfigSchema('impute'),
  fit(table, config, context) {
    const columns = resolveColumns(table, config.columns, context);
    const fills = columns.map((name) => fitFill(getColumn(table, name), name, config));
    return fittedImpute({ config, columns, fills });
  },
  load(raw) {
    const state = parseState(
      'impute',
      { columns: z.array(z.string()), fills: z.array(z.union([z.number(), z.string()])) },
      raw,
    );
    if (state.fills.length !== state.columns.length)
      throw new Error('invalid impute step state: one fill per column');
    return fittedImpute(state);
  },
  exportOnnx({ columns: names, fills }, g, columns) {
    names.forEach((name, j) => {
      const fill = fills[j];
      const kind = columns.kind(name);
      if (typeof fill === 'number' && kind === 'numeric') {
        const x = columns.numeric(name);
        columns.setNumeric(name, g.node('Where', [g.node('IsNaN', [x]), g.doubles([fill]), x]));
      } else if (typeof fill === 'string' && kind === 'string') {
        assertNoMissingMarker([fill], `the fill of column "${name}"`);
        const x = columns.string(name);
        columns.setString(name, g.node('Where', [columns.isMissing(name), g.strings([fill]), x]));
      } else {
        throw new OnnxExportError(`column "${name}" is ${kind}, but its fill is a ${typeof fill}`);
      }
    });
  },
};

function fitFill(column: Column, name: string, config: StepConfig<'impute'>): number | string {
  const { strategy, value } = config;
  if (isNumericColumn(column)) {
    if (strategy === 'constant') {
      if (typeof value !== 'number')
        throw new Error(
          `column "${name}" is ${column.type}: a constant fill needs a number, got ${JSON.stringify(value)}`,
        );
      return value;
    }
    const fill =
      strategy === 'median'
        ? nanMedian(column.values)
        : strategy === 'mean'
          ? nanMean(column.values)
          : numericMode(column.values);
    return assertFinite(fill, `the ${strategy} of column "${name}"`);
  }
  if (isStringColumn(column)) {
    if (strategy === 'constant') {
      if (typeof value !== 'string')
        throw new Error(
          `column "${name}" is ${column.type}: a constant fill needs a string, got ${JSON.stringify(value)}`,
        );
      return value;
    }
    if (strategy !== 'mode')
      throw new Error(
        `column "${name}" is ${column.type}: strategy ${strategy} needs a numeric column (use mode or constant)`,
      );
    const fill = stringMode(column.values);
    if (fill === null)
      throw new Error(`column "${name}" has no values at fit to take the mode of (use a constant)`);
    return fill;
  }
  throw new Error(`column "${name}" is ${column.type}: impute works on numeric and string columns`);
}

function fittedImpute(state: ImputeState): FittedStep<ImputeState> {
  return {
    state,
    reads: state.columns,
    writes: state.columns,
    transform(table: Table): Table {
      const out: [string, Column][] = [];
      state.columns.forEach((name, j) => {
        const column = getColumn(table, name);
        const fill = state.fills[j];
        if (typeof fill === 'number' && isNumericColumn(column)) {
          const values = column.values.slice();
          for (let i = 0; i < values.length; i++) if (Number.isNaN(values[i])) values[i] = fill;
          out.push([name, { type: column.type, values }]);
        } else if (typeof fill === 'string' && isStringColumn(column)) {
          out.push([name, { type: column.type, values: column.values.map((v) => v ?? fill) }]);
        } else {
          throw new Error(
            `column "${name}" is ${column.type}, but its imputation was fitted with a ${typeof fill} fill`,
          );
        }
      });
      return replaceColumns(table, out);
    },
  };
}
