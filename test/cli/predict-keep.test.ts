/**
 * `kiln predict --keep`: input columns carried into the prediction file after the id, locally (with
 * --sort, --where and --labels-only) and through a running `kiln serve` (--server), by the built CLI.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type ServeProcess, startServe } from '../serving/server/built-cli.js';
import { textQuestions, trainTextPackage } from '../serving/server/text-fixture.js';
import { readCsv, tempDir } from './harness.js';

const MODEL = 'intent-keep';
const ROWS = 120;

function csvCell(text: string): string {
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

describe('kiln predict --keep', () => {
  const dir = tempDir();
  let withId: string;
  let withoutId: string;
  let input: string;
  /** The input rows by ID: name and segment as written. */
  const byId = new Map<string, { name: string; segment: string; line: number }>();
  let server: ServeProcess | undefined;

  beforeAll(async () => {
    withId = await trainTextPackage({ name: MODEL, ids: true, dir: tempDir() });
    withoutId = await trainTextPackage({ name: `${MODEL}-lines`, dir: tempDir() });
    const lines = textQuestions(ROWS, 5).map((r, i) => {
      const id = String(5000 + i);
      // Names with a comma and quotes: carried through as text, quoted again on the way out.
      const name = i % 7 === 0 ? `Dupont, "Jean" ${i}` : `prospect ${i}`;
      const segment = i % 3 === 0 ? 'a' : 'b';
      byId.set(id, { name, segment, line: i + 2 });
      return [id, csvCell(name), segment, csvCell(r.question)].join(',');
    });
    input = path.join(dir, 'prospects.csv');
    writeFileSync(input, `ID,name,segment,question\n${lines.join('\n')}\n`);
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });

  const predict = async (name: string, model: string, ...extra: string[]) => {
    const output = path.join(dir, `${name}.csv`);
    const result = await runCli(
      ['predict', '--model', model, '--input', input, '--output', output, ...extra],
      {
        cwd: dir,
      },
    );
    return { ...result, output };
  };

  it('starts with the package’s id column by default, and --keep adds columns as the file has them', async () => {
    const plain = await predict('plain', withId);
    expect(plain.code).toBe(0);
    const classes = readCsv(plain.output).header.slice(2);
    expect(readCsv(plain.output).header.slice(0, 2)).toEqual(['ID', 'label']);

    const kept = await predict('kept', withId, '--keep', 'name,segment', '--keep', 'ID');
    expect(kept.code).toBe(0);
    const { header, rows } = readCsv(kept.output);
    expect(header).toEqual(['ID', 'name', 'segment', 'label', ...classes]);
    expect(rows).toHaveLength(ROWS);
    for (const row of rows) {
      expect({ name: row.name, segment: row.segment }).toEqual({
        name: byId.get(row.ID)!.name,
        segment: byId.get(row.ID)!.segment,
      });
    }
    // The predictions are those of the plain file, row for row.
    const plainRows = readCsv(plain.output).rows;
    expect(rows.map((r) => [r.ID, r.label, r[classes[0]]])).toEqual(
      plainRows.map((r) => [r.ID, r.label, r[classes[0]]]),
    );
  });

  it('keeps the carried columns with their row under --sort and --where', async () => {
    const { code, output } = await predict(
      'sorted',
      withId,
      '--keep',
      'name',
      '--sort',
      'desc',
      '--where',
      'segment=a',
    );
    expect(code).toBe(0);
    const { header, rows } = readCsv(output);
    expect(header.slice(0, 3)).toEqual(['ID', 'name', 'label']);
    const segmentA = [...byId.values()].filter((r) => r.segment === 'a').length;
    expect(rows).toHaveLength(segmentA);
    for (const row of rows) {
      expect(byId.get(row.ID)!.segment).toBe('a');
      expect(row.name).toBe(byId.get(row.ID)!.name);
    }
    const top = rows.map((r) => Math.max(...header.slice(3).map((c) => Number(r[c]))));
    for (let i = 1; i < top.length; i++) expect(top[i]).toBeLessThanOrEqual(top[i - 1]);
  });

  it('--labels-only writes the id, the kept columns and the label', async () => {
    const { code, output } = await predict('labels', withId, '--keep', 'name', '--labels-only');
    expect(code).toBe(0);
    const { header, rows } = readCsv(output);
    expect(header).toEqual(['ID', 'name', 'intent']);
    for (const row of rows) expect(row.name).toBe(byId.get(row.ID)!.name);
  });

  it('without an id column the line number comes first, then the kept columns', async () => {
    const { code, output } = await predict('lines', withoutId, '--keep', 'ID,name');
    expect(code).toBe(0);
    const { header, rows } = readCsv(output);
    expect(header.slice(0, 4)).toEqual(['line', 'ID', 'name', 'label']);
    for (const row of rows) expect(Number(row.line)).toBe(byId.get(row.ID)!.line);
  });

  it('refuses columns the file does not have, naming every one, before writing anything', async () => {
    const { code, stderr, output } = await predict('unknown', withId, '--keep', 'name,email,phone');
    expect(code).toBe(2);
    expect(stderr).toContain('--keep names columns "email", "phone" that');
    expect(stderr).toContain('(its columns: ID, name, segment, question)');
    expect(existsSync(output)).toBe(false);

    const clash = await predict('clash', withId, '--keep', 'label');
    expect(clash.code).toBe(2);
    expect(clash.stderr).toContain('--keep "label": the output already has a column of that name');
  });

  it('--server writes the same file as local mode, kept columns included', async () => {
    // In the temporary folder: a server without --project keeps its .kiln/ in the working directory.
    server = await startServe(['--model', withId], { cwd: dir });
    const local = await predict('local-kept', withId, '--keep', 'name,segment');
    const remote = await runCli(
      [
        'predict',
        '--server',
        server.base,
        '--model',
        MODEL,
        '--input',
        input,
        '--output',
        path.join(dir, 'remote-kept.csv'),
        '--keep',
        'name,segment',
        '--batch-size',
        '25',
      ],
      { cwd: dir },
    );
    expect(remote.code).toBe(0);
    expect(readFileSync(path.join(dir, 'remote-kept.csv'), 'utf8')).toBe(readFileSync(local.output, 'utf8'));

    const labels = await runCli(
      [
        'predict',
        ...['--server', server.base, '--model', MODEL, '--input', input],
        ...['--output', path.join(dir, 'remote-labels.csv'), '--keep', 'name', '--labels-only'],
      ],
      { cwd: dir },
    );
    expect(labels.code).toBe(0);
    expect(readCsv(path.join(dir, 'remote-labels.csv')).header).toEqual(['ID', 'name', 'intent']);

    const unknown = await runCli(
      [
        'predict',
        ...['--server', server.base, '--model', MODEL, '--input', input],
        ...['--output', path.join(dir, 'remote-unknown.csv'), '--keep', 'email'],
      ],
      { cwd: dir },
    );
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--keep names a column "email" that');
  }, 60_000);
});
