import { writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  allGatesPassed,
  evaluateGates,
  type GateResult,
  type RunReport,
  renderHtmlReport,
  renderTerminalSummary,
  reportCurves,
  searchEdgeWarnings,
} from '../../evaluation/index.js';
import { scoreMetrics, scoreWidth } from '../cross-validate.js';
import { pickRows, pickValues } from '../rows.js';
import type { RunContext } from '../stage.js';
import type { CrossValidated } from './cross-validate.js';
import type { FittedRun } from './fit.js';
import type { SearchResult } from './search.js';
import type { Splits } from './split.js';
import type { TrainingSet } from './validate.js';

export interface Evaluated {
  /** Metrics of the final model on the held-out test set or test file, when there is one. */
  testMetrics?: Record<string, number>;
  gates: GateResult[];
  passed: boolean;
  report: RunReport;
  reportPath: string;
  /** The report's terminal summary. */
  summary: string;
}

/**
 * Scores the final model once on the test rows (if any), checks the gates (on the test metrics, else
 * on the cross-validation fold means), and writes report.html and report.json into the run folder.
 */
export async function evaluate(
  context: RunContext,
  input: { set: TrainingSet; splits: Splits; searched: SearchResult; cv: CrossValidated; fitted?: FittedRun },
): Promise<Evaluated> {
  const { project, seed, runDir } = context;
  const { set, splits, cv, fitted } = input;
  const test = fitted ? splits.test : null;
  let testMetrics: Record<string, number> | undefined;
  if (test && fitted) {
    const { X, rowErrors } = fitted.pipeline.transform(test.table);
    if (rowErrors.size)
      context.warn(
        `${rowErrors.size} test rows could not be transformed and are left out of the test metrics`,
      );
    const keep = Int32Array.from({ length: test.table.nRows }, (_, i) => i).filter((i) => !rowErrors.has(i));
    const scores = await fitted.model.predict(X);
    testMetrics = scoreMetrics(
      set,
      pickValues(test.y, keep),
      pickRows(scores, keep, scoreWidth(set)),
      cv.threshold,
    );
  }
  const gates = evaluateGates(project.gates, testMetrics ?? cv.cvMeans);
  const passed = allGatesPassed(gates);
  const { data } = set;
  const classification = cv.classification;
  const oof = cv.oof;
  const report: RunReport = {
    title: `${fitted ? 'Training' : 'Evaluation'} report: ${project.name}`,
    project: project.name,
    runId: context.run.id,
    createdAt: new Date().toISOString(),
    model: { family: set.family.name, params: { ...cv.params, ...cv.featureSettings } },
    data: [data.report, ...(data.test ? [data.test.report] : [])].map((r) => ({
      name: r.path,
      rowsRead: r.rowsRead,
      rowsAccepted: r.rowsAccepted,
      rowsRejected: r.rowsRejected,
      rejectsPath: r.rejectsPath ?? undefined,
    })),
    evaluatedOn: testMetrics
      ? `${test!.name} (${test!.table.nRows} rows); folds: ${splits.folds.length}-fold ${splits.config.strategy} CV on the ${splits.holdout ? 'rest' : 'training rows'}`
      : `${splits.folds.length}-fold ${splits.config.strategy} cross-validation, seed ${seed}: value = pooled out-of-fold predictions, folds = mean ± std over folds (gates use the fold means)`,
    classes: set.classes,
    positive: set.positiveName,
    headline: set.headline,
    metrics: testMetrics ?? cv.oofMetrics,
    folds: cv.folds,
    intervals: cv.intervals,
    notes: classification?.notes,
    perClass: classification?.perClass ?? [],
    confusion: classification?.confusion ?? [],
    threshold:
      cv.threshold === undefined
        ? undefined
        : { strategy: project.evaluation.threshold.strategy, value: cv.threshold },
    curves:
      oof.yTrue instanceof Int32Array && set.task.target === 'classes'
        ? reportCurves({
            yTrue: oof.yTrue,
            proba: oof.scores,
            classes: set.classes,
            positive: set.positive,
            threshold: cv.threshold,
          })
        : undefined,
    gates,
    variability: cv.variability,
    search:
      cv.trials.length > 1
        ? {
            metric: set.headline,
            scoredOn: input.searched.scoredOn,
            trials: cv.trials.map((t) => ({
              id: t.index + 1,
              params: t.params,
              score: t.mean,
              std: t.std,
              ...(project.gates.length ? { passesGates: t.passesGates } : {}),
            })),
            bestId: cv.best + 1,
          }
        : undefined,
  };
  // Recorded with the run too (kiln runs show); the summaries dedupe what they print.
  for (const warning of searchEdgeWarnings(report.search)) context.warn(warning);
  const reportPath = path.join(runDir, 'report.html');
  writeFileSync(reportPath, renderHtmlReport(report));
  writeFileSync(path.join(runDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  return {
    ...(testMetrics ? { testMetrics } : {}),
    gates,
    passed,
    report,
    reportPath,
    summary: renderTerminalSummary(report),
  };
}
