export {
  type BootstrapInterval,
  type BootstrapOptions,
  bootstrapEvaluation,
  bootstrapMetric,
  bootstrapStatistic,
  type FoldSummary,
  foldSummary,
  percentile,
} from './bootstrap.js';
export {
  downsampleCurve,
  type PrCurve,
  precisionRecallCurve,
  type ReportCurves,
  type RocCurve,
  reportCurves,
  rocCurve,
} from './curves.js';
export {
  allGatesPassed,
  evaluateGates,
  type Gate,
  type GateOp,
  type GateResult,
  parseGate,
} from './gates.js';
export {
  type ClassificationInput,
  type ClassificationMetrics,
  type ClassReport,
  classificationMetrics,
  LOG_LOSS_EPS,
  METRICS,
  predictLabels,
} from './metrics.js';
export {
  classificationOf,
  type EvaluationInput,
  findMetric,
  getMetric,
  higherIsBetter,
  type Metric,
  metricsFor,
  metricValues,
  registerMetric,
  regressionOf,
} from './registry.js';
export { REGRESSION_METRICS, type RegressionMetrics, regressionMetrics } from './regression.js';
export { escapeHtml } from './report/format.js';
export { renderHtmlReport } from './report/html.js';
export { searchEdgeWarnings } from './report/search-edge.js';
export {
  confusionMatrixSvg,
  type PlotMarker,
  type PlotSeries,
  type UnitPlot,
  unitPlotSvg,
} from './report/svg.js';
export { renderTerminalSummary } from './report/terminal.js';
export type { DataInputSummary, RunReport, TrialSummary, Variability } from './report/types.js';
export { selectThreshold, type ThresholdChoice, type ThresholdStrategy } from './threshold.js';
