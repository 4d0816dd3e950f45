/**
 * The run heartbeat's worker thread (see heartbeat.ts): its own connection to the store, a beat every
 * interval (never two at once), and on 'stop' the last beat finished and the connection closed.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { HeartbeatWorkerData } from './heartbeat.js';
import { openMetadataStore } from './index.js';
import { PostgresMetadataStore } from './postgres.js';
import { SqliteMetadataStore } from './sqlite.js';
import type { MetadataStore } from './store.js';

const { location, runId, intervalSeconds } = workerData as HeartbeatWorkerData;

function open(): MetadataStore {
  switch (location.kind) {
    case 'sqlite':
      return new SqliteMetadataStore(location.uri, location.file);
    case 'postgres':
      return new PostgresMetadataStore(location.uri, { env: location.env });
    case 'uri':
      return openMetadataStore(location.uri, location.baseDir);
  }
}

let store: MetadataStore | undefined;
let last: Promise<void> = Promise.resolve();
let busy = false;
// Only the first failure of a run of failures is reported: one line per outage, not one per beat.
let failing = false;

function beat(): void {
  if (busy) return;
  busy = true;
  last = (async () => {
    try {
      store ??= open();
      await store.heartbeatRun(runId, intervalSeconds);
      failing = false;
    } catch (error) {
      if (!failing) parentPort!.postMessage({ error: (error as Error).message });
      failing = true;
    } finally {
      busy = false;
    }
  })();
}

beat();
const timer = setInterval(beat, intervalSeconds * 1000);

parentPort!.on('message', async (message: unknown) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  await last;
  await store?.close();
  parentPort!.close();
});
