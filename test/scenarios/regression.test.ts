/**
 * A regression project end to end through the built CLI: seeded data (three numbers and a category,
 * y linear in them plus noise), `kiln train` with the ridge family, the report's regression metrics,
 * `kiln serve` answering `{value}` on every route, `kiln predict` writing `prediction`, and
 * `kiln evaluate` measuring a labelled file with the regression metrics.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTable } from '../../src/data/load.js';
import { loadPackage, type PackagedModel } from '../../src/packaging/load.js';
import { buildServer } from '../../src/serving/server/app.js';
import { textRouteSchema } from '../../src/serving/server/config.js';
import { PackageDirectorySource } from '../../src/serving/server/sources.js';
import { Random } from '../../src/util/random.js';
import { openSqlite } from '../../src/util/sqlite.js';
import { readCsv, tempDir, trainOutput } from '../cli/harness.js';
import { runCli, type ServeProcess, startServe } from '../serving/server/built-cli.js';

const REGIONS = ['north', 'south', 'east'] as const;
const EFFECT: Record<(typeof REGIONS)[number], number> = { north: 0, south: 4, east: -3 };
const MODEL = 'flat-prices';

interface Row {
  x1: number;
  x2: number;
  x3: number;
  region: (typeof REGIONS)[number];
  y: number;
}

/** y = 10 + 3 x1 - 2 x2 + 0.5 x3 + region effect + N(0, 0.5²). */
function rows(n: number, seed: number): Row[] {
  const rng = new Random(seed);
  return Array.from({ length: n }, () => {
    const x1 = 10 * rng.next();
    const x2 = 5 + 2 * rng.normal();
    const x3 = 10 * rng.next() - 5;
    const region = REGIONS[rng.below(REGIONS.length)];
    const y = 10 + 3 * x1 - 2 * x2 + 0.5 * x3 + EFFECT[region] + 0.5 * rng.normal();
    return { x1, x2, x3, region, y };
  });
}

function writeRows(file: string, data: readonly Row[], withTarget = true): void {
  const header = withTarget ? 'x1,x2,x3,region,y' : 'x1,x2,x3,region';
  const lines = data.map((r) =>
    [r.x1, r.x2, r.x3, r.region, ...(withTarget ? [r.y] : [])].map((v) => String(v)).join(','),
  );
  writeFileSync(file, `${[header, ...lines].join('\n')}\n`);
}

const project = {
  name: MODEL,
  seed: 0,
  data: {
    source: { path: 'data/train.csv' },
    schema: {
      x1: { type: 'number', nullable: false },
      x2: { type: 'number', nullable: false },
      x3: { type: 'number', nullable: false },
      region: { type: 'category', nullable: false, values: [...REGIONS] },
      y: { type: 'number', nullable: false },
    },
    onInvalid: 'quarantine',
  },
  target: { column: 'y' },
  split: { strategy: 'random', folds: 5 },
  features: [
    { step: 'one_hot', columns: ['region'] },
    { step: 'scale', columns: 'numeric' },
  ],
  // No task: the ridge family solves regression only, which implies it.
  model: { family: 'ridge', params: { alpha: 1 } },
  evaluation: { bootstrap: 200 },
  gates: ['r2 >= 0.9'],
};

describe('a regression project, end to end through the CLI', () => {
  const dir = tempDir('kiln-regression-');
  const holdout = path.join(dir, 'holdout.csv');
  const fresh = path.join(dir, 'fresh.csv');
  let packageDir: string;
  let reportPath: string;
  let pkg: PackagedModel;

  beforeAll(async () => {
    mkdirSync(path.join(dir, 'data'));
    writeRows(path.join(dir, 'data', 'train.csv'), rows(600, 1));
    writeRows(holdout, rows(300, 2));
    writeRows(fresh, rows(200, 3), false);
    writeFileSync(path.join(dir, 'kiln.yaml'), JSON.stringify(project, null, 2));
    const trained = await runCli(['train', dir], { cwd: dir });
    expect(trained.code, trained.stderr).toBe(0);
    ({ packageDir, reportPath } = trainOutput(trained.stdout));
    pkg = loadPackage(packageDir);
  }, 120_000);

  /** The package's own in-process scores of a file's rows (the reference every route must match). */
  const expected = async (file: string): Promise<Float64Array> => {
    const schema = Object.fromEntries(pkg.manifest.signature.inputs.map(({ name, ...spec }) => [name, spec]));
    const { table } = await loadTable(
      { source: { ...pkg.manifest.reading, path: file }, schema, onInvalid: 'fail', extraColumns: 'ignore' },
      { baseDir: dir },
    );
    return (await pkg.score(table)).scores;
  };

  it('trains a regression package and reports MAE, RMSE and a high R², with no classes', async () => {
    expect(pkg.task.name).toBe('regression');
    expect(pkg.output.classes).toEqual([]);
    const report = JSON.parse(readFileSync(path.join(path.dirname(reportPath), 'report.json'), 'utf8'));
    for (const metric of ['mae', 'mse', 'rmse', 'r2', 'mape'])
      expect(report.metrics[metric]).toBeTypeOf('number');
    expect(report.metrics.r2).toBeGreaterThan(0.95);
    expect(report.metrics.rmse).toBeLessThan(1);
    expect(report.headline).toBe('rmse');
    expect(report.gates).toEqual([expect.objectContaining({ passed: true })]);
    const html = readFileSync(reportPath, 'utf8');
    expect(html).toContain('regression: a value per row');
    expect(html).toContain('Root mean squared error');
    expect(html).not.toContain('Confusion matrix');
    expect(html).not.toContain('Per-class report');
  });

  it('kiln predict writes one prediction per row, equal to the package, sorted on request', async () => {
    const output = path.join(dir, 'predictions.csv');
    const result = await runCli(['predict', '--model', packageDir, '--input', fresh, '--output', output]);
    expect(result.code, result.stderr).toBe(0);
    const { header, rows: written } = readCsv(output);
    expect(header).toEqual(['line', 'prediction']);
    const reference = await expected(fresh);
    expect(written.map((r) => Number(r.prediction))).toEqual(Array.from(reference));

    const sorted = path.join(dir, 'sorted.csv');
    expect(
      (
        await runCli([
          'predict',
          '--model',
          packageDir,
          '--input',
          fresh,
          '--output',
          sorted,
          '--sort',
          'desc',
        ])
      ).code,
    ).toBe(0);
    const values = readCsv(sorted).rows.map((r) => Number(r.prediction));
    expect(values).toEqual([...reference].sort((a, b) => b - a));
  });

  it('kiln evaluate measures a labelled file with the regression metrics and writes the report', async () => {
    const report = path.join(dir, 'eval.html');
    const result = await runCli(['evaluate', '--model', packageDir, '--input', holdout, '--report', report]);
    expect(result.code, result.stderr).toBe(0);
    for (const metric of ['mae', 'mse', 'r2', 'mape'])
      expect(result.stdout).toMatch(new RegExp(`^${metric}\\s`, 'm'));
    // The headline with its bootstrap interval.
    expect(result.stdout).toMatch(/^rmse \*\s+0\.\d+\s+\[0\.\d+, 0\.\d+\]/m);
    expect(result.stdout).not.toContain('Confusion matrix');
    const r2 = Number(/^r2\s+(\S+)/m.exec(result.stdout)![1]);
    expect(r2).toBeGreaterThan(0.95);
    const html = readFileSync(report, 'utf8');
    expect(html).toContain('300 labelled rows');
    expect(html).not.toContain('Confusion matrix');
  });

  it('refuses to serve a text route with a regression model, saying why', async () => {
    const app = buildServer({
      sources: [new PackageDirectorySource(packageDir)],
      textRoutes: [
        textRouteSchema.parse({ path: '/ask', model: MODEL, column: 'region', field: 'q', batchField: 'qs' }),
      ],
    });
    await expect(app.kiln.ready).rejects.toThrow(
      `text route /ask: model "${MODEL}" is a regression model; text routes answer classes and need a classification model`,
    );
    await app.close();
  });

  describe('kiln serve', () => {
    let server: ServeProcess | undefined;
    const post = (route: string, body: unknown) =>
      fetch(`${server!.base}${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });

    beforeAll(async () => {
      server = await startServe(['--model', packageDir, '--open-feedback'], { cwd: dir });
    }, 60_000);
    afterAll(async () => {
      if (server) expect(await server.stop()).toBe(0);
    });

    it('answers {value} per record, the package value, and positional instances as numbers', async () => {
      const reference = await expected(fresh);
      const records = readCsv(fresh)
        .rows.slice(0, 5)
        .map((r) => ({
          x1: Number(r.x1),
          x2: Number(r.x2),
          x3: Number(r.x3),
          region: r.region,
        }));
      const response = await post(`/v1/models/${MODEL}/predict`, records);
      expect(response.status).toBe(200);
      const body = (await response.json()) as { predictions: { prediction_id: string; value: number }[] };
      expect(body.predictions).toHaveLength(5);
      body.predictions.forEach((p, i) => {
        expect(Object.keys(p).sort()).toEqual(['prediction_id', 'value']);
        expect(p.value).toBeCloseTo(reference[i], 9);
      });
      const instances = await post(`/v1/models/${MODEL}/predict`, {
        instances: records.map((r) => [r.x1, r.x2, r.x3, r.region]),
      });
      const positional = (await instances.json()) as { predictions: number[]; prediction_ids: string[] };
      expect(positional.predictions.map((v) => Number(v.toFixed(9)))).toEqual(
        Array.from(reference.subarray(0, 5), (v) => Number(v.toFixed(9))),
      );
      expect(positional).not.toHaveProperty('labels');
    });

    it('speaks OIP v2 with a FP64 value output', async () => {
      const meta = (await (await fetch(`${server!.base}/v2/models/${MODEL}`)).json()) as {
        outputs: { name: string }[];
      };
      expect(meta.outputs.map((o) => o.name)).toEqual(['value', 'prediction_id']);
      const response = await post(`/v2/models/${MODEL}/infer`, {
        inputs: [
          { name: 'x1', shape: [2], datatype: 'FP64', data: [1, 9] },
          { name: 'x2', shape: [2], datatype: 'FP64', data: [5, 5] },
          { name: 'x3', shape: [2], datatype: 'FP64', data: [0, 0] },
          { name: 'region', shape: [2], datatype: 'BYTES', data: ['north', 'south'] },
        ],
      });
      expect(response.status).toBe(200);
      const body = (await response.json()) as {
        outputs: { name: string; datatype: string; shape: number[]; data: number[] }[];
      };
      expect(body.outputs).toHaveLength(1);
      expect(body.outputs[0]).toMatchObject({ name: 'value', datatype: 'FP64', shape: [2] });
      // 10 + 3 - 10 = 3 and 10 + 27 - 10 + 4 = 31, up to the noise and the ridge penalty.
      expect(body.outputs[0].data[0]).toBeCloseTo(3, 0);
      expect(body.outputs[0].data[1]).toBeCloseTo(31, 0);
      const unknown = await post(`/v2/models/${MODEL}/infer`, { inputs: [], outputs: [{ name: 'label' }] });
      expect(((await unknown.json()) as { error: string }).error).toContain('outputs: value, prediction_id');
    });

    it('documents the value response, takes numeric feedback, and counts no classes', async () => {
      const docs = (await (await fetch(`${server!.base}/docs/json`)).json()) as {
        components: { schemas: Record<string, { properties: Record<string, unknown> }> };
      };
      expect(Object.keys(docs.components.schemas[`${MODEL}.Prediction`].properties)).toEqual([
        'prediction_id',
        'value',
        'warnings',
      ]);
      const answer = (await (
        await post(`/v1/models/${MODEL}/predict`, { x1: 2, x2: 4, x3: 1, region: 'east' })
      ).json()) as {
        predictions: { prediction_id: string; value: number }[];
      };
      const id = answer.predictions[0].prediction_id;
      const refused = await post(`/v1/models/${MODEL}/feedback`, { prediction_id: id, label: 'high' });
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { details: unknown[] }).details).toEqual([
        { path: '/label', reason: 'expected a finite number' },
      ]);
      expect((await post(`/v1/models/${MODEL}/feedback`, { prediction_id: id, label: 12.5 })).status).toBe(
        202,
      );
      const metrics = await (await fetch(`${server!.base}/metrics`)).text();
      expect(metrics).toContain(`kiln_predict_stage_seconds_count{stage="predict",model="${MODEL}"`);
      expect(metrics).not.toMatch(/kiln_predictions_total\{/);
    });

    it('kiln predict --server writes the same prediction file through the server', async () => {
      const output = path.join(dir, 'remote.csv');
      const result = await runCli([
        'predict',
        '--server',
        server!.base,
        '--model',
        MODEL,
        '--input',
        fresh,
        '--output',
        output,
        '--batch-size',
        '64',
      ]);
      expect(result.code, result.stderr).toBe(0);
      const local = readCsv(path.join(dir, 'predictions.csv'));
      expect(readCsv(output)).toEqual(local);
    });

    it('logs each prediction with the task output, {value}', async () => {
      const stopping = server!;
      server = undefined;
      // SIGTERM drains and flushes the log.
      expect(await stopping.stop()).toBe(0);
      const db = openSqlite(path.join(dir, '.kiln', 'predictions.db'), { readOnly: true });
      try {
        const outputs = db.prepare('SELECT output FROM predictions').all() as { output: string }[];
        expect(outputs.length).toBeGreaterThanOrEqual(213);
        for (const { output } of outputs) expect(Object.keys(JSON.parse(output))).toEqual(['value']);
        const feedback = db.prepare('SELECT label FROM feedback').all() as { label: string }[];
        expect(feedback).toEqual([{ label: '12.5' }]);
      } finally {
        db.close();
      }
    });
  });
});
