import { stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import pino from 'pino';
import { type ArtifactStore, ArtifactStoreUnavailableError, mapLimit } from '../../stores/artifacts/store.js';
import {
  inRange,
  type LabelledPrediction,
  MODEL_NAME,
  type PredictionBackend,
  type TimeFilter,
} from './backend.js';
import {
  byTime,
  distinctLabels,
  findInJsonl,
  hourOverlaps,
  type JsonlSegmentOptions,
  JsonlSegmentStore,
  limited,
  list,
} from './jsonl.js';
import type { FeedbackRecord, PredictionLogLogger, PredictionRecord } from './log.js';

type Kind = 'predictions' | 'feedback';
const KINDS: Kind[] = ['predictions', 'feedback'];

/** A closed segment as jsonl.ts names it: its UTC hour, then writer and sequence. */
const SEGMENT = /^(\d{4})-(\d{2})-(\d{2})T\d{2}_[^/]+\.jsonl$/;

/** How often the staging folder is checked for closed segments (and the staged bytes counted). */
const SCAN_MS = 1000;

export interface ArtifactJsonlOptions extends JsonlSegmentOptions {
  /**
   * Bound of the closed segments waiting for upload. Beyond it writes fail, so the buffered log's own
   * bounded disk buffer takes over and the total on disk stays bounded. Default 256 MiB.
   */
  maxStagedBytes?: number;
  /** Backoff between upload attempts while the artifact store fails: doubles up to `retryMaxMs`. */
  retryInitialMs?: number;
  retryMaxMs?: number;
  logger?: PredictionLogLogger;
}

interface Staged {
  key: string;
  file: string;
  bytes: number;
}

/**
 * JSONL segments in an artifact store (S3, or any `ArtifactStore`). Records are written exactly as by
 * the local JSONL store, into a local staging folder; each segment, once closed (size reached, its
 * hour over, or the store closed), is uploaded to `<kind>/<model>/<yyyy>/<mm>/<dd>/<segment>.jsonl`
 * and only then deleted locally. A failed upload stays staged and is retried with backoff, also by
 * the next process on the same staging folder. Reads merge the uploaded segments with the staged
 * ones, with the local store's rules (predictions deduped by id, every label kept, the latest joined);
 * a lookup by id reads the staged segments, then the uploaded ones of the days and hours asked for.
 * One process per staging folder.
 */
export class ArtifactJsonlStore implements PredictionBackend {
  private readonly maxStagedBytes: number;
  private readonly retryInitialMs: number;
  private readonly retryMaxMs: number;
  private logger: PredictionLogLogger | undefined;
  private stagedBytes = 0;
  private lastError = '';
  private failing = false;
  private retryDelay = 0;
  private retryAt = 0;
  /** Upload passes run one at a time; `passes` counts those queued or running. */
  private uploads: Promise<boolean> = Promise.resolve(true);
  private passes = 0;
  /** Reads and the deletion of uploaded segments exclude each other, so a read sees every segment. */
  private exclusive: Promise<unknown> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  private constructor(
    readonly uri: string,
    private readonly artifacts: ArtifactStore,
    private readonly local: JsonlSegmentStore,
    private readonly stagingDir: string,
    options: ArtifactJsonlOptions,
  ) {
    this.maxStagedBytes = options.maxStagedBytes ?? 256 * 1024 * 1024;
    this.retryInitialMs = options.retryInitialMs ?? 1000;
    this.retryMaxMs = options.retryMaxMs ?? 60_000;
    this.logger = options.logger;
    this.timer = setInterval(() => this.tick(), SCAN_MS);
    this.timer.unref();
  }

  /**
   * Opens the staging folder (recovering segments a dead process left open) and starts uploading. A
   * missing bucket or refused credentials fail here, at the server's start; an unreachable store does
   * not: segments stay staged until it is back.
   */
  static async open(
    uri: string,
    artifacts: ArtifactStore,
    stagingDir: string,
    options: ArtifactJsonlOptions = {},
  ): Promise<ArtifactJsonlStore> {
    try {
      // A listing of an empty folder: cheap, and it needs the bucket and the read permission.
      await artifacts.list('.kiln-probe/prediction-log');
    } catch (error) {
      if (!(error instanceof ArtifactStoreUnavailableError)) throw error;
    }
    const local = await JsonlSegmentStore.open(`jsonl+file://${stagingDir}`, stagingDir, options);
    const store = new ArtifactJsonlStore(uri, artifacts, local, stagingDir, options);
    // What a previous process left staged goes up first.
    store.tick();
    return store;
  }

  async writeBatch(records: readonly PredictionRecord[]): Promise<void> {
    this.checkBound();
    await this.local.writeBatch(records);
  }

  async writeFeedback(record: FeedbackRecord): Promise<void> {
    this.checkBound();
    await this.local.writeFeedback(record);
  }

  readPredictions(filter: TimeFilter = {}): Promise<PredictionRecord[]> {
    return this.serial(async () => limited(await this.predictions(filter), filter));
  }

  /** The staged segments first (local), then the uploaded ones of the filter's days and hours. */
  findPrediction(id: string, filter: TimeFilter = {}): Promise<PredictionRecord | undefined> {
    return this.serial(async () => {
      const staged = await this.local.findPrediction(id, filter);
      if (staged) return staged;
      for (const key of await this.uploadedKeys('predictions', filter)) {
        const found = findInJsonl(text(await this.artifacts.getBytes(key)), id, filter);
        if (found) return found;
      }
      return undefined;
    });
  }

  readFeedback(filter: TimeFilter = {}): Promise<FeedbackRecord[]> {
    return this.serial(async () => {
      const labels = [
        ...(await this.uploaded<FeedbackRecord>('feedback', filter)),
        ...(await this.local.readFeedback({ ...filter, limit: undefined })),
      ];
      return limited(byTime(distinctLabels(labels.filter((f) => inRange(f.time, filter)))), filter);
    });
  }

  readLabelled(filter: TimeFilter = {}): Promise<LabelledPrediction[]> {
    return this.serial(async () => {
      const latest = await this.latestFeedback(filter.model);
      const joined: LabelledPrediction[] = [];
      for (const prediction of await this.predictions(filter)) {
        const feedback = latest.get(prediction.id);
        if (feedback && feedback.model === prediction.model) joined.push({ prediction, feedback });
      }
      return limited(joined, filter);
    });
  }

  /**
   * Uploads every closed segment now, oldest first, whatever the backoff. False when one failed: it and
   * the rest stay staged for the next attempt.
   */
  uploadStaged(): Promise<boolean> {
    return this.queuePass(() => true);
  }

  /** Closes the open segments and tries to upload everything; what fails is uploaded at the next start. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await this.local.close();
    if (!(await this.uploadStaged()))
      this.log().warn(
        {
          store: this.uri,
          stagingDir: this.stagingDir,
          stagedBytes: this.stagedBytes,
          error: this.lastError,
        },
        'prediction log closed with segments not yet uploaded; they stay staged and go up at the next start',
      );
    await this.artifacts.close();
  }

  private tick(): void {
    // A slow upload must not pile up passes behind it.
    if (this.closed || this.passes) return;
    void this.queuePass(() => Date.now() >= this.retryAt);
  }

  /** `upload` is decided when the pass starts, after the ones queued before it. */
  private queuePass(upload: () => boolean): Promise<boolean> {
    this.passes++;
    const pass = this.uploads
      .then(() => this.uploadPass(upload()))
      .finally(() => {
        this.passes--;
      });
    this.uploads = pass.catch(() => false);
    return pass;
  }

  /** Counts what is staged and, when `upload`, uploads it; never rejects. */
  private async uploadPass(upload: boolean): Promise<boolean> {
    let staged: Staged[];
    try {
      staged = await this.scan();
    } catch (error) {
      this.failed(error as Error);
      return false;
    }
    this.stagedBytes = staged.reduce((sum, s) => sum + s.bytes, 0);
    if (!upload) return false;
    for (const segment of staged) {
      try {
        await this.artifacts.putFile(segment.key, segment.file);
        await this.serial(() => unlink(segment.file).catch(ignoreMissing));
      } catch (error) {
        this.failed(error as Error);
        return false;
      }
      this.stagedBytes -= segment.bytes;
    }
    if (this.failing) {
      this.failing = false;
      this.log().info({ store: this.uri }, 'prediction log segment uploads succeed again');
    }
    this.retryDelay = 0;
    this.retryAt = 0;
    return true;
  }

  private failed(error: Error): void {
    this.lastError = error.message;
    this.retryDelay = Math.min(this.retryMaxMs, this.retryDelay ? this.retryDelay * 2 : this.retryInitialMs);
    this.retryAt = Date.now() + this.retryDelay;
    if (this.failing) return;
    this.failing = true;
    // Artifact store errors name the store by its display URI, never by its credentials.
    this.log().warn(
      { store: this.uri, error: error.message, stagingDir: this.stagingDir },
      'prediction log segment upload failing: segments stay staged locally and are retried',
    );
  }

  private checkBound(): void {
    if (this.stagedBytes <= this.maxStagedBytes) return;
    throw new Error(
      `prediction log ${this.uri}: ${this.stagedBytes} bytes of segments wait for upload in ` +
        `${this.stagingDir}, over the bound of ${this.maxStagedBytes} (last upload error: ${this.lastError || 'none'})`,
    );
  }

  /** Closed segments in the staging folder, in name order, with their keys in the artifact store. */
  private async scan(): Promise<Staged[]> {
    const staged: (Staged & { name: string })[] = [];
    for (const kind of KINDS) {
      for (const model of await list(path.join(this.stagingDir, kind))) {
        if (!MODEL_NAME.test(model)) continue;
        for (const name of await list(path.join(this.stagingDir, kind, model))) {
          const date = SEGMENT.exec(name);
          if (!date) continue;
          const file = path.join(this.stagingDir, kind, model, name);
          const bytes = await stat(file).then(
            (s) => s.size,
            () => undefined,
          );
          if (bytes === undefined) continue;
          const key = `${kind}/${model}/${date[1]}/${date[2]}/${date[3]}/${name}`;
          staged.push({ key, file, bytes, name });
        }
      }
    }
    return staged.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.exclusive.then(fn);
    this.exclusive = run.catch(() => {});
    return run;
  }

  /** Uploaded then staged predictions in range, deduplicated by id (the first wins), ordered by time. */
  private async predictions(filter: TimeFilter): Promise<PredictionRecord[]> {
    const seen = new Set<string>();
    const out: PredictionRecord[] = [];
    const uploaded = (await this.uploaded<PredictionRecord>('predictions', filter)).filter((r) =>
      inRange(r.time, filter),
    );
    for (const record of [
      ...uploaded,
      ...(await this.local.readPredictions({ ...filter, limit: undefined })),
    ]) {
      if (seen.has(record.id)) continue;
      seen.add(record.id);
      out.push(record);
    }
    return byTime(out);
  }

  /** The latest label per prediction, staged labels after uploaded ones (they win a tie on time). */
  private async latestFeedback(model: string | undefined): Promise<Map<string, FeedbackRecord>> {
    // Not pruned by time: a correction outside the range still supersedes a label inside it.
    const latest = new Map<string, FeedbackRecord>();
    const all = [
      ...(await this.uploaded<FeedbackRecord>('feedback', { model })),
      ...(await this.local.readFeedback({ model })),
    ];
    for (const record of all) {
      const previous = latest.get(record.predictionId);
      if (!previous || record.time >= previous.time) latest.set(record.predictionId, record);
    }
    return latest;
  }

  /** Every line of the uploaded segments of a kind (one model's, or all), in segment name order. */
  private async uploaded<T>(kind: Kind, filter: TimeFilter): Promise<T[]> {
    const bodies = await mapLimit(await this.uploadedKeys(kind, filter), 8, (key) =>
      this.artifacts.getBytes(key),
    );
    const out: T[] = [];
    for (const body of bodies)
      for (const line of text(body).split('\n')) if (line) out.push(JSON.parse(line) as T);
    return out;
  }

  /**
   * Keys of the uploaded segments of the filter's model (or all) and hours, in segment name order. A
   * model and a range of a few days list only those days' folders.
   */
  private async uploadedKeys(kind: Kind, filter: TimeFilter): Promise<string[]> {
    if (filter.model !== undefined && !MODEL_NAME.test(filter.model))
      throw new TypeError(`model ${JSON.stringify(filter.model)} does not match ${MODEL_NAME}`);
    const folders = filter.model === undefined ? [kind] : dayFolders(`${kind}/${filter.model}`, filter);
    const objects = (await mapLimit(folders, 8, (folder) => this.artifacts.list(folder))).flat();
    return objects
      .map((object) => ({ key: object.key, name: path.posix.basename(object.key) }))
      .filter((s) => SEGMENT.test(s.name) && hourOverlaps(s.name.slice(0, 13), filter))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((s) => s.key);
  }

  /** Made on first use: a healthy store logs nothing. Its writes are synchronous (it may run in a worker). */
  private log(): PredictionLogLogger {
    this.logger ??= pino({ name: 'kiln.prediction-log' }, pino.destination({ fd: 2, sync: true }));
    return this.logger;
  }
}

const text = (body: Uint8Array) =>
  Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');

/** The `<yyyy>/<mm>/<dd>` folders a bounded range of at most a week covers, else the whole folder. */
function dayFolders(folder: string, filter: TimeFilter): string[] {
  if (filter.since === undefined || filter.until === undefined) return [folder];
  const from = Date.parse(filter.since);
  const to = Date.parse(filter.until);
  if (!(to - from <= 7 * 86_400_000)) return [folder];
  const days: string[] = [];
  for (let day = from - (from % 86_400_000); day < to; day += 86_400_000)
    days.push(`${folder}/${new Date(day).toISOString().slice(0, 10).replaceAll('-', '/')}`);
  return days;
}

function ignoreMissing(error: NodeJS.ErrnoException): void {
  if (error.code !== 'ENOENT') throw error;
}
