/**
 * Rejected rows in a training run (issue 11, items 13 and 14): a malformed CSV line is quarantined like
 * any invalid row, the run's result carries the counts and the rejects file, and
 * `data.maxRejectedFraction` fails a run that rejects too much.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { parseProject } from '../../src/config/load.js';
import { RejectedShareError } from '../../src/data/index.js';
import { openBackends } from '../../src/registry/index.js';
import { trainProject } from '../../src/training/train.js';
import { tempDir } from '../serving/server/fixture.js';

const ROWS = 200;
/** Lines of broken rows (line 1 is the header): an unclosed quote, then a cell that is not a number. */
const BROKEN_QUOTE = 51;
const BAD_CELL = 120;

/** Two noisy numeric features and a binary target that depends on them. */
function writeData(dir: string, extraBad: number[] = []): string {
  const lines = ['x1,x2,target'];
  for (let i = 0; i < ROWS; i++) {
    const x1 = ((i * 37) % 101) / 10 - 5;
    const x2 = ((i * 53) % 97) / 10 - 5;
    lines.push(`${x1},${x2},${x1 + 0.5 * x2 + (((i * 13) % 7) - 3) / 3 > 0 ? 1 : 0}`);
  }
  lines[BROKEN_QUOTE - 1] = '"0.5,1.5,1';
  lines[BAD_CELL - 1] = 'abc,1.5,0';
  for (const line of extraBad) lines[line - 1] = 'n/a,1.5,0';
  writeFileSync(path.join(dir, 'data.csv'), `${lines.join('\n')}\n`);
  return path.join(dir, 'data.csv');
}

function project(maxRejectedFraction?: number) {
  return parseProject({
    name: 'rejects-demo',
    data: {
      source: { path: 'data.csv' },
      schema: {
        x1: { type: 'number', nullable: false },
        x2: { type: 'number', nullable: false },
        target: { type: 'integer', nullable: false },
      },
      onInvalid: 'quarantine',
      ...(maxRejectedFraction === undefined ? {} : { maxRejectedFraction }),
    },
    target: { column: 'target' },
    split: { strategy: 'stratified', folds: 3 },
    model: { family: 'logistic_regression' },
    evaluation: { bootstrap: 0 },
    registry: { register: 'never' },
    stores: { metadata: 'sqlite://kiln.db', artifacts: 'file://artifacts' },
  });
}

describe('rejected rows in a training run', () => {
  it('quarantines a malformed line with the other invalid rows; the result carries counts and the rejects file', async () => {
    const dir = tempDir();
    writeData(dir);
    const result = await trainProject({ project: project(), dir, configFile: path.join(dir, 'kiln.yaml') });
    const rejectsPath = path.join(result.runDir, 'rejects.csv');
    expect(result.report.data).toEqual([
      expect.objectContaining({ rowsRead: ROWS, rowsAccepted: ROWS - 2, rowsRejected: 2, rejectsPath }),
    ]);
    expect(result.run.data?.[0]).toMatchObject({ rowsRead: ROWS, rowsAccepted: ROWS - 2, rowsRejected: 2 });
    const rejects: Record<string, string>[] = parse(readFileSync(rejectsPath), { columns: true });
    expect(rejects.map((r) => [r._line, r._column])).toEqual([
      [String(BROKEN_QUOTE), 'x1'],
      [String(BAD_CELL), 'x1'],
    ]);
    expect(rejects[0]._reason).toMatch(/^malformed CSV: a quote opens a value/);
    expect([rejects[0].x1, rejects[0].x2, rejects[0].target].join(',')).toBe('"0.5,1.5,1');
  }, 60_000);

  it('fails the run when the rejected share is above data.maxRejectedFraction, and records why', async () => {
    const dir = tempDir();
    const csv = writeData(dir, [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    const error = await trainProject({
      project: project(0.05),
      dir,
      configFile: path.join(dir, 'kiln.yaml'),
    }).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(RejectedShareError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^${csv}: 12 of ${ROWS} rows were rejected \\(6 %\\), more than data.maxRejectedFraction 0.05 \\(5 %\\) allows; the rejected rows and their reasons are in .*/rejects\\.csv$`,
      ),
    );
    const rejectsPath = (error as RejectedShareError).rejectsPath;
    expect(parse(readFileSync(rejectsPath))).toHaveLength(13);
    const backends = openBackends({
      metadata: 'sqlite://kiln.db',
      artifacts: 'file://artifacts',
      baseDir: dir,
    });
    try {
      const [run] = await backends.store.listRuns({ project: 'rejects-demo' });
      expect(run.status).toBe('failed');
      expect(run.error).toContain('12 of 200 rows were rejected');
    } finally {
      await backends.close();
    }
  }, 60_000);
});
