import { z } from 'zod';
import type { FeatureStepConfig } from '../../config/schema.js';
import type { CsrMatrix } from '../../data/matrix.js';
import { type Column, type ColumnType, getColumn, type Table } from '../../data/table.js';
import type { Tensor } from '../../data/tensor.js';
import type { OnnxColumns } from '../../onnx/columns.js';
import type { GraphBuilder } from '../../onnx/graph.js';
import { type BuiltinStepName, builtinStepConfigSchema, type StepConfig } from './configs.js';

export type { BuiltinStepConfig, BuiltinStepName, StepConfig } from './configs.js';

/** Row index → reason. The first problem found for a row is kept; later steps see garbage for it anyway. */
export type RowErrors = Map<number, string>;

export function reportRow(rowErrors: RowErrors, row: number, reason: string): void {
  if (!rowErrors.has(row)) rowErrors.set(row, reason);
}

/**
 * A value a step scored without having seen it at fit: an unseen level under `unseen: 'ignore'` (or
 * `'nan'`), a missing value where training had none. The row is scored; callers can say how.
 */
export interface UnseenValue {
  readonly row: number;
  /** The column the step read. */
  readonly column: string;
  /** The value; null when missing. */
  readonly value: string | null;
  /** What the step made of it, e.g. `scored as no level seen in training`. */
  readonly scoredAs: string;
}

/** JSON-serialisable frozen state of a fitted step: its config plus what it learned at fit. */
export interface StepState<C extends FeatureStepConfig = FeatureStepConfig> {
  readonly config: C;
}

export interface FittedStep<S extends StepState = StepState> {
  readonly state: S;
  /** Columns read from the step's input table (determines the raw columns a pipeline needs). */
  readonly reads: readonly string[];
  /** Columns the step creates or overwrites. */
  readonly writes: readonly string[];
  /**
   * Applies the frozen state only, never statistics of `table`. Per-row problems go to `rowErrors`,
   * values scored without being seen at fit to `unseen` when given; a missing or mistyped column (a
   * schema problem of the whole batch) throws.
   */
  transform(table: Table, rowErrors: RowErrors, unseen?: UnseenValue[]): Table;
  /**
   * What `transform` would add to `unseen`, found without transforming (a lookup per value), for engines
   * that do not run the JS pipeline. A step that reports unseen values implements it.
   */
  findUnseen?(table: Table, found: UnseenValue[]): void;
  /**
   * Features too many and too sparse for table columns (TF-IDF: one per term). The pipeline appends
   * them after the table's feature columns, in step order, and the columns the step reads are not
   * features themselves. Such a step's `transform` returns its table unchanged.
   */
  readonly sparse?: SparseFeatures;
  /**
   * An N-D tensor made from the table (windows of readings, decoded images): it becomes the model's
   * input, so a pipeline has at most one and no table or sparse features beside it. Such a step's
   * `transform` returns its table unchanged.
   */
  readonly tensor?: TensorFeatures;
}

export interface TensorFeatures {
  /** Names the tensor in the pipeline state and reports. */
  readonly name: string;
  /** The shape of one row's tensor, e.g. [window, sensors]. */
  readonly rowShape: readonly number[];
  /** One row per table row: [rows, ...rowShape]. */
  transform(table: Table, rowErrors: RowErrors): Tensor;
}

export interface SparseFeatures {
  /** Names the block; unique in a pipeline. */
  readonly name: string;
  /** Matrix column names, e.g. `question_words:mal de`. */
  readonly featureNames: readonly string[];
  /** One row per table row, `featureNames.length` columns. */
  transform(table: Table, rowErrors: RowErrors): CsrMatrix;
}

export interface FitContext {
  /** Target, id and other columns no step may read or write. */
  readonly exclude: ReadonlySet<string>;
}

/**
 * A kind of feature step, registered by name (`registerFeatureStep`): its config schema, how it fits
 * on training rows, and how a fitted step is restored from the state a package stores.
 */
export interface StepKind<
  C extends FeatureStepConfig = FeatureStepConfig,
  S extends StepState<C> = StepState<C>,
> {
  readonly name: string;
  readonly description: string;
  /** The column types it reads; the pipeline refuses a step configured on a column of another type. */
  readonly takes: readonly ColumnType[];
  /** What it adds to the model's input: table columns, a sparse block, or the tensor. */
  readonly gives: 'table' | 'sparse' | 'tensor';
  /** Validates a config of this kind (`step` equal to `name`) and fills its defaults. */
  readonly config: z.ZodType<C>;
  /** Fits on training data only. */
  fit(table: Table, config: C, context: FitContext): FittedStep | Promise<FittedStep>;
  /** Restores a fitted step from its `state` (validated: it may come from a manifest on disk). */
  load(state: unknown): FittedStep;
  /**
   * Adds the fitted step to an ONNX graph (its state already validated by `load`): reads the columns it
   * needs from `columns` and sets or deletes what its `transform` writes or removes; sparse features as
   * one block (`setBlock`), refused rows with `refuse`. Throws `OnnxExportError` for a state the graph
   * cannot express. Absent: a pipeline with this step has no ONNX graph.
   */
  exportOnnx?(state: S, graph: GraphBuilder, columns: OnnxColumns): void;
}

/** A built-in kind, typed by its name (and its state, for `exportOnnx`). */
export type BuiltinStepKind<
  K extends BuiltinStepName,
  S extends StepState<StepConfig<K>> = StepState<StepConfig<K>>,
> = StepKind<StepConfig<K>, S> & { readonly name: K };

/**
 * Resolves a columns selector against the column types present at fit. 'numeric' means number and
 * integer columns (not boolean, not datetime); 'boolean' means boolean columns; 'category' means
 * category and string columns (not free text). Excluded columns never match a selector.
 */
export function resolveColumns(
  table: Table,
  selector: readonly string[] | 'numeric' | 'boolean' | 'category',
  context: FitContext,
): string[] {
  if (typeof selector !== 'string') {
    for (const name of selector) {
      getColumn(table, name);
      assertNotExcluded(name, context);
    }
    if (new Set(selector).size !== selector.length)
      throw new Error(`columns listed twice in [${selector.join(', ')}]`);
    return [...selector];
  }
  const types = SELECTOR_TYPES[selector];
  const names: string[] = [];
  for (const [name, column] of table.columns) {
    if (types.includes(column.type) && !context.exclude.has(name)) names.push(name);
  }
  if (names.length === 0) {
    const present = [...new Set([...table.columns.values()].map((c) => c.type))].join(', ');
    throw new Error(
      `selector "${selector}" (${types.join('/')} columns) matches no column; types present: ${present}`,
    );
  }
  return names;
}

const SELECTOR_TYPES: Record<'numeric' | 'boolean' | 'category', readonly ColumnType[]> = {
  numeric: ['number', 'integer'],
  boolean: ['boolean'],
  category: ['category', 'string'],
};

export function assertNotExcluded(name: string, context: FitContext): void {
  if (context.exclude.has(name)) {
    throw new Error(
      `column "${name}" is excluded from features (target, id, ...) and cannot be used by a step`,
    );
  }
}

export function assertFinite(value: number, what: string): number {
  if (!Number.isFinite(value))
    throw new Error(`${what} is ${value}: the training data has no usable values for it`);
  return value;
}

/** Copies the column map so a step can replace or add columns without touching its input. */
export function replaceColumns(table: Table, replacements: Iterable<[string, Column]>): Table {
  const out = new Map(table.columns);
  for (const [name, column] of replacements) out.set(name, column);
  return { nRows: table.nRows, columns: out };
}

/**
 * Validates a stored step state: its config through the kind's config schema, the rest through
 * `frozen`. For steps registered through the SDK, pass the kind's own config schema.
 */
export function parseStepState<C extends FeatureStepConfig, F extends z.ZodRawShape>(
  kind: string,
  configSchema: z.ZodType<C>,
  frozen: F,
  raw: unknown,
): z.infer<z.ZodObject<F>> & { config: C } {
  const step = (raw as { config?: { step?: unknown } } | null)?.config?.step;
  if (step !== kind) throw new Error(`a ${String(step)} step state was given to the ${kind} loader`);
  const schema = z.strictObject({ config: configSchema, ...frozen });
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new Error(`invalid ${kind} step state: ${issues(parsed.error)}`);
  return parsed.data as z.infer<z.ZodObject<F>> & { config: C };
}

/** `parseStepState` for a built-in kind. */
export function parseState<K extends BuiltinStepName, F extends z.ZodRawShape>(
  kind: K,
  frozen: F,
  raw: unknown,
): z.infer<z.ZodObject<F>> & { config: StepConfig<K> } {
  return parseStepState(kind, builtinStepConfigSchema(kind), frozen, raw);
}

/** Known levels for an error message, shortened when there are many. */
export function describeLevels(levels: readonly string[]): string {
  const shown = levels.slice(0, 10).map((l) => JSON.stringify(l));
  return levels.length > 10 ? `${shown.join(', ')}, … ${levels.length} levels` : shown.join(', ') || 'none';
}

/** A zod error on one line, each issue with its JSON path. */
export function issues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
}
