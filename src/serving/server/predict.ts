/**
 * The staged predict path (KServe's shape): validate → transform → predict → postprocess, each stage
 * timed into its own histogram. A request holds one `LiveModel` from start to end, so a swap never mixes
 * two versions inside a request.
 */
import type { Table } from '../../data/table.js';
import type { Matrix } from '../../features/matrix.js';
import type { FittedPipeline } from '../../features/pipeline.js';
import type { Manifest } from '../../packaging/manifest.js';
import { uuid7 } from '../../util/uuid7.js';
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

/**
 * What scores a request: the package's `FittedModel` (JS) reads the transformed matrix; a graph that
 * holds the whole pipeline (ONNX) reads the validated input table instead.
 */
export interface Engine {
  /** Row-major n x k class probabilities, classes in the manifest's order. */
  predictProba(X: Matrix, table?: Table): Float64Array | Promise<Float64Array>;
}

/** A model as loaded by a source: manifest, frozen pipeline and engine, and the version it is. */
export interface ServedModel {
  readonly name: string;
  readonly version: string;
  readonly manifest: Manifest;
  readonly pipeline: FittedPipeline;
  readonly engine: Engine;
  /** Where it came from (a package folder; later `name@alias` with its registry version). */
  readonly origin: string;
}

/** A served model compiled for the hot path: signature rules, metric children, label rule. */
export interface LiveModel {
  readonly model: ServedModel;
  readonly signature: Signature;
  /** Instances in signature order (`{"instances": [[...]]}` on the v1 route). */
  readonly positional: RowLayout;
  readonly instruments: ModelInstruments;
  readonly classes: readonly string[];
  /** Binary models with a positive class: its index (the threshold applies to it); else -1. */
  readonly positiveIndex: number;
  readonly threshold: number;
}

export function compileModel(model: ServedModel, instruments: ModelInstruments): LiveModel {
  const { classes, positive, threshold } = model.manifest.output;
  const signature = compileSignature(model.manifest.signature.inputs, model.manifest.signature.id);
  return {
    model,
    signature,
    positional: instanceLayout(
      signature,
      signature.columns.map((c) => c.name),
    ),
    instruments,
    classes,
    positiveIndex: classes.length === 2 && positive !== undefined ? classes.indexOf(positive) : -1,
    threshold: threshold ?? 0.5,
  };
}

export interface Scored {
  /** One random UUID per row: the `prediction_id` feedback refers to. */
  ids: string[];
  labels: string[];
  /** Row-major n x k. */
  proba: Float64Array;
  /** The validated input (for the prediction log). */
  table: Table;
}

export type PredictOutcome = { ok: true; scored: Scored } | { ok: false; errors: FieldError[] };

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
  const { table, errors } = rowsToTable(live.signature, rows, layout, rowPath, options.extraFields);
  t = lap(stage.validate, t);
  if (errors.length > 0) return { ok: false, errors };
  return predictTable(live, table, rowPath, options, t);
}

/** The stages after validation, for inputs that arrive as columns (OIP v2 tensors). */
export async function predictTable(
  live: LiveModel,
  table: Table,
  rowPath: (i: number) => string,
  options: PredictOptions,
  started = performance.now(),
): Promise<PredictOutcome> {
  const { stage } = live.instruments;
  let t = started;
  const { X, rowErrors } = live.model.pipeline.transform(table);
  t = lap(stage.transform, t);
  // Unseen levels under `unseen: 'error'`, missing values the package does not impute: the client's
  // input, so a 400 naming the row and column, never a 500.
  if (rowErrors.size > 0)
    return {
      ok: false,
      errors: [...rowErrors].map(([i, reason]) => ({ path: rowPath(i), reason })),
    };
  const result = live.model.engine.predictProba(X, table);
  const proba = result instanceof Float64Array ? result : await withDeadline(result, options.timeoutMs);
  t = lap(stage.predict, t);
  const k = live.classes.length;
  if (proba.length !== table.nRows * k)
    throw new Error(`engine returned ${proba.length} probabilities for ${table.nRows} rows x ${k} classes`);
  const labels = new Array<string>(table.nRows);
  const ids = new Array<string>(table.nRows);
  for (let i = 0; i < table.nRows; i++) {
    labels[i] = labelOf(live, proba, i * k);
    ids[i] = uuid7();
    live.instruments.predicted(labels[i]);
  }
  lap(stage.postprocess, t);
  return { ok: true, scored: { ids, labels, proba, table } };
}

/** The package's decision rule (packaging/load scoreTable): threshold on the positive class, else argmax. */
function labelOf(live: LiveModel, proba: Float64Array, offset: number): string {
  const { classes, positiveIndex, threshold } = live;
  if (positiveIndex >= 0)
    return proba[offset + positiveIndex] >= threshold ? classes[positiveIndex] : classes[1 - positiveIndex];
  let best = 0;
  for (let c = 1; c < classes.length; c++) if (proba[offset + c] > proba[offset + best]) best = c;
  return classes[best];
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

/** Row i of a validated table as named JSON values (null for missing), as the prediction log stores it. */
export function tableRow(table: Table, i: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, column] of table.columns) {
    const v = column.values[i];
    out[name] =
      typeof v === 'number' ? (Number.isNaN(v) ? null : column.type === 'boolean' ? v === 1 : v) : v;
  }
  return out;
}

/**
 * A row every valid signature accepts: in-range numbers, the first allowed category. Scoring it proves a
 * freshly loaded model works end to end before it takes traffic.
 */
export function probeRecord(live: LiveModel): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (const { name, spec } of live.signature.columns) {
    if (spec.type === 'boolean') record[name] = false;
    else if (spec.type === 'number' || spec.type === 'integer') {
      const low = spec.min ?? (spec.max !== undefined ? Math.min(0, spec.max) : 0);
      record[name] = spec.type === 'integer' ? Math.ceil(low) : low;
    } else if (spec.type === 'datetime') record[name] = new Date(spec.min ?? 0).toISOString();
    else record[name] = spec.values?.[0] ?? (spec.nullable ? null : '');
  }
  return record;
}

/** Scores the probe row (outside the metrics); throws with the reason when the model cannot serve. */
export async function checkModel(model: ServedModel): Promise<void> {
  const live = compileModel(model, NO_INSTRUMENTS);
  const outcome = await predictRows(live, [probeRecord(live)], RECORDS, () => '/probe', {
    extraFields: 'reject',
    timeoutMs: 30_000,
  });
  // A probe the pipeline refuses (e.g. an unseen-level policy) still proved transform runs; a wrong
  // shape or a non-finite probability means the engine is broken.
  if (!outcome.ok) {
    if (outcome.errors.some((e) => e.path !== '/probe'))
      throw new Error(`probe row invalid: ${outcome.errors.map((e) => `${e.path}: ${e.reason}`).join('; ')}`);
    return;
  }
  const { proba } = outcome.scored;
  let sum = 0;
  for (const p of proba) {
    if (!Number.isFinite(p)) throw new Error(`probe row scored a non-finite probability (${p})`);
    sum += p;
  }
  if (Math.abs(sum - 1) > 1e-6) throw new Error(`probe row probabilities sum to ${sum}, not 1`);
}
