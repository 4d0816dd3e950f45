/**
 * A search over feature and model settings on a fixed validation split, then repeated cross-validation
 * of the winner, through `trainProject` on a small seeded text dataset.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseProject } from '../../src/config/load.js';
import { openBackends } from '../../src/registry/index.js';
import { type TrainResult, trainProject } from '../../src/training/train.js';
import { tempDir } from '../serving/server/fixture.js';
import { textQuestions } from '../serving/server/text-fixture.js';

let dir: string;
let result: TrainResult;

async function train(gates: string[] = []): Promise<{ dir: string; result: TrainResult }> {
  const dir = tempDir();
  const rows = textQuestions(400, 3);
  writeFileSync(
    path.join(dir, 'questions.csv'),
    `question,intent\n${rows.map((r) => `"${r.question}",${r.intent}`).join('\n')}\n`,
  );
  const project = parseProject({
    name: 'search-demo',
    seed: 4,
    data: {
      source: { path: 'questions.csv' },
      schema: { question: { type: 'text', nullable: false }, intent: { type: 'category', nullable: false } },
    },
    target: { column: 'intent' },
    split: { strategy: 'stratified', folds: 3 },
    features: [{ step: 'tfidf', column: 'question', analyzer: 'word', ngramRange: [1, 1] }],
    model: {
      family: 'linear_svm',
      params: { C: 1, calibration: 'none' },
      search: {
        strategy: 'grid',
        validation: { fraction: 0.25 },
        // One word as the whole vocabulary cannot tell four intents apart: the search must avoid it.
        space: { C: [0.1, 1], 'features.0.maxFeatures': [1, 500] },
      },
    },
    evaluation: { headline: 'f1_macro', bootstrap: 20, repeats: 3 },
    gates,
    registry: { register: 'never' },
    stores: { metadata: 'sqlite://kiln.db', artifacts: 'file://artifacts' },
  });
  return { dir, result: await trainProject({ project, dir, configFile: path.join(dir, 'kiln.yaml') }) };
}

beforeAll(async () => {
  ({ dir, result } = await train());
}, 60_000);

describe('search on a fixed validation split', () => {
  it('records every trial, each scored once on the same validation rows', async () => {
    const backends = openBackends({
      metadata: 'sqlite://kiln.db',
      artifacts: 'file://artifacts',
      baseDir: dir,
    });
    const trials = await backends.store.listTrials(result.run.id);
    await backends.close();
    expect(trials).toHaveLength(4);
    for (const t of trials) expect(t.foldScores).toHaveLength(1);
    const settings = trials.map((t) => [t.params.C, t.params['features.0.maxFeatures']]);
    expect(settings).toEqual([
      [0.1, 1],
      [0.1, 500],
      [1, 1],
      [1, 500],
    ]);
    const best = trials.reduce((a, b) => (b.mean > a.mean ? b : a));
    expect(best.params['features.0.maxFeatures']).toBe(500);
    expect(result.report.search?.scoredOn).toMatch(/fixed validation split \(100 of 400 rows, seed 4\)/);
  });

  it('re-fits the winner: its features and params are in the package', () => {
    const manifest = JSON.parse(readFileSync(path.join(result.packageDir!, 'manifest.json'), 'utf8'));
    const vocabulary = manifest.featureNames.filter((n: string) => n.startsWith('question_words:'));
    expect(vocabulary.length).toBeGreaterThan(1);
    const bestId = result.report.search!.bestId;
    const bestTrial = result.report.search!.trials.find((t) => t.id === bestId)!;
    expect(result.report.model?.params).toMatchObject({
      C: bestTrial.params.C,
      'features.0.maxFeatures': 500,
    });
    expect(result.run.params).toMatchObject({ C: bestTrial.params.C, 'features.0.maxFeatures': 500 });
  });

  it('cross-validates the winner on 3 seeds: repeat 1 is the run’s own cross-validation', () => {
    const v = result.report.variability!;
    expect(v.seeds).toEqual([4, 5, 6]);
    expect(v.perRepeat).toHaveLength(3);
    expect(v.perRepeat[0].f1_macro).toBeCloseTo(result.report.folds!.f1_macro.mean, 12);
    // Other folds give other scores (seeded data with noise words: not every split scores alike).
    expect(new Set(v.perRepeat.map((m) => m.accuracy)).size).toBeGreaterThan(1);
    const mean = v.perRepeat.reduce((s, m) => s + m.f1_macro, 0) / 3;
    expect(v.overRepeats.f1_macro.mean).toBeCloseTo(mean, 12);
    expect(v.overFolds.f1_macro.n).toBe(9);
    expect(result.summary).toMatch(/Variability: 3 repeats of 3-fold cross-validation/);
    const html = readFileSync(result.reportPath, 'utf8');
    expect(html).toContain('<h2>Variability</h2>');
    expect(html).toMatch(/each scored on a fixed validation split/);
  });
});

describe('a search with gates', () => {
  it('takes the best candidate among those whose validation scores pass every gate', async () => {
    // Only the one-word vocabulary is as poor as this gate asks: it must win although it scores lowest.
    const { result } = await train(['accuracy <= 0.6']);
    const search = result.report.search!;
    const passing = search.trials.filter((t) => t.passesGates);
    expect(passing.length).toBeGreaterThan(0);
    expect(passing.length).toBeLessThan(search.trials.length);
    for (const t of passing) expect(t.params['features.0.maxFeatures']).toBe(1);
    const best = search.trials.find((t) => t.id === search.bestId)!;
    expect(best.passesGates).toBe(true);
    expect(best.score).toBe(Math.max(...passing.map((t) => t.score)));
    expect(best.score).toBeLessThan(Math.max(...search.trials.map((t) => t.score)));
  }, 60_000);
});
