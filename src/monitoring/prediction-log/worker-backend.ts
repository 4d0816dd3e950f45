import type { Worker } from 'node:worker_threads';
import { moduleWorker } from '../../util/worker.js';
import type { LabelledPrediction, PredictionBackend, TimeFilter } from './backend.js';
import type { FeedbackRecord, PredictionRecord } from './log.js';

/**
 * A backend proxied to a worker thread (see backend-worker.ts). Same contract as the backend it runs;
 * a failure in the worker rejects the call, so the buffered writer spills and retries as usual.
 */
export class WorkerBackend implements PredictionBackend {
  private next = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();

  private constructor(
    readonly uri: string,
    private readonly worker: Worker,
  ) {
    worker.on('message', ({ id, result, error }: { id: number; result?: unknown; error?: string }) => {
      const call = this.pending.get(id);
      if (!call) return;
      this.pending.delete(id);
      if (error === undefined) call.resolve(result);
      else call.reject(new Error(error));
    });
    worker.on('error', (error) => this.failAll(error));
    worker.on('exit', (code) => this.failAll(new Error(`prediction log worker exited with code ${code}`)));
  }

  static async open(uri: string, baseDir: string): Promise<WorkerBackend> {
    const worker = moduleWorker(new URL('./backend-worker.js', import.meta.url), {
      workerData: { uri, baseDir },
    });
    const backend = new WorkerBackend(uri, worker);
    try {
      await backend.call(0);
    } catch (error) {
      await worker.terminate();
      throw error;
    }
    return backend;
  }

  writeBatch(records: readonly PredictionRecord[]): Promise<void> {
    return this.request('writeBatch', records) as Promise<void>;
  }
  writeJsonl(text: string): Promise<number> {
    return this.request('writeJsonl', text) as Promise<number>;
  }
  writeFeedback(record: FeedbackRecord): Promise<void> {
    return this.request('writeFeedback', record) as Promise<void>;
  }
  readPredictions(filter?: TimeFilter): Promise<PredictionRecord[]> {
    return this.request('readPredictions', filter) as Promise<PredictionRecord[]>;
  }
  async findPrediction(id: string, filter?: TimeFilter): Promise<PredictionRecord | undefined> {
    // The worker sends undefined as null.
    return ((await this.request('findPrediction', id, filter)) as PredictionRecord | null) ?? undefined;
  }
  readFeedback(filter?: TimeFilter): Promise<FeedbackRecord[]> {
    return this.request('readFeedback', filter) as Promise<FeedbackRecord[]>;
  }
  readLabelled(filter?: TimeFilter): Promise<LabelledPrediction[]> {
    return this.request('readLabelled', filter) as Promise<LabelledPrediction[]>;
  }
  async close(): Promise<void> {
    await this.request('close');
    await this.worker.terminate();
  }

  private request(method: string, ...args: unknown[]): Promise<unknown> {
    const id = this.next++;
    this.worker.postMessage({ id, method, args });
    return this.call(id);
  }

  private call(id: number): Promise<unknown> {
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }

  private failAll(error: Error): void {
    for (const call of this.pending.values()) call.reject(error);
    this.pending.clear();
  }
}
