/**
 * The prediction log: every served prediction, journaled locally as it is appended (so it survives
 * the death of the process) and written to the log in batches so requests never wait for the backend, and feedback (late true labels) joined to predictions by id for quality monitoring.
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
  /** Records journaled locally, not yet in the backend, on their way. */
  pending: number;
  /** Records not yet in the backend waiting on local disk: the backend is failing, or a stopped process left them. */
  spilled: number;
  written: number;
  /** Backend write attempts that failed (each retried later; none dropped). */
  failures: number;
  /** Records refused because the bounded journal was full, or lost to a disk error (reported, never silent). */
  dropped: number;
  /** Records refused because they can never be stored (invalid fields, not JSON, log closed). */
  rejected?: number;
}

export interface PredictionLog {
  /**
   * Never throws, never waits on the backend: one synchronous write to a local journal (the OS page
   * cache, no fsync) for all the records given (a request's predictions), after which they survive the
   * death of the process; a later batch writes them to the backend. Call it before the response that
   * carries the prediction ids is sent.
   */
  append(...records: PredictionRecord[]): void;
  /**
   * Backpressure: undefined while the backend keeps up; when more records wait for a healthy backend
   * than a few batches, a promise that resolves once the writer is back under that bound. A
   * server awaits it before answering, so it answers no faster than its log writes instead of
   * dropping records; while the backend is down it stays undefined and the journal absorbs.
   */
  room(): Promise<void> | undefined;
  /**
   * Whether a prediction of `model` with this id is in the log or on its way there (an answer just
   * sent is in this process's journal, not yet in the backend); rejects when the backend cannot say.
   */
  hasPrediction(id: string, model: string): Promise<boolean>;
  /**
   * Durably stores a late label, beside the earlier ones of its prediction; rejects when it cannot be
   * stored (the client should retry).
   */
  feedback(record: FeedbackRecord): Promise<void>;
  /** Writes everything queued (and anything buffered on disk, if the backend is back). */
  flush(): Promise<void>;
  stats(): PredictionLogStats;
  close(): Promise<void>;
}

/** The part of a pino logger the log uses. */
export interface PredictionLogLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}
