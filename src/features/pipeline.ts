import { z } from 'zod';
import { columnSpecSchema, type FeatureStepConfig } from '../config/schema.js';
import { type CsrMatrix, denseMatrix, type ModelInput } from '../data/matrix.js';
import { type ColumnType, isNumericColumn, isStringColumn, type Table } from '../data/table.js';
import { getStepKind, loadStep, parseStepConfig } from './steps/registry.js';
import {
  type FittedStep,
  issues,
  type RowErrors,
  reportRow,
  type StepKind,
  type StepState,
  type UnseenValue,
} from './steps/step.js';

export const PIPELINE_FORMAT_VERSION = 1;

/** No unseen values: shared, so a transform that finds none allocates no list. */
export const NO_UNSEEN: readonly UnseenValue[] = Object.freeze([]);

/** A step config as written in a project (defaults not yet filled). */
export type FeatureStepInput = { readonly step: string } & Record<string, unknown>;

export interface InputColumn {
  readonly name: string;
  readonly type: ColumnType;
}

/** What a model package stores; everything needed to transform at scoring, nothing from training rows. */
export interface PipelineState {
  readonly formatVersion: typeof PIPELINE_FORMAT_VERSION;
  readonly exclude: readonly string[];
  /** Raw columns the pipeline reads, with their type at fit, in the training table's order. */
  readonly inputs: readonly InputColumn[];
  readonly featureNames: readonly string[];
  readonly steps: readonly StepState[];
  /**
   * Missing (NaN) features pass through to the model, which handles them itself (its family declares
   * missing values); absent or false, a row with a missing feature left after the steps is refused.
   */
  readonly allowMissing?: boolean;
}

export interface PipelineOptions {
  /** Columns that are never features and that no step may use: target, id, group, time. */
  readonly exclude?: readonly string[];
  /** The model handles missing values: NaN features are not refused (see `PipelineState`). */
  readonly allowMissing?: boolean;
  /** Names the model in messages about what it cannot take ("model family logistic_regression"). */
  readonly consumer?: string;
}

export interface FittedPipeline {
  /**
   * Matrix column names: the table's column order after the steps, excluded columns and text columns
   * read by sparse steps left out, then each sparse step's features (`question_words:<term>`) in step
   * order.
   */
  readonly featureNames: readonly string[];
  /** How many leading `featureNames` are dense (table) features; the rest come from sparse steps. */
  readonly denseFeatureCount: number;
  /** Each sparse step's block of `featureNames`: its name, first column and width. */
  readonly sparseBlocks: readonly { name: string; start: number; size: number }[];
  readonly inputs: readonly InputColumn[];
  /** Names of `inputs`: the raw columns a scoring table must have. */
  readonly inputColumns: readonly string[];
  /** The model input's kind: a tensor step's tensor, CSR when a step makes sparse features, else dense. */
  readonly output: 'dense' | 'sparse' | 'tensor';
  /**
   * Applies the frozen steps. Rows with a problem (an unseen level under `unseen: 'error'`, a missing or
   * non-finite value left in a feature) are in `rowErrors` with the column and reason; their row of X is
   * unspecified. Values scored without being seen at fit (an unseen level under `unseen: 'ignore'`) are
   * in `unseen`, step by step. A missing input column or one of the wrong kind throws.
   */
  transform(table: Table): { X: ModelInput; rowErrors: RowErrors; unseen: readonly UnseenValue[] };
  /**
   * `transform(table).unseen`, found without transforming (a lookup per value) when the steps that report
   * unseen values read only raw input columns; else by transforming.
   */
  findUnseen(table: Table): readonly UnseenValue[];
  /** JSON-serialisable; `loadPipeline(JSON.parse(JSON.stringify(state)))` transforms identically. */
  state(): PipelineState;
}

/**
 * Validates step configs by their kinds' schemas (defaults filled, derive expressions parsed), so
 * mistakes surface before any data is read. Errors name the step by position and kind.
 */
export function checkFeatureSteps(steps: readonly unknown[]): FeatureStepConfig[] {
  return steps.map((raw, k) => {
    try {
      return parseStepConfig(raw);
    } catch (error) {
      const kind = (raw as { step?: unknown } | null)?.step;
      throw new Error(
        `feature step ${k + 1}${typeof kind === 'string' ? ` (${kind})` : ''}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  });
}

/**
 * Fits the steps in order, each on the previous step's output of the training table, and returns the
 * fitted pipeline with the training matrix (built by the same transform code scoring uses).
 */
export async function fitPipeline(
  steps: readonly FeatureStepInput[],
  table: Table,
  options: PipelineOptions = {},
): Promise<{ pipeline: FittedPipeline; X: ModelInput }> {
  const configs = checkFeatureSteps(steps);
  const exclude = new Set(options.exclude ?? []);
  const allowMissing = options.allowMissing ?? false;
  const fitted: FittedStep[] = [];
  const blocks: CsrMatrix[] = [];
  const rowErrors: RowErrors = new Map();
  let tensor: ModelInput | undefined;
  let current = table;
  for (const [k, config] of configs.entries()) {
    try {
      const kind = getStepKind(config.step);
      const step = await kind.fit(current, config, { exclude });
      checkDeclared(kind, step, current);
      if (step.sparse) blocks.push(step.sparse.transform(current, rowErrors));
      if (step.tensor) {
        if (tensor) throw new Error('a pipeline makes at most one tensor, and an earlier step made one');
        tensor = step.tensor.transform(current, rowErrors);
      }
      current = step.transform(current, rowErrors);
      fitted.push(step);
    } catch (error) {
      throw stepError(k, config, error);
    }
    const [row, reason] = rowErrors.entries().next().value ?? [];
    if (reason !== undefined)
      throw new Error(`feature step ${k + 1} (${config.step}) rejects training row ${row}: ${reason}`);
  }

  // A column turned into sparse features or a tensor is not a feature itself.
  const consumed = new Set(fitted.flatMap((step) => (step.sparse || step.tensor ? step.reads : [])));
  const dense = [...current.columns.keys()].filter((name) => !exclude.has(name) && !consumed.has(name));
  if (tensor) {
    if (dense.length > 0 || blocks.length > 0) {
      const structured = dense.filter((name) => STRUCTURED.has(current.columns.get(name)!.type));
      throw new Error(
        `feature pipeline: a tensor step's tensor is the model's whole input, but ${[
          ...dense.map((name) => `column "${name}"`),
          ...blocks.map((_, b) => `sparse block ${b + 1}`),
        ].join(', ')} would be features too: drop them or exclude them${
          structured.length > 0
            ? ` (${structured.map((name) => `"${name}"`).join(', ')}: ${STRUCTURED_HINT})`
            : ''
        }`,
      );
    }
  } else {
    checkFeatureColumns(current, dense, blocks.length > 0, allowMissing, options.consumer);
  }
  const sparseNames = fitted.flatMap((step) => (step.sparse ? [step.sparse.name] : []));
  const twice = sparseNames.find((name, k) => sparseNames.indexOf(name) !== k);
  if (twice !== undefined)
    throw new Error(`two feature steps make sparse features named "${twice}": give one of them another name`);
  const state: PipelineState = {
    formatVersion: PIPELINE_FORMAT_VERSION,
    exclude: [...exclude],
    inputs: rawInputs(table, fitted, dense),
    featureNames: tensor ? tensorFeatureNames(fitted) : [...dense, ...sparseFeatureNames(fitted)],
    steps: fitted.map((step) => step.state),
    ...(allowMissing ? { allowMissing } : {}),
  };
  return {
    // No copy of `state` here: it is only handed out through state(), which copies (a tfidf vocabulary
    // makes it large).
    pipeline: makePipeline(state, fitted),
    X: tensor ?? assemble(current, dense, blocks, rowErrors, allowMissing),
  };
}

const pipelineStateSchema = z.strictObject({
  formatVersion: z.number(),
  exclude: z.array(z.string()),
  inputs: z.array(z.strictObject({ name: z.string(), type: columnSpecSchema.shape.type })),
  featureNames: z.array(z.string()),
  steps: z.array(z.unknown()),
  allowMissing: z.boolean().optional(),
});

/** Restores a pipeline from `state()` output (typically read back from a model package's manifest). */
export function loadPipeline(raw: unknown): FittedPipeline {
  const parsed = pipelineStateSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`invalid feature pipeline state: ${issues(parsed.error)}`);
  const { formatVersion, ...rest } = parsed.data;
  if (formatVersion !== PIPELINE_FORMAT_VERSION) {
    throw new Error(
      `feature pipeline formatVersion ${formatVersion} is not supported (this Kiln reads ${PIPELINE_FORMAT_VERSION})`,
    );
  }
  const steps = rest.steps.map((step, k) => {
    try {
      return loadStep(step);
    } catch (error) {
      throw new Error(`feature step ${k + 1}: ${(error as Error).message}`, { cause: error });
    }
  });
  return makePipeline({ formatVersion, ...rest, steps: steps.map((s) => s.state) }, steps);
}

function makePipeline(state: PipelineState, steps: readonly FittedStep[]): FittedPipeline {
  const inputColumns = state.inputs.map((c) => c.name);
  const tensorStep = steps.find((step) => step.tensor);
  const allowMissing = state.allowMissing ?? false;
  // featureNames = the table's feature columns, then the sparse steps' features (or the tensor's name).
  const sparse = sparseFeatureNames(steps);
  const dense = tensorStep ? [] : state.featureNames.slice(0, state.featureNames.length - sparse.length);
  if (sparse.some((name, j) => name !== state.featureNames[dense.length + j]))
    throw new Error("feature pipeline state: featureNames do not end with the sparse steps' features");
  const sparseBlocks: { name: string; start: number; size: number }[] = [];
  let start = dense.length;
  for (const step of steps)
    if (step.sparse) {
      sparseBlocks.push({ name: step.sparse.name, start, size: step.sparse.featureNames.length });
      start += step.sparse.featureNames.length;
    }
  // Only the declared inputs go in, so extra columns (the target in CV, anything a client sends) can
  // never change the features.
  const inputTable = (table: Table): Table => ({
    nRows: table.nRows,
    columns: new Map(state.inputs.map((input) => [input.name, inputColumn(table, input)])),
  });
  // One list for every call (they are synchronous), copied out only when something was found.
  const found: UnseenValue[] = [];
  const takeFound = () => (found.length === 0 ? NO_UNSEEN : found.splice(0));
  const finders = steps.filter((step) => step.findUnseen);
  const direct = findsUnseenOnInputs(steps);
  const transform = (table: Table) => {
    let current = inputTable(table);
    found.length = 0;
    const rowErrors: RowErrors = new Map();
    const blocks: CsrMatrix[] = [];
    let tensor: ModelInput | undefined;
    for (const step of steps) {
      if (step.sparse) blocks.push(step.sparse.transform(current, rowErrors));
      if (step.tensor) tensor = step.tensor.transform(current, rowErrors);
      current = step.transform(current, rowErrors, found);
    }
    const X = tensor ?? assemble(current, dense, blocks, rowErrors, allowMissing);
    return { X, rowErrors, unseen: takeFound() };
  };
  return {
    featureNames: state.featureNames,
    denseFeatureCount: dense.length,
    sparseBlocks,
    inputs: state.inputs,
    inputColumns,
    output: tensorStep ? 'tensor' : sparseBlocks.length > 0 ? 'sparse' : 'dense',
    transform,
    findUnseen(table) {
      if (finders.length === 0) return NO_UNSEEN;
      if (!direct) return transform(table).unseen;
      const input = inputTable(table);
      found.length = 0;
      for (const step of finders) step.findUnseen?.(input, found);
      return takeFound();
    },
    state: () => structuredClone(state),
  };
}

/** Whether every step that reports unseen values reads only columns no earlier step wrote. */
function findsUnseenOnInputs(steps: readonly FittedStep[]): boolean {
  const written = new Set<string>();
  for (const step of steps) {
    if (step.findUnseen && step.reads.some((name) => written.has(name))) return false;
    for (const name of step.writes) written.add(name);
  }
  return true;
}

function inputColumn(table: Table, input: InputColumn) {
  const column = table.columns.get(input.name);
  if (!column) throw new Error(`input has no column "${input.name}", which the feature pipeline needs`);
  // Numeric-like and string-like types stand in for each other; a sequence or blob only for itself.
  const sameKind =
    (isNumericColumn(column) && NUMERIC.has(input.type)) ||
    (isStringColumn(column) && STRING.has(input.type)) ||
    column.type === input.type;
  if (!sameKind)
    throw new Error(
      `input column "${input.name}" is ${column.type}; the feature pipeline was fitted on ${input.type}`,
    );
  return column;
}

const NUMERIC: ReadonlySet<ColumnType> = new Set(['number', 'integer', 'boolean', 'datetime']);
/** Columns of one typed array per row, which only a step can turn into features. */
const STRUCTURED: ReadonlySet<ColumnType> = new Set(['sequence', 'blob']);
const STRUCTURED_HINT =
  'add a step that turns it into features (e.g. a registered step that makes a tensor of it), or drop it';
const STRING: ReadonlySet<ColumnType> = new Set(['category', 'string', 'text']);

/** Raw columns read by a step before any step wrote them, and raw columns that are features as they are. */
function rawInputs(
  table: Table,
  steps: readonly FittedStep[],
  featureNames: readonly string[],
): InputColumn[] {
  const written = new Set<string>();
  const needed = new Set<string>();
  for (const step of steps) {
    for (const name of step.reads) if (!written.has(name)) needed.add(name);
    for (const name of step.writes) written.add(name);
  }
  for (const name of featureNames) if (!written.has(name)) needed.add(name);
  return [...table.columns]
    .filter(([name]) => needed.has(name))
    .map(([name, column]) => ({ name, type: column.type }));
}

/** A tensor's "feature names": its step's name, e.g. for reports. */
function tensorFeatureNames(steps: readonly FittedStep[]): string[] {
  return steps.flatMap((step) => (step.tensor ? [step.tensor.name] : []));
}

function sparseFeatureNames(steps: readonly FittedStep[]): string[] {
  const names: string[] = [];
  for (const step of steps) for (const name of step.sparse?.featureNames ?? []) names.push(name);
  return names;
}

/** Every problem with the columns left after the steps, in one error. */
function checkFeatureColumns(
  table: Table,
  featureNames: readonly string[],
  sparse: boolean,
  allowMissing: boolean,
  consumer = 'the model',
): void {
  const problems: string[] = [];
  for (const name of featureNames) {
    const column = table.columns.get(name)!;
    if (column.type === 'text') {
      problems.push(`column "${name}" is text: add a tfidf step for it (or drop it)`);
    } else if (isStringColumn(column)) {
      problems.push(`column "${name}" is ${column.type}: add a one_hot or ordinal step (or drop it)`);
    } else if (column.type === 'datetime') {
      problems.push(`column "${name}" is datetime: derive a numeric feature from it, or drop it`);
    } else if (!isNumericColumn(column)) {
      problems.push(`column "${name}" is ${column.type}: ${STRUCTURED_HINT}`);
    } else {
      let missing = 0;
      let infinite = 0;
      for (const v of column.values) {
        if (Number.isNaN(v)) missing++;
        else if (!Number.isFinite(v)) infinite++;
      }
      if (missing > 0 && !allowMissing) {
        problems.push(
          `column "${name}" has ${missing} missing values after the feature steps, and ${consumer} does not handle missing values: add an impute step for it, e.g. { step: 'impute', columns: ['${name}'], strategy: 'median' }`,
        );
      }
      if (infinite > 0) problems.push(`column "${name}" has ${infinite} infinite values`);
    }
  }
  if (featureNames.length === 0 && !sparse)
    problems.push('no feature columns are left after the steps and exclusions');
  if (problems.length > 0) throw new Error(`feature pipeline: ${problems.join('; ')}`);
}

/**
 * The design matrix: row-major dense from the feature columns, or, with sparse blocks, one CSR matrix
 * with the feature columns first (their zeros left out, as scipy's hstack does) and the blocks after.
 */
function assemble(
  table: Table,
  featureNames: readonly string[],
  blocks: readonly CsrMatrix[],
  rowErrors: RowErrors,
  allowMissing: boolean,
): ModelInput {
  const n = table.nRows;
  const columns = featureNames.map((name) => featureValues(table, name, rowErrors, allowMissing));
  const p = columns.length;
  if (blocks.length === 0) {
    const data = new Float64Array(n * p);
    columns.forEach((values, j) => {
      for (let i = 0; i < n; i++) data[i * p + j] = values[i];
    });
    return denseMatrix(n, p, data);
  }
  if (p === 0 && blocks.length === 1) return blocks[0];
  const indptr = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    let count = 0;
    for (const values of columns) if (values[i] !== 0) count++;
    for (const block of blocks) count += block.indptr[i + 1] - block.indptr[i];
    indptr[i + 1] = indptr[i] + count;
  }
  const indices = new Int32Array(indptr[n]);
  const data = new Float64Array(indptr[n]);
  for (let i = 0, at = 0; i < n; i++) {
    for (let j = 0; j < p; j++) {
      const v = columns[j][i];
      if (v !== 0) {
        indices[at] = j;
        data[at++] = v;
      }
    }
    let offset = p;
    for (const block of blocks) {
      for (let q = block.indptr[i]; q < block.indptr[i + 1]; q++) {
        indices[at] = offset + block.indices[q];
        data[at++] = block.data[q];
      }
      offset += block.cols;
    }
  }
  const cols = blocks.reduce((sum, block) => sum + block.cols, p);
  return { kind: 'csr', rows: n, cols, indptr, indices, data };
}

/** A feature column's values; a non-finite value marks its row (NaN only when the model cannot take it). */
function featureValues(
  table: Table,
  name: string,
  rowErrors: RowErrors,
  allowMissing: boolean,
): Float64Array {
  const column = table.columns.get(name);
  if (!column || !isNumericColumn(column))
    throw new Error(`feature column "${name}" is ${column?.type ?? 'absent'} after the steps`);
  const values = column.values;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v) && !(allowMissing && Number.isNaN(v))) {
      reportRow(
        rowErrors,
        i,
        `column "${name}": ${Number.isNaN(v) ? 'missing value left after the feature steps' : `non-finite value ${v}`}`,
      );
    }
  }
  return values;
}

/** A fitted step keeps to what its kind declares it takes and gives. */
function checkDeclared(kind: StepKind, step: FittedStep, input: Table): void {
  for (const name of step.reads) {
    const column = input.columns.get(name);
    if (column && !kind.takes.includes(column.type))
      throw new Error(
        `column "${name}" is ${column.type}; the ${kind.name} step takes ${kind.takes.join(', ')} columns`,
      );
  }
  const gives = step.tensor ? 'tensor' : step.sparse ? 'sparse' : 'table';
  if (gives !== kind.gives)
    throw new Error(`the ${kind.name} step declares it gives ${kind.gives} features but made ${gives} ones`);
}

function stepError(k: number, config: FeatureStepConfig, error: unknown): Error {
  return new Error(`feature step ${k + 1} (${config.step}): ${(error as Error).message}`, { cause: error });
}
