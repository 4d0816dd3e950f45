/**
 * A training process killed outright (SIGKILL: no finally, no exit hook) leaves its run `running` in the
 * store. Its heartbeat stops with it, so `kiln runs list` shows the run as abandoned once the last beat
 * is older than 4 intervals, and `kiln runs fail` closes it by hand. The child is the built CLI
 * (`node dist/cli/bin.js`), rebuilt first whenever a source file is newer than the build.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/stores/metadata/index.js';
import { runKiln, smallProject, tempDir, writeProject } from './harness.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.join(REPO, 'dist', 'cli', 'bin.js');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(file) : statSync(file).mtimeMs);
  }
  return newest;
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last seen: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('a run whose process is killed', () => {
  let child: ChildProcess | undefined;
  let childOutput = '';

  beforeAll(async () => {
    const sources = newestSource(path.join(REPO, 'src'));
    if (existsSync(BIN) && statSync(BIN).mtimeMs >= sources) return;
    try {
      // Asynchronously: the test worker must keep answering vitest while tsc runs.
      await promisify(execFile)('npm', ['run', 'build'], { cwd: REPO, encoding: 'utf8' });
    } catch (error) {
      // tsc writes its output even when the type check fails, and type errors are the check step's
      // business (`npm run check`): what this test needs is a dist built from today's sources.
      const { stdout, stderr } = error as { stdout?: string; stderr?: string };
      if (!existsSync(BIN) || statSync(BIN).mtimeMs < sources)
        throw new Error(`npm run build failed:\n${stdout ?? ''}${stderr ?? ''}`);
    }
  }, 300_000);

  afterAll(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  it('shows as abandoned once its heartbeat is stale, and `kiln runs fail` closes it', async () => {
    // A search over many candidates on 20,000 rows: several seconds of training, killed long before its end.
    const { dir } = await writeProject(tempDir('kiln-abandoned-'), {
      rows: 20_000,
      project: smallProject({
        model: {
          family: 'logistic_regression',
          params: { C: 1, classWeight: 'balanced' },
          search: { strategy: 'grid', space: { C: [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30] } },
        },
      }),
    });
    const runs = async () => {
      const result = await runKiln(['runs', 'list', '--project', dir, '--format', 'json']);
      expect(result.code).toBe(0);
      return JSON.parse(result.stdout) as RunRecord[];
    };

    const training = spawn(process.execPath, [BIN, '--json', 'train', dir], {
      cwd: dir,
      env: { ...process.env, KILN_RUN_HEARTBEAT_SECONDS: '0.2' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = training;
    for (const stream of [training.stdout, training.stderr])
      stream.setEncoding('utf8').on('data', (chunk: string) => {
        childOutput += chunk;
      });
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
      training.once('exit', (code, signal) => resolve(signal ?? code)),
    );

    // Recorded as running, and beating (the worker thread has written a heartbeat).
    const [running] = await until(
      runs,
      (list) => list.length === 1 && list[0].status === 'running' && list[0].heartbeatAt !== null,
      `the run to be recorded as running (child output: ${childOutput})`,
    );
    expect(training.exitCode).toBeNull();
    training.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const [abandoned] = await until(
      runs,
      (list) => list[0].status === 'abandoned',
      'the run to read as abandoned',
    );
    expect(abandoned).toMatchObject({ id: running.id, finishedAt: null, error: null });
    const table = await runKiln(['runs', 'list', '--project', dir]);
    expect(table.stdout).toMatch(new RegExp(`^${running.id.slice(0, 8)}\\s+train\\s+abandoned\\s`, 'm'));

    const fail = await runKiln([
      'runs',
      'fail',
      running.id.slice(0, 8),
      '--project',
      dir,
      '--reason',
      'killed with SIGKILL in a test',
    ]);
    expect(fail.stderr).toBe('');
    expect(fail.code).toBe(0);
    expect(fail.stdout).toContain(`run ${running.id} failed (was abandoned): killed with SIGKILL in a test`);
    const [closed] = await runs();
    expect(closed).toMatchObject({
      id: running.id,
      status: 'failed',
      error: 'killed with SIGKILL in a test',
    });
    expect(closed.finishedAt).not.toBeNull();

    const again = await runKiln(['runs', 'fail', running.id, '--project', dir, '--reason', 'twice']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(
      /already finished: failed at .*only a running or abandoned run can be failed/,
    );
    const unknown = await runKiln(['runs', 'fail', 'ffffffff', '--project', dir, '--reason', 'x']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no run "ffffffff"');
  });

  it('documents the abandoned rule in `kiln runs list --help`', async () => {
    const help = await runKiln(['runs', 'list', '--help']);
    expect(help.stdout).toMatch(/abandoned/);
    expect(help.stdout).toMatch(/KILN_RUN_HEARTBEAT_SECONDS[\s\S]*4 heartbeat intervals/);
    expect(help.stdout).toContain('kiln runs fail <id> --reason <text>');
  });
});
