import { randomBytes } from 'node:crypto';
import { type FileHandle, mkdir, open, readdir, readFile, rename, truncate, unlink } from 'node:fs/promises';
import path from 'node:path';
import {
  assertFeedback,
  assertPredictions,
  canonicalTime,
  inRange,
  type LabelledPrediction,
  MODEL_NAME,
  type PredictionBackend,
  type TimeFilter,
} from './backend.js';
import type { FeedbackRecord, PredictionRecord } from './log.js';

type Kind = 'predictions' | 'feedback';

interface OpenSegment {
  key: string;
  hour: string;
  tmp: string;
  final: string;
  handle: FileHandle;
  bytes: number;
}

export interface JsonlSegmentOptions {
  /** A segment is closed (renamed to its final name) once it holds this many bytes. */
  maxSegmentBytes?: number;
}

/**
 * Append-only JSONL segments: `<dir>/<predictions|feedback>/<model>/<hour>_<writer>_<seq>.jsonl`, one
 * open segment per kind, model and hour (UTC, from the record's time). A segment is written under a
 * `.tmp` name and renamed when closed (size reached, its hour over, or the store closed), so readers
 * of the directory (and, later, an S3 upload of it) never see a partial line. This store's own open
 * segments are read too, up to their last complete line. Retried batches may repeat lines; reads
 * dedupe predictions by id (first wins) and repeated labels, and join each prediction to its latest
 * label. No index: a lookup by id searches the text of the segments of the hours it is given (see
 * `findPrediction`), one model's hour of log at a time.
 */
export class JsonlSegmentStore implements PredictionBackend {
  private readonly writerId = `${process.pid}-${randomBytes(4).toString('hex')}`;
  private readonly maxSegmentBytes: number;
  private readonly segments = new Map<string, OpenSegment>();
  private seq = 0;
  /** Writes, rolls and closes run one at a time: segment state is never raced. */
  private ops: Promise<unknown> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  private constructor(
    readonly uri: string,
    private readonly dir: string,
    options: JsonlSegmentOptions,
  ) {
    this.maxSegmentBytes = options.maxSegmentBytes ?? 64 * 1024 * 1024;
    // An idle model's segment still closes when its hour is over.
    this.timer = setInterval(() => void this.serial(() => this.closeSegments(false)).catch(() => {}), 60_000);
    this.timer.unref();
  }

  static async open(uri: string, dir: string, options: JsonlSegmentOptions = {}): Promise<JsonlSegmentStore> {
    await mkdir(dir, { recursive: true });
    await recoverOrphans(dir);
    return new JsonlSegmentStore(uri, dir, options);
  }

  async writeBatch(records: readonly PredictionRecord[]): Promise<void> {
    assertPredictions(records);
    const groups = new Map<string, { model: string; hour: string; lines: string[] }>();
    for (const r of records) {
      const time = canonicalTime(r.time);
      const hour = time.slice(0, 13);
      const key = `${r.model}/${hour}`;
      let group = groups.get(key);
      if (!group) {
        group = { model: r.model, hour, lines: [] };
        groups.set(key, group);
      }
      group.lines.push(JSON.stringify({ ...r, time }));
    }
    await this.serial(async () => {
      await this.closeSegments(false);
      for (const group of groups.values())
        await this.append('predictions', group.model, group.hour, group.lines);
    });
  }

  async writeFeedback(record: FeedbackRecord): Promise<void> {
    assertFeedback(record);
    const time = canonicalTime(record.time);
    const line = JSON.stringify({ ...record, time });
    await this.serial(async () => {
      await this.closeSegments(false);
      await this.append('feedback', record.model, time.slice(0, 13), [line]);
    });
  }

  async readPredictions(filter: TimeFilter = {}): Promise<PredictionRecord[]> {
    const seen = new Set<string>();
    const out: PredictionRecord[] = [];
    for (const record of await this.readKind<PredictionRecord>('predictions', filter)) {
      if (seen.has(record.id)) continue;
      seen.add(record.id);
      if (inRange(record.time, filter)) out.push(record);
    }
    return limited(byTime(out), filter);
  }

  async findPrediction(id: string, filter: TimeFilter = {}): Promise<PredictionRecord | undefined> {
    for (const file of await this.segmentFiles('predictions', filter)) {
      const found = findInJsonl(await this.readSegment(file), id, filter);
      if (found) return found;
    }
    return undefined;
  }

  async readFeedback(filter: TimeFilter = {}): Promise<FeedbackRecord[]> {
    const labels = await this.readKind<FeedbackRecord>('feedback', filter);
    return limited(byTime(distinctLabels(labels.filter((f) => inRange(f.time, filter)))), filter);
  }

  async readLabelled(filter: TimeFilter = {}): Promise<LabelledPrediction[]> {
    const latest = await this.latestFeedback(filter.model);
    const joined: LabelledPrediction[] = [];
    for (const prediction of await this.readPredictions({ ...filter, limit: undefined })) {
      const feedback = latest.get(prediction.id);
      if (feedback && feedback.model === prediction.model) joined.push({ prediction, feedback });
    }
    return filter.limit === undefined ? joined : joined.slice(0, filter.limit);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.serial(() => this.closeSegments(true));
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.ops.then(fn);
    this.ops = run.catch(() => {});
    return run;
  }

  private async append(kind: Kind, model: string, hour: string, lines: string[]): Promise<void> {
    const key = `${kind}/${model}/${hour}`;
    let segment = this.segments.get(key);
    if (!segment) {
      const folder = path.join(this.dir, kind, model);
      await mkdir(folder, { recursive: true });
      const final = path.join(
        folder,
        `${hour}_${this.writerId}_${String(++this.seq).padStart(6, '0')}.jsonl`,
      );
      const tmp = `${final}.tmp`;
      segment = { key, hour, tmp, final, handle: await open(tmp, 'a'), bytes: 0 };
      this.segments.set(key, segment);
    }
    const text = `${lines.join('\n')}\n`;
    await segment.handle.appendFile(text);
    // The backend reports a batch written only once it is on disk.
    await segment.handle.datasync();
    segment.bytes += Buffer.byteLength(text);
    if (segment.bytes >= this.maxSegmentBytes) await this.closeSegment(segment);
  }

  /** Closes every open segment (`all`) or those whose hour is over. */
  private async closeSegments(all: boolean): Promise<void> {
    const current = new Date().toISOString().slice(0, 13);
    for (const segment of [...this.segments.values()])
      if (all || segment.hour < current) await this.closeSegment(segment);
  }

  private async closeSegment(segment: OpenSegment): Promise<void> {
    this.segments.delete(segment.key);
    await segment.handle.close();
    await rename(segment.tmp, segment.final);
  }

  private async latestFeedback(model: string | undefined): Promise<Map<string, FeedbackRecord>> {
    // Not pruned by time: a correction outside the range still supersedes a label inside it.
    const latest = new Map<string, FeedbackRecord>();
    for (const record of await this.readKind<FeedbackRecord>('feedback', { model })) {
      const previous = latest.get(record.predictionId);
      if (!previous || record.time >= previous.time) latest.set(record.predictionId, record);
    }
    return latest;
  }

  /** Every complete line of the closed segments and of this store's open ones, in name order. */
  private async readKind<T>(kind: Kind, filter: TimeFilter): Promise<T[]> {
    const out: T[] = [];
    for (const file of await this.segmentFiles(kind, filter))
      for (const line of (await this.readSegment(file)).split('\n'))
        if (line) out.push(JSON.parse(line) as T);
    return out;
  }

  /** The closed segments of the filter's models and hours, and this store's open ones, in name order. */
  private async segmentFiles(kind: Kind, filter: TimeFilter): Promise<string[]> {
    if (filter.model !== undefined && !MODEL_NAME.test(filter.model))
      throw new TypeError(`model ${JSON.stringify(filter.model)} does not match ${MODEL_NAME}`);
    const root = path.join(this.dir, kind);
    const models = filter.model !== undefined ? [filter.model] : await list(root);
    const ownOpen = new Map([...this.segments.values()].map((s) => [s.final, s.tmp]));
    const files: string[] = [];
    for (const model of models) {
      for (const name of await list(path.join(root, model))) {
        const file = path.join(root, model, name);
        if (name.endsWith('.jsonl') && hourOverlaps(name.slice(0, 13), filter)) files.push(file);
        else if (name.endsWith('.jsonl.tmp') && ownOpen.has(file.slice(0, -4))) files.push(file);
      }
    }
    return files.sort((a, b) => (path.basename(a) < path.basename(b) ? -1 : 1));
  }

  /** A segment's text up to its last complete line. */
  private async readSegment(file: string): Promise<string> {
    const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      // An open segment of ours may have been renamed between listing and reading.
      if (error.code === 'ENOENT' && file.endsWith('.tmp')) return readFile(file.slice(0, -4), 'utf8');
      throw error;
    });
    return text.slice(0, text.lastIndexOf('\n') + 1);
  }
}

/**
 * The first prediction in JSONL text with this id that matches the filter: the text is searched for
 * the id as JSON writes it, and only the lines holding it are parsed.
 */
export function findInJsonl(text: string, id: string, filter: TimeFilter): PredictionRecord | undefined {
  const needle = `"id":${JSON.stringify(id)}`;
  for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + needle.length)) {
    const start = text.lastIndexOf('\n', at) + 1;
    const end = text.indexOf('\n', at);
    let record: PredictionRecord;
    try {
      record = JSON.parse(text.slice(start, end < 0 ? undefined : end)) as PredictionRecord;
    } catch {
      continue;
    }
    if (
      record.id === id &&
      (filter.model === undefined || record.model === filter.model) &&
      inRange(record.time, filter)
    )
      return record;
  }
  return undefined;
}

/** Whether a segment of this UTC hour can hold times in the filter's range. */
export function hourOverlaps(hour: string, filter: TimeFilter): boolean {
  const start = Date.parse(`${hour}:00:00.000Z`);
  if (Number.isNaN(start)) return true;
  if (filter.until !== undefined && start >= Date.parse(filter.until)) return false;
  if (filter.since !== undefined && start + 3_600_000 <= Date.parse(filter.since)) return false;
  return true;
}

/** Labels with a repeated one (a retried write: same prediction, model, time and label) left out. */
export function distinctLabels(labels: readonly FeedbackRecord[]): FeedbackRecord[] {
  const seen = new Set<string>();
  return labels.filter((f) => {
    const key = JSON.stringify([f.predictionId, f.model, f.time, f.label]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Sorted by time, stably: records of one time keep their order. */
export function byTime<T extends { time: string }>(records: T[]): T[] {
  return records.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
}

export function limited<T>(records: T[], filter: TimeFilter): T[] {
  return filter.limit === undefined ? records : records.slice(0, Math.max(0, filter.limit));
}

export async function list(folder: string): Promise<string[]> {
  try {
    return await readdir(folder);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/**
 * Segments left open by a process that died: cut to their last complete line and closed. A segment
 * whose writer is still alive (another process on the same directory) is left to it.
 */
async function recoverOrphans(dir: string): Promise<void> {
  for (const kind of ['predictions', 'feedback'] satisfies Kind[]) {
    for (const model of await list(path.join(dir, kind))) {
      for (const name of await list(path.join(dir, kind, model))) {
        const pid = /^[^_]+_(\d+)-[0-9a-f]+_\d+\.jsonl\.tmp$/.exec(name)?.[1];
        if (pid === undefined || alive(Number(pid))) continue;
        const tmp = path.join(dir, kind, model, name);
        const text = await readFile(tmp);
        const end = text.lastIndexOf(0x0a) + 1;
        if (end === 0) {
          await unlink(tmp);
          continue;
        }
        if (end < text.length) await truncate(tmp, end);
        await rename(tmp, tmp.slice(0, -4));
      }
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
