import type { FeedbackRecord, PredictionRecord } from './log.js';

/**
 * Where prediction-log batches end up: a metadata database (SQLite, PostgreSQL) or JSONL segments in
 * an artifact store (a local directory, S3). Every implementation passes the
 * contract suite in test/monitoring/prediction-backend-contract.ts.
 */
export interface PredictionBackend {
  readonly uri: string;
  /** Idempotent by prediction id: re-writing a batch (a retry after a timeout) never duplicates. */
  writeBatch(records: readonly PredictionRecord[]): Promise<void>;
  /**
   * Optional: the batch as JSONL text (the prediction log's journal lines), parsed by the backend and
   * written as `writeBatch`; resolves to the number of lines that were not JSON. Lets a backend in a
   * worker thread take the text as it is, instead of records cloned across threads.
   */
  writeJsonl?(text: string): Promise<number>;
  /**
   * Appends a label: every label of a prediction is kept with its time (a correction adds to the
   * history, never replaces), and an identical one (same prediction, model, time and label: a retried
   * write) is stored once.
   */
  writeFeedback(record: FeedbackRecord): Promise<void>;
  /** Ordered by time; `since` inclusive, `until` exclusive. */
  readPredictions(filter?: TimeFilter): Promise<PredictionRecord[]>;
  /**
   * The prediction with this id if it matches the filter (model, time range), else undefined: how a
   * label is checked to refer to a real prediction. An indexed lookup in SQLite and PostgreSQL; the
   * JSONL stores have no index and search the text of the segments of the filter's hours (every
   * segment of the model without a range), so callers narrow the range (see `idWindow`).
   */
  findPrediction(id: string, filter?: TimeFilter): Promise<PredictionRecord | undefined>;
  /** Every label (the history), ordered by time (ties: as written), filtered by the label's own time. */
  readFeedback(filter?: TimeFilter): Promise<FeedbackRecord[]>;
  /**
   * Predictions (filtered by prediction time) that have feedback, each joined by id to its latest
   * label (the latest `time`; ties: the last written), whatever that label's time: live quality.
   */
  readLabelled(filter?: TimeFilter): Promise<LabelledPrediction[]>;
  close(): Promise<void>;
}

export interface TimeFilter {
  model?: string;
  /** ISO 8601, inclusive. */
  since?: string;
  /** ISO 8601, exclusive. */
  until?: string;
  limit?: number;
}

export interface LabelledPrediction {
  prediction: PredictionRecord;
  feedback: FeedbackRecord;
}

/**
 * Model names become directory names in the JSONL store (and object keys on S3), so they are held to
 * a strict pattern everywhere: no separators, no leading dot, nothing that could traverse a path.
 */
export const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * A prediction id as the server hands them out: a UUID in lower-case hex, 36 characters (version 7
 * since Kiln writes time-ordered ids, version 4 before).
 */
export const PREDICTION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Where the prediction a UUIDv7 id names can be in time: the id carries the millisecond it was drawn,
 * and the record's time is read just after (the same request, the same clock), so from a minute before
 * (a clock step) to ten minutes after. No bound for other ids (older Kiln's v4 UUIDs).
 */
export function idWindow(id: string): Pick<TimeFilter, 'since' | 'until'> {
  if (!PREDICTION_ID.test(id) || id[14] !== '7') return {};
  const drawn = Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
  return { since: new Date(drawn - 60_000).toISOString(), until: new Date(drawn + 600_000).toISOString() };
}

/** Times are stored in one canonical form (UTC, milliseconds) so string order is time order. */
export function canonicalTime(time: string): string {
  return new Date(time).toISOString();
}

/** Why a record can never be stored, or undefined. Cheap: it runs on the request path. */
export function predictionProblem(record: PredictionRecord): string | undefined {
  if (typeof record !== 'object' || record === null) return 'not an object';
  if (typeof record.id !== 'string' || record.id.length === 0) return 'id must be a non-empty string';
  if (typeof record.model !== 'string' || !MODEL_NAME.test(record.model))
    return `model ${JSON.stringify(record.model)} does not match ${MODEL_NAME}`;
  if (typeof record.version !== 'string') return 'version must be a string';
  if (typeof record.time !== 'string' || Number.isNaN(Date.parse(record.time)))
    return 'time must be an ISO 8601 string';
  if (typeof record.latencyMs !== 'number' || !Number.isFinite(record.latencyMs))
    return 'latencyMs must be a finite number';
  if (typeof record.input !== 'object' || record.input === null) return 'input must be an object';
  if (typeof record.output !== 'object' || record.output === null) return 'output must be an object';
  return undefined;
}

export function feedbackProblem(record: FeedbackRecord): string | undefined {
  if (typeof record !== 'object' || record === null) return 'not an object';
  if (typeof record.predictionId !== 'string' || record.predictionId.length === 0)
    return 'predictionId must be a non-empty string';
  if (typeof record.model !== 'string' || !MODEL_NAME.test(record.model))
    return `model ${JSON.stringify(record.model)} does not match ${MODEL_NAME}`;
  if (typeof record.label !== 'string') return 'label must be a string';
  if (typeof record.time !== 'string' || Number.isNaN(Date.parse(record.time)))
    return 'time must be an ISO 8601 string';
  return undefined;
}

export function assertPredictions(records: readonly PredictionRecord[]): void {
  for (const record of records) {
    const problem = predictionProblem(record);
    if (problem) throw new TypeError(`prediction ${JSON.stringify(record?.id)}: ${problem}`);
  }
}

export function assertFeedback(record: FeedbackRecord): void {
  const problem = feedbackProblem(record);
  if (problem) throw new TypeError(`feedback for ${JSON.stringify(record?.predictionId)}: ${problem}`);
}

export function inRange(time: string, filter: TimeFilter): boolean {
  return (
    (filter.since === undefined || time >= canonicalTime(filter.since)) &&
    (filter.until === undefined || time < canonicalTime(filter.until))
  );
}
