/**
 * The posos example's packaging, without a Docker engine: trainer.Dockerfile and api.Dockerfile are
 * read and their steps run in a temporary folder (test/examples/docker-emulator.ts): clean installs
 * with the npm the images pin (production dependencies only in the runtime image), the build, training
 * on a small seeded dataset written here in the shape kiln.config.ts reads, then the API served from
 * the registry volume the trainer wrote: /readyz, the HEALTHCHECK, POST /intent, scoring a file through
 * it, SIGTERM. The Makefile's commands are checked with `make -n`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProject } from '../../src/config/load.js';
import { textQuestions } from '../serving/server/text-fixture.js';
import {
  type BuiltStage,
  buildImage,
  healthcheck,
  hostPath,
  type Image,
  run,
  runToEnd,
  snapshot,
  start,
  written,
} from './docker-emulator.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const EXAMPLE = path.join(REPO, 'examples/intent-posos');
const MODEL = 'intent-posos';
/** Posos intents are numbers; the seeded questions' four intents get four of them. */
const INTENT_CODES: Record<string, string> = {
  posologie: '28',
  effets: '31',
  grossesse: '11',
  interaction: '44',
};

function csvCell(text: string): string {
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function runSeconds(stage: BuiltStage, fragment: string): number {
  return stage.runSeconds.find((r) => r.command.includes(fragment))?.seconds ?? Number.NaN;
}

/**
 * The emulator stands this machine's Node in for the images' (`FROM node:<major>`), so the images run
 * in the CI pass whose Node has that major (.ci/run: Node 22, through scripts/with-node.sh).
 */
const imageMajor = /^FROM node:(\d+)/m.exec(readFileSync(path.join(EXAMPLE, 'api.Dockerfile'), 'utf8'))?.[1];
const onImageNode = imageMajor === process.versions.node.split('.')[0];

describe.skipIf(!onImageNode)('examples/intent-posos: trainer and api images (emulated)', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'kiln-docker-'));
  const stateDir = path.join(work, 'volume-kiln-posos');
  const dataDir = path.join(work, 'volume-data');
  const cache = new Map<string, BuiltStage>();
  const log: string[] = [];
  let trainer: Image;
  let api: Image;
  let stateVolume: string;
  let dataVolume: string;
  let version: string;
  let trainerWrites: string[];
  const testQuestions = textQuestions(40, 99);

  beforeAll(async () => {
    mkdirSync(stateDir);
    mkdirSync(dataDir);
    const options = {
      context: REPO,
      workDir: work,
      cache,
      log: (m: string) => log.push(m),
      // The registry is this machine's npm cache (as a Docker build's would be the network).
      runEnv: {
        npm_config_prefer_offline: 'true',
        npm_config_audit: 'false',
        npm_config_fund: 'false',
        npm_config_update_notifier: 'false',
      },
    };
    trainer = await buildImage(path.join(EXAMPLE, 'trainer.Dockerfile'), options);
    api = await buildImage(path.join(EXAMPLE, 'api.Dockerfile'), options);
    stateVolume = trainer.volumes.find((v) => v.endsWith('/.kiln'))!;
    dataVolume = trainer.volumes.find((v) => v !== stateVolume)!;

    // Seeded questions where kiln.config.ts (as copied into the image) reads them, in its columns.
    const loaded = await loadProject(hostPath(trainer.root, '/app/examples/intent-posos'));
    const { data, target } = loaded.project;
    const textColumns = Object.keys(data.schema).filter((c) => c !== data.id && c !== target.column);
    const placed = (configured: string) => {
      const inImage = path.resolve(loaded.dir, configured);
      const relative = path.relative(hostPath(trainer.root, dataVolume), inImage);
      if (relative.startsWith('..'))
        throw new Error(`${configured} is outside the data volume ${dataVolume}`);
      return path.join(dataDir, relative);
    };
    const rows = textQuestions(600, 5).map((r, i) => ({ id: String(i), ...r }));
    writeFileSync(
      placed(data.source.path),
      `${[data.id, ...textColumns].join(',')}\n${rows.map((r) => `${r.id},${textColumns.map(() => csvCell(r.question)).join(',')}`).join('\n')}\n`,
    );
    for (const join of data.join)
      writeFileSync(
        placed(join.source.path),
        `${join.on},${target.column}\n${rows.map((r) => `${r.id},${INTENT_CODES[r.intent]}`).join('\n')}\n`,
      );
    writeFileSync(
      path.join(dataDir, 'input_test.csv'),
      `${data.id},${textColumns[0]}\n${testQuestions.map((q, i) => `${8000 + i},${csvCell(q.question)}`).join('\n')}\n`,
    );

    // docker run kiln-posos-trainer (data read-only, registry in the volume).
    const before = snapshot(trainer.root);
    const dataBefore = snapshot(dataDir);
    const trained = await runToEnd(trainer, { volumes: { [dataVolume]: dataDir, [stateVolume]: stateDir } });
    if (trained.code !== 0)
      throw new Error(`trainer exited ${trained.code}:\n${trained.stdout}\n${trained.stderr}`);
    trainerWrites = written(trainer.root, before);
    expect(written(dataDir, dataBefore)).toEqual([]); // the data is mounted read-only
    version = /^model: +intent-posos version (\d+)/m.exec(trained.stdout)?.[1] ?? '';
    // The documented promotion step, unless the config's registry.alias already moved @champion.
    if (version && !/^model:.*@champion[,)]/m.test(trained.stdout)) {
      const promoted = await runToEnd(trainer, {
        args: ['models', 'alias', MODEL, 'champion', version, '--project', 'examples/intent-posos'],
        volumes: { [stateVolume]: stateDir },
      });
      if (promoted.code !== 0) throw new Error(`models alias exited ${promoted.code}: ${promoted.stderr}`);
    }
  }, 900_000);

  afterAll(async () => {
    process.stderr.write(`[intent-posos-docker] ${log.join('\n[intent-posos-docker] ')}\n`);
    // KILN_KEEP_IMAGES=1 keeps the emulated images' folders to look into.
    if (process.env.KILN_KEEP_IMAGES) process.stderr.write(`[intent-posos-docker] kept ${work}\n`);
    else await rm(work, { recursive: true, force: true });
  }, 300_000);

  it('installs production dependencies only in the runtime images, with npm ci', () => {
    for (const image of [trainer, api]) {
      const modules = hostPath(image.root, '/app/node_modules');
      expect(existsSync(path.join(modules, 'fastify'))).toBe(true);
      // Native dependencies come as prebuilt binaries inside their packages: nothing was compiled.
      expect(existsSync(path.join(modules, '@photostructure/sqlite/prebuilds/linux-x64'))).toBe(true);
      expect(existsSync(path.join(modules, '@photostructure/sqlite/build'))).toBe(false);
      for (const dev of ['typescript', 'vitest', '@biomejs/biome', 'tsx', 'esbuild'])
        expect(existsSync(path.join(modules, dev)), dev).toBe(false);
      expect(existsSync(hostPath(image.root, '/app/dist/cli/bin.js'))).toBe(true);
      expect(existsSync(hostPath(image.root, '/app/src'))).toBe(false);
    }
    const deps = [...cache.values()].find((s) => s.runSeconds.some((r) => r.command.includes('--omit=dev')))!;
    const build = [...cache.values()].find((s) => s.runSeconds.some((r) => r.command.includes('run build')))!;
    log.push(
      `npm ci --omit=dev + npm rebuild: ${runSeconds(deps, '--omit=dev').toFixed(1)} s; ` +
        `npm ci (all, build stage): ${runSeconds(build, 'npm ci --ignore-scripts').toFixed(1)} s; ` +
        `npm run build: ${runSeconds(build, 'run build').toFixed(1)} s`,
    );
    // The two Dockerfiles share their build and dependency stages: built once.
    expect(cache.size).toBe(4);
  });

  it('runs as a non-root user that owns only the registry volume, and writes nowhere else', () => {
    for (const image of [trainer, api]) {
      expect(image.user).not.toBe('root');
      expect(image.chowned).toEqual([{ path: stateVolume, owner: `${image.user}:${image.user}` }]);
    }
    expect(trainerWrites).toEqual([]);
    expect(existsSync(path.join(stateDir, 'kiln.db'))).toBe(true);
  });

  it('the trainer registers a version and @champion points at it', async () => {
    expect(version).toMatch(/^\d+$/);
    const shown = await runToEnd(trainer, {
      args: ['models', 'show', `${MODEL}@champion`, '--project', 'examples/intent-posos'],
      volumes: { [stateVolume]: stateDir },
    });
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout).version).toBe(Number(version));
  });

  it('the api serves intent-posos@champion on the published port: /readyz, HEALTHCHECK, POST /intent, stop', async () => {
    expect(api.exposed).toEqual([4002]);
    expect(api.env.KILN_PORT).toBe('4002');
    expect(api.healthcheck?.command.join(' ')).toContain('/readyz');
    const port = await freePort();
    // docker run -e: bind loopback on a free port here (the image binds 0.0.0.0:4002).
    const env = { KILN_HOST: '127.0.0.1', KILN_PORT: String(port) };
    const before = snapshot(api.root);
    const server = start(api, { env, volumes: { [stateVolume]: stateDir } });
    const url = `http://127.0.0.1:${port}`;
    try {
      let ready: { ready?: boolean; models?: Record<string, string> } = {};
      for (let i = 0; i < 300 && !ready.ready; i++) {
        if (server.child.exitCode !== null)
          throw new Error(`api exited ${server.child.exitCode}: ${server.output.stderr}`);
        ready = await fetch(`${url}/readyz`)
          .then((r) => r.json() as Promise<typeof ready>)
          .catch(() => ({}));
        if (!ready.ready) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(ready).toEqual({ ready: true, models: { [MODEL]: version }, loading: [] });
      expect(await healthcheck(api, env)).toBe(0);

      const one = await fetch(`${url}/intent`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ question: 'Combien de comprimés par jour, quelle posologie ?' }),
      });
      expect(one.status).toBe(200);
      const answer = (await one.json()) as {
        intent: string;
        probability: number;
        top: unknown[];
        version: string;
      };
      expect(answer.intent).toBe(INTENT_CODES.posologie);
      expect(answer.top).toHaveLength(3);
      expect(answer.version).toBe(version);
      const page = await fetch(`${url}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<form');

      // make test's command, with the image's CLI: the questions scored through the API.
      const predictions = path.join(work, 'predictions.csv');
      const scored = await run('node', [
        hostPath(api.root, '/app/dist/cli/bin.js'),
        ...['predict', '--server', url, '--model', MODEL, '--input', path.join(dataDir, 'input_test.csv')],
        ...['--output', predictions, '--labels-only', '--target-column', 'intention'],
      ]);
      expect(scored.code, scored.stderr).toBe(0);
      const lines = readFileSync(predictions, 'utf8').trimEnd().split('\n');
      expect(lines[0]).toBe('ID,intention');
      expect(lines).toHaveLength(testQuestions.length + 1);
      expect(lines[1]).toMatch(/^8000,(28|31|11|44)$/);
      const right = testQuestions.filter((q, i) => lines[i + 1].split(',')[1] === INTENT_CODES[q.intent]);
      expect(right.length).toBeGreaterThan(testQuestions.length * 0.7);
    } finally {
      const code = await server.stop();
      expect(code, server.output.stderr.slice(-3000)).toBe(0);
    }
    expect(server.output.stdout).toContain('SIGTERM: draining requests in flight');
    expect(written(api.root, before)).toEqual([]);
    expect(existsSync(path.join(stateDir, 'predictions.db'))).toBe(true); // the log, in the volume
  });
});

describe('examples/intent-posos/Makefile', () => {
  const make = (...args: string[]) =>
    spawnSync('make', ['-C', EXAMPLE, '--no-print-directory', ...args], { encoding: 'utf8' });
  const hasMake = spawnSync('make', ['--version']).status === 0;

  it.skipIf(!hasMake)('make -n train api test prints the kiln commands, with the variables applied', () => {
    const { status, stdout } = make('-n', 'train', 'api', 'test', 'PORT=4100');
    expect(status).toBe(0);
    const kiln = 'node ../../dist/cli/bin.js';
    expect(stdout).toContain(`${kiln} train . --no-search | tee`);
    expect(stdout).toContain(`${kiln} models alias intent-posos champion "$version" --project .`);
    expect(stdout).toContain(
      `${kiln} serve --project . --model intent-posos@champion --host 127.0.0.1 --port 4100`,
    );
    expect(stdout).toMatch(
      /node \.\.\/\.\.\/dist\/cli\/bin\.js predict --server http:\/\/127\.0\.0\.1:4100 --model intent-posos --input \.\.\/\.\.\/\.\.\/shared\/datasets\/intent-posos\/input_test_b1Yip6O\.csv\s+\\?\s*--output predictions\.csv --labels-only --target-column intention/,
    );
  });

  it.skipIf(!hasMake)('make help lists the targets; make -f from elsewhere resolves the same paths', () => {
    const help = make('help');
    expect(help.status).toBe(0);
    for (const target of ['make train', 'make api', 'make test']) expect(help.stdout).toContain(target);
    const outside = spawnSync('make', ['-f', path.join(EXAMPLE, 'Makefile'), '-n', 'api'], {
      encoding: 'utf8',
      cwd: tmpdir(),
    });
    expect(outside.status).toBe(0);
    expect(outside.stdout).toContain(`node ${REPO}/dist/cli/bin.js serve --project ${EXAMPLE} --model`);
  });
});
