import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord, TrialRecord } from '../../src/stores/metadata/index.js';
import { readCsv, runKiln, SMALL_ROWS, smallProject, tempDir, trainOutput, writeProject } from './harness.js';

type ShownRun = RunRecord & { trials: TrialRecord[] };

async function listRuns(dir: string): Promise<RunRecord[]> {
  const result = await runKiln(['runs', 'list', '--project', dir, '--format', 'json']);
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as RunRecord[];
}

async function showRun(dir: string, id: string): Promise<ShownRun> {
  const result = await runKiln(['runs', 'show', id, '--project', dir]);
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as ShownRun;
}

async function train(dir: string, ...args: string[]) {
  const result = await runKiln(['train', dir, ...args]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return { ...result, ...trainOutput(result.stdout) };
}

const cvOf = (run: RunRecord) => (run.metrics as { cv: Record<string, number> }).cv;

describe('kiln train', () => {
  const dir = tempDir();
  let csv: string;
  let out: Awaited<ReturnType<typeof train>>;

  beforeAll(async () => {
    ({ csv } = await writeProject(dir));
    out = await train(dir);
  });

  it('prints the run id, and package and report paths that exist in the run folder', () => {
    expect(out.runId).toMatch(/^[0-9a-f-]{36}$/);
    const runDir = path.join(dir, '.kiln', 'runs', out.runId);
    expect(out.packageDir).toBe(path.join(runDir, 'package'));
    expect(out.reportPath).toBe(path.join(runDir, 'report.html'));
    expect(existsSync(path.join(out.packageDir, 'manifest.json'))).toBe(true);
    expect(existsSync(path.join(out.packageDir, 'weights.safetensors'))).toBe(true);
    // A clean load writes no rejects file.
    expect(existsSync(path.join(runDir, 'rejects.csv'))).toBe(false);
  });

  it('prints the summary: metrics, threshold, confusion matrix and the gates', () => {
    expect(out.stdout).toMatch(/^roc_auc \*\s+0\.\d{4}/m);
    expect(out.stdout).toContain('decision threshold');
    expect(out.stdout).toContain('Confusion matrix');
    expect(out.stdout).toMatch(/PASS\s+roc_auc >= 0\.55/);
  });

  it('writes a manifest naming the family, classes, inputs and threshold', () => {
    const manifest = JSON.parse(readFileSync(path.join(out.packageDir, 'manifest.json'), 'utf8'));
    expect(manifest.model.family).toBe('logistic_regression');
    expect(manifest.task).toBe('binary');
    expect(manifest.output.classes).toEqual(['0', '1']);
    expect(manifest.output.positive).toBe('1');
    const inputs = manifest.signature.inputs.map((i: { name: string }) => i.name).sort();
    expect(inputs).toEqual(['age', 'deposits', 'product', 'stakes', 'withdrawals']);
    expect(manifest.signature.inputs.find((i: { name: string }) => i.name === 'product')).toMatchObject({
      type: 'category',
      values: ['bet', 'gaming'],
    });
    expect(manifest.output.threshold).toBeGreaterThan(0);
    expect(manifest.output.threshold).toBeLessThan(1);
    // The threshold printed is the one packaged (max_f1 on out-of-fold predictions).
    expect(out.stdout).toContain(`decision threshold ${manifest.output.threshold.toFixed(4)} (max_f1)`);
    expect(manifest.lineage.runId).toBe(out.runId);
    expect(manifest.lineage.seed).toBe(0);
  });

  it('writes an HTML report with plots', () => {
    const html = readFileSync(out.reportPath, 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain(out.runId);
  });

  it('records the run: status, data fingerprint, row counts, metrics (runs list --format json)', async () => {
    const runs = await listRuns(dir);
    expect(runs.map((r) => r.id)).toEqual([out.runId]);
    const [run] = runs;
    expect(run).toMatchObject({ kind: 'train', status: 'succeeded', seed: 0, error: null });
    expect(run.finishedAt).not.toBeNull();
    // The gates passed, so the package was registered: the run points at the registered copy.
    expect(run.packageUri).toMatch(
      new RegExp(`^file://${path.join(dir, '.kiln', 'artifacts')}/packages/[0-9a-f]{64}$`),
    );
    expect(run.data).toHaveLength(1);
    const sha256 = createHash('sha256').update(readFileSync(csv)).digest('hex');
    expect(run.data[0]).toMatchObject({
      role: 'train',
      path: csv,
      sha256,
      bytes: readFileSync(csv).length,
      rowsRead: SMALL_ROWS,
      rowsAccepted: SMALL_ROWS,
      rowsRejected: 0,
    });
    const cv = cvOf(run);
    expect(cv.roc_auc).toBeGreaterThan(0.55);
    expect(cv.roc_auc).toBeLessThan(1);
    expect(cv.accuracy).toBeGreaterThan(0);
  });

  it('shows one run by id or unique prefix, with its trials (runs show)', async () => {
    const run = await showRun(dir, out.runId);
    expect(run.id).toBe(out.runId);
    expect(run.status).toBe('succeeded');
    expect(run.trials).toHaveLength(1); // no search: one candidate
    expect(run.trials[0].foldScores).toHaveLength(5);
    expect(run.trials[0].mean).toBeCloseTo(cvOf(run).roc_auc, 12);
    expect((await showRun(dir, out.runId.slice(0, 8))).id).toBe(out.runId);
  });

  it('lists runs as a table by default', async () => {
    const { code, stdout } = await runKiln(['runs', 'list', '--project', dir]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^run\s+kind\s+status/);
    expect(stdout).toMatch(
      new RegExp(`^${out.runId.slice(0, 8)}\\s+train\\s+succeeded\\s.*roc_auc=0\\.\\d{4}`, 'm'),
    );
  });

  it('reads the project in the working directory by default', async () => {
    const { code, stdout } = await runKiln(['runs', 'list', '--format', 'json'], { cwd: dir });
    expect(code).toBe(0);
    expect((JSON.parse(stdout) as RunRecord[]).map((r) => r.id)).toEqual([out.runId]);
    expect((await runKiln(['runs', 'show', out.runId], { cwd: dir })).code).toBe(0);
  });

  it('runs show of an unknown id exits 1 naming it', async () => {
    const { code, stderr } = await runKiln(['runs', 'show', 'nope', '--project', dir]);
    expect(code).toBe(1);
    expect(stderr).toContain('no run "nope"');
  });
});

describe('kiln train: reproducibility', () => {
  const dir = tempDir();
  const runs: Record<string, ShownRun> = {};
  const weights: Record<string, Buffer> = {};

  beforeAll(async () => {
    await writeProject(dir);
    for (const [name, args] of [
      ['first', []],
      ['again', []],
      ['seed7', ['--seed', '7']],
    ] as const) {
      const out = await train(dir, ...args);
      runs[name] = await showRun(dir, out.runId);
      weights[name] = readFileSync(path.join(out.packageDir, 'weights.safetensors'));
    }
  });

  it('the same seed gives identical CV metrics, fold scores and weights bytes', () => {
    expect(runs.again.id).not.toBe(runs.first.id);
    expect(cvOf(runs.again)).toEqual(cvOf(runs.first));
    expect(runs.again.trials[0].foldScores).toEqual(runs.first.trials[0].foldScores);
    expect(runs.again.params).toEqual(runs.first.params);
    expect(weights.again.length).toBeGreaterThan(0);
    expect(weights.again.equals(weights.first)).toBe(true);
  });

  it('--seed changes the folds, so the CV metrics differ, and is recorded', () => {
    expect(runs.seed7.seed).toBe(7);
    expect(runs.seed7.trials[0].foldScores).not.toEqual(runs.first.trials[0].foldScores);
    expect(cvOf(runs.seed7).roc_auc).not.toBe(cvOf(runs.first).roc_auc);
    // Same data, so the same fingerprint.
    expect(runs.seed7.data[0].sha256).toBe(runs.first.data[0].sha256);
  });
});

describe('kiln train: quality gates', () => {
  it('a failed gate exits 1, says so on stderr and records gate_failed', async () => {
    const dir = tempDir();
    await writeProject(dir, { project: smallProject({ gates: ['roc_auc >= 0.99'] }) });
    const result = await runKiln(['train', dir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('quality gates failed');
    expect(result.stdout).toMatch(/FAIL\s+roc_auc >= 0\.99/);
    const { runId, packageDir } = trainOutput(result.stdout);
    const run = await showRun(dir, runId);
    expect(run.status).toBe('gate_failed');
    const gates = (run.metrics as { gates: { passed: boolean }[] }).gates;
    expect(gates.map((g) => g.passed)).toEqual([false]);
    // Kept for inspection.
    expect(existsSync(path.join(packageDir, 'manifest.json'))).toBe(true);
  });
});

describe('kiln train: config errors', () => {
  async function trainWith(project: unknown) {
    const dir = tempDir();
    await writeProject(dir);
    writeFileSync(path.join(dir, 'kiln.yaml'), JSON.stringify(project));
    return { dir, ...(await runKiln(['train', dir])) };
  }

  it('split.folds: 1 exits 1 naming the file and the field', async () => {
    const { dir, code, stderr, stdout } = await trainWith(smallProject({ split: { folds: 1 } }));
    expect(code).toBe(1);
    expect(stderr).toContain(`invalid project definition in ${path.join(dir, 'kiln.yaml')}`);
    expect(stderr).toMatch(/split\.folds: .*>=2/);
    expect(stdout).toBe('');
  });

  it('an unknown top-level key and a malformed gate are each named', async () => {
    const { code, stderr } = await trainWith({
      ...smallProject({ gates: ['roc_auc about 0.7'] }),
      modle: {},
    });
    expect(code).toBe(1);
    expect(stderr).toContain('"modle"');
    expect(stderr).toMatch(/gates\.0: a gate like "roc_auc >= 0\.70"/);
  });

  it('a YAML syntax error exits 1 naming the file', async () => {
    const dir = tempDir();
    await writeProject(dir);
    writeFileSync(path.join(dir, 'kiln.yaml'), 'name: [unclosed\n');
    const { code, stderr } = await runKiln(['train', dir]);
    expect(code).toBe(1);
    expect(stderr).toContain(`cannot parse ${path.join(dir, 'kiln.yaml')}`);
  });

  it('a project folder that does not exist exits 1', async () => {
    const { code, stderr } = await runKiln(['train', path.join(tempDir(), 'missing')]);
    expect(code).toBe(1);
    expect(stderr).toContain('project not found');
  });

  const typo = () => smallProject({ model: { family: 'logistic_regression', params: { Cc: 1 } } });

  it('a typo in model.params (strict LR params) exits 1 naming the unknown key', async () => {
    const { code, stderr } = await trainWith(typo());
    expect(code).toBe(1);
    expect(stderr).toContain('Cc');
  });

  // BUG (src/training/train.ts): model params are validated by `family.params.parse` inside the run,
  // so the error is zod's raw JSON dump (`"path": []`), naming neither `model.params` nor the file.
  it('a typo in model.params names the field path model.params', async () => {
    const { stderr } = await trainWith(typo());
    expect(stderr).toContain('model.params');
  });

  it('an unknown model family exits 1 naming it', async () => {
    const { code, stderr } = await trainWith(smallProject({ model: { family: 'xgboost_magic' } }));
    expect(code).toBe(1);
    expect(stderr).toContain('xgboost_magic');
  });
});

describe('kiln train: data errors', () => {
  const BAD_LINE = 43; // line 1 is the header
  const badDeposits = (lines: string[]) => {
    const cells = lines[BAD_LINE - 1].split(',');
    cells[0] = 'abc';
    lines[BAD_LINE - 1] = cells.join(',');
    return lines;
  };
  const withPolicy = (onInvalid: 'fail' | 'quarantine') => {
    const base = smallProject();
    return smallProject({ data: { ...base.data, onInvalid } });
  };

  it('a wrong-typed cell under onInvalid: fail exits 1 naming file, line and column; run failed', async () => {
    const dir = tempDir();
    const { csv } = await writeProject(dir, { project: withPolicy('fail'), edit: badDeposits });
    const { code, stderr } = await runKiln(['train', dir]);
    expect(code).toBe(1);
    expect(stderr).toContain(`${csv}: line ${BAD_LINE}, column "deposits": `);
    expect(stderr).toContain('"abc"');
    const [run] = await listRuns(dir);
    expect(run.status).toBe('failed');
    expect(run.error).toContain(`line ${BAD_LINE}, column "deposits"`);
  });

  it('the same cell under quarantine: exit 0, the row is in rejects.csv with a reason, counts add up', async () => {
    const dir = tempDir();
    const { csv } = await writeProject(dir, { project: withPolicy('quarantine'), edit: badDeposits });
    const badRow = readFileSync(csv, 'utf8').split('\n')[BAD_LINE - 1];
    const out = await train(dir);
    const runDir = path.dirname(out.packageDir);
    const rejects = readCsv(path.join(runDir, 'rejects.csv'));
    expect(rejects.header).toEqual([
      'deposits',
      'withdrawals',
      'stakes',
      'product',
      'age',
      'target',
      '_line',
      '_column',
      '_reason',
    ]);
    expect(rejects.rows).toHaveLength(1);
    const [row] = rejects.rows;
    expect(row).toMatchObject({ _line: String(BAD_LINE), _column: 'deposits', deposits: 'abc' });
    expect(row._reason).toContain('"abc"');
    expect(
      ['deposits', 'withdrawals', 'stakes', 'product', 'age', 'target'].map((c) => row[c]).join(','),
    ).toBe(badRow);
    const [fingerprint] = (await showRun(dir, out.runId)).data;
    expect(fingerprint).toMatchObject({
      rowsRead: SMALL_ROWS,
      rowsAccepted: SMALL_ROWS - 1,
      rowsRejected: 1,
    });
    expect(fingerprint.rowsAccepted + fingerprint.rowsRejected).toBe(fingerprint.rowsRead);
  });

  it('a row without a target is quarantined with a reason, never dropped silently', async () => {
    const dir = tempDir();
    const line = 10;
    await writeProject(dir, {
      edit: (lines) => {
        lines[line - 1] = lines[line - 1].replace(/,[01]$/, ',');
        return lines;
      },
    });
    const out = await train(dir);
    const rejects = readCsv(path.join(path.dirname(out.packageDir), 'rejects.csv'));
    expect(rejects.rows.map((r) => [r._line, r._column])).toEqual([[String(line), 'target']]);
    expect(rejects.rows[0]._reason).toMatch(/missing/);
  });

  it('a missing column exits 1 naming the column', async () => {
    const dir = tempDir();
    const { csv } = await writeProject(dir, {
      edit: (lines) => lines.map((l) => l.split(',').toSpliced(2, 1).join(',')),
    });
    const { code, stderr } = await runKiln(['train', dir]);
    expect(code).toBe(1);
    expect(stderr).toContain(csv);
    expect(stderr).toMatch(/"stakes".* missing from the file/);
  });

  it('an empty file exits 1 saying it is empty', async () => {
    const dir = tempDir();
    const { csv } = await writeProject(dir);
    writeFileSync(csv, '');
    const { code, stderr } = await runKiln(['train', dir]);
    expect(code).toBe(1);
    expect(stderr).toContain(`${csv}: file is empty`);
  });

  it('a header-only file exits 1 saying there are no data rows', async () => {
    const dir = tempDir();
    const { csv } = await writeProject(dir, { edit: (lines) => lines.slice(0, 1) });
    const { code, stderr } = await runKiln(['train', dir]);
    expect(code).toBe(1);
    expect(stderr).toContain(`${csv}: no data rows: the file has a header row only`);
  });

  it('a failed load leaves no package behind', async () => {
    const dir = tempDir();
    await writeProject(dir, { project: withPolicy('fail'), edit: badDeposits });
    await runKiln(['train', dir]);
    const runsDir = path.join(dir, '.kiln', 'runs');
    for (const run of readdirSync(runsDir))
      expect(existsSync(path.join(runsDir, run, 'package'))).toBe(false);
  });
});
