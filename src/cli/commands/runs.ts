import { existsSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { loadProject } from '../../config/load.js';
import type { BootstrapInterval, GateResult } from '../../evaluation/index.js';
import { formatCount, formatNumber, orderedMetricNames } from '../../evaluation/report/format.js';
import { type Backends, openProjectBackends } from '../../registry/index.js';
import { artifactLocation } from '../../stores/artifacts/index.js';
import {
  type ModelVersion,
  NotFoundError,
  openMetadataStore,
  RunFinishedError,
  type RunRecord,
} from '../../stores/metadata/index.js';
import { STAGES } from '../../training/stage.js';
import { UserError } from '../errors.js';
import { table } from './backends.js';
import { positiveInteger } from './shared.js';

export function runsCommand(): Command {
  const runs = new Command('runs').description('List and inspect recorded runs.');
  runs
    .command('list')
    .description('Recent runs, newest first.')
    .addHelpText(
      'after',
      `
Status is running, succeeded, failed, gate_failed or abandoned. While a run trains, its process records
a heartbeat every KILN_RUN_HEARTBEAT_SECONDS seconds (default 15). A run still marked running whose last
heartbeat (or its start, if it never beat) is older than 4 heartbeat intervals of that process is shown
as abandoned: its process was killed or its machine stopped. Close such a run with \`kiln runs fail <id> --reason <text>\`.`,
    )
    .option('--project <dir>', 'project whose metadata store to read', '.')
    .option('--limit <n>', 'how many runs', positiveInteger('--limit'), 20)
    .option('--format <format>', 'table or json', 'table')
    .action(async (options: { project: string; limit: number; format: string }) => {
      await withStore(options.project, async (store, projectName) => {
        const list = await store.listRuns({ project: projectName, limit: options.limit });
        if (options.format === 'json') return void process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
        if (list.length === 0) return void process.stdout.write(`no runs recorded for ${projectName}\n`);
        const rows = list.map((r) => [
          r.id.slice(0, 8),
          r.kind,
          r.status,
          r.startedAt.replace('T', ' ').slice(0, 19),
          headline(r),
          durationOf(r),
        ]);
        process.stdout.write(table(['run', 'kind', 'status', 'started (UTC)', 'headline', 'seconds'], rows));
      });
    });
  runs
    .command('show')
    .description(
      'One run (id or unique prefix): status, stage durations, metrics with intervals, gates, data, package and registry version.',
    )
    .argument('<id>')
    .option('--project <dir>', 'project whose metadata store to read', '.')
    .addHelpText(
      'after',
      `
With kiln's --json flag (\`kiln runs show <id> --json\`), prints everything recorded instead, as JSON:
the config, dependency versions, params, every metric, warnings and the search trials.`,
    )
    .action(async (id: string, options: { project: string }, command: Command) => {
      const { json } = command.optsWithGlobals<{ json?: boolean }>();
      const loaded = await loadProject(options.project);
      const backends = openProjectBackends(loaded);
      try {
        const run = await backends.store.getRun(id);
        if (!run) throw new UserError(`no run "${id}"`);
        if (json) {
          const trials = await backends.store.listTrials(run.id);
          return void process.stdout.write(`${JSON.stringify({ ...run, trials }, null, 2)}\n`);
        }
        process.stdout.write(await runSummary(run, backends));
      } finally {
        await backends.close();
      }
    });
  runs
    .command('fail')
    .description('Close a running or abandoned run by hand: status failed, the reason as its error.')
    .argument('<id>', 'run id or unique prefix')
    .requiredOption('--reason <text>', 'why the run is being closed (recorded as its error)')
    .option('--project <dir>', 'project whose metadata store to use', '.')
    .action(async (id: string, options: { reason: string; project: string }) => {
      await withStore(options.project, async (store) => {
        const run = await store.getRun(id);
        if (!run) throw new UserError(`no run "${id}"`);
        try {
          const failed = await store.failRun(run.id, options.reason);
          process.stdout.write(`run ${failed.id} failed (was ${run.status}): ${failed.error}\n`);
        } catch (error) {
          if (error instanceof RunFinishedError || error instanceof NotFoundError)
            throw new UserError(error.message);
          throw error;
        }
      });
    });
  return runs;
}

async function withStore(
  projectPath: string,
  work: (store: ReturnType<typeof openMetadataStore>, project: string) => Promise<void>,
) {
  const { project, dir } = await loadProject(projectPath);
  const store = openMetadataStore(project.stores.metadata, dir);
  try {
    await work(store, project.name);
  } finally {
    await store.close();
  }
}

function headline(run: RunRecord): string {
  const metrics = run.metrics as {
    headline?: string;
    cv?: Record<string, number>;
    test?: Record<string, number>;
  };
  if (!metrics.headline) return '';
  const value = (metrics.test ?? metrics.cv)?.[metrics.headline];
  return value === undefined ? '' : `${metrics.headline}=${value.toFixed(4)}`;
}

function durationOf(run: RunRecord): string {
  if (!run.finishedAt) return '';
  return ((Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000).toFixed(1);
}

interface RecordedMetrics {
  headline?: string;
  cv?: Record<string, number>;
  cvStd?: Record<string, number>;
  oof?: Record<string, number>;
  intervals?: Record<string, BootstrapInterval>;
  test?: Record<string, number> | null;
  gates?: GateResult[];
}

/**
 * A run as a person reads it: what ran and how it ended, where the time went, the metrics with their
 * intervals, the gates, the data it read, and where its package is (a local folder that exists, the
 * artifact-store key, the registry version). `--json` has everything else.
 */
async function runSummary(run: RunRecord, backends: Backends): Promise<string> {
  const metrics = run.metrics as RecordedMetrics;
  const runDir = path.join(backends.localDir, 'runs', run.id);
  const sections = [
    overviewLines(run),
    durationLines(run),
    metricLines(metrics),
    gateLines(metrics.gates),
    dataLines(run, runDir, backends),
    await packageLines(run, runDir, backends),
    run.warnings.map((w) => `warning: ${w}`),
    [`Everything recorded (config, dependencies, params, trials): kiln runs show ${run.id} --json`],
  ];
  return `${sections
    .filter((lines) => lines.length > 0)
    .map((lines) => lines.join('\n'))
    .join('\n\n')}\n`;
}

/** A recorded number; NaN was stored as JSON null. */
const num = (value: number | null | undefined) => formatNumber(value ?? undefined);

const utc = (iso: string) => `${iso.replace('T', ' ').slice(0, 19)} UTC`;

function overviewLines(run: RunRecord): string[] {
  const lines = [
    `run       ${run.id}`,
    `project   ${run.project} (${run.kind}, seed ${run.seed})`,
    `status    ${run.status}`,
    `started   ${utc(run.startedAt)}`,
  ];
  if (run.finishedAt) lines.push(`finished  ${utc(run.finishedAt)} (${durationOf(run)} s)`);
  else if (run.heartbeatAt) lines.push(`alive at  ${utc(run.heartbeatAt)} (last heartbeat)`);
  lines.push(`code      ${run.codeVersion}`);
  if (run.error) lines.push(`error     ${run.error}`);
  return lines;
}

/** Seconds per stage in the order they run; the stage a failed run stopped in is the last one. */
function durationLines(run: RunRecord): string[] {
  const names = Object.keys(run.durations);
  if (names.length === 0) return [];
  const ordered = [
    ...STAGES.filter((s) => names.includes(s)),
    ...names.filter((n) => !(STAGES as readonly string[]).includes(n)),
  ];
  return columns(
    ['stage', 'seconds'],
    ordered.map((name) => [name, run.durations[name].toFixed(3)]),
    (column) => column === 1,
  );
}

function metricLines(m: RecordedMetrics): string[] {
  const values = m.test ?? m.oof ?? m.cv;
  if (!values || Object.keys(values).length === 0) return [];
  const intervals = Object.values(m.intervals ?? {});
  const level = intervals.length ? `${Math.round(intervals[0].level * 100)}% CI` : 'CI';
  const rows = orderedMetricNames(values).map((name) => {
    const ci = m.intervals?.[name];
    const mean = m.cv?.[name];
    return [
      name === m.headline ? `${name} *` : name,
      num(values[name]),
      mean === undefined ? '' : `${num(mean)} ± ${num(m.cvStd?.[name])}`,
      ci ? `[${formatNumber(ci.lower)}, ${formatNumber(ci.upper)}]` : '',
    ];
  });
  return [
    `Metrics (value: ${m.test ? 'the test set' : 'pooled out-of-fold predictions'}; folds: mean ± std over the cross-validation folds)`,
    ...columns(['metric', 'value', 'folds mean ± std', level], rows, (column) => column > 0),
    '(* headline metric)',
  ];
}

function gateLines(gates: GateResult[] | undefined): string[] {
  if (!gates) return [];
  if (gates.length === 0) return ['Gates: none configured'];
  const failed = gates.filter((g) => !g.passed).length;
  return [
    failed === 0 ? `Gates: all ${gates.length} passed` : `Gates: ${failed} of ${gates.length} FAILED`,
    ...gates.map(
      (g) =>
        `  ${g.passed ? 'PASS' : 'FAIL'}  ${g.gate}  (${g.metric} = ${num(g.value)})${g.reason ? ` — ${g.reason}` : ''}`,
    ),
  ];
}

/** Each file read with its fingerprint and row counts, and where the rejected rows are. */
function dataLines(run: RunRecord, runDir: string, backends: Backends): string[] {
  if (run.data.length === 0) return [];
  const lines = [
    'Data',
    ...columns(
      ['role', 'read', 'accepted', 'rejected', 'bytes', 'sha256', 'path'],
      run.data.map((d) => [
        d.role,
        formatCount(d.rowsRead),
        formatCount(d.rowsAccepted),
        formatCount(d.rowsRejected),
        formatCount(d.bytes),
        d.sha256,
        d.path,
      ]),
      (column) => column >= 1 && column <= 4,
    ),
  ];
  // The names the load stage gives the rejects files in the run folder (training/stages/load.ts).
  for (const [role, file] of [
    ['train', 'rejects.csv'],
    ['test', 'test-rejects.csv'],
  ]) {
    if (!run.data.some((d) => d.role === role && d.rowsRejected > 0)) continue;
    const local = path.join(runDir, file);
    if (existsSync(local)) lines.push(`rejected ${role} rows: ${local}`);
    else if (published(run))
      lines.push(
        `rejected ${role} rows: runs/${run.id}/${file} in the artifact store ${artifactLocation(backends.artifacts)}`,
      );
  }
  return lines;
}

/** The run folder is published at the end of a run that reached its gates. */
const published = (run: RunRecord) => run.status === 'succeeded' || run.status === 'gate_failed';

async function packageLines(run: RunRecord, runDir: string, backends: Backends): Promise<string[]> {
  if (!run.packageUri) return [];
  const lines = ['Package'];
  const local = path.join(runDir, 'package');
  if (existsSync(local)) lines.push(`  folder    ${local}`);
  // A store URI is not a path (a local store keeps its objects in a folder of its own): name the key.
  const root = `${artifactLocation(backends.artifacts)}/`;
  lines.push(
    run.packageUri.startsWith(root)
      ? `  stored    ${run.packageUri.slice(root.length)} in the artifact store ${root.slice(0, -1)}`
      : `  stored    ${run.packageUri}`,
  );
  const versions = await versionsOf(run, backends);
  const named = versions.map(
    (v) => `${v.name} version ${v.version}${v.aliases.length ? ` (@${v.aliases.join(', @')})` : ''}`,
  );
  lines.push(`  registry  ${named.length ? named.join('; ') : 'not registered'}`);
  return lines;
}

/** The registry versions holding this run's package (the same package registered again is one version). */
async function versionsOf(run: RunRecord, backends: Backends): Promise<ModelVersion[]> {
  const found: ModelVersion[] = [];
  for (const model of await backends.store.listModels())
    for (const version of await backends.store.listVersions(model.name))
      if (version.packageUri === run.packageUri) found.push(version);
  return found;
}

/** Fixed-width columns, right-aligned where `right` says (numbers). */
function columns(header: string[], rows: string[][], right: (column: number) => boolean): string[] {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => r[c].length)));
  return all.map((r) =>
    r
      .map((cell, c) => (right(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join('  ')
      .trimEnd(),
  );
}
