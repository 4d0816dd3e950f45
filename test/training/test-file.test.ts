/** `data.test`: a separate labelled test file scored once by the final model. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseProject } from '../../src/config/load.js';
import type { ProjectInput } from '../../src/config/schema.js';
import { trainProject } from '../../src/training/train.js';
import { tempDir } from '../serving/server/fixture.js';
import { textQuestions } from '../serving/server/text-fixture.js';

function csv(rows: { question: string; intent: string }[]): string {
  return `question,intent\n${rows.map((r) => `"${r.question}",${r.intent}`).join('\n')}\n`;
}

function project(overrides: Partial<ProjectInput> = {}) {
  return parseProject({
    name: 'test-file-demo',
    data: {
      source: { path: 'train.csv' },
      test: { path: 'test.csv' },
      schema: { question: { type: 'text', nullable: false }, intent: { type: 'category', nullable: false } },
    },
    target: { column: 'intent' },
    split: { strategy: 'stratified', folds: 3 },
    features: [{ step: 'tfidf', column: 'question', analyzer: 'word' }],
    model: { family: 'linear_svm', params: { calibration: 'none' } },
    evaluation: { headline: 'f1_macro', bootstrap: 0 },
    gates: ['accuracy >= 0.5'],
    registry: { register: 'never' },
    stores: { metadata: 'sqlite://kiln.db', artifacts: 'file://artifacts' },
    ...overrides,
  });
}

describe('a separate test file', () => {
  it('is scored by the final model; its metrics are the report’s and the gates’', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'train.csv'), csv(textQuestions(300, 1)));
    const testRows = textQuestions(120, 2);
    writeFileSync(path.join(dir, 'test.csv'), csv(testRows));
    const result = await trainProject({ project: project(), dir, configFile: path.join(dir, 'kiln.yaml') });
    expect(result.report.evaluatedOn).toMatch(/^test file .*test\.csv \(120 rows\); folds: 3-fold/);
    expect(result.report.data.map((d) => d.rowsAccepted)).toEqual([300, 120]);
    expect(result.run.data?.map((d) => d.role)).toEqual(['train', 'test']);
    const test = result.run.metrics?.test as Record<string, number>;
    expect(test.accuracy).toBe(result.report.metrics.accuracy);
    expect(result.gates[0].value).toBe(test.accuracy);
    // Not the cross-validation's numbers.
    expect(test.accuracy).not.toBe(result.report.folds!.accuracy.mean);
    expect(test.accuracy).toBeGreaterThan(0.5);
  });

  it('names the file when it holds a class training never saw', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'train.csv'), csv(textQuestions(200, 1)));
    writeFileSync(
      path.join(dir, 'test.csv'),
      csv([...textQuestions(20, 2), { question: 'bonjour', intent: 'salut' }]),
    );
    await expect(
      trainProject({ project: project(), dir, configFile: path.join(dir, 'kiln.yaml') }),
    ).rejects.toThrow(/test file .*test\.csv: target value "salut" is not one of the model's classes/);
  });

  it('cannot be combined with a held-out fraction', async () => {
    const dir = tempDir();
    await expect(
      trainProject({
        project: project({ split: { strategy: 'stratified', folds: 3, testFraction: 0.2 } }),
        dir,
        configFile: path.join(dir, 'kiln.yaml'),
      }),
    ).rejects.toThrow(/invalid project definition/);
  });
});
