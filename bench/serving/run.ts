/**
 * Serving throughput and latency of the customer-risk model: `kiln serve` against the same model in
 * FastAPI + uvicorn + scikit-learn and in Flask (bench/peers/serve_*.py), side by side in one run on
 * this machine. Each server is one process on 127.0.0.1; the load comes from a separate process
 * (wrk, one thread, by default; or autocannon's CLI) at a fixed number of connections, with batch 1
 * and batch 100 bodies. wrk is the default because Flask's built-in server closes the connection after
 * every response and autocannon's latency figures are wrong across reconnects (p50 > 1 s at ~900
 * req/s over 16 connections, which Little's law rules out); wrk also costs less CPU on a 2-core box.
 *
 *   npx tsx bench/serving/run.ts [--duration 15] [--connections 16] [--warmup 3] [--batches 1,100]
 *       [--only kiln,fastapi,flask] [--tool wrk|autocannon] [--no-build] [--kiln-package <dir>]
 *       [--model-name customer-risk] [--predict-path /v1/models/{name}/predict] [--out <file.json>]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  autocannonArgs,
  buildKiln,
  type CustomerRecord,
  checkPredict,
  cpuSeconds,
  log,
  positiveNumber,
  predictUrl,
  printUsage,
  python,
  readRecords,
  repoDir,
  resultsDir,
  rssBytes,
  runBounded,
  type ServerName,
  SHARED_FLAGS,
  type SharedOptions,
  serverSpec,
  sharedOptions,
  sleep,
  startServer,
  stopServer,
  trainKiln,
  trainPeer,
  variedRecords,
  writeResults,
} from './common.js';

// ---------------------------------------------------------------- options

interface Options extends SharedOptions {
  duration: number;
  connections: number;
  warmup: number;
  batches: number[];
  only: ServerName[];
  tool: 'autocannon' | 'wrk';
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string', default: '15' },
      connections: { type: 'string', default: '16' },
      warmup: { type: 'string', default: '3' },
      batches: { type: 'string', default: '1,100' },
      only: { type: 'string', default: 'kiln,kiln-nolog,fastapi,flask' },
      tool: { type: 'string', default: 'wrk' },
      ...SHARED_FLAGS,
    },
  });
  if (values.help) printUsage(import.meta.url);
  const only = values.only.split(',') as ServerName[];
  for (const name of only) {
    if (!['kiln', 'kiln-nolog', 'fastapi', 'flask'].includes(name))
      throw new Error(`--only: unknown server ${name}`);
  }
  if (values.tool !== 'autocannon' && values.tool !== 'wrk') throw new Error('--tool is autocannon or wrk');
  return {
    duration: positiveNumber('duration', values.duration),
    connections: Math.round(positiveNumber('connections', values.connections)),
    warmup: Number(values.warmup),
    batches: values.batches.split(',').map((b) => Math.round(positiveNumber('batches', b))),
    only,
    tool: values.tool,
    ...sharedOptions(values),
  };
}

// ---------------------------------------------------------------- load generators

interface LoadResult {
  tool: string;
  seconds: number;
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
  errors: number;
  timeouts: number;
  non2xx: number;
}

const require = createRequire(import.meta.url);
const autocannonBin = path.join(path.dirname(require.resolve('autocannon/package.json')), 'autocannon.js');

/** autocannon's CLI (the same as `npx autocannon --json`) in its own Node process. */
async function autocannon(url: string, bodyFile: string, connections: number, seconds: number) {
  const stdout = await runBounded(
    process.execPath,
    [autocannonBin, ...autocannonArgs({ url, bodyFile, connections, seconds })],
    (seconds + 60) * 1000,
  );
  const r = JSON.parse(stdout.slice(stdout.indexOf('{'))) as {
    duration: number;
    requests: { average: number; total: number };
    latency: { p50: number; p99: number; average: number; max: number };
    errors: number;
    timeouts: number;
    non2xx: number;
  };
  return {
    tool: 'autocannon 9',
    seconds: r.duration,
    requests: r.requests.total,
    requestsPerSecond: r.requests.total / r.duration,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    meanMs: r.latency.average,
    maxMs: r.latency.max,
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
  } satisfies LoadResult;
}

/** wrk (one thread) with a Lua script that posts the body file and prints its summary as JSON. */
async function wrk(url: string, bodyFile: string, connections: number, seconds: number) {
  const script = `${bodyFile}.lua`;
  writeFileSync(
    script,
    `local f = assert(io.open(${JSON.stringify(bodyFile)}, "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,"mean_us":%f,"max_us":%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean, latency.max))
end
`,
  );
  const stdout = await runBounded(
    'wrk',
    ['-t', '1', '-c', String(connections), '-d', `${seconds}s`, '--timeout', '10s', '-s', script, url],
    (seconds + 60) * 1000,
  );
  const line = stdout.split('\n').find((l) => l.startsWith('WRKJSON '));
  if (!line) throw new Error(`wrk printed no summary:\n${stdout}`);
  const r = JSON.parse(line.slice('WRKJSON '.length)) as Record<string, number>;
  const secondsRun = r.duration_us / 1e6;
  return {
    tool: 'wrk (1 thread)',
    seconds: secondsRun,
    requests: r.requests,
    requestsPerSecond: r.requests / secondsRun,
    p50Ms: r.p50_us / 1000,
    p99Ms: r.p99_us / 1000,
    meanMs: r.mean_us / 1000,
    maxMs: r.max_us / 1000,
    errors: r.connect + r.read + r.write,
    timeouts: r.timeout,
    non2xx: r.status,
  } satisfies LoadResult;
}

// ---------------------------------------------------------------- main

interface Measurement extends LoadResult {
  server: ServerName;
  label: string;
  batch: number;
  recordsPerSecond: number;
  serverCpuSeconds: number | null;
  serverRssMiB: number | null;
  /** Kiln with its log on: predictions the log shed during the cell (journal full); null for the others. */
  logDropped: number | null;
}

/** A Kiln server's prediction-log records in one state (`/metrics`), or null when it exports none. */
async function logRecords(base: string, state: string): Promise<number | null> {
  try {
    const text = await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    const match = new RegExp(`^kiln_prediction_log_records\\{state="${state}"\\} (\\S+)$`, 'm').exec(text);
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  const started = new Date();
  const workDir = path.join(resultsDir, 'bodies');
  mkdirSync(workDir, { recursive: true });

  const records = readRecords();
  const single: CustomerRecord = {
    deposits: 50,
    withdrawals: 20,
    stakes: 100,
    product: 'bet',
    age: '<30',
  };
  const bodies = new Map<number, { file: string; json: unknown }>();
  for (const batch of options.batches) {
    const json = batch === 1 ? single : variedRecords(records, batch);
    const file = path.join(workDir, `batch-${batch}.json`);
    writeFileSync(file, JSON.stringify(json));
    bodies.set(batch, { file, json });
  }

  const models: Partial<Record<ServerName, string>> = {};
  if (options.only.includes('kiln') || options.only.includes('kiln-nolog')) {
    if (options.build && !options.kilnPackage) buildKiln();
    models.kiln = options.kilnPackage ?? trainKiln();
    models['kiln-nolog'] = models.kiln;
  }
  if (options.only.includes('fastapi') || options.only.includes('flask')) {
    const peerModel = trainPeer();
    models.fastapi = peerModel;
    models.flask = peerModel;
  }

  const load = options.tool === 'wrk' ? wrk : autocannon;
  const measurements: Measurement[] = [];
  const samples: Record<string, unknown> = {};
  for (const name of options.only) {
    const spec = serverSpec(name, models[name]!);
    log(`\n== ${spec.label}: starting`);
    const server = await startServer(spec);
    try {
      const url = predictUrl(server.base, options.predictPath, options.modelName);
      for (const batch of options.batches) {
        const body = bodies.get(batch)!;
        samples[`${name}/batch-${batch}`] = await checkPredict(url, body.json, batch);
        if (options.warmup > 0) {
          log(`${spec.label}, batch ${batch}: warm-up ${options.warmup} s`);
          await load(url, body.file, options.connections, options.warmup);
        }
        log(`${spec.label}, batch ${batch}: ${options.connections} connections for ${options.duration} s`);
        const droppedBefore = await logRecords(server.base, 'dropped');
        const cpuBefore = cpuSeconds(server.pid);
        const result = await load(url, body.file, options.connections, options.duration);
        const cpuAfter = cpuSeconds(server.pid);
        const rss = rssBytes(server.pid);
        const droppedAfter = await logRecords(server.base, 'dropped');
        const m: Measurement = {
          server: name,
          label: spec.label,
          batch,
          ...result,
          recordsPerSecond: result.requestsPerSecond * batch,
          serverCpuSeconds: cpuBefore !== null && cpuAfter !== null ? cpuAfter - cpuBefore : null,
          serverRssMiB: rss === null ? null : rss / 2 ** 20,
          logDropped: droppedBefore === null || droppedAfter === null ? null : droppedAfter - droppedBefore,
        };
        measurements.push(m);
        log(
          `  ${m.requestsPerSecond.toFixed(0)} req/s, p50 ${m.p50Ms} ms, p99 ${m.p99Ms} ms, ` +
            `errors ${m.errors}, timeouts ${m.timeouts}, non-2xx ${m.non2xx}, ` +
            `server CPU ${m.serverCpuSeconds?.toFixed(1)} s of ${m.seconds.toFixed(1)} s` +
            (m.logDropped === null ? '' : `, log dropped ${m.logDropped}`),
        );
        await sleep(500);
      }
    } finally {
      log(`${spec.label}: stopping (${await stopServer(server)})`);
    }
  }

  // ---- table
  const lines: string[] = [];
  lines.push(
    `customer-risk serving, ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), ` +
      `${options.connections} connections, ${options.duration} s per cell, load from ${measurements[0]?.tool}`,
  );
  lines.push(
    [
      'server'.padEnd(26),
      'batch'.padStart(5),
      'req/s'.padStart(8),
      'records/s'.padStart(10),
      'p50 ms'.padStart(7),
      'p99 ms'.padStart(7),
      'errors'.padStart(6),
      'non2xx'.padStart(6),
      'dropped'.padStart(7),
      'x req/s'.padStart(8),
      'x p99'.padStart(6),
    ].join(' '),
  );
  for (const m of measurements) {
    const peer = measurements.find((p) => p.server === 'fastapi' && p.batch === m.batch);
    const ratio = (x: number | undefined) =>
      x === undefined || !Number.isFinite(x) ? '—' : `${x.toFixed(2)}`;
    lines.push(
      [
        m.label.padEnd(26),
        String(m.batch).padStart(5),
        m.requestsPerSecond.toFixed(0).padStart(8),
        m.recordsPerSecond.toFixed(0).padStart(10),
        m.p50Ms.toFixed(2).padStart(7),
        m.p99Ms.toFixed(2).padStart(7),
        String(m.errors + m.timeouts).padStart(6),
        String(m.non2xx).padStart(6),
        (m.logDropped === null ? '—' : String(m.logDropped)).padStart(7),
        ratio(peer && m.requestsPerSecond / peer.requestsPerSecond).padStart(8),
        ratio(peer && m.p99Ms / peer.p99Ms).padStart(6),
      ].join(' '),
    );
  }
  lines.push(
    "x req/s: throughput ÷ FastAPI's at the same batch size (higher is better); x p99: p99 ÷ FastAPI's (lower is better); dropped: predictions Kiln's log shed in the cell",
  );
  console.log(lines.join('\n'));

  // ---- JSON
  const versions = {
    node: process.version,
    python: execFileSync(python, ['--version']).toString().trim(),
    pythonPackages: JSON.parse(
      execFileSync(python, [
        '-c',
        'import json, fastapi, uvicorn, flask, sklearn, pydantic, werkzeug; print(json.dumps({m.__name__: getattr(m, "__version__", getattr(m, "VERSION", "?")) for m in (fastapi, uvicorn, flask, sklearn, pydantic, werkzeug)}))',
      ]).toString(),
    ) as Record<string, string>,
  };
  const out = writeResults({ script: 'bench/serving/run.ts', stem: 'serving' }, started, options.out, {
    versions,
    options,
    models,
    measurements,
    sampleAnswers: samples,
    table: lines,
  });
  log(`\nwrote ${path.relative(repoDir, out)}`);
  const failed = measurements.filter((m) => m.errors + m.timeouts + m.non2xx + (m.logDropped ?? 0) > 0);
  if (failed.length > 0) {
    log(
      `errors, non-2xx answers or dropped log records in: ${failed.map((m) => `${m.server}/batch ${m.batch}`).join(', ')}`,
    );
    process.exitCode = 1;
  }
}

await main();
process.exit();
