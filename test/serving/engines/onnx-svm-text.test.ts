/**
 * Text packages with a Platt-calibrated linear SVM (posos' pipeline: TF-IDF words and char_wb), as
 * one ONNX graph: the graph against the JS engine, then `kiln serve --engine onnx` (the built CLI)
 * against `kiln serve --engine js` over HTTP.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPackage, type PackagedModel } from '../../../src/packaging/load.js';
import { exportPipelineToOnnx, ONNX_FILE } from '../../../src/packaging/onnx.js';
import { createEngine } from '../../../src/scoring/engines/index.js';
import { OnnxEngine } from '../../../src/scoring/engines/onnx.js';
import { startServe } from '../server/built-cli.js';
import { maxAbsDiff, textRows, textSvmPackage, trainingSandbox } from './fixtures.js';

const sandbox = trainingSandbox();
let intents: PackagedModel;
let binary: PackagedModel;

beforeAll(async () => {
  intents = loadPackage(await textSvmPackage(sandbox.dir));
  binary = loadPackage(await textSvmPackage(sandbox.dir, { binary: true }));
}, 300_000);

afterAll(() => sandbox.cleanup());

describe('a calibrated linear SVM on TF-IDF text, exported to ONNX', () => {
  for (const which of ['multiclass', 'binary'] as const) {
    it(`${which}: the graph gives the JS probabilities (1e-5; in practice ~1e-15)`, async () => {
      const model = which === 'binary' ? binary : intents;
      expect(model.manifest.model.family).toBe('linear_svm');
      expect(model.manifest.model.onnx).toBe(ONNX_FILE);
      expect(existsSync(path.join(model.dir, ONNX_FILE))).toBe(true);
      const rows = textRows(400, 9);
      const k = model.output.classes.length;
      expect(k).toBe(which === 'binary' ? 2 : 4);
      const js = (await model.score(rows)).scores;
      for (const graph of [path.join(model.dir, ONNX_FILE), exportPipelineToOnnx(model)]) {
        const engine = await OnnxEngine.create(graph);
        const got = await engine.run(rows);
        const diff = maxAbsDiff(got, js);
        console.log(
          `${which} SVM text parity: max |onnx - js| = ${diff.toExponential(2)} over ${rows.nRows} rows`,
        );
        expect(diff).toBeLessThanOrEqual(1e-5);
        for (let i = 0; i < rows.nRows; i++) {
          const sum = got.subarray(i * k, (i + 1) * k).reduce((a, b) => a + b, 0);
          expect(sum).toBeCloseTo(1, 12);
        }
        await engine.release();
      }
      const viaCreate = await createEngine(model, 'onnx');
      expect(maxAbsDiff((await viaCreate.score(rows)).scores, js)).toBeLessThanOrEqual(1e-5);
      await viaCreate.release();
    });
  }

  it('serves the same predictions with `kiln serve --engine onnx` as with the JS engine', async () => {
    const texts = textRows(60, 11).columns.get('question')!.values as (string | null)[];
    for (const model of [intents, binary]) {
      const url = `/v1/models/${model.manifest.name}/predict`;
      // "" reads as missing, as in a file (the package's reading.missing): the required field refuses it.
      const records = texts.filter((t) => t !== null && t !== '').map((question) => ({ question }));
      const answers = [];
      for (const engine of ['js', 'onnx']) {
        const server = await startServe([
          '--model',
          model.dir,
          '--engine',
          engine,
          '--prediction-log',
          'off',
        ]);
        try {
          const reply = await fetch(`${server.base}${url}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(records),
          });
          expect(reply.status).toBe(200);
          answers.push(
            (await reply.json()) as {
              predictions: { label: string; probabilities: Record<string, number> }[];
            },
          );
        } finally {
          await server.stop();
        }
      }
      const [js, onnx] = answers;
      expect(onnx.predictions).toHaveLength(records.length);
      let worst = 0;
      js.predictions.forEach((p, i) => {
        expect(onnx.predictions[i].label).toBe(p.label);
        for (const [c, v] of Object.entries(p.probabilities))
          worst = Math.max(worst, Math.abs(v - onnx.predictions[i].probabilities[c]));
      });
      console.log(`${model.manifest.name} served: max |onnx - js| = ${worst.toExponential(2)}`);
      expect(worst).toBeLessThanOrEqual(1e-9);
    }
  }, 120_000);
});
