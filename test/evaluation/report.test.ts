import { describe, expect, it } from 'vitest';
import { bootstrapMetric, foldSummary } from '../../src/evaluation/bootstrap.js';
import { reportCurves } from '../../src/evaluation/curves.js';
import { evaluateGates } from '../../src/evaluation/gates.js';
import { type ClassificationInput, classificationMetrics } from '../../src/evaluation/metrics.js';
import { metricValues } from '../../src/evaluation/registry.js';
import { renderHtmlReport } from '../../src/evaluation/report/html.js';
import { confusionMatrixSvg } from '../../src/evaluation/report/svg.js';
import { renderTerminalSummary } from '../../src/evaluation/report/terminal.js';
import type { RunReport } from '../../src/evaluation/report/types.js';
import { evaluationInput, syntheticBinary, syntheticMulticlass } from './fixtures.js';

const EVIL = '<script>alert("x")</script>';

function report(input: ClassificationInput, gates: string[]): RunReport {
  const m = classificationMetrics(input);
  const metrics = metricValues(evaluationInput(input));
  return {
    title: `Report for ${EVIL}`,
    project: 'customer-risk',
    runId: 'run-0001',
    createdAt: '2024-05-01T12:00:00Z',
    model: { family: 'logistic_regression', params: { C: 1, penalty: 'l2' } },
    data: [
      {
        name: 'customers.csv',
        rowsRead: 1010,
        rowsAccepted: 1000,
        rowsRejected: 10,
        rejectsPath: 'rejects.csv',
      },
    ],
    evaluatedOn: 'out-of-fold predictions, 5 folds',
    classes: input.classes,
    positive: input.classes.length === 2 ? input.classes[1] : undefined,
    headline: 'roc_auc',
    metrics,
    folds: { roc_auc: foldSummary([0.71, 0.74, 0.7, 0.73, 0.72]) },
    intervals: { roc_auc: bootstrapMetric(input, 'roc_auc', { seed: 0, replicates: 50 }) },
    notes: m.notes,
    perClass: m.perClass,
    confusion: m.confusion,
    threshold: input.classes.length === 2 ? { strategy: 'fixed', value: 0.5 } : undefined,
    curves: reportCurves(input),
    gates: evaluateGates(gates, metrics),
    search: {
      metric: 'roc_auc',
      trials: [
        { id: 0, params: { C: 0.1 }, score: 0.7, std: 0.01 },
        { id: 1, params: { C: 1, [EVIL]: 'x' }, score: 0.75, std: 0.02 },
      ],
      bestId: 1,
    },
    warnings: [`column ${EVIL} has 40% missing values`],
  };
}

describe('HTML report', () => {
  const input = syntheticBinary(800, 4);
  const evilInput = { ...input, classes: [`no & "never"`, EVIL] };
  const html = renderHtmlReport(report(evilInput, ['roc_auc >= 0.99', 'accuracy >= 0.5']));

  it('escapes every name that comes from data or config', () => {
    expect(html).not.toContain('<script');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(html).toContain('no &amp; &quot;never&quot;');
  });

  it('is self-contained: no scripts, stylesheets or images fetched', () => {
    expect(html).not.toMatch(/<link|<img|src=|@import|url\((?!#)/);
    expect(html.match(/https?:\/\/[^"]*/g)?.every((u) => u === 'http://www.w3.org/2000/svg')).toBe(true);
  });

  it('has the sections, the SVG charts, the AUC in the legend and the threshold marker', () => {
    for (const heading of [
      'Data',
      'Quality gates',
      'Metrics',
      'Curves',
      'Per-class report',
      'Confusion matrix',
      'Hyperparameter search',
    ]) {
      expect(html).toContain(`<h2>${heading}</h2>`);
    }
    expect(html.match(/<svg /g)?.length).toBe(3);
    expect(html).toContain('<path d="M');
    expect(html).toMatch(/model \(AUC = 0\.\d{3}\)/);
    expect(html).toMatch(/model \(AP = 0\.\d{3}\)/);
    expect(html).toContain('threshold 0.500: FPR');
    expect(html).toContain('<span class="badge fail">FAIL</span> 1 of 2 gates failed');
    expect(html).toMatch(/0\.7\d{3} ± 0\.0158/);
    expect(html).toContain('1,010');
  });
});

describe('confusion matrix SVG', () => {
  it('scales to 51 classes with rotated, shortened labels and a tooltip per cell', () => {
    const input = syntheticMulticlass(2000, 51, 8);
    const classes = input.classes.map((c, i) =>
      i === 0 ? 'a_very_long_intent_name_that_goes_on_and_on' : c,
    );
    const m = classificationMetrics(input);
    const svg = confusionMatrixSvg(classes, m.confusion);
    expect(svg.match(/<rect [^>]*><title>/g)?.length).toBe(51 * 51);
    expect(svg.match(/rotate\(-90\)" text-anchor="end"/g)?.length).toBe(51);
    expect(svg).toContain('a_very_long_intent_name…');
    expect(svg).toContain('<title>a_very_long_intent_name_that_goes_on_and_on</title>');
    const width = Number(/width="(\d+)"/.exec(svg)?.[1]);
    expect(width).toBeLessThan(1100);
  });

  it('slants labels of small matrices and prints counts in white on dark cells', () => {
    const svg = confusionMatrixSvg(
      ['a', 'b'],
      [
        [9, 1],
        [2, 8],
      ],
    );
    expect(svg.match(/rotate\(-45\)" text-anchor="end"/g)?.length).toBe(2);
    expect(svg).toMatch(/style="fill:#fff"[^>]*>9</);
    expect(svg).toMatch(/style="fill:#1a1a1a"[^>]*>1</);
    expect(svg).toContain('true a → predicted b: 1 (10.0% of row)');
  });

  it('rejects a matrix of the wrong shape', () => {
    expect(() => confusionMatrixSvg(['a', 'b'], [[1, 2]])).toThrow(/2 x 2/);
  });
});

describe('terminal summary', () => {
  it('shows metrics, the confusion matrix and gate verdicts in plain text', () => {
    const text = renderTerminalSummary(report(syntheticBinary(500, 2), ['roc_auc >= 0.5', 'f1 >= 0.99']));
    expect(text).toMatch(/roc_auc \*\s+0\.\d{4}\s+0\.7200 ± 0\.0158\s+\[0\.\d{4}, 0\.\d{4}\]/);
    expect(text).toContain('Confusion matrix (rows true, columns predicted)');
    expect(text).toContain('Gates: 1 of 2 FAILED');
    expect(text).toMatch(/ {2}PASS {2}roc_auc >= 0\.5/);
    expect(text.includes('\u001b')).toBe(false);
  });

  it('lists the largest confusions for many classes', () => {
    const text = renderTerminalSummary(report(syntheticMulticlass(1000, 20, 1), []));
    expect(text).toContain('Largest confusions (20 classes');
    expect(text).toContain('Gates: none configured');
  });
});
