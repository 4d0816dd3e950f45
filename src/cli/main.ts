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
    .addOption(
      new Option(
        '--json',
        'log JSON lines on stderr (default when stderr is not a terminal); `runs show` prints the whole record as JSON',
      ),
    )
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
    rejectHelpForUnknownCommand(program, argv.slice(2));
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

const isHelpFlag = (word: string) => word === '-h' || word === '--help';

/**
 * Commander answers a help request before it checks that the command exists: `kiln monitor run --help`
 * and `kiln help monitor` printed the root help and exited 0, as if `monitor` were a command. When help
 * is asked for a command path that names no command, this reports the unknown command (exit 2).
 * It reads the arguments as commander does, and stops where it could not tell.
 */
function rejectHelpForUnknownCommand(program: Command, args: string[]): void {
  const end = args.indexOf('--');
  const words = end < 0 ? args : args.slice(0, end);
  const helpFlag = words.some(isHelpFlag);
  let command = program;
  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    if (isHelpFlag(word)) continue;
    if (word.startsWith('-')) {
      const [flag] = word.split('=');
      // Commander reads the options of a command and of its parents anywhere after them.
      const option = lineage(command)
        .flatMap((c) => c.options)
        .find((o) => o.long === flag || o.short === flag);
      // Commander reads every word after an unknown option as unknown too: no command path beyond it.
      if (!option) return;
      const takesNext = option.required || (option.optional && !words[i + 1]?.startsWith('-'));
      if (takesNext && !word.includes('=')) i++;
      continue;
    }
    // A command without subcommands: the words that follow are its arguments.
    if (command.commands.length === 0) return;
    const sub = subcommand(command, word);
    if (sub) {
      command = sub;
      continue;
    }
    if (word === 'help') {
      // The implicit `help [command]` of a command with subcommands.
      const topic = words[i + 1];
      if (topic !== undefined && !topic.startsWith('-') && !subcommand(command, topic))
        unknownCommand(command, topic);
      return;
    }
    if (helpFlag) unknownCommand(command, word);
    return;
  }
}

function lineage(command: Command): Command[] {
  return command.parent ? [command, ...lineage(command.parent)] : [command];
}

function subcommand(command: Command, name: string): Command | undefined {
  return command.commands.find((c) => c.name() === name || c.aliases().includes(name));
}

function unknownCommand(parent: Command, name: string): never {
  const path = lineage(parent)
    .map((c) => c.name())
    .reverse()
    .join(' ');
  const known = parent.commands.map((c) => c.name()).join(', ');
  return parent.error(`error: unknown command '${name}' (the commands of ${path}: ${known})`, {
    code: 'commander.unknownCommand',
    exitCode: EXIT_USAGE,
  });
}
