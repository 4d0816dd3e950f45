import { Command, InvalidArgumentError } from 'commander';
import { inferColumns, MAX_CATEGORIES, MAX_CATEGORY_SHARE, renderSchema } from '../../data/infer.js';
import { positiveInteger } from './shared.js';

export function schemaCommand(): Command {
  const schema = new Command('schema').description('Work with declared data schemas.');
  schema
    .command('infer')
    .description('Infer a starting schema from a data file and print it as a kiln.config.ts snippet.')
    .addHelpText(
      'after',
      `
A text column is a category when it has at most ${MAX_CATEGORIES} distinct values, and at most ${MAX_CATEGORY_SHARE * 100} % of its
values are distinct (each level repeats); a comment above each column says which way it went. Numeric
columns get their observed min and max as a comment: declared, they refuse values outside, so widen them
for data to come.`,
    )
    .argument('<file>', 'CSV, TSV or Parquet file')
    .option('--delimiter <char>', 'CSV delimiter (default: from the file extension)')
    .option('--encoding <name>', 'utf-8, latin1, windows-1252 or utf-16le', 'utf-8')
    .option('--sample <rows>', 'rows to read', positiveInteger('--sample'), 100_000)
    .option(
      '--rename <from=to>',
      'rename a column, e.g. "=customer_id" for an empty header (repeatable)',
      collectRename,
      {},
    )
    .action(
      async (
        file: string,
        options: { delimiter?: string; encoding: 'utf-8'; sample: number; rename: Record<string, string> },
      ) => {
        const { schema: inferred, notes } = await inferColumns(
          file,
          {
            ...(options.delimiter ? { delimiter: options.delimiter } : {}),
            encoding: options.encoding,
            rename: options.rename,
          },
          { sampleRows: options.sample },
        );
        process.stdout.write(`${renderSchema(inferred, notes)}\n`);
      },
    );
  return schema;
}

function collectRename(value: string, previous: Record<string, string>): Record<string, string> {
  const at = value.indexOf('=');
  if (at < 0) throw new InvalidArgumentError(`--rename takes from=to, got "${value}"`);
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
}
