import path from 'node:path';
import { type SourceConfig, sourceSchema } from '../config/schema.js';
import { openSource } from '../data/open.js';

/** A `--keep` the input cannot satisfy: a column it does not have, or one the output already writes. */
export class KeepColumnsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeepColumnsError';
  }
}

/** Names listed in an error message; a wide file's header is cut after this many. */
const LISTED = 30;

/**
 * Parses `--keep` values: comma-separated column names, repeatable; blanks dropped, duplicates once.
 */
export function parseKeep(values: readonly string[]): string[] {
  const names = values.flatMap((v) => v.split(',')).map((name) => name.trim());
  return [...new Set(names.filter((name) => name !== ''))];
}

/**
 * The input columns carried into a prediction file after its first column (the id, or `line`): the
 * kept columns not already first. Throws when one would repeat a prediction column's header.
 */
export function keptColumns(
  first: string,
  keep: readonly string[],
  predictionHeader: readonly string[],
): string[] {
  const kept = keep.filter((name) => name !== first);
  const clashing = kept.filter((name) => predictionHeader.includes(name));
  if (clashing.length > 0)
    throw new KeepColumnsError(
      `--keep ${clashing.map((c) => JSON.stringify(c)).join(', ')}: the output already has ${clashing.length > 1 ? 'columns' : 'a column'} of that name (${predictionHeader.join(',')}); rename it in the input first`,
    );
  return kept;
}

/**
 * Checks that the input has every column `--keep` names (after the package's renames), reading only
 * its header, so a typo fails before any row is scored, naming every unknown column at once.
 */
export async function assertInputHas(
  input: string,
  reading: Omit<Partial<SourceConfig>, 'path'> | undefined,
  keep: readonly string[],
): Promise<void> {
  if (keep.length === 0) return;
  const source = sourceSchema.parse({ ...reading, path: path.resolve(input) });
  const raw = await openSource(process.cwd(), source);
  let names: string[];
  try {
    names = (raw.header ?? Array.from({ length: raw.width }, (_, i) => `column_${i + 1}`)).map((name) =>
      Object.hasOwn(source.rename, name) ? source.rename[name] : name,
    );
  } finally {
    await raw.close();
  }
  const unknown = keep.filter((name) => !names.includes(name));
  if (unknown.length > 0)
    throw new KeepColumnsError(
      `--keep names ${unknown.length > 1 ? 'columns' : 'a column'} ${unknown.map((c) => JSON.stringify(c)).join(', ')} that ${input} does not have (its columns: ${names.slice(0, LISTED).join(', ')}${names.length > LISTED ? `, … ${names.length - LISTED} more` : ''})`,
    );
}
