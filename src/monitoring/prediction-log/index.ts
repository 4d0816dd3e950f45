import path from 'node:path';
import { type BufferedLogOptions, BufferedPredictionLog } from './buffered.js';
import { openPredictionBackend } from './open-backend.js';
import { WorkerBackend } from './worker-backend.js';

export { ArtifactJsonlStore } from './artifact-jsonl.js';
export type { LabelledPrediction, PredictionBackend, TimeFilter } from './backend.js';
export { idWindow, MODEL_NAME, PREDICTION_ID } from './backend.js';
export type { BufferedLogOptions, PredictionLogLogger } from './buffered.js';
export { BufferedPredictionLog, PredictionLogUnavailableError } from './buffered.js';
export type { JsonlSegmentOptions } from './jsonl.js';
export { JsonlSegmentStore } from './jsonl.js';
export type { FeedbackRecord, PredictionLog, PredictionLogStats, PredictionRecord } from './log.js';
export { openPredictionBackend } from './open-backend.js';
export { PostgresPredictionStore } from './postgres.js';
export { SqlitePredictionStore } from './sqlite.js';
export { WorkerBackend } from './worker-backend.js';

export interface OpenPredictionLogOptions extends Omit<BufferedLogOptions, 'bufferDir' | 'openBackend'> {
  /** Relative URIs and `bufferDir` resolve against it (the project folder). */
  baseDir: string;
  bufferDir: string;
  /** Serialise and write batches in a worker thread, off the serving event loop (default true). */
  inWorker?: boolean;
}

/**
 * The prediction log the server uses: the backend a URI names (`KILN_PREDICTION_LOG_URI` overrides the
 * project's setting) behind the batching writer with its per-process journal (see journal.ts).
 */
export async function openPredictionLog(
  uri: string,
  options: OpenPredictionLogOptions,
): Promise<BufferedPredictionLog> {
  const { baseDir, inWorker = true, ...rest } = options;
  const target = process.env.KILN_PREDICTION_LOG_URI || uri;
  const backend = inWorker
    ? await WorkerBackend.open(target, baseDir)
    : await openPredictionBackend(target, baseDir);
  try {
    return await BufferedPredictionLog.open(backend, {
      ...rest,
      baseDir,
      bufferDir: path.resolve(baseDir, options.bufferDir),
      openBackend: inWorker ? WorkerBackend.open : openPredictionBackend,
    });
  } catch (error) {
    await backend.close();
    throw error;
  }
}
