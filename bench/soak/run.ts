/**
 * Soak: `kiln serve` (customer-risk) on 127.0.0.1 at a fixed 1,000 requests/s for 10 minutes, batch 1.
 * The load is autocannon's CLI in a separate Node process with `--overallRate` (a fixed total rate
 * spread over the connections, with autocannon's coordinated-omission correction of latencies); wrk
 * cannot hold a fixed rate. The server's RSS is read from /proc/<pid>/status (VmRSS) every 5 s.
 *
 * Passes when: no errors, timeouts or non-2xx answers; RSS at the end within ±10 % of RSS after the
 * warm-up (each the median of 30 s of samples); the achieved rate within 5 % of the target. Exits 1
 * otherwise. The warm-up is 2 minutes: V8 sizes the heap for start-up and the first minute of load,
 * then shrinks it at its first major collections (a Kiln server: 95 → 69 MiB of heap between 60 and
 * 120 s), and RSS follows.
 *
 *   npx tsx bench/soak/run.ts [--minutes 10] [--rate 1000] [--connections 16] [--warmup-seconds 120]
 *       [--server kiln|fastapi|flask] [--no-build] [--kiln-package <dir>] [--model-name customer-risk]
 *       [--predict-path /v1/models/{name}/predict] [--out <file.json>]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  autocannonArgs,
  buildKiln,
  checkPredict,
  cpuSeconds,
  log,
  positiveNumber,
  predictUrl,
  printUsage,
  repoDir,
  resultsDir,
  rssBytes,
  type ServerName,
  SHARED_FLAGS,
  type SharedOptions,
  serverSpec,
  sharedOptions,
  startServer,
  stopServer,
  track,
  trainKiln,
  trainPeer,
  writeResults,
} from '../serving/common.js';

interface Options extends SharedOptions {
  minutes: number;
  rate: number;
  connections: number;
  warmupSeconds: number;
  sampleSeconds: number;
  server: ServerName;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      minutes: { type: 'string', default: '10' },
      rate: { type: 'string', default: '1000' },
      connections: { type: 'string', default: '16' },
      'warmup-seconds': { type: 'string', default: '120' },
      'sample-seconds': { type: 'string', default: '5' },
      server: { type: 'string', default: 'kiln' },
      ...SHARED_FLAGS,
    },
  });
  if (values.help) printUsage(import.meta.url);
  if (!['kiln', 'fastapi', 'flask'].includes(values.server))
    throw new Error(`--server: unknown ${values.server}`);
  return {
    minutes: positiveNumber('minutes', values.minutes),
    rate: Math.round(positiveNumber('rate', values.rate)),
    connections: Math.round(positiveNumber('connections', values.connections)),
    warmupSeconds: positiveNumber('warmup-seconds', values['warmup-seconds']),
    sampleSeconds: positiveNumber('sample-seconds', values['sample-seconds']),
    server: values.server as ServerName,
    ...sharedOptions(values),
  };
}

interface Sample {
  t: number;
  rssMiB: number;
  cpuSeconds: number | null;
  /** The main thread's V8 heap and memory outside it, from the server's /metrics (Kiln only). */
  heapUsedMiB?: number;
  heapTotalMiB?: number;
  externalMiB?: number;
}

const HEAP_METRICS = {
  heapUsedMiB: 'nodejs_heap_size_used_bytes',
  heapTotalMiB: 'nodejs_heap_size_total_bytes',
  externalMiB: 'nodejs_external_memory_bytes',
} as const;

/** Node's default process metrics, where the server exposes them; {} otherwise. */
async function heapSample(base: string): Promise<Partial<Sample>> {
  try {
    const text = await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
    const out: Partial<Sample> = {};
    for (const [key, metric] of Object.entries(HEAP_METRICS)) {
      const match = new RegExp(`^${metric} ([0-9.e+]+)`, 'm').exec(text);
      if (match) out[key as keyof typeof HEAP_METRICS] = Number(match[1]) / 2 ** 20;
    }
    return out;
  } catch {
    return {};
  }
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  const started = new Date();
  const seconds = Math.round(options.minutes * 60);

  let model: string;
  if (options.server === 'kiln') {
    if (options.build && !options.kilnPackage) buildKiln();
    model = options.kilnPackage ?? trainKiln();
  } else {
    model = trainPeer();
  }
  const spec = serverSpec(options.server, model);
  const bodyDir = path.join(resultsDir, 'bodies');
  mkdirSync(bodyDir, { recursive: true });
  const record = { deposits: 50, withdrawals: 20, stakes: 100, product: 'bet', age: '<30' };
  const bodyFile = path.join(bodyDir, 'soak.json');
  writeFileSync(bodyFile, JSON.stringify(record));

  log(`== ${spec.label}: starting`);
  const server = await startServer(spec);
  const samples: Sample[] = [];
  let stopped = '';
  let load: {
    duration: number;
    requests: { total: number; average: number };
    latency: { p50: number; p99: number; average: number; max: number };
    errors: number;
    timeouts: number;
    non2xx: number;
  };
  try {
    const url = predictUrl(server.base, options.predictPath, options.modelName);
    await checkPredict(url, record, 1);
    log(
      `${spec.label}: ${options.rate} requests/s over ${options.connections} connections for ${seconds} s ` +
        `(RSS every ${options.sampleSeconds} s; warm-up ${options.warmupSeconds} s)`,
    );
    const autocannonBin = path.join(
      path.dirname(createRequire(import.meta.url).resolve('autocannon/package.json')),
      'autocannon.js',
    );
    const loader = track(
      spawn(
        process.execPath,
        [
          autocannonBin,
          ...autocannonArgs({ url, bodyFile, connections: options.connections, seconds, rate: options.rate }),
        ],
        { cwd: repoDir, stdio: ['ignore', 'pipe', 'pipe'] },
      ),
    );
    let stdout = '';
    let stderr = '';
    loader.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    loader.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-5000);
    });
    const finished = new Promise<number | null>((resolve) => loader.once('exit', (code) => resolve(code)));
    const t0 = Date.now();
    const hardLimit = t0 + (seconds + 120) * 1000;
    let done = false;
    void finished.then(() => {
      done = true;
    });
    let lastReport = 0;
    while (!done && Date.now() < hardLimit) {
      await new Promise((resolve) => setTimeout(resolve, options.sampleSeconds * 1000));
      const rss = rssBytes(server.pid);
      if (rss === null) throw new Error(`${spec.label} exited during the soak:\n${server.output()}`);
      const t = (Date.now() - t0) / 1000;
      const heap = await heapSample(server.base);
      if (!done) samples.push({ t, rssMiB: rss / 2 ** 20, cpuSeconds: cpuSeconds(server.pid), ...heap });
      if (t - lastReport >= 60 || done) {
        lastReport = t;
        const v8 =
          heap.heapUsedMiB === undefined
            ? ''
            : `, V8 heap ${heap.heapUsedMiB.toFixed(1)} used / ${heap.heapTotalMiB?.toFixed(1)} MiB, external ${heap.externalMiB?.toFixed(1)} MiB`;
        log(`  ${t.toFixed(0).padStart(4)} s  RSS ${(rss / 2 ** 20).toFixed(1)} MiB${v8}`);
      }
    }
    if (!done) {
      loader.kill('SIGKILL');
      throw new Error('autocannon did not finish in time');
    }
    const code = await finished;
    if (code !== 0) throw new Error(`autocannon exited ${code}:\n${stderr}`);
    load = JSON.parse(stdout.slice(stdout.indexOf('{')));
  } finally {
    stopped = await stopServer(server);
    log(`${spec.label}: stopping (${stopped})`);
  }

  // Each side is the median of 30 s of samples, so one sample caught mid-GC does not decide the check.
  const window = (from: number, to: number) => {
    const inside = samples.filter((s) => s.t >= from && s.t <= to);
    if (inside.length === 0) return undefined;
    const sorted = [...inside].sort((a, b) => a.rssMiB - b.rssMiB);
    return { t: inside[0].t, rssMiB: sorted[Math.floor((sorted.length - 1) / 2)].rssMiB };
  };
  const lastT = samples.length ? samples[samples.length - 1].t : 0;
  const afterWarmup = window(options.warmupSeconds, options.warmupSeconds + 30);
  const end = window(lastT - 30, lastT);
  if (!afterWarmup || !end) throw new Error(`no RSS samples after the ${options.warmupSeconds} s warm-up`);
  const drift = (end.rssMiB - afterWarmup.rssMiB) / afterWarmup.rssMiB;
  const failures = load.errors + load.timeouts + load.non2xx;
  const achieved = load.requests.total / load.duration;
  const checks = {
    zeroErrors: failures === 0,
    flatMemory: Math.abs(drift) <= 0.1,
    rateHeld: achieved >= 0.95 * options.rate,
  };
  const peak = Math.max(...samples.map((s) => s.rssMiB));
  const summary = [
    `soak: ${spec.label}, ${options.rate} requests/s target, ${options.connections} connections, ${load.duration} s, ${os.cpus().length} cores`,
    `requests   ${load.requests.total} (${achieved.toFixed(1)}/s)  ${checks.rateHeld ? 'ok' : 'FAIL (< 95 % of target)'}`,
    `errors     ${load.errors} errors, ${load.timeouts} timeouts, ${load.non2xx} non-2xx  ${checks.zeroErrors ? 'ok' : 'FAIL'}`,
    `latency    p50 ${load.latency.p50} ms, p99 ${load.latency.p99} ms, max ${load.latency.max} ms`,
    `RSS        ${afterWarmup.rssMiB.toFixed(1)} MiB (median of ${afterWarmup.t.toFixed(0)}–${(afterWarmup.t + 30).toFixed(0)} s) → ${end.rssMiB.toFixed(1)} MiB (median of the last 30 s) ` +
      `(${(drift * 100).toFixed(1)} %, peak ${peak.toFixed(1)} MiB)  ${checks.flatMemory ? 'ok' : 'FAIL (more than ±10 %)'}`,
  ];
  console.log(summary.join('\n'));
  const out = writeResults({ script: 'bench/soak/run.ts', stem: 'soak' }, started, options.out, {
    options,
    model,
    stopped,
    passed: Object.values(checks).every(Boolean),
    checks,
    achievedRate: achieved,
    rss: { afterWarmupMiB: afterWarmup.rssMiB, endMiB: end.rssMiB, drift, peakMiB: peak },
    load,
    samples,
    summary,
  });
  log(`wrote ${path.relative(repoDir, out)}`);
  if (!Object.values(checks).every(Boolean)) process.exitCode = 1;
}

await main();
process.exit();
