import type { BootstrapInterval, FoldSummary } from '../bootstrap.js';
import type { ReportCurves } from '../curves.js';
import type { GateResult } from '../gates.js';
import type { ClassReport } from '../metrics.js';

export interface DataInputSummary {
  /** Source name or path as configured. */
  name: string;
  rowsRead: number;
  rowsAccepted: number;
  rowsRejected: number;
  /** Where rejected rows were written with their reasons. */
  rejectsPath?: string;
}

export interface TrialSummary {
  id: number | string;
  params: Readonly<Record<string, unknown>>;
  /** The search metric (mean over folds when cross-validated). */
  score: number;
  /** Standard deviation of the score across folds. */
  std?: number;
  /** Whether the trial's scores passed every gate (candidates that do are preferred). */
  passesGates?: boolean;
}

/** The chosen model cross-validated again on folds drawn with other seeds. */
export interface Variability {
  repeats: number;
  folds: number;
  /** The seed of each repeat's folds (the first is the run's own cross-validation). */
  seeds: readonly number[];
  /** Each repeat's fold-mean of every metric. */
  perRepeat: readonly Readonly<Record<string, number>>[];
  /** Mean ± std over the repeats' fold-means. */
  overRepeats: Readonly<Record<string, FoldSummary>>;
  /** Mean ± std over every fold of every repeat. */
  overFolds: Readonly<Record<string, FoldSummary>>;
}

/** Everything a run report shows: plain data the trainer fills, stored as JSON beside the HTML. */
export interface RunReport {
  title: string;
  project: string;
  runId: string;
  /** ISO 8601. */
  createdAt?: string;
  model?: { family: string; params: Readonly<Record<string, unknown>> };
  data: readonly DataInputSummary[];
  /** What the metrics were computed on, e.g. "out-of-fold predictions, 5 folds" or "held-out test set". */
  evaluatedOn: string;
  classes: readonly string[];
  /** Binary runs: the positive class name. */
  positive?: string;
  headline: string;
  /** `metricValues` of the evaluated predictions. */
  metrics: Readonly<Record<string, number>>;
  /** Variability of each metric across folds. */
  folds?: Readonly<Record<string, FoldSummary>>;
  /** Bootstrap intervals, usually of the headline metric. */
  intervals?: Readonly<Record<string, BootstrapInterval>>;
  /** Why a metric is undefined or computed by a convention (`ClassificationMetrics.notes`). */
  notes?: Readonly<Record<string, string>>;
  perClass: readonly ClassReport[];
  /** Rows true class, columns predicted class, in `classes` order. */
  confusion: readonly (readonly number[])[];
  threshold?: { strategy: string; value: number };
  /** Binary runs: `reportCurves` output. */
  curves?: ReportCurves;
  gates: readonly GateResult[];
  /** Repeated cross-validation of the chosen model (`evaluation.repeats` > 1). */
  variability?: Variability;
  search?: {
    metric: string;
    /** Where trials were scored, e.g. "5-fold cross-validation" or "a fixed validation split (…)". */
    scoredOn?: string;
    trials: readonly TrialSummary[];
    bestId?: number | string;
  };
  warnings?: readonly string[];
}
