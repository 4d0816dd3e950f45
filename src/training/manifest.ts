import type { Project, TaskName } from '../config/schema.js';
import type { DataReport } from '../data/load.js';
import type { Matrix, ModelInput } from '../data/matrix.js';
import type { FittedPipeline } from '../features/pipeline.js';
import { featureReferenceStats } from '../features/reference.js';
import { MANIFEST_FORMAT, type ManifestInput } from '../packaging/manifest.js';
import type { DataFingerprint } from '../stores/metadata/index.js';

/** The parts of a manifest that only a training or import run knows. */
export interface ManifestFacts {
  family: string;
  task: TaskName;
  /** Class names (classification); empty for regression. */
  classes: readonly string[];
  positive?: string;
  threshold?: number;
  metrics: Record<string, unknown>;
  lineage: ManifestInput['lineage'];
  /** Extra reference statistics beside the per-feature ones (e.g. the class prior). */
  reference?: Record<string, unknown>;
}

/** A package manifest for a project's frozen pipeline, fitted on `X` (its training model input). */
export function projectManifest(
  project: Project,
  pipeline: FittedPipeline,
  X: ModelInput,
  facts: ManifestFacts,
): Omit<ManifestInput, 'model'> & { model: { family: string } } {
  const { path: _path, ...reading } = project.data.source;
  const binary = facts.task === 'binary';
  return {
    format: MANIFEST_FORMAT,
    name: project.name,
    createdAt: new Date().toISOString(),
    task: facts.task,
    signature: {
      inputs: pipeline.inputColumns.map((name) => ({ name, ...project.data.schema[name] })),
      ...(project.data.id ? { id: project.data.id } : {}),
    },
    output: {
      target: project.target.column,
      targetSpec: project.data.schema[project.target.column],
      classes: [...facts.classes],
      positive: binary ? facts.positive : undefined,
      threshold: binary ? facts.threshold : undefined,
    },
    reading,
    features: pipeline.state(),
    featureNames: [...pipeline.featureNames],
    model: { family: facts.family },
    metrics: facts.metrics,
    ...(project.registry.intendedUse || project.registry.limitations.length
      ? {
          card: {
            intendedUse: project.registry.intendedUse,
            limitations: project.registry.limitations,
          },
        }
      : {}),
    reference: { ...(X.kind === 'tensor' ? {} : referenceStats(X, pipeline)), ...facts.reference },
    lineage: facts.lineage,
  };
}

/** What a run records about one input: where, which bytes, and where every row went. */
export function dataFingerprint(role: string, report: DataReport): DataFingerprint {
  return {
    role,
    path: report.path,
    sha256: report.sha256,
    bytes: report.sizeBytes,
    rowsRead: report.rowsRead,
    rowsAccepted: report.rowsAccepted,
    rowsRejected: report.rowsRejected,
  };
}

/**
 * Drift reference: per-feature statistics of the dense features, and for each sparse block (TF-IDF,
 * tens of thousands of terms) one summary instead of a statistic per term, which would make the
 * manifest megabytes long for no drift test that reads it.
 */
function referenceStats(X: Matrix, pipeline: FittedPipeline) {
  const all = featureReferenceStats(X, pipeline.featureNames);
  const rowsWithTerms = (start: number, size: number): number => {
    if (X.kind !== 'csr') return 0;
    let rows = 0;
    for (let i = 0; i < X.rows; i++) {
      for (let p = X.indptr[i]; p < X.indptr[i + 1]; p++) {
        const j = X.indices[p];
        if (j >= start && j < start + size) {
          rows++;
          break;
        }
      }
    }
    return rows;
  };
  return {
    features: all.slice(0, pipeline.denseFeatureCount),
    ...(pipeline.sparseBlocks.length
      ? {
          sparseBlocks: pipeline.sparseBlocks.map((block) => ({
            name: block.name,
            features: block.size,
            rowsWithTermsFraction: X.rows ? rowsWithTerms(block.start, block.size) / X.rows : 0,
          })),
        }
      : {}),
  };
}
