import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { type LoadedProject, loadProject } from '../../config/load.js';
import { writeCustomerRiskLikeCsv } from '../../quickstart/customer-risk-data.js';
import { quickstartProject } from '../../quickstart/project.js';
import { defaultActor, openProjectBackends } from '../../registry/index.js';
import { batchPredict } from '../../scoring/batch.js';
import type { ModelVersion } from '../../stores/metadata/index.js';
import { trainProject } from '../../training/train.js';
import type { Progress } from '../../util/progress.js';
import { EXIT_FAILED } from '../errors.js';
import { progressFor } from './shared.js';

export function quickstartCommand(): Command {
  return new Command('quickstart')
    .description(
      'Generate a seeded customer-risk-like data set; train, evaluate, package and register it; serve it from the registry and show a prediction; score a file of prospects.',
    )
    .option('--dir <dir>', 'folder for the generated project, its data and its runs', 'kiln-quickstart')
    .addHelpText('after', '\nAfterwards, edit <dir>/kiln.config.ts and run `kiln train <dir>` again.')
    .action(async (options: { dir: string }, command: Command) => {
      const progress = progressFor(command);
      const dir = path.resolve(options.dir);
      mkdirSync(path.join(dir, 'data'), { recursive: true });
      const configFile = path.join(dir, 'kiln.config.ts');
      if (!existsSync(configFile)) {
        writeFileSync(
          configFile,
          `import { defineProject } from 'kiln';\n\nexport default defineProject(${JSON.stringify(quickstartProject, null, 2)});\n`,
        );
      }
      progress.stage('generate data', { dir });
      await writeCustomerRiskLikeCsv(path.join(dir, 'data', 'customers.csv'), 10_000, 0);
      await writeCustomerRiskLikeCsv(path.join(dir, 'data', 'prospects.csv'), 1_000, 1);

      const loaded = await loadProject(dir);
      const result = await trainProject(loaded, { progress });
      process.stdout.write(`${result.summary}\n`);
      if (!result.packageDir) return;
      const served = result.registered ? await serveOnce(loaded, result.registered, progress) : undefined;

      const output = path.join(dir, 'predictions.csv');
      const scored = await batchPredict({
        modelDir: result.packageDir,
        input: path.join(dir, 'data', 'prospects.csv'),
        output,
        sort: 'desc',
        progress,
      });
      progress.close();
      const preview = readFileSync(output, 'utf8').split('\n').slice(0, 6).join('\n');
      if (served) process.stdout.write(`\n${served}\n`);
      const name = result.registered?.name ?? loaded.project.name;
      process.stdout.write(
        `\nScored ${scored.rowsScored} prospects, highest risk first (${output}):\n${preview}\n\n` +
          `run:      ${result.run.id}\npackage:  ${result.packageDir}\nreport:   ${result.reportPath}\n` +
          (result.registered ? `model:    ${name} version ${result.registered.version} (@champion)\n` : '') +
          `next:     npx kiln serve --project ${options.dir} --model ${name}@champion   |   npx kiln models versions ${name} --project ${options.dir}\n`,
      );
      if (!result.passed) process.exitCode = EXIT_FAILED;
    });
}

/**
 * Points @champion at the new version when nothing holds it yet, serves `name@champion` on a free
 * loopback port, sends one prediction over HTTP and returns what happened, request and answer.
 */
async function serveOnce(loaded: LoadedProject, version: ModelVersion, progress: Progress): Promise<string> {
  const backends = openProjectBackends(loaded, (message) => progress.warn(message));
  try {
    const { registry } = backends;
    const champion = await backends.store.resolveAlias(version.name, 'champion');
    if (!champion)
      await registry.moveAlias(
        { name: version.name, alias: 'champion', version: version.version, expected: null },
        { actor: defaultActor(), reason: 'quickstart: first version' },
      );
    progress.stage('serve', { model: `${version.name}@champion` });
    // Heavy: see serve.ts.
    const { buildServer } = await import('../../serving/server/app.js');
    const { RegistrySource } = await import('../../serving/server/sources.js');
    const app = buildServer({ sources: [new RegistrySource(registry, `${version.name}@champion`)] });
    try {
      await app.kiln.ready;
      const base = await app.listen({ host: '127.0.0.1', port: 0 });
      const record = { deposits: 120, withdrawals: 80, stakes: 300, product: 'gaming', age: '<30' };
      const url = `${base}/v1/models/${version.name}/predict`;
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(record),
      });
      const answer = await response.json();
      return (
        `Served ${version.name}@champion (version ${app.kiln.models.get(version.name)?.model.version}) and asked it over HTTP:\n` +
        `POST ${url}\n${JSON.stringify(record)}\n→ ${response.status} ${JSON.stringify(answer)}`
      );
    } finally {
      await app.close();
    }
  } finally {
    await backends.close();
  }
}
