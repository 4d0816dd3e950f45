import { afterEach, describe, expect, it } from 'vitest';
import type { Matrix } from '../../src/data/matrix.js';
import type { FitProgress, SavedModel } from '../../src/models/family.js';
import { fitControlSettings } from '../../src/models/fit-control.js';
import { linearSvm, linearSvmParams } from '../../src/models/linear-svm.js';
import { svmPoolStats, svmThreadSettings } from '../../src/models/linear-svm-threads.js';
import { logisticRegression, logisticRegressionParams } from '../../src/models/logistic-regression.js';
import { Random } from '../../src/util/random.js';
import { blobs } from './blobs.js';

const defaults = { ...svmThreadSettings };
const controlDefaults = { ...fitControlSettings };

afterEach(() => {
  Object.assign(svmThreadSettings, defaults);
  Object.assign(fitControlSettings, controlDefaults);
  svmThreadSettings.fault = undefined;
});

// Eight classes: 8 one-vs-rest problems, 32 with the 3 calibration folds; about half a second to fit.
const svmData = blobs(new Random(1), [300, 250, 200, 200, 150, 150, 100, 100], 8, 3, 0.2);
const SVM_PROBLEMS = 8 * (1 + 3);
// Large enough that a logistic regression runs for many iterations.
const lrData = blobs(new Random(2), [4500, 3600, 3000, 2700, 2400, 1800], 20, 1, 0.2);

interface FitRun {
  signal?: AbortSignal;
  onProgress?: (progress: FitProgress) => void;
}

function fitLogistic(data: { X: Matrix; y: Int32Array; classes: string[] }, run: FitRun = {}) {
  return logisticRegression.fit(data.X, data.y, {
    params: logisticRegressionParams.parse({}),
    task: 'multiclass',
    classes: data.classes,
    seed: 0,
    ...run,
  });
}

function fitSvm(threads: number, run: FitRun = {}) {
  return linearSvm.fit(svmData.X, svmData.y, {
    params: linearSvmParams.parse({ C: 0.1, threads }),
    task: 'multiclass',
    classes: svmData.classes,
    seed: 0,
    ...run,
  });
}

/** Every tensor's values, bit for bit. */
function expectSameTensors(a: SavedModel, b: SavedModel): void {
  expect(Object.keys(b.tensors).sort()).toEqual(Object.keys(a.tensors).sort());
  for (const [name, tensor] of Object.entries(a.tensors)) {
    const other = b.tensors[name];
    expect(other.shape).toEqual(tensor.shape);
    const x = Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
    const z = Buffer.from(other.data.buffer, other.data.byteOffset, other.data.byteLength);
    expect(Buffer.compare(x, z), name).toBe(0);
  }
  expect(b.meta).toEqual(a.meta);
}

/**
 * Starts a fit with a signal; the returned `abort` fires it, remembering how many progress reports
 * had arrived by then.
 */
function abortable() {
  const controller = new AbortController();
  const reason = new Error('fit aborted by the test');
  const progress: FitProgress[] = [];
  let reportsAtAbort = -1;
  return {
    reason,
    progress,
    get reportsAtAbort() {
      return reportsAtAbort;
    },
    signal: controller.signal,
    onProgress: (p: FitProgress) => progress.push(p),
    abort() {
      reportsAtAbort = progress.length;
      controller.abort(reason);
    },
  };
}

describe('logistic_regression: progress and abort', () => {
  it('reports each L-BFGS iteration through onProgress', async () => {
    const small = blobs(new Random(3), [120, 100, 80], 4, 1, 0.2);
    const progress: FitProgress[] = [];
    const model = await fitLogistic(small, { onProgress: (p) => progress.push(p) });
    const iterations = Number(model.diagnostics().iterations);
    expect(iterations).toBeGreaterThan(2);
    expect(progress.map((p) => p.done)).toEqual(Array.from({ length: iterations }, (_, i) => i + 1));
    for (const [i, p] of progress.entries()) {
      expect(p).toMatchObject({ unit: 'iterations', total: 1000 });
      expect(Number.isFinite(p.loss)).toBe(true);
      // Each accepted L-BFGS step lowers the objective.
      if (i > 0) expect(p.loss!).toBeLessThan(progress[i - 1].loss!);
    }
  });

  it('rejects with the abort reason when the signal was aborted before the fit', async () => {
    const run = abortable();
    run.abort();
    await expect(fitLogistic(lrData, run)).rejects.toBe(run.reason);
    expect(run.progress).toEqual([]);

    const controller = new AbortController();
    controller.abort();
    await expect(fitLogistic(lrData, { signal: controller.signal })).rejects.toMatchObject({
      name: 'AbortError',
    });
  });

  it('rejects with the abort reason when aborted from onProgress, reporting nothing after', async () => {
    const run = abortable();
    const fit = fitLogistic(lrData, {
      signal: run.signal,
      onProgress: (p) => {
        run.onProgress(p);
        if (p.done === 3) run.abort();
      },
    });
    await expect(fit).rejects.toBe(run.reason);
    expect(run.reportsAtAbort).toBe(3);
    expect(run.progress.map((p) => p.done)).toEqual([1, 2, 3]);
  });

  it('rejects with the abort reason when aborted from a timer while it runs', async () => {
    // A fit yields at every tick, so the timer fires at the first yield once due, however fast the machine.
    fitControlSettings.sliceMs = 0;
    const run = abortable();
    const timer = setTimeout(() => run.abort(), 1);
    try {
      await expect(fitLogistic(lrData, run)).rejects.toBe(run.reason);
    } finally {
      clearTimeout(timer);
    }
    // The timer could only fire when the fit let the event loop turn, between iterations.
    expect(run.reportsAtAbort).toBeGreaterThan(0);
    expect(run.progress).toHaveLength(run.reportsAtAbort);
  });
});

describe('linear_svm: progress and abort', () => {
  it('reports each binary problem solved on the calling thread', async () => {
    const progress: FitProgress[] = [];
    const model = await fitSvm(1, { onProgress: (p) => progress.push(p) });
    expect(model.diagnostics()).toMatchObject({ threads: 1, binaryProblems: 8, converged: true });
    expect(progress).toEqual(
      Array.from({ length: SVM_PROBLEMS }, (_, i) => ({
        done: i + 1,
        total: SVM_PROBLEMS,
        unit: 'binary problems',
      })),
    );
  });

  it('reports the problems finished by any thread on 2 threads', async () => {
    svmThreadSettings.minWork = 0;
    const progress: FitProgress[] = [];
    const model = await fitSvm(2, { onProgress: (p) => progress.push(p) });
    expect(model.diagnostics().threads).toBe(2);
    expect(progress.length).toBeGreaterThan(0);
    for (const [i, p] of progress.entries()) {
      expect(p).toMatchObject({ total: SVM_PROBLEMS, unit: 'binary problems' });
      expect(p.done).toBeGreaterThanOrEqual(i > 0 ? progress[i - 1].done : 0);
      expect(p.done).toBeLessThanOrEqual(SVM_PROBLEMS);
    }
  });

  for (const threads of [1, 2]) {
    describe(`on ${threads} thread${threads > 1 ? 's' : ''}`, () => {
      it('rejects with the abort reason when the signal was aborted before the fit', async () => {
        svmThreadSettings.minWork = 0;
        const run = abortable();
        run.abort();
        await expect(fitSvm(threads, run)).rejects.toBe(run.reason);
        expect(run.progress).toEqual([]);
      });

      it('rejects with the abort reason when aborted from onProgress, reporting nothing after', async () => {
        svmThreadSettings.minWork = 0;
        const run = abortable();
        const at = threads === 1 ? 3 : 1;
        const fit = fitSvm(threads, {
          signal: run.signal,
          onProgress: (p) => {
            run.onProgress(p);
            if (run.progress.length === at) run.abort();
          },
        });
        await expect(fit).rejects.toBe(run.reason);
        expect(run.reportsAtAbort).toBe(at);
        expect(run.progress).toHaveLength(at);
        expect(run.progress[at - 1].done).toBeLessThan(SVM_PROBLEMS);
      });

      it('rejects with the abort reason when aborted from a timer while it runs', async () => {
        svmThreadSettings.minWork = 0;
        fitControlSettings.sliceMs = 0;
        const run = abortable();
        const timer = setTimeout(() => run.abort(), 1);
        try {
          await expect(fitSvm(threads, run)).rejects.toBe(run.reason);
        } finally {
          clearTimeout(timer);
        }
        expect(run.reportsAtAbort).toBeGreaterThanOrEqual(threads === 1 ? 1 : 0);
        expect(run.progress).toHaveLength(run.reportsAtAbort);
        expect(run.progress.every((p) => p.done < SVM_PROBLEMS)).toBe(true);
      });
    });
  }

  it('after an aborted threaded fit, the pool recovers: the next fit gives the same model', async () => {
    svmThreadSettings.minWork = 0;
    const before = await fitSvm(2);
    expect(before.diagnostics().threads).toBe(2);

    const during = abortable();
    const fit = fitSvm(2, {
      signal: during.signal,
      onProgress: (p) => {
        during.onProgress(p);
        if (during.progress.length === 1) during.abort();
      },
    });
    await expect(fit).rejects.toBe(during.reason);

    const timed = abortable();
    const timer = setTimeout(() => timed.abort(), 20);
    try {
      await expect(fitSvm(2, timed)).rejects.toBe(timed.reason);
    } finally {
      clearTimeout(timer);
    }

    const started = svmPoolStats().started;
    const after = await fitSvm(2);
    expect(after.diagnostics().threads).toBe(2);
    // The aborted fit's workers were let go; the next fit starts a fresh one.
    expect(svmPoolStats().started).toBe(started + 1);
    expectSameTensors(before.save(), after.save());
    expect(after.diagnostics()).toEqual(before.diagnostics());
  });
});
