/**
 * Loading a declared data source: read, validate, and either stream validated Table chunks (batch
 * scoring of files of any size in bounded memory) or collect the whole table (training). Both end with
 * a DataReport that accounts for every row: rowsRead = rowsAccepted + rowsRejected.
 */
import { basename, join, resolve } from 'node:path';
import type { z } from 'zod';
import { type DataConfig, dataSchema } from '../config/schema.js';
import { DataValidationError, MAX_LISTED_PROBLEMS, type RejectedRow, RejectedShareError } from './errors.js';
import { type JoinedFile, openJoinedSource } from './join.js';
import { openSource } from './open.js';
import { RejectsWriter } from './rejects.js';
import type { DataFormat, RawSource } from './source.js';
import { concatTables, type Table } from './table.js';
import { RowValidator, type ValidatedChunk } from './validate.js';

/** A data section as written in a config (defaults applied here) or as already parsed. */
export type DataInput = z.input<typeof dataSchema>;

export const DEFAULT_CHUNK_ROWS = 16_384;

export interface LoadOptions {
  /** Folder a relative `source.path` is resolved against: the project folder. */
  baseDir: string;
  /**
   * Columns that must have a value for the row to be usable, typically the target: a missing value
   * rejects the row with reason "missing target" (quarantined or fatal per `onInvalid`), never drops it.
   */
  requiredNonNull?: readonly string[];
  /**
   * Where a quarantining load writes its rejects (created only if there are any), relative to `baseDir`.
   * Default: `.kiln/rejects/<file name>.rejects.csv`; a run should pass a path in its own folder.
   */
  rejectsPath?: string;
  /** Rows per chunk read and validated at a time; bounds memory when streaming. */
  chunkRows?: number;
  /** Called after every chunk with the number of data rows read so far. */
  onProgress?: (rowsSoFar: number) => void;
  /**
   * A later stage's veto, e.g. the frozen feature pipeline at scoring: given each validated chunk, it
   * returns chunk row index → reason for rows that stage cannot use. Those rows leave the chunk and are
   * rejected like invalid rows (rejects file under `quarantine`, listed in the DataValidationError under
   * `fail`), with their original cells; the raw cells of a chunk are kept in memory for this.
   */
  refuse?: (table: Table) => ReadonlyMap<number, string>;
}

/** What a load read, kept, and refused; recorded with every run. */
export interface DataReport {
  /** Absolute path of the file read. */
  readonly path: string;
  readonly format: DataFormat;
  /** sha256 of the file's bytes (hex), computed while reading. */
  readonly sha256: string;
  readonly sizeBytes: number;
  /** Data rows in the file (header excluded); always rowsAccepted + rowsRejected. */
  readonly rowsRead: number;
  readonly rowsAccepted: number;
  readonly rowsRejected: number;
  /** The quarantine file, or null when no row was rejected. */
  readonly rejectsPath: string | null;
  /** Table columns, in schema order. */
  readonly columns: readonly string[];
  /** Missing values per column among accepted rows. */
  readonly missing: Readonly<Record<string, number>>;
  /** Files joined onto the source (`data.join`), with their fingerprints. */
  readonly joined: readonly JoinedFile[];
}

/** One validated piece of a streamed file. */
export interface TableChunk {
  /** Accepted rows of this chunk (may be 0 rows when all were rejected). */
  readonly table: Table;
  /** Source line (CSV) or row (Parquet) of each accepted row, for messages about later stages. */
  readonly lines: Int32Array;
  /** Rows of this chunk refused under `quarantine`, with their reasons (also in the rejects file). */
  readonly rejects: readonly RejectedRow[];
  /** Data rows read so far, this chunk included. */
  readonly rowsRead: number;
}

/** A single-pass stream of validated chunks; its report is ready once it has been read to the end. */
export interface TableStream extends AsyncIterable<TableChunk> {
  /** Throws if the stream has not been read to the end (the fingerprint needs every byte). */
  report(): DataReport;
}

/**
 * Streams a declared source as validated Table chunks, reading the file once: header checked first,
 * then each chunk of `chunkRows` rows validated and handed over before the next is read. A bad row is
 * one that does not match the schema or that the reader could not parse (a broken quote). Under
 * `onInvalid: "fail"` no chunk is handed over after the first bad row, but the file is read to the end
 * and then a DataValidationError lists every bad row (file, line, column, reason; the first
 * {@link MAX_LISTED_PROBLEMS}, then a count). Under `"quarantine"` bad rows go to the rejects file and
 * the chunk's `rejects`; with `maxRejectedFraction`, a RejectedShareError ends the read when a larger
 * share of the rows was rejected. Breaking out of the loop closes the file. Nothing is opened until
 * iteration starts.
 *
 * @example
 * const stream = streamTable(project.data, { baseDir, requiredNonNull: [] });
 * for await (const chunk of stream) score(chunk.table);
 * const report = stream.report();
 */
export function streamTable(data: DataInput, options: LoadOptions): TableStream {
  return new ValidatedTableStream(dataSchema.parse(data), options);
}

/** Loads and validates a whole source into one Table (training); see {@link streamTable} for policies. */
export async function loadTable(
  data: DataInput,
  options: LoadOptions,
): Promise<{ table: Table; report: DataReport }> {
  const stream = streamTable(data, options);
  const chunks: Table[] = [];
  for await (const chunk of stream) chunks.push(chunk.table);
  return { table: concatTables(chunks), report: stream.report() };
}

class ValidatedTableStream implements TableStream {
  private started = false;
  private finished: DataReport | null = null;

  constructor(
    private readonly data: DataConfig,
    private readonly options: LoadOptions,
  ) {}

  [Symbol.asyncIterator](): AsyncIterator<TableChunk> {
    if (this.started) throw new Error('a TableStream can be read only once');
    this.started = true;
    return this.run();
  }

  report(): DataReport {
    if (this.finished === null)
      throw new Error('the data report is ready once the stream has been read to the end');
    return this.finished;
  }

  private async *run(): AsyncGenerator<TableChunk> {
    const { data, options } = this;
    const chunkRows = options.chunkRows ?? DEFAULT_CHUNK_ROWS;
    if (!Number.isInteger(chunkRows) || chunkRows < 1)
      throw new Error('chunkRows must be a positive integer');
    const opened: RawSource = await openSource(options.baseDir, data.source);
    const joined = data.join.length
      ? await openJoinedSource(options.baseDir, opened, data.join).catch(async (error) => {
          await opened.close();
          throw error;
        })
      : undefined;
    const source = joined ?? opened;
    let rejects: RejectsWriter | null = null;
    try {
      const validator = new RowValidator(source, data.schema, data.source, {
        extraColumns: data.extraColumns,
        requiredNonNull: options.requiredNonNull ?? [],
        chunkRows,
        keepCells: options.refuse !== undefined,
      });
      if (data.onInvalid === 'quarantine') {
        const path = resolve(
          options.baseDir,
          options.rejectsPath ?? join('.kiln', 'rejects', `${basename(source.file)}.rejects.csv`),
        );
        rejects = new RejectsWriter(path, validator.fileColumns);
      }
      let rowsRead = 0;
      let rowsAccepted = 0;
      let rowsRejected = 0;
      const missing = validator.columns.map(() => 0);
      // Under `fail`: the bad rows seen so far (the first ones) and their count.
      const problems: RejectedRow[] = [];
      let problemCount = 0;
      const handOver = async (validated: ValidatedChunk): Promise<TableChunk | null> => {
        const chunk =
          options.refuse && validated.table.nRows > 0
            ? validator.refuse(validated, options.refuse(validated.table))
            : validated;
        rowsRead += chunk.rowsRead;
        if (data.onInvalid === 'fail' && (problemCount > 0 || chunk.rejects.length > 0)) {
          // The load will fail: read on only to list every problem, handing nothing more over.
          problemCount += chunk.rejects.length;
          problems.push(...chunk.rejects.slice(0, MAX_LISTED_PROBLEMS - problems.length));
          options.onProgress?.(rowsRead);
          return null;
        }
        await rejects?.write(chunk.rejects);
        rowsAccepted += chunk.table.nRows;
        rowsRejected += chunk.rejects.length;
        chunk.missing.forEach((count, i) => {
          missing[i] += count;
        });
        options.onProgress?.(rowsRead);
        return { table: chunk.table, lines: chunk.lines, rejects: chunk.rejects, rowsRead };
      };
      for await (const batch of source.batches()) {
        for (const validated of validator.push(batch)) {
          const chunk = await handOver(validated);
          if (chunk !== null) yield chunk;
        }
      }
      const last = validator.flush();
      const lastChunk = last === null ? null : await handOver(last);
      if (lastChunk !== null) yield lastChunk;
      if (problemCount > 0)
        throw new DataValidationError(source.file, problems, source.unit, { count: problemCount, rowsRead });
      await rejects?.close();
      const max = data.maxRejectedFraction;
      if (rejects?.written && max !== undefined && rowsRejected / rowsRead > max)
        throw new RejectedShareError(source.file, rowsRead, rowsRejected, max, rejects.path);
      const fingerprint = await source.fingerprint();
      this.finished = {
        path: source.file,
        format: source.format,
        sha256: fingerprint.sha256,
        sizeBytes: fingerprint.sizeBytes,
        rowsRead,
        rowsAccepted,
        rowsRejected,
        rejectsPath: rejects?.written ? rejects.path : null,
        columns: validator.columns,
        missing: Object.fromEntries(validator.columns.map((name, i) => [name, missing[i]])),
        joined: joined?.joined() ?? [],
      };
    } finally {
      await source.close();
      // Closing twice is harmless; on an error path this releases the file without masking the error.
      await rejects?.close().catch(() => {});
    }
  }
}
