import { Command } from 'commander';
import { loadProject } from '../../config/load.js';
import { trainProject } from '../../training/train.js';
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
      process.stdout.write(
        `run:      ${result.run.id}\npackage:  ${result.packageDir}\nreport:   ${result.reportPath}\n` +
          (result.registered
            ? `model:    ${result.registered.name} version ${result.registered.version}${result.registered.aliases.length ? ` (@${result.registered.aliases.join(', @')})` : ''} at ${result.registered.packageUri}\n`
            : ''),
      );
      if (!result.passed) {
        process.stderr.write(
          'kiln: quality gates failed; the package is kept for inspection but should not be promoted\n',
        );
        process.exitCode = EXIT_FAILED;
      }
    });
}
