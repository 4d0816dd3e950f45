/**
 * Columnar in-memory data. Numeric-like columns live in Float64Array with NaN for missing, so feature
 * steps and models work on typed arrays without boxing; string-like columns keep null for missing.
 * Blob columns (bytes) and sequence columns (timesteps of numbers) hold one typed array per cell, so
 * image and sensor scenarios share the same table.
 */
import { COLUMN_TYPES } from '../config/schema.js';

export type ColumnType = (typeof COLUMN_TYPES)[number];

export const ALL_COLUMN_TYPES: readonly ColumnType[] = COLUMN_TYPES;
export const NUMERIC_TYPES: readonly ColumnType[] = ['number', 'integer', 'boolean', 'datetime'];
export const STRING_TYPES: readonly ColumnType[] = ['category', 'string', 'text'];

export interface NumericColumn {
  readonly type: 'number' | 'integer' | 'boolean' | 'datetime';
  /** NaN marks a missing value. Booleans are 0/1; datetimes are epoch milliseconds. */
  readonly values: Float64Array;
}

export interface StringColumn {
  readonly type: 'category' | 'string' | 'text';
  readonly values: (string | null)[];
}

/** Binary values (image bytes), null for missing; files and requests carry them as base64. */
export interface BlobColumn {
  readonly type: 'blob';
  readonly values: (Uint8Array | null)[];
}

/**
 * Series of timesteps, each `width` numbers (the schema's `fields`, or 1): a cell is a Float64Array of
 * timesteps × width, timestep-major, so timestep t's values are `[t * width, (t + 1) * width)`.
 */
export interface SequenceColumn {
  readonly type: 'sequence';
  readonly width: number;
  readonly values: (Float64Array | null)[];
}

export type Column = NumericColumn | StringColumn | BlobColumn | SequenceColumn;

export interface Table {
  readonly nRows: number;
  /** Insertion order is the column order. */
  readonly columns: ReadonlyMap<string, Column>;
}

export function isNumericColumn(column: Column): column is NumericColumn {
  return (
    column.type === 'number' ||
    column.type === 'integer' ||
    column.type === 'boolean' ||
    column.type === 'datetime'
  );
}

export function isStringColumn(column: Column): column is StringColumn {
  return column.type === 'category' || column.type === 'string' || column.type === 'text';
}

export function isSequenceColumn(column: Column): column is SequenceColumn {
  return column.type === 'sequence';
}

/**
 * A column of `type` over `values`: a Float64Array for numeric-like types, an array of cells otherwise
 * (`width`: values per timestep of a sequence column).
 */
export function makeColumn(type: ColumnType, values: Float64Array | readonly unknown[], width = 1): Column {
  const numeric = NUMERIC_TYPES.includes(type);
  if (numeric !== values instanceof Float64Array)
    throw new Error(`a ${type} column holds ${numeric ? 'a Float64Array' : 'an array of cells'}`);
  return (type === 'sequence' ? { type, width, values } : { type, values }) as Column;
}

export function makeTable(columns: ReadonlyMap<string, Column> | Iterable<[string, Column]>): Table {
  const map = new Map(columns);
  let nRows = -1;
  for (const [name, column] of map) {
    if (nRows === -1) nRows = column.values.length;
    else if (column.values.length !== nRows) {
      throw new Error(`column "${name}" has ${column.values.length} rows, expected ${nRows}`);
    }
  }
  return { nRows: Math.max(nRows, 0), columns: map };
}

export function getColumn(table: Table, name: string): Column {
  const column = table.columns.get(name);
  if (!column) throw new Error(`no column "${name}" (have: ${[...table.columns.keys()].join(', ')})`);
  return column;
}

export function numericColumn(table: Table, name: string): NumericColumn {
  const column = getColumn(table, name);
  if (!isNumericColumn(column))
    throw new Error(`column "${name}" is ${column.type}, expected a numeric column`);
  return column;
}

export function stringColumn(table: Table, name: string): StringColumn {
  const column = getColumn(table, name);
  if (!isStringColumn(column))
    throw new Error(`column "${name}" is ${column.type}, expected a string column`);
  return column;
}

/** Rows by index, in the given order (used by splits and bootstraps). */
export function takeRows(table: Table, indices: ArrayLike<number>): Table {
  const out = new Map<string, Column>();
  for (const [name, column] of table.columns) out.set(name, takeColumn(column, indices));
  return { nRows: indices.length, columns: out };
}

export function takeColumn(column: Column, indices: ArrayLike<number>): Column {
  if (isNumericColumn(column)) {
    const values = new Float64Array(indices.length);
    for (let i = 0; i < indices.length; i++) values[i] = column.values[indices[i]];
    return { type: column.type, values };
  }
  const values = new Array(indices.length);
  for (let i = 0; i < indices.length; i++) values[i] = column.values[indices[i]];
  return makeColumn(column.type, values, isSequenceColumn(column) ? column.width : 1);
}

export function withColumn(table: Table, name: string, column: Column): Table {
  if (column.values.length !== table.nRows) {
    throw new Error(`column "${name}" has ${column.values.length} rows, table has ${table.nRows}`);
  }
  const out = new Map(table.columns);
  out.set(name, column);
  return { nRows: table.nRows, columns: out };
}

export function withoutColumns(table: Table, names: Iterable<string>): Table {
  const out = new Map(table.columns);
  for (const name of names) out.delete(name);
  return { nRows: table.nRows, columns: out };
}

/** Concatenates tables with identical column names and types (streamed chunks). */
export function concatTables(tables: readonly Table[]): Table {
  if (tables.length === 0) return { nRows: 0, columns: new Map() };
  if (tables.length === 1) return tables[0];
  const nRows = tables.reduce((sum, t) => sum + t.nRows, 0);
  const out = new Map<string, Column>();
  for (const [name, first] of tables[0].columns) {
    if (isNumericColumn(first)) {
      const values = new Float64Array(nRows);
      let offset = 0;
      for (const t of tables) {
        const c = getColumn(t, name) as NumericColumn;
        values.set(c.values, offset);
        offset += c.values.length;
      }
      out.set(name, { type: first.type, values });
    } else {
      const values: unknown[] = [];
      for (const t of tables) {
        const column = getColumn(t, name);
        if (isSequenceColumn(first) && isSequenceColumn(column) && column.width !== first.width)
          throw new Error(
            `column "${name}" has ${first.width} values per timestep in one table, ${column.width} in another`,
          );
        for (const v of column.values) values.push(v);
      }
      out.set(name, makeColumn(first.type, values, isSequenceColumn(first) ? first.width : 1));
    }
  }
  return { nRows, columns: out };
}
