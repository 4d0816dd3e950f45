import { z } from 'zod';
import { getColumn, isStringColumn, stringColumn, type Table } from '../../data/table.js';
import { assertNoMissingMarker, equalsAny } from '../../onnx/columns.js';
import { OnnxExportError } from '../../onnx/errors.js';
import { DOUBLE } from '../../onnx/graph.js';
import { sortedLevels } from '../stats.js';
import { builtinStepConfigSchema } from './configs.js';
import {
  assertNotExcluded,
  type BuiltinStepKind,
  describeLevels,
  type FittedStep,
  parseState,
  replaceColumns,
  reportRow,
  type StepConfig,
  type StepState,
} from './step.js';

export interface OrdinalState extends StepState {
  readonly config: StepConfig<'ordinal'>;
  /** Level k is encoded as k. */
  readonly levels: readonly string[];
}

/**
 * Replaces a string column by the integer code of its level: the explicit `order`, or the sorted
 * training levels. A missing value stays missing (NaN); an unseen level is NaN (`unseen: 'nan'`,
 * reported as an unseen value) or an invalid row (`unseen: 'error'`).
 */
export const ordinalStep: BuiltinStepKind<'ordinal', OrdinalState> = {
  name: 'ordinal',
  description: 'integer codes of levels, in an explicit or sorted order',
  takes: ['category', 'string', 'text'],
  gives: 'table',
  config: builtinStepConfigSchema('ordinal'),
  fit(table, config, context) {
    assertNotExcluded(config.column, context);
    const column = getColumn(table, config.column);
    if (!isStringColumn(column)) {
      throw new Error(
        `column "${config.column}" is ${column.type}: ordinal needs a category or string column`,
      );
    }
    const seen = sortedLevels(column.values);
    if (!config.order) return fittedOrdinal({ config, levels: seen });
    if (new Set(config.order).size !== config.order.length) {
      throw new Error(`ordinal order of column "${config.column}" lists a level twice`);
    }
    const missing = seen.filter((level) => !config.order?.includes(level));
    if (missing.length > 0) {
      throw new Error(
        `column "${config.column}" has levels missing from its ordinal order: ${describeLevels(missing)}`,
      );
    }
    return fittedOrdinal({ config, levels: config.order });
  },
  load(raw) {
    return fittedOrdinal(parseState('ordinal', { levels: z.array(z.string()) }, raw));
  },
  exportOnnx({ config, levels }, g, columns) {
    assertNoMissingMarker(levels, `the levels of column "${config.column}"`);
    if (levels.length === 0) throw new OnnxExportError(`ordinal column "${config.column}" has no levels`);
    const x = columns.string(config.column);
    const matches = g.node('Cast', [g.node('Equal', [x, g.strings(levels, [1, levels.length])])], {
      to: DOUBLE,
    });
    // One-hot rows times the codes 0..L-1 give the code; no match (missing or unseen) gives NaN.
    const codes = g.doubles(
      levels.map((_, k) => k),
      [levels.length, 1],
    );
    const known = equalsAny(g, x, levels);
    const code = g.node('Where', [known, g.node('MatMul', [matches, codes]), g.doubles([Number.NaN])]);
    if (config.unseen === 'error') {
      columns.refuse(
        g.node('And', [g.node('Not', [known]), g.node('Not', [columns.isMissing(config.column)])]),
      );
    }
    columns.setNumeric(config.column, code);
  },
};

/** What an unseen level becomes under `unseen: 'nan'`. */
const SCORED_AS = 'scored as a missing value';

function fittedOrdinal(state: OrdinalState): FittedStep<OrdinalState> {
  const { column: name, unseen } = state.config;
  const codes = new Map(state.levels.map((level, k) => [level, k]));
  const known = describeLevels(state.levels);
  return {
    state,
    reads: [name],
    writes: [name],
    transform(table: Table, rowErrors, found) {
      const values = stringColumn(table, name).values;
      const out = new Float64Array(values.length);
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        const code = v === null ? undefined : codes.get(v);
        out[i] = code ?? Number.NaN;
        if (code === undefined && v !== null) {
          if (unseen === 'error')
            reportRow(rowErrors, i, `column "${name}": unseen level ${JSON.stringify(v)} (known: ${known})`);
          else found?.push({ row: i, column: name, value: v, scoredAs: SCORED_AS });
        }
      }
      return replaceColumns(table, [[name, { type: 'integer', values: out }]]);
    },
    findUnseen(table, found) {
      // Under 'error' such rows are refused, not scored.
      if (unseen === 'error') return;
      const values = stringColumn(table, name).values;
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (v !== null && !codes.has(v)) found.push({ row: i, column: name, value: v, scoredAs: SCORED_AS });
      }
    },
  };
}
