import path from 'node:path';
import { encodeLabels } from '../data/labels.js';
import type { DataReport } from '../data/load.js';
import { type Column, getColumn, isNumericColumn } from '../data/table.js';
import {
  type BootstrapInterval,
  bootstrapEvaluation,
  type ClassificationMetrics,
  classificationOf,
  type EvaluationInput,
  metricsFor,
  metricValues,
  type RunReport,
  reportCurves,
} from '../evaluation/index.js';
import { loadPackage, type PackagedModel } from '../packaging/load.js';
import { type Progress, silentProgress } from '../util/progress.js';
import { jsEngine } from './engines/js.js';
import { streamPackageInput } from './package-input.js';

export interface PackageEvaluation {
  data: DataReport;
  /** The full classification metrics (per class, confusion, notes); absent for regression. */
  metrics?: ClassificationMetrics;
  /** Every metric of the package's task by name. */
  values: Record<string, number>;
  interval: BootstrapInterval | undefined;
  report: RunReport;
}

/**
 * Scores a labelled file with a package (its frozen pipeline, model and threshold) and measures it with
 * its task's metrics: the same metrics as training, on data the package never saw, or on an imported
 * model.
 */
export async function evaluatePackage(options: {
  modelDir: string;
  input: string;
  /** Where refused rows go (default: `<input name>.rejects.csv` in the working directory). */
  rejects?: string;
  seed?: number;
  bootstrap?: number;
  /** Measure a package edited by hand (files that differ from its recorded digests), with a warning. */
  allowModified?: boolean;
  progress?: Progress;
}): Promise<PackageEvaluation> {
  const progress = options.progress ?? silentProgress;
  const model = loadPackage(options.modelDir, { allowModified: options.allowModified });
  const { manifest, task } = model;
  const { target, classes, positive, threshold } = model.output;
  const { targetSpec } = manifest.output;
  if (task.target === 'none' || target === undefined)
    throw new Error(`${manifest.name} is a ${task.name} model: it has no target to evaluate against`);
  const stream = streamPackageInput(model, options.input, {
    rejects: options.rejects ?? `${path.basename(options.input)}.rejects.csv`,
    progress,
    // Packages that do not record how the target reads: numbers for regression, else the labels' text.
    extraColumns: {
      [target]: targetSpec ?? { type: task.target === 'numbers' ? 'number' : 'string', nullable: true },
    },
    requiredNonNull: [target],
  });

  const engine = jsEngine(model);
  const targets: (Int32Array | Float64Array)[] = [];
  const chunks: Float64Array[] = [];
  progress.stage('evaluate', { model: manifest.name, input: options.input });
  for await (const chunk of stream) {
    // The stream already quarantined the rows the pipeline refuses: every row here scores.
    const { scores } = await engine.score(chunk.table);
    targets.push(targetValues(model, getColumn(chunk.table, target), target));
    chunks.push(scores);
  }
  const data = stream.report();
  const numeric = task.target === 'numbers';
  const yTrue = numeric ? concat(targets, Float64Array) : concat(targets, Int32Array);
  const positiveIndex = positive === undefined ? undefined : classes.indexOf(positive);
  const input: EvaluationInput = {
    task: task.name,
    yTrue,
    scores: concat(chunks, Float64Array),
    classes,
    positive: positiveIndex,
    threshold,
  };
  if (yTrue.length === 0) throw new Error(`${options.input}: no labelled row left to evaluate`);
  const values = metricValues(input);
  const metrics = numeric ? undefined : classificationOf(input);
  const recorded = (manifest.metrics as { headline?: unknown }).headline;
  const headline =
    typeof recorded === 'string' && metricsFor(task.name).some((m) => m.name === recorded)
      ? recorded
      : (task.defaultHeadline ?? Object.keys(values)[0]);
  const interval =
    options.bootstrap === 0
      ? undefined
      : bootstrapEvaluation(input, headline, {
          seed: options.seed ?? 0,
          replicates: options.bootstrap ?? 1000,
        });
  const report: RunReport = {
    title: `Evaluation of ${manifest.name} on ${path.basename(options.input)}`,
    project: manifest.lineage.project,
    runId: manifest.lineage.runId ?? 'imported',
    createdAt: new Date().toISOString(),
    model: {
      family: manifest.model.family,
      params: (manifest.model.meta.params as Record<string, unknown>) ?? {},
    },
    data: [
      {
        name: data.path,
        rowsRead: data.rowsRead,
        rowsAccepted: data.rowsAccepted,
        rowsRejected: data.rowsRejected,
        rejectsPath: data.rejectsPath ?? undefined,
      },
    ],
    evaluatedOn: `${yTrue.length} labelled rows of ${data.path}`,
    classes,
    positive,
    headline,
    metrics: values,
    intervals: interval ? { [headline]: interval } : undefined,
    notes: metrics?.notes,
    perClass: metrics?.perClass ?? [],
    confusion: metrics?.confusion ?? [],
    threshold: threshold === undefined ? undefined : { strategy: 'from package', value: threshold },
    curves:
      yTrue instanceof Int32Array
        ? reportCurves({ yTrue, proba: input.scores, classes, positive: positiveIndex, threshold })
        : undefined,
    gates: [],
  };
  return { data, ...(metrics ? { metrics } : {}), values, interval, report };
}

/** The target column as the task reads it: class codes in the package's order, or numbers. */
function targetValues(model: PackagedModel, column: Column, name: string): Int32Array | Float64Array {
  if (model.task.target === 'classes') return encodeLabels(column, model.output.classes).codes;
  if (!isNumericColumn(column) || column.type === 'boolean' || column.type === 'datetime')
    throw new Error(`a regression target must be a number or integer column; "${name}" is ${column.type}`);
  return Float64Array.from(column.values);
}

function concat<T extends Int32Array | Float64Array>(
  parts: readonly (Int32Array | Float64Array)[],
  Type: { new (length: number): T },
): T {
  const out = new Type(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
