/**
 * Serving latency of the posos intent model (issue 5: "serving one question: p99 < 10 ms at 200
 * requests/s on loopback"). `kiln serve` with the serving section of examples/intent-posos/kiln.config.ts
 * (textRoutes: POST /intent) on a free 127.0.0.1 port, in a fresh working folder under
 * bench/results/intent-serving/, driven from a separate process, one real question per request, rotating
 * over the questions of posos' unlabelled test file (input_test_b1Yip6O.csv, never seen in training).
 *
 *   npx tsx bench/intent-serving.ts                          # build, train, serve; 200 requests/s for 60 s
 *   npx tsx bench/intent-serving.ts --no-build --package <dir> --seconds 10
 *   npx tsx bench/intent-serving.ts [--rate 200] [--seconds 60] [--connections 4] [--warmup-seconds 5]
 *       [--tool both|autocannon|paced] [--co-correction] [--questions 2035] [--threshold-ms 10]
 *       [--calibrated] [--prediction-log off] [--out <file.json>]
 *
 * Two load generators, each in its own Node process, one after the other (`--tool` picks one):
 * - autocannon's CLI with `--overallRate` and the questions as a HAR file of POST /intent requests (as
 *   bench/soak). Its rate limit is a quota per connection per second: each connection sends back to back
 *   until it has made its share of the second's requests, then waits for the next second, so 200
 *   requests/s arrive as a burst of 200 at the start of each second (about 0.1 s long here) with
 *   `--connections` in flight. Its coordinated-omission correction assumes one request per millisecond
 *   per connection (it takes 1 / rate in seconds as milliseconds) and adds L - 1 made-up samples for every
 *   L-ms answer, so one 170 ms stall among 2,000 requests makes p99 140 ms; the raw latencies are
 *   reported (`--ignoreCoordinatedOmission`) unless `--co-correction`.
 * - paced (this file with `--paced-worker`): open loop, request i sent at start + i / rate (one every
 *   5 ms at 200/s) over a keep-alive pool of `--connections` sockets, latency measured from the time
 *   the request was due (not when it went out, so a late or queued request counts in full), to the
 *   microsecond. This is 200 requests/s as the criterion means it.
 *
 * Without `--package`, it trains a package first: `kiln train` on a copy of the example's config
 * written to the working folder as kiln.yaml (data read in place from ../shared, same features and SVM,
 * same serving section), except that the SVM is not calibrated (`--calibrated` keeps the example's
 * Platt calibration: the same scoring cost, about 3x the training time) and the quality gates are left
 * out (an uncalibrated model is below the example's macro-F1 gate; latency does not depend on it). With
 * `--package <dir>`, that package is served as it is (its model name must be the route's, intent-posos).
 *
 * The server logs every prediction, as in production (SQLite in the working folder); `--prediction-log
 * off` measures without. Before each measured run, a warm-up at the same rate (not recorded). A tool's
 * run passes when p99 < --threshold-ms, no request failed and the achieved rate is within 5 % of the
 * target; exits 1 if any run fails. Writes bench/results/intent-serving-<date>.json (`--out` to change).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse } from 'csv-parse/sync';
import { loadProject } from '../src/config/load.js';
import {
  buildKiln,
  checkPredict,
  cpuSeconds,
  kilnBin,
  log,
  positiveNumber,
  printUsage,
  repoDir,
  rssBytes,
  runBounded,
  type ServerSpec,
  startServer,
  stopServer,
  writeResults,
} from './serving/common.js';

const exampleDir = path.join(repoDir, 'examples', 'intent-posos');
const questionsFile = path.resolve(
  repoDir,
  '..',
  'shared',
  'datasets',
  'intent-posos',
  'input_test_b1Yip6O.csv',
);

type Tool = 'autocannon' | 'paced';

interface Options {
  build: boolean;
  packageDir?: string;
  rate: number;
  seconds: number;
  connections: number;
  warmupSeconds: number;
  tools: Tool[];
  coCorrection: boolean;
  questions: number;
  thresholdMs: number;
  calibrated: boolean;
  predictionLog?: string;
  out?: string;
}

const FLAGS = {
  'no-build': { type: 'boolean', default: false },
  package: { type: 'string' },
  rate: { type: 'string', default: '200' },
  seconds: { type: 'string', default: '60' },
  connections: { type: 'string', default: '4' },
  'warmup-seconds': { type: 'string', default: '5' },
  tool: { type: 'string', default: 'both' },
  'co-correction': { type: 'boolean', default: false },
  questions: { type: 'string', default: '2035' },
  'threshold-ms': { type: 'string', default: '10' },
  calibrated: { type: 'boolean', default: false },
  'prediction-log': { type: 'string' },
  out: { type: 'string' },
  help: { type: 'boolean', default: false },
  // Internal: run the paced load generator in this process with the given config file.
  'paced-worker': { type: 'string' },
} as const;

function parseOptions(values: ReturnType<typeof parseArgs<{ options: typeof FLAGS }>>['values']): Options {
  if (values.help) printUsage(import.meta.url);
  const tool = values.tool!;
  if (!['both', 'autocannon', 'paced'].includes(tool))
    throw new Error(`--tool: both, autocannon or paced, not "${tool}"`);
  const warmupSeconds = Number(values['warmup-seconds']);
  if (!(warmupSeconds >= 0)) throw new Error(`--warmup-seconds needs a number >= 0, got "${warmupSeconds}"`);
  return {
    build: !values['no-build'],
    packageDir: values.package && path.resolve(values.package),
    rate: Math.round(positiveNumber('rate', values.rate!)),
    seconds: Math.round(positiveNumber('seconds', values.seconds!)),
    connections: Math.round(positiveNumber('connections', values.connections!)),
    warmupSeconds,
    tools: tool === 'both' ? ['autocannon', 'paced'] : [tool as Tool],
    coCorrection: values['co-correction']!,
    questions: Math.round(positiveNumber('questions', values.questions!)),
    thresholdMs: positiveNumber('threshold-ms', values['threshold-ms']!),
    calibrated: values.calibrated!,
    predictionLog: values['prediction-log'],
    out: values.out && path.resolve(values.out),
  };
}

// ---------------------------------------------------------------------------------------- the model

/**
 * The example's config as kiln.yaml (JSON is YAML) in `dir`: data paths made absolute so they are read
 * in place, the SVM uncalibrated unless asked, no gates, no registration. Serving section unchanged.
 */
async function writeBenchProject(
  dir: string,
  calibrated: boolean,
): Promise<{ model: string; route: string }> {
  const { project, dir: from } = await loadProject(exampleDir);
  const serving = project.serving as { textRoutes?: { path: string; model: string }[] } | undefined;
  const route = serving?.textRoutes?.[0];
  if (!route) throw new Error(`${exampleDir}: serving.textRoutes is empty; nothing to measure`);
  const absolute = <T extends { path: string }>(source: T): T => ({
    ...source,
    path: path.resolve(from, source.path),
  });
  const copy = {
    ...project,
    data: {
      ...project.data,
      source: absolute(project.data.source),
      join: project.data.join.map((j) => ({ ...j, source: absolute(j.source) })),
    },
    model: {
      ...project.model,
      params: { ...project.model.params, ...(calibrated ? {} : { calibration: 'none' }) },
    },
    gates: [],
    registry: { ...project.registry, register: 'never' },
  };
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'kiln.yaml'), `${JSON.stringify(copy, null, 2)}\n`);
  return { model: route.model, route: route.path };
}

/** Stores, run folders and the prediction log of this bench, all inside its working folder. */
function kilnEnv(dir: string): NodeJS.ProcessEnv {
  return {
    KILN_METADATA_URI: `sqlite://${path.join(dir, '.kiln', 'kiln.db')}`,
    KILN_ARTIFACTS_URI: `file://${path.join(dir, '.kiln', 'artifacts')}`,
    KILN_LOCAL_DIR: path.join(dir, '.kiln'),
  };
}

function trainPackage(dir: string): string {
  log(`kiln train ${path.relative(repoDir, dir)} (about a minute uncalibrated)`);
  const started = performance.now();
  const stdout = execFileSync(process.execPath, [kilnBin, '--quiet', 'train', dir], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...kilnEnv(dir) },
  }).toString();
  const packageDir = /^package:\s+(.+)$/m.exec(stdout)?.[1]?.trim();
  if (!packageDir) throw new Error(`kiln train printed no package:\n${stdout}`);
  log(`trained in ${((performance.now() - started) / 1000).toFixed(0)} s: ${packageDir}`);
  return packageDir;
}

/** Real questions from the unlabelled test file, as many as asked, within the route's limits. */
function readQuestions(count: number): string[] {
  const rows = parse(readFileSync(questionsFile), { columns: true, bom: true }) as { question: string }[];
  const usable = rows.map((r) => r.question).filter((q) => q.trim() !== '' && q.length <= 5000);
  return usable.slice(0, count);
}

// ---------------------------------------------------------------------------------------- load

/** What both generators report (autocannon's JSON has these fields, and more). */
interface LoadResult {
  duration: number;
  requests: { total: number };
  latency: { p50: number; p90: number; p99: number; p99_9: number; average: number; max: number };
  /** Paced only: latency from when the request was handed to Node's http client (generator lateness excluded). */
  fromSend?: { p50: number; p99: number; max: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}

/** Runs a load generator process to the end (bounded) and parses the JSON it prints. */
async function runLoader(args: string[], seconds: number): Promise<LoadResult> {
  const stdout = await runBounded(process.execPath, args, (seconds + 60) * 1000);
  return JSON.parse(stdout.slice(stdout.indexOf('{'))) as LoadResult;
}

function autocannonRun(harFile: string, url: string, o: Options, seconds: number): Promise<LoadResult> {
  const bin = path.join(
    path.dirname(createRequire(import.meta.url).resolve('autocannon/package.json')),
    'autocannon.js',
  );
  const args = [
    bin,
    '--json',
    '--no-progress',
    '-c',
    String(o.connections),
    '-R',
    String(o.rate),
    '-d',
    String(seconds),
    ...(o.coCorrection ? [] : ['--ignoreCoordinatedOmission']),
    '--har',
    harFile,
    url,
  ];
  return runLoader(args, seconds);
}

interface PacedConfig {
  url: string;
  bodies: string[];
  rate: number;
  seconds: number;
  connections: number;
}

function pacedRun(configFile: string, config: PacedConfig): Promise<LoadResult> {
  writeFileSync(configFile, JSON.stringify(config));
  return runLoader(
    ['--import', 'tsx', fileURLToPath(import.meta.url), '--paced-worker', configFile],
    config.seconds,
  );
}

/**
 * The paced generator: request i is due at start + i / rate; every due request is sent when the timer
 * fires (Node's timers fire within about a millisecond), over a keep-alive agent of `connections`
 * sockets (more requests wait in the agent's queue). Latency runs from the due time to the end of the
 * answer, so lateness of this process and queueing both count.
 */
async function pacedWorker(configFile: string): Promise<void> {
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as PacedConfig;
  const bodies = config.bodies.map((b) => Buffer.from(b));
  const target = new URL(config.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: config.connections });
  const interval = 1000 / config.rate;
  const total = Math.round(config.rate * config.seconds);
  const latencies = new Float64Array(total).fill(Number.NaN);
  const fromSend = new Float64Array(total).fill(Number.NaN);
  let errors = 0;
  let timeouts = 0;
  let non2xx = 0;
  let finished = 0;
  let lastEnd = 0;
  const start = performance.now() + 20;
  await new Promise<void>((resolve) => {
    const send = (i: number) => {
      const due = start + i * interval;
      const sent = performance.now();
      const body = bodies[i % bodies.length];
      let settled = false;
      const settle = (failed: boolean) => {
        if (settled) return;
        settled = true;
        lastEnd = performance.now();
        if (!failed) {
          latencies[i] = lastEnd - due;
          fromSend[i] = lastEnd - sent;
        }
        if (++finished === total) resolve();
      };
      const request = http.request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': body.length },
          timeout: 10_000,
        },
        (response) => {
          const ok =
            response.statusCode !== undefined && response.statusCode >= 200 && response.statusCode < 300;
          if (!ok) non2xx++;
          response.resume();
          response.once('end', () => settle(!ok));
          response.once('error', () => {
            errors++;
            settle(true);
          });
        },
      );
      request.once('timeout', () => {
        timeouts++;
        request.destroy(new Error('timeout'));
      });
      request.once('error', () => {
        errors++;
        settle(true);
      });
      request.end(body);
    };
    let next = 0;
    const tick = () => {
      const now = performance.now();
      while (next < total && start + next * interval <= now) send(next++);
      if (next < total) setTimeout(tick, Math.max(0, start + next * interval - performance.now()));
    };
    setTimeout(tick, 20);
  });
  agent.destroy();
  const ok = latencies.filter((v) => !Number.isNaN(v)).sort();
  const okSend = fromSend.filter((v) => !Number.isNaN(v)).sort();
  const quantile = (sorted: Float64Array, q: number) =>
    sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] : Number.NaN;
  const at = (q: number) => quantile(ok, q);
  const round = (ms: number) => Math.round(ms * 1000) / 1000;
  const result: LoadResult = {
    duration: round((lastEnd - start) / 1000),
    requests: { total: finished },
    latency: {
      p50: round(at(0.5)),
      p90: round(at(0.9)),
      p99: round(at(0.99)),
      p99_9: round(at(0.999)),
      average: round(ok.reduce((a, b) => a + b, 0) / ok.length),
      max: round(ok[ok.length - 1]),
    },
    fromSend: {
      p50: round(quantile(okSend, 0.5)),
      p99: round(quantile(okSend, 0.99)),
      max: round(okSend[okSend.length - 1]),
    },
    errors,
    timeouts,
    non2xx,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// ---------------------------------------------------------------------------------------- main

interface ToolRun {
  tool: Tool;
  description: string;
  passed: boolean;
  checks: { p99: boolean; zeroErrors: boolean; rateHeld: boolean };
  achievedRate: number;
  serverCpuSeconds: number | null;
  serverRssMiB: number | null;
  result: LoadResult;
}

async function main(o: Options) {
  const started = new Date();
  const load = os.loadavg();
  const work = path.join(
    repoDir,
    'bench',
    'results',
    'intent-serving',
    started.toISOString().replace(/[:.]/g, '-'),
  );
  const { model, route } = await writeBenchProject(work, o.calibrated);
  if (o.build) buildKiln();
  const packageDir = o.packageDir ?? trainPackage(work);

  const questions = readQuestions(o.questions);
  if (questions.length === 0) throw new Error(`no usable questions in ${questionsFile}`);
  const spec: ServerSpec = {
    name: 'kiln',
    label: 'kiln serve /intent',
    cwd: work,
    command: process.execPath,
    args: (port) => [
      kilnBin,
      'serve',
      '--project',
      work,
      '--model',
      packageDir,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      ...(o.predictionLog ? ['--prediction-log', o.predictionLog] : []),
    ],
  };
  // startServer hands process.env to the server: keep its stores in the working folder.
  Object.assign(process.env, kilnEnv(work));
  log(`== ${spec.label}: starting (${path.relative(repoDir, work)})`);
  const server = await startServer(spec);
  const url = `${server.base}${route}`;
  const bodies = questions.map((question) => JSON.stringify({ question }));
  const harFile = path.join(work, 'questions.har');
  writeFileSync(
    harFile,
    JSON.stringify({
      log: {
        version: '1.2',
        creator: { name: 'bench/intent-serving.ts', version: '1' },
        entries: bodies.map((text) => ({
          request: {
            method: 'POST',
            url,
            headers: [{ name: 'content-type', value: 'application/json' }],
            postData: { mimeType: 'application/json', text },
          },
        })),
      },
    }),
  );
  const pacedConfig = (seconds: number): PacedConfig => ({
    url,
    bodies,
    rate: o.rate,
    seconds,
    connections: o.connections,
  });
  const generate = (tool: Tool, seconds: number) =>
    tool === 'autocannon'
      ? autocannonRun(harFile, url, o, seconds)
      : pacedRun(path.join(work, 'paced.json'), pacedConfig(seconds));
  const describe = (tool: Tool) =>
    tool === 'autocannon'
      ? `autocannon -R ${o.rate} -c ${o.connections}: each second's requests sent as one burst, ${o.connections} in flight; ` +
        `${o.coCorrection ? "autocannon's coordinated-omission correction" : 'raw latencies'}, whole milliseconds (rounded down)`
      : `paced: one request every ${(1000 / o.rate).toFixed(2)} ms, open loop over ${o.connections} keep-alive sockets, ` +
        'latency from the due time';

  const runs: ToolRun[] = [];
  let stopped: string;
  try {
    const answer = (await checkPredict(url, { question: questions[0] }, 1)) as Record<string, unknown>;
    if (answer.model !== model)
      throw new Error(`${route} answered with model ${answer.model}; the route serves ${model}`);
    log(`POST ${route} {"question": ${JSON.stringify(questions[0].slice(0, 60))}} → intent ${answer.intent}`);
    for (const tool of o.tools) {
      if (o.warmupSeconds > 0) {
        log(`${tool}: warm-up, ${o.rate} requests/s for ${o.warmupSeconds} s (not recorded)`);
        await generate(tool, o.warmupSeconds);
      }
      log(
        `${tool}: ${o.rate} requests/s over ${o.connections} connections for ${o.seconds} s, ${questions.length} questions in rotation`,
      );
      const cpuBefore = cpuSeconds(server.pid);
      const result = await generate(tool, o.seconds);
      const cpuAfter = cpuSeconds(server.pid);
      const rss = rssBytes(server.pid);
      const failures = result.errors + result.timeouts + result.non2xx;
      const achievedRate = result.requests.total / result.duration;
      const checks = {
        p99: result.latency.p99 < o.thresholdMs,
        zeroErrors: failures === 0,
        rateHeld: achievedRate >= 0.95 * o.rate,
      };
      runs.push({
        tool,
        description: describe(tool),
        passed: Object.values(checks).every(Boolean),
        checks,
        achievedRate,
        serverCpuSeconds: cpuBefore !== null && cpuAfter !== null ? cpuAfter - cpuBefore : null,
        serverRssMiB: rss === null ? null : rss / 2 ** 20,
        result,
      });
    }
  } finally {
    stopped = await stopServer(server);
    log(`${spec.label}: stopped (${stopped})`);
  }

  const ms = (v: number) => `${Number(v.toFixed(2))}`;
  const summary = [
    `posos POST ${route}: kiln serve (prediction log ${o.predictionLog === 'off' ? 'off' : 'on'}), one question per request, ` +
      `${o.rate} requests/s target, ${o.seconds} s; ${os.cpus().length} cores, load average ${load[0].toFixed(2)} at start`,
    ...runs.flatMap((run) => {
      const { latency: l } = run.result;
      return [
        `${run.tool}  (${run.description})`,
        `  requests ${run.result.requests.total} (${run.achievedRate.toFixed(1)}/s${run.checks.rateHeld ? '' : ', FAIL: < 95 % of target'}), ` +
          `errors ${run.result.errors}, timeouts ${run.result.timeouts}, non-2xx ${run.result.non2xx}${run.checks.zeroErrors ? '' : ' FAIL'}`,
        `  latency p50 ${ms(l.p50)} ms, p90 ${ms(l.p90)} ms, p99 ${ms(l.p99)} ms, max ${ms(l.max)} ms (mean ${ms(l.average)} ms); ` +
          `server ${run.serverCpuSeconds === null ? '?' : run.serverCpuSeconds.toFixed(1)} CPU s, RSS ${run.serverRssMiB === null ? '?' : run.serverRssMiB.toFixed(0)} MiB`,
        ...(run.result.fromSend
          ? [
              `  from the moment each request was handed to the http client (this generator's timer lateness left out): ` +
                `p50 ${ms(run.result.fromSend.p50)} ms, p99 ${ms(run.result.fromSend.p99)} ms, max ${ms(run.result.fromSend.max)} ms`,
            ]
          : []),
        `  p99 < ${o.thresholdMs} ms: ${run.checks.p99 ? 'pass' : 'FAIL'}; run ${run.passed ? 'passes' : 'FAILS'}`,
      ];
    }),
  ];
  console.log(summary.join('\n'));
  const passed = runs.every((run) => run.passed);
  const out = writeResults({ script: 'bench/intent-serving.ts', stem: 'intent-serving' }, started, o.out, {
    loadAverageAtStart: load,
    options: o,
    package: packageDir,
    work,
    questions: questions.length,
    passed,
    stopped,
    runs,
    summary,
  });
  log(`wrote ${path.relative(repoDir, out)}`);
  if (!passed) process.exitCode = 1;
}

const { values } = parseArgs({ args: process.argv.slice(2), options: FLAGS });
if (values['paced-worker']) await pacedWorker(values['paced-worker']);
else await main(parseOptions(values));
process.exit();
