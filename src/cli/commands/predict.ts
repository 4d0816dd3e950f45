import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { loadPackage } from '../../packaging/load.js';
import { batchPredict, parseFilter, type RowFilter } from '../../scoring/batch.js';
import { KeepColumnsError, parseKeep } from '../../scoring/input-columns.js';
import {
  DEFAULT_BATCH_SIZE,
  DEFAULT_CONCURRENCY,
  keepLabelsOnly,
  RemoteScoringError,
  remotePredict,
} from '../../scoring/remote-batch.js';
import { EXIT_USAGE, UserError } from '../errors.js';
import { progressFor } from './shared.js';

interface PredictOptions {
  model: string;
  input: string;
  output: string;
  server?: string;
  rejects?: string;
  sort?: 'desc' | 'asc';
  where: RowFilter[];
  keep: string[];
  labelsOnly?: boolean;
  allowModified?: boolean;
  targetColumn?: string;
  batchSize?: number;
  concurrency?: number;
}

export function predictCommand(): Command {
  return new Command('predict')
    .description(
      'Score a CSV or Parquet file with a model package (local), or through a running `kiln serve` (--server).',
    )
    .requiredOption(
      '--model <dir>',
      'model package folder (holds manifest.json); with --server: the name of a model it serves',
    )
    .requiredOption('--input <file>', 'rows to score (.csv, .tsv or .parquet)')
    .requiredOption(
      '--output <file>',
      'CSV to write: id (or source line), the --keep columns, then label and p_<class> per class (classification), prediction (regression) or e_0..e_<d-1> (embeddings)',
    )
    .option(
      '--server <url>',
      'score through this kiln serve, e.g. http://127.0.0.1:4002 (POST /v1/models/<name>/predict)',
    )
    .option('--rejects <file>', 'where refused rows go with one reason each (default <output>.rejects.csv)')
    .addOption(
      new Option(
        '--sort <order>',
        'sort rows by the positive class probability (classification) or the prediction (regression)',
      ).choices(['desc', 'asc']),
    )
    .option(
      '--where <filter>',
      'score only rows matching column=value or column!=value (repeatable; local mode)',
      collect,
      [],
    )
    .option(
      '--keep <columns>',
      'input columns to carry into the output after the id, e.g. --keep customer_id,name (repeatable)',
      (value: string, previous: string[]) => [...previous, value],
      [],
    )
    .option(
      '--allow-modified',
      'use a package whose files no longer match the digests its manifest records (edited by hand), with a warning',
    )
    .option(
      '--labels-only',
      'write only the id and the predicted label (or value) columns (e.g. ID,intention)',
    )
    .option(
      '--target-column <name>',
      'header of the label column with --labels-only (default: the model’s target column, else "label")',
    )
    .option(
      '--batch-size <n>',
      `with --server: records per request (default ${DEFAULT_BATCH_SIZE})`,
      atLeastOne('--batch-size'),
    )
    .option(
      '--concurrency <n>',
      `with --server: requests in flight at once (default ${DEFAULT_CONCURRENCY})`,
      atLeastOne('--concurrency'),
    )
    .addHelpText(
      'after',
      `
Local mode (--model <package folder>) streams the file through the package's frozen pipeline in this
process. Remote mode (--server <url> --model <name>) reads and validates the file here against the
signature the server publishes (GET /v1/models/<name>), sends the rows in batches of named records to
POST <url>/v1/models/<name>/predict with a few requests in flight, and writes the same CSV in input
order; the server decides the version (e.g. the one its name@alias points at). Rows the signature
refuses go to the rejects file; a batch the server refuses stops the run with its reasons and the
input lines. KILN_API_KEY is sent as a bearer token when set.

The first column is the model's id column (data.id in its project), else "line", the input line
number. --keep copies input columns next to it, as the file has them (columns the model does not read
included); a column the file does not have is an error naming it.

--labels-only writes "<id>,<kept columns>,<target>": the predicted label under --target-column, else
the target column the model reports, else "label".

Examples:
  kiln predict --model pkg --input prospects.csv --output ranked.csv --sort desc --where bought_toon=false \\
    --keep name,email
  kiln predict --server http://127.0.0.1:4002 --model intent-posos --input test.csv \\
    --output predictions.csv --labels-only`,
    )
    .action(async (options: PredictOptions, command: Command) => {
      try {
        if (options.server) await predictRemote(options, command);
        else await predictLocal(options, command);
      } catch (error) {
        // A --keep the file cannot satisfy is a usage error, like an unknown flag value.
        if (error instanceof KeepColumnsError) throw new UserError(error.message, EXIT_USAGE);
        throw error;
      }
    });
}

async function predictLocal(options: PredictOptions, command: Command): Promise<void> {
  for (const flag of ['batchSize', 'concurrency'] as const)
    if (options[flag] !== undefined)
      throw new UserError(
        `--${flag === 'batchSize' ? 'batch-size' : 'concurrency'} needs --server`,
        EXIT_USAGE,
      );
  if (options.targetColumn !== undefined && !options.labelsOnly)
    throw new UserError('--target-column goes with --labels-only', EXIT_USAGE);
  // Labels only: the full file is written beside the output, then reduced to its first two columns.
  const full = options.labelsOnly ? `${options.output}.full-${process.pid}.csv` : options.output;
  if (full !== options.output && path.resolve(options.output) === path.resolve(options.input))
    throw new UserError(`--output ${options.output} is the input file; choose another path`);
  const pkg = options.labelsOnly
    ? loadPackage(options.model, { allowModified: options.allowModified })
    : undefined;
  if (pkg?.task.name === 'embedding')
    throw new UserError('--labels-only: an embedding model predicts vectors, not labels', EXIT_USAGE);
  const progress = progressFor(command);
  try {
    const result = await batchPredict({
      modelDir: options.model,
      input: options.input,
      output: full,
      rejects: options.rejects ?? `${options.output}.rejects.csv`,
      sort: options.sort,
      where: options.where,
      keep: parseKeep(options.keep),
      allowModified: options.allowModified,
      progress,
    });
    if (pkg) {
      // Id and kept columns as written, then the label (or value) under the target's name.
      await keepLabelsOnly(full, options.output, [
        result.header[0],
        ...result.kept,
        options.targetColumn ?? pkg.manifest.output.target ?? 'label',
      ]);
    }
    progress.close();
    process.stdout.write(
      `read ${result.data.rowsRead} rows: scored ${result.rowsScored}, filtered out ${result.rowsFiltered}, rejected ${result.rowsRejected}\n` +
        unseenLine(result.unseen) +
        `output:   ${options.output}\n` +
        (result.rejectsPath ? `rejects:  ${result.rejectsPath}\n` : ''),
    );
  } finally {
    if (full !== options.output) await rm(full, { force: true });
  }
}

/** Values scored though unseen in training, by column (`unseen: 'error'` in the package refuses them). */
function unseenLine(unseen: Record<string, number>): string {
  const counts = Object.entries(unseen).map(([column, n]) => `${column} ${n}`);
  return counts.length > 0
    ? `unseen:   values not seen in training, scored anyway: ${counts.join(', ')}\n`
    : '';
}

async function predictRemote(options: PredictOptions, command: Command): Promise<void> {
  if (options.where.length > 0)
    throw new UserError('--where is not available with --server yet: filter the file first', EXIT_USAGE);
  if (options.targetColumn !== undefined && !options.labelsOnly)
    throw new UserError('--target-column goes with --labels-only', EXIT_USAGE);
  if (options.model.includes('/') || options.model.includes('@'))
    throw new UserError(
      `with --server, --model is the name of a model the server serves (e.g. intent-posos), not "${options.model}": the server decides the version`,
      EXIT_USAGE,
    );
  const progress = progressFor(command);
  try {
    const result = await remotePredict({
      server: options.server!,
      model: options.model,
      input: options.input,
      output: options.output,
      rejects: options.rejects,
      batchSize: options.batchSize,
      concurrency: options.concurrency,
      labelsOnly: options.labelsOnly,
      targetColumn: options.targetColumn,
      sort: options.sort,
      keep: parseKeep(options.keep),
      apiKey: process.env.KILN_API_KEY || undefined,
      progress,
    });
    progress.close();
    process.stdout.write(
      `read ${result.data.rowsRead} rows: scored ${result.rowsScored}, filtered out 0, rejected ${result.rowsRejected}\n` +
        `model:    ${result.model} version ${result.versions.join(', ') || '-'} at ${options.server} (${result.requests} requests)\n` +
        `output:   ${options.output} (${result.header.join(',')}${options.labelsOnly ? '' : ',...'})\n` +
        (result.rejectsPath ? `rejects:  ${result.rejectsPath}\n` : ''),
    );
  } catch (error) {
    progress.close();
    if (error instanceof RemoteScoringError) throw new UserError(error.message);
    throw error;
  }
}

function atLeastOne(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1)
      throw new InvalidArgumentError(`${name} must be a whole number ≥ 1, got "${value}"`);
    return n;
  };
}

function collect(value: string, previous: RowFilter[]): RowFilter[] {
  try {
    return [...previous, parseFilter(value)];
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}
