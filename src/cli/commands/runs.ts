import { Command } from 'commander';
import { loadProject } from '../../config/load.js';
import {
  NotFoundError,
  openMetadataStore,
  RunFinishedError,
  type RunRecord,
} from '../../stores/metadata/index.js';
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
    .description('Everything recorded about one run (id or unique prefix).')
    .argument('<id>')
    .option('--project <dir>', 'project whose metadata store to read', '.')
    .action(async (id: string, options: { project: string }) => {
      await withStore(options.project, async (store) => {
        const run = await store.getRun(id);
        if (!run) throw new UserError(`no run "${id}"`);
        const trials = await store.listTrials(run.id);
        process.stdout.write(`${JSON.stringify({ ...run, trials }, null, 2)}\n`);
      });
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
