import { readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import pino from 'pino';
import { assertFeedback, idWindow, type PredictionBackend, predictionProblem } from './backend.js';
import {
  type AppendOutcome,
  countLines,
  legacySpillFiles,
  OrphanArea,
  OwnedArea,
  ownerOf,
  splitLines,
  writeLines,
} from './journal.js';
import type {
  FeedbackRecord,
  PredictionLog,
  PredictionLogLogger,
  PredictionLogStats,
  PredictionRecord,
} from './log.js';
import { openPredictionBackend } from './open-backend.js';
import { ThrottledWarnings } from './warnings.js';

export type { PredictionLogLogger } from './log.js';

export interface BufferedLogOptions {
  /**
   * Local directory of the journal: each process appends to its own folder in it, and ingests the
   * folders of dead processes into the logs they name (see journal.ts).
   */
  bufferDir: string;
  /** The folder the backend's URI resolves against, recorded with it for replays (default: the current folder). */
  baseDir?: string;
  /** Opens the log an orphaned folder names when it is not this one (default: in this thread). */
  openBackend?: (uri: string, baseDir: string) => Promise<PredictionBackend>;
  /** Bound of this process's journal; records beyond it are counted as `dropped` and warned about. */
  maxBufferBytes?: number;
  /** A journal segment is closed once it holds this many bytes. */
  segmentBytes?: number;
  /** A batch is written once this many records are journaled, or every `intervalMs`. */
  batchSize?: number;
  intervalMs?: number;
  /** Records kept in memory for the writer; beyond it they are read back from the journal. */
  maxQueueRecords?: number;
  /**
   * Records waiting for a healthy backend beyond which `room()` asks callers to wait (default 10
   * batches): small, since a caller's wait is about this backlog over the backend's write rate.
   */
  maxBacklogRecords?: number;
  /** Backoff between retries of a failing backend: doubles from `retryInitialMs` up to `retryMaxMs`. */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** A backend call slower than this counts as failed (a hung connection must not stall the log). */
  writeTimeoutMs?: number;
  /** Drops and refusals are warned about at most once per this interval, with their counts. */
  warnIntervalMs?: number;
  /** How often the journal is searched for folders of dead processes (also at open). */
  orphanScanMs?: number;
  logger?: PredictionLogLogger;
}

/** Feedback could not be stored because the backend failed: the client should retry (HTTP 503). */
export class PredictionLogUnavailableError extends Error {
  override readonly name = 'PredictionLogUnavailableError';
}

/**
 * The batching writer over a local journal. `append` writes the record to this process's journal
 * segment (one synchronous write to the OS page cache, no fsync) and returns: from then on the record
 * survives the death of the process (see journal.ts for what survives a machine crash). A timer (and a
 * size trigger) writes batches, oldest first, from memory or read back from the journal, to the
 * backend, and deletes segments the backend holds. While the backend fails, records wait in the
 * journal (bounded in bytes) and retries back off exponentially; backends are idempotent by id, so a
 * batch re-written after a timeout or a crash is stored once.
 *
 * Folders of dead processes (killed, or closed while their backend was down) are found at open and
 * every `orphanScanMs`, and ingested into the log they name, never into another one; a live
 * process's folder is never touched.
 *
 * While the backend is healthy but behind, `room()` makes callers wait (backpressure) rather than let
 * the journal fill: a server then answers at its log's pace, and nothing is dropped.
 *
 * `flush()` tries the backend once right away, even while backing off: it resolves when everything
 * journaled is in the backend, or the backend failed again (then `stats().spilled > 0`).
 * `hasPrediction()` looks an id up in the journal, then in the backend. `feedback()` writes through
 * and rejects with `PredictionLogUnavailableError` when the backend fails: labels are few, the caller
 * can answer 503 and the client retry, and a label acknowledged is a label stored.
 */
export class BufferedPredictionLog implements PredictionLog {
  private written = 0;
  private failures = 0;
  private dropped = 0;
  private rejected = 0;
  private healthy = true;
  private retryDelay = 0;
  private retryAt = 0;
  /** Records journaled since the last pump started: a batch's worth kicks one. */
  private fresh = 0;
  /** Records this process journaled that the backend does not hold yet. */
  private unwritten = 0;
  private readonly maxBacklog: number;
  private roomWaiters: { promise: Promise<void>; resolve: () => void } | undefined;
  private pumping = false;
  private pumpChain: Promise<void> = Promise.resolve();
  private kickScheduled = false;
  private closed = false;
  /** Records still to ingest from claimed folders of dead processes. */
  private orphanRecords = 0;
  private orphanWork: Promise<void> = Promise.resolve();
  private scanning = false;
  private nextScanAt = 0;
  private scanRetryMs = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly warnings: ThrottledWarnings;
  private readonly batchSize: number;
  private readonly retryInitialMs: number;
  private readonly retryMaxMs: number;
  private readonly writeTimeoutMs: number;
  private readonly orphanScanMs: number;
  private readonly logger: PredictionLogLogger;
  private readonly openBackend: (uri: string, baseDir: string) => Promise<PredictionBackend>;

  private constructor(
    private readonly backend: PredictionBackend,
    private readonly area: OwnedArea,
    private readonly bufferDir: string,
    private readonly baseDir: string,
    options: BufferedLogOptions,
  ) {
    this.batchSize = options.batchSize ?? 500;
    this.maxBacklog = options.maxBacklogRecords ?? 10 * this.batchSize;
    this.retryInitialMs = options.retryInitialMs ?? 500;
    this.retryMaxMs = options.retryMaxMs ?? 30_000;
    this.writeTimeoutMs = options.writeTimeoutMs ?? 10_000;
    this.orphanScanMs = options.orphanScanMs ?? 30_000;
    this.openBackend = options.openBackend ?? openPredictionBackend;
    this.logger =
      options.logger ?? pino({ name: 'kiln.prediction-log' }, pino.destination({ fd: 2, sync: false }));
    this.warnings = new ThrottledWarnings(this.logger, options.warnIntervalMs ?? 10_000, () => ({
      totalDropped: this.dropped,
      totalRejected: this.rejected,
    }));
    this.timer = setInterval(() => this.tick(), options.intervalMs ?? 200);
    // The log must not keep a process alive; close() is what flushes on shutdown.
    this.timer.unref();
  }

  /** Creates this process's journal folder, and claims (then ingests) the folders of dead processes. */
  static async open(backend: PredictionBackend, options: BufferedLogOptions): Promise<BufferedPredictionLog> {
    const bufferDir = path.resolve(options.bufferDir);
    const baseDir = path.resolve(options.baseDir ?? '.');
    const batchSize = options.batchSize ?? 500;
    const area = await OwnedArea.create(bufferDir, ownerOf(backend.uri, baseDir), {
      maxBytes: options.maxBufferBytes ?? 256 * 1024 * 1024,
      segmentBytes: options.segmentBytes ?? 4 * 1024 * 1024,
      maxCached: options.maxQueueRecords ?? 20 * batchSize,
    });
    const log = new BufferedPredictionLog(backend, area, bufferDir, baseDir, options);
    const legacy = legacySpillFiles(bufferDir);
    if (legacy.length)
      log.logger.warn(
        { bufferDir, files: legacy.length },
        'prediction log: spill files of an older Kiln do not say which log they belong to, so they are not replayed; move them away once checked',
      );
    await log.scan();
    return log;
  }

  append(...records: PredictionRecord[]): void {
    if (this.closed) {
      this.rejected += records.length;
      this.warnings.add('rejected', records.length, 'the log is closed');
      return;
    }
    const lines: string[] = [];
    for (const record of records) {
      const problem = predictionProblem(record);
      if (problem) {
        this.rejected++;
        this.warnings.add('rejected', 1, problem);
        continue;
      }
      try {
        lines.push(`${JSON.stringify(record)}\n`);
      } catch {
        this.rejected++;
        this.warnings.add('rejected', 1, 'record is not JSON-serializable');
      }
    }
    if (lines.length === 0) return;
    let outcome: AppendOutcome;
    try {
      outcome = this.area.append(lines);
    } catch (error) {
      this.dropped += lines.length;
      this.warnings.add('lost', lines.length, `journal write failed: ${(error as Error).message}`);
      return;
    }
    if (outcome === 'full') {
      this.dropped += lines.length;
      this.warnings.add('dropped', lines.length, `journal full (${this.area.bytes} bytes)`);
      return;
    }
    this.fresh += lines.length;
    this.unwritten += lines.length;
    if (this.fresh >= this.batchSize) this.kick();
  }

  room(): Promise<void> | undefined {
    if (this.unwritten <= this.maxBacklog || !this.healthy || this.closed) return undefined;
    if (!this.roomWaiters) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.roomWaiters = { promise, resolve };
      this.kick();
    }
    return this.roomWaiters.promise;
  }

  /** Lets waiting callers go: the writer caught up, the backend failed (the journal absorbs), or closing. */
  private releaseRoom(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = undefined;
    waiters?.resolve();
  }

  /**
   * This process's journal first, then the backend: a record leaves the journal only once the backend
   * holds it, so one that moved between the two looks is found in the second. While records of dead
   * processes are being ingested, the backend is asked again once they are in. A UUIDv7 id narrows
   * the lookup to the minutes it was drawn in (the JSONL stores read only those hours).
   */
  async hasPrediction(id: string, model: string): Promise<boolean> {
    if (this.closed) throw new PredictionLogUnavailableError('the prediction log is closed');
    if (await this.area.holds(id, model)) return true;
    const filter = { model, ...idWindow(id) };
    const inBackend = async () => {
      try {
        return (await this.withTimeout(this.backend.findPrediction(id, filter))) !== undefined;
      } catch (error) {
        throw new PredictionLogUnavailableError(`prediction lookup failed: ${(error as Error).message}`, {
          cause: error,
        });
      }
    };
    if (await inBackend()) return true;
    if (this.orphanRecords === 0) return false;
    await this.orphanWork;
    return inBackend();
  }

  async feedback(record: FeedbackRecord): Promise<void> {
    assertFeedback(record);
    if (this.closed) throw new PredictionLogUnavailableError('the prediction log is closed');
    try {
      await this.withTimeout(this.backend.writeFeedback(record));
    } catch (error) {
      throw new PredictionLogUnavailableError(`feedback not stored: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  async flush(): Promise<void> {
    await this.runPump(true);
    await this.orphanWork;
  }

  /**
   * `pending`: journaled, not yet in the backend. `spilled`: of what is not in the backend, what waits
   * on disk only: everything while the backend is failing, records whose memory copy was dropped to
   * bound memory, and records left by dead processes for this log.
   */
  stats(): PredictionLogStats {
    const { pending, diskOnly } = this.area.counts();
    const waiting = this.healthy ? diskOnly : pending;
    return {
      pending: pending - waiting,
      spilled: waiting + this.orphanRecords,
      written: this.written,
      failures: this.failures,
      dropped: this.dropped,
      rejected: this.rejected,
    };
  }

  /**
   * Flushes, then closes the backend. What the backend could not take stays in this process's folder
   * (made durable) for the next start, or any live process, to ingest.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.releaseRoom();
    clearInterval(this.timer);
    await this.runPump(true);
    await this.orphanWork;
    const { pending } = this.area.counts();
    if (!(await this.area.close()))
      this.logger.warn(
        { backend: this.backend.uri, pending, folder: this.area.dir },
        'prediction log: records not yet in the backend stay in the journal; the next start ingests them',
      );
    this.warnings.report(true);
    await this.backend.close();
  }

  /** Starts a write soon, after the current request's response, never inside `append` itself. */
  private kick(): void {
    if (this.kickScheduled) return;
    this.kickScheduled = true;
    setImmediate(() => {
      this.kickScheduled = false;
      if (!this.pumping && !this.closed) void this.runPump(false);
    });
  }

  private tick(): void {
    this.warnings.report(false);
    if (!this.scanning && Date.now() >= this.nextScanAt) void this.scan();
    if (this.pumping) return;
    const retryDue = this.healthy || Date.now() >= this.retryAt;
    if (retryDue && this.area.counts().pending) void this.runPump(false);
  }

  private runPump(force: boolean): Promise<void> {
    this.pumpChain = this.pumpChain.then(() => this.pump(force));
    return this.pumpChain;
  }

  /** Never rejects: a backend failure is retried later, a journal failure warned about and retried. */
  private async pump(force: boolean): Promise<void> {
    this.pumping = true;
    this.fresh = 0;
    try {
      if (!(force || this.healthy || Date.now() >= this.retryAt)) return;
      for (;;) {
        // Behind, the writer takes bigger bites: fewer transactions and round trips per record.
        const next = await this.area.nextBatch(
          Math.max(this.batchSize, Math.min(this.unwritten, 10 * this.batchSize)),
        );
        if (!next) return;
        if (!(await this.write(next.lines))) return;
        await this.area.ingested(next.segment, next.lines.length);
        this.unwritten = Math.max(0, this.unwritten - next.lines.length);
        if (this.unwritten <= this.maxBacklog) this.releaseRoom();
      }
    } catch (error) {
      this.warnings.add('diskErrors', 1, (error as Error).message);
    } finally {
      this.pumping = false;
    }
  }

  private async write(lines: string[]): Promise<boolean> {
    try {
      await this.withTimeout(writeLines(this.backend, lines));
    } catch (error) {
      this.failures++;
      this.retryDelay = Math.min(
        this.retryMaxMs,
        this.retryDelay ? this.retryDelay * 2 : this.retryInitialMs,
      );
      this.retryAt = Date.now() + this.retryDelay;
      if (this.healthy)
        this.logger.warn(
          { err: error, backend: this.backend.uri },
          'prediction log backend failing: keeping records in the journal and retrying',
        );
      this.healthy = false;
      this.releaseRoom();
      return false;
    }
    this.written += lines.length;
    if (!this.healthy) {
      this.logger.info({ backend: this.backend.uri }, 'prediction log backend is back');
      this.healthy = true;
      this.retryDelay = 0;
    }
    return true;
  }

  /**
   * Claims the folders of dead processes and counts their records (the promise resolves then), and
   * ingests them in the background. A folder that cannot be ingested now (its log is down) is released
   * and retried with backoff.
   */
  private scan(): Promise<void> {
    this.scanning = true;
    let counted!: () => void;
    const done = new Promise<void>((resolve) => {
      counted = resolve;
    });
    this.orphanWork = this.claimAndIngest(counted);
    return done;
  }

  private async claimAndIngest(counted: () => void): Promise<void> {
    let ok = true;
    try {
      const claimed = await OrphanArea.claimAll(this.bufferDir, this.area.dir);
      let records = 0;
      for (const orphan of claimed) for (const file of orphan.segments()) records += await countLines(file);
      this.orphanRecords = records;
      counted();
      if (claimed.length)
        this.logger.info(
          { folders: claimed.length, records },
          'prediction log: ingesting what stopped processes left in the journal',
        );
      for (const orphan of claimed) ok = (await this.ingestOrphan(orphan)) && ok;
    } catch (error) {
      ok = false;
      this.warnings.add('diskErrors', 1, (error as Error).message);
    } finally {
      counted();
      this.scanRetryMs = ok ? 0 : Math.min(this.retryMaxMs, this.scanRetryMs * 2 || this.retryInitialMs);
      this.nextScanAt = Date.now() + (ok ? this.orphanScanMs : this.scanRetryMs);
      this.scanning = false;
    }
  }

  /** Writes an orphaned folder into the log it names, then deletes it; false if that log failed. */
  private async ingestOrphan(orphan: OrphanArea): Promise<boolean> {
    const { uri, baseDir } = orphan.owner;
    const own = uri === this.backend.uri && baseDir === this.baseDir;
    let target: PredictionBackend;
    try {
      target = own ? this.backend : await this.openBackend(uri, baseDir);
    } catch (error) {
      this.logger.warn(
        { err: error, backend: uri, folder: orphan.dir },
        'prediction log: cannot open the log a stopped process journaled for; retrying later',
      );
      await orphan.release(false);
      return false;
    }
    try {
      for (const file of orphan.segments()) {
        const { lines, cut } = splitLines(await readFile(file, 'utf8'));
        let corrupt = cut ? 1 : 0;
        for (let start = 0; start < lines.length; start += this.batchSize) {
          const batch = lines.slice(start, start + this.batchSize);
          const unreadable = await this.withTimeout(writeLines(target, batch));
          corrupt += unreadable;
          this.orphanRecords -= batch.length;
          if (own) this.written += batch.length - unreadable;
        }
        if (corrupt) {
          this.dropped += corrupt;
          this.warnings.add('lost', corrupt, `${file}: unreadable lines (a machine crash mid-write)`);
        }
        await unlink(file);
      }
      await orphan.release(true);
      return true;
    } catch (error) {
      this.logger.warn(
        { err: error, backend: uri, folder: orphan.dir },
        "prediction log: a stopped process's records could not be written yet; retrying later",
      );
      await orphan.release(false);
      return false;
    } finally {
      if (!own) await target.close().catch(() => {});
    }
  }

  private withTimeout<T>(promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`prediction log backend timed out after ${this.writeTimeoutMs} ms`)),
        this.writeTimeoutMs,
      );
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }
}
