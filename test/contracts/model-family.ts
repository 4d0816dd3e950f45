/**
 * The contract every model family keeps, built-in or registered through the SDK: seeded fits are
 * deterministic, a saved model loads back to identical predictions (through the package's own
 * formats: JSON meta and safetensors weights), the scores have the task's layout, what the family
 * declares it can take works and what it does not declare is refused with a clear error, and an
 * abort stops a fit with the signal's reason.
 */
import { describe, expect, it } from 'vitest';
import type { TaskName } from '../../src/config/schema.js';
import { type DenseMatrix, denseMatrix, denseToCsr, type ModelInput } from '../../src/data/matrix.js';
import { tensor } from '../../src/data/tensor.js';
import type {
  FitOptions,
  FittedModel,
  ModelContext,
  ModelFamily,
  SavedModel,
} from '../../src/models/family.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/packaging/safetensors.js';
import { getTask } from '../../src/tasks/index.js';
import { Random } from '../../src/util/random.js';

export interface FamilyContract {
  family: ModelFamily;
  /** Params for the suite's fits (small and fast), per task; default {}. */
  params?: Partial<Record<TaskName, Record<string, unknown>>>;
  /**
   * Params under which weighting a row by w equals repeating it w times (a solver run to a tight
   * tolerance, no row-dependent randomness such as calibration folds), and the tolerance on
   * predictions that equivalence holds to.
   */
  weights?: { params: Record<string, unknown>; tolerance: number };
  /** ONNX parity of the family's fragment (built-in families only; see onnx-parity.ts). */
  onnxParity?: (
    family: ModelFamily,
    saved: SavedModel,
    context: ModelContext,
    X: DenseMatrix,
  ) => Promise<number>;
}

/** A seeded problem for a task: 3 features carrying signal, 1 of noise. */
export function taskData(task: TaskName, n = 240, seed = 7) {
  const rng = new Random(seed);
  const p = 4;
  const X = denseMatrix(n, p);
  const k = task === 'binary' ? 2 : 3;
  const classes = task === 'regression' ? [] : Array.from({ length: k }, (_, c) => `c${c}`);
  const codes = new Int32Array(n);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % k;
    codes[i] = c;
    for (let j = 0; j < p; j++) X.data[i * p + j] = rng.normal() + (j === c ? 1.5 : 0);
    values[i] = 2 * X.data[i * p] - X.data[i * p + 1] + 0.5 * X.data[i * p + 2] + 0.1 * rng.normal();
  }
  return {
    X,
    y: task === 'regression' ? values : codes,
    classes,
    context: { task, classes } as ModelContext,
  };
}

const SUPPORTED: readonly TaskName[] = ['binary', 'multiclass', 'regression'];

async function predict(model: FittedModel, X: ModelInput): Promise<Float64Array> {
  return Float64Array.from(await model.predict(X));
}

function maxDiff(a: Float64Array, b: Float64Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/** A saved model as a package stores it: meta through JSON, tensors through safetensors. */
function throughPackage(saved: SavedModel): SavedModel {
  const meta = JSON.parse(JSON.stringify(saved.meta)) as Record<string, unknown>;
  const { tensors } = decodeSafetensors(encodeSafetensors(saved.tensors, { family: 'contract' }));
  return { meta, tensors };
}

export function describeModelFamilyContract(contract: FamilyContract): void {
  const { family } = contract;
  const tasks = family.tasks.filter((t) => SUPPORTED.includes(t));
  const options = (task: TaskName, classes: string[], extra: Partial<FitOptions<unknown>> = {}) => ({
    params: family.params.parse(contract.params?.[task] ?? {}),
    task,
    classes,
    seed: 3,
    ...extra,
  });

  describe(`model family contract: ${family.name}`, () => {
    it('declares a name, tasks and capabilities the pipeline can read', () => {
      expect(family.name).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(family.tasks.length).toBeGreaterThan(0);
      expect(family.capabilities.inputs.length).toBeGreaterThan(0);
      for (const key of ['missingValues', 'sampleWeights', 'warmStart', 'threads'] as const)
        expect(typeof family.capabilities[key]).toBe('boolean');
      expect(family.params.safeParse({}).success).toBe(true);
    });

    for (const task of tasks) {
      describe(task, () => {
        const data = taskData(task);
        const width = getTask(task).width({ classes: data.classes });

        it('fits deterministically for a seed, with scores in the task layout', async () => {
          const a = await family.fit(data.X, data.y, options(task, data.classes));
          const b = await family.fit(data.X, data.y, options(task, data.classes));
          const pa = await predict(a, data.X);
          expect(pa).toEqual(await predict(b, data.X));
          expect(pa.length).toBe(data.X.rows * width);
          for (const v of pa) expect(Number.isFinite(v)).toBe(true);
          if (task !== 'regression') {
            for (let i = 0; i < data.X.rows; i++) {
              let sum = 0;
              for (let c = 0; c < width; c++) {
                expect(pa[i * width + c]).toBeGreaterThanOrEqual(0);
                sum += pa[i * width + c];
              }
              expect(sum).toBeCloseTo(1, 12);
            }
          }
        });

        it('loads back from its saved form (JSON meta, safetensors weights) to identical predictions', async () => {
          const model = await family.fit(data.X, data.y, options(task, data.classes));
          const loaded = family.load(throughPackage(model.save()), data.context);
          expect(await predict(loaded, data.X)).toEqual(await predict(model, data.X));
          expect(loaded.family).toBe(family.name);
        });

        if (family.capabilities.inputs.includes('sparse') && family.capabilities.inputs.includes('dense')) {
          it('gives the same predictions for dense and CSR input', async () => {
            const dense = await family.fit(data.X, data.y, options(task, data.classes));
            const sparse = await family.fit(denseToCsr(data.X), data.y, options(task, data.classes));
            expect(
              maxDiff(await predict(dense, data.X), await predict(sparse, denseToCsr(data.X))),
            ).toBeLessThan(1e-9);
          });
        }

        it('refuses an input kind it does not declare, naming it', async () => {
          const undeclared: ModelInput[] = [];
          if (!family.capabilities.inputs.includes('sparse')) undeclared.push(denseToCsr(data.X));
          if (!family.capabilities.inputs.includes('sequence'))
            undeclared.push(tensor('float64', [data.X.rows, 2, 2], Float64Array.from(data.X.data)));
          for (const X of undeclared)
            await expect(family.fit(X, data.y, options(task, data.classes))).rejects.toThrow(
              /tensor|sparse|matrix|input/i,
            );
        });

        const withMissing = () => {
          const X = denseMatrix(data.X.rows, data.X.cols, Float64Array.from(data.X.data));
          for (let i = 0; i < X.rows; i += 7) X.data[i * X.cols + (i % X.cols)] = Number.NaN;
          return X;
        };
        if (family.capabilities.missingValues) {
          it('handles missing values itself (declared): fits and scores rows with NaN features', async () => {
            const X = withMissing();
            const model = await family.fit(X, data.y, options(task, data.classes));
            for (const v of await predict(model, X)) expect(Number.isFinite(v)).toBe(true);
          });
        } else {
          it('refuses NaN features with a message about missing values (not declared)', async () => {
            await expect(family.fit(withMissing(), data.y, options(task, data.classes))).rejects.toThrow(
              /missing|NaN|impute/i,
            );
          });
        }

        if (family.capabilities.sampleWeights && contract.weights) {
          const { params, tolerance } = contract.weights;
          it('weights a row like repeating it, and a zero weight like leaving it out (declared)', async () => {
            const n = data.X.rows;
            const p = data.X.cols;
            const weights = Float64Array.from({ length: n }, (_, i) =>
              i % 5 === 0 ? 2 : i % 11 === 0 ? 0 : 1,
            );
            const rows: number[] = [];
            for (let i = 0; i < n; i++) for (let r = 0; r < weights[i]; r++) rows.push(i);
            const repeated = denseMatrix(
              rows.length,
              p,
              Float64Array.from(rows.flatMap((i) => Array.from(data.X.data.subarray(i * p, (i + 1) * p)))),
            );
            const yRepeated =
              data.y instanceof Int32Array
                ? Int32Array.from(rows, (i) => data.y[i])
                : Float64Array.from(rows, (i) => data.y[i]);
            const base = { ...options(task, data.classes), params: family.params.parse(params) };
            const weighted = await family.fit(data.X, data.y, { ...base, sampleWeight: weights });
            const copied = await family.fit(repeated, yRepeated, base);
            expect(maxDiff(await predict(weighted, data.X), await predict(copied, data.X))).toBeLessThan(
              tolerance,
            );
          });
        }

        it('stops with the abort reason when the signal fires before or during a fit', async () => {
          const before = new AbortController();
          const reason = new Error('stop now');
          before.abort(reason);
          await expect(
            family.fit(data.X, data.y, options(task, data.classes, { signal: before.signal })),
          ).rejects.toBe(reason);
          // Aborted from its first progress report: the fit is under way and must stop there.
          const during = new AbortController();
          const later = new Error('stop later');
          let reports = 0;
          const fit = family.fit(
            data.X,
            data.y,
            options(task, data.classes, {
              signal: during.signal,
              onProgress: () => {
                reports++;
                during.abort(later);
              },
            }),
          );
          await expect(fit).rejects.toBe(later);
          expect(reports).toBe(1);
        });

        it('reports progress while it fits', async () => {
          const seen: { done: number; total?: number; unit: string }[] = [];
          await family.fit(data.X, data.y, options(task, data.classes, { onProgress: (p) => seen.push(p) }));
          expect(seen.length).toBeGreaterThan(0);
          for (const p of seen) {
            expect(p.unit).toEqual(expect.any(String));
            if (p.total !== undefined) expect(p.done).toBeLessThanOrEqual(p.total);
          }
        });

        if (family.exportOnnx && contract.onnxParity) {
          const parity = contract.onnxParity;
          it('exports an ONNX fragment that scores within 1e-5 of predict', async () => {
            const model = await family.fit(data.X, data.y, options(task, data.classes));
            expect(await parity(family, model.save(), data.context, data.X)).toBeLessThanOrEqual(1e-5);
          });
        }
      });
    }
  });
}
