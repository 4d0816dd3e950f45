import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeCustomerRiskLikeCsv } from '../../src/quickstart/customer-risk-data.js';
import type { RunRecord } from '../../src/stores/metadata/index.js';
import { readCsv, runKiln, tempDir, trainOutput, writeProject } from './harness.js';

/** ROC AUC by the Mann-Whitney statistic (ties count one half): independent of Kiln's metrics code. */
function rocAuc(scores: number[], labels: number[]): number {
  const pos = scores.filter((_, i) => labels[i] === 1);
  const neg = scores.filter((_, i) => labels[i] === 0);
  let wins = 0;
  for (const p of pos) for (const n of neg) wins += p > n ? 1 : p === n ? 0.5 : 0;
  return wins / (pos.length * neg.length);
}

describe('kiln evaluate', () => {
  const dir = tempDir();
  let packageDir: string;
  let labelled: string;

  beforeAll(async () => {
    await writeProject(dir);
    const trained = await runKiln(['train', dir]);
    expect(trained.code).toBe(0);
    ({ packageDir } = trainOutput(trained.stdout));
    labelled = path.join(dir, 'holdout.csv');
    await writeCustomerRiskLikeCsv(labelled, 500, 3);
  });

  it('measures a package on a labelled file, prints roc_auc and writes the HTML report', async () => {
    const report = path.join(dir, 'eval.html');
    const { code, stdout, stderr } = await runKiln([
      'evaluate',
      '--model',
      packageDir,
      '--input',
      labelled,
      '--report',
      report,
    ]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain(`report:   ${report}`);
    expect(readFileSync(report, 'utf8')).toContain('<svg');
    const printed = /^roc_auc \*\s+(0\.\d{4})/m.exec(stdout);
    expect(printed).not.toBeNull();

    // The same number from predict's probabilities and the file's labels.
    const scored = path.join(dir, 'holdout-scored.csv');
    expect(
      (await runKiln(['predict', '--model', packageDir, '--input', labelled, '--output', scored])).code,
    ).toBe(0);
    const p1 = readCsv(scored).rows.map((r) => Number(r.p_1));
    const y = readCsv(labelled).rows.map((r) => Number(r.target));
    expect(p1).toHaveLength(500);
    expect(Number(printed![1])).toBeCloseTo(rocAuc(p1, y), 4);
  });

  it('package mode refuses a file without the target, naming it', async () => {
    const scored = path.join(dir, 'unlabelled.csv');
    await runKiln(['predict', '--model', packageDir, '--input', labelled, '--output', scored]);
    const { code, stderr } = await runKiln(['evaluate', '--model', packageDir, '--input', scored]);
    expect(code).toBe(1);
    expect(stderr).toContain(scored);
    expect(stderr).toContain('"target"');
  });

  it('project mode cross-validates, reports and records a run, and writes no package', async () => {
    const project = tempDir();
    await writeProject(project);
    const { code, stdout, stderr } = await runKiln(['evaluate', project]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Evaluation report: /m);
    expect(stdout).not.toContain('package:');
    const runId = /^run:\s+(\S+)$/m.exec(stdout)![1];
    const reportPath = /^report:\s+(\S+)$/m.exec(stdout)![1];
    const runDir = path.join(project, '.kiln', 'runs', runId);
    expect(reportPath).toBe(path.join(runDir, 'report.html'));
    expect(readFileSync(reportPath, 'utf8')).toContain('<svg');
    expect(readdirSync(runDir)).not.toContain('package');

    const shown = await runKiln(['runs', 'show', runId, '--project', project]);
    const run = JSON.parse(shown.stdout) as RunRecord;
    expect(run).toMatchObject({ kind: 'evaluate', status: 'succeeded', packageUri: null });
    expect((run.metrics as { cv: Record<string, number> }).cv.roc_auc).toBeGreaterThan(0.55);
  });

  it('project mode gives the same CV metrics as train with the same seed', async () => {
    const project = tempDir();
    await writeProject(project);
    const evaluated = await runKiln(['evaluate', project]);
    const trained = await runKiln(['train', project]);
    expect([evaluated.code, trained.code]).toEqual([0, 0]);
    const list = JSON.parse(
      (await runKiln(['runs', 'list', '--project', project, '--format', 'json'])).stdout,
    );
    const [train, evaluate] = list as RunRecord[]; // newest first
    expect([train.kind, evaluate.kind]).toEqual(['train', 'evaluate']);
    expect(evaluate.metrics.cv).toEqual(train.metrics.cv);
  });
});

describe('kiln schema infer', () => {
  it('prints a schema snippet naming every column with its type', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'customers.csv');
    await writeCustomerRiskLikeCsv(file, 500, 0);
    const { code, stdout } = await runKiln(['schema', 'infer', file]);
    expect(code).toBe(0);
    for (const column of ['deposits', 'withdrawals', 'stakes', 'product', 'age', 'target'])
      expect(stdout).toMatch(new RegExp(`^\\s*${column}: \\{ type: '`, 'm'));
    expect(stdout).toMatch(/withdrawals: \{ type: '(integer|number)', nullable: true/);
    expect(stdout).toMatch(/deposits: \{ type: '(integer|number)', nullable: false/);
    expect(stdout).toMatch(/product: \{ type: 'category', nullable: false, values: \['bet', 'gaming'\]/);
  });

  it('a missing file exits 1 naming it', async () => {
    const file = path.join(tempDir(), 'absent.csv');
    const { code, stderr } = await runKiln(['schema', 'infer', file]);
    expect(code).toBe(1);
    expect(stderr).toContain(file);
  });
});

describe('kiln quickstart', () => {
  it('generates data, trains, registers, serves one prediction over HTTP, and scores the prospects', async () => {
    const dir = path.join(tempDir(), 'qs');
    const { code, stdout, stderr } = await runKiln(['quickstart', '--dir', dir]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(existsSync(path.join(dir, 'kiln.config.ts'))).toBe(true);
    expect(stdout).toContain('Scored 1000 prospects');
    // Registered as version 1, promoted to @champion, served from the registry and asked over HTTP.
    expect(stdout).toMatch(/Served quickstart-customer-risk@champion \(version 1\)/);
    const answer = JSON.parse(/→ 200 (.+)$/m.exec(stdout)![1]);
    expect(answer).toMatchObject({ model: 'quickstart-customer-risk', version: '1' });
    expect(answer.predictions[0].prediction_id).toMatch(/^[0-9a-f-]{36}$/);
    const p = answer.predictions[0].probabilities;
    expect(p['0'] + p['1']).toBeCloseTo(1, 12);
    const { header, rows } = readCsv(path.join(dir, 'predictions.csv'));
    expect(header).toEqual(['line', 'label', 'p_0', 'p_1']);
    expect(rows).toHaveLength(1000);
    const p1 = rows.map((r) => Number(r.p_1));
    for (let i = 1; i < p1.length; i++) expect(p1[i]).toBeLessThanOrEqual(p1[i - 1]);
    const { packageDir } = trainOutput(stdout);
    expect(existsSync(path.join(packageDir, 'manifest.json'))).toBe(true);

    // The written kiln.config.ts loads back (through `import { defineProject } from 'kiln'`).
    const listed = await runKiln(['runs', 'list', '--project', dir, '--format', 'json']);
    expect(listed.code).toBe(0);
    const runs = JSON.parse(listed.stdout) as RunRecord[];
    expect(runs.map((r) => r.status)).toEqual(['succeeded']);
    expect(runs[0].data[0].rowsRead).toBe(10_000);
  });
});
