import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTable } from '../../src/data/load.js';
import { getColumn } from '../../src/data/table.js';

function files(questions: string, labels: string) {
  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-join-'));
  writeFileSync(path.join(dir, 'input.csv'), questions);
  writeFileSync(path.join(dir, 'output.csv'), labels);
  return dir;
}

const data = (onInvalid: 'fail' | 'quarantine' = 'quarantine') => ({
  source: { path: 'input.csv' },
  join: [{ source: { path: 'output.csv' }, on: 'ID' }],
  id: 'ID',
  onInvalid,
  schema: {
    ID: { type: 'integer' as const, nullable: false },
    question: { type: 'text' as const, nullable: false },
    intention: { type: 'category' as const, nullable: false },
  },
});

describe('data.join', () => {
  it('joins labels by key, rejects inputs without a label with a reason, and fingerprints both files', async () => {
    const dir = files(
      'ID,question\n0,"mal de tête, que prendre ?"\n1,dose de doliprane\n2,question sans label\n',
      // Out of order, and one label whose ID has no question.
      'ID,intention\n1,28\n0,31\n9,4\n',
    );
    const { table, report } = await loadTable(data(), {
      baseDir: dir,
      requiredNonNull: ['intention'],
      rejectsPath: 'rejects.csv',
    });
    expect(table.nRows).toBe(2);
    expect(Array.from(getColumn(table, 'intention').values as string[])).toEqual(['31', '28']);
    expect(report).toMatchObject({ rowsRead: 3, rowsAccepted: 2, rowsRejected: 1 });
    expect(readFileSync(path.join(dir, 'rejects.csv'), 'utf8')).toMatch(/question sans label/);
    const [joined] = report.joined;
    expect(joined.path).toBe(path.join(dir, 'output.csv'));
    expect(joined.rowsRead).toBe(3);
    expect(joined.unmatched).toBe(1);
    expect(joined.fingerprint.sha256).toBe(
      createHash('sha256')
        .update(readFileSync(path.join(dir, 'output.csv')))
        .digest('hex'),
    );
  });

  it('refuses a duplicated key in the joined file, naming the file, key and line', async () => {
    const dir = files('ID,question\n0,a\n', 'ID,intention\n0,1\n0,2\n');
    await expect(loadTable(data(), { baseDir: dir })).rejects.toThrow(
      /output\.csv.*ID "0" appears twice \(line 3\)/,
    );
  });

  it('refuses a key missing from either file and a column present in both', async () => {
    const noKey = files('ID,question\n0,a\n', 'id,intention\n0,1\n');
    await expect(loadTable(data(), { baseDir: noKey })).rejects.toThrow(/join key "ID" is not a column/);
    const both = files('ID,question,intention\n0,a,1\n', 'ID,intention\n0,1\n');
    await expect(loadTable(data(), { baseDir: both })).rejects.toThrow(/column "intention" is also in/);
  });
});
