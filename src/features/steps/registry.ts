import type { FeatureStepConfig } from '../../config/schema.js';
import type { Table } from '../../data/table.js';
import { Registry } from '../../util/registry.js';
import { deriveStep } from './derive.js';
import { dropStep } from './drop.js';
import { imputeStep } from './impute.js';
import { oneHotStep } from './one-hot.js';
import { ordinalStep } from './ordinal.js';
import { scaleStep } from './scale.js';
import { type FitContext, type FittedStep, issues, type StepKind } from './step.js';
import { tfidfStep } from './tfidf-step.js';

/** The step kinds Kiln ships. */
function builtinSteps(): StepKind[] {
  return [imputeStep, deriveStep, oneHotStep, ordinalStep, scaleStep, dropStep, tfidfStep] as StepKind[];
}

const steps = new Registry<StepKind>('feature step', builtinSteps);

/** Adds a step kind (from a project's own code, through the SDK); names are unique. */
export function registerFeatureStep<C extends FeatureStepConfig>(kind: StepKind<C>): void {
  steps.register(kind as unknown as StepKind);
}

export function getStepKind(name: string): StepKind {
  return steps.get(name);
}

export function stepKindNames(): string[] {
  return steps.names();
}

/** A step config validated by its kind's schema, defaults filled; errors say what is wrong where. */
export function parseStepConfig(raw: unknown): FeatureStepConfig {
  const name = (raw as { step?: unknown } | null)?.step;
  if (typeof name !== 'string') throw new Error('a feature step needs a "step" naming its kind');
  const kind = steps.find(name);
  if (!kind) throw new Error(`unknown feature step "${name}"; registered: ${stepKindNames().join(', ')}`);
  const parsed = kind.config.safeParse(raw);
  if (!parsed.success) throw new Error(issues(parsed.error));
  return parsed.data;
}

export async function fitStep(
  table: Table,
  config: FeatureStepConfig,
  context: FitContext,
): Promise<FittedStep> {
  return getStepKind(config.step).fit(table, config, context);
}

/** Restores a fitted step from its JSON state, dispatching on `state.config.step`. */
export function loadStep(state: unknown): FittedStep {
  const step = (state as { config?: { step?: unknown } } | null)?.config?.step;
  if (typeof step !== 'string') throw new Error('invalid feature step state: no config.step');
  return getStepKind(step).load(state);
}
