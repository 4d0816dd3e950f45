/**
 * Values a model never saw in training, over HTTP: warned about per record and counted in /metrics when
 * the package scores them anyway; a string the package reads as missing in a file ("") is missing over
 * HTTP too, so the same rows score the same through the server and through `kiln predict`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeCustomerRiskLikeCsv } from '../../../src/quickstart/customer-risk-data.js';
import { quickstartProject } from '../../../src/quickstart/project.js';
import { batchPredict } from '../../../src/scoring/batch.js';
import { formatProbability } from '../../../src/scoring/output.js';
import { buildServer } from '../../../src/serving/server/app.js';
import { PackageDirectorySource } from '../../../src/serving/server/sources.js';
import { customerRecords, json, MODEL, tempDir, trainPackage } from './fixture.js';

const PREDICT = `/v1/models/${MODEL}/predict`;
const POKER = { field: 'product', reason: 'unseen level "poker": scored as no level seen in training' };

interface Prediction {
  label: string;
  probabilities: Record<string, number>;
  warnings?: unknown;
}

/**
 * The quickstart pipeline with `product` declared without its levels (any string passes validation)
 * and missing in one training row in ten (so one_hot has a `nan` level for it).
 */
async function packageWithMissingProducts(): Promise<string> {
  const file = path.join(tempDir(), 'customers.csv');
  await writeCustomerRiskLikeCsv(file, 2_000, 0);
  const [header, ...lines] = readFileSync(file, 'utf8').trim().split('\n');
  const product = header.split(',').indexOf('product');
  const blanked = lines.map((line, i) => {
    if (i % 10 !== 0) return line;
    const cells = line.split(',');
    cells[product] = '';
    return cells.join(',');
  });
  writeFileSync(file, `${[header, ...blanked].join('\n')}\n`);
  return trainPackage({
    data: {
      ...quickstartProject.data,
      source: { path: file },
      schema: { ...quickstartProject.data.schema, product: { type: 'category', nullable: true } },
    },
  });
}

describe('kiln serve: values unseen in training and missing strings', () => {
  let packageDir: string;
  let app: FastifyInstance;
  const record = { deposits: 40, withdrawals: 10, stakes: 20, product: 'bet', age: '<30' };

  beforeAll(async () => {
    packageDir = await packageWithMissingProducts();
    app = buildServer({ sources: [new PackageDirectorySource(packageDir)] });
    await app.kiln.ready;
  });
  afterAll(() => app.close());

  const post = (url: string, payload: unknown) => app.inject({ method: 'POST', url, ...json(payload) });

  it('scores "" as missing over HTTP exactly as `kiln predict` does in a CSV file', async () => {
    const records = (await customerRecords(60, 3)).map((r, i) => ({
      ...r,
      product: i % 3 === 0 ? '' : r.product,
      withdrawals: i % 4 === 0 ? '' : r.withdrawals,
    }));
    const response = await post(PREDICT, records);
    expect(response.statusCode).toBe(200);
    const predictions: Prediction[] = response.json().predictions;

    const dir = tempDir();
    const input = path.join(dir, 'rows.csv');
    const cell = (v: string | number | null) => (v === null ? '' : String(v));
    writeFileSync(
      input,
      `deposits,withdrawals,stakes,product,age\n${records
        .map((r) => [r.deposits, r.withdrawals, r.stakes, r.product, r.age].map(cell).join(','))
        .join('\n')}\n`,
    );
    const output = path.join(dir, 'scored.csv');
    const result = await batchPredict({ modelDir: packageDir, input, output });
    expect(result.rowsScored).toBe(records.length);
    const [header, ...rows] = readFileSync(output, 'utf8').trim().split('\n');
    expect(header).toBe('line,label,p_0,p_1');
    rows.forEach((row, i) => {
      const [, label, p0, p1] = row.split(',');
      const p = predictions[i];
      expect([
        p.label,
        formatProbability(p.probabilities['0']),
        formatProbability(p.probabilities['1']),
      ]).toEqual([label, p0, p1]);
      // Missing products have their own level: nothing unseen.
      expect(p.warnings).toBeUndefined();
    });
    expect(result.unseen).toEqual({});
  });

  it('refuses "" for a required field as it refuses null, naming the field', async () => {
    const response = await post(PREDICT, { ...record, deposits: '', age: '' });
    expect(response.statusCode).toBe(400);
    expect(response.json().details).toEqual([
      {
        path: '/deposits',
        reason: `string "" is a missing value (the package's reading.missing) for a required field`,
      },
      {
        path: '/age',
        reason: `string "" is a missing value (the package's reading.missing) for a required field`,
      },
    ]);
  });

  it('answers an unseen level with a warning on its record and counts it per field in /metrics', async () => {
    const metric = async () => {
      const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      const line = text
        .split('\n')
        .find((l) => l.startsWith(`kiln_unseen_levels_total{model="${MODEL}",field="product"}`));
      return line === undefined ? 0 : Number(line.split(' ').at(-1));
    };
    expect(await metric()).toBe(0);
    const seen = (await post(PREDICT, [record])).json();
    expect(seen.predictions[0]).not.toHaveProperty('warnings');

    const response = await post(PREDICT, [record, { ...record, product: 'poker' }, record]);
    expect(response.statusCode).toBe(200);
    const { predictions } = response.json();
    expect(predictions.map((p: Prediction) => p.warnings)).toEqual([undefined, [POKER], undefined]);
    expect(predictions[1].probabilities).toEqual(expect.objectContaining({ '0': expect.any(Number) }));
    expect(await metric()).toBe(1);

    const positional = await post(PREDICT, {
      instances: [
        [40, 10, 20, 'bet', '<30'],
        [40, 10, 20, 'poker', '<30'],
      ],
    });
    expect(positional.json().warnings).toEqual([{ row: 1, ...POKER }]);
    const v2 = await post(`/v2/models/${MODEL}/infer`, {
      inputs: [
        { name: 'deposits', shape: [1], datatype: 'FP64', data: [40] },
        { name: 'withdrawals', shape: [1], datatype: 'FP64', data: [10] },
        { name: 'stakes', shape: [1], datatype: 'FP64', data: [20] },
        { name: 'product', shape: [1], datatype: 'BYTES', data: ['poker'] },
        { name: 'age', shape: [1], datatype: 'BYTES', data: ['<30'] },
      ],
    });
    expect(v2.json().warnings).toEqual([{ row: 0, ...POKER }]);
    expect(await metric()).toBe(3);
    // Label values come from the package's fields, never from what a client sends.
    expect((await app.inject({ method: 'GET', url: '/metrics' })).body).not.toContain('poker');
    // A record without warnings leaves the v1 and v2 answers as they were.
    expect((await post(PREDICT, { instances: [[40, 10, 20, 'bet', '<30']] })).json()).not.toHaveProperty(
      'warnings',
    );

    const docs = (await app.inject({ method: 'GET', url: '/docs/json' })).json();
    expect(docs.components.schemas[`${MODEL}.Prediction`].properties.warnings.items.required).toEqual([
      'field',
      'reason',
    ]);
  });

  it('warns the same with the ONNX engine, which never runs the JS pipeline on the request', async () => {
    const onnx = buildServer({ sources: [new PackageDirectorySource(packageDir, 'onnx')] });
    await onnx.kiln.ready;
    const batch = [record, { ...record, product: 'poker' }];
    const fromOnnx = (await onnx.inject({ method: 'POST', url: PREDICT, ...json(batch) })).json();
    const fromJs = (await post(PREDICT, batch)).json();
    expect(fromOnnx.predictions.map((p: Prediction) => p.warnings)).toEqual([undefined, [POKER]]);
    fromJs.predictions.forEach((p: Prediction, i: number) => {
      expect(fromOnnx.predictions[i].probabilities['1']).toBeCloseTo(p.probabilities['1'], 9);
    });
    await onnx.close();
  });

  it('counts unseen levels in batch scoring', async () => {
    const dir = tempDir();
    const input = path.join(dir, 'rows.csv');
    writeFileSync(
      input,
      'deposits,withdrawals,stakes,product,age\n40,10,20,poker,<30\n40,,20,bet,<30\n1,2,3,dice,50+\n',
    );
    const result = await batchPredict({ modelDir: packageDir, input, output: path.join(dir, 'out.csv') });
    expect(result.rowsScored).toBe(3);
    expect(result.unseen).toEqual({ product: 2 });
  });
});
