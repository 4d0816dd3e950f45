/**
 * Cell coercion: one raw cell to the typed value its ColumnSpec declares, or the reason it cannot be.
 * Numeric-like types give a number (NaN = missing), string-like types a string, sequences a
 * Float64Array (a JSON array in the cell), blobs a Uint8Array (base64 in the cell); null = missing: the
 * representation of `Table`. A coercer is built once per column so the per-cell path does no lookups.
 */
import type { ColumnSpec } from '../config/schema.js';
import { blobDecoder } from './blob-cell.js';
import { problemsText, problemText } from './cells.js';
import { sequenceDecoder } from './sequence-cell.js';
import type { RawValue } from './source.js';

/** Why a cell does not fit its column, e.g. `"abc" is not a number`. */
export class Invalid {
  constructor(readonly reason: string) {}
}

/** A cell's value as a Table column holds it. */
export type CellValue = number | string | Float64Array | Uint8Array | null;

export type Coercer = (raw: RawValue) => CellValue | Invalid;

/** A decimal number as text: sign, digits, optional fraction and exponent; no hex, no thousands separators. */
export const NUMBER_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const TRUE = new Set(['true', 'yes', '1']);
const FALSE = new Set(['false', 'no', '0']);
const ISO_DATETIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/;

/**
 * The coercer of one column. `missing` holds the cell strings read as missing (source.missing); typed
 * columns also treat a missing token surrounded by spaces as missing, text columns take cells verbatim.
 */
export function coercer(spec: ColumnSpec, missing: ReadonlySet<string>): Coercer {
  switch (spec.type) {
    case 'number':
    case 'integer':
      return numberCoercer(spec, missing);
    case 'boolean':
      return booleanCoercer(missing);
    case 'datetime':
      return datetimeCoercer(spec, missing);
    case 'category':
    case 'string':
    case 'text':
      return stringCoercer(spec, missing);
    case 'sequence':
      return sequenceCoercer(spec, missing);
    case 'blob':
      return blobCoercer(spec, missing);
  }
}

/** A JSON array of timesteps in the cell (a Parquet list or list of structs arrives as such JSON). */
function sequenceCoercer(spec: ColumnSpec, missing: ReadonlySet<string>): Coercer {
  const { decode } = sequenceDecoder(spec);
  return (raw) => {
    if (raw === null) return null;
    if (typeof raw !== 'string') return new Invalid(`${show(raw)} is not a JSON array of timesteps`);
    const text = raw.trim();
    if (missing.has(raw) || missing.has(text)) return null;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      return new Invalid(`${show(raw)} is not JSON (${(error as Error).message})`);
    }
    const decoded = decode(value);
    return decoded instanceof Float64Array ? decoded : new Invalid(problemsText(decoded));
  };
}

/** Base64 in the cell (a Parquet BLOB arrives as base64). */
function blobCoercer(spec: ColumnSpec, missing: ReadonlySet<string>): Coercer {
  const decode = blobDecoder(spec);
  return (raw) => {
    if (raw === null) return null;
    if (typeof raw !== 'string') return new Invalid(`${show(raw)} is not base64 text`);
    const text = raw.trim();
    if (missing.has(raw) || missing.has(text)) return null;
    const decoded = decode(text);
    return decoded instanceof Uint8Array ? decoded : new Invalid(problemText(decoded));
  };
}

function numberCoercer(spec: ColumnSpec, missing: ReadonlySet<string>): Coercer {
  const integer = spec.type === 'integer';
  const inRange = rangeCheck(spec);
  return (raw) => {
    let value: number;
    if (typeof raw === 'number') {
      if (Number.isNaN(raw)) return Number.NaN;
      if (!Number.isFinite(raw)) return new Invalid(`${raw} is not a finite number`);
      value = raw;
    } else if (typeof raw === 'string') {
      const text = raw.trim();
      if (missing.has(raw) || missing.has(text)) return Number.NaN;
      if (!NUMBER_TEXT.test(text)) return new Invalid(`${show(raw)} is not a number`);
      value = Number(text);
      if (!Number.isFinite(value)) return new Invalid(`${show(raw)} is out of the range of a number`);
    } else if (raw === null) {
      return Number.NaN;
    } else {
      return new Invalid(`${show(raw)} is not a number`);
    }
    if (integer) {
      if (!Number.isInteger(value)) return new Invalid(`${show(raw)} is not an integer`);
      if (!Number.isSafeInteger(value)) return new Invalid(`${show(raw)} is too large for an exact integer`);
    }
    return inRange(value, raw);
  };
}

function booleanCoercer(missing: ReadonlySet<string>): Coercer {
  return (raw) => {
    if (typeof raw === 'boolean') return raw ? 1 : 0;
    if (raw === null || (typeof raw === 'number' && Number.isNaN(raw))) return Number.NaN;
    if (typeof raw === 'number' && (raw === 0 || raw === 1)) return raw;
    if (typeof raw === 'string') {
      const text = raw.trim();
      if (missing.has(raw) || missing.has(text)) return Number.NaN;
      const lower = text.toLowerCase();
      if (TRUE.has(lower)) return 1;
      if (FALSE.has(lower)) return 0;
    }
    return new Invalid(`${show(raw)} is not a boolean (true/false, yes/no or 1/0)`);
  };
}

function datetimeCoercer(spec: ColumnSpec, missing: ReadonlySet<string>): Coercer {
  const inRange = rangeCheck(spec);
  return (raw) => {
    if (raw === null) return Number.NaN;
    if (raw instanceof Date) return inRange(raw.getTime(), raw);
    if (typeof raw === 'string') {
      const text = raw.trim();
      if (missing.has(raw) || missing.has(text)) return Number.NaN;
      const ms = parseIsoDatetime(text);
      if (ms !== null) return inRange(ms, raw);
    }
    return new Invalid(`${show(raw)} is not an ISO 8601 date or date-time`);
  };
}

function stringCoercer(spec: ColumnSpec, missing: ReadonlySet<string>): Coercer {
  const allowed = spec.type === 'category' && spec.values ? new Set(spec.values) : null;
  const allowedList = spec.values ? listValues(spec.values) : '';
  return (raw) => {
    if (raw === null || (typeof raw === 'number' && Number.isNaN(raw))) return null;
    const text = typeof raw === 'string' ? raw : cellText(raw);
    if (missing.has(text)) return null;
    if (allowed !== null && !allowed.has(text))
      return new Invalid(`${show(text)} is not one of ${allowedList}`);
    return text;
  };
}

function rangeCheck(spec: ColumnSpec): (value: number, raw: RawValue) => number | Invalid {
  const { min, max } = spec;
  if (min === undefined && max === undefined) return (value) => value;
  return (value, raw) => {
    if (min !== undefined && value < min) return new Invalid(`${show(raw)} is below the minimum ${min}`);
    if (max !== undefined && value > max) return new Invalid(`${show(raw)} is above the maximum ${max}`);
    return value;
  };
}

/**
 * ISO 8601 date (`2024-03-01`) or date-time (`2024-03-01T12:30`, seconds, fraction, `Z` or `±hh:mm`
 * optional; a space may replace `T`) to epoch milliseconds. Without an offset the time is read as UTC,
 * so a file means the same instant on every machine. Null if not such a string or not a real date.
 */
export function parseIsoDatetime(text: string): number | null {
  const m = ISO_DATETIME.exec(text);
  if (m === null) return null;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = m[4] === undefined ? 0 : Number(m[4]);
  const minute = m[5] === undefined ? 0 : Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const ms = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  let offsetMinutes = 0;
  const zone = m[8];
  if (zone !== undefined && zone !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const offsetHours = Number(digits.slice(0, 2));
    const offsetMins = digits.length > 2 ? Number(digits.slice(2)) : 0;
    if (offsetHours > 23 || offsetMins > 59) return null;
    offsetMinutes = sign * (offsetHours * 60 + offsetMins);
  }
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not move years 0-99 into the 1900s.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, ms);
  return date.getTime() - offsetMinutes * 60_000;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** A raw cell as text: how it appears in messages and in the rejects file. */
export function cellText(raw: RawValue): string {
  if (raw === null) return '';
  if (raw instanceof Date) return raw.toISOString();
  return String(raw);
}

/** A cell quoted for a message, shortened when long. */
function show(raw: RawValue): string {
  const text = cellText(raw);
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text);
}

function listValues(values: readonly string[]): string {
  const shown = values.slice(0, 12).map((v) => JSON.stringify(v));
  return `the allowed values ${shown.join(', ')}${values.length > 12 ? `, ... (${values.length} in all)` : ''}`;
}
