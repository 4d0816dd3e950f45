import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CsrMatrix, Matrix } from '../../src/data/matrix.js';
import type { SavedModel } from '../../src/models/family.js';
import {
  forkSeed,
  type LinearSvmModel,
  type LinearSvmParams,
  linearSvm,
  linearSvmParams,
} from '../../src/models/linear-svm.js';
import { resolveThreads, svmPoolStats, svmThreadSettings } from '../../src/models/linear-svm-threads.js';
import { Random } from '../../src/util/random.js';
import { blobs } from './blobs.js';

const defaults = { ...svmThreadSettings };

afterEach(() => {
  Object.assign(svmThreadSettings, defaults);
  svmThreadSettings.fault = undefined;
});

/** TF-IDF-like sparse rows: a class topic of 40 features plus background draws, rows L2-normalised. */
function sparseData(rng: Random, counts: number[], cols: number, perRow: number) {
  const n = counts.reduce((a, b) => a + b, 0);
  const y = new Int32Array(n);
  let r = 0;
  counts.forEach((count, c) => {
    for (let t = 0; t < count; t++) y[r++] = c;
  });
  rng.shuffle(y);
  const topics = counts.map(() => Int32Array.from({ length: 40 }, () => rng.int(cols)));
  const indptr = new Int32Array(n + 1);
  const indices: number[] = [];
  const data: number[] = [];
  for (let i = 0; i < n; i++) {
    const seen = new Map<number, number>();
    const topic = topics[rng.next() < 0.2 ? rng.int(counts.length) : y[i]];
    for (let t = 0; t < perRow; t++) {
      const j = rng.next() < 0.3 ? topic[rng.int(40)] : rng.int(cols);
      seen.set(j, (seen.get(j) ?? 0) + 1);
    }
    const row = [...seen.entries()].sort((a, b) => a[0] - b[0]);
    const norm = Math.sqrt(row.reduce((s, [, v]) => s + (1 + Math.log(v)) ** 2, 0));
    for (const [j, v] of row) {
      indices.push(j);
      data.push((1 + Math.log(v)) / norm);
    }
    indptr[i + 1] = indices.length;
  }
  const X: CsrMatrix = {
    kind: 'csr',
    rows: n,
    cols,
    indptr,
    indices: Int32Array.from(indices),
    data: Float64Array.from(data),
  };
  return { X, y, classes: counts.map((_, c) => `c${c}`) };
}

async function train(
  X: Matrix,
  y: Int32Array,
  classes: string[],
  params: Partial<LinearSvmParams>,
  seed = 3,
) {
  const warnings: string[] = [];
  const model = (await linearSvm.fit(X, y, {
    params: linearSvmParams.parse(params),
    task: classes.length === 2 ? 'binary' : 'multiclass',
    classes,
    seed,
    warn: (m) => warnings.push(m),
  })) as LinearSvmModel;
  return { model, saved: model.save(), diagnostics: model.diagnostics(), warnings };
}

/** Every tensor's values, bit for bit (-0 and 0 told apart too). */
function expectSameTensors(a: SavedModel, b: SavedModel): void {
  expect(Object.keys(b.tensors).sort()).toEqual(Object.keys(a.tensors).sort());
  for (const [name, tensor] of Object.entries(a.tensors)) {
    const other = b.tensors[name];
    expect(other.shape).toEqual(tensor.shape);
    const x = new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
    const z = new Uint8Array(other.data.buffer, other.data.byteOffset, other.data.byteLength);
    expect(Buffer.compare(Buffer.from(x), Buffer.from(z)), name).toBe(0);
  }
  expect(b.meta).toEqual(a.meta);
}

describe('linear_svm on worker threads', () => {
  it('forkSeed rebuilds the child Random.fork makes', () => {
    for (const seed of [0, 1, 12345, 0xffffffff]) {
      const a = new Random(seed);
      const b = new Random(seed);
      for (let stream = 0; stream < 5; stream++) {
        const rebuilt = new Random(forkSeed(a, stream));
        const child = b.fork(stream);
        for (let d = 0; d < 4; d++) expect(rebuilt.nextUint32()).toBe(child.nextUint32());
      }
    }
  });

  it('gives bit-identical models with 1 and 2 threads (3 too), sparse and dense, calibrated or not', async () => {
    svmThreadSettings.minWork = 0;
    svmThreadSettings.callerSolves = false;
    // Workers solve every problem (by default this thread takes a share, and could take them all on
    // data this small); the mixed case is checked below.
    const sparse = sparseData(new Random(1), [90, 60, 40, 30, 20, 10], 3000, 30);
    const dense = blobs(new Random(2), [80, 60, 50, 40], 6, 1.2, 0.3);
    const binary = blobs(new Random(4), [70, 50], 4, 1.2, 0.3);
    for (const data of [sparse, dense, binary]) {
      for (const calibration of ['none', 'sigmoid'] as const) {
        const params = { calibration, classWeight: 'balanced' as const };
        const one = await train(data.X, data.y, data.classes, { ...params, threads: 1 });
        expect(one.diagnostics.threads).toBe(1);
        const problems =
          (data.classes.length === 2 ? 1 : data.classes.length) * (calibration === 'none' ? 1 : 4);
        for (const threads of [2, 3]) {
          const many = await train(data.X, data.y, data.classes, { ...params, threads });
          // Capped by the number of binary problems (1 for an uncalibrated binary fit).
          expect(many.diagnostics.threads).toBe(Math.min(threads, problems));
          expectSameTensors(one.saved, many.saved);
          expect(many.diagnostics).toEqual({ ...one.diagnostics, threads: many.diagnostics.threads });
          expect(many.warnings).toEqual(one.warnings);
          expect(Array.from(many.model.predict(data.X))).toEqual(Array.from(one.model.predict(data.X)));
        }
      }
    }
    // Workers are started once and kept for later fits (at most 2 beside this thread).
    expect(svmPoolStats().started).toBeLessThanOrEqual(2);
  });

  it('gives the same model when the calling thread solves problems beside the workers', async () => {
    svmThreadSettings.minWork = 0;
    const data = sparseData(new Random(8), [120, 80, 60, 40, 30, 20, 10], 4000, 40);
    const one = await train(data.X, data.y, data.classes, { threads: 1 });
    for (let repeat = 0; repeat < 3; repeat++) {
      const two = await train(data.X, data.y, data.classes, { threads: 2 });
      expect(two.diagnostics.threads).toBe(2);
      expectSameTensors(one.saved, two.saved);
    }
  });

  it('keeps small fits on the calling thread and the thread count out of the saved model', async () => {
    const data = blobs(new Random(5), [40, 40, 40], 3, 1.2, 0.3);
    const small = await train(data.X, data.y, data.classes, { threads: 4 });
    expect(small.diagnostics.threads).toBe(1);
    expect(small.saved.meta.params).not.toHaveProperty('threads');
  });

  it('resolves the thread count from the param, then KILN_THREADS, then the cores', () => {
    const saved = process.env.KILN_THREADS;
    try {
      svmThreadSettings.minWork = 100;
      process.env.KILN_THREADS = '3';
      expect(resolveThreads(undefined, 10, 1000)).toBe(3);
      expect(resolveThreads(2, 10, 1000)).toBe(2);
      expect(resolveThreads(undefined, 2, 1000)).toBe(2);
      expect(resolveThreads(undefined, 10, 99)).toBe(1);
      process.env.KILN_THREADS = '1';
      expect(resolveThreads(undefined, 10, 1000)).toBe(1);
      process.env.KILN_THREADS = 'many';
      expect(() => resolveThreads(undefined, 10, 1000)).toThrow(
        /KILN_THREADS must be a positive integer.*"many"/,
      );
      process.env.KILN_THREADS = '0';
      expect(() => resolveThreads(undefined, 10, 1000)).toThrow(/KILN_THREADS/);
      delete process.env.KILN_THREADS;
      expect(resolveThreads(undefined, 1000, 1000)).toBeGreaterThanOrEqual(1);
    } finally {
      if (saved === undefined) delete process.env.KILN_THREADS;
      else process.env.KILN_THREADS = saved;
    }
    expect(() => linearSvmParams.parse({ threads: 0 })).toThrow();
  });

  it('a worker that throws fails the fit with its error, and the next fit starts fresh workers', async () => {
    svmThreadSettings.minWork = 0;
    const data = blobs(new Random(6), [50, 40, 30], 4, 1.2, 0.3);
    const reference = await train(data.X, data.y, data.classes, { calibration: 'none', threads: 1 });
    svmThreadSettings.callerSolves = false;
    svmThreadSettings.fault = 'throw';
    await expect(train(data.X, data.y, data.classes, { calibration: 'none', threads: 2 })).rejects.toThrow(
      /linear_svm: a worker thread failed while solving the binary problems: Error: injected fault \(test\)/,
    );
    svmThreadSettings.fault = undefined;
    const before = svmPoolStats().started;
    const again = await train(data.X, data.y, data.classes, { calibration: 'none', threads: 2 });
    expect(svmPoolStats().started).toBe(before + 1);
    expectSameTensors(reference.saved, again.saved);
  });

  it('a worker that dies without a word fails the fit after the stall timeout instead of hanging', async () => {
    svmThreadSettings.minWork = 0;
    svmThreadSettings.stallMs = 3000;
    svmThreadSettings.callerSolves = false;
    svmThreadSettings.fault = 'exit';
    const data = blobs(new Random(7), [50, 40, 30], 4, 1.2, 0.3);
    const started = performance.now();
    await expect(train(data.X, data.y, data.classes, { calibration: 'none', threads: 2 })).rejects.toThrow(
      /worker threads stopped making progress \(no solver pass for 3\.0 s, 3 of 3 binary problems unfinished\)/,
    );
    expect(performance.now() - started).toBeLessThan(30_000);
    svmThreadSettings.fault = undefined;
    const ok = await train(data.X, data.y, data.classes, { calibration: 'none', threads: 2 });
    expect(ok.diagnostics.threads).toBe(2);
  });

  it('workers do not keep the process alive', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kiln-svm-threads-'));
    try {
      const script = path.join(dir, 'fit.ts');
      const src = (file: string) => JSON.stringify(path.resolve('src', file));
      writeFileSync(
        script,
        `import { denseMatrix } from ${src('data/matrix.ts')};
import { linearSvm, linearSvmParams } from ${src('models/linear-svm.ts')};
import { svmThreadSettings } from ${src('models/linear-svm-threads.ts')};
svmThreadSettings.minWork = 0;
const X = denseMatrix(6, 1, Float64Array.from([0, 1, 2, 3, 4, 5]));
const y = Int32Array.from([0, 0, 1, 1, 2, 2]);
linearSvm
  .fit(X, y, { params: linearSvmParams.parse({ calibration: 'none', threads: 2 }), task: 'multiclass', classes: ['a', 'b', 'c'], seed: 0 })
  .then((model) => console.log('threads', model.diagnostics().threads));
`,
      );
      const run = spawnSync(process.execPath, ['--import', 'tsx', script], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      expect(run.stdout.trim()).toBe('threads 2');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
