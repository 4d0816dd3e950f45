import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPackage } from '../../../src/packaging/load.js';
import { buildServer } from '../../../src/serving/server/app.js';
import { PackageDirectorySource, sourceFor } from '../../../src/serving/server/sources.js';
import { type CustomerRecord, customerRecords, json, MODEL, recordsTable, trainPackage } from './fixture.js';

const PREDICT = `/v1/models/${MODEL}/predict`;

describe('kiln serve: predictions and validation', () => {
  let packageDir: string;
  let app: FastifyInstance;
  let records: CustomerRecord[];

  beforeAll(async () => {
    packageDir = await trainPackage();
    records = await customerRecords(200, 7);
    app = buildServer({
      sources: [new PackageDirectorySource(packageDir)],
      bodyLimit: 64 * 1024,
      maxRecords: 300,
      legacyRoutes: [
        {
          path: '/predict',
          model: MODEL,
          instances: ['stakes', 'deposits'],
          defaults: { product: 'gaming', age: '<30' },
        },
      ],
    });
    await app.kiln.ready;
  });
  afterAll(() => app.close());

  const post = (url: string, payload: unknown) => app.inject({ method: 'POST', url, ...json(payload) });

  it('answers records with the package score, to 1e-12, with a UUID per prediction', async () => {
    const expected = await loadPackage(packageDir).score(recordsTable(records));
    const response = await post(PREDICT, records);
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.model).toBe(MODEL);
    expect(body.version).toBe(loadPackage(packageDir).manifest.lineage.runId);
    expect(body.predictions).toHaveLength(records.length);
    body.predictions.forEach(
      (p: { prediction_id: string; label: string; probabilities: Record<string, number> }, i: number) => {
        expect(p.prediction_id).toMatch(/^[0-9a-f-]{36}$/);
        expect(p.label).toBe(expected.labels[i]);
        expect(p.probabilities['0']).toBeCloseTo(expected.scores[2 * i], 12);
        expect(p.probabilities['1']).toBeCloseTo(expected.scores[2 * i + 1], 12);
      },
    );
    expect(new Set(body.predictions.map((p: { prediction_id: string }) => p.prediction_id)).size).toBe(
      records.length,
    );
  });

  it('accepts one record, {"records": [...]} and positional {"instances": [[...]]} alike', async () => {
    const [r] = records;
    const one = (await post(PREDICT, r)).json();
    const wrapped = (await post(PREDICT, { records: [r] })).json();
    const positional = await post(PREDICT, {
      instances: [[r.deposits, r.withdrawals, r.stakes, r.product, r.age]],
    });
    expect(positional.statusCode).toBe(200);
    const instances = positional.json();
    expect(one.predictions[0].probabilities).toEqual(wrapped.predictions[0].probabilities);
    expect(instances.predictions).toEqual([
      [one.predictions[0].probabilities['0'], one.predictions[0].probabilities['1']],
    ]);
    expect(instances.classes).toEqual(['0', '1']);
    expect(instances.labels).toEqual([one.predictions[0].label]);
    expect(instances.prediction_ids).toHaveLength(1);
  });

  it('serves the legacy contract: instances of [stakes, deposits], mapped by name (no column swap)', async () => {
    const response = await post('/predict', {
      instances: [
        [300, 20],
        [20, 300],
      ],
    });
    expect(response.statusCode).toBe(200);
    const expected = await loadPackage(packageDir).score(
      recordsTable([
        { stakes: 300, deposits: 20, withdrawals: null, product: 'gaming', age: '<30' },
        { stakes: 20, deposits: 300, withdrawals: null, product: 'gaming', age: '<30' },
      ]),
    );
    const body = response.json();
    expect(body.predictions[0][1]).toBeCloseTo(expected.scores[1], 12);
    expect(body.predictions[1][1]).toBeCloseTo(expected.scores[3], 12);
    expect(body.predictions[0][1]).not.toBeCloseTo(body.predictions[1][1], 3);
    const bad = await post('/predict', { instances: [[1, 2, 3]] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().details).toEqual([
      { path: '/instances/0', reason: expect.stringContaining('2 values (stakes, deposits)') },
    ]);
  });

  it('refuses a legacy route that leaves a required column without a default', async () => {
    const broken = buildServer({
      sources: [new PackageDirectorySource(packageDir)],
      legacyRoutes: [{ path: '/predict', model: MODEL, instances: ['stakes', 'deposits'], defaults: {} }],
    });
    await expect(broken.kiln.ready).rejects.toThrow(
      /required column "product" is neither an instance column nor given a default/,
    );
    await broken.close();
  });

  it('lists every bad field with its JSON path: wrong types, ranges, values, missing and extra fields', async () => {
    const response = await post(PREDICT, {
      records: [
        records[0],
        { deposits: 'ten', withdrawals: 5, stakes: -1, product: 'poker', age: '50+', vip: true },
        { withdrawals: null, stakes: 5, product: 'bet', age: null },
        7,
      ],
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().details).toEqual([
      { path: '/records/1/deposits', reason: 'expected a number, got string "ten"' },
      { path: '/records/1/stakes', reason: '"-1" is below the minimum 0' },
      {
        path: '/records/1/product',
        reason: expect.stringContaining('"poker" is not one of the allowed values'),
      },
      { path: '/records/1/vip', reason: 'unknown field (not in the model signature)' },
      { path: '/records/2/age', reason: 'null for a required field' },
      { path: '/records/2/deposits', reason: 'missing required field' },
      { path: '/records/3', reason: 'expected an object with named fields, got number 7' },
    ]);
    const single = await post(PREDICT, { ...records[0], stakes: '12' });
    expect(single.json().details).toEqual([
      { path: '/stakes', reason: 'expected a number, got string "12"' },
    ]);
    const positional = await post(PREDICT, { instances: [[1, null, 'x', 'bet', '<30']] });
    expect(positional.json().details).toEqual([
      { path: '/instances/0/2', reason: 'stakes: expected a number, got string "x"' },
    ]);
  });

  it('ignores extra fields when configured to', async () => {
    const lenient = buildServer({ sources: [new PackageDirectorySource(packageDir)], extraFields: 'ignore' });
    const response = await lenient.inject({
      method: 'POST',
      url: PREDICT,
      ...json({ ...records[0], vip: true }),
    });
    expect(response.statusCode).toBe(200);
    await lenient.close();
  });

  it('treats null as missing: a nullable column is imputed by the package', async () => {
    const response = await post(PREDICT, { ...records[0], withdrawals: null });
    expect(response.statusCode).toBe(200);
    const expected = await loadPackage(packageDir).score(
      recordsTable([{ ...records[0], withdrawals: null }]),
    );
    expect(response.json().predictions[0].probabilities['1']).toBeCloseTo(expected.scores[1], 12);
  });

  it('rejects malformed JSON, empty and shapeless bodies with 400, unknown models with 404', async () => {
    const malformed = await post(PREDICT, '{"deposits": 1,');
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error).toMatch(/malformed JSON/);
    expect((await post(PREDICT, [])).statusCode).toBe(400);
    expect((await post(PREDICT, 'true')).json().error).toMatch(/must be a record/);
    expect((await post(PREDICT, { instances: 3 })).statusCode).toBe(400);
    const unknown = await post('/v1/models/nope/predict', records[0]);
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error).toContain(`serving: ${MODEL}`);
    expect((await app.inject({ method: 'GET', url: '/v1/models/nope' })).statusCode).toBe(404);
  });

  it('enforces the body limit (413) and the records limit (413 with a clear message)', async () => {
    const big = await post(PREDICT, { records: Array.from({ length: 2_000 }, () => records[0]) });
    expect(big.statusCode).toBe(413);
    expect(big.json().error).toMatch(/larger than the limit of 65536 bytes/);
    const many = await post(
      PREDICT,
      Array.from({ length: 301 }, () => records[1]),
    );
    expect(many.statusCode).toBe(413);
    expect(many.json().error).toBe(
      '301 records in one request; the limit is 300 (--max-records): split the batch',
    );
  });

  it('describes models on /v1/models and /v1/models/:name', async () => {
    const list = (await app.inject({ method: 'GET', url: '/v1/models' })).json();
    expect(list.models.map((m: { name: string }) => m.name)).toEqual([MODEL]);
    const detail = (await app.inject({ method: 'GET', url: `/v1/models/${MODEL}` })).json();
    expect(detail.signature.inputs.map((i: { name: string }) => i.name)).toEqual([
      'deposits',
      'withdrawals',
      'stakes',
      'product',
      'age',
    ]);
    expect(detail.output.classes).toEqual(['0', '1']);
    expect(detail.metrics.headline).toBe('roc_auc');
    expect(detail.versions).toEqual([detail.version]);
  });

  it('speaks the Open Inference Protocol v2: metadata, readiness and the documented infer request', async () => {
    expect((await app.inject({ method: 'GET', url: '/v2/health/live' })).json()).toEqual({ live: true });
    expect((await app.inject({ method: 'GET', url: '/v2/health/ready' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: `/v2/models/${MODEL}/ready` })).statusCode).toBe(200);
    const meta = (await app.inject({ method: 'GET', url: `/v2/models/${MODEL}` })).json();
    expect(meta).toMatchObject({
      name: MODEL,
      platform: 'kiln',
      inputs: [
        { name: 'deposits', datatype: 'FP64', shape: [-1] },
        { name: 'withdrawals', datatype: 'FP64', shape: [-1] },
        { name: 'stakes', datatype: 'FP64', shape: [-1] },
        { name: 'product', datatype: 'BYTES', shape: [-1] },
        { name: 'age', datatype: 'BYTES', shape: [-1] },
      ],
    });
    // The request shape is the KServe docs' "Inference Request JSON Object" example (Open Inference
    // Protocol, REST: https://kserve.github.io/website/docs/concepts/architecture/data-plane/v2-protocol),
    // "id" + "inputs" [{name, shape, datatype, data}] + "outputs" [{name}], with this model's inputs.
    const [a, b] = records;
    const request = {
      id: '42',
      inputs: [
        { name: 'deposits', shape: [2], datatype: 'FP32', data: [a.deposits, b.deposits] },
        { name: 'withdrawals', shape: [2], datatype: 'FP32', data: [a.withdrawals, b.withdrawals] },
        { name: 'stakes', shape: [2, 1], datatype: 'FP32', data: [[a.stakes], [b.stakes]] },
        { name: 'product', shape: [2], datatype: 'BYTES', data: [a.product, b.product] },
        { name: 'age', shape: [2], datatype: 'BYTES', data: [a.age, b.age] },
      ],
      outputs: [{ name: 'label' }, { name: 'probabilities' }],
    };
    const response = await post(`/v2/models/${MODEL}/infer`, request);
    expect(response.statusCode).toBe(200);
    const expected = await loadPackage(packageDir).score(recordsTable([a, b]));
    const body = response.json();
    expect(body).toMatchObject({ model_name: MODEL, model_version: meta.versions[0], id: '42' });
    expect(body.outputs[0]).toEqual({ name: 'label', datatype: 'BYTES', shape: [2], data: expected.labels });
    expect(body.outputs[1]).toMatchObject({ name: 'probabilities', datatype: 'FP64', shape: [2, 2] });
    body.outputs[1].data.forEach((p: number, i: number) => {
      expect(p).toBeCloseTo(expected.scores[i], 12);
    });

    const wrong = await post(`/v2/models/${MODEL}/infer`, {
      inputs: [
        { ...request.inputs[0], datatype: 'BYTES' },
        { name: 'colour', shape: [1], datatype: 'BYTES', data: ['red'] },
      ],
    });
    expect(wrong.statusCode).toBe(400);
    expect(typeof wrong.json().error).toBe('string');
    expect(wrong.json().details.map((d: { path: string }) => d.path)).toEqual([
      '/inputs/0/datatype',
      '/inputs/1/name',
      '/inputs',
      '/inputs',
      '/inputs',
    ]);
    expect(wrong.json().details[2].reason).toBe('missing input tensor "stakes" (required)');
    expect((await post('/v2/models/nope/infer', request)).json()).toEqual({
      error: 'no model named "nope" is served',
    });
  });

  it('explains that registry references need an open registry', () => {
    expect(() => sourceFor('customer-risk@champion')).toThrow(
      /"customer-risk@champion" is a registry reference, and no registry is open/,
    );
  });

  it('exposes stage histograms, request counters and the OpenAPI document with the model fields', async () => {
    await post(PREDICT, records[0]);
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    for (const stage of ['validate', 'transform', 'predict', 'postprocess'])
      expect(metrics).toContain(`kiln_predict_stage_seconds_count{stage="${stage}",model="${MODEL}"`);
    expect(metrics).toMatch(
      /kiln_http_requests_total\{route="\/v1\/models\/:name\/predict",method="POST",status="200"\} \d+/,
    );
    expect(metrics).toContain('kiln_predict_batch_size_bucket');
    expect(metrics).toContain('kiln_http_requests_in_flight');
    expect(metrics).toMatch(
      /kiln_predictions_total\{model="quickstart-customer-risk",version="[^"]+",class="[01]"\}/,
    );

    const docs = (await app.inject({ method: 'GET', url: '/docs/json' })).json();
    expect(docs.openapi).toMatch(/^3\./);
    const schema = docs.components.schemas[`${MODEL}.Record`];
    expect(Object.keys(schema.properties)).toEqual(['deposits', 'withdrawals', 'stakes', 'product', 'age']);
    expect(schema.properties.product.enum).toEqual(['bet', 'gaming']);
    expect(schema.required).toEqual(['deposits', 'stakes', 'product', 'age']);
    expect(docs.paths[PREDICT]).toBeDefined();
    expect(docs.paths['/predict']).toBeDefined();
    expect((await app.inject({ method: 'GET', url: '/docs' })).statusCode).toBe(200);
  });
});

describe('kiln serve: unseen categories follow the package', () => {
  it('answers 400 naming the row and level when the one-hot step refuses unseen levels', async () => {
    const schema = {
      ...(quickstartSchema() as Record<string, unknown>),
      product: { type: 'category', nullable: false },
    };
    const dir = await trainPackage({
      data: { source: { path: 'data/customers.csv' }, schema: schema as never, onInvalid: 'quarantine' },
      features: [
        { step: 'impute', columns: ['withdrawals'], strategy: 'median' },
        { step: 'one_hot', columns: ['product', 'age'], unseen: 'error' },
        { step: 'scale', columns: 'numeric' },
      ],
    });
    const app = buildServer({ sources: [new PackageDirectorySource(dir)] });
    const record = { deposits: 10, withdrawals: 1, stakes: 5, product: 'bet', age: '<30' };
    const ok = await app.inject({ method: 'POST', url: PREDICT, ...json([record]) });
    expect(ok.statusCode).toBe(200);
    const unseen = await app.inject({
      method: 'POST',
      url: PREDICT,
      ...json([record, { ...record, product: 'poker' }]),
    });
    expect(unseen.statusCode).toBe(400);
    expect(unseen.json().details).toEqual([
      { path: '/1', reason: expect.stringContaining('unseen level "poker"') },
    ]);
    await app.close();
  });
});

function quickstartSchema() {
  return {
    deposits: { type: 'number', nullable: false, min: 0 },
    withdrawals: { type: 'number', nullable: true, min: 0 },
    stakes: { type: 'number', nullable: false, min: 0 },
    age: { type: 'category', nullable: false, values: ['<30', '30-50', '50+'] },
    target: { type: 'integer', nullable: false, min: 0, max: 1 },
  };
}
