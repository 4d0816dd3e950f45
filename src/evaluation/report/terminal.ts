/** A compact plain-text run summary for the terminal: metrics, confusion matrix (classification), gates. */
import { formatCount, formatNumber, orderedMetricNames, truncate } from './format.js';
import { reportWarnings } from './search-edge.js';
import type { RunReport } from './types.js';

/** Matrices with more classes are summarised as their largest confusions instead of printed whole. */
const MAX_PRINTED_CLASSES = 12;

export function renderTerminalSummary(report: RunReport): string {
  const lines = [
    `${report.title} — project ${report.project}, run ${report.runId}`,
    `evaluated on ${report.evaluatedOn}`,
  ];
  if (report.threshold) {
    lines.push(`decision threshold ${formatNumber(report.threshold.value)} (${report.threshold.strategy})`);
  }
  lines.push('', ...metricLines(report), ...variabilityLines(report));
  const confusion = confusionLines(report);
  lines.push(...(confusion.length ? ['', ...confusion] : []), '', ...gateLines(report));
  for (const w of reportWarnings(report)) lines.push(`warning: ${w}`);
  return `${lines.join('\n')}\n`;
}

function table(rows: string[][], rightAligned: (col: number) => boolean): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) =>
    r
      .map((cell, c) => (rightAligned(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join('  ')
      .trimEnd(),
  );
}

function metricLines(r: RunReport): string[] {
  const rows = [['metric', 'value', 'folds mean ± std', '95% CI']];
  for (const name of orderedMetricNames(r.metrics)) {
    const fold = r.folds?.[name];
    const ci = r.intervals?.[name];
    rows.push([
      name === r.headline ? `${name} *` : name,
      formatNumber(r.metrics[name]),
      fold ? `${formatNumber(fold.mean)} ± ${formatNumber(fold.std)}` : '',
      ci ? `[${formatNumber(ci.lower)}, ${formatNumber(ci.upper)}]` : '',
    ]);
  }
  return [...table(rows, (c) => c > 0), '(* headline metric)'];
}

/** The headline and accuracy over repeated cross-validations, one row per repeat. */
function variabilityLines(r: RunReport): string[] {
  const v = r.variability;
  if (!v) return [];
  const names = [
    r.headline,
    ...(r.headline !== 'accuracy' && 'accuracy' in v.overRepeats ? ['accuracy'] : []),
  ];
  const rows = [
    ['repeat', 'seed', ...names],
    ...v.perRepeat.map((m, i) => [
      String(i + 1),
      String(v.seeds[i]),
      ...names.map((n) => formatNumber(m[n])),
    ]),
    [
      'mean ± std',
      '',
      ...names.map((n) => `${formatNumber(v.overRepeats[n].mean)} ± ${formatNumber(v.overRepeats[n].std)}`),
    ],
  ];
  return [
    '',
    `Variability: ${v.repeats} repeats of ${v.folds}-fold cross-validation (fold means; std over repeats)`,
    ...table(rows, (c) => c > 1),
  ];
}

function confusionLines(r: RunReport): string[] {
  const k = r.classes.length;
  // Regression: no classes, no matrix; its errors are the metrics.
  if (k === 0 || r.confusion.length === 0) return [];
  if (k > MAX_PRINTED_CLASSES) {
    const cells: { t: number; p: number; count: number }[] = [];
    r.confusion.forEach((row, t) => {
      row.forEach((count, p) => {
        if (t !== p && count > 0) cells.push({ t, p, count });
      });
    });
    cells.sort((a, b) => b.count - a.count);
    const top = cells.slice(0, 10);
    const rows = [
      ['true', 'predicted', 'count'],
      ...top.map((c) => [r.classes[c.t], r.classes[c.p], formatCount(c.count)]),
    ];
    return [
      `Largest confusions (${k} classes; the full matrix is in the HTML report)`,
      ...table(rows, (c) => c === 2),
    ];
  }
  const names = r.classes.map((c) => truncate(c, 14));
  const rows = [
    ['true \\ predicted', ...names],
    ...r.confusion.map((row, t) => [names[t], ...row.map(formatCount)]),
  ];
  return ['Confusion matrix (rows true, columns predicted)', ...table(rows, (c) => c > 0)];
}

function gateLines(r: RunReport): string[] {
  if (r.gates.length === 0) return ['Gates: none configured'];
  const failed = r.gates.filter((g) => !g.passed).length;
  return [
    failed === 0 ? `Gates: all ${r.gates.length} passed` : `Gates: ${failed} of ${r.gates.length} FAILED`,
    ...r.gates.map(
      (g) =>
        `  ${g.passed ? 'PASS' : 'FAIL'}  ${g.gate}  (${g.metric} = ${formatNumber(g.value)})${g.reason ? ` — ${g.reason}` : ''}`,
    ),
  ];
}
