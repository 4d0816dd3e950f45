import type { FeatureStepConfig } from '../../config/schema.js';
import type { Table } from '../../data/table.js';
import { deriveStep } from './derive.js';
import { dropStep } from './drop.js';
import { imputeStep } from './impute.js';
import { oneHotStep } from './one-hot.js';
import { ordinalStep } from './ordinal.js';
import { scaleStep } from './scale.js';
import type { FitContext, FittedStep, StepKind, StepName } from './step.js';
import { tfidfStep } from './tfidf.js';

/**
 * Step kinds by name. Frozen: the set of kinds is the config schema's `featureStepSchema` union, so a
 * new kind is a schema change plus an entry here.
 */
const STEP_KINDS: { readonly [K in StepName]: StepKind<K> } = Object.freeze({
  impute: imputeStep,
  derive: deriveStep,
  one_hot: oneHotStep,
  ordinal: ordinalStep,
  scale: scaleStep,
  drop: dropStep,
  tfidf: tfidfStep,
});

export function getStepKind<K extends StepName>(name: K): StepKind<K> {
  const kind = Object.hasOwn(STEP_KINDS, name) ? STEP_KINDS[name] : undefined;
  if (!kind) throw new Error(`unknown feature step "${name}"; known: ${stepKindNames().join(', ')}`);
  return kind;
}

export function stepKindNames(): StepName[] {
  return Object.keys(STEP_KINDS).sort() as StepName[];
}

export function fitStep(table: Table, config: FeatureStepConfig, context: FitContext): FittedStep {
  // The correlated union needs this cast: getStepKind(config.step) takes exactly config's type.
  return (getStepKind(config.step) as StepKind<StepName>).fit(table, config as never, context);
}

/** Restores a fitted step from its JSON state, dispatching on `state.config.step`. */
export function loadStep(state: unknown): FittedStep {
  const step = (state as { config?: { step?: unknown } } | null)?.config?.step;
  if (typeof step !== 'string') throw new Error('invalid feature step state: no config.step');
  return getStepKind(step as StepName).load(state);
}

export type { DeriveState } from './derive.js';
export type { DropState } from './drop.js';
export type { ImputeState } from './impute.js';
export { MISSING_LEVEL, type OneHotState } from './one-hot.js';
export type { OrdinalState } from './ordinal.js';
export type { ScaleState } from './scale.js';
export type {
  FitContext,
  FittedStep,
  RowErrors,
  SparseFeatures,
  StepConfig,
  StepKind,
  StepName,
  StepState,
} from './step.js';
export type { TfidfStepState } from './tfidf.js';
export { deriveStep, dropStep, imputeStep, oneHotStep, ordinalStep, scaleStep, tfidfStep };
