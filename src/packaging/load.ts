import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Table } from '../data/table.js';
import { type FittedPipeline, loadPipeline } from '../features/pipeline.js';
import type { FittedModel, ModelContext } from '../models/family.js';
import { getModelFamily } from '../models/registry.js';
import { decide, getTask, type Task, type TaskOutput } from '../tasks/index.js';
import { manifestDigest, sha256 } from './integrity.js';
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
  /**
   * `verified`: every file and the manifest match the digests the manifest records; `unrecorded`: a
   * package written before packages recorded digests; `modified`: loaded with `allowModified` although
   * `changes` (one line per file) differ from what was written.
   */
  readonly integrity: { status: 'verified' | 'unrecorded' } | { status: 'modified'; changes: string[] };
  /** The package's own TypeScript path: frozen pipeline, then the model, then the task's decision. */
  score(table: Table): Scored | Promise<Scored>;
}

export class PackageError extends Error {
  constructor(dir: string, message: string) {
    super(`model package ${dir}: ${message}`);
    this.name = 'PackageError';
  }
}

/** A package whose files or manifest differ from the digests recorded when it was written. */
export class PackageModifiedError extends PackageError {
  constructor(
    dir: string,
    /** One line per file: its name and what differs. */
    readonly changes: readonly string[],
  ) {
    super(
      dir,
      `modified since it was written, refusing to load it: ${changes.join('; ')}. ` +
        'allowModified (--allow-modified on the command line) loads it anyway, with a warning',
    );
    this.name = 'PackageModifiedError';
  }
}

export interface LoadOptions {
  /** Load a package whose files differ from its recorded digests, with a warning, instead of refusing it. */
  allowModified?: boolean;
  /** Where that warning goes; stderr by default. */
  warn?: (message: string) => void;
}

/**
 * Loads a package folder. A package that records digests (every package written by this version) is
 * verified first: a file or a manifest that no longer matches is refused with `PackageModifiedError`,
 * unless `allowModified`. A package written before digests existed loads as it always did, with nothing
 * to verify: rewriting them would change their registry digests.
 */
export function loadPackage(dir: string, options: LoadOptions = {}): PackagedModel {
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
    ...Object.keys(manifest.integrity?.files ?? {}).map((name) => ['digested', name] as const),
  ] as const) {
    if (name !== undefined && (name !== path.basename(name) || name.startsWith('.')))
      throw new PackageError(root, `${role} file name "${name}" is not a plain file name`);
  }
  const weightsBytes = readFileSync(path.join(root, manifest.model.weights));
  const changes = modifications(root, manifest, raw as Record<string, unknown>, weightsBytes);
  if (changes.length > 0 && !options.allowModified) throw new PackageModifiedError(root, changes);
  if (changes.length > 0)
    (options.warn ?? ((message) => process.stderr.write(`kiln: warning: ${message}\n`)))(
      `model package ${root} was modified since it was written (loaded because modified packages are allowed): ${changes.join('; ')}`,
    );
  const { tensors } = decodeSafetensors(weightsBytes);
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
    integrity: !manifest.integrity
      ? { status: 'unrecorded' }
      : changes.length > 0
        ? { status: 'modified', changes }
        : { status: 'verified' },
    score(table) {
      const { X, rowErrors } = pipeline.transform(table);
      const scores = model.predict(X);
      return scores instanceof Float64Array
        ? decided(task, output, width, scores, rowErrors, table.nRows)
        : scores.then((s) => decided(task, output, width, s, rowErrors, table.nRows));
    },
  };
}

/** What differs from the package's integrity record, one line per file; none for a package without one. */
function modifications(
  root: string,
  manifest: Manifest,
  raw: Record<string, unknown>,
  weightsBytes: Buffer,
): string[] {
  const integrity = manifest.integrity;
  if (!integrity) return [];
  const changes: string[] = [];
  if (manifestDigest(raw) !== integrity.manifest)
    changes.push(`${MANIFEST_FILE} differs from the digest it records (its content was edited)`);
  const used = [manifest.model.weights, ...(manifest.model.onnx ? [manifest.model.onnx] : [])];
  for (const name of used)
    if (!(name in integrity.files)) changes.push(`${name} has no recorded digest (added after writing)`);
  for (const [name, recorded] of Object.entries(integrity.files)) {
    let actual: string;
    try {
      actual = sha256(name === manifest.model.weights ? weightsBytes : readFileSync(path.join(root, name)));
    } catch (error) {
      changes.push(`${name} cannot be read: ${(error as Error).message}`);
      continue;
    }
    if (actual !== recorded) changes.push(`${name} has sha256 ${actual}, not the recorded ${recorded}`);
  }
  return changes;
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
