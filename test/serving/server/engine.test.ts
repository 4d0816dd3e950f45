import { beforeAll, describe, expect, it } from 'vitest';
import { quickstartProject } from '../../../src/quickstart/project.js';
import { buildServer } from '../../../src/serving/server/app.js';
import { PackageDirectorySource } from '../../../src/serving/server/sources.js';
import { type CustomerRecord, customerRecords, MODEL, trainPackage } from './fixture.js';

const PREDICT = `/v1/models/${MODEL}/predict`;

describe('kiln serve engines', () => {
  let packageDir: string;
  let records: CustomerRecord[];
  beforeAll(async () => {
    packageDir = await trainPackage();
    records = await customerRecords(200, 9);
  });

  const serveWith = async (engine: 'js' | 'onnx') => {
    const app = buildServer({ sources: [new PackageDirectorySource(packageDir, engine)] });
    await app.kiln.ready;
    return app;
  };

  it('answers the same probabilities from the package model.onnx in onnxruntime as from the JS engine', async () => {
    const js = await serveWith('js');
    const onnx = await serveWith('onnx');
    const a = (await js.inject({ method: 'POST', url: PREDICT, payload: records })).json();
    const b = (await onnx.inject({ method: 'POST', url: PREDICT, payload: records })).json();
    expect(b.predictions).toHaveLength(records.length);
    let worst = 0;
    a.predictions.forEach((p: { label: string; probabilities: Record<string, number> }, i: number) => {
      expect(b.predictions[i].label).toBe(p.label);
      for (const [c, v] of Object.entries(p.probabilities))
        worst = Math.max(worst, Math.abs(v - b.predictions[i].probabilities[c]));
    });
    expect(worst).toBeLessThan(1e-9);
    await js.close();
    await onnx.close();
  });

  it('names a row the graph refuses (NaN scores) with the JS pipeline reason, as the JS engine does', async () => {
    // product declared without its levels, and one_hot refusing unseen ones: "poker" passes validation
    // and is refused by the frozen pipeline (JS) or comes back NaN from the graph (ONNX).
    const { product: _product, ...schema } = quickstartProject.data.schema;
    const dir = await trainPackage({
      data: {
        ...quickstartProject.data,
        schema: { ...schema, product: { type: 'category', nullable: false } },
      },
      features: [
        { step: 'impute', columns: ['withdrawals'], strategy: 'median' },
        { step: 'one_hot', columns: ['product', 'age'], unseen: 'error' },
        { step: 'scale', columns: 'numeric' },
      ],
    });
    const record = { deposits: 10, withdrawals: 1, stakes: 5, product: 'bet', age: '<30' };
    const batch = [record, { ...record, product: 'poker' }, record];
    const answers = [];
    for (const engine of ['js', 'onnx'] as const) {
      const app = buildServer({ sources: [new PackageDirectorySource(dir, engine)] });
      await app.kiln.ready;
      expect((await app.inject({ method: 'POST', url: PREDICT, payload: [record] })).statusCode).toBe(200);
      const refused = await app.inject({ method: 'POST', url: PREDICT, payload: batch });
      expect(refused.statusCode).toBe(400);
      answers.push(refused.json());
      await app.close();
    }
    expect(answers[0].details).toEqual([
      { path: '/1', reason: expect.stringContaining('unseen level "poker"') },
    ]);
    expect(answers[1]).toEqual(answers[0]);
  });

  it('still refuses invalid input with field paths before the graph runs', async () => {
    const onnx = await serveWith('onnx');
    const reply = await onnx.inject({
      method: 'POST',
      url: PREDICT,
      payload: { ...records[0], product: 'poker' },
    });
    expect(reply.statusCode).toBe(400);
    expect(reply.json().details[0].path).toBe('/product');
    await onnx.close();
  });
});
