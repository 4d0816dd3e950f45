/**
 * Columns from a second file joined onto a source by a key column, before validation: the shape of data
 * whose labels arrive separately (posos: questions in one file, intents in another, joined on ID). The
 * joined file is read whole (it is the small side); each main record gets its matching cells, or
 * nulls when the key has no match, so validation rejects it with a reason like any row missing a value.
 */
import type { SourceConfig } from '../config/schema.js';
import { DataError } from './errors.js';
import type { Fingerprint } from './fingerprint.js';
import { openSource } from './open.js';
import type { RawBatch, RawSource, RawValue } from './source.js';

export interface JoinConfig {
  source: SourceConfig;
  /** Key column, present in both files under this name. */
  on: string;
}

/** What a joined file contributed, for the run's data fingerprints. */
export interface JoinedFile {
  readonly path: string;
  readonly fingerprint: Fingerprint;
  readonly rowsRead: number;
  /** Main records whose key had no row in this file. */
  readonly unmatched: number;
}

/** Opens `main` with the columns of every `joins` file appended (key columns not repeated). */
export async function openJoinedSource(
  baseDir: string,
  main: RawSource,
  joins: readonly JoinConfig[],
): Promise<RawSource & { joined(): JoinedFile[] }> {
  const sides: JoinSide[] = [];
  for (const join of joins) sides.push(await readSide(baseDir, main, join));
  const header = [...(main.header ?? []), ...sides.flatMap((side) => side.columns)];
  const unmatched = sides.map(() => 0);
  return {
    file: main.file,
    format: main.format,
    unit: main.unit,
    header,
    width: header.length,
    async *batches(): AsyncGenerator<RawBatch> {
      for await (const batch of main.batches()) {
        const rows = batch.rows.map((row, r) => {
          const out = [...row];
          // A line the reader could not parse has no key to join on; it is rejected as malformed.
          const broken = batch.malformed?.has(r) ?? false;
          sides.forEach((side, s) => {
            const match = broken ? undefined : side.rows.get(keyOf(row[side.mainKey]));
            if (!match && !broken) unmatched[s]++;
            out.push(...(match ?? side.columns.map(() => null)));
          });
          return out;
        });
        yield { ...batch, rows };
      }
    },
    fingerprint: () => main.fingerprint(),
    close: () => main.close(),
    joined: () =>
      sides.map((side, s) => ({
        path: side.path,
        fingerprint: side.fingerprint,
        rowsRead: side.rowsRead,
        unmatched: unmatched[s],
      })),
  };
}

function keyOf(value: RawValue | undefined): string {
  return value instanceof Date ? value.toISOString() : String(value ?? '').trim();
}

interface JoinSide {
  path: string;
  /** The joined file's columns other than the key, appended in this order. */
  columns: string[];
  rows: Map<string, RawValue[]>;
  /** Index of the key in the main file's records. */
  mainKey: number;
  rowsRead: number;
  fingerprint: Fingerprint;
}

async function readSide(baseDir: string, main: RawSource, join: JoinConfig): Promise<JoinSide> {
  const mainKey = main.header?.indexOf(join.on) ?? -1;
  if (mainKey < 0) throw new DataError(main.file, `join key "${join.on}" is not a column of this file`);
  const source = await openSource(baseDir, join.source);
  try {
    const sideHeader = source.header;
    const key = sideHeader?.indexOf(join.on) ?? -1;
    if (!sideHeader || key < 0)
      throw new DataError(source.file, `join key "${join.on}" is not a column of this file`);
    const columns = sideHeader.filter((_, i) => i !== key);
    const taken = new Set(main.header);
    for (const column of columns)
      if (taken.has(column))
        throw new DataError(source.file, `column "${column}" is also in ${main.file}; join only new columns`);
    const rows = new Map<string, RawValue[]>();
    let rowsRead = 0;
    for await (const batch of source.batches()) {
      batch.rows.forEach((row, r) => {
        rowsRead++;
        const k = keyOf(row[key]);
        if (rows.has(k))
          throw new DataError(
            source.file,
            `${join.on} "${k}" appears twice (line ${batch.lines[r]}): a join key must be unique`,
          );
        rows.set(
          k,
          row.filter((_, i) => i !== key),
        );
      });
    }
    return { path: source.file, columns, rows, mainKey, rowsRead, fingerprint: await source.fingerprint() };
  } finally {
    await source.close();
  }
}
