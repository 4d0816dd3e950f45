/**
 * The built CLI (`node dist/cli/bin.js`) as a user runs it: one command to its end, or `kiln serve`
 * started in the background and awaited on the address it prints, never on a fixed sleep.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));
export const BIN = path.join(REPO, 'dist', 'cli', 'bin.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function requireBuild(): void {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first`);
}

/** `kiln <args>` in a child process, to its end. */
export function runCli(args: readonly string[], options: { cwd?: string } = {}): Promise<CliResult> {
  requireBuild();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, '--json', ...args],
      { cwd: options.cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

export interface ServeProcess {
  /** `http://127.0.0.1:<port>`. */
  base: string;
  /** What it has printed on stdout so far (the banner first). */
  stdout(): string;
  /** What it has logged on stderr so far. */
  stderr(): string;
  /** SIGTERM, then the exit code once it has drained and exited. */
  stop(): Promise<number | null>;
}

const running = new Set<ChildProcess>();
afterAll(() => {
  for (const child of running) child.kill('SIGKILL');
});

/** `kiln serve <args> --port 0` in the background; resolves once it prints `serving on <address>`. */
export function startServe(args: readonly string[], options: { cwd?: string } = {}): Promise<ServeProcess> {
  requireBuild();
  const child = spawn(process.execPath, [BIN, 'serve', '--host', '127.0.0.1', '--port', '0', ...args], {
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  exited.then(() => running.delete(child));
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const match = /^serving on (http:\/\/\S+)$/m.exec(stdout);
      if (match)
        resolve({
          base: match[1],
          stdout: () => stdout,
          stderr: () => stderr,
          stop: () => {
            child.kill('SIGTERM');
            return exited;
          },
        });
    });
    exited.then((code) =>
      reject(new Error(`kiln serve exited (${code}) before serving:\n${stdout}\n${stderr}`)),
    );
  });
}
