/**
 * Help asked for a command that does not exist is a usage error (in-process: it is main's parsing);
 * a reader that goes away (`kiln --help | head -1`) ends the command quietly instead of crashing it
 * (the built CLI, `npm run build` first, as a shell runs it).
 */
import { spawn } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadProject } from '../../src/config/load.js';
import { openMetadataStore } from '../../src/stores/metadata/index.js';
import { BIN } from '../serving/server/built-cli.js';
import { runKiln, tempDir, writeProject } from './harness.js';

describe('help for a command that does not exist', () => {
  it.each([
    ['monitor run --help', 'monitor', 'kiln'],
    ['monitor --help', 'monitor', 'kiln'],
    ['-h monitor', 'monitor', 'kiln'],
    ['help monitor', 'monitor', 'kiln'],
    ['runs frob --help', 'frob', 'kiln runs'],
    ['runs help frob', 'frob', 'kiln runs'],
  ])('kiln %s says the command is unknown and exits 2', async (args, name, parent) => {
    const { code, stdout, stderr } = await runKiln(args.split(' '));
    expect(stdout).toBe('');
    expect(stderr).toContain(`error: unknown command '${name}' (the commands of ${parent}: `);
    expect(code).toBe(2);
  });

  it('lists the commands that do exist', async () => {
    const { stderr } = await runKiln(['runs', 'frob', '--help']);
    expect(stderr).toContain('(the commands of kiln runs: list, show, fail)');
  });

  it.each([
    ['--help', /^Usage: kiln \[options\] \[command\]/],
    ['help runs', /^Usage: kiln runs /],
    ['runs show --help', /^Usage: kiln runs show /],
    ['runs list --project . --help', /^Usage: kiln runs list /],
    ['train --help', /^Usage: kiln train /],
  ])('kiln %s still prints that help and exits 0', async (args, usage) => {
    const { code, stdout } = await runKiln(args.split(' '));
    expect(stdout).toMatch(usage);
    expect(code).toBe(0);
  });

  it('an unknown command without --help is reported as before', async () => {
    const { code, stderr } = await runKiln(['monitor', 'run']);
    expect(stderr).toContain("error: unknown command 'monitor'");
    expect(code).toBe(2);
  });
});

interface PipedRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** What the reader got before it went away. */
  firstLine: string;
  stderr: string;
}

/**
 * `kiln <args> | head -1`: the reader takes the first line of stdout and closes its end of the pipe
 * (`immediately`: before reading anything, as a reader that exits at once).
 */
function pipedToFirstLine(args: string[], options: { immediately?: boolean } = {}): Promise<PipedRun> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  if (options.immediately) child.stdout.destroy();
  else
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      if (stdout.includes('\n')) child.stdout.destroy();
    });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  return new Promise((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, firstLine: stdout.split('\n')[0], stderr })),
  );
}

describe('a reader that goes away', () => {
  const dir = tempDir();

  beforeAll(async () => {
    await writeProject(dir);
    // Recorded runs whose listing (2 MB) is far more than the pipe between the processes holds (a few
    // hundred kB), so the CLI is still writing when the reader leaves after the first line.
    const { project, dir: base } = await loadProject(dir);
    const store = openMetadataStore(project.stores.metadata, base);
    try {
      for (let i = 0; i < 20; i++)
        await store.createRun({
          project: project.name,
          kind: 'train',
          seed: i,
          config: { ...project, description: 'x'.repeat(100_000) },
          codeVersion: 'test',
          dependencies: {},
        });
    } finally {
      await store.close();
    }
  });

  it('kiln --help | head -1 exits 0 without an unhandled EPIPE', async () => {
    const result = await pipedToFirstLine(['--help'], { immediately: true });
    expect(result.stderr).not.toMatch(/Unhandled|EPIPE/);
    expect(result.stderr).toBe('');
    expect([result.code, result.signal]).toEqual([0, null]);
  });

  it('a reader that leaves after the first line of a long listing ends it quietly', async () => {
    const result = await pipedToFirstLine([
      'runs',
      'list',
      '--project',
      dir,
      '--limit',
      '60',
      '--format',
      'json',
    ]);
    expect(result.firstLine).toBe('[');
    expect(result.stderr).not.toMatch(/Unhandled|EPIPE/);
    expect(result.stderr).toBe('');
    expect([result.code, result.signal]).toEqual([0, null]);
  });

  it('the command keeps its own exit code (a usage error is still 2) when stderr is gone', async () => {
    const child = spawn(process.execPath, [BIN, 'frobnicate'], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.destroy();
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(2);
  });
});
