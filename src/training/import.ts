import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { LoadedProject } from '../config/load.js';
import { loadTable } from '../data/load.js';
import { getColumn } from '../data/table.js';
import { fitPipeline } from '../features/pipeline.js';
import { getModelFamily } from '../models/registry.js';
import '../models/index.js';
import { encodeLabels } from '../data/labels.js';
import type { Manifest } from '../packaging/manifest.js';
import { writePackage } from '../packaging/write.js';
import { type Progress, silentProgress } from '../util/progress.js';
import { codeVersion } from '../util/provenance.js';
import { checkProject } from './check.js';
import { dataFingerprint, projectManifest } from './manifest.js';

/** A fitted linear classifier exported from a notebook: scikit-learn's coef_/intercept_/classes_. */
const linearCoefficientsSchema = z.object({
  feature_names: z.array(z.string()).min(1),
  coef: z.union([z.array(z.number()), z.array(z.array(z.number()))]),
  intercept: z.union([z.number(), z.array(z.number())]),
  classes: z.array(z.union([z.string(), z.number(), z.boolean()])).min(2),
  params: z.record(z.string(), z.unknown()).default({}),
  sklearn_class: z.string().optional(),
});

/**
 * Imports a data scientist's fitted logistic regression as a Kiln package. The project declares the
 * data and the notebook's preprocessing; those steps are fitted on the project's data (the frozen
 * state the notebook should have kept) and the coefficients are matched to the features by name.
 */
export async function importLogisticRegression(
  loaded: LoadedProject,
  coefficientsFile: string,
  outputDir: string,
  progress: Progress = silentProgress,
): Promise<Manifest> {
  const { project, dir } = loaded;
  checkProject(loaded);
  const parsed = linearCoefficientsSchema.safeParse(JSON.parse(readFileSync(coefficientsFile, 'utf8')));
  if (!parsed.success) {
    throw new Error(
      `${coefficientsFile}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  const imported = parsed.data;
  progress.stage('load', { source: project.data.source.path });
  const { table, report } = await loadTable(project.data, {
    baseDir: dir,
    requiredNonNull: [project.target.column],
    rejectsPath: `${path.resolve(outputDir)}.rejects.csv`,
    onProgress: (rows) => progress.tick('rows', rows),
  });
  const exclude = [project.target.column, project.data.id].filter((c): c is string => Boolean(c));
  progress.stage('fit preprocessing');
  const { pipeline, X } = await fitPipeline(project.features, table, { exclude });

  const rows = Array.isArray(imported.coef[0]) ? (imported.coef as number[][]) : [imported.coef as number[]];
  const intercepts = Array.isArray(imported.intercept) ? imported.intercept : [imported.intercept];
  const names = imported.feature_names;
  const missing = pipeline.featureNames.filter((n) => !names.includes(n));
  const extra = names.filter((n) => !pipeline.featureNames.includes(n));
  if (missing.length || extra.length) {
    throw new Error(
      `the project's features do not match the imported model's: ${missing.length ? `not in the model: ${missing.join(', ')}` : ''}${missing.length && extra.length ? '; ' : ''}${extra.length ? `not produced by the project: ${extra.join(', ')}` : ''}`,
    );
  }
  const p = names.length;
  const coef = new Float64Array(rows.length * p);
  rows.forEach((row, r) => {
    if (row.length !== p) throw new Error(`coefficient row ${r} has ${row.length} values for ${p} features`);
    // Reorder to the pipeline's feature order.
    pipeline.featureNames.forEach((name, j) => {
      coef[r * p + j] = row[names.indexOf(name)];
    });
  });
  const classes = imported.classes.map(String);
  const labels = encodeLabels(getColumn(table, project.target.column));
  if (labels.classes.join('\u0000') !== classes.join('\u0000')) {
    throw new Error(
      `the model's classes (${classes.join(', ')}) differ from the target's (${labels.classes.join(', ')})`,
    );
  }
  const family = getModelFamily('logistic_regression');
  const saved = {
    meta: { params: imported.params, classes },
    tensors: {
      coef: { shape: [rows.length, p], data: coef },
      intercept: { shape: [intercepts.length], data: Float64Array.from(intercepts) },
    },
  };
  const task = classes.length === 2 ? 'binary' : 'multiclass';
  family.load(saved, { task, classes });
  const positive = project.target.positive ?? classes[classes.length - 1];
  const data = dataFingerprint('preprocessing', report);
  return writePackage(
    outputDir,
    projectManifest(project, pipeline, X, {
      family: family.name,
      task,
      classes,
      positive,
      threshold: 0.5,
      metrics: { headline: project.evaluation.headline ?? 'roc_auc' },
      lineage: {
        runId: null,
        project: project.name,
        data: [data],
        codeVersion: codeVersion(dir),
        seed: null,
        parent: null,
        importedFrom: `${path.basename(coefficientsFile)}${imported.sklearn_class ? ` (${imported.sklearn_class})` : ''}`,
      },
    }),
    saved,
  );
}
