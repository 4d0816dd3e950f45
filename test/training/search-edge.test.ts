/**
 * Item 16's advice to the user after a run: a search whose selected value sits at the edge of what it
 * searched says so (terminal summary and HTML report), and logistic regression's non-convergence
 * warning advises standardising only when the features are not already on a unit scale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseProject } from '../../src/config/load.js';
import { denseMatrix } from '../../src/data/matrix.js';
import { type RunReport, renderHtmlReport, renderTerminalSummary } from '../../src/evaluation/index.js';
import { searchEdgeWarnings } from '../../src/evaluation/report/search-edge.js';
import { fitLogisticRegression, logisticRegressionParams } from '../../src/models/logistic-regression.js';
import { trainProject } from '../../src/training/train.js';
import { Random } from '../../src/util/random.js';
import { tempDir } from '../serving/server/fixture.js';
import { textQuestions } from '../serving/server/text-fixture.js';

type Search = NonNullable<RunReport['search']>;

function search(values: unknown[], best: number, name = 'C'): Search {
  return {
    metric: 'roc_auc',
    trials: values.map((v, i) => ({ id: i + 1, params: { [name]: v, maxIter: 100 }, score: i })),
    bestId: best + 1,
  };
}

describe('search at the edge of its grid', () => {
  it('flags a numeric setting whose selected value is the largest or the smallest searched', () => {
    expect(searchEdgeWarnings(search([0.01, 0.1, 1, 10], 3))).toEqual([
      'search: the selected C = 10 is the largest value searched (0.01 … 10, 4 values): the best may lie beyond it; extend model.search.space.C above 10',
    ]);
    expect(searchEdgeWarnings(search([1, 0.1, 0.01], 2))[0]).toContain(
      'C = 0.01 is the smallest value searched (0.01 … 1, 3 values)',
    );
    // Inside the grid, two values only, or not numbers: nothing to say.
    expect(searchEdgeWarnings(search([0.01, 0.1, 1, 10], 1))).toEqual([]);
    expect(searchEdgeWarnings(search([0.1, 1], 1))).toEqual([]);
    expect(searchEdgeWarnings(search(['none', 'balanced', 'x'], 2, 'classWeight'))).toEqual([]);
    // A grid over two settings: each is judged over its own values.
    const grid: Search = {
      metric: 'f1_macro',
      trials: [1, 2, 3].flatMap((C) =>
        [0.1, 0.2, 0.3].map((alpha) => ({ id: `${C}/${alpha}`, params: { C, alpha }, score: 0 })),
      ),
      bestId: '3/0.2',
    };
    expect(searchEdgeWarnings(grid)).toEqual([
      expect.stringMatching(/^search: the selected C = 3 is the largest/),
    ]);
  });

  it('a training run whose best maxFeatures is the largest searched says so in its summary and report', async () => {
    const dir = tempDir();
    const rows = textQuestions(300, 3);
    writeFileSync(
      path.join(dir, 'questions.csv'),
      `question,intent\n${rows.map((r) => `"${r.question}",${r.intent}`).join('\n')}\n`,
    );
    const project = parseProject({
      name: 'edge-demo',
      seed: 4,
      data: {
        source: { path: 'questions.csv' },
        schema: {
          question: { type: 'text', nullable: false },
          intent: { type: 'category', nullable: false },
        },
      },
      target: { column: 'intent' },
      split: { strategy: 'stratified', folds: 3 },
      features: [{ step: 'tfidf', column: 'question', analyzer: 'word', ngramRange: [1, 1] }],
      model: {
        family: 'logistic_regression',
        params: { C: 10 },
        // One or two words cannot tell four intents apart: the largest vocabulary wins.
        search: { strategy: 'grid', space: { 'features.0.maxFeatures': [1, 2, 500] } },
      },
      evaluation: { headline: 'f1_macro', bootstrap: 20 },
      registry: { register: 'never' },
      stores: { metadata: 'sqlite://kiln.db', artifacts: 'file://artifacts' },
    });
    const result = await trainProject({ project, dir, configFile: path.join(dir, 'kiln.yaml') });
    const warning =
      'search: the selected features.0.maxFeatures = 500 is the largest value searched (1 … 500, 3 values): the best may lie beyond it; extend model.search.space.features.0.maxFeatures above 500';
    expect(result.summary).toContain(`warning: ${warning}`);
    expect(readFileSync(result.reportPath, 'utf8')).toContain(`<li>${warning}</li>`);
    // Recorded with the run, and printed once.
    expect(result.run.warnings).toContain(warning);
    expect(result.summary.split(warning)).toHaveLength(2);
  }, 60_000);

  it('prints a warning once when the run recorded it already', () => {
    const s = search([0.01, 0.1, 1], 2);
    const [warning] = searchEdgeWarnings(s);
    const report = {
      title: 't',
      project: 'p',
      runId: 'r',
      createdAt: '',
      model: { family: 'logistic_regression', params: {} },
      data: [],
      evaluatedOn: 'folds',
      classes: [],
      headline: 'roc_auc',
      metrics: {},
      perClass: [],
      confusion: [],
      gates: [],
      search: s,
      warnings: [warning],
    } as unknown as RunReport;
    expect(renderTerminalSummary(report).split(warning)).toHaveLength(2);
    expect(renderHtmlReport(report).split(`<li>${warning}</li>`)).toHaveLength(2);
  });
});

describe('logistic regression non-convergence advice', () => {
  /** 400 rows, 3 columns scaled by `scale`, labels from their sum. */
  function data(scale: number) {
    const random = new Random(3);
    const values = new Float64Array(400 * 3);
    const y = new Int32Array(400);
    for (let i = 0; i < 400; i++) {
      let sum = 0;
      for (let j = 0; j < 3; j++) {
        const z = random.normal();
        values[i * 3 + j] = z * scale;
        sum += z;
      }
      y[i] = sum + random.normal() > 0 ? 1 : 0;
    }
    return { X: denseMatrix(400, 3, values), y };
  }

  async function warningFor(scale: number): Promise<string> {
    const { X, y } = data(scale);
    const warnings: string[] = [];
    await fitLogisticRegression(X, y, {
      params: logisticRegressionParams.parse({ maxIter: 2 }),
      task: 'binary',
      classes: ['n', 'p'],
      seed: 0,
      warn: (message) => {
        warnings.push(message);
      },
    });
    expect(warnings).toHaveLength(1);
    return warnings[0];
  }

  it('advises standardising raw columns on a large scale', async () => {
    const warning = await warningFor(1000);
    expect(warning).toMatch(/did not converge after 2 iterations/);
    expect(warning).toMatch(
      /; standardise the features \(add a scale step: a column's root mean square is 1\.0\de\+3\), or raise maxIter or tol$/,
    );
  });

  it('advises more iterations, a looser tol or a smaller C when the columns are already standardised', async () => {
    const warning = await warningFor(1);
    expect(warning).not.toContain('standardise the features');
    expect(warning).toMatch(
      /the features are already on a unit scale \(largest column root mean square 1\.\d+\), so standardising will not help: raise maxIter or tol, or lower C$/,
    );
  });
});
