import type { z } from 'zod';
import type { TaskName } from '../config/schema.js';
import type { InputKind, ModelInput } from '../data/matrix.js';
import type { GraphBuilder as OnnxGraph } from '../onnx/graph.js';

/** Named arrays saved beside the manifest (safetensors file), so other runtimes can read weights. */
export type Tensors = Record<string, { shape: number[]; data: Float64Array | Float32Array | Int32Array }>;

export interface SavedModel {
  /** Small JSON-able description (hyperparameters, class order, convergence). */
  meta: Record<string, unknown>;
  tensors: Tensors;
}

/**
 * What a family can do, read by the pipeline: an input kind it does not declare is refused before any
 * fit, NaN features reach it only when it handles missing values, sample weights only when it takes
 * them, and so on. A capability it declares must hold (the family contract suite checks each one).
 */
export interface FamilyCapabilities {
  /** The model inputs fit and predict accept: dense and CSR matrices, sequences [n, t, f], images [n, h, w, c]. */
  readonly inputs: readonly InputKind[];
  /** NaN features are handled by the model itself: no impute step is required, raw values reach it. */
  readonly missingValues: boolean;
  /** `FitOptions.sampleWeight` is honoured (a `data.weight` column may be configured). */
  readonly sampleWeights: boolean;
  /** `FitOptions.warmStart` shortens a fit (cross-validation hands each fold the previous fold's model). */
  readonly warmStart: boolean;
  /** `FitOptions.threads` is honoured (`model.threads` or KILN_THREADS). */
  readonly threads: boolean;
}

/** A progress report from a fit: `done` of `total` units (iterations, epochs, binary problems). */
export interface FitProgress {
  readonly done: number;
  readonly total?: number;
  readonly unit: string;
  /** The training objective, where the family tracks one. */
  readonly loss?: number;
}

export interface FitOptions<P> {
  params: P;
  task: TaskName;
  /** Class names (classification tasks), index = label code in `y`; empty for regression. */
  classes: readonly string[];
  sampleWeight?: Float64Array;
  seed: number;
  /** Threads the fit may use, the calling one included (families declaring `threads`); default all cores. */
  threads?: number;
  /** When it fires, the fit stops soon and rejects with the signal's reason. */
  signal?: AbortSignal;
  onProgress?: (progress: FitProgress) => void;
  /** Emits warnings such as non-convergence; the trainer records them in the run. */
  warn?: (message: string) => void;
  /**
   * A model of the same family and shape to start from (e.g. the previous fold's): the optimum is the
   * same, only fewer iterations are needed. Passed only to families declaring `warmStart`.
   */
  warmStart?: SavedModel;
}

/** What a fitted model is told at load: the task and the class order of its package. */
export interface ModelContext {
  readonly task: TaskName;
  /** Class names in score order (classification); empty for regression and embeddings. */
  readonly classes: readonly string[];
}

export interface FittedModel {
  readonly family: string;
  /**
   * Scores, row-major: class probabilities [n, k] in `classes` order (classification), values [n, 1]
   * (regression), vectors [n, d] (embedding), per-timestep probabilities (sequence labelling).
   */
  predict(X: ModelInput): Float64Array | Promise<Float64Array>;
  save(): SavedModel;
  /** Solver facts worth recording with the run (iterations, converged, objective). */
  diagnostics(): Record<string, number | boolean | string>;
}

/**
 * A model family registered by name (`registerModelFamily`); `params` validated by its own zod schema.
 * `fit` is asynchronous: it may run on worker threads or in another backend, reports progress and
 * honours an abort signal.
 */
export interface ModelFamily<P = unknown> {
  readonly name: string;
  readonly description: string;
  readonly params: z.ZodType<P>;
  /** The tasks it solves; a project with another task is refused at config validation. */
  readonly tasks: readonly TaskName[];
  readonly capabilities: FamilyCapabilities;
  fit(X: ModelInput, y: Int32Array | Float64Array, options: FitOptions<P>): Promise<FittedModel>;
  load(saved: SavedModel, context: ModelContext): FittedModel;
  /**
   * Adds the model to an ONNX graph: reads `features`, the [N, p] double tensor of the pipeline's
   * features in `featureNames` order, and returns the name of the scores tensor (as `predict` lays them
   * out). Absent: packages of this family have no ONNX graph.
   */
  exportOnnx?(saved: SavedModel, graph: OnnxGraph, features: string, context: ModelContext): string;
}
