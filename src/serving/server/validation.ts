/**
 * Request validation against a model's input signature, straight into the columnar `Table` the frozen
 * pipeline reads (typed arrays, no CSV round trip). Cell rules are the CSV reader's (`data/coerce`), so a
 * value is valid over HTTP exactly when it is valid in a file; JSON adds strict types on top (a number
 * column takes JSON numbers, not numeric strings). Missing is `null`, or a string the package reads as
 * missing in a file (its `reading.missing`, e.g. `""`), for any field: the same row scores the same over
 * HTTP as in `kiln predict`. A sequence field is the JSON array a file cell holds as text, a blob field
 * the same base64 string; problems inside them are reported down to the element (`/0/readings/3/s2`).
 */
import type { ColumnSpec } from '../../config/schema.js';
import { blobDecoder } from '../../data/blob-cell.js';
import { type CellProblem, describeJson, pointerSegment } from '../../data/cells.js';
import { type CellValue, coercer, Invalid } from '../../data/coerce.js';
import { sequenceDecoder, sequenceWidth } from '../../data/sequence-cell.js';
import { type Column, makeColumn, NUMERIC_TYPES, type Table } from '../../data/table.js';

/** One problem with a request, at its JSON Pointer (RFC 6901) path. */
export interface FieldError {
  path: string;
  reason: string;
}

export type ExtraFields = 'reject' | 'ignore';

/**
 * Problems a validation keeps (the rest are only counted): a response lists no more, and building each
 * one's path and reason is what made a batch of records full of unknown keys expensive to refuse.
 */
export const MAX_KEPT_ERRORS = 100;

export interface ColumnRule {
  readonly name: string;
  readonly spec: ColumnSpec;
  /** Held in a Float64Array (NaN = missing); otherwise an array of cells (null = missing). */
  readonly numeric: boolean;
  readonly nullable: boolean;
  /** Numbers per timestep (sequence columns; 1 otherwise). */
  readonly width: number;
  /** A present JSON value → its cell, or the problems below the field (pointers relative to it). */
  readonly read: (raw: unknown) => CellValue | CellProblem[];
}

/** A signature compiled once per served model: per-column rules and a name lookup. */
export interface Signature {
  readonly columns: readonly ColumnRule[];
  readonly index: ReadonlyMap<string, number>;
  /** Fields a record may carry that are not features: the package's id column. */
  readonly passThrough: ReadonlySet<string>;
}

/**
 * `missing`: the strings read as missing, the package's `reading.missing` (none by default: only null).
 */
export function compileSignature(
  inputs: readonly (ColumnSpec & { name: string })[],
  idColumn?: string,
  missing: readonly string[] = [],
): Signature {
  const missingSet = new Set(missing);
  const columns = inputs.map(
    ({ name, ...spec }): ColumnRule => ({
      name,
      spec,
      numeric: NUMERIC_TYPES.includes(spec.type),
      nullable: spec.nullable,
      width: sequenceWidth(spec),
      read: reader(spec, missingSet),
    }),
  );
  return {
    columns,
    index: new Map(columns.map((c, j) => [c.name, j])),
    passThrough: new Set(idColumn ? [idColumn] : []),
  };
}

/**
 * How one column reads a present JSON value: strict JSON types, then the file's cell rules, missing
 * strings as a file's (a typed cell's with spaces around too, a string cell's only as it is); null when
 * the value reads as missing.
 */
function reader(spec: ColumnSpec, missing: ReadonlySet<string>): ColumnRule['read'] {
  const at = (reason: string): CellProblem[] => [{ pointer: '', place: '', reason }];
  const isMissing = (raw: unknown) =>
    typeof raw === 'string' && (missing.has(raw) || missing.has(raw.trim()));
  if (spec.type === 'sequence') {
    const { decode } = sequenceDecoder(spec);
    return (raw) => (isMissing(raw) ? null : decode(raw));
  }
  if (spec.type === 'blob') {
    const decode = blobDecoder(spec);
    return (raw) => {
      if (isMissing(raw)) return null;
      const value = decode(raw);
      return value instanceof Uint8Array ? value : [value];
    };
  }
  const json =
    spec.type === 'boolean'
      ? 'boolean'
      : spec.type === 'number' || spec.type === 'integer'
        ? 'number'
        : 'string';
  // String-typed fields meet missing strings in the coercer, as a file's cells do.
  const coerce = coercer(spec, missing);
  // `null` is named as an alternative only where the field takes it.
  const expected = `expected a ${json}${spec.nullable ? ' or null' : ''}`;
  return (raw) => {
    if (typeof raw !== json) return isMissing(raw) ? null : at(`${expected}, got ${describeJson(raw)}`);
    const value = coerce(raw as string | number | boolean);
    return value instanceof Invalid ? at(value.reason) : value;
  };
}

/**
 * How a row arrives: a named record, or a positional instance whose positions name signature columns
 * (`columns`); signature columns an instance does not carry take `defaults`, else are missing.
 */
export type RowLayout =
  | { readonly kind: 'records' }
  | {
      readonly kind: 'instances';
      /** Signature index per position. */
      readonly positions: readonly number[];
      readonly names: readonly string[];
      /** Signature index → typed default for columns instances do not carry. */
      readonly fill: ReadonlyMap<number, CellValue>;
      /** Signature indices neither carried nor filled: missing in every row. */
      readonly absent: readonly number[];
    };

export const RECORDS: RowLayout = { kind: 'records' };

/**
 * A positional layout over signature columns. Throws when a name is not in the signature, is repeated,
 * or when a required column is neither carried nor given a default: such a route could never succeed.
 */
export function instanceLayout(
  signature: Signature,
  names: readonly string[],
  defaults: Readonly<Record<string, unknown>> = {},
): RowLayout {
  const positions = names.map((name) => {
    const j = signature.index.get(name);
    if (j === undefined)
      throw new Error(
        `instance column "${name}" is not in the model's signature (${[...signature.index.keys()].join(', ')})`,
      );
    return j;
  });
  if (new Set(positions).size !== positions.length)
    throw new Error(`instance columns repeat a name: ${names.join(', ')}`);
  const fill = new Map<number, CellValue>();
  const absent: number[] = [];
  const problems: string[] = [];
  signature.columns.forEach((rule, j) => {
    if (positions.includes(j)) return;
    if (Object.hasOwn(defaults, rule.name)) {
      const check: FieldError[] = [];
      fill.set(j, cellValue(rule, defaults[rule.name], rule.name, check));
      if (check.length > 0) problems.push(`default for "${rule.name}": ${check[0].reason}`);
    } else if (!rule.nullable) {
      problems.push(`required column "${rule.name}" is neither an instance column nor given a default`);
    } else {
      absent.push(j);
    }
  });
  for (const name of Object.keys(defaults))
    if (!signature.index.has(name)) problems.push(`default for "${name}", which is not in the signature`);
  if (problems.length > 0) throw new Error(problems.join('; '));
  return { kind: 'instances', positions, names, fill, absent };
}

/** One cell: its typed value (NaN / null when missing or invalid), errors appended with `path`. */
function cellValue(rule: ColumnRule, raw: unknown, path: string, errors: FieldError[]): CellValue {
  const missing = rule.numeric ? Number.NaN : null;
  if (raw === undefined || raw === null) {
    if (!rule.nullable)
      errors.push({ path, reason: raw === null ? 'null for a required field' : 'missing required field' });
    return missing;
  }
  const value = rule.read(raw);
  if (Array.isArray(value)) {
    for (const problem of value) errors.push({ path: path + problem.pointer, reason: problem.reason });
    return missing;
  }
  if (value !== null && !(typeof value === 'number' && Number.isNaN(value))) return value;
  // A string the package reads as missing.
  if (!rule.nullable)
    errors.push({
      path,
      reason: `${describeJson(raw)} is a missing value (the package's reading.missing) for a required field`,
    });
  return missing;
}

/**
 * Rows → Table with one column per signature input (signature types, so the pipeline accepts them).
 * `rowPath(i)` is row i's JSON Pointer; every bad field of every row is counted, none stops the scan:
 * the first `MAX_KEPT_ERRORS` or so are kept (a row started under the cap is kept whole), the rest are
 * `omitted`.
 */
export function rowsToTable(
  signature: Signature,
  rows: readonly unknown[],
  layout: RowLayout,
  rowPath: (i: number) => string,
  extraFields: ExtraFields,
): { table: Table; errors: FieldError[]; omitted: number } {
  const n = rows.length;
  const { columns } = signature;
  const p = columns.length;
  const arrays = columns.map((c) => (c.numeric ? new Float64Array(n) : new Array<CellValue>(n)));
  // Numeric rules always yield numbers (NaN when missing), the others cells or null.
  const data = arrays as unknown as CellValue[][];
  const errors: FieldError[] = [];
  // Past the cap, a row's problems go to `spill` and are only counted.
  const spill: FieldError[] = [];
  let omitted = 0;
  // seen[j] === i + 1 when row i set column j: one allocation per request, not per row.
  const seen = new Int32Array(p);
  for (let i = 0; i < n; i++) {
    const row = rows[i];
    const stamp = i + 1;
    omitted += spill.length;
    spill.length = 0;
    const out = errors.length < MAX_KEPT_ERRORS ? errors : spill;
    if (layout.kind === 'records') {
      if (typeof row !== 'object' || row === null || Array.isArray(row)) {
        out.push({
          path: rowPath(i),
          reason: `expected an object with named fields, got ${describeJson(row)}`,
        });
        continue;
      }
      const record = row as Record<string, unknown>;
      for (const key in record) {
        const j = signature.index.get(key);
        if (j === undefined) {
          if (extraFields === 'reject' && !signature.passThrough.has(key)) {
            if (out === spill) omitted++;
            else
              out.push({
                path: `${rowPath(i)}/${pointerSegment(key)}`,
                reason: 'unknown field (not in the model signature)',
              });
          }
          continue;
        }
        seen[j] = stamp;
        data[j][i] = cellValue(columns[j], record[key], `${rowPath(i)}/${pointerSegment(key)}`, out);
      }
      for (let j = 0; j < p; j++)
        if (seen[j] !== stamp)
          data[j][i] = cellValue(
            columns[j],
            undefined,
            `${rowPath(i)}/${pointerSegment(columns[j].name)}`,
            out,
          );
    } else {
      const { positions, names, fill, absent } = layout;
      if (!Array.isArray(row) || row.length !== positions.length) {
        out.push({
          path: rowPath(i),
          reason: `expected an array of ${positions.length} values (${names.join(', ')}), got ${Array.isArray(row) ? `${row.length} values` : describeJson(row)}`,
        });
        continue;
      }
      for (let q = 0; q < positions.length; q++) {
        const j = positions[q];
        data[j][i] = namedCell(columns[j], row[q], `${rowPath(i)}/${q}`, out);
      }
      for (const [j, value] of fill) data[j][i] = value;
      for (const j of absent) data[j][i] = columns[j].numeric ? Number.NaN : null;
    }
  }
  const map = new Map<string, Column>();
  columns.forEach((c, j) => {
    map.set(c.name, makeColumn(c.spec.type, arrays[j], c.width));
  });
  return { table: { nRows: n, columns: map }, errors, omitted: omitted + spill.length };
}

/** A cell at a positional path, whose problems name the column (the path alone does not). */
function namedCell(rule: ColumnRule, raw: unknown, path: string, errors: FieldError[]): CellValue {
  const before = errors.length;
  const value = cellValue(rule, raw, path, errors);
  for (let e = before; e < errors.length; e++) errors[e].reason = `${rule.name}: ${errors[e].reason}`;
  return value;
}

/**
 * One OIP v2 input tensor's data → column values. `data` is flat (row-major) or nested one level
 * ([[v], [v]] for shape [n, 1]); errors use `/inputs/<t>/data/<i>`.
 */
export function tensorToColumn(
  rule: ColumnRule,
  data: readonly unknown[],
  path: string,
  errors: FieldError[],
): Float64Array | CellValue[] {
  const n = data.length;
  const column = rule.numeric ? new Float64Array(n) : new Array<CellValue>(n);
  const out = column as unknown as CellValue[];
  for (let i = 0; i < n; i++) {
    let raw = data[i];
    // [[v], [v]] for shape [n, 1]; a sequence's own array is its timesteps.
    if (Array.isArray(raw) && raw.length === 1 && rule.spec.type !== 'sequence') raw = raw[0];
    out[i] = namedCell(rule, raw, `${path}/${i}`, errors);
  }
  return column;
}
