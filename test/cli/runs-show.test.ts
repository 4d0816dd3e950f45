/**
 * `kiln runs show <id>` is a summary a person reads (status, stage durations, metrics with intervals,
 * gates, data fingerprints and rejected rows, package and registry version); `--json` keeps the whole
 * record for scripts.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openArtifactStore } from '../../src/stores/artifacts/index.js';
import type { RunRecord, TrialRecord } from '../../src/stores/metadata/index.js';
import { runKiln, smallProject, tempDir, trainOutput, writeProject } from './harness.js';

type Recorded = RunRecord & { trials: TrialRecord[] };

interface Metrics {
  headline: string;
  cv: Record<string, number>;
  cvStd: Record<string, number>;
  oof: Record<string, number>;
  intervals: Record<string, { lower: number; upper: number; level: number }>;
  gates: { gate: string; metric: string; value: number; passed: boolean }[];
}

/** Two rows the schema refuses: a label outside 0..1 and a non-numeric deposit. */
const breakTwoRows = (lines: string[]) =>
  lines.map((line, i) =>
    i === 5 ? line.replace(/,[^,]*$/, ',7') : i === 9 ? line.replace(/^[^,]*,/, 'abc,') : line,
  );

async function trainProject(dir: string): Promise<string> {
  const trained = await runKiln(['train', dir]);
  expect([0, 1]).toContain(trained.code);
  return trainOutput(trained.stdout).runId;
}

async function show(dir: string, runId: string) {
  const summary = await runKiln(['runs', 'show', runId, '--project', dir], { json: false });
  expect(summary.stderr).toBe('');
  expect(summary.code).toBe(0);
  const dump = await runKiln(['runs', 'show', runId, '--project', dir, '--json'], { json: false });
  expect(dump.code).toBe(0);
  return { text: summary.stdout, record: JSON.parse(dump.stdout) as Recorded };
}

describe('kiln runs show: a passing run', () => {
  const dir = tempDir();
  let csv: string;
  let text: string;
  let record: Recorded;
  let metrics: Metrics;

  beforeAll(async () => {
    ({ csv } = await writeProject(dir, {
      project: smallProject({ registry: { alias: 'champion' } }),
      edit: breakTwoRows,
    }));
    const runId = await trainProject(dir);
    ({ text, record } = await show(dir, runId.slice(0, 8)));
    metrics = record.metrics as unknown as Metrics;
  });

  it('prints a summary, not the record; --json prints the record with its trials', () => {
    expect(text.trimStart().startsWith('{')).toBe(false);
    expect(text.split('\n').length).toBeLessThan(80);
    expect(record.trials).toHaveLength(1);
    expect(record.config).toBeDefined();
    expect(text).toContain(`kiln runs show ${record.id} --json`);
  });

  it('says what ran and how it ended', () => {
    expect(text).toMatch(new RegExp(`^run\\s+${record.id}$`, 'm'));
    expect(text).toMatch(new RegExp(`^project\\s+${record.project} \\(train, seed 0\\)$`, 'm'));
    expect(text).toMatch(/^status\s+succeeded$/m);
    expect(text).toMatch(/^finished\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(\d+\.\d s\)$/m);
  });

  it('lists the seconds of every stage, in the order they ran', () => {
    const stages = Object.keys(record.durations);
    expect(stages).toEqual(expect.arrayContaining(['load', 'cross_validate', 'fit', 'package', 'register']));
    const printed = [...text.matchAll(/^(\w+) +(\d+\.\d{3})$/gm)].map((m) => m[1]);
    expect(printed).toEqual(stages);
    for (const stage of stages)
      expect(text).toMatch(new RegExp(`^${stage} +${record.durations[stage].toFixed(3)}$`, 'm'));
  });

  it('prints the metrics with their fold spread and the bootstrap interval of the headline', () => {
    const f = (x: number) => x.toFixed(4);
    const { oof, cv, cvStd, intervals } = metrics;
    const ci = intervals.roc_auc;
    expect(text).toMatch(/^metric +value +folds mean ± std +95% CI$/m);
    const headline = `^roc_auc \\* +${f(oof.roc_auc)} +${f(cv.roc_auc)} ± ${f(cvStd.roc_auc)} +\\[${f(ci.lower)}, ${f(ci.upper)}\\]$`;
    expect(text).toMatch(new RegExp(headline, 'm'));
    for (const name of Object.keys(oof))
      expect(text).toMatch(new RegExp(`^${name}( \\*)? +${f(oof[name])} `, 'm'));
  });

  it('prints the gates', () => {
    const [gate] = metrics.gates;
    expect(text).toContain('Gates: all 1 passed');
    expect(text).toContain(`PASS  roc_auc >= 0.55  (roc_auc = ${gate.value.toFixed(4)})`);
  });

  it('prints the data fingerprint, the rows rejected and the file that holds them', () => {
    const sha256 = createHash('sha256').update(readFileSync(csv)).digest('hex');
    expect(text).toMatch(
      new RegExp(`^train +2,000 +1,998 +2 +[\\d,]+ +${sha256} +${csv.replaceAll('.', '\\.')}$`, 'm'),
    );
    const rejects = /^rejected train rows: (.+)$/m.exec(text)?.[1];
    expect(rejects).toBe(path.join(dir, '.kiln', 'runs', record.id, 'rejects.csv'));
    expect(readFileSync(rejects!, 'utf8').trim().split('\n')).toHaveLength(3); // header + 2 rows
  });

  it('prints where the package is, every location one that exists, and its registry version', async () => {
    const local = /^ {2}folder +(.+)$/m.exec(text)?.[1];
    expect(local).toBe(path.join(dir, '.kiln', 'runs', record.id, 'package'));
    expect(existsSync(path.join(local!, 'manifest.json'))).toBe(true);
    const stored = /^ {2}stored +(packages\/[0-9a-f]{64}) in the artifact store (\S+)$/m.exec(text);
    expect(stored).not.toBeNull();
    const store = openArtifactStore(stored![2], dir);
    expect(await store.stat(`${stored![1]}/manifest.json`)).toBeDefined();
    await store.close();
    expect(text).toMatch(new RegExp(`^ {2}registry +${record.project} version 1 \\(@champion\\)$`, 'm'));
  });
});

describe('kiln runs show: a run whose gate failed', () => {
  it('shows the failed gate and that the package was not registered', async () => {
    const dir = tempDir();
    await writeProject(dir, { project: smallProject({ gates: ['roc_auc >= 0.99'] }) });
    const { text } = await show(dir, await trainProject(dir));
    expect(text).toMatch(/^status\s+gate_failed$/m);
    expect(text).toContain('Gates: 1 of 1 FAILED');
    expect(text).toMatch(/FAIL {2}roc_auc >= 0\.99/);
    expect(text).toMatch(/^ {2}registry +not registered$/m);
    expect(text).not.toContain('rejected train rows');
  });
});
