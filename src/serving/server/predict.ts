/**
 * The staged predict path (KServe's shape): validate → transform → predict → postprocess, each stage
 * timed into its own histogram. A request holds one `LiveModel` from start to end, so a swap never mixes
 * two versions inside a request. What the scores mean comes from the package's task.
 */
import { createHash } from 'node:crypto';
import { sampleBlob } from '../../data/blob-cell.js';
import { sampleSequence, sequenceJson } from '../../data/sequence-cell.js';
import { isSequenceColumn, type Table } from '../../data/table.js';
import { NO_UNSEEN } from '../../features/pipeline.js';
import type { UnseenValue } from '../../features/steps/step.js';
import type { Manifest } from '../../packaging/manifest.js';
import type { Engine, EngineOutput } from '../../scoring/engine.js';
import { type DecisionRule, decide, type Task, type TaskOutput } from '../../tasks/index.js';
import { uuid7 } from '../../util/uuid7.js';
import { clip } from './body.js';
import { type ModelInstruments, NO_INSTRUMENTS } from './metrics.js';
import {
  compileSignature,
  type ExtraFields,
  type FieldError,
  instanceLayout,
  RECORDS,
  type RowLayout,
  rowsToTable,
  type Signature,
} from './validation.js';

/** A model as loaded by a source: manifest, task, the engine that scores it, and the version it is. */
export interface ServedModel {
  readonly name: string;
  readonly version: string;
  readonly manifest: Manifest;
  readonly task: Task;
  readonly output: TaskOutput;
  readonly engine: Engine;
  /** Where it came from (a package folder; later `name@alias` with its registry version). */
  readonly origin: string;
}

/** A served model compiled for the hot path: signature rules, metric children, decision rule. */
export interface LiveModel {
  readonly model: ServedModel;
  readonly signature: Signature;
  /** Instances in signature order (`{"instances": [[...]]}` on the v1 route). */
  readonly positional: RowLayout;
  readonly instruments: ModelInstruments;
  readonly task: Task;
  readonly output: TaskOutput;
  /** Score values per prediction. */
  readonly width: number;
  /** Class names (classification); empty otherwise. */
  readonly classes: readonly string[];
  /** The package's decision rule; undefined for tasks without classes (no labels, no class counter). */
  readonly rule: DecisionRule | undefined;
}

export function compileModel(model: ServedModel, instruments: ModelInstruments): LiveModel {
  const { task, output } = model;
  // The server validates and scores rows; a sequence model's windows need another input shape.
  if (task.name === 'sequence_labelling')
    throw new Error(`model "${model.name}" is a sequence_labelling model, which kiln serve cannot serve yet`);
  const { signature: inputs, reading } = model.manifest;
  const signature = compileSignature(inputs.inputs, inputs.id, reading.missing);
  return {
    model,
    signature,
    positional: instanceLayout(
      signature,
      signature.columns.map((c) => c.name),
    ),
    instruments,
    task,
    output,
    width: model.engine.width,
    classes: output.classes,
    rule: task.rule(output),
  };
}

export interface Scored {
  /** One UUIDv7 per row: the `prediction_id` feedback refers to. */
  ids: string[];
  /** The decided class of each row (classification); undefined for tasks without classes. */
  labels: string[] | undefined;
  /** Row-major, `live.width` values per row. */
  scores: Float64Array;
  /** The validated input (for the prediction log). */
  table: Table;
  /** Values scored without being seen in training (the package ignores unseen levels): warnings. */
  unseen: readonly UnseenValue[];
}

/** `omitted`: problems counted beyond the `errors` kept (see `MAX_KEPT_ERRORS`). */
export type PredictOutcome =
  | { ok: true; scored: Scored }
  | { ok: false; errors: FieldError[]; omitted?: number };

export class PredictTimeout extends Error {
  constructor(ms: number) {
    super(`prediction did not finish within ${ms} ms`);
    this.name = 'PredictTimeout';
  }
}

export interface PredictOptions {
  extraFields: ExtraFields;
  /** Deadline for engines that answer asynchronously (a synchronous engine cannot be interrupted). */
  timeoutMs: number;
}

/** Rows in a layout through the four stages; invalid input comes back as errors, never as a throw. */
export async function predictRows(
  live: LiveModel,
  rows: readonly unknown[],
  layout: RowLayout,
  rowPath: (i: number) => string,
  options: PredictOptions,
): Promise<PredictOutcome> {
  const { stage } = live.instruments;
  live.instruments.batchSize.observe(rows.length);
  let t = performance.now();
  const { table, errors, omitted } = rowsToTable(live.signature, rows, layout, rowPath, options.extraFields);
  t = lap(stage.validate, t);
  if (errors.length > 0) return { ok: false, errors, omitted };
  return predictTable(live, table, rowPath, options, t);
}

/**
 * The stages after validation, for inputs that arrive as columns (OIP v2 tensors). An engine that runs
 * the JS pipeline is timed transform, then predict, and stops before the model on a refused row; an
 * engine that runs the whole pipeline itself (ONNX) is one predict stage and names the refused rows after.
 */
export async function predictTable(
  live: LiveModel,
  table: Table,
  rowPath: (i: number) => string,
  options: PredictOptions,
  started = performance.now(),
): Promise<PredictOutcome> {
  const { stage } = live.instruments;
  const { engine } = live.model;
  let t = started;
  let scores: Float64Array;
  let unseen: readonly UnseenValue[];
  if (engine.stages) {
    const transformed = engine.stages.transform(table);
    t = lap(stage.transform, t);
    // Unseen levels under `unseen: 'error'`, missing values the package does not impute: the client's
    // input, so a 400 naming the row and column, never a 500.
    if (transformed.rowErrors.size > 0) return refused(transformed.rowErrors, rowPath);
    unseen = transformed.unseen;
    const result = engine.stages.predict(transformed.X);
    scores = result instanceof Float64Array ? result : await withDeadline(result, options.timeoutMs);
  } else {
    const result = engine.score(table);
    const output: EngineOutput =
      result instanceof Promise ? await withDeadline(result, options.timeoutMs) : result;
    if (output.rowErrors.size > 0) return refused(output.rowErrors, rowPath);
    scores = output.scores;
    unseen = output.unseen ?? NO_UNSEEN;
  }
  t = lap(stage.predict, t);
  const { width, rule, classes } = live;
  if (scores.length !== table.nRows * width)
    throw new Error(`engine returned ${scores.length} scores for ${table.nRows} rows x ${width}`);
  const ids = new Array<string>(table.nRows);
  let labels: string[] | undefined;
  if (rule) {
    labels = new Array<string>(table.nRows);
    for (let i = 0; i < table.nRows; i++) {
      labels[i] = classes[decide(scores, i * width, rule)];
      ids[i] = uuid7();
      live.instruments.predicted(labels[i]);
    }
  } else for (let i = 0; i < table.nRows; i++) ids[i] = uuid7();
  for (let k = 0; k < unseen.length; k++) live.instruments.unseen(unseen[k].column);
  lap(stage.postprocess, t);
  return { ok: true, scored: { ids, labels, scores, table, unseen } };
}

/** A warning on one prediction: a field whose value the model never saw in training. */
export interface Warning {
  field: string;
  reason: string;
}

/**
 * Each row's warnings (undefined for a row without any), or undefined when no row has one: the common
 * case costs the caller one check per response.
 */
export function rowWarnings(scored: Scored): (Warning[] | undefined)[] | undefined {
  if (scored.unseen.length === 0) return undefined;
  const byRow = new Array<Warning[] | undefined>(scored.ids.length);
  for (const { row, column, value, scoredAs } of scored.unseen) {
    // The value is the client's: clipped before it is echoed.
    const what =
      value === null ? 'missing value (none in training)' : `unseen level ${clip(JSON.stringify(value))}`;
    const warning = { field: column, reason: `${what}: ${scoredAs}` };
    const warnings = byRow[row];
    if (warnings) warnings.push(warning);
    else byRow[row] = [warning];
  }
  return byRow;
}

const NO_WARNINGS = Object.freeze({});

/**
 * `{warnings: [{row, field, reason}]}` for the responses that are not per record (positional instances,
 * OIP v2), `row` counting from 0; `{}` when no row has a warning.
 */
export function positionalWarnings(scored: Scored): { warnings?: (Warning & { row: number })[] } {
  const byRow = rowWarnings(scored);
  if (!byRow) return NO_WARNINGS;
  return { warnings: byRow.flatMap((warnings, row) => (warnings ?? []).map((w) => ({ row, ...w }))) };
}

function refused(rowErrors: ReadonlyMap<number, string>, rowPath: (i: number) => string): PredictOutcome {
  return { ok: false, errors: [...rowErrors].map(([i, reason]) => ({ path: rowPath(i), reason })) };
}

/**
 * Prediction i as JSON, without its id: what a record response and the prediction log hold. The task's
 * `present`, with classification built from the labels already decided (the same object, without
 * deciding again per row).
 */
export function presentPrediction(live: LiveModel, scored: Scored, i: number): Record<string, unknown> {
  if (!scored.labels) return live.task.present({ values: scored.scores, width: live.width }, i, live.output);
  const { classes, width } = live;
  const probabilities: Record<string, number | null> = {};
  for (let c = 0; c < width; c++) {
    const p = scored.scores[i * width + c];
    probabilities[classes[c]] = Number.isFinite(p) ? p : null;
  }
  return { label: scored.labels[i], probabilities };
}

function lap(histogram: { observe(seconds: number): void }, since: number): number {
  const now = performance.now();
  histogram.observe((now - since) / 1000);
  return now;
}

async function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PredictTimeout(ms)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Row i of a validated table as named JSON values (null for missing), as the prediction log stores it:
 * sequences as arrays of timesteps, blobs as their size and digest, never their bytes.
 */
export function tableRow(table: Table, i: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, column] of table.columns) {
    const v = column.values[i];
    if (typeof v === 'number') out[name] = Number.isNaN(v) ? null : column.type === 'boolean' ? v === 1 : v;
    else if (v instanceof Float64Array)
      out[name] = sequenceJson(v, isSequenceColumn(column) ? column.width : 1);
    else if (v instanceof Uint8Array)
      out[name] = { bytes: v.byteLength, sha256: createHash('sha256').update(v).digest('hex') };
    else out[name] = v;
  }
  return out;
}

/**
 * A row every valid signature accepts: in-range numbers, the first allowed category, a sequence of the
 * declared length and a small blob of an allowed media type. Scoring it proves a freshly loaded model
 * works end to end before it takes traffic.
 */
export function probeRecord(live: LiveModel): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (const { name, spec } of live.signature.columns) {
    if (spec.type === 'boolean') record[name] = false;
    else if (spec.type === 'number' || spec.type === 'integer') {
      const low = spec.min ?? (spec.max !== undefined ? Math.min(0, spec.max) : 0);
      record[name] = spec.type === 'integer' ? Math.ceil(low) : low;
    } else if (spec.type === 'datetime') record[name] = new Date(spec.min ?? 0).toISOString();
    else if (spec.type === 'sequence') record[name] = sampleSequence(spec);
    else if (spec.type === 'blob') record[name] = sampleBlob(spec);
    // Not "", which a package may read as missing.
    else record[name] = spec.values?.[0] ?? (spec.nullable ? null : 'probe');
  }
  return record;
}

/**
 * Scores the probe row (outside the metrics); throws with the reason when the model cannot serve: a
 * wrong shape, a non-finite score, or (classification) probabilities that do not sum to 1.
 */
export async function checkModel(model: ServedModel): Promise<void> {
  const live = compileModel(model, NO_INSTRUMENTS);
  const outcome = await predictRows(live, [probeRecord(live)], RECORDS, () => '/probe', {
    extraFields: 'reject',
    timeoutMs: 30_000,
  });
  // A probe the pipeline refuses (e.g. an unseen-level policy) still proved transform runs.
  if (!outcome.ok) {
    if (outcome.errors.some((e) => e.path !== '/probe'))
      throw new Error(`probe row invalid: ${outcome.errors.map((e) => `${e.path}: ${e.reason}`).join('; ')}`);
    return;
  }
  const { scores } = outcome.scored;
  const what = live.rule ? 'probability' : 'score';
  let sum = 0;
  for (const p of scores) {
    if (!Number.isFinite(p)) throw new Error(`probe row scored a non-finite ${what} (${p})`);
    sum += p;
  }
  if (live.rule && Math.abs(sum - 1) > 1e-6) throw new Error(`probe row probabilities sum to ${sum}, not 1`);
}
