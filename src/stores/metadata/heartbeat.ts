import type { Worker } from 'node:worker_threads';
import { moduleWorker } from '../../util/worker.js';
import { heartbeatSeconds } from './liveness.js';
import type { StoreLocation } from './sql-store.js';
import type { MetadataStore } from './store.js';

export interface HeartbeatOptions {
  /** Default: KILN_RUN_HEARTBEAT_SECONDS, else 15. */
  intervalSeconds?: number;
  /** Resolves a relative sqlite:// URI given as the target (default: the working directory). */
  baseDir?: string;
  /** A beat that failed (the store unreachable); the next one is tried all the same. Default: stderr. */
  onError?: (error: Error) => void;
}

export interface RunHeartbeat {
  /** Stops beating; resolves once the last beat has finished and the worker's connection is closed. */
  stop(): Promise<void>;
}

/** What the worker is told (see heartbeat-worker.ts). */
export interface HeartbeatWorkerData {
  location: StoreLocation | { kind: 'uri'; uri: string; baseDir: string };
  runId: string;
  intervalSeconds: number;
}

const STOP_WAIT_MS = 2000;

/**
 * Starts beating for `runId`, against a store (the worker opens its own connection to the same
 * database) or a metadata URI. An in-memory SQLite store cannot be reached from another thread: its
 * heartbeat beats on this thread's timers instead.
 */
export function startRunHeartbeat(
  target: MetadataStore | string,
  runId: string,
  options: HeartbeatOptions = {},
): RunHeartbeat {
  const intervalSeconds = options.intervalSeconds ?? heartbeatSeconds();
  const report =
    options.onError ??
    ((error: Error) => process.stderr.write(`kiln: heartbeat of run ${runId}: ${error.message}\n`));
  const location =
    typeof target === 'string'
      ? { kind: 'uri' as const, uri: target, baseDir: options.baseDir ?? process.cwd() }
      : (target as { location?: StoreLocation }).location;
  // The first beat at once, from here, so the run counts as alive while the worker starts.
  const first =
    typeof target === 'string'
      ? Promise.resolve()
      : target.heartbeatRun(runId, intervalSeconds).catch((error: Error) => report(error));
  if (!location) return beatOnThisThread(target as MetadataStore, runId, intervalSeconds, report, first);

  const data: HeartbeatWorkerData = {
    location: location.kind === 'postgres' ? { ...location, env: { ...location.env } } : location,
    runId,
    intervalSeconds,
  };
  const worker = heartbeatWorker(data);
  worker.unref();
  worker.on('message', (message: { error?: string }) => {
    if (message.error !== undefined) report(new Error(message.error));
  });
  worker.on('error', (error) => report(error));
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  return {
    async stop() {
      await first;
      worker.postMessage('stop');
      // A beat stuck in a store outage must not hold up the end of the run.
      const timer = setTimeout(() => void worker.terminate(), STOP_WAIT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

function heartbeatWorker(data: HeartbeatWorkerData): Worker {
  return moduleWorker(new URL('./heartbeat-worker.js', import.meta.url), {
    workerData: data,
    name: 'kiln heartbeat',
  });
}

function beatOnThisThread(
  store: MetadataStore,
  runId: string,
  intervalSeconds: number,
  report: (error: Error) => void,
  first: Promise<void>,
): RunHeartbeat {
  let last = first;
  let busy = false;
  const timer = setInterval(() => {
    // A beat still waiting on the store is not joined by another.
    if (busy) return;
    busy = true;
    last = last
      .then(() => store.heartbeatRun(runId, intervalSeconds))
      .catch((error: Error) => report(error))
      .finally(() => {
        busy = false;
      });
  }, intervalSeconds * 1000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await last;
    },
  };
}
