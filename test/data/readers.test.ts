import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import type { ColumnSpec } from '../../src/config/schema.js';
import {
  DataError,
  fingerprintFile,
  loadTable,
  numericColumn,
  streamTable,
  stringColumn,
} from '../../src/data/index.js';
import { failure, fixture, tempDir } from './helpers.js';

const dir = tempDir();

const peopleSchema: Record<string, ColumnSpec> = {
  name: { type: 'string', nullable: false },
  city: { type: 'category', nullable: true },
  age: { type: 'integer', nullable: true },
};

function load(path: string, schema: Record<string, ColumnSpec>, source: Record<string, unknown> = {}) {
  return loadTable({ source: { path, ...source }, schema }, { baseDir: dir });
}

describe('CSV reader', () => {
  it('loads typed columns, reads missing tokens as missing, and reports the file', async () => {
    const text = 'name,city,age\nAnn,Paris,34\nBob,NA,\nCid,Lyon,NA\n';
    const path = fixture(dir, 'people.csv', text);
    const { table, report } = await load('people.csv', peopleSchema);
    expect(table.nRows).toBe(3);
    expect(stringColumn(table, 'name').values).toEqual(['Ann', 'Bob', 'Cid']);
    expect(stringColumn(table, 'city').values).toEqual(['Paris', null, 'Lyon']);
    expect(Array.from(numericColumn(table, 'age').values)).toEqual([34, Number.NaN, Number.NaN]);
    expect(report).toMatchObject({
      path,
      format: 'csv',
      sizeBytes: Buffer.byteLength(text),
      sha256: createHash('sha256').update(text).digest('hex'),
      rowsRead: 3,
      rowsAccepted: 3,
      rowsRejected: 0,
      rejectsPath: null,
      columns: ['name', 'city', 'age'],
      missing: { name: 0, city: 1, age: 2 },
    });
  });

  it('reads TSV by extension or by an explicit delimiter', async () => {
    fixture(dir, 'people.tsv', 'name\tcity\tage\nAnn\tSaint-Étienne, Loire\t34\n');
    fixture(dir, 'people.txt', 'name;city;age\nAnn;Paris;34\n');
    const tsv = await load('people.tsv', peopleSchema);
    expect(stringColumn(tsv.table, 'city').values).toEqual(['Saint-Étienne, Loire']);
    const semicolon = await load('people.txt', peopleSchema, { delimiter: ';' });
    expect(stringColumn(semicolon.table, 'city').values).toEqual(['Paris']);
  });

  it('strips a UTF-8 byte order mark from the first column name', async () => {
    fixture(dir, 'bom.csv', '\ufeffname,city,age\nAnn,Paris,34\n');
    const { table } = await load('bom.csv', peopleSchema);
    expect(stringColumn(table, 'name').values).toEqual(['Ann']);
  });

  it.each([
    [
      'latin1',
      Buffer.from('name,city,age\nAnaïs,Besançon,34\nJosé,Zürich,40\n', 'latin1'),
      ['Besançon', 'Zürich'],
    ],
    [
      'windows-1252',
      // 0x80 is the euro sign in windows-1252 (and a control character in ISO-8859-1).
      Buffer.concat([
        Buffer.from('name,city,age\nAnaïs,Besançon,34\nJosé,', 'latin1'),
        Buffer.from([0x80]),
        Buffer.from(',40\n'),
      ]),
      ['Besançon', '€'],
    ],
    [
      'utf-16le',
      Buffer.from('\ufeffname,city,age\nAnaïs,Besançon,34\nJosé,Zürich,40\n', 'utf16le'),
      ['Besançon', 'Zürich'],
    ],
  ] as const)('decodes %s files with accented values', async (encoding, bytes, cities) => {
    fixture(dir, `${encoding}.csv`, bytes);
    const { table } = await load(`${encoding}.csv`, peopleSchema, { encoding });
    expect(stringColumn(table, 'name').values).toEqual(['Anaïs', 'José']);
    expect(stringColumn(table, 'city').values).toEqual(cities);
  });

  it('refuses a non-UTF-8 file read as UTF-8, naming the file and line', async () => {
    const path = fixture(
      dir,
      'not-utf8.csv',
      Buffer.from('name,city,age\nAnn,Paris,34\nJosé,Lyon,40\n', 'latin1'),
    );
    const error = await failure(load('not-utf8.csv', peopleSchema));
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toContain(path);
    expect(error.message).toContain('line 3');
    expect(error.message).toContain('set source.encoding');
  });

  it('says "file is empty" for a 0-byte file and "no data rows" for a header-only file', async () => {
    const empty = fixture(dir, 'empty.csv', '');
    const headerOnly = fixture(dir, 'header-only.csv', 'name,city,age\n');
    const e1 = await failure(load('empty.csv', peopleSchema));
    expect(e1).toBeInstanceOf(DataError);
    expect(e1.message).toBe(`${empty}: file is empty (0 bytes)`);
    const e2 = await failure(load('header-only.csv', peopleSchema));
    expect(e2.message).toContain(headerOnly);
    expect(e2.message).toContain('no data rows');
  });

  it('names the resolved path of a missing file', async () => {
    const error = await failure(load('nope/missing.csv', peopleSchema));
    expect(error.message).toContain(`${dir}/nope/missing.csv: file does not exist`);
    expect(error.message).toContain('source.path "nope/missing.csv"');
  });

  it('reports malformed quoting with file, line and column', async () => {
    const path = fixture(dir, 'bad-quote.csv', 'name,city,age\nAnn,Paris,34\nBob,"Lyon"x,40\nCid,Nice,50\n');
    const error = (await failure(load('bad-quote.csv', peopleSchema))) as DataError;
    expect(error).toBeInstanceOf(DataError);
    expect(error.file).toBe(path);
    expect(error.line).toBe(3);
    expect(error.message).toMatch(new RegExp(`^${path}: line 3, column "city": malformed CSV`));
    const unclosed = fixture(dir, 'unclosed.csv', 'name,city,age\nAnn,"Paris,34\n');
    const error2 = await failure(load('unclosed.csv', peopleSchema));
    expect(error2.message).toContain(unclosed);
    expect(error2.message).toContain(
      'line 2, column "city": malformed CSV: a quote opens a value that is never closed',
    );
  });

  it('keeps source line numbers across quoted line breaks and blank lines', async () => {
    fixture(dir, 'lines.csv', 'name,city,age\n"Ann\nMarie",Paris,34\n\nBob,Lyon,x\n');
    const error = (await failure(load('lines.csv', peopleSchema))) as DataError;
    expect(error.message).toContain('lines.csv: line 5, column "age": "x" is not a number');
  });

  it('reads a file without a header row by schema position', async () => {
    fixture(dir, 'no-header.csv', 'Ann,Paris,34\nBob,Lyon,40\n');
    const { table } = await load('no-header.csv', peopleSchema, { header: false });
    expect(Array.from(numericColumn(table, 'age').values)).toEqual([34, 40]);
  });

  it('closes the file when the consumer stops early; the report needs a full read', async () => {
    fixture(dir, 'early.csv', `name,city,age\n${'Ann,Paris,34\n'.repeat(100)}`);
    const stream = streamTable(
      { source: { path: 'early.csv' }, schema: peopleSchema },
      { baseDir: dir, chunkRows: 10 },
    );
    let chunks = 0;
    for await (const chunk of stream) {
      expect(chunk.table.nRows).toBe(10);
      if (++chunks === 2) break;
    }
    expect(() => stream.report()).toThrow('read to the end');
    expect(() => stream[Symbol.asyncIterator]()).toThrow('only once');
  });
});

describe('Parquet reader', () => {
  const schema: Record<string, ColumnSpec> = {
    id: { type: 'integer', nullable: false },
    score: { type: 'number', nullable: true },
    active: { type: 'boolean', nullable: false },
    segment: { type: 'category', nullable: true, values: ['a', 'b'] },
    seen: { type: 'datetime', nullable: false },
    note: { type: 'string', nullable: true },
  };

  async function writeParquet(name: string, select: string): Promise<string> {
    // A quote in the name checks that the reader binds the path instead of splicing it into SQL.
    const path = `${dir}/${name}`;
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    await connection.run(`COPY (${select}) TO '${path.replaceAll("'", "''")}' (FORMAT parquet)`);
    connection.closeSync();
    instance.closeSync();
    return path;
  }

  it('round-trips typed values, nulls and timestamps', async () => {
    const path = await writeParquet(
      "it's.parquet",
      `SELECT i AS id, CASE WHEN i % 4 = 0 THEN NULL ELSE i * 0.5 END AS score, i % 2 = 0 AS active,
         CASE WHEN i % 3 = 0 THEN NULL WHEN i % 3 = 1 THEN 'a' ELSE 'b' END AS segment,
         TIMESTAMP '2024-01-01 00:00:00' + INTERVAL (i) HOUR AS seen, 'n' || i::VARCHAR AS note
       FROM range(5000) t(i)`,
    );
    const { table, report } = await loadTable(
      { source: { path: "it's.parquet" }, schema },
      { baseDir: dir, chunkRows: 1000 },
    );
    expect(table.nRows).toBe(5000);
    expect(report).toMatchObject({
      path,
      format: 'parquet',
      rowsRead: 5000,
      rowsAccepted: 5000,
      rowsRejected: 0,
    });
    expect(report.sha256).toBe(createHash('sha256').update(readFileSync(path)).digest('hex'));
    expect(report.missing).toMatchObject({ score: 1250, segment: 1667, id: 0 });
    const id = numericColumn(table, 'id').values;
    expect(Array.from(id.subarray(0, 5))).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(numericColumn(table, 'score').values.subarray(0, 3))).toEqual([Number.NaN, 0.5, 1]);
    expect(Array.from(numericColumn(table, 'active').values.subarray(0, 3))).toEqual([1, 0, 1]);
    expect(stringColumn(table, 'segment').values.slice(0, 3)).toEqual([null, 'a', 'b']);
    expect(numericColumn(table, 'seen').values[3]).toBe(Date.UTC(2024, 0, 1, 3));
    expect(stringColumn(table, 'note').values[4999]).toBe('n4999');
  });

  it('validates Parquet rows by row number', async () => {
    const path = await writeParquet(
      'bad.parquet',
      `SELECT i AS id, 1.0 AS score, true AS active,
      CASE WHEN i = 7 THEN 'z' ELSE 'a' END AS segment, TIMESTAMP '2024-01-01' AS seen, NULL AS note
      FROM range(10) t(i)`,
    );
    const error = await failure(loadTable({ source: { path }, schema }, { baseDir: dir }));
    expect(error.message).toBe(
      `${path}: row 8, column "segment": "z" is not one of the allowed values "a", "b"`,
    );
  });

  it('refuses an empty Parquet file and a file that is not Parquet', async () => {
    const path = await writeParquet('empty.parquet', 'SELECT 1 AS id WHERE false');
    expect((await failure(loadTable({ source: { path }, schema }, { baseDir: dir }))).message).toBe(
      `${path}: no data rows: the Parquet file has 0 rows`,
    );
    const fake = fixture(dir, 'fake.parquet', 'id\n1\n');
    const error = await failure(loadTable({ source: { path: fake }, schema }, { baseDir: dir }));
    expect(error.message).toContain(`${fake}: is not a readable Parquet file`);
  });
});

describe('fingerprints', () => {
  it('change when one byte changes and match the streamed report', async () => {
    const a = fixture(dir, 'fp-a.csv', 'name,city,age\nAnn,Paris,34\n');
    const b = fixture(dir, 'fp-b.csv', 'name,city,age\nAnn,Paris,35\n');
    const c = fixture(dir, 'fp-c.csv', 'name,city,age\nAnn,Paris,34\n');
    const [fa, fb, fc] = await Promise.all([fingerprintFile(a), fingerprintFile(b), fingerprintFile(c)]);
    expect(fa.sha256).not.toBe(fb.sha256);
    expect(fa).toEqual(fc);
    expect(fa.sizeBytes).toBe(27);
    const { report } = await load('fp-a.csv', peopleSchema);
    expect(report.sha256).toBe(fa.sha256);
  });
});
