import { Command } from 'commander';
import { loadProject } from '../../config/load.js';
import { type TrainResult, trainProject } from '../../training/train.js';
import { EXIT_FAILED } from '../errors.js';
import { positiveInteger, progressFor } from './shared.js';

export function trainCommand(): Command {
  return new Command('train')
    .description(
      'Load and validate data, cross-validate (with the configured search), fit, package and report a project.',
    )
    .argument('<project>', 'project folder holding kiln.config.ts (or kiln.yaml), or the config file itself')
    .option('--seed <n>', "override the project's seed", positiveInteger('--seed'))
    .option('--no-search', 'train with the base params only, skipping the search space')
    .addHelpText(
      'after',
      `
Writes the run folder locally (<project>/.kiln/runs/<run id>/, or under KILN_LOCAL_DIR) and publishes it
to the artifact store under runs/<run id>/:
  package/        the model package (manifest.json, weights.safetensors, model.onnx)
  report.html     metrics, confusion matrix, ROC and PR curves, gates, search trials
  rejects.csv     rows refused by the schema, with one reason each (only if any)
When every gate passes (registry.register: on_pass, the default), the package is registered as the next
version of the project's model (see \`kiln models\`), and registry.alias, if set, is moved to it.
The run is recorded in the metadata store (see \`kiln runs\`). Exit code 1 if a gate fails.`,
    )
    .action(async (projectPath: string, options: { seed?: number; search: boolean }, command: Command) => {
      const progress = progressFor(command);
      const loaded = await loadProject(projectPath);
      const result = await trainProject(loaded, { progress, seed: options.seed, noSearch: !options.search });
      progress.close();
      process.stdout.write(`${result.summary}\n`);
      process.stdout.write(`${trainOutcome(result)}\n`);
      if (!result.passed) {
        process.stderr.write(
          'kiln: quality gates failed; the package is kept for inspection but should not be promoted\n',
        );
        process.exitCode = EXIT_FAILED;
      }
    });
}

/**
 * What the run wrote and where, every path one that exists on this machine: the run, what was read
 * (with the rejected rows and their file, so a quarantine is seen even with --quiet), the local
 * package and report, and the registry version the package became.
 */
function trainOutcome(result: TrainResult): string {
  const lines = [`run:      ${result.run.id}`];
  for (const input of result.report.data) {
    lines.push(
      `data:     ${input.rowsRead} rows read, ${input.rowsAccepted} accepted, ${input.rowsRejected} rejected from ${input.name}`,
    );
    if (input.rejectsPath) lines.push(`rejects:  ${input.rejectsPath}`);
  }
  if (result.packageDir) lines.push(`package:  ${result.packageDir}`);
  lines.push(`report:   ${result.reportPath}`);
  const version = result.registered;
  // The registry's copy sits in the artifact store under its digest; the reference reaches it
  // (`kiln models show`, `kiln serve --model`), and its files are those of the package above.
  if (version) {
    const aliases = version.aliases.length ? ` (@${version.aliases.join(', @')})` : '';
    lines.push(
      `model:    ${version.name} version ${version.version}${aliases}, registered from the package above (kiln models show ${version.name}@${version.version})`,
    );
  }
  return lines.join('\n');
}
