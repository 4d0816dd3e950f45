/**
 * The local journal of the prediction log: every accepted record is appended to a segment file before
 * `append` returns, and the log is fed from the segments. One folder per process under the buffer
 * directory (`<bufferDir>/<pid>-<time>-<random>/`), holding:
 *
 * - `owner.json`: the log the records belong to (`uri` and the `baseDir` it resolves against), so
 *   whoever replays the folder writes them there and nowhere else;
 * - `lock`: a SQLite file its owner holds an exclusive lock on for its whole life. The OS drops the
 *   lock when the process dies (even by SIGKILL), so a folder whose lock can be taken is orphaned, and
 *   a live owner's folder is never touched;
 * - `seg-<n>.jsonl`: one JSON record a line, in write order.
 *
 * What survives what: a record is written with one `write(2)` to the OS page cache, not fsynced. A
 * process crash (kill -9, OOM, a native fault) loses nothing that `append` returned from: the kernel
 * still holds the write and the next process (or any live one that finds the orphaned folder) ingests
 * it. A machine crash or power loss can lose what the kernel had not yet flushed to the disk (by
 * default up to ~30 s of writes on Linux, `vm.dirty_expire_centisecs`), and can leave a cut or garbled
 * last line, which replay counts as lost (`dropped`, with a warning). A clean shutdown with the log
 * down fsyncs what it leaves. The guarantee covers records `append` returned from, so a server must
 * append a request's predictions before it sends the response that carries their ids.
 */
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { isBusy, openSqlite, type Sqlite } from '../../util/sqlite.js';
import type { PredictionBackend } from './backend.js';
import type { PredictionRecord } from './log.js';

export interface AreaOwner {
  /** The log these records belong to, as its backend names it. */
  uri: string;
  /** Relative URIs resolve against it. */
  baseDir: string;
  pid: number;
  host: string;
  started: string;
}

const OWNER = 'owner.json';
const LOCK = 'lock';
const SEGMENT = /^seg-(\d{9})\.jsonl$/;
const segmentName = (n: number) => `seg-${String(n).padStart(9, '0')}.jsonl`;

/**
 * An exclusive lock the OS releases when the holder dies: SQLite's file lock in exclusive locking
 * mode. Undefined when another connection (this process or another) holds it.
 */
function tryLock(file: string, create: boolean): Sqlite | undefined {
  let db: Sqlite;
  try {
    db = openSqlite(file, { mustExist: !create, timeoutMs: 0 });
  } catch (error) {
    if (!create) return undefined; // the folder is being created or removed by its owner
    throw error;
  }
  try {
    // exec only: a connection that ever prepared a statement keeps its file (and this lock) after
    // close() until that statement is garbage-collected, and the lock must go when `release` says.
    db.exec('PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; COMMIT');
    return db;
  } catch (error) {
    db.close();
    if (isBusy(error)) return undefined;
    throw error;
  }
}

export interface Segment {
  readonly file: string;
  /** Records appended (or found on disk), and how many of them, from the start, the log holds. */
  records: number;
  ingested: number;
  bytes: number;
  /** The JSONL lines from index `ingested` on, kept in memory; null once dropped to bound memory (read back from disk). */
  cache: string[] | null;
  /** The segment still being appended to. */
  open: boolean;
}

export type AppendOutcome = 'ok' | 'full';

/** This process's folder: synchronous appends to the open segment, oldest segments ingested first. */
export class OwnedArea {
  readonly segments: Segment[] = [];
  private fd: number | undefined;
  private seq = 0;
  private totalBytes = 0;
  private cached = 0;

  private constructor(
    readonly dir: string,
    private readonly lock: Sqlite,
    private readonly maxBytes: number,
    private readonly segmentBytes: number,
    private readonly maxCached: number,
  ) {}

  static async create(
    bufferDir: string,
    owner: AreaOwner,
    limits: { maxBytes: number; segmentBytes: number; maxCached: number },
  ): Promise<OwnedArea> {
    const dir = path.join(
      bufferDir,
      `${owner.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
    );
    await mkdir(dir, { recursive: true });
    const lock = tryLock(path.join(dir, LOCK), true);
    if (!lock) throw new Error(`${dir}: cannot lock a folder this process just created`);
    // Written last and atomically: a scanner only considers folders with an owner, whose lock is held.
    const tmp = path.join(dir, `${OWNER}.tmp`);
    writeFileSync(tmp, `${JSON.stringify(owner, null, 2)}\n`);
    renameSync(tmp, path.join(dir, OWNER));
    return new OwnedArea(dir, lock, limits.maxBytes, limits.segmentBytes, limits.maxCached);
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /**
   * One synchronous write to the page cache for all of `lines` (JSON records, each ending in a
   * newline; a request's predictions go together): once this returns, they survive the process.
   */
  append(lines: readonly string[]): AppendOutcome {
    const text = lines.length === 1 ? lines[0] : lines.join('');
    const size = Buffer.byteLength(text);
    if (this.totalBytes + size > this.maxBytes) return 'full';
    let segment = this.segments.at(-1);
    if (!segment?.open || segment.bytes >= this.segmentBytes) segment = this.rotate();
    try {
      const written = writeSync(this.fd!, text);
      if (written < size) {
        // A short write (rare on a regular file): the rest of the text, from where it stopped.
        const rest = Buffer.from(text).subarray(written);
        for (let offset = 0; offset < rest.length; )
          offset += writeSync(this.fd!, rest, offset, rest.length - offset);
      }
    } catch (error) {
      // A cut line may be left at its end: no record is appended after it, so replay only counts it.
      segment.open = false;
      throw error;
    }
    segment.records += lines.length;
    segment.bytes += size;
    this.totalBytes += size;
    if (segment.cache) {
      segment.cache.push(...lines);
      this.cached += lines.length;
      while (this.cached > this.maxCached && this.dropOldestCache());
    }
    return 'ok';
  }

  /** Records not yet in the log; `diskOnly`: of those, the ones whose memory copy was dropped. */
  counts(): { pending: number; diskOnly: number } {
    let pending = 0;
    let diskOnly = 0;
    for (const s of this.segments) {
      pending += s.records - s.ingested;
      if (!s.cache) diskOnly += s.records - s.ingested;
    }
    return { pending, diskOnly };
  }

  /**
   * Whether a record with this id and model waits in the journal: the lines kept in memory, or the
   * segment read back. A segment deleted meanwhile was ingested: the backend holds its records.
   */
  async holds(id: string, model: string): Promise<boolean> {
    const needle = `"id":${JSON.stringify(id)}`;
    const matches = (line: string) => {
      if (!line.includes(needle)) return false;
      try {
        const record = JSON.parse(line) as PredictionRecord;
        return record.id === id && record.model === model;
      } catch {
        return false;
      }
    };
    for (const segment of [...this.segments]) {
      if (segment.ingested >= segment.records) continue;
      if (segment.cache) {
        if (segment.cache.some(matches)) return true;
        continue;
      }
      const text = await readFile(segment.file, 'utf8').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return '';
        throw error;
      });
      if (splitLines(text).lines.some(matches)) return true;
    }
    return false;
  }

  /** The next batch of JSONL lines to write, oldest first: from memory, or read back from its segment. */
  async nextBatch(batchSize: number): Promise<{ segment: Segment; lines: string[] } | undefined> {
    for (const segment of this.segments) {
      if (segment.ingested >= segment.records) continue;
      if (!segment.cache) {
        const { lines } = splitLines(await readFile(segment.file, 'utf8'));
        // Kept only if it is the whole segment: lines appended to an open one during the read may be missing.
        if (lines.length !== segment.records)
          return { segment, lines: lines.slice(segment.ingested, segment.ingested + batchSize) };
        segment.cache = lines.slice(segment.ingested);
        this.cached += segment.cache.length;
      }
      return { segment, lines: segment.cache.slice(0, batchSize) };
    }
    return undefined;
  }

  /** The batch is in the log: forget it, and delete segments that are complete. */
  async ingested(segment: Segment, count: number): Promise<void> {
    segment.ingested += count;
    if (segment.cache) {
      segment.cache.splice(0, count);
      this.cached -= count;
    }
    while (this.segments.length) {
      const oldest = this.segments[0];
      if (oldest.ingested < oldest.records) return;
      // A drained open segment goes too (the next append starts another): its bytes are free again.
      if (oldest.open) {
        this.closeFd();
        oldest.open = false;
      }
      this.segments.shift();
      this.totalBytes -= oldest.bytes;
      await unlink(oldest.file);
    }
  }

  /**
   * Closes the folder: removed when everything is in the log, otherwise its segments are made durable
   * (a clean shutdown is the one place an fsync is cheap) and left, with the lock released, for the
   * next process to ingest.
   */
  async close(): Promise<boolean> {
    const empty = this.segments.every((s) => s.ingested >= s.records);
    this.closeFd();
    if (!empty)
      for (const segment of this.segments) {
        const fd = openSync(segment.file, 'r');
        try {
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
      }
    this.lock.close();
    if (empty) await rm(this.dir, { recursive: true, force: true });
    return empty;
  }

  private rotate(): Segment {
    const current = this.segments.at(-1);
    if (current?.open) current.open = false;
    this.closeFd();
    const file = path.join(this.dir, segmentName(++this.seq));
    this.fd = openSync(file, 'a');
    const segment: Segment = { file, records: 0, ingested: 0, bytes: 0, cache: [], open: true };
    this.segments.push(segment);
    return segment;
  }

  private closeFd(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** False when no segment holds a memory copy any more. */
  private dropOldestCache(): boolean {
    const segment = this.segments.find((s) => s.cache?.length);
    if (!segment?.cache) return false;
    this.cached -= segment.cache.length;
    segment.cache = null;
    return true;
  }
}

/** A dead process's folder, locked by this process while it ingests it. */
export class OrphanArea {
  private constructor(
    readonly dir: string,
    readonly owner: AreaOwner,
    private readonly lock: Sqlite,
  ) {}

  /** Folders under `bufferDir` whose owner is dead, locked for this process; live owners' are skipped. */
  static async claimAll(bufferDir: string, own: string | undefined): Promise<OrphanArea[]> {
    const claimed: OrphanArea[] = [];
    let names: string[];
    try {
      names = await readdir(bufferDir);
    } catch {
      return claimed;
    }
    for (const name of names) {
      const dir = path.join(bufferDir, name);
      if (dir === own) continue;
      let owner: AreaOwner;
      try {
        owner = JSON.parse(await readFile(path.join(dir, OWNER), 'utf8')) as AreaOwner;
      } catch {
        continue; // not an area, or one still being created
      }
      const lock = tryLock(path.join(dir, LOCK), false);
      if (lock) claimed.push(new OrphanArea(dir, owner, lock));
    }
    return claimed;
  }

  segments(): string[] {
    return readdirSync(this.dir)
      .filter((name) => SEGMENT.test(name))
      .sort()
      .map((name) => path.join(this.dir, name));
  }

  /** Releases the lock; with `remove`, deletes the folder (everything in it is in its log). */
  async release(remove: boolean): Promise<void> {
    if (remove) await unlink(path.join(this.dir, OWNER)).catch(() => {});
    this.lock.close();
    if (remove) await rm(this.dir, { recursive: true, force: true });
  }
}

/** Spill files of Kiln before per-process folders: their target log is unknown, so they are left alone. */
export function legacySpillFiles(bufferDir: string): string[] {
  try {
    return readdirSync(bufferDir).filter((name) => /^spill-\d{13}-\d{6}\.jsonl$/.test(name));
  } catch {
    return [];
  }
}

export function ownerOf(uri: string, baseDir: string): AreaOwner {
  return { uri, baseDir, pid: process.pid, host: hostname(), started: new Date().toISOString() };
}

/** Complete lines in a segment file (what replaying it will find, give or take unparseable ones). */
export async function countLines(file: string): Promise<number> {
  const bytes = await readFile(file);
  let lines = 0;
  for (let at = bytes.indexOf(10); at >= 0; at = bytes.indexOf(10, at + 1)) lines++;
  return lines;
}

/** The complete lines of a segment, each with its newline; `cut`: a last line without one (a machine crash). */
export function splitLines(text: string): { lines: string[]; cut: boolean } {
  const lines: string[] = [];
  let start = 0;
  for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
    lines.push(text.slice(start, end + 1));
    start = end + 1;
  }
  return { lines, cut: start < text.length };
}

/** The records of JSONL text; `corrupt` counts the lines that are not JSON (after a machine crash). */
export function parseLines(text: string): { records: PredictionRecord[]; corrupt: number } {
  const records: PredictionRecord[] = [];
  let corrupt = 0;
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      records.push(JSON.parse(line) as PredictionRecord);
    } catch {
      corrupt++;
    }
  }
  return { records, corrupt };
}

/**
 * Writes JSONL lines to a backend as one batch; returns how many were not JSON. A backend that takes
 * the text itself (one in a worker thread) parses it there, off the serving thread.
 */
export async function writeLines(backend: PredictionBackend, lines: readonly string[]): Promise<number> {
  const text = lines.join('');
  if (backend.writeJsonl) return backend.writeJsonl(text);
  const { records, corrupt } = parseLines(text);
  await backend.writeBatch(records);
  return corrupt;
}
