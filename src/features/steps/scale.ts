import { z } from 'zod';
import { type Column, numericColumn, type Table } from '../../data/table.js';
import { nanMeanVar } from '../stats.js';
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

export interface ScaleState extends StepState {
  readonly config: StepConfig<'scale'>;
  readonly columns: readonly string[];
  readonly means: readonly number[];
  /** Population standard deviation (ddof 0), or 1 for a constant column. */
  readonly scales: readonly number[];
}

/**
 * (x - training mean) / training population std, as scikit-learn's StandardScaler: a constant column
 * (variance within rounding of zero, by the same bound) is divided by 1. Missing values stay missing;
 * outputs are type number.
 */
export const scaleStep: BuiltinStepKind<'scale', ScaleState> = {
  name: 'scale',
  description: 'standardise with the training mean and population standard deviation',
  takes: ['number', 'integer', 'boolean', 'datetime'],
  gives: 'table',
  config: builtinStepConfigSchema('scale'),
  fit(table, config, context) {
    const columns = resolveColumns(table, config.columns, context);
    const means: number[] = [];
    const scales: number[] = [];
    for (const name of columns) {
      const { mean, variance, count } = nanMeanVar(numericColumn(table, name).values);
      means.push(assertFinite(mean, `the mean of column "${name}"`));
      assertFinite(variance, `the variance of column "${name}"`);
      scales.push(isConstant(variance, mean, count) ? 1 : Math.sqrt(variance));
    }
    return fittedScale({ config, columns, means, scales });
  },
  load(raw) {
    const numbers = z.array(z.number());
    const state = parseState('scale', { columns: z.array(z.string()), means: numbers, scales: numbers }, raw);
    if (state.means.length !== state.columns.length || state.scales.length !== state.columns.length) {
      throw new Error('invalid scale step state: one mean and one scale per column');
    }
    return fittedScale(state);
  },
  exportOnnx({ columns: names, means, scales }, g, columns) {
    names.forEach((name, j) => {
      const x = columns.numeric(name);
      columns.setNumeric(
        name,
        g.node('Div', [g.node('Sub', [x, g.doubles([means[j]])]), g.doubles([scales[j]])]),
      );
    });
  },
};

/** scikit-learn's _is_constant_feature: a variance this small is rounding error of a constant. */
function isConstant(variance: number, mean: number, count: number): boolean {
  const eps = Number.EPSILON;
  return variance <= count * eps * variance + (count * mean * eps) ** 2;
}

function fittedScale(state: ScaleState): FittedStep<ScaleState> {
  return {
    state,
    reads: state.columns,
    writes: state.columns,
    transform(table: Table): Table {
      const out: [string, Column][] = state.columns.map((name, j) => {
        const column = numericColumn(table, name);
        const mean = state.means[j];
        const scale = state.scales[j];
        const values = new Float64Array(column.values.length);
        for (let i = 0; i < values.length; i++) values[i] = (column.values[i] - mean) / scale;
        return [name, { type: 'number', values }];
      });
      return replaceColumns(table, out);
    },
  };
}
