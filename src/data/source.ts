/**
 * Raw readers: a data file as a stream of batches of raw records, each with its 1-based source line (CSV)
 * or row (Parquet). Nothing is typed or checked here beyond the file format itself; validation turns raw
 * records into Table chunks.
 */
import { stat } from 'node:fs/promises';
import { extname, isAbsolute, resolve } from 'node:path';
import type { SourceConfig } from '../config/schema.js';
import { DataError, type LocationUnit } from './errors.js';
import type { Fingerprint } from './fingerprint.js';

/** A cell as read: text from CSV; typed values from Parquet (null = missing there). */
export type RawValue = string | number | boolean | Date | null;

export interface RawBatch {
  /** Source line (CSV, where a record starts) or data row (Parquet) of each record. */
  readonly lines: number[];
  readonly rows: RawValue[][];
  /**
   * Records the reader could not parse (a CSV line with a broken quote), by index in `rows`. Their row
   * holds the line's text split at each delimiter (the surplus in the last cell); validation rejects them.
   */
  readonly malformed?: ReadonlyMap<number, Malformed>;
}

/** Why a record could not be parsed. */
export interface Malformed {
  /** The problem, without the location. */
  readonly reason: string;
  /** Index of the cell the reader was in when it found the problem, when known. */
  readonly column: number | null;
}

export type DataFormat = 'csv' | 'parquet';

/** An opened file, positioned before its first data record. */
export interface RawSource {
  /** Absolute path; every error message starts with it. */
  readonly file: string;
  readonly format: DataFormat;
  readonly unit: LocationUnit;
  /** Column names as spelled in the file; null for a CSV read with `header: false`. */
  readonly header: readonly string[] | null;
  /** Cells in a well-formed record (the header's, or the first record's when there is none). */
  readonly width: number;
  /** The records, in order; can be iterated once. */
  batches(): AsyncGenerator<RawBatch>;
  /** The file's fingerprint; complete once `batches()` has been read to the end. */
  fingerprint(): Promise<Fingerprint>;
  /** Releases the file (and DuckDB); safe to call more than once and after an error. */
  close(): Promise<void>;
}

/** Resolves a configured path against the project folder and checks that it is a non-empty file. */
export async function resolveSourcePath(baseDir: string, path: string): Promise<string> {
  const file = isAbsolute(path) ? path : resolve(baseDir, path);
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(file);
  } catch (cause) {
    const from = isAbsolute(path) ? '' : ` (source.path "${path}" resolved against ${baseDir})`;
    throw new DataError(file, `file does not exist${from}`, { cause });
  }
  if (!info.isFile()) throw new DataError(file, 'is not a file');
  if (info.size === 0) throw new DataError(file, 'file is empty (0 bytes)');
  return file;
}

/** The configured format, else the extension's: `.parquet`/`.pq` are Parquet, anything else is text. */
export function sourceFormat(file: string, source: Pick<SourceConfig, 'format'>): DataFormat {
  if (source.format) return source.format;
  const ext = extname(file).toLowerCase();
  return ext === '.parquet' || ext === '.pq' ? 'parquet' : 'csv';
}

/**
 * The delimiter to use: a `.tsv` file with the default comma is tab-separated, since the config
 * cannot tell a default comma from a chosen one.
 */
export function sourceDelimiter(file: string, source: Pick<SourceConfig, 'delimiter'>): string {
  return source.delimiter === ',' && extname(file).toLowerCase() === '.tsv' ? '\t' : source.delimiter;
}
