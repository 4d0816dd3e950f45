import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { onnx as OnnxTypes } from 'onnx-proto';
import { InferenceSession } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Matrix } from '../../../src/data/matrix.js';
import { type Column, makeTable, takeRows } from '../../../src/data/table.js';
import { fitPipeline, loadPipeline } from '../../../src/features/pipeline.js';
import { dropStep, registerFeatureStep, type StepKind } from '../../../src/features/steps/index.js';
import { fitLinearSvm, linearSvmParams } from '../../../src/models/linear-svm.js';
import {
  fitLogisticRegression,
  loadLogisticRegression,
  logisticRegressionParams,
} from '../../../src/models/logistic-regression.js';
import { loadPackage, type PackagedModel } from '../../../src/packaging/load.js';
import {
  exportPipelineToOnnx,
  ONNX_FILE,
  ONNX_OUTPUT,
  ONNX_REGRESSION_OUTPUT,
} from '../../../src/packaging/onnx.js';
import { createEngine } from '../../../src/scoring/engines/index.js';
import { jsEngine } from '../../../src/scoring/engines/js.js';
import { GRAPH_REFUSED, OnnxEngine } from '../../../src/scoring/engines/onnx.js';
import {
  customerRiskPackage,
  customerRiskRows,
  maxAbsDiff,
  multiclassPackage,
  multiclassRows,
  nanRows,
  regressionPackage,
  regressionRows,
  trainingSandbox,
} from './fixtures.js';

const { onnx } = createRequire(import.meta.url)('onnx-proto') as { onnx: typeof OnnxTypes };

const sandbox = trainingSandbox();
let risk: PackagedModel;
let multi: PackagedModel;
let ridge: PackagedModel;

beforeAll(async () => {
  risk = loadPackage(await customerRiskPackage(path.join(sandbox.dir)));
  multi = loadPackage(await multiclassPackage(path.join(sandbox.dir)));
  ridge = loadPackage(await regressionPackage(path.join(sandbox.dir)));
}, 180_000);

afterAll(() => sandbox.cleanup());

describe('ONNX export of the customer-risk pipeline (impute, derive, one_hot, scale, balanced LR)', () => {
  it('is a valid ModelProto that onnxruntime loads, with one input per signature column', async () => {
    const bytes = exportPipelineToOnnx(risk);
    const model = onnx.ModelProto.decode(bytes);
    expect(Number(model.irVersion)).toBe(9);
    expect(Number(model.opsetImport[0].version)).toBeGreaterThanOrEqual(13);
    expect(model.graph?.node?.every((n) => !n.domain)).toBe(true);
    const meta = Object.fromEntries(model.metadataProps.map((p) => [p.key, p.value]));
    expect(JSON.parse(meta['kiln.classes'])).toEqual(risk.manifest.output.classes);
    expect(meta['kiln.missing']).toContain('""');
    expect(model.docString).toContain('NaN');

    const session = await InferenceSession.create(bytes);
    expect(session.inputNames).toEqual(risk.manifest.signature.inputs.map((c) => c.name));
    expect(session.outputNames).toEqual(['probabilities']);
    const types = Object.fromEntries(session.inputMetadata.map((m) => [m.name, m.isTensor ? m.type : '']));
    expect(types).toEqual({
      deposits: 'float64',
      withdrawals: 'float64',
      stakes: 'float64',
      product: 'string',
      age: 'string',
    });
    await session.release();
  });

  it('matches the JS path within 1e-5 on 2,000 rows with missing values and unseen levels', async () => {
    const rows = customerRiskRows(2000, 1);
    const engine = await OnnxEngine.create(exportPipelineToOnnx(risk));
    const onnxProba = await engine.run(rows);
    const jsProba = (await risk.score(rows)).scores;
    const diff = maxAbsDiff(onnxProba, jsProba);
    console.log(`customer-risk parity: max |onnx - js| = ${diff.toExponential(2)} over ${rows.nRows} rows`);
    expect(diff).toBeLessThanOrEqual(1e-5);
    // Missing deposits make derived features missing: the row is refused on both paths.
    expect(nanRows(jsProba, 2)).toBeGreaterThan(20);
    expect(engine.classes).toEqual(risk.manifest.output.classes);
    await engine.release();
  });
});

describe('ONNX export of a 4-class pipeline using every step kind', () => {
  it('matches the JS path within 1e-5, refusing exactly the rows the JS pipeline refuses', async () => {
    const rows = multiclassRows(3000, 2);
    const engine = await OnnxEngine.create(exportPipelineToOnnx(multi));
    const onnxProba = await engine.run(rows);
    const scored = await multi.score(rows);
    const diff = maxAbsDiff(onnxProba, scored.scores);
    console.log(
      `multiclass parity: max |onnx - js| = ${diff.toExponential(2)} over ${rows.nRows} rows, ${scored.rowErrors.size} refused`,
    );
    expect(diff).toBeLessThanOrEqual(1e-5);
    const reasons = [...scored.rowErrors.values()].join('\n');
    expect(reasons).toContain('unseen level "central"');
    expect(reasons).toContain('missing value left after the feature steps');
    expect(nanRows(onnxProba, 4)).toBe(scored.rowErrors.size);
    for (let i = 0; i < rows.nRows; i++) {
      if (scored.rowErrors.has(i)) continue;
      const sum = onnxProba.subarray(i * 4, i * 4 + 4).reduce((a, b) => a + b, 0);
      expect(sum).toBeCloseTo(1, 12);
    }
    await engine.release();
  });

  it('puts classes without training rows at probability 0, as the JS model does', async () => {
    // The binary customer-risk model under a 3-class list: the third class was never fitted.
    const classes = [...risk.manifest.output.classes, 'unknown'];
    const saved = risk.model.save();
    const bytes = exportPipelineToOnnx({ pipelineState: risk.manifest.features, modelSaved: saved, classes });
    const engine = await OnnxEngine.create(bytes);
    const rows = customerRiskRows(1000, 3);
    const pipeline = loadPipeline(risk.manifest.features);
    const { X, rowErrors } = pipeline.transform(rows);
    const expected = loadLogisticRegression(saved, classes).predict(X);
    for (const row of rowErrors.keys()) expected.fill(Number.NaN, row * 3, row * 3 + 3);
    const got = await engine.run(rows);
    expect(maxAbsDiff(got, expected)).toBeLessThanOrEqual(1e-5);
    expect(got[2]).toBe(0);
    await engine.release();
  });
});

describe('a linear SVM on the every-step pipeline (fitted in memory)', () => {
  for (const calibration of ['sigmoid', 'none'] as const) {
    it(`${calibration}: matches predict within 1e-5 and refuses the rows the JS pipeline refuses`, async () => {
      const pipeline = loadPipeline(multi.manifest.features);
      const train = multiclassRows(1500, 12);
      const { X, rowErrors } = pipeline.transform(train);
      const keep = [...Array(train.nRows).keys()].filter((i) => !rowErrors.has(i));
      const classes = multi.output.classes;
      const { X: Xk } = pipeline.transform(takeRows(train, keep));
      const y = Int32Array.from(keep, (i) => i % classes.length);
      const model = await fitLinearSvm(Xk as Matrix, y, {
        params: linearSvmParams.parse({ calibration, calibrationFolds: 3 }),
        task: 'multiclass',
        classes,
        seed: 1,
      });
      expect(X.kind).toBe('dense');
      const bytes = exportPipelineToOnnx({
        pipelineState: multi.manifest.features,
        modelSaved: model.save(),
        classes,
        family: 'linear_svm',
      });
      const rows = multiclassRows(2000, 13);
      const scored = pipeline.transform(rows);
      const expected = model.predict(scored.X);
      for (const row of scored.rowErrors.keys()) expected.fill(Number.NaN, row * 4, row * 4 + 4);
      const engine = await OnnxEngine.create(bytes);
      const got = await engine.run(rows);
      const diff = maxAbsDiff(got, expected);
      console.log(`linear_svm (${calibration}) parity: max |onnx - js| = ${diff.toExponential(2)}`);
      expect(diff).toBeLessThanOrEqual(1e-5);
      // The SVM's normalisation would turn NaN decision values into 1/k: refused rows are masked after it.
      expect(nanRows(got, 4)).toBe(scored.rowErrors.size);
      expect(scored.rowErrors.size).toBeGreaterThan(0);
      await engine.release();
    });
  }
});

describe('a ridge regression package', () => {
  it('exports its task: a "predictions" [N, 1] output the engine reads, refused rows NaN', async () => {
    expect(ridge.manifest.task).toBe('regression');
    expect(ridge.manifest.model.onnx).toBe(ONNX_FILE);
    const bytes = exportPipelineToOnnx(ridge);
    const meta = Object.fromEntries(onnx.ModelProto.decode(bytes).metadataProps.map((p) => [p.key, p.value]));
    expect(meta).toMatchObject({
      'kiln.task': 'regression',
      'kiln.output': 'predictions',
      'kiln.width': '1',
    });
    const session = await InferenceSession.create(bytes);
    expect(session.outputNames).toEqual([ONNX_REGRESSION_OUTPUT]);
    await session.release();

    const rows = regressionRows(1500, 3);
    const js = await jsEngine(ridge).score(rows);
    expect(js.rowErrors.size).toBeGreaterThan(0);
    // From the bytes alone (the width and output from the graph's metadata), and through createEngine.
    const bare = await OnnxEngine.create(bytes);
    expect(bare.width).toBe(1);
    const got = await bare.run(rows);
    const diff = maxAbsDiff(got, js.scores);
    console.log(`ridge parity: max |onnx - js| = ${diff.toExponential(2)} over ${rows.nRows} rows`);
    expect(diff).toBeLessThanOrEqual(1e-9);
    const viaCreate = await createEngine(ridge, 'onnx');
    const scored = await viaCreate.score(rows);
    expect(maxAbsDiff(scored.scores, js.scores)).toBeLessThanOrEqual(1e-9);
    expect([...scored.rowErrors.keys()].sort()).toEqual([...js.rowErrors.keys()].sort());
    await Promise.all([bare.release(), viaCreate.release()]);
  });

  it('classification graphs keep the "probabilities" output', async () => {
    const session = await InferenceSession.create(exportPipelineToOnnx(multi));
    expect(session.outputNames).toEqual([ONNX_OUTPUT]);
    await session.release();
  });
});

describe('engines', () => {
  it('js and onnx engines give the same probabilities; onnx prefers the package model.onnx', async () => {
    const rows = multiclassRows(1000, 4);
    const js = jsEngine(multi);
    expect((await createEngine(multi, 'js')).name).toBe('js');
    const jsScores = (await js.score(rows)).scores;
    expect(maxAbsDiff(jsScores, (await multi.score(rows)).scores)).toBe(0);

    // Training writes the graph into the package and names it in the manifest.
    expect(multi.manifest.model.onnx).toBe(ONNX_FILE);
    expect(existsSync(path.join(multi.dir, ONNX_FILE))).toBe(true);
    const fromFile = await OnnxEngine.create(path.join(multi.dir, ONNX_FILE));
    const viaCreate = await createEngine(multi, 'onnx');
    expect(viaCreate.name).toBe('onnx');
    const a = await fromFile.run(rows);
    expect(maxAbsDiff(a, (await viaCreate.score(rows)).scores)).toBe(0);
    expect(maxAbsDiff(a, jsScores)).toBeLessThanOrEqual(1e-5);
    // The package itself still loads: the file sits beside the manifest and changes nothing else.
    expect(loadPackage(multi.dir).manifest.model.weights).toBe('weights.safetensors');
    await fromFile.release();
    await (viaCreate as OnnxEngine).release();
  });

  it('onnx gives the refused rows the JS pipeline reasons, running it on those rows only', async () => {
    const rows = multiclassRows(1000, 6);
    const expected = await multi.score(rows);
    expect(expected.rowErrors.size).toBeGreaterThan(0);
    const explained: number[] = [];
    const graph = path.join(multi.dir, ONNX_FILE);
    const engine = await OnnxEngine.create(graph, {
      width: 4,
      classes: multi.output.classes,
      explain: (table) => {
        explained.push(table.nRows);
        return multi.pipeline.transform(table).rowErrors;
      },
    });
    const { scores, rowErrors } = await engine.score(rows);
    const sorted = (m: ReadonlyMap<number, string>) => [...m].sort((a, b) => a[0] - b[0]);
    expect(sorted(rowErrors)).toEqual(sorted(expected.rowErrors));
    expect(explained).toEqual([expected.rowErrors.size]);
    expect(nanRows(scores, 4)).toBe(expected.rowErrors.size);
    // A clean batch never runs the JS pipeline.
    const clean = [...Array(rows.nRows).keys()].filter((i) => !expected.rowErrors.has(i));
    const { rowErrors: none } = await engine.score(takeRows(rows, clean));
    expect(none.size).toBe(0);
    expect(explained).toHaveLength(1);
    // Without the package's pipeline, a refused row still says who refused it.
    const bare = await OnnxEngine.create(graph);
    expect(new Set((await bare.score(rows)).rowErrors.values())).toEqual(new Set([GRAPH_REFUSED]));
    await expect(
      OnnxEngine.create(graph, { width: 4, classes: [...multi.output.classes].reverse() }),
    ).rejects.toThrow('are not the package');
    await Promise.all([engine.release(), bare.release()]);
  });

  it('names the column when a table lacks an input or has it with the wrong kind', async () => {
    const engine = await OnnxEngine.create(exportPipelineToOnnx(risk));
    const rows = customerRiskRows(5, 5);
    const missing = { nRows: 5, columns: new Map([...rows.columns].filter(([name]) => name !== 'age')) };
    await expect(engine.score(missing)).rejects.toThrow('input has no column "age"');
    const wrong = new Map(rows.columns);
    wrong.set('product', { type: 'number', values: new Float64Array(5) });
    await expect(engine.score({ nRows: 5, columns: wrong })).rejects.toThrow(
      'input column "product" is number; the ONNX model expects a string column',
    );
    expect((await engine.score({ nRows: 0, columns: new Map() })).scores).toHaveLength(0);
    await engine.release();
  });

  it('refuses a graph without Kiln class metadata', async () => {
    const model = onnx.ModelProto.decode(exportPipelineToOnnx(risk));
    model.metadataProps = [];
    await expect(OnnxEngine.create(onnx.ModelProto.encode(model).finish())).rejects.toThrow(
      'no "kiln.classes" metadata',
    );
  });
});

describe('unsupported exports fail with a clear error', () => {
  const source = () => ({
    pipelineState: structuredClone(risk.manifest.features) as { steps: Record<string, unknown>[] },
    modelSaved: risk.model.save(),
    classes: risk.manifest.output.classes,
  });

  it('a step kind without an ONNX form, naming the step', () => {
    const kind = 'no_onnx_step';
    // A registered kind (as a project's own) whose fitted step passes its table through.
    registerFeatureStep({
      ...dropStep,
      name: kind,
      exportOnnx: undefined,
      load: (state: unknown) => ({ state, reads: [], writes: [], transform: (table: unknown) => table }),
    } as unknown as StepKind);
    const s = source();
    s.pipelineState.steps.push({ config: { step: kind } });
    expect(() => exportPipelineToOnnx(s)).toThrow(
      `cannot export to ONNX: feature step 7 (${kind}): the "${kind}" step kind has no ONNX form`,
    );
  });

  it('an unknown step kind', () => {
    const s = source();
    s.pipelineState.steps.push({ config: { step: 'bucketize', column: 'deposits' } });
    expect(() => exportPipelineToOnnx(s)).toThrow(/^cannot export to ONNX: feature step 7: .*"bucketize"/);
  });

  it('another model family', () => {
    expect(() => exportPipelineToOnnx({ ...source(), family: 'gradient_boosting' })).toThrow(
      'cannot export to ONNX: model family "gradient_boosting" has no ONNX export (supported: linear_svm, logistic_regression, ridge)',
    );
    const manifest = { ...risk.manifest, model: { ...risk.manifest.model, family: 'mlp' } };
    expect(() => exportPipelineToOnnx({ manifest, model: risk.model })).toThrow('model family "mlp"');
  });

  it('a level equal to the empty string, which the graph reserves for missing values', () => {
    const s = source();
    const oneHot = s.pipelineState.steps.find(
      (step) => (step.config as { step: string }).step === 'one_hot',
    ) as {
      encodings: { levels: string[] }[];
    };
    oneHot.encodings[0].levels.unshift('');
    expect(() => exportPipelineToOnnx(s)).toThrow(
      'feature step 5 (one_hot): the levels of column "product": "" is reserved for a missing value',
    );
  });

  it('a blob input column', () => {
    const s = source();
    (s.pipelineState as unknown as { inputs: { name: string; type: string }[] }).inputs.push({
      name: 'photo',
      type: 'blob',
    });
    expect(() => exportPipelineToOnnx(s)).toThrow(
      'input column "photo" is blob, which has no ONNX tensor input',
    );
  });
});

describe('refusal policies and edge expressions, on a pipeline fitted in memory', () => {
  it('refuses the rows the JS pipeline refuses under unseen: error (ordinal and one_hot)', async () => {
    const levels = ['lo', 'mid', 'hi'];
    const n = 300;
    const train = makeTable(
      Object.entries<Column>({
        grade: { type: 'category', values: Array.from({ length: n }, (_, i) => levels[i % 3]) },
        kind: { type: 'string', values: Array.from({ length: n }, (_, i) => (i % 4 === 0 ? 'x' : 'y')) },
        v: { type: 'number', values: Float64Array.from({ length: n }, (_, i) => (i % 7) - 3) },
      }),
    );
    const { pipeline, X } = await fitPipeline(
      [
        { step: 'ordinal', column: 'grade', order: levels, unseen: 'error' },
        // No missing value at fit: at scoring a missing kind is refused, like an unseen one.
        { step: 'one_hot', columns: ['kind'], unseen: 'error' },
        { step: 'derive', name: 'c', expr: '2.5' },
        { step: 'derive', name: 'q', expr: 'max(v, -1) / (v - 1) + min(v, 0, 1)' },
        { step: 'impute', columns: ['q'], strategy: 'mean' },
      ],
      train,
    );
    const classes = ['no', 'yes'];
    const y = Int32Array.from({ length: n }, (_, i) => (i % 3 === 0 || i % 5 === 0 ? 1 : 0));
    const model = await fitLogisticRegression(X as Matrix, y, {
      params: logisticRegressionParams.parse({}),
      task: 'binary',
      classes,
      seed: 0,
    });

    const score = makeTable(
      Object.entries<Column>({
        grade: { type: 'category', values: ['lo', 'top', null, 'hi', 'mid', 'lo'] },
        kind: { type: 'string', values: ['x', 'y', 'x', 'z', null, 'y'] },
        v: { type: 'number', values: Float64Array.from([1, 2, -5, 0, Number.NaN, 3]) },
      }),
    );
    const { X: Xs, rowErrors } = pipeline.transform(score);
    const expected = model.predict(Xs);
    for (const row of rowErrors.keys()) expected.fill(Number.NaN, row * 2, row * 2 + 2);
    // 1: unseen grade; 2: missing grade stays NaN (not imputed); 3: unseen kind; 4: missing kind.
    expect([...rowErrors.keys()].sort()).toEqual([1, 2, 3, 4]);

    const bytes = exportPipelineToOnnx({
      pipelineState: pipeline.state(),
      modelSaved: model.save(),
      classes,
    });
    const engine = await OnnxEngine.create(bytes);
    expect(maxAbsDiff(await engine.run(score), expected)).toBeLessThanOrEqual(1e-12);
    await engine.release();
  });
});
