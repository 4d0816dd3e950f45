import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { makeTable } from '../../src/data/table.js';
import { fitPipeline } from '../../src/features/pipeline.js';
import { logisticRegression, logisticRegressionParams } from '../../src/models/logistic-regression.js';
import type { ManifestInput } from '../../src/packaging/manifest.js';
import { exportPipelineToOnnx } from '../../src/packaging/onnx.js';
import { writePackage } from '../../src/packaging/write.js';

/**
 * A one-feature logistic-regression package with its ONNX graph, written to a new temp folder.
 * `shift` changes the data (and so the weights and the package digest); `extra` sets manifest members
 * (metrics, card, reference) as written, since editing them afterwards makes a modified package.
 */
export async function writeTinyPackage(
  shift = 0,
  name = 'tiny',
  extra: Partial<Pick<ManifestInput, 'metrics' | 'card' | 'reference'>> = {},
): Promise<string> {
  const x = Float64Array.from({ length: 40 }, (_, i) => i / 10);
  const table = makeTable([['x', { type: 'number', values: x }]]);
  const { pipeline, X } = await fitPipeline([{ step: 'scale', columns: 'numeric' }], table);
  const classes = ['no', 'yes'];
  const y = Int32Array.from(x, (v, i) => (v + (i % 3) * 0.7 > 2.5 + shift ? 1 : 0));
  const model = await logisticRegression.fit(X, y, {
    params: logisticRegressionParams.parse({}),
    task: 'binary',
    classes,
    seed: 0,
  });
  const saved = model.save();
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'kiln-pkg-')), 'package');
  const graph = exportPipelineToOnnx({ pipelineState: pipeline.state(), modelSaved: saved, classes });
  writePackage(
    dir,
    {
      format: 'kiln.model-package/1',
      name,
      createdAt: new Date().toISOString(),
      task: 'binary_classification',
      signature: { inputs: [{ name: 'x', type: 'number', nullable: true }] },
      output: {
        target: 'y',
        targetSpec: { type: 'category', nullable: false },
        classes,
        positive: 'yes',
        threshold: 0.5,
      },
      reading: { delimiter: ',', quote: '"', header: true, encoding: 'utf-8', missing: [''], rename: {} },
      features: pipeline.state(),
      featureNames: [...pipeline.featureNames],
      model: { family: 'logistic_regression' },
      metrics: {},
      lineage: { runId: null, project: name, data: [], codeVersion: 'test', seed: 0 },
      ...extra,
    },
    saved,
    graph,
  );
  return dir;
}
