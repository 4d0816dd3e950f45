import { z } from 'zod';
import { type Column, getColumn, isStringColumn, stringColumn, type Table } from '../../data/table.js';
import { assertNoMissingMarker, equalsAny, isMissingString, MISSING_STRING } from '../../onnx/columns.js';
import { DOUBLE } from '../../onnx/graph.js';
import { sortedLevels } from '../stats.js';
import { builtinStepConfigSchema } from './configs.js';
import {
  assertNotExcluded,
  type BuiltinStepKind,
  describeLevels,
  type FittedStep,
  parseState,
  reportRow,
  type StepConfig,
  type StepState,
} from './step.js';

/** Name of the level standing for a missing value (`missing: 'level'`), as pandas' dummy_na names it. */
export const MISSING_LEVEL = 'nan';

export interface OneHotState extends StepState {
  readonly config: StepConfig<'one_hot'>;
  readonly encodings: readonly {
    readonly column: string;
    /** Sorted distinct training values. */
    readonly levels: readonly string[];
    /** Whether missing values were seen at fit under `missing: 'level'`; their level comes last. */
    readonly missingLevel: boolean;
  }[];
}

/**
 * One 0/1 column (type boolean) per level, named `${column}_${level}`. Levels are the sorted distinct
 * training values, then the missing level `nan` when `missing: 'level'` and the training data had
 * missing values; `drop: 'first'` drops the first of them. Names and order equal pandas
 * `get_dummies(df, columns=..., drop_first=True[, dummy_na=True])`: the encoded columns are removed and
 * their dummies appended at the end, column by column. At scoring, a level not seen at fit (a missing
 * value included, when none was seen) gives all zeros (`unseen: 'ignore'`, reported as an unseen
 * value) or an invalid row (`unseen: 'error'`); with `missing: 'ignore'` a missing value is always all
 * zeros.
 */
export const oneHotStep: BuiltinStepKind<'one_hot', OneHotState> = {
  name: 'one_hot',
  description: 'one 0/1 column per training level (pandas get_dummies)',
  takes: ['category', 'string', 'text'],
  gives: 'table',
  config: builtinStepConfigSchema('one_hot'),
  fit(table, config, context) {
    const encodings = config.columns.map((name) => {
      assertNotExcluded(name, context);
      const column = getColumn(table, name);
      if (!isStringColumn(column)) {
        throw new Error(`column "${name}" is ${column.type}: one_hot needs a category or string column`);
      }
      const missingLevel = config.missing === 'level' && column.values.includes(null);
      return { column: name, levels: sortedLevels(column.values), missingLevel };
    });
    const fitted = fittedOneHot({ config, encodings });
    const encoded = new Set(config.columns);
    for (const name of fitted.writes) {
      if ((table.columns.has(name) && !encoded.has(name)) || context.exclude.has(name)) {
        throw new Error(`one_hot output column "${name}" already exists; rename that column`);
      }
    }
    if (new Set(fitted.writes).size !== fitted.writes.length) {
      throw new Error(`one_hot output names collide: ${fitted.writes.join(', ')}`);
    }
    return fitted;
  },
  load(raw) {
    const encoding = z.strictObject({
      column: z.string(),
      levels: z.array(z.string()),
      missingLevel: z.boolean(),
    });
    return fittedOneHot(parseState('one_hot', { encodings: z.array(encoding) }, raw));
  },
  exportOnnx({ config, encodings }, g, columns) {
    const dropFirst = config.drop === 'first' ? 1 : 0;
    const inputs = encodings.map(({ column }) => columns.string(column));
    for (const { column } of encodings) columns.delete(column);
    encodings.forEach(({ column, levels, missingLevel }, e) => {
      assertNoMissingMarker(levels, `the levels of column "${column}"`);
      const x = inputs[e];
      // "" (missing) stands for the `nan` level; any other value matches at most one real level.
      const all = missingLevel ? [...levels, MISSING_STRING] : [...levels];
      const kept = all.slice(dropFirst);
      if (kept.length > 0) {
        const block = g.node('Cast', [g.node('Equal', [x, g.strings(kept, [1, kept.length])])], {
          to: DOUBLE,
        });
        const outputs = [...levels, ...(missingLevel ? [MISSING_LEVEL] : [])].slice(dropFirst);
        columns.setBlock(
          outputs.map((level) => `${column}_${level}`),
          block,
        );
      }
      if (config.unseen === 'error') {
        // Refused: a value matching no level (missing included), unless missing values are ignored.
        const unknown = g.node('Not', [equalsAny(g, x, all)]);
        columns.refuse(
          config.missing === 'ignore' && !missingLevel
            ? g.node('And', [unknown, g.node('Not', [isMissingString(g, x)])])
            : unknown,
        );
      }
    });
  },
};

/** What an unseen value becomes under `unseen: 'ignore'`. */
const SCORED_AS = 'scored as no level seen in training';

function fittedOneHot(state: OneHotState): FittedStep<OneHotState> {
  const dropFirst = state.config.drop === 'first' ? 1 : 0;
  const layouts = state.encodings.map(({ column, levels, missingLevel }) => {
    const all = missingLevel ? [...levels, MISSING_LEVEL] : levels;
    return {
      column,
      codes: new Map(levels.map((level, k) => [level, k])),
      /** Category code of a missing value, -1 when it has none. */
      missingCode: missingLevel ? levels.length : -1,
      outputs: all.slice(dropFirst).map((level) => `${column}_${level}`),
      known: describeLevels(levels),
    };
  });
  const { unseen, missing } = state.config;
  // A value without a level is unseen, a missing one too unless missing values are all zeros anyway.
  const isUnseen = (v: string | null) => v !== null || missing === 'level';
  return {
    state,
    reads: state.config.columns,
    writes: layouts.flatMap((l) => l.outputs),
    transform(table: Table, rowErrors, found) {
      const out = new Map(table.columns);
      for (const layout of layouts) out.delete(layout.column);
      for (const { column, codes, missingCode, outputs, known } of layouts) {
        const values = stringColumn(table, column).values;
        const dummies = outputs.map(() => new Float64Array(table.nRows));
        for (let i = 0; i < values.length; i++) {
          const v = values[i];
          const code = v === null ? missingCode : (codes.get(v) ?? -1);
          if (code >= dropFirst) dummies[code - dropFirst][i] = 1;
          else if (code === -1 && isUnseen(v)) {
            if (unseen === 'error') {
              const what = v === null ? 'missing value (none at fit)' : `unseen level ${JSON.stringify(v)}`;
              reportRow(rowErrors, i, `column "${column}": ${what} (known: ${known})`);
            } else found?.push({ row: i, column, value: v, scoredAs: SCORED_AS });
          }
        }
        outputs.forEach((name, k) => {
          out.set(name, { type: 'boolean', values: dummies[k] } satisfies Column);
        });
      }
      return { nRows: table.nRows, columns: out };
    },
    findUnseen(table, found) {
      // Under 'error' such rows are refused, not scored.
      if (unseen === 'error') return;
      for (const { column, codes, missingCode } of layouts) {
        const values = stringColumn(table, column).values;
        for (let i = 0; i < values.length; i++) {
          const v = values[i];
          if ((v === null ? missingCode : (codes.get(v) ?? -1)) === -1 && isUnseen(v))
            found.push({ row: i, column, value: v, scoredAs: SCORED_AS });
        }
      }
    },
  };
}
