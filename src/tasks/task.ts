import type { TaskName } from '../config/schema.js';
import type { DecisionRule } from './decide.js';

export type { TaskName } from '../config/schema.js';

/** What a package's scores mean: the output section of its manifest, as the task reads it. */
export interface TaskOutput {
  /** The target column a labelled file carries (none for embeddings). */
  readonly target?: string;
  /** Class names, in score order; empty for regression and embeddings. */
  readonly classes: readonly string[];
  /** Binary only: the class whose probability the threshold applies to. */
  readonly positive?: string;
  readonly threshold?: number;
  /** Embedding only: the vector length. */
  readonly dimensions?: number;
}

/**
 * A batch of scores: `values` row-major with `width` values per score row. Row-wise tasks have one
 * score row per prediction; sequence labelling has one per timestep, and `offsets` (length
 * predictions + 1) says which score rows belong to prediction i.
 */
export interface Scores {
  readonly values: Float64Array;
  readonly width: number;
  readonly offsets?: Int32Array;
}

/** A JSON Schema object (OpenAPI 3.1 dialect). */
export type JsonSchema = Record<string, unknown>;

/**
 * A kind of prediction. The task in a package's manifest chooses the score layout, the decision rule,
 * what one prediction looks like on the wire and in the prediction log, its OpenAPI schema, the
 * labels feedback may carry, and (in src/evaluation) the metrics. Frozen: the five tasks are built in.
 */
export interface Task {
  readonly name: TaskName;
  readonly description: string;
  /** How training reads the target column: class labels, numbers, or no target at all. */
  readonly target: 'classes' | 'numbers' | 'none';
  /** The headline metric when the project names none. */
  readonly defaultHeadline: string | undefined;
  /** Score values per score row. */
  width(output: TaskOutput): number;
  /** The rule turning a score row into a class, for tasks with classes. */
  rule(output: TaskOutput): DecisionRule | undefined;
  /** Prediction i of a batch as JSON, without its id: what the server answers and the log keeps. */
  present(scores: Scores, i: number, output: TaskOutput): Record<string, unknown>;
  /** The JSON Schema of `present`'s result. */
  schema(output: TaskOutput): JsonSchema;
  /** Why a label (feedback, labelled file) is not one this model predicts; undefined when it is. */
  checkLabel(label: unknown, output: TaskOutput): string | undefined;
}

/** Row i's `width` values (row-wise tasks). */
export function scoreRow(scores: Scores, i: number): Float64Array {
  return scores.values.subarray(i * scores.width, (i + 1) * scores.width);
}

/** Number of predictions in a batch. */
export function predictionCount(scores: Scores): number {
  return scores.offsets
    ? scores.offsets.length - 1
    : scores.width === 0
      ? 0
      : scores.values.length / scores.width;
}
