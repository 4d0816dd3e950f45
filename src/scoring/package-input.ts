import path from 'node:path';
import type { ColumnSpec } from '../config/schema.js';
import { streamTable, type TableStream } from '../data/load.js';
import type { PackagedModel } from '../packaging/load.js';
import type { Progress } from '../util/progress.js';

/**
 * Streams a file for a package: read as the package reads CSVs, validated against its input signature
 * (plus `extraColumns`), with rows the schema or the frozen pipeline refuse quarantined to `rejects`.
 */
export function streamPackageInput(
  model: PackagedModel,
  input: string,
  options: {
    rejects: string;
    progress: Progress;
    extraColumns?: Record<string, ColumnSpec>;
    requiredNonNull?: string[];
  },
): TableStream {
  const schema: Record<string, ColumnSpec> = {};
  for (const { name, ...spec } of model.manifest.signature.inputs) schema[name] = spec;
  for (const [name, spec] of Object.entries(options.extraColumns ?? {})) schema[name] ??= spec;
  return streamTable(
    {
      source: { ...model.manifest.reading, path: path.resolve(input) },
      schema,
      onInvalid: 'quarantine',
      extraColumns: 'ignore',
    },
    {
      baseDir: process.cwd(),
      requiredNonNull: options.requiredNonNull,
      rejectsPath: path.resolve(options.rejects),
      onProgress: (rows) => options.progress.tick('rows', rows),
      refuse: (table) => model.pipeline.transform(table).rowErrors,
    },
  );
}
