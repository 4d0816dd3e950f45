import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Table } from '../data/table.js';
import { type FittedPipeline, loadPipeline } from '../features/pipeline.js';
import type { FittedModel, ModelContext } from '../models/family.js';
import { getModelFamily } from '../models/registry.js';
import { decide, getTask, type Task, type TaskOutput } from '../tasks/index.js';
import { type Manifest, manifestSchema } from './manifest.js';
import { decodeSafetensors } from './safetensors.js';
import { MANIFEST_FILE } from './write.js';

export interface Scored {
  /** Row-major, `width` scores per row (probabilities per class, a value, a vector); refused rows NaN. */
  scores: Float64Array;
  width: number;
  /** Decided class per row (classification); null for refused rows and for tasks without classes. */
  labels: (string | null)[];
  /** Row index → reason, for rows the frozen pipeline refused. */
  rowErrors: ReadonlyMap<number, string>;
}

/** A model package ready to score: frozen features + model, nothing from training. */
export interface PackagedModel {
  readonly dir: string;
  readonly manifest: Manifest;
  readonly task: Task;
  readonly output: TaskOutput;
  readonly pipeline: FittedPipeline;
  readonly model: FittedModel;
  /** The package's own TypeScript path: frozen pipeline, then the model, then the task's decision. */
  score(table: Table): Scored | Promise<Scored>;
}

export class PackageError extends Error {
  constructor(dir: string, message: string) {
    super(`model package ${dir}: ${message}`);
    this.name = 'PackageError';
  }
}

export function loadPackage(dir: string): PackagedModel {
  const root = path.resolve(dir);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path.join(root, MANIFEST_FILE), 'utf8'));
  } catch (error) {
    throw new PackageError(root, `cannot read ${MANIFEST_FILE}: ${(error as Error).message}`);
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    throw new PackageError(
      root,
      `invalid manifest: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  const manifest = parsed.data;
  // File names come from the manifest: they must stay inside the package folder.
  for (const [role, name] of [
    ['weights', manifest.model.weights],
    ['onnx', manifest.model.onnx],
  ] as const) {
    if (name !== undefined && (name !== path.basename(name) || name.startsWith('.')))
      throw new PackageError(root, `${role} file name "${name}" is not a plain file name`);
  }
  const weights = manifest.model.weights;
  const { tensors } = decodeSafetensors(readFileSync(path.join(root, weights)));
  const pipeline = loadPipeline(manifest.features);
  const task = getTask(manifest.task);
  const output: TaskOutput = manifest.output;
  const context: ModelContext = { task: task.name, classes: output.classes };
  let model: FittedModel;
  try {
    model = getModelFamily(manifest.model.family).load({ meta: manifest.model.meta, tensors }, context);
  } catch (error) {
    throw new PackageError(root, (error as Error).message);
  }
  const width = task.width(output);
  return {
    dir: root,
    manifest,
    task,
    output,
    pipeline,
    model,
    score(table) {
      const { X, rowErrors } = pipeline.transform(table);
      const scores = model.predict(X);
      return scores instanceof Float64Array
        ? decided(task, output, width, scores, rowErrors, table.nRows)
        : scores.then((s) => decided(task, output, width, s, rowErrors, table.nRows));
    },
  };
}

/** Refused rows set to NaN, and each row's class by the task's decision rule. */
export function decided(
  task: Task,
  output: TaskOutput,
  width: number,
  scores: Float64Array,
  rowErrors: ReadonlyMap<number, string>,
  rows: number,
): Scored {
  if (scores.length !== rows * width)
    throw new Error(`the model returned ${scores.length} scores for ${rows} rows x ${width}`);
  const rule = task.rule(output);
  const labels: (string | null)[] = new Array(rows).fill(null);
  for (let i = 0; i < rows; i++) {
    if (rowErrors.has(i)) scores.fill(Number.NaN, i * width, (i + 1) * width);
    else if (rule) labels[i] = output.classes[decide(scores, i * width, rule)];
  }
  return { scores, width, labels, rowErrors };
}
