/**
 * Runs a prediction-log backend in a worker thread: serialising and writing batches (JSON, SQLite,
 * files) then costs the serving thread only the hand-over of the records.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { PredictionBackend } from './backend.js';
import { writeLines } from './journal.js';
import { openPredictionBackend } from './open-backend.js';

type Method =
  | 'writeBatch'
  | 'writeFeedback'
  | 'readPredictions'
  | 'findPrediction'
  | 'readFeedback'
  | 'readLabelled'
  | 'close';

const { uri, baseDir } = workerData as { uri: string; baseDir: string };
let backend: PredictionBackend | undefined;
const opened = openPredictionBackend(uri, baseDir).then(
  (b) => {
    backend = b;
    parentPort!.postMessage({ id: 0, result: null });
  },
  (error: Error) => parentPort!.postMessage({ id: 0, error: error.message }),
);

parentPort!.on(
  'message',
  async ({ id, method, args }: { id: number; method: Method | 'writeJsonl'; args: unknown[] }) => {
    await opened;
    try {
      const result =
        method === 'writeJsonl'
          ? // The journal's JSONL lines, parsed here rather than on the serving thread.
            await writeLines(backend!, [args[0] as string])
          : await (backend![method] as (...a: unknown[]) => Promise<unknown>).apply(backend, args);
      parentPort!.postMessage({ id, result: result ?? null });
    } catch (error) {
      parentPort!.postMessage({ id, error: (error as Error).message });
    }
  },
);
