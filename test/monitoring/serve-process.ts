/**
 * `kiln serve` (the built CLI) as a child process this test owns: unlike built-cli.ts's helper it
 * exposes the process, so a test can kill it with SIGKILL. Plus the few HTTP and SQLite helpers the
 * prediction-log process tests share.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll } from 'vitest';
import { openSqlite } from '../../src/util/sqlite.js';
import { BIN } from '../serving/server/built-cli.js';
import { MODEL } from '../serving/server/fixture.js';

export interface Served {
  base: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  output(): string;
}

const running = new Set<ChildProcess>();
afterAll(() => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts `kiln serve <args> --port 0` in `cwd`; resolves once it prints its address. */
export function serve(args: readonly string[], cwd: string): Promise<Served> {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first`);
  const child = spawn(process.execPath, [BIN, 'serve', '--host', '127.0.0.1', '--port', '0', ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  child.stderr.on('data', (chunk) => {
    out += chunk;
  });
  return new Promise((resolve, reject) => {
    child.stdout.on('data', () => {
      const match = /^serving on (http:\/\/\S+)$/m.exec(out);
      if (match) resolve({ base: match[1], child, exited, output: () => out });
    });
    exited.then((code) => reject(new Error(`kiln serve exited (${code}) before serving:\n${out}`)));
  });
}

/** The `.kiln` folder the server keeps its files in: printed in its banner, else the current folder's. */
export function kilnDir(served: Served, cwd: string): string {
  const project = /^project:\s+(\S+)$/m.exec(served.output())?.[1];
  return path.join(project ?? cwd, '.kiln');
}

/** SIGTERM (drains and flushes) and waits for the exit code. */
export async function stop(served: Served): Promise<number | null> {
  served.child.kill('SIGTERM');
  return served.exited;
}

/** One prediction; its id when the server answered 200, undefined when it did not answer. */
export async function predict(base: string, record: object): Promise<string | undefined> {
  let reply: Response;
  try {
    reply = await fetch(`${base}/v1/models/${MODEL}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(record),
    });
  } catch {
    return undefined;
  }
  if (reply.status !== 200) throw new Error(`predict answered ${reply.status}: ${await reply.text()}`);
  const body = (await reply.json()) as { predictions: { prediction_id: string }[] };
  return body.predictions[0].prediction_id;
}

/** Every prediction id in a SQLite prediction log, with repeats (none expected). */
export function loggedIds(file: string): string[] {
  if (!existsSync(file)) return [];
  const db = openSqlite(file, { readOnly: true, mustExist: true });
  try {
    const rows = db.prepare('SELECT id FROM predictions').all() as { id: string }[];
    return rows.map((r) => r.id);
  } catch (error) {
    if (/no such table/.test((error as Error).message)) return [];
    throw error;
  } finally {
    db.close();
  }
}

/** Complete journal lines under a buffer folder (any layout): what is waiting for a log. */
export function journaledLines(bufferDir: string): number {
  if (!existsSync(bufferDir)) return 0;
  let lines = 0;
  for (const name of readdirSync(bufferDir, { recursive: true, encoding: 'utf8' }))
    if (name.endsWith('.jsonl'))
      lines += readFileSync(path.join(bufferDir, name), 'utf8').split('\n').length - 1;
  return lines;
}
