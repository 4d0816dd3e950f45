/**
 * A throwaway Ceph S3 gateway for tests: `scripts/ceph-gateway.sh` builds a one-node cluster (one
 * monitor, one memstore OSD, radosgw with the beast frontend) in a fresh temporary folder, bound to
 * 127.0.0.1 only, and creates an S3 user. Tests that need it skip when Debian's `ceph-mon`, `ceph-osd`
 * and `radosgw` packages are not installed.
 */
import { execFile, execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface CephGateway {
  /** `http://127.0.0.1:PORT`; use path-style addressing (`forcePathStyle: true`). */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** Kills the cluster's daemons and removes its folder; safe to call twice. */
  stop(): Promise<void>;
}

const SCRIPT = fileURLToPath(new URL('../../scripts/ceph-gateway.sh', import.meta.url));
const BINARIES = ['ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin'];
const SEARCH_PATH = [
  ...(process.env.PATH ?? '').split(path.delimiter),
  '/usr/bin',
  '/usr/sbin',
  '/bin',
  '/sbin',
]
  .filter((dir, i, all) => dir !== '' && all.indexOf(dir) === i)
  .join(path.delimiter);

function onPath(binary: string): boolean {
  return SEARCH_PATH.split(path.delimiter).some((dir) => {
    try {
      accessSync(path.join(dir, binary), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** True when the Ceph daemons and tools the gateway needs are installed. */
export const cephAvailable: boolean = BINARIES.every(onPath);

const START_TIMEOUT_MS = 110_000;

// Clusters still running when this process exits (a failed or interrupted run) are killed at once. A
// process killed outright runs no exit hook: the script's watchdog covers that (see run()).
const running = new Set<string>();
process.once('exit', () => {
  for (const dir of running) {
    try {
      execFileSync('bash', [SCRIPT, 'stop', dir], { stdio: 'ignore', timeout: 10_000 });
    } catch {
      // Nothing more can be done while exiting.
    }
    rmSync(dir, { recursive: true, force: true });
  }
});

function run(
  args: string[],
  timeout: number,
): Promise<{ error: Error | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      [SCRIPT, ...args],
      {
        timeout,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
        // If this process dies without running its exit hooks, the script's watchdog kills the
        // cluster and removes its folder.
        env: {
          ...process.env,
          PATH: SEARCH_PATH,
          CEPH_GATEWAY_OWNER_PID: String(process.pid),
          CEPH_GATEWAY_REMOVE_ORPHAN: '1',
        },
      },
      (error, stdout, stderr) => resolve({ error, stdout, stderr }),
    );
  });
}

/** The last lines of every log file in the cluster's folder, for error messages. */
function logTails(dir: string, lines = 25): string {
  const logDir = path.join(dir, 'log');
  if (!existsSync(logDir)) return '(no logs)';
  return readdirSync(logDir)
    .sort()
    .map((name) => {
      const text = readFileSync(path.join(logDir, name), 'utf8').trimEnd();
      if (!text) return '';
      return `----- ${name} (last ${lines} lines) -----\n${text.split('\n').slice(-lines).join('\n')}`;
    })
    .filter(Boolean)
    .join('\n');
}

async function stopCluster(dir: string): Promise<void> {
  if (!running.has(dir)) return;
  const { error, stderr } = await run(['stop', dir], 20_000);
  running.delete(dir);
  rmSync(dir, { recursive: true, force: true });
  if (error) throw new Error(`ceph-gateway.sh stop failed: ${error.message}\n${stderr}`);
}

/**
 * Starts a fresh gateway (about 1–2 s), or returns undefined when Ceph is not installed. Throws with the
 * tails of the cluster's logs when it does not come up.
 */
export async function startCephGateway(): Promise<CephGateway | undefined> {
  if (!cephAvailable) return undefined;
  const dir = mkdtempSync(path.join(tmpdir(), 'kiln-ceph-'));
  running.add(dir);
  const { error, stdout, stderr } = await run(['start', dir], START_TIMEOUT_MS);
  const line = stdout.trim().split('\n').pop() ?? '';
  let parsed: Partial<Record<'endpoint' | 'accessKeyId' | 'secretAccessKey' | 'region', unknown>> = {};
  let problem = error ? error.message : '';
  if (!problem) {
    try {
      parsed = JSON.parse(line);
    } catch {
      problem = `unexpected output: ${JSON.stringify(line)}`;
    }
  }
  const { endpoint, accessKeyId, secretAccessKey, region } = parsed;
  if (
    !problem &&
    (typeof endpoint !== 'string' ||
      typeof accessKeyId !== 'string' ||
      typeof secretAccessKey !== 'string' ||
      typeof region !== 'string')
  ) {
    problem = `incomplete output: ${JSON.stringify(line)}`;
  }
  if (problem) {
    // The script prints the logs' tails itself when it fails; not when it was killed for taking too long.
    const logs = stderr.includes('----- tail of') ? '' : `\n${logTails(dir)}`; // before stop removes them
    await stopCluster(dir).catch(() => {});
    throw new Error(`Ceph gateway did not start: ${problem}\n${stderr.trim()}${logs}`);
  }
  return {
    endpoint: endpoint as string,
    accessKeyId: accessKeyId as string,
    secretAccessKey: secretAccessKey as string,
    region: region as string,
    stop: () => stopCluster(dir),
  };
}
