/**
 * Validation against the declared schema: the header first (missing and extra columns, renames), then
 * every row. A row is accepted whole or rejected with one reason naming its line, column and value; what
 * a rejection means (quarantine, or failing the load) is the loader's policy.
 */
import type { ColumnSpec, DataConfig, SourceConfig } from '../config/schema.js';
import { type CellValue, type Coercer, cellText, coercer, Invalid } from './coerce.js';
import { DataError, type RejectedRow } from './errors.js';
import { sequenceWidth } from './sequence-cell.js';
import type { Malformed, RawBatch, RawSource, RawValue } from './source.js';
import { type Column, makeColumn, NUMERIC_TYPES, type Table, takeRows } from './table.js';

export interface ValidationPolicy {
  extraColumns: DataConfig['extraColumns'];
  /** Columns whose missing value rejects the row with reason "missing target" (the target, labels). */
  requiredNonNull: readonly string[];
  /** Rows read per chunk. */
  chunkRows: number;
  /** Keep accepted rows' raw cells in each chunk, so a later stage can still refuse them with their cells. */
  keepCells?: boolean;
}

export interface ValidatedChunk {
  /** Accepted rows, columns in schema order. */
  readonly table: Table;
  /** Source line (or Parquet row) of each accepted row. */
  readonly lines: Int32Array;
  /** Rejected rows in file order. */
  readonly rejects: RejectedRow[];
  /** Rows read into this chunk: accepted + rejected. */
  readonly rowsRead: number;
  /** Missing values among the accepted rows, per table column (schema order). */
  readonly missing: number[];
  /** Raw cells of the accepted rows, with `keepCells` only. */
  readonly cells: (readonly RawValue[])[] | null;
}

interface OpenChunk {
  /** Per table column: Float64Array for numeric-like types, an array of cells for the others. */
  readonly values: (Float64Array | CellValue[])[];
  readonly lines: Int32Array;
  readonly rejects: RejectedRow[];
  readonly cells: (readonly RawValue[])[] | null;
  accepted: number;
  read: number;
}

interface PlannedColumn {
  readonly name: string;
  readonly fileIndex: number;
  readonly tableIndex: number;
  readonly coerce: Coercer;
  readonly numeric: boolean;
  readonly nullable: boolean;
  readonly required: boolean;
}

/**
 * Checks a source's columns against the schema, then validates its rows into Table chunks; a bad row
 * (including one the reader could not parse) joins its chunk's rejects.
 */
export class RowValidator {
  /** Table column names, in schema order. */
  readonly columns: readonly string[];
  /** The file's columns as spelled in the file (positional names without a header): the rejects header. */
  readonly fileColumns: readonly string[];
  /** The file's columns after `rename`, by position: what a malformed row's problem is located by. */
  private readonly names: readonly string[];
  private readonly specs: readonly ColumnSpec[];
  private readonly numeric: readonly boolean[];
  /** In file order, so a row's reason is its leftmost bad cell. */
  private readonly plan: readonly PlannedColumn[];
  private readonly width: number;
  private readonly chunkRows: number;
  private readonly keepCells: boolean;
  private chunk: OpenChunk | null = null;

  /** Throws a DataError naming the file and columns when the header does not match the schema. */
  constructor(
    source: Pick<RawSource, 'file' | 'unit' | 'header' | 'width'>,
    schema: Readonly<Record<string, ColumnSpec>>,
    config: Pick<SourceConfig, 'missing' | 'rename'>,
    policy: ValidationPolicy,
  ) {
    const { file } = source;
    this.columns = Object.keys(schema);
    this.specs = Object.values(schema);
    this.numeric = this.specs.map((spec) => NUMERIC_TYPES.includes(spec.type));
    this.width = source.width;
    this.chunkRows = policy.chunkRows;
    this.keepCells = policy.keepCells ?? false;
    const unknownRequired = policy.requiredNonNull.filter((name) => !Object.hasOwn(schema, name));
    if (unknownRequired.length > 0) {
      throw new DataError(file, `required ${columnList(unknownRequired)} not in the schema`, {
        columns: unknownRequired,
      });
    }
    const { fileColumns, names } = resolveNames(source, this.columns, config.rename);
    this.fileColumns = fileColumns;
    this.names = names;
    const position = new Map<string, number>();
    names.forEach((name, i) => {
      const previous = position.get(name);
      if (previous !== undefined) {
        throw new DataError(
          file,
          `duplicate column ${JSON.stringify(name)} (columns ${previous + 1} and ${i + 1})`,
          {
            columns: [name],
          },
        );
      }
      position.set(name, i);
    });

    // Both kinds of mismatch in one message: a renamed or misspelt column usually shows up as both.
    const missingColumns = this.columns.filter((name) => !position.has(name));
    const extra = policy.extraColumns === 'error' ? names.filter((name) => !Object.hasOwn(schema, name)) : [];
    const problems: string[] = [];
    if (missingColumns.length > 0) {
      problems.push(
        `${columnList(missingColumns)} declared in the schema ${missingColumns.length > 1 ? 'are' : 'is'} ` +
          `missing from the file (file columns: ${shortList(names)})`,
      );
    }
    if (extra.length > 0) {
      problems.push(
        `${columnList(extra)} in the file ${extra.length > 1 ? 'are' : 'is'} not in the schema; declare ` +
          `${extra.length > 1 ? 'them' : 'it'} or set extraColumns: "ignore"`,
      );
    }
    if (problems.length > 0) {
      if (names.includes('') && !Object.hasOwn(schema, '')) {
        problems.push('name the unnamed column with source.rename, e.g. { "": "row_id" }');
      }
      throw new DataError(file, problems.join('; '), { columns: [...missingColumns, ...extra] });
    }

    const missing = new Set(config.missing);
    const required = new Set(policy.requiredNonNull);
    this.plan = this.columns
      .map((name, tableIndex) => {
        const spec = this.specs[tableIndex];
        return {
          name,
          fileIndex: position.get(name)!,
          tableIndex,
          coerce: coercer(spec, missing),
          numeric: this.numeric[tableIndex],
          nullable: spec.nullable,
          required: required.has(name),
        };
      })
      .sort((a, b) => a.fileIndex - b.fileIndex);
  }

  /**
   * Validates rows in file order, returning the chunks they complete: a chunk closes every `chunkRows`
   * rows read, whether accepted or rejected, so rejects are bounded per chunk too.
   */
  push(batch: RawBatch): ValidatedChunk[] {
    const done: ValidatedChunk[] = [];
    for (let r = 0; r < batch.rows.length; r++) {
      this.chunk ??= this.newChunk();
      this.row(this.chunk, batch.rows[r], batch.lines[r], batch.malformed?.get(r));
      if (++this.chunk.read === this.chunkRows) {
        done.push(this.close(this.chunk));
        this.chunk = null;
      }
    }
    return done;
  }

  /** The last, partial chunk; null if the rows ended on a chunk boundary. */
  flush(): ValidatedChunk | null {
    const chunk = this.chunk;
    this.chunk = null;
    return chunk === null ? null : this.close(chunk);
  }

  private row(chunk: OpenChunk, cells: readonly RawValue[], line: number, malformed?: Malformed): void {
    const rejected = malformed
      ? this.rejectMalformed(line, cells, malformed)
      : this.check(chunk, cells, line);
    if (rejected === null) {
      chunk.cells?.push(cells);
      chunk.lines[chunk.accepted++] = line;
    } else chunk.rejects.push(rejected);
  }

  private rejectMalformed(line: number, cells: readonly RawValue[], malformed: Malformed): RejectedRow {
    const at = malformed.column;
    const known = at !== null && at < this.names.length;
    return {
      line,
      column: known ? this.names[at] : null,
      value: known ? cellText(cells[at]) : null,
      reason: malformed.reason,
      cells: cells.map(cellText),
    };
  }

  /** Writes the row's values at the chunk's next slot (left for the next row if rejected). */
  private check(chunk: OpenChunk, cells: readonly RawValue[], line: number): RejectedRow | null {
    if (cells.length !== this.width) return this.rejectWidth(line, cells);
    const n = chunk.accepted;
    for (const column of this.plan) {
      const raw = cells[column.fileIndex];
      const value = column.coerce(raw);
      if (value instanceof Invalid) return reject(line, column.name, raw, value.reason, cells);
      if (value === null || (typeof value === 'number' && Number.isNaN(value))) {
        if (column.required) return reject(line, column.name, raw, 'missing target', cells);
        if (!column.nullable)
          return reject(line, column.name, raw, 'missing value in a non-nullable column', cells);
      }
      if (column.numeric) (chunk.values[column.tableIndex] as Float64Array)[n] = value as number;
      else (chunk.values[column.tableIndex] as CellValue[])[n] = value;
    }
    return null;
  }

  private newChunk(): OpenChunk {
    const size = this.chunkRows;
    return {
      values: this.specs.map((_, i) =>
        this.numeric[i] ? new Float64Array(size) : new Array<CellValue>(size),
      ),
      lines: new Int32Array(size),
      rejects: [],
      cells: this.keepCells ? [] : null,
      accepted: 0,
      read: 0,
    };
  }

  private close(chunk: OpenChunk): ValidatedChunk {
    const n = chunk.accepted;
    const columns = new Map<string, Column>();
    this.columns.forEach((name, i) => {
      const spec = this.specs[i];
      if (this.numeric[i]) {
        const all = chunk.values[i] as Float64Array;
        // A copy, not a view, so a short chunk does not pin the full-size buffer.
        columns.set(name, makeColumn(spec.type, n === all.length ? all : all.slice(0, n)));
      } else {
        const values = chunk.values[i] as CellValue[];
        values.length = n;
        columns.set(name, makeColumn(spec.type, values, sequenceWidth(spec)));
      }
    });
    const table = { nRows: n, columns };
    return {
      table,
      lines: n === chunk.lines.length ? chunk.lines : chunk.lines.slice(0, n),
      rejects: chunk.rejects,
      rowsRead: chunk.read,
      missing: missingCounts(table),
      cells: chunk.cells,
    };
  }

  /**
   * Moves rows a later stage refused (chunk row index → reason) from the chunk to its rejects, keeping
   * rejects in file order. Needs a chunk validated with `keepCells`.
   */
  refuse(chunk: ValidatedChunk, refused: ReadonlyMap<number, string>): ValidatedChunk {
    if (refused.size === 0) return chunk;
    if (chunk.cells === null) throw new Error('refusing rows needs chunks validated with keepCells');
    const rejects: RejectedRow[] = [];
    for (const [row, reason] of refused) {
      rejects.push({
        line: chunk.lines[row],
        column: null,
        value: null,
        reason,
        cells: chunk.cells[row].map(cellText),
      });
    }
    const keep = Int32Array.from({ length: chunk.table.nRows }, (_, i) => i).filter((i) => !refused.has(i));
    const table = takeRows(chunk.table, keep);
    return {
      table,
      lines: keep.map((i) => chunk.lines[i]),
      rejects: [...chunk.rejects, ...rejects].sort((a, b) => a.line - b.line),
      rowsRead: chunk.rowsRead,
      missing: missingCounts(table),
      cells: Array.from(keep, (i) => chunk.cells![i]),
    };
  }

  /** The rejects file keeps a rectangular shape: short rows are padded, long ones name the extra cells. */
  private rejectWidth(line: number, cells: readonly RawValue[]): RejectedRow {
    const text = cells.map(cellText);
    const extra = text.slice(this.width);
    const reason =
      `expected ${this.width} cells, found ${cells.length}` +
      (extra.length > 0 ? ` (extra: ${extra.map((c) => JSON.stringify(c)).join(', ')})` : '');
    const kept = text.slice(0, this.width);
    while (kept.length < this.width) kept.push('');
    return { line, column: null, value: null, reason, cells: kept };
  }
}

function missingCounts(table: Table): number[] {
  return Array.from(table.columns.values(), (column) => {
    let count = 0;
    for (const value of column.values)
      if (value === null || (typeof value === 'number' && Number.isNaN(value))) count++;
    return count;
  });
}

function reject(
  line: number,
  column: string,
  raw: RawValue,
  reason: string,
  cells: readonly RawValue[],
): RejectedRow {
  return { line, column, value: raw === null ? null : cellText(raw), reason, cells: cells.map(cellText) };
}

/**
 * Column names as the table will see them. With a header: the file's names after `rename`, which must
 * match a file column (a misspelt rename would otherwise leave the column silently unnamed). Without
 * one: the schema's names by position, extra cells named column_<n>.
 */
function resolveNames(
  source: Pick<RawSource, 'file' | 'header' | 'width'>,
  schemaColumns: readonly string[],
  rename: Readonly<Record<string, string>>,
): { fileColumns: string[]; names: string[] } {
  const renamed = Object.keys(rename);
  if (source.header === null) {
    if (renamed.length > 0)
      throw new DataError(source.file, 'source.rename needs a header row (header: true)');
    const names = Array.from({ length: source.width }, (_, i) => schemaColumns[i] ?? `column_${i + 1}`);
    return { fileColumns: names, names };
  }
  const header = [...source.header];
  const unknown = renamed.filter((from) => !header.includes(from));
  if (unknown.length > 0) {
    throw new DataError(
      source.file,
      `source.rename names ${columnList(unknown)} that the file does not have (file columns: ${shortList(header)})`,
      { columns: unknown },
    );
  }
  return {
    fileColumns: header,
    names: header.map((name) => (Object.hasOwn(rename, name) ? rename[name] : name)),
  };
}

function columnList(names: readonly string[]): string {
  return `${names.length > 1 ? 'columns' : 'column'} ${names.map((name) => JSON.stringify(name)).join(', ')}`;
}

function shortList(names: readonly string[]): string {
  const shown = names.slice(0, 30).map((name) => JSON.stringify(name));
  return names.length > 30 ? `${shown.join(', ')}, ... (${names.length} in all)` : shown.join(', ');
}
