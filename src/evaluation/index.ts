export {
  type BootstrapInterval,
  type BootstrapOptions,
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
  higherIsBetter,
  LOG_LOSS_EPS,
  METRICS,
  metricValues,
  predictLabels,
} from './metrics.js';
export { escapeHtml } from './report/format.js';
export { renderHtmlReport } from './report/html.js';
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
