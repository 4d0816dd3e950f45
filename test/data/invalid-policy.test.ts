/**
 * What invalid rows do to a load (issue 11, item 14): under `fail` every problem is reported in one
 * error (the first 100, then a count); under `quarantine`, `maxRejectedFraction` fails a load that
 * rejects too large a share.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import type { ColumnSpec } from '../../src/config/schema.js';
import { dataSchema } from '../../src/config/schema.js';
import {
  type DataInput,
  DataValidationError,
  loadTable,
  MAX_LISTED_PROBLEMS,
  RejectedShareError,
  streamTable,
} from '../../src/data/index.js';
import { failure, fixture, tempDir } from './helpers.js';

const dir = tempDir();

const schema: Record<string, ColumnSpec> = {
  id: { type: 'integer', nullable: false },
  age: { type: 'integer', nullable: true },
};

/** `n` data rows (lines 2..n+1); the rows at `bad` lines have age "x". */
function rows(name: string, n: number, bad: readonly number[]): string {
  const lines = ['id,age'];
  for (let line = 2; line <= n + 1; line++) lines.push(`${line},${bad.includes(line) ? 'x' : line % 90}`);
  return fixture(dir, name, `${lines.join('\n')}\n`);
}

function data(path: string, extra: Partial<DataInput> = {}): DataInput {
  return { source: { path }, schema, ...extra };
}

describe('onInvalid: fail reports every invalid row at once', () => {
  it('8 bad rows: one error names all 8, in file order', async () => {
    const bad = [3, 10, 11, 40, 41, 42, 77, 101];
    const path = rows('eight.csv', 100, bad);
    const error = (await failure(loadTable(data('eight.csv'), { baseDir: dir }))) as DataValidationError;
    expect(error).toBeInstanceOf(DataValidationError);
    expect(error.count).toBe(8);
    expect(error.problems.map((p) => p.line)).toEqual(bad);
    // The first problem stays the error's own location.
    expect([error.line, error.column, error.value]).toEqual([3, 'age', 'x']);
    expect(error.message).toBe(
      `${path}: 8 of 100 rows are invalid (onInvalid: "fail"; "quarantine" sets them aside in a rejects file):\n${bad
        .map((line) => `  line ${line}, column "age": "x" is not a number`)
        .join('\n')}`,
    );
  });

  it(`lists the first ${MAX_LISTED_PROBLEMS} and counts the rest`, async () => {
    const bad = Array.from({ length: 250 }, (_, i) => 2 + 2 * i);
    rows('many.csv', 600, bad);
    const error = (await failure(loadTable(data('many.csv'), { baseDir: dir }))) as DataValidationError;
    expect(error.count).toBe(250);
    expect(error.problems).toHaveLength(MAX_LISTED_PROBLEMS);
    expect(error.problems.at(-1)?.line).toBe(bad[MAX_LISTED_PROBLEMS - 1]);
    const lines = error.message.split('\n');
    expect(lines[0]).toContain('250 of 600 rows are invalid');
    expect(lines).toHaveLength(1 + MAX_LISTED_PROBLEMS + 1);
    expect(lines.at(-1)).toBe('  ... and 150 more');
  });

  it('a stream hands over no chunk after the first bad row, but reads to the end', async () => {
    rows('stream.csv', 100, [35, 90]);
    const seen: number[] = [];
    let lastProgress = 0;
    const stream = streamTable(data('stream.csv'), {
      baseDir: dir,
      chunkRows: 10,
      onProgress: (n) => {
        lastProgress = n;
      },
    });
    const error = (await failure(
      (async () => {
        for await (const chunk of stream) seen.push(chunk.table.nRows);
      })(),
    )) as DataValidationError;
    // Lines 2-31 (three chunks) precede line 35's chunk.
    expect(seen).toEqual([10, 10, 10]);
    expect(error.problems.map((p) => p.line)).toEqual([35, 90]);
    expect(lastProgress).toBe(100);
  });

  it("a later stage's refusals are listed with the rest", async () => {
    rows('refused.csv', 20, [5]);
    const error = (await failure(
      loadTable(data('refused.csv'), {
        baseDir: dir,
        chunkRows: 8,
        // The 7th accepted row of each full chunk: line 9 (line 5 was rejected), then line 16.
        refuse: (table) => new Map(table.nRows > 6 ? [[6, 'unseen level']] : []),
      }),
    )) as DataValidationError;
    expect(error.problems.map((p) => [p.line, p.reason])).toEqual([
      [5, '"x" is not a number'],
      [9, 'unseen level'],
      [16, 'unseen level'],
    ]);
  });
});

describe('data.maxRejectedFraction', () => {
  const quarantine = (name: string, max?: number): DataInput =>
    data(name, { onInvalid: 'quarantine', ...(max === undefined ? {} : { maxRejectedFraction: max }) });

  it('fails a quarantining load that rejects a larger share, naming the counts and the rejects file', async () => {
    const path = rows('share.csv', 40, [2, 3, 4, 5, 6, 7]);
    const rejectsPath = join(dir, 'share.rejects.csv');
    const error = (await failure(
      loadTable(quarantine('share.csv', 0.1), { baseDir: dir, rejectsPath }),
    )) as RejectedShareError;
    expect(error).toBeInstanceOf(RejectedShareError);
    expect(error.message).toBe(
      `${path}: 6 of 40 rows were rejected (15 %), more than data.maxRejectedFraction 0.1 (10 %) allows; ` +
        `the rejected rows and their reasons are in ${rejectsPath}`,
    );
    expect(error).toMatchObject({ rowsRead: 40, rowsRejected: 6, maxRejectedFraction: 0.1, rejectsPath });
    // The rejects file is complete, for the user to look at.
    expect(parse(readFileSync(rejectsPath))).toHaveLength(7);
  });

  it('passes at or under the share, and without a limit', async () => {
    rows('under.csv', 40, [2, 3, 4, 5]);
    for (const max of [0.1, 0.5, undefined]) {
      const { report } = await loadTable(quarantine('under.csv', max), {
        baseDir: dir,
        rejectsPath: join(dir, 'under.rejects.csv'),
      });
      expect(report).toMatchObject({ rowsRead: 40, rowsAccepted: 36, rowsRejected: 4 });
      expect(report.rejectsPath).toBe(join(dir, 'under.rejects.csv'));
    }
    rows('clean.csv', 10, []);
    const clean = await loadTable(quarantine('clean.csv', 0), {
      baseDir: dir,
      rejectsPath: join(dir, 'clean.rejects.csv'),
    });
    expect(clean.report.rowsRejected).toBe(0);
    expect(existsSync(join(dir, 'clean.rejects.csv'))).toBe(false);
  });

  it('is a share between 0 and 1 in the config schema', () => {
    const base = { source: { path: 'a.csv' }, schema };
    expect(dataSchema.parse({ ...base, maxRejectedFraction: 0.05 }).maxRejectedFraction).toBe(0.05);
    expect(dataSchema.parse(base).maxRejectedFraction).toBeUndefined();
    for (const bad of [-0.1, 1.5, '5%'])
      expect(dataSchema.safeParse({ ...base, maxRejectedFraction: bad }).success).toBe(false);
  });
});
