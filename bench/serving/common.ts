/**
 * Shared by bench/serving/run.ts and bench/soak/run.ts: the customer-risk records, training the Kiln
 * package and the scikit-learn peer, starting one server process on a free loopback port, waiting for
 * /readyz, reading its RSS and CPU time from /proc, stopping it, and killing every child on exit.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const repoDir = path.resolve(benchDir, '..');
export const dataPath = path.resolve(repoDir, '..', 'shared', 'datasets', 'customer-risk', 'train.csv');
export const resultsDir = path.join(benchDir, 'results', 'serving');
export const kilnBin = path.join(repoDir, 'dist', 'cli', 'bin.js');
export const python = '/usr/bin/python3';

export type ServerName = 'kiln' | 'kiln-nolog' | 'fastapi' | 'flask';

export interface CustomerRecord {
  deposits: number;
  withdrawals: number | null;
  stakes: number;
  product: string;
  age: string;
}

export function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** Every record of the training CSV (target dropped; `NA` → null, as JSON has no NaN). */
export function readRecords(): CustomerRecord[] {
  if (!existsSync(dataPath)) throw new Error(`needs ${dataPath}`);
  const [header, ...lines] = readFileSync(dataPath, 'utf8').trim().split('\n');
  const columns = header.split(',');
  const at = (name: string) => {
    const i = columns.indexOf(name);
    if (i < 0) throw new Error(`${dataPath} has no column ${name}`);
    return i;
  };
  const [d, w, s, p, a] = ['deposits', 'withdrawals', 'stakes', 'product', 'age'].map(at);
  const num = (v: string) => (v === 'NA' || v === '' ? null : Number(v));
  return lines.map((line) => {
    const f = line.split(',');
    return { deposits: num(f[d])!, withdrawals: num(f[w]), stakes: num(f[s])!, product: f[p], age: f[a] };
  });
}

/** `count` records spread evenly over the file, so every product, age band and missing withdrawal shows up. */
export function variedRecords(all: CustomerRecord[], count: number): CustomerRecord[] {
  const picked = Array.from({ length: count }, (_, i) => all[Math.floor((i * all.length) / count)]);
  const withMissing = all.find((r) => r.withdrawals === null);
  if (withMissing && !picked.some((r) => r.withdrawals === null)) picked[count - 1] = withMissing;
  return picked;
}

// ---------------------------------------------------------------- children

const children = new Set<ChildProcess>();

/** Spawns a child that is killed (SIGKILL) if this process exits for any reason. */
export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function killAll(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}
process.once('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    log(`received ${signal}; stopping children`);
    killAll();
    process.exit(130);
  });
}
process.once('uncaughtException', (error) => {
  log(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  killAll();
  process.exit(1);
});
process.once('unhandledRejection', (error) => {
  log(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  killAll();
  process.exit(1);
});

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------- training

export function buildKiln(): void {
  log('npm run build');
  execFileSync('npm', ['run', 'build'], { cwd: repoDir, stdio: ['ignore', 'inherit', 'inherit'] });
}

/**
 * `kiln --quiet train examples/customer-risk` with the metadata and artifact stores redirected under
 * bench/results/serving, so the example folder is not touched. Returns the package directory.
 */
export function trainKiln(): string {
  mkdirSync(resultsDir, { recursive: true });
  log('training the Kiln customer-risk package');
  const stdout = execFileSync(
    process.execPath,
    [kilnBin, '--quiet', 'train', path.join(repoDir, 'examples', 'customer-risk')],
    {
      cwd: repoDir,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        ...process.env,
        KILN_METADATA_URI: `sqlite://${path.join(resultsDir, 'kiln-metadata.db')}`,
        KILN_ARTIFACTS_URI: `file://${path.join(resultsDir, 'kiln-artifacts')}`,
        KILN_LOCAL_DIR: path.join(resultsDir, 'kiln-local'),
      },
    },
  ).toString();
  const packageDir = /^package:\s+(.+)$/m.exec(stdout)?.[1]?.trim();
  if (!packageDir || !existsSync(packageDir)) throw new Error(`kiln train printed no package:\n${stdout}`);
  return packageDir;
}

/** bench/peers/train_customer_risk.py → bench/results/serving/customer-risk.joblib. */
export function trainPeer(): string {
  mkdirSync(resultsDir, { recursive: true });
  const out = path.join(resultsDir, 'customer-risk.joblib');
  log('training the scikit-learn customer-risk pipeline');
  execFileSync(
    python,
    ['-W', 'ignore', path.join(benchDir, 'peers', 'train_customer_risk.py'), dataPath, out],
    {
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  return out;
}

// ---------------------------------------------------------------- servers

export interface ServerSpec {
  name: ServerName;
  label: string;
  command: string;
  args: (port: number) => string[];
  /** Working folder (default: the repository). */
  cwd?: string;
}

/**
 * A fresh working folder for one Kiln server: its prediction log (`.kiln/predictions.db`) and disk
 * buffer start empty, so no server replays what an earlier run left behind during a measurement.
 */
function freshKilnDir(name: string): string {
  const dir = path.join(resultsDir, 'kiln-servers', `${name}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A Python peer from bench/peers/, one process on 127.0.0.1 serving the pickled model. */
function pythonPeer(name: ServerName, label: string, script: string, model: string): ServerSpec {
  return {
    name,
    label,
    command: python,
    args: (port) => [
      '-W',
      'ignore',
      path.join(benchDir, 'peers', script),
      '--model',
      model,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
    ],
  };
}

function kilnSpec(name: ServerName, label: string, model: string, extra: string[]): ServerSpec {
  return {
    name,
    label,
    cwd: freshKilnDir(name),
    command: process.execPath,
    args: (port) => [
      kilnBin,
      'serve',
      '--model',
      model,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      ...extra,
    ],
  };
}

export function serverSpec(name: ServerName, model: string): ServerSpec {
  switch (name) {
    case 'kiln':
      return kilnSpec(name, 'kiln serve', model, []);
    case 'kiln-nolog':
      // The peers log no predictions; this is Kiln doing the same work as they do.
      return kilnSpec(name, 'kiln serve, log off', model, ['--prediction-log', 'off']);
    case 'fastapi':
      return pythonPeer(name, 'FastAPI + uvicorn', 'serve_fastapi.py', model);
    case 'flask':
      return pythonPeer(name, 'Flask (Werkzeug threaded)', 'serve_flask.py', model);
  }
}

export interface RunningServer {
  spec: ServerSpec;
  child: ChildProcess;
  pid: number;
  port: number;
  base: string;
  output: () => string;
}

/** Starts the server as one process on a free 127.0.0.1 port and waits (bounded) for GET /readyz → 200. */
export async function startServer(spec: ServerSpec, readyTimeoutMs = 60_000): Promise<RunningServer> {
  const port = await freePort();
  const child = track(
    spawn(spec.command, spec.args(port), {
      cwd: spec.cwd ?? repoDir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_ENV: 'production' },
    }),
  );
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + readyTimeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(
        `${spec.label} exited (${child.exitCode ?? child.signalCode}) before ready:\n${output}`,
      );
    try {
      const response = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(1000) });
      if (response.status === 200) return { spec, child, pid: child.pid!, port, base, output: () => output };
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  child.kill('SIGKILL');
  throw new Error(`${spec.label} not ready within ${readyTimeoutMs / 1000} s:\n${output}`);
}

/** SIGTERM, wait up to `graceMs` for exit, then SIGKILL. Resolves with how it ended. */
export async function stopServer(server: RunningServer, graceMs = 10_000): Promise<string> {
  const { child } = server;
  if (child.exitCode !== null || child.signalCode !== null) return `already exited (${child.exitCode})`;
  const exited = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code !== null ? `exit ${code}` : `signal ${signal}`)),
  );
  child.kill('SIGTERM');
  const timer = new Promise<string>((resolve) => setTimeout(() => resolve('timeout'), graceMs));
  const how = await Promise.race([exited, timer]);
  if (how !== 'timeout') return how;
  child.kill('SIGKILL');
  return `did not exit ${graceMs / 1000} s after SIGTERM; killed (${await exited})`;
}

/** VmRSS of a process in bytes (from /proc/<pid>/status), or null when it is gone. */
export function rssBytes(pid: number): number | null {
  try {
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) * 1024 : null;
  } catch {
    return null;
  }
}

/** User + system CPU seconds a process has used (from /proc/<pid>/stat; 100 clock ticks per second). */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

export function predictUrl(base: string, template: string, model: string): string {
  return `${base}${template.replace('{name}', encodeURIComponent(model))}`;
}

/** One request, to check the server answers the contract before it is loaded. */
export async function checkPredict(url: string, body: unknown, expected: number): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`POST ${url} → ${response.status}: ${text.slice(0, 500)}`);
  const parsed = JSON.parse(text) as unknown;
  const wrapped = (parsed as { predictions?: unknown }).predictions;
  const answers = Array.isArray(parsed) ? parsed : Array.isArray(wrapped) ? wrapped : [parsed];
  if (answers.length !== expected)
    throw new Error(`POST ${url}: ${answers.length} answers, ${expected} expected`);
  const first = answers[0] as Record<string, unknown>;
  for (const key of ['prediction_id']) {
    if (!(key in first)) throw new Error(`POST ${url}: answer has no ${key}: ${text.slice(0, 300)}`);
  }
  return answers[0];
}

/** A positive number from a command-line flag, or a clear error naming the flag. */
export function positiveNumber(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${flag} needs a positive number, got "${text}"`);
  return n;
}

/** Prints a script's leading doc comment as its --help and exits. */
export function printUsage(scriptUrl: string): never {
  process.stdout.write(`${readFileSync(new URL(scriptUrl), 'utf8').split('*/')[0]}*/\n`);
  process.exit(0);
}

/** The flags both bench scripts share: which Kiln package and route, and whether to build first. */
export const SHARED_FLAGS = {
  'no-build': { type: 'boolean' },
  'kiln-package': { type: 'string' },
  'model-name': { type: 'string', default: 'customer-risk' },
  'predict-path': { type: 'string', default: '/v1/models/{name}/predict' },
  out: { type: 'string' },
  help: { type: 'boolean' },
} as const;

/** The options the shared flags resolve to. */
export interface SharedOptions {
  build: boolean;
  kilnPackage?: string;
  modelName: string;
  predictPath: string;
  out?: string;
}

export function sharedOptions(values: {
  'no-build'?: boolean;
  'kiln-package'?: string;
  'model-name': string;
  'predict-path': string;
  out?: string;
}): SharedOptions {
  return {
    build: !values['no-build'],
    kilnPackage: values['kiln-package'] && path.resolve(values['kiln-package']),
    modelName: values['model-name'],
    predictPath: values['predict-path'],
    out: values.out && path.resolve(values.out),
  };
}

/**
 * Writes a benchmark's results as JSON (default `bench/results/<name>-<date>.json`) with what every
 * result carries: the benchmark, the command that produced it, start and end, the machine.
 */
/**
 * Writes a benchmark's JSON results (default `bench/results/<stem>-<date>.json`) under a header naming
 * the script, the command, the times and the machine (with its load average at the start).
 */
export function writeResults(
  bench: { script: string; stem: string },
  started: Date,
  out: string | undefined,
  body: object,
): string {
  const file =
    out ?? path.join(benchDir, 'results', `${bench.stem}-${started.toISOString().slice(0, 10)}.json`);
  const header = {
    benchmark: bench.script,
    command: `npx tsx ${bench.script} ${process.argv.slice(2).join(' ')}`.trim(),
    started: started.toISOString(),
    finished: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      memoryGiB: os.totalmem() / 2 ** 30,
      loadAverage: os.loadavg(),
    },
  };
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ ...header, ...body }, null, 2)}\n`);
  return file;
}

/** autocannon's CLI arguments: POST the JSON body file to `url`; `rate` fixes the total requests/s. */
export function autocannonArgs(o: {
  url: string;
  bodyFile: string;
  connections: number;
  seconds: number;
  rate?: number;
}): string[] {
  return [
    '--json',
    '--no-progress',
    '-c',
    String(o.connections),
    ...(o.rate === undefined ? [] : ['-R', String(o.rate)]),
    '-d',
    String(o.seconds),
    '-m',
    'POST',
    '-H',
    'content-type=application/json',
    '-i',
    o.bodyFile,
    o.url,
  ];
}

/** Runs a command to completion with a hard time limit; resolves with its stdout. */
export function runBounded(command: string, args: string[], limitMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = track(spawn(command, args, { cwd: repoDir, stdio: ['ignore', 'pipe', 'pipe'] }));
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-5000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`${path.basename(command)} ${args.join(' ')} → ${code ?? signal}\n${stderr}`));
    });
  });
}
