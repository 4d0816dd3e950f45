import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { type ColumnSpec, columnSpecSchema, DEFAULT_BLOB_MAX_BYTES } from '../../src/config/schema.js';
import { formatBytes, sniffMediaType } from '../../src/data/blob-cell.js';
import {
  type CellValue,
  coercer,
  concatTables,
  DataValidationError,
  getColumn,
  Invalid,
  loadTable,
  makeTable,
  type SequenceColumn,
  takeRows,
} from '../../src/data/index.js';
import { sampleSequence, sequenceJson } from '../../src/data/sequence-cell.js';
import { failure, fixture, tempDir } from './helpers.js';

const dir = tempDir();
const MISSING = new Set(['', 'NA']);
const PNG_1X1 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

const spec = (raw: Record<string, unknown>): ColumnSpec => columnSpecSchema.parse(raw);
const issues = (raw: Record<string, unknown>) =>
  columnSpecSchema.safeParse(raw).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
const reason = (value: CellValue | Invalid) => (value instanceof Invalid ? value.reason : value);

describe('column schema: sequence and blob options', () => {
  it('takes fields, length, min and max on a sequence, maxBytes and mediaTypes on a blob', () => {
    expect(
      spec({ type: 'sequence', fields: ['s1', 's2'], length: { min: 3, max: 10 }, min: -1, max: 1 }),
    ).toMatchObject({ fields: ['s1', 's2'], length: { min: 3, max: 10 } });
    expect(spec({ type: 'blob', maxBytes: 1024, mediaTypes: ['image/png'] })).toMatchObject({
      maxBytes: 1024,
    });
    expect(DEFAULT_BLOB_MAX_BYTES).toBe(8 * 1024 * 1024);
  });

  it('refuses them on other types, naming who takes them', () => {
    expect(issues({ type: 'number', fields: ['a'] })).toEqual([
      'fields: fields applies to sequence columns, not to a number column',
    ]);
    expect(issues({ type: 'category', length: { min: 1 } })).toEqual([
      'length: length applies to sequence columns, not to a category column',
    ]);
    expect(issues({ type: 'sequence', maxBytes: 10, mediaTypes: ['image/png'] })).toEqual([
      'maxBytes: maxBytes applies to blob columns, not to a sequence column',
      'mediaTypes: mediaTypes applies to blob columns, not to a sequence column',
    ]);
    expect(issues({ type: 'blob', min: 0 })).toEqual([
      'min: min applies to number, integer, datetime and sequence columns, not to a blob column',
    ]);
    expect(issues({ type: 'sequence', values: ['a'] })).toEqual([
      'values: values applies to category columns, not to a sequence column',
    ]);
  });

  it('refuses repeated fields, an inverted length and unknown media types', () => {
    expect(issues({ type: 'sequence', fields: ['a', 'a'] })).toEqual(['fields: fields repeat a name']);
    expect(issues({ type: 'sequence', length: { min: 5, max: 2 } })).toEqual([
      'length: length.min is larger than length.max',
    ]);
    expect(issues({ type: 'blob', mediaTypes: ['image/x-nope'] })?.[0]).toMatch(/^mediaTypes\.0: /);
  });
});

describe('sequence cells', () => {
  const readings = coercer(
    spec({ type: 'sequence', fields: ['s1', 's2'], length: { min: 2 }, max: 50 }),
    MISSING,
  );
  const plain = coercer(spec({ type: 'sequence' }), MISSING);

  it('reads timesteps as arrays in fields order or objects keyed by the fields, timestep-major', () => {
    expect(readings('[[1, 2], [3, 4.5]]')).toEqual(Float64Array.from([1, 2, 3, 4.5]));
    expect(readings(' [{"s2": 2, "s1": 1}, {"s1": 3, "s2": 4.5}] ')).toEqual(
      Float64Array.from([1, 2, 3, 4.5]),
    );
    expect(plain('[0.5, -1, 2e3]')).toEqual(Float64Array.from([0.5, -1, 2000]));
    expect(plain('[]')).toEqual(new Float64Array(0));
    expect(plain('[[1], [2]]')).toEqual(Float64Array.from([1, 2]));
  });

  it('reads missing tokens and nulls as missing', () => {
    expect(readings('')).toBeNull();
    expect(readings('NA')).toBeNull();
    expect(readings(null)).toBeNull();
  });

  it.each([
    ['[[1, 2], [3, "x"]]', 'timestep 1, s2: expected a number, got string "x"'],
    ['[[1, 2]]', '1 timestep, at least 2 needed'],
    ['[[1, 2], [3, 4, 5]]', 'timestep 1: expected 2 values (s1, s2), got 3'],
    ['[[1, 2], {"s1": 3}]', 'timestep 1, s2: missing field'],
    ['[[1, 2], {"s1": 3, "s2": 4, "s3": 5}]', 'timestep 1, s3: unknown field (fields: s1, s2)'],
    ['[[1, 2], 7]', 'timestep 1: expected an array [s1, s2] or an object {s1, s2}, got number 7'],
    ['[[1, 2], [3, 51]]', 'timestep 1, s2: 51 is above the maximum 50'],
    ['[[1, null], [3, 4]]', 'timestep 0, s2: expected a number, got null'],
    ['{"s1": 1}', 'expected a JSON array of timesteps, got an object'],
    ['[["a", "b"], ["c", 4]]', 'timestep 0, s1: expected a number, got string "a" (and 2 more problems)'],
  ])('refuses %s: %s', (cell, why) => {
    expect(reason(readings(cell))).toBe(why);
  });

  it('refuses text that is not JSON, and numbers read from a typed file', () => {
    expect(reason(plain('[1, 2'))).toMatch(/^"\[1, 2" is not JSON \(.+\)$/);
    expect(reason(plain(3))).toBe('"3" is not a JSON array of timesteps');
  });

  it('counts problems past the tenth instead of listing them', () => {
    const cell = JSON.stringify(Array.from({ length: 25 }, () => 'x'));
    expect(reason(plain(cell))).toBe('timestep 0: expected a number, got string "x" (and 24 more problems)');
  });

  it('refuses a sequence longer than length.max before reading it', () => {
    const short = coercer(spec({ type: 'sequence', length: { max: 3 } }), MISSING);
    expect(reason(short('[1, 2, 3, "x"]'))).toBe('4 timesteps, at most 3 allowed');
  });

  it('writes cells back as JSON and makes samples every decoder takes', () => {
    expect(sequenceJson(Float64Array.from([1, 2, 3, Number.NaN]), 2)).toEqual([
      [1, 2],
      [3, null],
    ]);
    expect(sequenceJson(Float64Array.from([1, 2]), 1)).toEqual([1, 2]);
    const bounded = spec({ type: 'sequence', fields: ['a', 'b'], length: { min: 2, max: 4 }, min: 1 });
    expect(sampleSequence(bounded)).toEqual([
      [1, 1],
      [1, 1],
      [1, 1],
      [1, 1],
    ]);
    expect(coercer(bounded, MISSING)(JSON.stringify(sampleSequence(bounded)))).toBeInstanceOf(Float64Array);
    expect(sampleSequence(spec({ type: 'sequence', length: { min: 100 } }))).toHaveLength(100);
  });
});

describe('blob cells', () => {
  const any = coercer(spec({ type: 'blob' }), MISSING);
  const bytes = (...values: number[]) => Uint8Array.from(values);

  it('decodes base64, URL-safe base64, unpadded, wrapped and data URLs', () => {
    expect(any('AAEC/w==')).toEqual(bytes(0, 1, 2, 255));
    expect(any('AAEC_w')).toEqual(bytes(0, 1, 2, 255));
    expect(any('AAEC\n/w==')).toEqual(bytes(0, 1, 2, 255));
    expect(any('data:application/octet-stream;base64,AAEC/w==')).toEqual(bytes(0, 1, 2, 255));
    expect(any('')).toBeNull();
    const decoded = any('AAEC/w==') as Uint8Array;
    // The cell owns its buffer (small decodes come from Node's shared pool).
    expect(decoded.buffer.byteLength).toBe(4);
  });

  it.each([
    ['AA!C', 'not base64 (character 2 is "!")'],
    ['AAECA', 'not base64 (5 characters: the length or the "=" padding is wrong)'],
    ['AAE=C', 'not base64 (character 3 is "=")'],
    ['data:image/png,AAEC', 'not base64: a data URL here must say ";base64,"'],
    ['data:;base64,AA!A', 'not base64 (character 15 is "!")'],
    ['AA==BB', 'not base64 (character 2 is "=")'],
  ])('refuses %s', (cell, why) => {
    expect(reason(any(cell))).toBe(why);
  });

  it('refuses blobs over maxBytes by their decoded size, before decoding', () => {
    const small = coercer(spec({ type: 'blob', maxBytes: 3 }), MISSING);
    expect(reason(small('AAEC'))).toEqual(bytes(0, 1, 2));
    expect(reason(small('AAECAw=='))).toBe('4 bytes, more than maxBytes 3 bytes');
    const nine = Buffer.alloc(9 * 1024 * 1024).toString('base64');
    expect(reason(any(nine))).toBe('9 MiB, more than maxBytes 8 MiB');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(1)).toBe('1 byte');
  });

  it('checks declared media types by the leading bytes', () => {
    const images = coercer(spec({ type: 'blob', mediaTypes: ['image/png', 'image/jpeg'] }), MISSING);
    expect(images(PNG_1X1)).toBeInstanceOf(Uint8Array);
    expect(reason(images(Buffer.from('GIF89a...').toString('base64')))).toBe(
      'image/gif content, not one of image/png, image/jpeg',
    );
    expect(reason(images('AAEC'))).toBe('content of no known media type, not one of image/png, image/jpeg');
    expect(sniffMediaType(Buffer.from('RIFF\0\0\0\0WEBPVP8 '))).toBe('image/webp');
    expect(sniffMediaType(Buffer.from('%PDF-1.7'))).toBe('application/pdf');
  });
});

describe('files with sequence and blob columns', () => {
  const schema: Record<string, ColumnSpec> = {
    id: { type: 'integer', nullable: false },
    readings: { type: 'sequence', nullable: true, fields: ['s1', 's2'], length: { min: 2 } },
    image: { type: 'blob', nullable: true, maxBytes: 8 },
  };
  const csv = [
    'id,readings,image',
    '1,"[[1,2],[3,4]]",AAEC',
    '2,"[{""s1"":5,""s2"":6},{""s1"":7,""s2"":8},{""s1"":9,""s2"":10}]",',
    '3,"[[1,2],[3,""s2""]]",AAEC',
    '4,NA,AAAAAAAAAAAAAA==',
    '5,"[[1,2],[3,4]]",%%%',
  ].join('\n');

  it('reads JSON sequence cells and base64 blob cells, quarantining bad cells with where they are wrong', async () => {
    fixture(dir, 'cells.csv', `${csv}\n`);
    const { table, report } = await loadTable(
      { source: { path: 'cells.csv' }, schema, onInvalid: 'quarantine' },
      { baseDir: dir, rejectsPath: 'cells.rejects.csv' },
    );
    expect(report).toMatchObject({ rowsRead: 5, rowsAccepted: 2, rowsRejected: 3 });
    expect(report.missing).toEqual({ id: 0, readings: 0, image: 1 });
    const readings = getColumn(table, 'readings') as SequenceColumn;
    expect(readings.width).toBe(2);
    expect(readings.values).toEqual([
      Float64Array.from([1, 2, 3, 4]),
      Float64Array.from([5, 6, 7, 8, 9, 10]),
    ]);
    expect(getColumn(table, 'image').values).toEqual([Uint8Array.from([0, 1, 2]), null]);

    const rejects = parse(readFileSync(join(dir, 'cells.rejects.csv'), 'utf8'), { columns: true });
    expect(rejects).toEqual([
      {
        id: '3',
        readings: '[[1,2],[3,"s2"]]',
        image: 'AAEC',
        _line: '4',
        _column: 'readings',
        _reason: 'timestep 1, s2: expected a number, got string "s2"',
      },
      {
        id: '4',
        readings: 'NA',
        image: 'AAAAAAAAAAAAAA==',
        _line: '5',
        _column: 'image',
        _reason: '10 bytes, more than maxBytes 8 bytes',
      },
      {
        id: '5',
        readings: '[[1,2],[3,4]]',
        image: '%%%',
        _line: '6',
        _column: 'image',
        _reason: 'not base64 (character 0 is "%")',
      },
    ]);

    // Splits and chunks keep the width.
    const taken = getColumn(takeRows(table, [1]), 'readings') as SequenceColumn;
    expect(taken.width).toBe(2);
    expect((getColumn(concatTables([table, table]), 'readings') as SequenceColumn).width).toBe(2);
  });

  it('lists every bad cell under onInvalid: fail, naming line, column and place', async () => {
    fixture(dir, 'fail.csv', `${csv}\n`);
    const error = await failure(loadTable({ source: { path: 'fail.csv' }, schema }, { baseDir: dir }));
    expect(error).toBeInstanceOf(DataValidationError);
    expect(error.message).toBe(
      `${join(dir, 'fail.csv')}: 3 of 5 rows are invalid (onInvalid: "fail"; "quarantine" sets them aside in a rejects file):\n` +
        '  line 4, column "readings": timestep 1, s2: expected a number, got string "s2"\n' +
        '  line 5, column "image": 10 bytes, more than maxBytes 8 bytes\n' +
        '  line 6, column "image": not base64 (character 0 is "%")',
    );
  });

  it('refuses to concatenate sequence columns of different widths', () => {
    const a = makeTable([['r', { type: 'sequence', width: 2, values: [new Float64Array(2)] }]]);
    const b = makeTable([['r', { type: 'sequence', width: 3, values: [new Float64Array(3)] }]]);
    expect(() => concatTables([a, b])).toThrow(
      'column "r" has 2 values per timestep in one table, 3 in another',
    );
  });

  it('reads Parquet lists, lists of structs and BLOBs', async () => {
    const path = join(dir, 'cells.parquet');
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    await connection.run(
      `COPY (SELECT i AS id,
         [{'s1': i::DOUBLE, 's2': 0.5}, {'s1': 1.0, 's2': 2.0}] AS readings,
         [1.5, i::DOUBLE] AS level,
         CASE WHEN i = 1 THEN NULL ELSE '\\x00\\x01\\xFF'::BLOB END AS image
       FROM range(3) t(i)) TO '${path}' (FORMAT parquet)`,
    );
    connection.closeSync();
    instance.closeSync();
    const { table } = await loadTable(
      {
        source: { path },
        schema: { ...schema, level: { type: 'sequence', nullable: false } },
      },
      { baseDir: dir },
    );
    expect(getColumn(table, 'readings').values[2]).toEqual(Float64Array.from([2, 0.5, 1, 2]));
    expect(getColumn(table, 'level').values[2]).toEqual(Float64Array.from([1.5, 2]));
    expect(getColumn(table, 'image').values).toEqual([
      Uint8Array.from([0, 1, 255]),
      null,
      Uint8Array.from([0, 1, 255]),
    ]);
  });
});
