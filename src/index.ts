/**
 * Kiln's public SDK: what project configs and user code import from 'kiln'. It defines projects and
 * extends Kiln with model families, feature steps and metrics of one's own; everything else (the
 * CLI, the server, the stores) is runtime, reached through `kiln` commands.
 */

import type { ProjectInput as SchemaInput } from './config/schema.js';
import type { BuiltinStepConfig } from './features/steps/configs.js';

export type { Project, TaskName } from './config/schema.js';

/** A feature step as written in a project: a built-in kind (typed), or one registered with `registerFeatureStep`. */
export type FeatureStepInput =
  | {
      [K in BuiltinStepConfig['step']]: { step: K } & Partial<
        Omit<Extract<BuiltinStepConfig, { step: K }>, 'step'>
      >;
    }[BuiltinStepConfig['step']]
  | ({ step: string } & Record<string, unknown>);

/** A project as written in kiln.config.ts (defaults not yet filled). */
export type ProjectInput = Omit<SchemaInput, 'features'> & { features?: FeatureStepInput[] };

/** Typed helper for kiln.config.ts; validation happens when Kiln loads the file. */
export function defineProject(project: ProjectInput): ProjectInput {
  return project;
}

/** zod, for the params schema of a model family and the config schema of a feature step. */
export { z } from 'zod';
// Data between steps and models.
export type { CsrMatrix, DenseMatrix, InputKind, Matrix, ModelInput } from './data/matrix.js';
export { denseMatrix } from './data/matrix.js';
export type { Column, ColumnType, NumericColumn, StringColumn, Table } from './data/table.js';
export { getColumn, isNumericColumn, isStringColumn, makeTable } from './data/table.js';
export { type DType, type Tensor, tensor } from './data/tensor.js';
// Metrics.
export type { EvaluationInput, Metric } from './evaluation/registry.js';
export { registerMetric } from './evaluation/registry.js';
// Feature steps.
export type {
  FitContext,
  FittedStep,
  RowErrors,
  SparseFeatures,
  StepKind,
  StepState,
  TensorFeatures,
} from './features/steps/index.js';
export { parseStepState, registerFeatureStep } from './features/steps/index.js';
export { replaceColumns, reportRow } from './features/steps/step.js';
// Model families.
export type * from './models/family.js';
export { type FitControl, fitControl } from './models/fit-control.js';
export { registerModelFamily } from './models/registry.js';
// Receiving Kiln's signed webhooks.
export { verifyWebhookSignature } from './notifications/webhook.js';
// Scoring a package in-process.
export {
  type LoadOptions,
  loadPackage,
  type PackagedModel,
  PackageModifiedError,
  type Scored,
} from './packaging/load.js';
export type { Scores, TaskOutput } from './tasks/index.js';
