import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import type { ColumnSpec } from '../../src/config/schema.js';
import {
  DataError,
  type DataInput,
  DataValidationError,
  type LoadOptions,
  loadTable,
  numericColumn,
  stringColumn,
  type Table,
} from '../../src/data/index.js';
import { failure, fixture, tempDir } from './helpers.js';

const dir = tempDir();

const schema: Record<string, ColumnSpec> = {
  id: { type: 'integer', nullable: false },
  age: { type: 'integer', nullable: true, min: 0, max: 130 },
  income: { type: 'number', nullable: true },
  segment: { type: 'category', nullable: true, values: ['gold', 'silver'] },
  active: { type: 'boolean', nullable: true },
  since: { type: 'datetime', nullable: true },
  target: { type: 'integer', nullable: true },
};
const header = 'id,age,income,segment,active,since,target';

function data(path: string, extra: Partial<DataInput> = {}): DataInput {
  return { source: { path }, schema, ...extra };
}

async function rejectOne(row: string, options: Partial<LoadOptions> = {}): Promise<DataValidationError> {
  const name = `row-${Math.random().toString(36).slice(2)}.csv`;
  fixture(dir, name, `${header}\n1,30,10.5,gold,true,2024-01-01,0\n${row}\n`);
  const error = await failure(loadTable(data(name), { baseDir: dir, ...options }));
  expect(error).toBeInstanceOf(DataValidationError);
  const invalid = error as DataValidationError;
  expect(invalid.file).toBe(join(dir, name));
  expect(invalid.line).toBe(3);
  expect(invalid.message.startsWith(`${join(dir, name)}: line 3`)).toBe(true);
  return invalid;
}

describe('cell validation (policy fail)', () => {
  it.each([
    ['2,abc,1,gold,true,2024-01-01,0', 'age', 'abc', '"abc" is not a number'],
    ['2,30,12abc,gold,true,2024-01-01,0', 'income', '12abc', '"12abc" is not a number'],
    ['2,30.5,1,gold,true,2024-01-01,0', 'age', '30.5', '"30.5" is not an integer'],
    ['2,-1,1,gold,true,2024-01-01,0', 'age', '-1', '"-1" is below the minimum 0'],
    ['2,131,1,gold,true,2024-01-01,0', 'age', '131', '"131" is above the maximum 130'],
    [
      '2,30,1,bronze,true,2024-01-01,0',
      'segment',
      'bronze',
      '"bronze" is not one of the allowed values "gold", "silver"',
    ],
    [
      '2,30,1,gold,maybe,2024-01-01,0',
      'active',
      'maybe',
      '"maybe" is not a boolean (true/false, yes/no or 1/0)',
    ],
    [
      '2,30,1,gold,true,2024-02-30,0',
      'since',
      '2024-02-30',
      '"2024-02-30" is not an ISO 8601 date or date-time',
    ],
    ['NA,30,1,gold,true,2024-01-01,0', 'id', 'NA', 'missing value in a non-nullable column'],
  ])('rejects %s with one reason naming line, column and value', async (row, column, value, reason) => {
    const error = await rejectOne(row);
    expect(error.column).toBe(column);
    expect(error.value).toBe(value);
    expect(error.reason).toBe(reason);
    expect(error.message).toBe(`${error.file}: line 3, column "${column}": ${reason}`);
  });

  it('rejects a missing target named in requiredNonNull', async () => {
    const error = await rejectOne('2,30,1,gold,true,2024-01-01,NA', { requiredNonNull: ['target'] });
    expect(error.column).toBe('target');
    expect(error.reason).toBe('missing target');
  });

  it('names the line of a row with the wrong number of cells', async () => {
    const error = await rejectOne('2,30,1,gold,true,2024-01-01,0,extra');
    expect(error.column).toBeNull();
    expect(error.message).toBe(`${error.file}: line 3: expected 7 cells, found 8 (extra: "extra")`);
    const short = await rejectOne('2,30,1');
    expect(short.reason).toBe('expected 7 cells, found 3');
  });

  it('parses booleans, datetimes and numbers in their accepted spellings', async () => {
    fixture(
      dir,
      'spellings.csv',
      `${header}\n` +
        '1, 42 ,1e3,gold,TRUE,2024-03-01,1\n' +
        '2,+7,-.5,silver,no,2024-03-01T12:30:15.250Z,0\n' +
        '3,,NaN,,Yes,2024-03-01 12:30+02:00,1\n' +
        '4,0,3.,NA,0,,0\n',
    );
    const { table } = await loadTable(data('spellings.csv'), { baseDir: dir });
    expect(Array.from(numericColumn(table, 'age').values)).toEqual([42, 7, Number.NaN, 0]);
    expect(Array.from(numericColumn(table, 'income').values)).toEqual([1000, -0.5, Number.NaN, 3]);
    expect(Array.from(numericColumn(table, 'active').values)).toEqual([1, 0, 1, 0]);
    expect(Array.from(numericColumn(table, 'since').values)).toEqual([
      Date.UTC(2024, 2, 1),
      Date.UTC(2024, 2, 1, 12, 30, 15, 250),
      Date.UTC(2024, 2, 1, 10, 30),
      Number.NaN,
    ]);
    expect(stringColumn(table, 'segment').values).toEqual(['gold', 'silver', null, null]);
  });
});

describe('header checks', () => {
  it('names the schema columns missing from the file', async () => {
    const path = fixture(dir, 'missing-cols.csv', 'id,age,income,segment,active\n1,2,3,gold,true\n');
    const error = (await failure(loadTable(data('missing-cols.csv'), { baseDir: dir }))) as DataError;
    expect(error).toBeInstanceOf(DataError);
    expect(error.columns).toEqual(['since', 'target']);
    expect(error.message).toMatch(
      new RegExp(`^${path}: columns "since", "target" declared in the schema are missing from the file`),
    );
  });

  it('refuses or ignores extra columns, as configured', async () => {
    const path = fixture(dir, 'extra.csv', `${header},notes\n1,30,1,gold,true,2024-01-01,0,hello\n`);
    const error = (await failure(loadTable(data('extra.csv'), { baseDir: dir }))) as DataError;
    expect(error.columns).toEqual(['notes']);
    expect(error.message).toBe(
      `${path}: column "notes" in the file is not in the schema; declare it or set extraColumns: "ignore"`,
    );
    const { table } = await loadTable(data('extra.csv', { extraColumns: 'ignore' }), { baseDir: dir });
    expect([...table.columns.keys()]).toEqual(Object.keys(schema));
  });

  it('renames the empty first header, and refuses a rename of a column the file lacks', async () => {
    fixture(dir, 'unnamed.csv', ',score\n1,0.5\n2,0.7\n');
    const unnamedSchema: Record<string, ColumnSpec> = {
      customer_id: { type: 'integer', nullable: false },
      score: { type: 'number', nullable: true },
    };
    const plain = await failure(
      loadTable({ source: { path: 'unnamed.csv' }, schema: unnamedSchema }, { baseDir: dir }),
    );
    expect(plain.message).toContain('column "" in the file is not in the schema');
    expect(plain.message).toContain('source.rename');
    const { table } = await loadTable(
      { source: { path: 'unnamed.csv', rename: { '': 'customer_id' } }, schema: unnamedSchema },
      { baseDir: dir },
    );
    expect(Array.from(numericColumn(table, 'customer_id').values)).toEqual([1, 2]);
    const typo = await failure(
      loadTable(
        { source: { path: 'unnamed.csv', rename: { id: 'customer_id' } }, schema: unnamedSchema },
        { baseDir: dir },
      ),
    );
    expect(typo.message).toContain('source.rename names column "id" that the file does not have');
  });

  it('refuses duplicate column names', async () => {
    fixture(dir, 'dupes.csv', 'a,a\n1,2\n');
    const error = await failure(
      loadTable({ source: { path: 'dupes.csv' }, schema: { a: { type: 'integer' } } }, { baseDir: dir }),
    );
    expect(error.message).toContain('dupes.csv: duplicate column "a" (columns 1 and 2)');
  });
});

describe('quarantine', () => {
  const good = (id: number) => `${id},30,10.5,gold,true,2024-01-01,0`;
  const rows = [
    good(1),
    '2,abc,1,gold,true,2024-01-01,0', // line 3
    good(3),
    '4,30,1,"bronze, shiny",true,2024-01-01,0', // line 5
    good(5),
    '6,30,1,gold,true,2024-01-01,NA', // line 7: missing target
    '7,30,1,gold,true', // line 8: short row
    good(8),
  ];

  it('writes every bad row once, with its cells and one reason, and accounts for every row', async () => {
    fixture(dir, 'mixed.csv', `${header}\n${rows.join('\n')}\n`);
    const rejectsPath = join(dir, 'out', 'mixed.rejects.csv');
    const progress: number[] = [];
    const { table, report } = await loadTable(data('mixed.csv', { onInvalid: 'quarantine' }), {
      baseDir: dir,
      requiredNonNull: ['target'],
      rejectsPath,
      chunkRows: 3,
      onProgress: (n) => progress.push(n),
    });
    expect(Array.from(numericColumn(table, 'id').values)).toEqual([1, 3, 5, 8]);
    expect(report).toMatchObject({ rowsRead: 8, rowsAccepted: 4, rowsRejected: 4, rejectsPath });
    expect(report.rowsAccepted + report.rowsRejected).toBe(report.rowsRead);
    expect(progress).toEqual([3, 6, 8]);

    const written: string[][] = parse(readFileSync(rejectsPath));
    expect(written[0]).toEqual([...header.split(','), '_line', '_column', '_reason']);
    expect(written.slice(1).map((r) => r.slice(-3))).toEqual([
      ['3', 'age', '"abc" is not a number'],
      ['5', 'segment', '"bronze, shiny" is not one of the allowed values "gold", "silver"'],
      ['7', 'target', 'missing target'],
      ['8', '', 'expected 7 cells, found 5'],
    ]);
    expect(written[2].slice(0, 7)).toEqual(['4', '30', '1', 'bronze, shiny', 'true', '2024-01-01', '0']);
    expect(written[4].slice(0, 7)).toEqual(['7', '30', '1', 'gold', 'true', '', '']);
  });

  it('moves rows a later stage refuses to the rejects, with their original cells', async () => {
    fixture(dir, 'refuse.csv', `${header}\n${rows.join('\n')}\n`);
    const rejectsPath = join(dir, 'out', 'refuse.rejects.csv');
    // Stands in for a feature pipeline: refuses rows with income 10.5, except a chunk's first row.
    const refuse = (table: Table) => {
      const income = numericColumn(table, 'income').values;
      return new Map(
        [...income.keys()].filter((i) => i > 0 && income[i] === 10.5).map((i) => [i, 'unseen level']),
      );
    };
    const { table, report } = await loadTable(data('refuse.csv', { onInvalid: 'quarantine' }), {
      baseDir: dir,
      rejectsPath,
      chunkRows: 4,
      refuse,
    });
    // Chunk 1 (lines 2-5) keeps id 1, refuses id 3; chunk 2 (lines 6-9) keeps id 5 and 6, refuses id 8.
    expect(Array.from(numericColumn(table, 'id').values)).toEqual([1, 5, 6]);
    expect(report).toMatchObject({ rowsRead: 8, rowsAccepted: 3, rowsRejected: 5, missing: { target: 1 } });
    const written: string[][] = parse(readFileSync(rejectsPath));
    expect(written.slice(1).map((r) => [r[0], ...r.slice(-3)])).toEqual([
      ['2', '3', 'age', '"abc" is not a number'],
      ['3', '4', '', 'unseen level'],
      ['4', '5', 'segment', '"bronze, shiny" is not one of the allowed values "gold", "silver"'],
      ['7', '8', '', 'expected 7 cells, found 5'],
      ['8', '9', '', 'unseen level'],
    ]);
    const path = fixture(dir, 'refuse-fail.csv', `${header}\n${good(1)}\n${good(2)}\n${good(3)}\n`);
    const error = (await failure(
      loadTable(data('refuse-fail.csv'), { baseDir: dir, refuse: () => new Map([[1, 'unseen level']]) }),
    )) as DataValidationError;
    expect(error).toBeInstanceOf(DataValidationError);
    expect(error.message).toBe(`${path}: line 3: unseen level`);
  });

  it('the same file under fail fails naming every bad row, the first one as its location', async () => {
    fixture(dir, 'mixed-fail.csv', `${header}\n${rows.join('\n')}\n`);
    const error = (await failure(loadTable(data('mixed-fail.csv'), { baseDir: dir }))) as DataValidationError;
    expect(error.line).toBe(3);
    expect(error.column).toBe('age');
    expect(error.problems.map((p) => p.line)).toEqual([3, 5, 8]);
  });

  it('writes no rejects file when every row is valid', async () => {
    fixture(dir, 'clean.csv', `${header}\n${good(1)}\n`);
    const rejectsPath = join(dir, 'out', 'clean.rejects.csv');
    const { report } = await loadTable(data('clean.csv', { onInvalid: 'quarantine' }), {
      baseDir: dir,
      rejectsPath,
    });
    expect(report.rejectsPath).toBeNull();
    expect(existsSync(rejectsPath)).toBe(false);
  });

  it('defaults the rejects file to .kiln/rejects under the project folder', async () => {
    fixture(dir, 'default-rejects.csv', `${header}\n${rows[1]}\n`);
    const { report } = await loadTable(data('default-rejects.csv', { onInvalid: 'quarantine' }), {
      baseDir: dir,
    });
    expect(report.rowsAccepted).toBe(0);
    expect(report.rejectsPath).toBe(join(dir, '.kiln', 'rejects', 'default-rejects.csv.rejects.csv'));
    expect(existsSync(report.rejectsPath!)).toBe(true);
  });
});
