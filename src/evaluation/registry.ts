import type { TaskName } from '../config/schema.js';
import { Registry } from '../util/registry.js';
import { type ClassificationMetrics, classificationMetrics, METRICS } from './metrics.js';
import { REGRESSION_METRICS, type RegressionMetrics, regressionMetrics } from './regression.js';

/** What a metric is computed on: true targets beside the model's scores, as the task lays them out. */
export interface EvaluationInput {
  readonly task: TaskName;
  /** Class codes (classification tasks; one per timestep for sequences) or values (regression). */
  readonly yTrue: Int32Array | Float64Array;
  /** Row-major scores, one row per target: class probabilities, or the predicted value. */
  readonly scores: Float64Array;
  /** Class names (classification); empty for regression. */
  readonly classes: readonly string[];
  /** Binary only: the positive class's index and the decision threshold. */
  readonly positive?: number;
  readonly threshold?: number;
}

/**
 * A metric registered for the tasks it applies to (`registerMetric`): search ranks by it, gates test
 * it, reports show it. `compute` returns NaN where the metric is undefined for the rows given.
 */
export interface Metric {
  readonly name: string;
  readonly label: string;
  readonly higherIsBetter: boolean;
  readonly tasks: readonly TaskName[];
  compute(input: EvaluationInput): number;
}

const CLASSIFICATION_TASKS: readonly TaskName[] = ['binary', 'multiclass', 'sequence_labelling'];

// The built-in metrics of one input share one pass over the rows.
const classificationCache = new WeakMap<EvaluationInput, ClassificationMetrics>();
const regressionCache = new WeakMap<EvaluationInput, RegressionMetrics>();

export function classificationOf(input: EvaluationInput): ClassificationMetrics {
  let metrics = classificationCache.get(input);
  if (!metrics) {
    if (!(input.yTrue instanceof Int32Array))
      throw new Error(`${input.task} metrics need class codes (Int32Array) as true targets`);
    metrics = classificationMetrics({
      yTrue: input.yTrue,
      proba: input.scores,
      classes: input.classes,
      positive: input.positive,
      threshold: input.threshold,
    });
    classificationCache.set(input, metrics);
  }
  return metrics;
}

export function regressionOf(input: EvaluationInput): RegressionMetrics {
  let metrics = regressionCache.get(input);
  if (!metrics) {
    const y = input.yTrue instanceof Float64Array ? input.yTrue : Float64Array.from(input.yTrue);
    metrics = regressionMetrics(y, input.scores, y.length ? input.scores.length / y.length : 1);
    regressionCache.set(input, metrics);
  }
  return metrics;
}

function builtinMetrics(): Metric[] {
  const classification = Object.entries(METRICS).map(
    ([name, info]): Metric => ({
      name,
      label: info.label,
      higherIsBetter: info.higherIsBetter,
      tasks: info.binaryOnly ? ['binary'] : CLASSIFICATION_TASKS,
      compute: (input) => {
        const value = classificationOf(input)[name as keyof ClassificationMetrics];
        return typeof value === 'number' ? value : Number.NaN;
      },
    }),
  );
  const regression = Object.entries(REGRESSION_METRICS).map(
    ([name, info]): Metric => ({
      name,
      label: info.label,
      higherIsBetter: info.higherIsBetter,
      tasks: ['regression'],
      compute: (input) => regressionOf(input)[name as keyof RegressionMetrics],
    }),
  );
  return [...classification, ...regression];
}

const metrics = new Registry<Metric>('metric', builtinMetrics);

/** Adds a metric (from a project's own code, through the SDK); names are unique. */
export function registerMetric(metric: Metric): void {
  if (!Array.isArray(metric.tasks) || metric.tasks.length === 0)
    throw new Error(`metric "${metric.name}" names no task it applies to`);
  metrics.register(metric);
}

export function getMetric(name: string): Metric {
  return metrics.get(name);
}

export function findMetric(name: string): Metric | undefined {
  return metrics.find(name);
}

/** The metrics of a task, in registration order (built-ins first). */
export function metricsFor(task: TaskName): Metric[] {
  return metrics.all().filter((m) => m.tasks.includes(task));
}

export function higherIsBetter(metric: string): boolean {
  return getMetric(metric).higherIsBetter;
}

/** Every metric of the input's task by name (NaN marks an undefined one). */
export function metricValues(input: EvaluationInput): Record<string, number> {
  const values: Record<string, number> = {};
  for (const metric of metricsFor(input.task)) values[metric.name] = metric.compute(input);
  return values;
}
