/**
 * Kiln extended from outside src/, through the public SDK only: test/sdk/project brings its own model
 * family (nearest centroid, missing values handled natively, sample weights) and feature step
 * (interactions). Both keep the same contracts as the built-ins, and the project trains, packages,
 * registers and serves over HTTP with the built CLI, with no change to src/.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTable } from '../../src/data/table.js';
import { registerFeatureStep } from '../../src/features/steps/registry.js';
import { registerModelFamily } from '../../src/models/registry.js';
import { loadPackage } from '../../src/packaging/load.js';
import { Random } from '../../src/util/random.js';
import { describeFeatureStepContract } from '../contracts/feature-step.js';
import { describeModelFamilyContract } from '../contracts/model-family.js';
import { num } from '../features/helpers.js';
import { runCli, type ServeProcess, startServe } from '../serving/server/built-cli.js';
import { expectSdkOnlyImports } from '../support/sdk-project.js';
import { interactions, nearestCentroid } from './project/plugins.js';

const PROJECT = fileURLToPath(new URL('./project', import.meta.url));

describeModelFamilyContract({ family: nearestCentroid, weights: { params: {}, tolerance: 1e-12 } });

const rng = new Random(5);
const numbers = (n: number) => num(Array.from({ length: n }, () => rng.normal()));
describeFeatureStepContract({
  kind: interactions,
  config: { step: 'interactions', columns: ['a', 'b', 'c'] },
  train: makeTable([
    ['a', numbers(50)],
    ['b', numbers(50)],
    ['c', numbers(50)],
  ]),
  score: makeTable([
    ['a', numbers(20)],
    ['b', numbers(20)],
    ['c', numbers(20)],
  ]),
  wrongType: makeTable([
    ['a', numbers(50)],
    ['b', { type: 'category', values: Array.from({ length: 50 }, () => 'x') }],
    ['c', numbers(50)],
  ]),
});

describe('a project with its own family and step, through the SDK only', () => {
  let dir: string;
  let server: ServeProcess | undefined;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'kiln-sdk-'));
    cpSync(PROJECT, dir, { recursive: true });
    mkdirSync(path.join(dir, 'data'));
    const random = new Random(11);
    const lines = ['x1,x2,weight,label'];
    for (let i = 0; i < 600; i++) {
      const x1 = random.normal();
      const x2 = random.normal();
      const label = x1 * x2 + 0.3 * random.normal() > 0 ? 'b' : 'a';
      // Every 10th x1 is missing: the family takes it as it is, no impute step.
      lines.push(`${i % 10 === 0 ? '' : x1.toFixed(4)},${x2.toFixed(4)},${i % 3 === 0 ? 2 : 1},${label}`);
    }
    writeFileSync(path.join(dir, 'data', 'train.csv'), `${lines.join('\n')}\n`);
    registerModelFamily(nearestCentroid);
    registerFeatureStep(interactions);
  });

  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('imports nothing but the SDK and its own files', () => {
    expectSdkOnlyImports(PROJECT);
  });

  it('trains, packages and registers with the built CLI, and serves the registered version over HTTP', async () => {
    const trained = await runCli(['train', dir]);
    expect(trained.stderr).not.toMatch(/"level":50/);
    expect(trained.code).toBe(0);
    const packageDir = /^package:\s+(\S+)$/m.exec(trained.stdout)?.[1];
    expect(packageDir).toBeDefined();
    expect(trained.stdout).toMatch(/^model:\s+sdk-demo version 1 \(@champion\)/m);

    const manifest = JSON.parse(readFileSync(path.join(packageDir!, 'manifest.json'), 'utf8'));
    expect(manifest.model.family).toBe('nearest_centroid');
    expect(manifest.task).toBe('binary');
    expect(manifest.features.steps.map((s: { config: { step: string } }) => s.config.step)).toEqual([
      'interactions',
    ]);
    // The family handles missing values: the package passes them through instead of refusing rows.
    expect(manifest.features.allowMissing).toBe(true);
    expect(manifest.featureNames).toEqual(['x1', 'x2', 'x1_x_x2']);
    expect(manifest.metrics.cv.roc_auc.mean).toBeGreaterThan(0.75);

    server = await startServe(['--project', dir, '--model', 'sdk-demo@champion']);
    const records = [
      { x1: 1.2, x2: 0.9 },
      { x1: null, x2: -0.4 },
      { x1: -1.5, x2: 0.8 },
    ];
    const response = await fetch(`${server.base}/v1/models/sdk-demo/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(records),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      version: string;
      predictions: { label: string; probabilities: Record<string, number> }[];
    };
    expect(body.version).toBe('1');

    // The same rows scored in this process through the package's own JS path.
    const pkg = loadPackage(packageDir!);
    const scored = await pkg.score(
      makeTable([
        ['x1', num(records.map((r) => r.x1 ?? Number.NaN))],
        ['x2', num(records.map((r) => r.x2))],
      ]),
    );
    body.predictions.forEach((prediction, i) => {
      expect(prediction.label).toBe(scored.labels[i]);
      expect(prediction.probabilities.b).toBe(scored.scores[i * 2 + 1]);
    });
    expect(body.predictions[0].label).toBe('b');
    expect(body.predictions[2].label).toBe('a');
  });
});
