/**
 * What `kiln train` prints after its summary: the rows read, accepted and rejected with the rejects
 * file (shown even with --quiet, which hides the progress log), and only locations that exist: the
 * local package and report, and the registry version as a reference, not the artifact-store URI of its
 * copy (a local store keeps objects in a folder of its own, so that URI was no path on disk).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runKiln, SMALL_ROWS, smallProject, tempDir, trainOutput, writeProject } from './harness.js';

const MODEL = 'quickstart-customer-risk';

/** Two rows the schema refuses: a label outside 0..1 and a non-numeric deposit. */
const breakTwoRows = (lines: string[]) =>
  lines.map((line, i) =>
    i === 5 ? line.replace(/,[^,]*$/, ',7') : i === 9 ? line.replace(/^[^,]*,/, 'abc,') : line,
  );

/** The lines after the metrics summary: `run:` to the end. */
const outcome = (stdout: string) => stdout.slice(stdout.search(/^run:/m));

describe('kiln train --quiet: what it wrote and where', () => {
  const dir = tempDir();
  let csv: string;
  let stdout: string;

  beforeAll(async () => {
    ({ csv } = await writeProject(dir, {
      project: smallProject({ registry: { alias: 'champion' } }),
      edit: breakTwoRows,
    }));
    const result = await runKiln(['--quiet', 'train', dir], { json: false });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    stdout = result.stdout;
  });

  it('prints the rows read, accepted and rejected, and the rejects file', () => {
    const { runId } = trainOutput(stdout);
    expect(stdout).toMatch(
      new RegExp(
        `^data: +${SMALL_ROWS} rows read, 1998 accepted, 2 rejected from ${csv.replaceAll('.', '\\.')}$`,
        'm',
      ),
    );
    const rejects = /^rejects: +(.+)$/m.exec(stdout)?.[1];
    expect(rejects).toBe(path.join(dir, '.kiln', 'runs', runId, 'rejects.csv'));
    expect(readFileSync(rejects!, 'utf8').trim().split('\n')).toHaveLength(3); // header + 2 rows
  });

  it('prints only paths that exist', () => {
    const block = outcome(stdout);
    const locations = [...block.matchAll(/(?:file:\/\/)?(\/[^\s,()]+)/g)].map((m) => m[1]);
    expect(locations.length).toBeGreaterThanOrEqual(4); // data, rejects, package, report
    for (const location of locations) expect(existsSync(location), location).toBe(true);
    expect(block).not.toContain('file://');
  });

  it('names the registry version the package became, as a reference that resolves', async () => {
    expect(stdout).toMatch(
      new RegExp(
        `^model: +${MODEL} version 1 \\(@champion\\), registered from the package above \\(kiln models show ${MODEL}@1\\)$`,
        'm',
      ),
    );
    const shown = await runKiln(['models', 'show', `${MODEL}@1`, '--project', dir]);
    expect(shown.code).toBe(0);
  });
});

describe('kiln train: clean data', () => {
  it('says nothing was rejected and prints no rejects file', async () => {
    const dir = tempDir();
    const { csv } = await writeProject(dir);
    const { code, stdout } = await runKiln(['--quiet', 'train', dir], { json: false });
    expect(code).toBe(0);
    expect(outcome(stdout)).toContain(
      `data:     ${SMALL_ROWS} rows read, ${SMALL_ROWS} accepted, 0 rejected from ${csv}\n`,
    );
    expect(stdout).not.toMatch(/^rejects:/m);
  });
});
