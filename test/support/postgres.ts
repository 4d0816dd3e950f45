/**
 * A throwaway PostgreSQL server for tests: a fresh cluster in a temporary folder, listening on a free
 * port of 127.0.0.1 only (the `postgres` superuser without a password), fsync off. Tests that need one
 * skip when Debian's `postgresql` server binaries are not installed.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  chownSync,
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';

export interface PostgresServer {
  /** Superuser URI, no password (trust auth). */
  uri: string;
  port: number;
  /** Fast shutdown (SIGINT): sessions are ended, then the server exits cleanly. */
  stop(): Promise<void>;
  /** SIGKILL the postmaster, as a crash would; its backends notice and exit on their own. */
  kill(): Promise<void>;
  /** Starts the server again on the same data folder and port. */
  start(): Promise<void>;
  /** Stops the server and removes its folder. */
  destroy(): Promise<void>;
}

function serverBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? path.join(root, versions[0], 'bin') : undefined;
}

const binDir = serverBinDir();
export const postgresAvailable = binDir !== undefined;

/** initdb and postgres refuse to run as root: run them as the `postgres` system user then. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

// Postmasters still running when this process exits (a crashed or interrupted test) are shut down at
// once rather than left behind.
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGQUIT');
});

/**
 * Exit hooks do not run when this process is killed outright: a detached shell checks every 2 s that
 * it still lives and otherwise shuts down whichever postmaster the data folder names.
 */
function watchdog(dataDir: string): void {
  const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 2; done
pid=$(head -n 1 '${dataDir}/postmaster.pid' 2>/dev/null) && [ -n "$pid" ] && kill -QUIT "$pid" 2>/dev/null
exit 0`;
  spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' }).unref();
}

export async function startPostgres(): Promise<PostgresServer | undefined> {
  if (!binDir) return undefined;
  const user = serverUser();
  const root = mkdtempSync(path.join(tmpdir(), 'kiln-pg-'));
  if (user) chownSync(root, user.uid, user.gid);
  const dataDir = path.join(root, 'data');
  const logFile = path.join(root, 'server.log');
  execFileSync(
    path.join(binDir, 'initdb'),
    ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '--encoding=UTF8', '--locale=C'],
    { cwd: root, stdio: 'pipe', ...user },
  );
  // Only the socket folder and 127.0.0.1 may connect. The superuser needs no password there; other
  // roles do, so tests can check password handling.
  writeFileSync(
    path.join(dataDir, 'pg_hba.conf'),
    'local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n',
  );
  watchdog(dataDir);
  const port = await freePort();
  const uri = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const logFrom = existsSync(logFile) ? statSync(logFile).size : 0;
    const log = openSync(logFile, 'a');
    const proc = spawn(
      path.join(binDir, 'postgres'),
      [
        ...['-D', dataDir, '-k', root],
        ...['-c', 'listen_addresses=127.0.0.1', '-c', `port=${port}`],
        // fsync off only skips flushing to disk, which a killed process does not need. Not
        // synchronous_commit=off: a SIGKILL would lose commits already acknowledged to the client.
        ...['-c', 'fsync=off', '-c', 'full_page_writes=off'],
        ...['-c', 'shared_buffers=16MB'],
      ],
      { cwd: root, stdio: ['ignore', log, log], ...user },
    );
    closeSync(log);
    child = proc;
    running.add(proc);
    proc.once('exit', () => running.delete(proc));
    await waitForConnections(uri, proc, () => readFileSync(logFile, 'utf8').slice(logFrom));
  };

  // After a SIGKILL the old backends may take a moment to notice and release the shared memory.
  const start = async (): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await launch();
      } catch (error) {
        child = undefined;
        if (attempt === 20 || !/still in use|already in use|lock file/.test((error as Error).message))
          throw error;
        await sleep(250);
      }
    }
  };

  const waitExit = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const done = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    await done;
  };

  await start();
  return {
    uri,
    port,
    stop: () => waitExit('SIGINT'),
    kill: () => waitExit('SIGKILL'),
    start: async () => {
      if (child) throw new Error('postgres is already running');
      await start();
    },
    destroy: async () => {
      await waitExit('SIGINT');
      rmSync(root, { recursive: true, force: true });
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until the server answers a query; `log` is what this start of the server has logged. */
async function waitForConnections(uri: string, proc: ChildProcess, log: () => string): Promise<void> {
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null)
      throw new Error(
        `postgres exited (${proc.signalCode ?? proc.exitCode}) before accepting connections:\n${log()}`,
      );
    const client = new pg.Client({ connectionString: uri, connectionTimeoutMillis: 2000 });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch {
      await sleep(100);
    } finally {
      await client.end().catch(() => {});
    }
  }
}
