/**
 * Sequences end to end: a project written against the SDK only (test/scenarios/sequence-project) reads
 * a CSV whose `readings` cells are JSON arrays of timesteps (fields s1, s2), quarantines the bad cells
 * with a reason that says where they are wrong, trains its own window step and sequence family with
 * the built CLI, registers, and serves `name@alias` over HTTP: JSON sequences in, probabilities equal to
 * the package's own in-process scoring out, and a 400 naming the JSON path of every bad element.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTable } from '../../src/data/table.js';
import { fitPipeline } from '../../src/features/pipeline.js';
import { registerFeatureStep } from '../../src/features/steps/registry.js';
import { registerModelFamily } from '../../src/models/registry.js';
import { loadPackage } from '../../src/packaging/load.js';
import { Random } from '../../src/util/random.js';
import { runCli, type ServeProcess, startServe } from '../serving/server/built-cli.js';
import { expectSdkOnlyImports } from '../support/sdk-project.js';
import { lastWindow, windowCentroid } from './sequence-project/plugins.js';

/** The parts of the OpenAPI document read here. */
interface OpenApi {
  components: { schemas: Record<string, { properties: Record<string, { items: { oneOf: unknown[] } }> }> };
  paths: Record<string, { post: { description: string } }>;
}

// As the project's config does in the CLI's process: the package scored here in-process needs them.
registerFeatureStep(lastWindow);
registerModelFamily(windowCentroid);

const PROJECT = fileURLToPath(new URL('./sequence-project', import.meta.url));
const MODES = ['idle', 'run', 'fault'] as const;
type Step = [number, number];

/** A series of `length` timesteps whose last 5 show the mode; what comes before is noise. */
function series(random: Random, mode: number, length: number): Step[] {
  const steps: Step[] = [];
  for (let t = 0; t < length; t++) {
    const late = t >= length - 5;
    const s1 = late ? [0, 3, 3 + 0.8 * (t - length + 5)][mode] : random.normal();
    const s2 = late ? [0, 1, -2][mode] : random.normal();
    steps.push([round(s1 + 0.5 * random.normal()), round(s2 + 0.5 * random.normal())]);
  }
  return steps;
}

const round = (v: number) => Math.round(v * 1000) / 1000;
const csvCell = (text: string) => `"${text.replaceAll('"', '""')}"`;
/** Timesteps as arrays in fields order, or as objects keyed by the field names. */
const asArrays = (steps: Step[]) => JSON.stringify(steps);
const asObjects = (steps: Step[]) => JSON.stringify(steps.map(([s1, s2]) => ({ s1, s2 })));

const BAD_ROWS: [cell: string, reason: string][] = [
  [
    '[{"s1":1,"s2":2},{"s1":1,"s2":2},{"s1":1,"s2":2},{"s1":1,"s2":"x"},{"s1":1,"s2":2}]',
    'timestep 3, s2: expected a number, got string "x"',
  ],
  ['[[1,2],[3,4]]', '2 timesteps, at least 3 needed'],
  ['[[1,2],[3', '"[[1,2],[3" is not JSON'],
  ['[[99,0],[0,0],[0,0],[0,0],[0,0]]', 'timestep 0, s1: 99 is above the maximum 50'],
  ['[{"s1":1,"s3":2},[0,0],[0,0],[0,0],[0,0]]', 'timestep 0, s2: missing field (and 1 more problem)'],
];

describe('sequence fields: CSV cells, training and serving through the SDK', () => {
  let dir: string;
  let server: ServeProcess | undefined;
  let packageDir: string;
  let base: string;
  const goodRows = 450;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'kiln-sequences-'));
    cpSync(PROJECT, dir, { recursive: true });
    mkdirSync(path.join(dir, 'data'));
    const random = new Random(3);
    const lines = ['asset,readings,mode'];
    for (let i = 0; i < goodRows; i++) {
      const mode = i % 3;
      const steps = series(random, mode, 5 + Math.floor(random.next() * 30));
      lines.push(`a${i},${csvCell(i % 2 ? asArrays(steps) : asObjects(steps))},${MODES[mode]}`);
      if (i % 90 === 45) {
        const [cell] = BAD_ROWS[(i - 45) / 90];
        lines.push(`bad${i},${csvCell(cell)},idle`);
      }
    }
    writeFileSync(path.join(dir, 'data', 'train.csv'), `${lines.join('\n')}\n`);
  });

  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('imports nothing but the SDK and its own files', () => {
    expectSdkOnlyImports(PROJECT);
  });

  it('quarantines bad sequence cells with where they are wrong, and trains on the rest', async () => {
    const trained = await runCli(['train', dir]);
    expect(trained.stderr).not.toMatch(/"level":50/);
    expect(trained.code, trained.stderr).toBe(0);
    packageDir = /^package:\s+(\S+)$/m.exec(trained.stdout)![1];
    expect(trained.stdout).toMatch(/^model:\s+sequence-demo version 1 \(@champion\)/m);

    const rejects = parse(readFileSync(path.join(path.dirname(packageDir), 'rejects.csv'), 'utf8'), {
      columns: true,
    }) as Record<string, string>[];
    expect(rejects.map((r) => r._column)).toEqual(BAD_ROWS.map(() => 'readings'));
    rejects.forEach((row, k) => {
      expect(row.readings).toBe(BAD_ROWS[k][0]);
      expect(row._reason.startsWith(BAD_ROWS[k][1])).toBe(true);
    });

    const manifest = JSON.parse(readFileSync(path.join(packageDir, 'manifest.json'), 'utf8'));
    expect(manifest.lineage.data[0]).toMatchObject({ rowsAccepted: goodRows, rowsRejected: BAD_ROWS.length });
    expect(manifest.signature.inputs).toEqual([
      expect.objectContaining({
        name: 'readings',
        type: 'sequence',
        fields: ['s1', 's2'],
        length: { min: 3, max: 200 },
      }),
    ]);
    expect(manifest.signature.id).toBe('asset');
    expect(manifest.featureNames).toEqual(['readings_window']);
    expect(manifest.model.family).toBe('window_centroid');
    expect(manifest.metrics.cv.accuracy.mean).toBeGreaterThan(0.9);
  });

  it('serves name@alias: JSON sequences in, the package scoring out', async () => {
    server = await startServe([
      '--project',
      dir,
      '--model',
      'sequence-demo@champion',
      '--prediction-log',
      'jsonl+file://prediction-log',
    ]);
    base = server.base;
    const random = new Random(8);
    const steps = MODES.map((_, mode) => series(random, mode, 6 + mode));
    const records = [
      { asset: 'x1', readings: steps[0] },
      { asset: 'x2', readings: steps[1].map(([s1, s2]) => ({ s1, s2 })) },
      { asset: 'x3', readings: steps[2] },
    ];
    const body = await post('/v1/models/sequence-demo/predict', records);
    expect(body.status).toBe(200);
    const { predictions } = body.json as {
      predictions: { label: string; probabilities: Record<string, number> }[];
    };
    expect(predictions.map((p) => p.label)).toEqual([...MODES]);

    const pkg = loadPackage(packageDir);
    const scored = await pkg.score(
      makeTable([
        ['readings', { type: 'sequence', width: 2, values: steps.map((s) => Float64Array.from(s.flat())) }],
      ]),
    );
    const classes = pkg.output.classes;
    predictions.forEach((prediction, i) => {
      expect(prediction.label).toBe(scored.labels[i]);
      classes.forEach((c, k) => {
        expect(prediction.probabilities[c]).toBe(scored.scores[i * classes.length + k]);
      });
    });

    // The Open Inference Protocol v2: a [n, timesteps, 2] FP64 tensor, rows of one length.
    const v2 = await post('/v2/models/sequence-demo/infer', {
      inputs: [{ name: 'readings', datatype: 'FP64', shape: [1, 6], data: steps[0].flat() }],
    });
    expect(v2.status).toBe(400);
    expect((v2.json as { details: unknown[] }).details).toEqual([
      { path: '/inputs/0/shape', reason: 'readings: expected shape [n, timesteps, 2], got [1,6]' },
    ]);
    const infer = await post('/v2/models/sequence-demo/infer', {
      inputs: [{ name: 'readings', datatype: 'FP64', shape: [1, 6, 2], data: steps[0].flat() }],
    });
    expect(infer.status).toBe(200);
    const outputs = (infer.json as { outputs: { name: string; data: unknown[] }[] }).outputs;
    expect(outputs.find((o) => o.name === 'probabilities')!.data).toEqual(
      classes.map((c) => predictions[0].probabilities[c]),
    );
  });

  it('answers 400 with the JSON path of every bad element, and a window too short as the row error', async () => {
    const ok: Step[] = [
      [0, 0],
      [0, 0],
      [0, 0],
      [0, 0],
      [0, 0],
    ];
    const bad = await post('/v1/models/sequence-demo/predict', [
      { readings: [...ok.slice(0, 3), { s1: 1, s2: 'x' }, ...ok.slice(4)] },
      { readings: ok.slice(0, 2) },
      { readings: 'abc' },
      { readings: [[1, 2, 3], ...ok.slice(1)] },
      { readings: [ok[0], { s1: 1, s3: 2 }, ...ok.slice(2)] },
      { readings: [[1, null], ...ok.slice(1)] },
      { readings: null },
    ]);
    expect(bad.status).toBe(400);
    expect((bad.json as { details: unknown[] }).details).toEqual([
      { path: '/0/readings/3/s2', reason: 'expected a number, got string "x"' },
      { path: '/1/readings', reason: '2 timesteps, at least 3 needed' },
      { path: '/2/readings', reason: 'expected a JSON array of timesteps, got string "abc"' },
      { path: '/3/readings/0', reason: 'expected 2 values (s1, s2), got 3' },
      { path: '/4/readings/1/s2', reason: 'missing field' },
      { path: '/4/readings/1/s3', reason: 'unknown field (fields: s1, s2)' },
      { path: '/5/readings/0/1', reason: 'expected a number, got null' },
      { path: '/6/readings', reason: 'null for a required field' },
    ]);

    // Valid for the signature (at least 3 timesteps) but shorter than the step's window.
    const short = await post('/v1/models/sequence-demo/predict', [
      { readings: ok },
      { readings: ok.slice(1) },
    ]);
    expect(short.status).toBe(400);
    expect((short.json as { details: unknown[] }).details).toEqual([
      { path: '/1', reason: 'readings: 4 timesteps, the window needs 5' },
    ]);
  });

  it('describes the sequence field in the docs, and logs sequences as arrays', async () => {
    const docs = (await fetch(`${base}/docs/json`).then((r) => r.json())) as OpenApi;
    const readings = docs.components.schemas['sequence-demo.Record'].properties.readings;
    expect(readings).toMatchObject({ type: 'array', minItems: 3, maxItems: 200 });
    expect(readings.items.oneOf[1]).toMatchObject({ type: 'object', required: ['s1', 's2'] });
    const infer = docs.paths['/v2/models/sequence-demo/infer'].post.description;
    expect(infer).toContain('readings (FP64 [n, timesteps, 2])');

    await server!.stop();
    server = undefined;
    const logDir = path.join(dir, 'prediction-log', 'predictions');
    const files = readdirSync(logDir, { recursive: true, encoding: 'utf8' }).filter((f) =>
      f.endsWith('.jsonl'),
    );
    const logged = files.flatMap((f) =>
      readFileSync(path.join(logDir, f), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { input: { readings: unknown } }),
    );
    expect(logged.length).toBe(4);
    for (const entry of logged) {
      expect(Array.isArray(entry.input.readings)).toBe(true);
      for (const step of entry.input.readings as unknown[])
        expect(step).toEqual([expect.any(Number), expect.any(Number)]);
    }
  });

  async function post(route: string, payload: unknown): Promise<{ status: number; json: unknown }> {
    const response = await fetch(`${base}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
    });
    return { status: response.status, json: await response.json() };
  }
});

describe('sequence columns in the feature pipeline', () => {
  const readings = {
    type: 'sequence' as const,
    width: 2,
    values: [Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])],
  };
  const level = { type: 'number' as const, values: Float64Array.from([1]) };

  it('refuses a sequence column left as a feature, saying what to add', async () => {
    await expect(
      fitPipeline(
        [],
        makeTable([
          ['readings', readings],
          ['level', level],
        ]),
      ),
    ).rejects.toThrow(
      'feature pipeline: column "readings" is sequence: add a step that turns it into features',
    );
    const twice = makeTable([
      ['readings', readings],
      ['other', readings],
    ]);
    await expect(fitPipeline([{ step: 'last_window', column: 'readings', size: 2 }], twice)).rejects.toThrow(
      /column "other" would be features too: drop them or exclude them \("other": add a step that turns it into features/,
    );
  });

  it('takes sequence inputs at scoring only as sequences', async () => {
    const { pipeline, X } = await fitPipeline(
      [{ step: 'last_window', column: 'readings', size: 2 }],
      makeTable([['readings', readings]]),
    );
    expect(pipeline.inputs).toEqual([{ name: 'readings', type: 'sequence' }]);
    expect(X).toMatchObject({ kind: 'tensor', shape: [1, 2, 2] });
    expect(() => pipeline.transform(makeTable([['readings', level]]))).toThrow(
      'input column "readings" is number; the feature pipeline was fitted on sequence',
    );
  });
});
