import { Command, CommanderError, Option } from 'commander';
import { kilnVersion } from '../util/provenance.js';
import { doctorCommand } from './commands/doctor.js';
import { evaluateCommand } from './commands/evaluate.js';
import { eventsCommand } from './commands/events.js';
import { importCommand } from './commands/import.js';
import { modelsCommand } from './commands/models.js';
import { predictCommand } from './commands/predict.js';
import { quickstartCommand } from './commands/quickstart.js';
import { runsCommand } from './commands/runs.js';
import { schemaCommand } from './commands/schema.js';
import { serveCommand } from './commands/serve.js';
import { trainCommand } from './commands/train.js';
import { EXIT_FAILED, EXIT_USAGE, UserError } from './errors.js';

export function buildProgram(): Command {
  const program = new Command('kiln')
    .description(
      'Kiln: from a notebook model to an evaluated, versioned model package and a production service.',
    )
    .version(kilnVersion())
    .addOption(new Option('--json', 'log JSON lines on stderr (default when stderr is not a terminal)'))
    .addOption(new Option('--quiet', 'no progress output'))
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Exit codes: 0 success, 1 invalid data/config or a failed quality gate, 2 usage error.

Examples:
  kiln quickstart                              generate data, train, package and score a demo model
  kiln train examples/customer-risk            cross-validate, fit, package and report a project
  kiln predict --model <package> --input in.csv --output out.csv
  kiln runs list --project examples/customer-risk`,
    );
  program.addCommand(trainCommand());
  program.addCommand(evaluateCommand());
  program.addCommand(predictCommand());
  program.addCommand(runsCommand());
  program.addCommand(schemaCommand());
  program.addCommand(importCommand());
  program.addCommand(modelsCommand());
  program.addCommand(eventsCommand());
  program.addCommand(doctorCommand());
  program.addCommand(serveCommand());
  program.addCommand(quickstartCommand());
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  // Commander exits the process on usage errors unless told otherwise, at every level of the tree.
  const overrideExit = (command: Command): void => {
    command.exitOverride();
    command.commands.forEach(overrideExit);
  };
  overrideExit(program);
  process.exitCode = undefined;
  try {
    await program.parseAsync(argv);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version end "with an error" in commander; they are successes here.
      if (
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        error.code === 'commander.help'
      )
        return 0;
      return EXIT_USAGE;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`kiln: ${message}\n`);
    if (!(error instanceof UserError) && process.env.KILN_DEBUG && error instanceof Error)
      process.stderr.write(`${error.stack}\n`);
    return error instanceof UserError ? error.exitCode : EXIT_FAILED;
  }
}
