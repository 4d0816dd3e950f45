/**
 * The one way a package scores a validated input table, whatever runs it: the package's own TypeScript
 * pipeline and model (`js`), or its whole pipeline as one ONNX graph in onnxruntime (`onnx`). The
 * server, `kiln predict` and `kiln evaluate` all score through an `Engine`; what the scores mean (and how
 * they become a label, a value or a vector) is the package's task's business, not the engine's.
 */
import type { ModelInput } from '../data/matrix.js';
import type { Table } from '../data/table.js';
import type { UnseenValue } from '../features/steps/step.js';

export type EngineName = 'js' | 'onnx';

export const ENGINE_NAMES: readonly EngineName[] = ['js', 'onnx'];

/** A table's scores: row-major, `width` values per row; rows in `rowErrors` are NaN. */
export interface EngineOutput {
  readonly scores: Float64Array;
  /** Row index → why the frozen pipeline refused the row (the client's input, never a crash). */
  readonly rowErrors: ReadonlyMap<number, string>;
  /** Values scored without being seen in training (unseen levels the package ignores); none if absent. */
  readonly unseen?: readonly UnseenValue[];
}

/** What the frozen JS pipeline makes of a table, before the model reads it. */
export interface Transformed {
  readonly X: ModelInput;
  readonly rowErrors: ReadonlyMap<number, string>;
  readonly unseen: readonly UnseenValue[];
}

export interface Engine {
  readonly name: EngineName;
  /** Score values per row: the package's task width (classes, 1 for a value, the vector length). */
  readonly width: number;
  /** Scores a table validated against the package's input signature. */
  score(table: Table): EngineOutput | Promise<EngineOutput>;
  /**
   * Engines that run the frozen JS pipeline expose its two halves, so a caller can time them apart
   * (the server's transform and predict histograms) and stop before the model when a row is refused.
   * `score(table)` is `predict(transform(table).X)` with the refused rows set to NaN.
   */
  readonly stages?: {
    transform(table: Table): Transformed;
    predict(X: ModelInput): Float64Array | Promise<Float64Array>;
  };
  /** Frees native resources (an onnxruntime session); the engine is unusable afterwards. */
  release(): Promise<void>;
}

/** No refused rows: shared, so scoring a clean batch allocates no map. */
export const NO_ROW_ERRORS: ReadonlyMap<number, string> = new Map();

/** Sets each refused row's `width` scores to NaN (in place) and returns the scores. */
export function refuseRows(
  scores: Float64Array,
  width: number,
  rowErrors: ReadonlyMap<number, string>,
): Float64Array {
  for (const row of rowErrors.keys()) scores.fill(Number.NaN, row * width, (row + 1) * width);
  return scores;
}
