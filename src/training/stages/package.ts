import path from 'node:path';
import { exportPipelineToOnnx, OnnxExportError } from '../../packaging/onnx.js';
import { writePackage } from '../../packaging/write.js';
import type { DataFingerprint } from '../../stores/metadata/index.js';
import { projectManifest } from '../manifest.js';
import type { RunContext } from '../stage.js';
import type { CrossValidated } from './cross-validate.js';
import type { Evaluated } from './evaluate.js';
import type { FittedRun } from './fit.js';
import type { TrainingSet } from './validate.js';

/**
 * Writes the model package into the run folder: the manifest (signature, task and output, frozen
 * pipeline, metrics, reference statistics, lineage), the weights, and the whole pipeline as one ONNX
 * graph where every step and the family can export. Returns the package folder.
 */
export function packageModel(
  context: RunContext,
  input: {
    set: TrainingSet;
    cv: CrossValidated;
    fitted: FittedRun;
    evaluated: Evaluated;
    data: readonly DataFingerprint[];
    /** The targets of the rows the final model was fitted on. */
    devTargets: Int32Array | Float64Array;
  },
): string {
  const { project, run, seed } = context;
  const { set, cv, fitted, evaluated } = input;
  const packageDir = path.join(context.runDir, 'package');
  const saved = fitted.model.save();
  const manifest = projectManifest(project, fitted.pipeline, fitted.X, {
    family: set.family.name,
    task: set.task.name,
    classes: set.classes,
    positive: set.positiveName,
    threshold: cv.threshold,
    metrics: {
      headline: set.headline,
      cv: cv.folds,
      oof: cv.oofMetrics,
      intervals: cv.intervals,
      ...(evaluated.testMetrics ? { test: evaluated.testMetrics } : {}),
      diagnostics: fitted.model.diagnostics(),
    },
    ...(set.task.target === 'classes'
      ? { reference: { classPrior: classPrior(input.devTargets, set.classes.length) } }
      : {}),
    lineage: {
      runId: run.id,
      project: project.name,
      data: [...input.data],
      codeVersion: run.codeVersion,
      seed,
      parent: null,
    },
  });
  let graph: Uint8Array | undefined;
  try {
    graph = exportPipelineToOnnx({
      pipelineState: fitted.pipeline.state(),
      modelSaved: saved,
      classes: set.classes,
      task: set.task.name,
      family: set.family.name,
      name: project.name,
      positive: set.positiveName,
      threshold: cv.threshold,
    });
  } catch (error) {
    if (!(error instanceof OnnxExportError)) throw error;
    context.progress.info(`package has no ONNX graph: ${error.message}`);
  }
  writePackage(packageDir, manifest, saved, graph);
  context.progress.info(`package written to ${packageDir}`);
  return packageDir;
}

/** Share of each class among the rows the final model was fitted on. */
function classPrior(y: Int32Array | Float64Array, k: number): number[] {
  const counts = new Array(k).fill(0);
  for (const c of y) counts[c]++;
  return counts.map((c) => c / y.length);
}
