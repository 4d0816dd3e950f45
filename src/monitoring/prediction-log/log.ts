/**
 * The prediction log: every served prediction, written asynchronously in batches so requests never
 * wait for it, and feedback (late true labels) joined to predictions by id for quality monitoring.
 * Implementations are chosen by URI (sqlite://, postgres://, jsonl+file://, jsonl+s3://) and share one contract-test suite.
 */

export interface PredictionRecord {
  /** Returned to the client as `prediction_id`; feedback refers to it. */
  id: string;
  /** ISO 8601. */
  time: string;
  model: string;
  version: string;
  /** The record as validated (named fields; null for missing). */
  input: Record<string, unknown>;
  /**
   * The prediction as the model's task presents it: `{label, probabilities}` (classification),
   * `{value}` (regression), `{embedding}`; `label` is kept in its own column where the task has one.
   */
  output: { readonly label?: string | null; readonly [field: string]: unknown };
  latencyMs: number;
}

export interface FeedbackRecord {
  predictionId: string;
  model: string;
  /** The true label as text: a class name, or a regression target's number. */
  label: string;
  /** ISO 8601. */
  time: string;
}

export interface PredictionLogStats {
  /** Records accepted but not yet durably written. */
  pending: number;
  /** Records parked in the local disk buffer while the backend is failing. */
  spilled: number;
  written: number;
  /** Backend write attempts that failed (each retried later; none dropped). */
  failures: number;
  /** Records refused because the bounded disk buffer was full (reported, never silent). */
  dropped: number;
  /** Records refused because they can never be stored (invalid fields, not JSON, log closed). */
  rejected?: number;
}

export interface PredictionLog {
  /** Never throws and never waits on I/O: the record is queued and written in the next batch. */
  append(record: PredictionRecord): void;
  /** Durably stores a late label; rejects when it cannot be stored (the client should retry). */
  feedback(record: FeedbackRecord): Promise<void>;
  /** Writes everything queued (and anything buffered on disk, if the backend is back). */
  flush(): Promise<void>;
  stats(): PredictionLogStats;
  close(): Promise<void>;
}
