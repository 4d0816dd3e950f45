/** The run report as one self-contained HTML file: inline CSS and SVG, no scripts, every text escaped. */
import { findMetric } from '../registry.js';
import { escapeHtml as esc, formatCount, formatNumber, formatParam, orderedMetricNames } from './format.js';
import { reportWarnings } from './search-edge.js';
import { confusionMatrixSvg, unitPlotSvg } from './svg.js';
import type { RunReport, TrialSummary } from './types.js';

const CSS = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1a1a1a; margin: 0; background: #f6f7f9; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 32px 48px; background: #fff; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 1px solid #e3e5e8; }
.meta { color: #555; margin: 0; }
.meta code { background: #f0f1f3; padding: 1px 4px; border-radius: 3px; }
table { border-collapse: collapse; margin: 6px 0; }
th, td { padding: 4px 10px; border-bottom: 1px solid #eceef1; text-align: left; vertical-align: top; }
th { background: #f6f7f9; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.headline td { background: #fff8e1; font-weight: 600; }
tr.best td { background: #e8f5e9; }
.note { color: #666; font-size: 12px; }
.badge { display: inline-block; min-width: 38px; text-align: center; padding: 1px 6px; border-radius: 4px; font-weight: 700; font-size: 12px; color: #fff; }
.pass { background: #2e7d32; }
.fail { background: #c62828; }
.verdict { font-size: 15px; margin: 6px 0; }
.plots { display: flex; flex-wrap: wrap; gap: 24px; }
.scroll { overflow-x: auto; }
.warnings { background: #fff4e5; border-left: 4px solid #f0a020; padding: 8px 12px; }
svg text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; fill: #1a1a1a; }
svg .plot-title { font-size: 14px; font-weight: 600; }
svg .tick { font-size: 11px; fill: #444; }
svg .axis-label { font-size: 12px; fill: #333; }
svg .legend { font-size: 12px; }
svg .grid { stroke: #e6e8eb; stroke-width: 1; }
svg .axis { stroke: #666; stroke-width: 1; }
svg .frame { fill: none; stroke: #888; }
`;

export function renderHtmlReport(report: RunReport): string {
  const sections = [
    header(report),
    warnings(report),
    dataSection(report),
    gatesSection(report),
    metricsSection(report),
    variabilitySection(report),
    curvesSection(report),
    confusionSection(report),
    perClassSection(report),
    searchSection(report),
  ];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(report.title)} · ${esc(report.runId)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
${sections.filter((s) => s !== '').join('\n')}
</main>
</body>
</html>
`;
}

function header(r: RunReport): string {
  const facts = [
    `project <code>${esc(r.project)}</code>`,
    `run <code>${esc(r.runId)}</code>`,
    ...(r.createdAt ? [esc(r.createdAt)] : []),
    ...(r.model ? [`model <code>${esc(r.model.family)}</code>`] : []),
  ];
  const params = r.model
    ? Object.entries(r.model.params)
        .map(([k, v]) => `${esc(k)}=${esc(formatParam(v))}`)
        .join(', ')
    : '';
  const classes =
    r.classes.length === 0
      ? 'regression: a value per row'
      : r.classes.length === 2 && r.positive !== undefined
        ? `binary, positive class <code>${esc(r.positive)}</code>`
        : `${r.classes.length} classes`;
  return `<h1>${esc(r.title)}</h1>
<p class="meta">${facts.join(' · ')}</p>
${params ? `<p class="meta">parameters: ${params}</p>` : ''}
<p class="meta">evaluated on ${esc(r.evaluatedOn)} · ${classes}${r.threshold ? ` · decision threshold ${formatNumber(r.threshold.value)} (${esc(r.threshold.strategy)})` : ''}</p>`;
}

function warnings(r: RunReport): string {
  const all = reportWarnings(r);
  if (all.length === 0) return '';
  return `<div class="warnings"><strong>Warnings</strong><ul>${all.map((w) => `<li>${esc(w)}</li>`).join('')}</ul></div>`;
}

function dataSection(r: RunReport): string {
  if (r.data.length === 0) return '';
  const rows = r.data.map(
    (d) =>
      `<tr><td>${esc(d.name)}</td><td class="num">${formatCount(d.rowsRead)}</td><td class="num">${formatCount(d.rowsAccepted)}</td><td class="num">${formatCount(d.rowsRejected)}</td><td>${d.rejectsPath ? `<code>${esc(d.rejectsPath)}</code>` : ''}</td></tr>`,
  );
  return `<h2>Data</h2>
<table><thead><tr><th>input</th><th class="num">rows read</th><th class="num">accepted</th><th class="num">rejected</th><th>rejects file</th></tr></thead>
<tbody>${rows.join('')}</tbody></table>`;
}

function gatesSection(r: RunReport): string {
  if (r.gates.length === 0) return '<h2>Quality gates</h2><p class="note">No gates configured.</p>';
  const failed = r.gates.filter((g) => !g.passed).length;
  const verdict =
    failed === 0
      ? `<span class="badge pass">PASS</span> all ${r.gates.length} gates passed`
      : `<span class="badge fail">FAIL</span> ${failed} of ${r.gates.length} gates failed`;
  const rows = r.gates.map(
    (g) =>
      `<tr><td><span class="badge ${g.passed ? 'pass' : 'fail'}">${g.passed ? 'PASS' : 'FAIL'}</span></td><td><code>${esc(g.gate)}</code></td><td class="num">${formatNumber(g.value)}</td><td class="note">${g.reason ? esc(g.reason) : ''}</td></tr>`,
  );
  return `<h2>Quality gates</h2>
<p class="verdict">${verdict}</p>
<table><thead><tr><th></th><th>gate</th><th class="num">value</th><th></th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function metricsSection(r: RunReport): string {
  const intervals = Object.values(r.intervals ?? {});
  const folds = Object.values(r.folds ?? {})[0]?.n;
  const head = [
    '<th>metric</th><th>key</th><th class="num">value</th>',
    folds ? `<th class="num">folds mean ± std (${folds} folds, sample std)</th>` : '',
    intervals.length > 0
      ? `<th class="num">${Math.round(intervals[0].level * 100)}% bootstrap interval</th>`
      : '',
    '<th></th>',
  ];
  const rows = orderedMetricNames(r.metrics).map((name) => {
    const fold = r.folds?.[name];
    const ci = r.intervals?.[name];
    const cells = [
      `<td>${esc(findMetric(name)?.label ?? name)}</td><td><code>${esc(name)}</code></td><td class="num">${formatNumber(r.metrics[name])}</td>`,
      folds
        ? `<td class="num">${fold ? `${formatNumber(fold.mean)} ± ${formatNumber(fold.std)}` : ''}</td>`
        : '',
      intervals.length > 0
        ? `<td class="num">${ci ? `[${formatNumber(ci.lower)}, ${formatNumber(ci.upper)}]` : ''}</td>`
        : '',
      `<td class="note">${r.notes?.[name] ? esc(r.notes[name]) : ''}</td>`,
    ];
    return `<tr${name === r.headline ? ' class="headline"' : ''}>${cells.join('')}</tr>`;
  });
  const ciNote = intervals
    .map((ci) => `${esc(ci.metric)}: ${ci.valid} of ${ci.replicates} replicates defined, seed ${ci.seed}`)
    .join('; ');
  return `<h2>Metrics</h2>
<table><thead><tr>${head.join('')}</tr></thead>
<tbody>${rows.join('')}</tbody></table>
${ciNote ? `<p class="note">Percentile bootstrap over rows; ${ciNote}.</p>` : ''}`;
}

function variabilitySection(r: RunReport): string {
  const v = r.variability;
  if (!v) return '';
  const names = orderedMetricNames(v.perRepeat[0]);
  const rows = names.map((name) => {
    const over = v.overRepeats[name];
    const folds = v.overFolds[name];
    return `<tr${name === r.headline ? ' class="headline"' : ''}><td><code>${esc(name)}</code></td>${v.perRepeat.map((m) => `<td class="num">${formatNumber(m[name])}</td>`).join('')}<td class="num">${formatNumber(over.mean)} ± ${formatNumber(over.std)}</td><td class="num">${formatNumber(folds.mean)} ± ${formatNumber(folds.std)}</td></tr>`;
  });
  return `<h2>Variability</h2>
<p class="note">The chosen model cross-validated ${v.repeats} times, ${v.folds} folds each, on folds drawn with seeds ${v.seeds.join(', ')} (the first is the run's own cross-validation). Each repeat column is that repeat's mean over folds.</p>
<div class="scroll"><table><thead><tr><th>metric</th>${v.seeds.map((seed) => `<th class="num">seed ${seed}</th>`).join('')}<th class="num">mean ± std over repeats</th><th class="num">mean ± std over all ${v.repeats * v.folds} folds</th></tr></thead>
<tbody>${rows.join('')}</tbody></table></div>`;
}

function curvesSection(r: RunReport): string {
  const c = r.curves;
  if (!c) return '';
  const op = c.operatingPoint;
  const opLabel = `threshold ${formatNumber(op.threshold, 3)}`;
  const roc = unitPlotSvg({
    title: 'ROC curve',
    xLabel: 'False positive rate',
    yLabel: 'True positive rate (recall)',
    series: [
      { label: `model (AUC = ${formatNumber(c.roc.auc, 3)})`, x: c.roc.fpr, y: c.roc.tpr, color: '#1f77b4' },
      { label: 'chance (AUC = 0.500)', x: [0, 1], y: [0, 1], color: '#999', dashed: true },
    ],
    markers: [
      {
        x: op.fpr,
        y: op.tpr,
        label: `${opLabel}: FPR ${formatNumber(op.fpr, 3)}, TPR ${formatNumber(op.tpr, 3)}`,
        color: '#d62728',
      },
    ],
  });
  const pr = unitPlotSvg({
    title: 'Precision–recall curve',
    xLabel: 'Recall',
    yLabel: 'Precision',
    series: [
      {
        label: `model (AP = ${formatNumber(c.pr.averagePrecision, 3)})`,
        x: c.pr.recall,
        y: c.pr.precision,
        color: '#1f77b4',
        steps: true,
      },
      {
        label: `no skill (AP = ${formatNumber(c.pr.prevalence, 3)})`,
        x: [0, 1],
        y: [c.pr.prevalence, c.pr.prevalence],
        color: '#999',
        dashed: true,
      },
    ],
    markers: [
      {
        x: op.recall,
        y: op.precision,
        label: `${opLabel}: recall ${formatNumber(op.recall, 3)}, precision ${formatNumber(op.precision, 3)}`,
        color: '#d62728',
      },
    ],
  });
  return `<h2>Curves</h2><div class="plots">${roc}${pr}</div>`;
}

function perClassSection(r: RunReport): string {
  // Regression has no classes: its errors are the metrics above.
  if (r.perClass.length === 0) return '';
  const rows = r.perClass.map(
    (c) =>
      `<tr><td>${esc(c.class)}</td><td class="num">${formatNumber(c.precision)}</td><td class="num">${formatNumber(c.recall)}</td><td class="num">${formatNumber(c.f1)}</td><td class="num">${formatCount(c.support)}</td></tr>`,
  );
  return `<h2>Per-class report</h2>
<table><thead><tr><th>class</th><th class="num">precision</th><th class="num">recall</th><th class="num">F1</th><th class="num">support</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function confusionSection(r: RunReport): string {
  if (r.classes.length === 0 || r.confusion.length === 0) return '';
  return `<h2>Confusion matrix</h2>
<p class="note">Rows are true classes, columns predicted classes; colour is the share of the row. Hover a cell for details.</p>
<div class="scroll">${confusionMatrixSvg(r.classes, r.confusion)}</div>`;
}

function searchSection(r: RunReport): string {
  const search = r.search;
  if (!search || search.trials.length === 0) return '';
  // Only the settings that differ between trials: the rest is the model's configuration above.
  const allKeys = [...new Set(search.trials.flatMap((t) => Object.keys(t.params)))].sort();
  const varying = allKeys.filter(
    (k) => new Set(search.trials.map((t) => JSON.stringify(t.params[k]))).size > 1,
  );
  const keys = varying.length > 0 ? varying : allKeys;
  const better = findMetric(search.metric)?.higherIsBetter ?? true;
  // Best first; NaN scores (failed trials) last.
  const score = (t: TrialSummary) =>
    Number.isNaN(t.score) ? Number.NEGATIVE_INFINITY : better ? t.score : -t.score;
  const trials = [...search.trials].sort((a, b) => score(b) - score(a));
  const gated = search.trials.some((t) => t.passesGates !== undefined);
  const rows = trials.map(
    (t) =>
      `<tr${t.id === search.bestId ? ' class="best"' : ''}><td>${esc(String(t.id))}</td>${keys.map((k) => `<td>${Object.hasOwn(t.params, k) ? esc(formatParam(t.params[k])) : ''}</td>`).join('')}<td class="num">${formatNumber(t.score)}${t.std !== undefined ? ` ± ${formatNumber(t.std)}` : ''}</td>${gated ? `<td>${t.passesGates ? 'pass' : 'fail'}</td>` : ''}</tr>`,
  );
  return `<h2>Hyperparameter search</h2>
<p class="note">${search.trials.length} trials${search.scoredOn ? `, each scored on ${esc(search.scoredOn)},` : ''} ranked by <code>${esc(search.metric)}</code>, best first${search.bestId !== undefined ? '; the selected trial is highlighted' : ''}${gated ? ' (the best among the trials that pass every gate, when any does)' : ''}.</p>
<div class="scroll"><table><thead><tr><th>trial</th>${keys.map((k) => `<th>${esc(k)}</th>`).join('')}<th class="num">${esc(search.metric)}</th>${gated ? '<th>gates</th>' : ''}</tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}
