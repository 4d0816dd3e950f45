/**
 * Variability of performance: seeded percentile bootstrap over rows, and fold summaries.
 *
 * A replicate draws n row indices with replacement; the built-in metrics evaluate it as per-row
 * counts (a multinomial weight vector) against work done once: scores sorted once for ROC AUC and
 * average precision, labels predicted once for the confusion-matrix metrics, per-row losses once for
 * log loss. Each replicate is then one O(n) pass (O(n k) for multiclass AUCs), with no re-sort; for
 * a binary ranking the counts are kept by sorted position, so that pass reads memory in order.
 */
import { Random } from '../util/random.js';
import {
  type ClassificationInput,
  checkInput,
  classRankings,
  confusionCounts,
  type LabelMetrics,
  labelMetrics,
  METRICS,
  predictLabels,
  rankingMetrics,
  rowLogLoss,
} from './metrics.js';
import { sortedRankAreas } from './ranking.js';
import { type EvaluationInput, getMetric } from './registry.js';

export interface BootstrapOptions {
  seed: number;
  /** Default 1000. */
  replicates?: number;
  /** Central coverage of the interval, default 0.95. */
  level?: number;
}

export interface BootstrapInterval {
  metric: string;
  /** The statistic on all rows. */
  estimate: number;
  lower: number;
  upper: number;
  level: number;
  replicates: number;
  /** Replicates with a defined value (e.g. both classes drawn for ROC AUC); the interval uses these. */
  valid: number;
  seed: number;
}

/** Every replicate's draws, shared by the fast and the generic paths so the same seed draws the same rows. */
function resample(
  n: number,
  options: BootstrapOptions,
  evaluate: (draws: Int32Array) => number,
): { values: number[]; replicates: number; level: number } {
  const replicates = options.replicates ?? 1000;
  const level = options.level ?? 0.95;
  if (!Number.isInteger(replicates) || replicates < 1)
    throw new Error(`bootstrap replicates must be a positive integer, got ${replicates}`);
  if (!(level > 0 && level < 1)) throw new Error(`bootstrap level must be in (0, 1), got ${level}`);
  if (n === 0) throw new Error('bootstrap needs at least one row');
  const rng = new Random(options.seed);
  const draws = new Int32Array(n);
  const values: number[] = [];
  for (let r = 0; r < replicates; r++) {
    rng.fillBelow(n, draws);
    const value = evaluate(draws);
    if (!Number.isNaN(value)) values.push(value);
  }
  return { values, replicates, level };
}

/** Per-slot counts of a replicate's draws, into `counts`; `slotOf` maps a row to its slot (default: itself). */
function countDraws(draws: Int32Array, counts: Int32Array, slotOf?: Int32Array): Int32Array {
  counts.fill(0);
  if (slotOf === undefined) for (let i = 0; i < draws.length; i++) counts[draws[i]]++;
  else for (let i = 0; i < draws.length; i++) counts[slotOf[draws[i]]]++;
  return counts;
}

function interval(
  metric: string,
  estimate: number,
  seed: number,
  { values, replicates, level }: { values: number[]; replicates: number; level: number },
): BootstrapInterval {
  values.sort((a, b) => a - b);
  const tail = ((1 - level) / 2) * 100;
  return {
    metric,
    estimate,
    lower: percentile(values, tail),
    upper: percentile(values, 100 - tail),
    level,
    replicates,
    valid: values.length,
    seed,
  };
}

/** numpy.percentile's default (linear interpolation) on sorted values; NaN when empty. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (q / 100) * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
}

/** Bootstrap interval of a built-in metric (any key of `metricValues`), using the fast weighted passes. */
export function bootstrapMetric(
  input: ClassificationInput,
  metric: string,
  options: BootstrapOptions,
): BootstrapInterval {
  const { estimate, replicate } = weightedMetric(input, metric);
  return interval(metric, estimate, options.seed, resample(input.yTrue.length, options, replicate));
}

/**
 * Bootstrap interval of any registered metric of a task's predictions: the fast weighted passes for
 * the built-in classification metrics, the metric recomputed on each replicate's rows otherwise.
 */
export function bootstrapEvaluation(
  input: EvaluationInput,
  metric: string,
  options: BootstrapOptions,
): BootstrapInterval {
  const { task, yTrue, scores, classes } = input;
  if (yTrue instanceof Int32Array && Object.hasOwn(METRICS, metric) && task !== 'regression') {
    const classification = {
      yTrue,
      proba: scores,
      classes,
      positive: input.positive,
      threshold: input.threshold,
    };
    return bootstrapMetric(classification, metric, options);
  }
  const definition = getMetric(metric);
  if (!definition.tasks.includes(task))
    throw new Error(`metric "${metric}" does not apply to ${task} models`);
  const n = yTrue.length;
  const width = n ? scores.length / n : 1;
  return bootstrapStatistic(
    n,
    (rows) => {
      const y = yTrue instanceof Int32Array ? new Int32Array(rows.length) : new Float64Array(rows.length);
      const s = new Float64Array(rows.length * width);
      for (let r = 0; r < rows.length; r++) {
        y[r] = yTrue[rows[r]];
        s.set(scores.subarray(rows[r] * width, (rows[r] + 1) * width), r * width);
      }
      return definition.compute({ ...input, yTrue: y, scores: s });
    },
    { ...options, metric },
  );
}

/**
 * Bootstrap interval of any statistic of the rows, recomputed on each replicate's drawn indices;
 * for metrics the fast path does not know. Draws the same rows as `bootstrapMetric` for the same seed.
 */
export function bootstrapStatistic(
  n: number,
  statistic: (indices: Int32Array) => number,
  options: BootstrapOptions & { metric?: string },
): BootstrapInterval {
  const estimate = statistic(Int32Array.from({ length: n }, (_, i) => i));
  return interval(options.metric ?? 'statistic', estimate, options.seed, resample(n, options, statistic));
}

/** A built-in metric on all rows, and on a replicate's draws through its weighted pass. */
function weightedMetric(
  input: ClassificationInput,
  metric: string,
): { estimate: number; replicate: (draws: Int32Array) => number } {
  const { n, k, positive } = checkInput(input);
  const info = METRICS[metric];
  if (info === undefined || (info.binaryOnly && positive === null)) {
    const known = Object.keys(METRICS).filter((name) => positive !== null || !METRICS[name].binaryOnly);
    throw new Error(`cannot bootstrap unknown metric "${metric}"; available: ${known.join(', ')}`);
  }
  const counts = new Int32Array(n);
  const byRow = (evaluate: (weights?: Int32Array) => number) => ({
    estimate: evaluate(undefined),
    replicate: (draws: Int32Array) => evaluate(countDraws(draws, counts)),
  });
  if (metric === 'roc_auc' || metric === 'pr_auc') {
    const rankings = classRankings(input);
    if (rankings.length === 1) {
      const { ranking } = rankings[0];
      const positionOf = new Int32Array(n);
      for (let p = 0; p < n; p++) positionOf[ranking.order[p]] = p;
      const averagePrecision = metric === 'pr_auc';
      const area = (weightsAt?: Int32Array) => {
        const areas = sortedRankAreas(ranking, weightsAt, { averagePrecision });
        return averagePrecision ? areas.averagePrecision : areas.rocAuc;
      };
      return { estimate: area(), replicate: (draws) => area(countDraws(draws, counts, positionOf)) };
    }
    return byRow((weights) => rankingMetrics(rankings, weights)[metric]);
  }
  if (metric === 'log_loss') {
    const losses = rowLogLoss(input);
    return byRow((weights) => {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += weights === undefined ? losses[i] : weights[i] * losses[i];
      return sum / n;
    });
  }
  const yPred = predictLabels(input);
  const key = metric as Exclude<keyof LabelMetrics, 'perClass' | 'notes'>;
  return byRow(
    (weights) =>
      labelMetrics(confusionCounts(input.yTrue, yPred, k, weights), input.classes, positive)[key] ??
      Number.NaN,
  );
}

export interface FoldSummary {
  n: number;
  mean: number;
  /** Sample standard deviation (ddof = 1, as numpy's std(ddof=1)); NaN for a single fold. */
  std: number;
  min: number;
  max: number;
}

/** Mean, sample standard deviation (ddof 1), min and max of a metric across folds. */
export function foldSummary(values: readonly number[]): FoldSummary {
  const n = values.length;
  if (n === 0) throw new Error('fold summary needs at least one value');
  let sum = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    sum += v;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const mean = sum / n;
  let squares = 0;
  for (const v of values) squares += (v - mean) * (v - mean);
  return { n, mean, std: n > 1 ? Math.sqrt(squares / (n - 1)) : Number.NaN, min, max };
}
