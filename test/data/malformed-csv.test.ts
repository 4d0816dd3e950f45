/**
 * Structurally broken CSV lines (issue 11, item 13): an unclosed or stray quote, a truncated last line.
 * They are rejected like any invalid row, at the line where the broken record starts, and reading goes
 * on from the next line.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import type { ColumnSpec } from '../../src/config/schema.js';
import {
  DataError,
  type DataInput,
  DataValidationError,
  loadTable,
  numericColumn,
  stringColumn,
} from '../../src/data/index.js';
import { failure, fixture, tempDir } from './helpers.js';

const dir = tempDir();

const schema: Record<string, ColumnSpec> = {
  name: { type: 'string', nullable: false },
  city: { type: 'string', nullable: true },
  age: { type: 'integer', nullable: true },
};

/** Lines 2..n: `P<line>,<city>,<line % 90>`, every tenth city quoted with a comma inside. */
function people(n: number, broken: Record<number, string> = {}): string[] {
  const lines = ['name,city,age'];
  for (let line = 2; line <= n; line++)
    lines.push(
      broken[line] ?? `P${line},${line % 10 === 0 ? '"Saint-Étienne, Loire"' : 'Paris'},${line % 90}`,
    );
  return lines;
}

function data(path: string, onInvalid: 'fail' | 'quarantine'): DataInput {
  return { source: { path }, schema, onInvalid };
}

async function quarantine(name: string, text: string) {
  const path = fixture(dir, name, text);
  const rejectsPath = join(dir, `${name}.rejects.csv`);
  const { table, report } = await loadTable(data(name, 'quarantine'), { baseDir: dir, rejectsPath });
  const rejects: Record<string, string>[] = report.rejectsPath
    ? parse(readFileSync(rejectsPath), { columns: true })
    : [];
  return { path, table, report, rejects };
}

describe('a broken quote under onInvalid: quarantine', () => {
  // The case: the quote opened on line 101 is not closed, and line 102 holds a quoted value.
  const midFile = people(200, { 101: 'Bob,"Lyon,40', 102: 'P102,"Nice, Alpes",12' });

  it('rejects the line the broken record starts on, with its text and a reason, and reads every other line', async () => {
    const { table, report, rejects } = await quarantine('mid.csv', `${midFile.join('\n')}\n`);
    expect(report).toMatchObject({ rowsRead: 199, rowsAccepted: 198, rowsRejected: 1 });
    expect(rejects).toHaveLength(1);
    const [row] = rejects;
    expect(row).toMatchObject({ _line: '101', _column: 'city', name: 'Bob', city: '"Lyon', age: '40' });
    expect(row._reason).toBe(
      'malformed CSV: a quote opens a value that is not closed on this line (read on to line 102 without finding its end)',
    );
    // The line's text is whole in the rejects file: its cells joined with the delimiter.
    expect([row.name, row.city, row.age].join(',')).toBe(midFile[100]);
    // Line 102, where the parser noticed the problem, is an ordinary row again.
    const names = stringColumn(table, 'name').values;
    expect(names).toContain('P102');
    expect(stringColumn(table, 'city').values[names.indexOf('P102')]).toBe('Nice, Alpes');
    expect(names).not.toContain('Bob');
  });

  it('a quote never closed before the end of the file rejects its line only', async () => {
    // No other quote in the file: the parser reads to the end inside the value.
    const lines = people(200).map((l) => l.replace('"Saint-Étienne, Loire"', 'Lyon'));
    lines[100] = 'Bob,"Lyon,40';
    const { report, rejects } = await quarantine('never-closed.csv', `${lines.join('\n')}\n`);
    expect(report).toMatchObject({ rowsRead: 199, rowsAccepted: 198, rowsRejected: 1 });
    expect(rejects.map((r) => [r._line, r._column, r._reason])).toEqual([
      ['101', 'city', 'malformed CSV: a quote opens a value that is never closed (the file ends inside it)'],
    ]);
  });

  it('a truncated last line (no closing quote, no line break) is rejected with its line', async () => {
    const text = `${people(50).join('\n')}\nZed,"Par`;
    const { report, rejects } = await quarantine('truncated.csv', text);
    expect(report).toMatchObject({ rowsRead: 50, rowsAccepted: 49, rowsRejected: 1 });
    expect(rejects.map((r) => [r._line, r.name, r.city, r.age])).toEqual([['51', 'Zed', '"Par', '']]);
  });

  it('stray quotes: each broken line rejected at its own line, across CRLF, blank lines and quoted line breaks', async () => {
    const text = [
      'name,city,age',
      'Ann,"Paris\nnord",34', // lines 2-3: a quoted line break is fine
      'Bob,Ly"on,40', // 4: a quote inside an unquoted value
      '',
      'Cid,"Nice"x,50', // 6: text after a closing quote
      'Dan,"Nantes",x', // 7: a cell that is not a number (not a CSV problem)
      'Eve,"Metz,"Toul",60', // 8: a quote closed too early
      'Fay,Brest,70', // 9
    ].join('\r\n');
    const { table, report, rejects } = await quarantine('stray.csv', `${text}\r\n`);
    expect(stringColumn(table, 'name').values).toEqual(['Ann', 'Fay']);
    expect(stringColumn(table, 'city').values).toEqual(['Paris\nnord', 'Brest']);
    expect(report).toMatchObject({ rowsRead: 6, rowsAccepted: 2, rowsRejected: 4 });
    expect(rejects.map((r) => [r._line, r._column])).toEqual([
      ['4', 'city'],
      ['6', 'city'],
      ['7', 'age'],
      ['8', 'city'],
    ]);
    expect(rejects[0]._reason).toContain('a quote inside an unquoted value');
    expect(rejects[1]._reason).toContain('text follows the closing quote');
    expect(rejects[3]).toMatchObject({ name: 'Eve', city: '"Metz', age: '"Toul",60' });
  });

  it('finds every broken line of a large file, wherever it falls in the chunks read', async () => {
    const n = 60_000;
    // Spread over the whole file, including the first data line and the last line.
    const brokenLines = [2, 3, 777, 4_096, 4_097, 12_345, 30_001, 45_000, 59_999, n];
    const broken = Object.fromEntries(brokenLines.map((line) => [line, `B${line},"open,${line % 90}`]));
    const { table, report, rejects } = await quarantine('large.csv', `${people(n, broken).join('\n')}\n`);
    expect(rejects.map((r) => Number(r._line))).toEqual(brokenLines);
    expect(report).toMatchObject({ rowsRead: n - 1, rowsRejected: brokenLines.length });
    // Every accepted row is its own line, intact.
    const names = stringColumn(table, 'name').values;
    const ages = numericColumn(table, 'age').values;
    let checked = 0;
    names.forEach((name, i) => {
      const line = Number(name!.slice(1));
      expect(ages[i]).toBe(line % 90);
      checked++;
    });
    expect(checked).toBe(n - 1 - brokenLines.length);
  });
});

describe('broken lines at the edges of what is read at a time', () => {
  /**
   * Good lines `P<line>,Paris,<line % 90>`, and a broken line (a quote inside an unquoted value, found
   * at once, before the line's end has been read) placed so that the byte at each offset in `cuts`
   * falls inside it, or, with `onEnd`, so that the offset is the last byte of its line end.
   */
  function straddling(cuts: number[], eol: string, onEnd = false): { text: string; broken: number[] } {
    const lines = ['name,city,age'];
    const broken: number[] = [];
    let size = lines[0].length + eol.length;
    for (const cut of cuts) {
      const brokenLine = (line: number, length: number) => `B${line},ab"c${'x'.repeat(length)},5`;
      // Good lines up to about 300 bytes before the cut.
      while (size + 40 < cut - 300) {
        const line = lines.length + 1;
        lines.push(`P${line},Paris,${line % 90}`);
        size += lines.at(-1)!.length + eol.length;
      }
      const line = lines.length + 1;
      const base = brokenLine(line, 0).length;
      // Either the cut falls in the middle of the line, or on the last byte of its line end.
      const text = brokenLine(line, onEnd ? cut - size - base - eol.length + 1 : cut - size + 200);
      lines.push(text);
      broken.push(line);
      size += text.length + eol.length;
    }
    for (let i = 0; i < 50; i++) lines.push(`P${lines.length + 1},Paris,${(lines.length + 1) % 90}`);
    return { text: `${lines.join(eol)}${eol}`, broken };
  }

  it.each([
    ['LF, cut inside the line', '\n', false],
    ['CRLF, cut inside the line', '\r\n', false],
    ['CRLF, cut between CR and LF', '\r\n', true],
  ] as const)('%s', async (name, eol, onEnd) => {
    // 64 KiB: a slice fed to the parser; 1 MiB: a read from the file.
    const cuts = [65_536, 3 * 65_536, 1 << 20, (1 << 20) + 65_536];
    const { text, broken } = straddling(cuts, eol, onEnd);
    if (onEnd) for (const cut of cuts) expect(text.slice(cut - 1, cut + 1)).toBe('\r\n');
    const { table, report, rejects } = await quarantine(`edges-${name.replaceAll(' ', '-')}.csv`, text);
    expect(rejects.map((r) => Number(r._line))).toEqual(broken);
    for (const row of rejects) expect([row.name, row.city, row.age].join(',')).toMatch(/^B\d+,ab"cx*,5$/);
    const total = text.split(eol).length - 2;
    expect(report).toMatchObject({ rowsRead: total, rowsRejected: broken.length });
    const names = stringColumn(table, 'name').values;
    const ages = numericColumn(table, 'age').values;
    names.forEach((name, i) => {
      expect(ages[i]).toBe(Number(name!.slice(1)) % 90);
    });
  });

  it('a file where every line is broken: each rejected at its line', async () => {
    const n = 5_000;
    const lines = ['name,city,age'];
    for (let line = 2; line <= n; line++) lines.push(`B${line},5'10",${line % 90}`);
    const { report, rejects } = await quarantine('all-broken.csv', `${lines.join('\n')}\n`);
    expect(report).toMatchObject({ rowsRead: n - 1, rowsAccepted: 0, rowsRejected: n - 1 });
    expect(rejects.every((r, i) => r._line === String(i + 2) && r.name === `B${i + 2}`)).toBe(true);
  });
});

describe('a broken quote under onInvalid: fail', () => {
  it('names the line the broken record starts on (101, not 102) and its column', async () => {
    const lines = people(200, { 101: 'Bob,"Lyon,40', 102: 'P102,"Nice, Alpes",12' });
    const path = fixture(dir, 'mid-fail.csv', `${lines.join('\n')}\n`);
    const error = (await failure(
      loadTable(data('mid-fail.csv', 'fail'), { baseDir: dir }),
    )) as DataValidationError;
    expect(error).toBeInstanceOf(DataValidationError);
    expect(error.line).toBe(101);
    expect(error.column).toBe('city');
    expect(error.message).toMatch(
      new RegExp(`^${path}: line 101, column "city": malformed CSV: a quote opens`),
    );
  });

  it('lists broken lines with the other invalid rows', async () => {
    const lines = people(30, { 5: 'Bob,"Lyon,40', 9: 'Cid,Nice,old', 20: 'Dan,"Metz"x,3' });
    fixture(dir, 'several-fail.csv', `${lines.join('\n')}\n`);
    const error = (await failure(
      loadTable(data('several-fail.csv', 'fail'), { baseDir: dir }),
    )) as DataValidationError;
    expect(error.problems.map((p) => [p.line, p.column])).toEqual([
      [5, 'city'],
      [9, 'age'],
      [20, 'city'],
    ]);
    expect(error.message).toContain('3 of 29 rows are invalid');
  });

  it('a broken header stops the read, naming line 1', async () => {
    const path = fixture(dir, 'bad-header.csv', 'name,"city,age\nAnn,Paris,34\n');
    const error = (await failure(
      loadTable(data('bad-header.csv', 'quarantine'), { baseDir: dir }),
    )) as DataError;
    expect(error).toBeInstanceOf(DataError);
    expect(error.line).toBe(1);
    expect(error.message).toMatch(new RegExp(`^${path}: line 1: malformed CSV`));
  });
});
