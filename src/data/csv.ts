/**
 * Streaming CSV/TSV reader on csv-parse. Bytes are hashed as they are read (the fingerprint costs no
 * second pass), decoded with a streaming decoder, and parsed into records that keep their source line.
 * A structurally broken record (an unclosed quote, a stray quote) does not end the read: its first line
 * becomes a malformed record, with its text and a reason, and parsing resumes on the next line.
 */
import { createReadStream } from 'node:fs';
import { CsvError, type Options, Parser } from 'csv-parse';
import type { SourceConfig } from '../config/schema.js';
import { DataError } from './errors.js';
import { FingerprintBuilder } from './fingerprint.js';
import { type Malformed, type RawBatch, type RawSource, sourceDelimiter } from './source.js';

type CsvOptions = Pick<SourceConfig, 'delimiter' | 'quote' | 'header' | 'encoding'>;

/**
 * A quoted value longer than this is taken for a quote that was never closed, so a stray quote cannot
 * make the parser hold the rest of a large file in memory (a record can still span many lines).
 */
const MAX_RECORD_BYTES = 64 << 20;

const PARSE_SLICE = 64 << 10;

interface ParsedRecord {
  /** The cells; for a malformed record, its first line's text split at each delimiter. */
  readonly cells: string[];
  /** Line the record starts on. */
  readonly line: number;
  readonly malformed?: Malformed;
}

/**
 * csv-parse driven synchronously (its Transform's own `_transform`/`_flush`, the stream never read):
 * records come out per chunk fed, and after a parse error the bytes of the broken record are still at
 * hand to resume from. csv-parse knows the line count only while it parses; reading it at push time
 * (without the `info` option, which copies the whole info object per record and triples the parse time)
 * gives every record its start line: previous end line + 1 + blank lines skipped.
 */
class LocatingParser extends Parser {
  /** Records parsed since the last `takeParsed()`. */
  private parsed: ParsedRecord[] = [];
  private lastLine = 0;
  private lastEmpty = 0;
  /** Offset, in the bytes fed to this parser, just past the last record (where a broken one starts). */
  recordEnd = 0;

  /** `lineBase`: the file line before this parser's first byte (parsing resumes after a broken line). */
  constructor(
    options: Options,
    readonly lineBase: number,
  ) {
    super(options);
  }

  override push(chunk: unknown): boolean {
    if (chunk === null) return true;
    const { lines, empty_lines, bytes } = this.info;
    this.parsed.push({
      cells: chunk as string[],
      line: this.lineBase + this.lastLine + 1 + empty_lines - this.lastEmpty,
    });
    this.lastLine = lines;
    this.lastEmpty = empty_lines;
    this.recordEnd = bytes;
    return true;
  }

  /** The file line after the last record (where the next record or blank lines begin). */
  get nextLine(): number {
    return this.lineBase + this.lastLine + 1;
  }

  /** Parses a chunk (null: the end of the input); returns the error that stopped the parser, if any. */
  parse(chunk: Buffer | null): CsvError | undefined {
    let failure: CsvError | undefined;
    const done = (error?: Error | null) => {
      if (error instanceof CsvError) failure = error;
      else if (error) throw error;
    };
    if (chunk === null) this._flush(done);
    else this._transform(chunk, 'utf8', done);
    return failure;
  }

  takeParsed(): ParsedRecord[] {
    const records = this.parsed;
    this.parsed = [];
    return records;
  }
}

/** A record the parser stopped on, until the end of its first line has been read. */
interface BrokenRecord {
  /** The bytes from the end of the last good record on (blank lines, then the broken record). */
  bytes: Buffer;
  /** The file line after the last good record. */
  after: number;
  error: CsvError;
  /** The file line the parser was on when it stopped. */
  detectedOn: number;
}

/**
 * Feeds bytes to a LocatingParser and, when it stops on a broken record, emits that record's first
 * line as malformed and starts a fresh parser on the next line. It keeps the bytes fed since the last
 * complete record, which is what a restart re-reads. After a restart the rest of the chunk is fed line
 * by line, so a run of broken lines costs a line each instead of the rest of the chunk each.
 */
class RecoveringCsvParser {
  private parser: LocatingParser;
  /** Bytes not yet fed to the parser. */
  private readonly queue: Buffer[] = [];
  /** Bytes fed to the current parser from offset `keptFrom` on. */
  private kept: Buffer[] = [];
  private keptFrom = 0;
  private broken: BrokenRecord | null = null;

  constructor(private readonly options: Options & { delimiter: string }) {
    this.parser = new LocatingParser(options, 0);
  }

  /** Parses the next chunk (null: the end of the input) into records, in file order. */
  feed(chunk: Buffer | null): ParsedRecord[] {
    const records: ParsedRecord[] = [];
    const end = chunk === null;
    if (chunk !== null) this.queue.push(chunk);
    for (;;) {
      // A broken line running on into the next chunk waits for it.
      if (this.broken !== null && !this.cutBroken(records, end)) return records;
      const step = this.queue.shift();
      if (step === undefined && !end) return records;
      if (step !== undefined) this.kept.push(step);
      const error = this.parser.parse(step ?? null);
      for (const record of this.parser.takeParsed()) records.push(record);
      if (error !== undefined) this.stop(error);
      else if (step === undefined) return records;
      else this.dropParsed();
    }
  }

  private stop(error: CsvError): void {
    const { parser } = this;
    this.broken = {
      bytes: Buffer.concat(this.kept).subarray(parser.recordEnd - this.keptFrom),
      after: parser.nextLine,
      error,
      detectedOn: typeof error.lines === 'number' ? parser.lineBase + error.lines : parser.nextLine,
    };
    this.kept = [];
    this.keptFrom = 0;
  }

  /**
   * Emits the broken record's first line and queues what follows it, line by line, for a fresh parser;
   * false when the line's end has not been read yet.
   */
  private cutBroken(records: ParsedRecord[], end: boolean): boolean {
    const broken = this.broken!;
    // Only at the end of the input with nothing queued is the line's end the end of its bytes.
    let cut = firstLine(broken.bytes, end && this.queue.length === 0);
    while (cut === null) {
      const more = this.queue.shift();
      if (more === undefined) return false;
      broken.bytes = Buffer.concat([broken.bytes, more]);
      cut = firstLine(broken.bytes, end && this.queue.length === 0);
    }
    const line = broken.after + cut.blank;
    records.push({
      cells: broken.bytes.toString('utf8', cut.start, cut.stop).split(this.options.delimiter),
      line,
      malformed: {
        reason: malformedReason(broken.error, line, broken.detectedOn),
        column: typeof broken.error.index === 'number' ? broken.error.index : null,
      },
    });
    this.broken = null;
    this.parser = new LocatingParser(this.options, line);
    this.queue.unshift(...splitLines(broken.bytes.subarray(cut.next)));
    return true;
  }

  /** Releases the chunks wholly before the current record. */
  private dropParsed(): void {
    while (this.kept.length > 1 && this.keptFrom + this.kept[0].length <= this.parser.recordEnd) {
      this.keptFrom += this.kept[0].length;
      this.kept.shift();
    }
  }
}

const CR = 0x0d;
const LF = 0x0a;

function isLineEnd(byte: number): boolean {
  return byte === LF || byte === CR;
}

/**
 * Where the first non-blank line of `bytes` starts and stops, how many blank lines precede it, and
 * where the next line starts; null while its end (or a CR that may be half of a CRLF) is not read yet.
 */
function firstLine(
  bytes: Buffer,
  end: boolean,
): { start: number; stop: number; next: number; blank: number } | null {
  const crlf = (at: number) => bytes[at] === CR && bytes[at + 1] === LF;
  const undecided = (at: number) =>
    !end && (at === bytes.length || (bytes[at] === CR && at + 1 === bytes.length));
  let start = 0;
  let blank = 0;
  while (start < bytes.length && isLineEnd(bytes[start])) {
    if (undecided(start)) return null;
    start += crlf(start) ? 2 : 1;
    blank++;
  }
  let stop = start;
  while (stop < bytes.length && !isLineEnd(bytes[stop])) stop++;
  if (undecided(stop)) return null;
  return { start, stop, next: stop === bytes.length ? stop : stop + (crlf(stop) ? 2 : 1), blank };
}

/** Pieces of `bytes` that each end with a line feed (the last one may not). */
function splitLines(bytes: Buffer): Buffer[] {
  const pieces: Buffer[] = [];
  let from = 0;
  for (let at = bytes.indexOf(LF); at >= 0; at = bytes.indexOf(LF, from)) {
    pieces.push(bytes.subarray(from, at + 1));
    from = at + 1;
  }
  if (from < bytes.length) pieces.push(bytes.subarray(from));
  return pieces;
}

/** What is wrong with a broken record, located at its start `line` (the parser may notice it later). */
function malformedReason(error: CsvError, line: number, detectedOn: number): string {
  switch (error.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return 'malformed CSV: a quote opens a value that is never closed (the file ends inside it)';
    case 'CSV_INVALID_CLOSING_QUOTE':
      return detectedOn > line
        ? `malformed CSV: a quote opens a value that is not closed on this line (read on to line ${detectedOn} without finding its end)`
        : 'malformed CSV: text follows the closing quote of a value (a quote inside a quoted value is written "")';
    case 'INVALID_OPENING_QUOTE':
      return 'malformed CSV: a quote inside an unquoted value (quote the whole value and write the quote as "")';
    case 'CSV_MAX_RECORD_SIZE':
      return `malformed CSV: a value runs over ${MAX_RECORD_BYTES >> 20} MiB (read on to line ${detectedOn}); a quote that opens it is probably not closed`;
    default:
      return `malformed CSV (${error.code}): ${error.message}`;
  }
}

/** Opens a CSV file, reading its header (if any) and checking that it has a data record. */
export async function openCsv(file: string, options: CsvOptions, batchRows: number): Promise<RawSource> {
  const fingerprint = new FingerprintBuilder();
  const decode = decoderFor(options.encoding);
  const delimiter = sourceDelimiter(file, options);
  const parser = new RecoveringCsvParser({
    delimiter,
    quote: options.quote,
    escape: options.quote,
    bom: true,
    skip_empty_lines: true,
    // Cell counts are checked by validation, so a short or long row can be quarantined with its line.
    relax_column_count: true,
    max_record_size: MAX_RECORD_BYTES,
  });
  const input = createReadStream(file, { highWaterMark: 1 << 20 });
  const decodeChunk = (chunk: Buffer | null): string => {
    try {
      return decode(chunk);
    } catch (cause) {
      throw new InvalidEncoding(cause);
    }
  };

  async function* parsed(): AsyncGenerator<ParsedRecord[]> {
    try {
      for await (const chunk of input as AsyncIterable<Buffer>) {
        fingerprint.update(chunk);
        const text = Buffer.from(decodeChunk(chunk));
        // Parsed a slice at a time, so the records in flight stay young (and few) in V8's new space.
        for (let at = 0; at < text.length; at += PARSE_SLICE) {
          const records = parser.feed(text.subarray(at, at + PARSE_SLICE));
          if (records.length > 0) yield records;
        }
      }
      const tail = decodeChunk(null);
      const last = tail.length > 0 ? parser.feed(Buffer.from(tail)) : [];
      yield last.concat(parser.feed(null));
    } catch (error) {
      // Reading stops at invalid bytes; the error names the line of the first one, found by a second scan.
      if (error instanceof InvalidEncoding) throw await invalidUtf8Error(file);
      if (error instanceof DataError) throw error;
      throw new DataError(file, `cannot be read: ${String(error)}`, { cause: error });
    }
  }
  // Records are pulled one by one for the header and the first data row, then in whole chunks.
  const chunks = parsed();
  let pending: ParsedRecord[] = [];
  let at = 0;
  const next = async (): Promise<ParsedRecord | null> => {
    while (at === pending.length) {
      const step = await chunks.next();
      if (step.done) return null;
      pending = step.value;
      at = 0;
    }
    return pending[at++];
  };
  const close = async () => {
    await chunks.return(undefined);
    input.destroy();
  };

  let header: string[] | null = null;
  let first: ParsedRecord | null;
  try {
    first = await next();
    if (first === null)
      throw new DataError(file, options.header ? 'file is empty (no header row)' : 'no data rows');
    if (options.header) {
      if (first.malformed) throw new DataError(file, first.malformed.reason, { line: first.line });
      header = first.cells;
      first = await next();
      if (first === null) throw new DataError(file, 'no data rows: the file has a header row only');
    }
  } catch (error) {
    await close();
    throw error;
  }
  const width = header?.length ?? first.cells.length;
  const firstRecord = first;

  async function* batches(): AsyncGenerator<RawBatch> {
    let batch = newBatch();
    const add = (record: ParsedRecord) => {
      if (record.malformed) {
        batch.malformed.set(batch.rows.length, record.malformed);
        batch.rows.push(fitWidth(record.cells, width, delimiter));
      } else batch.rows.push(record.cells);
      batch.lines.push(record.line);
    };
    add(firstRecord);
    const flush = () => {
      const full = batch;
      batch = newBatch();
      return full.malformed.size > 0 ? full : { lines: full.lines, rows: full.rows };
    };
    for (;;) {
      while (at < pending.length) {
        add(pending[at++]);
        if (batch.rows.length === batchRows) yield flush();
      }
      const step = await chunks.next();
      if (step.done) break;
      pending = step.value;
      at = 0;
    }
    if (batch.rows.length > 0) yield flush();
  }

  return {
    file,
    format: 'csv',
    unit: 'line',
    header,
    width,
    batches,
    fingerprint: async () => fingerprint.digest(),
    close,
  };
}

function newBatch(): { lines: number[]; rows: string[][]; malformed: Map<number, Malformed> } {
  return { lines: [], rows: [], malformed: new Map() };
}

/**
 * A malformed line's pieces as a row of the file's width: short ones padded, the surplus kept in the
 * last cell, so the rejects file shows the whole line and stays rectangular.
 */
function fitWidth(cells: string[], width: number, delimiter: string): string[] {
  if (cells.length > width) return [...cells.slice(0, width - 1), cells.slice(width - 1).join(delimiter)];
  while (cells.length < width) cells.push('');
  return cells;
}

class InvalidEncoding extends Error {
  constructor(cause: unknown) {
    super('invalid encoding', { cause });
  }
}

/** A chunk-wise decoder: `decode(bytes)` per chunk, `decode(null)` once at the end. */
function decoderFor(encoding: SourceConfig['encoding']): (chunk: Buffer | null) => string {
  // Node's 'latin1' is ISO-8859-1 byte for byte (as Python's), unlike the WHATWG label, which means 1252.
  if (encoding === 'latin1') return (chunk) => (chunk === null ? '' : chunk.toString('latin1'));
  // Fatal for UTF-8 so a file in another encoding fails loudly instead of filling cells with U+FFFD.
  const decoder = new TextDecoder(encoding, { fatal: encoding === 'utf-8' });
  return (chunk) => (chunk === null ? decoder.decode() : decoder.decode(chunk, { stream: true }));
}

/** Finds the first byte that is not UTF-8 (by lead and continuation bytes) and names its line. */
async function invalidUtf8Error(file: string): Promise<DataError> {
  const hint = 'is not valid UTF-8; set source.encoding (latin1, windows-1252 or utf-16le)';
  let line = 1;
  let offset = 0;
  let pending = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    for (let i = 0; i < chunk.length; i++, offset++) {
      const byte = chunk[i];
      let valid: boolean;
      if (pending > 0) {
        valid = (byte & 0xc0) === 0x80;
        pending--;
      } else if (byte < 0x80) {
        valid = true;
        if (byte === 0x0a) line++;
      } else if (byte >= 0xc2 && byte <= 0xdf) {
        valid = true;
        pending = 1;
      } else if (byte >= 0xe0 && byte <= 0xef) {
        valid = true;
        pending = 2;
      } else if (byte >= 0xf0 && byte <= 0xf4) {
        valid = true;
        pending = 3;
      } else {
        valid = false;
      }
      if (!valid) return new DataError(file, `byte ${offset} (0x${byte.toString(16)}) ${hint}`, { line });
    }
  }
  return new DataError(file, `the file ${hint}`);
}
