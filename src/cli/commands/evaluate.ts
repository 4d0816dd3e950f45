import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { loadProject } from '../../config/load.js';
import { renderHtmlReport, renderTerminalSummary } from '../../evaluation/index.js';
import { evaluatePackage } from '../../scoring/evaluate.js';
import { trainProject } from '../../training/train.js';
import { EXIT_FAILED, EXIT_USAGE, UserError } from '../errors.js';
import { positiveInteger, progressFor } from './shared.js';

export function evaluateCommand(): Command {
  return new Command('evaluate')
    .description(
      'Cross-validate a project without packaging it, or measure a model package on a labelled file.',
    )
    .argument('[project]', 'project folder: cross-validation, report and run record, no package')
    .option('--model <dir>', 'model package to measure (with --input)')
    .option('--input <file>', "labelled file holding the package's input columns and its target")
    .option(
      '--report <file>',
      'write an HTML report (package mode; project mode writes one in the run folder)',
    )
    .option('--seed <n>', 'seed for splits and the bootstrap', positiveInteger('--seed'))
    .option(
      '--allow-modified',
      'use a package whose files no longer match the digests its manifest records (edited by hand), with a warning',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  kiln evaluate examples/customer-risk\n  kiln evaluate --model pkg --input labelled.csv --report eval.html',
    )
    .action(
      async (
        projectPath: string | undefined,
        options: { model?: string; input?: string; report?: string; seed?: number; allowModified?: boolean },
        command: Command,
      ) => {
        const progress = progressFor(command);
        if (options.model || options.input) {
          if (!options.model || !options.input || projectPath)
            throw new UserError('package mode needs --model and --input, and no project', EXIT_USAGE);
          const evaluation = await evaluatePackage({
            modelDir: options.model,
            input: options.input,
            seed: options.seed,
            allowModified: options.allowModified,
            progress,
          });
          progress.close();
          process.stdout.write(`${renderTerminalSummary(evaluation.report)}\n`);
          if (options.report) {
            writeFileSync(options.report, renderHtmlReport(evaluation.report));
            process.stdout.write(`report:   ${options.report}\n`);
          }
          return;
        }
        if (!projectPath) throw new UserError('give a project folder, or --model and --input', EXIT_USAGE);
        const result = await trainProject(await loadProject(projectPath), {
          progress,
          seed: options.seed,
          evaluateOnly: true,
        });
        progress.close();
        process.stdout.write(
          `${result.summary}\nrun:      ${result.run.id}\nreport:   ${result.reportPath}\n`,
        );
        if (!result.passed) process.exitCode = EXIT_FAILED;
      },
    );
}
