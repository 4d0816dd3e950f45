import { z } from 'zod';

/** The column types a schema declares (see src/data/table.ts for how each is held in memory). */
export const COLUMN_TYPES = [
  'number',
  'integer',
  'boolean',
  'datetime',
  'category',
  'string',
  'text',
  'blob',
  'sequence',
] as const;

/**
 * Media types a blob column may declare (`mediaTypes`); each is recognised by its leading bytes, so a
 * blob of another kind is refused with a reason.
 */
export const BLOB_MEDIA_TYPES = [
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'image/bmp',
  'image/tiff',
  'application/pdf',
  'audio/wav',
] as const;
export type BlobMediaType = (typeof BLOB_MEDIA_TYPES)[number];

/** A blob column's size limit when it declares no `maxBytes`: 8 MiB decoded. */
export const DEFAULT_BLOB_MAX_BYTES = 8 * 1024 * 1024;

const sequenceLengthSchema = z
  .strictObject({
    min: z.number().int().min(0).optional(),
    max: z.number().int().positive().optional(),
  })
  .refine((length) => length.min === undefined || length.max === undefined || length.min <= length.max, {
    message: 'length.min is larger than length.max',
  });

type ColumnTypeName = (typeof COLUMN_TYPES)[number];
const only = (type: ColumnTypeName) => (t: ColumnTypeName) => t !== type;

/**
 * Options that only some column types take: refused elsewhere with a message naming who takes them.
 * `values`, `min` and `max` stay tolerated on the scalar types that ignored them before.
 */
const TYPE_OPTIONS = [
  { key: 'fields', takenBy: 'sequence', refused: only('sequence') },
  { key: 'length', takenBy: 'sequence', refused: only('sequence') },
  { key: 'maxBytes', takenBy: 'blob', refused: only('blob') },
  { key: 'mediaTypes', takenBy: 'blob', refused: only('blob') },
  { key: 'values', takenBy: 'category', refused: (t) => t === 'sequence' || t === 'blob' },
  { key: 'min', takenBy: 'number, integer, datetime and sequence', refused: (t) => t === 'blob' },
  { key: 'max', takenBy: 'number, integer, datetime and sequence', refused: (t) => t === 'blob' },
] as const satisfies readonly {
  key: string;
  takenBy: string;
  refused: (type: ColumnTypeName) => boolean;
}[];

/** One column of the declared input schema. */
export const columnSpecSchema = z
  .strictObject({
    type: z.enum(COLUMN_TYPES),
    nullable: z.boolean().default(true),
    /** Allowed values of a category column; others are invalid (see `unseen` in one_hot for scoring). */
    values: z.array(z.string()).optional(),
    /** Smallest and largest allowed value (a sequence column: of every value of every timestep). */
    min: z.number().optional(),
    max: z.number().optional(),
    description: z.string().optional(),
    /**
     * Sequence columns: the names of the numbers each timestep carries, e.g. ['s1', 's2']; a cell is
     * then a JSON array of timesteps, each an array in this order or an object keyed by these names.
     * Absent: one number per timestep (`[0.5, 0.7, ...]`).
     */
    fields: z
      .array(z.string().min(1))
      .min(1)
      .refine((names) => new Set(names).size === names.length, { message: 'fields repeat a name' })
      .optional(),
    /** Sequence columns: how many timesteps a cell may have. */
    length: sequenceLengthSchema.optional(),
    /** Blob columns: the largest blob, in bytes once decoded from base64 (default 8 MiB). */
    maxBytes: z.number().int().positive().optional(),
    /** Blob columns: the kinds of content allowed, recognised by their leading bytes (default: any). */
    mediaTypes: z.array(z.enum(BLOB_MEDIA_TYPES)).min(1).optional(),
  })
  .superRefine((spec, context) => {
    for (const { key, takenBy, refused } of TYPE_OPTIONS) {
      if (spec[key] !== undefined && refused(spec.type))
        context.addIssue({
          code: 'custom',
          path: [key],
          message: `${key} applies to ${takenBy} columns, not to a ${spec.type} column`,
        });
    }
  });
export type ColumnSpec = z.infer<typeof columnSpecSchema>;

export const sourceSchema = z.strictObject({
  /** Path relative to the project folder, or absolute. `.csv`, `.tsv`, `.parquet`. */
  path: z.string().min(1),
  format: z.enum(['csv', 'parquet']).optional(),
  delimiter: z.string().length(1).default(','),
  quote: z.string().length(1).default('"'),
  header: z.boolean().default(true),
  encoding: z.enum(['utf-8', 'latin1', 'windows-1252', 'utf-16le']).default('utf-8'),
  /** Cell strings read as missing. */
  missing: z.array(z.string()).default(['', 'NA', 'N/A', 'NaN', 'null', 'NULL']),
  /** Rename columns on read, e.g. the empty header of an unnamed index column: { "": "customer_id" }. */
  rename: z.record(z.string(), z.string()).default({}),
});
export type SourceConfig = z.infer<typeof sourceSchema>;

export const dataSchema = z.strictObject({
  source: sourceSchema,
  /** Declared schema; `kiln schema infer` writes a starting point. */
  schema: z.record(z.string(), columnSpecSchema),
  /** Column that identifies a row in outputs (ids are never features). */
  id: z.string().optional(),
  /**
   * Column of non-negative sample weights (never a feature): each row counts that much in the model's
   * fit. Needs a model family that takes sample weights.
   */
  weight: z.string().optional(),
  /**
   * What an invalid row (one that does not match the schema, or a broken CSV line) does. fail: the run
   * fails, listing every invalid row (the first 100, then a count); quarantine: invalid rows are written
   * with their line and reason to a rejects file and the run goes on without them.
   */
  onInvalid: z.enum(['fail', 'quarantine']).default('fail'),
  /**
   * With `quarantine`: the largest share of the rows read (0..1) that may be rejected; above it the run
   * fails, naming the counts and the rejects file. Absent: no limit.
   */
  maxRejectedFraction: z.number().min(0).max(1).optional(),
  /** Columns present in the file but not in the schema. */
  extraColumns: z.enum(['error', 'ignore']).default('error'),
  /**
   * Columns from other files joined on a key before validation, e.g. labels shipped apart from the
   * inputs: `[{ source: { path: 'labels.csv' }, on: 'ID' }]`. A row whose key has no match gets missing
   * values for those columns (a missing target rejects it with a reason).
   */
  join: z.array(z.strictObject({ source: sourceSchema, on: z.string().min(1) })).default([]),
  /**
   * A separate labelled test file (same schema and joins), e.g. a dataset's official test split:
   * scored once by the final model and reported, and the gates use its metrics. Not with
   * `split.testFraction`.
   */
  test: sourceSchema.optional(),
  /** Rows with a missing target are always rejected with a reason, never dropped silently. */
});
export type DataConfig = z.infer<typeof dataSchema>;

/** What a model predicts; see src/tasks. */
export const TASK_NAMES = ['binary', 'multiclass', 'regression', 'sequence_labelling', 'embedding'] as const;
export type TaskName = (typeof TASK_NAMES)[number];

export const targetSchema = z.strictObject({
  column: z.string(),
  /** Positive class for binary metrics (string form of the label, e.g. "1" or "true"). */
  positive: z.string().optional(),
});

export const splitSchema = z.strictObject({
  /** stratified: class proportions kept in each fold (regression: random); group: by split.column; time: ordered. */
  strategy: z.enum(['random', 'stratified', 'group', 'time']).default('stratified'),
  folds: z.number().int().min(2).max(100).default(5),
  /** Column holding the group key (strategy "group") or the ordering time (strategy "time"). */
  column: z.string().optional(),
  /** Fraction held out as a final test set, evaluated once after the final fit. 0 = none. */
  testFraction: z.number().min(0).max(0.9).default(0),
  shuffle: z.boolean().default(true),
});
export type SplitConfig = z.infer<typeof splitSchema>;

/**
 * A feature step: `step` names a registered step kind (built-in or registered through the SDK), whose
 * own schema validates the rest when the project is checked (see src/features/steps).
 */
export const featureStepSchema = z.looseObject({ step: z.string().min(1) });
export type FeatureStepConfig = z.infer<typeof featureStepSchema>;

const searchValue = z.union([
  /** Values tried as listed: numbers, strings, booleans, null, or lists (e.g. n-gram ranges). */
  z.array(z.union([z.number(), z.string(), z.boolean(), z.null(), z.array(z.number())])).min(1),
  z.strictObject({
    min: z.number(),
    max: z.number(),
    log: z.boolean().default(false),
    integer: z.boolean().default(false),
  }),
]);

export const searchSchema = z.strictObject({
  strategy: z.enum(['grid', 'random']).default('grid'),
  /** Random search only. */
  trials: z.number().int().positive().default(20),
  /**
   * Where each candidate is scored: "cv" (every cross-validation fold, the default), or one fixed
   * validation split holding out this fraction of the development rows (split as `split.strategy`
   * says); the best candidate is then cross-validated, reported and re-fitted.
   */
  validation: z.union([z.literal('cv'), z.strictObject({ fraction: z.number().gt(0).lt(1) })]).default('cv'),
  /**
   * A model parameter by name (`C`), or a field of a feature step by its position in `features`
   * (`features.0.ngramRange`, `features.1.minDf`).
   */
  space: z.record(z.string(), searchValue),
});
export type SearchConfig = z.infer<typeof searchSchema>;

export const modelSchema = z.strictObject({
  family: z.string(),
  params: z.record(z.string(), z.unknown()).default({}),
  search: searchSchema.optional(),
  /**
   * Threads a fit may use, the calling one included, for families that can use more than one
   * (default: the KILN_THREADS environment variable, else every core). Results do not depend on it.
   */
  threads: z.number().int().positive().optional(),
});

const gateSchema = z
  .string()
  .regex(/^\s*[a-z_0-9.]+\s*(>=|<=|>|<)\s*-?[0-9.]+\s*$/, 'a gate like "roc_auc >= 0.70"');

export const evaluationSchema = z.strictObject({
  /**
   * Metric ranked in search and reported with its bootstrap interval; one of the task's metrics.
   * Default: roc_auc for classification, rmse for regression, f1_macro for sequence labelling.
   */
  headline: z.string().optional(),
  threshold: z
    .discriminatedUnion('strategy', [
      z.strictObject({ strategy: z.literal('fixed'), value: z.number().min(0).max(1).default(0.5) }),
      z.strictObject({ strategy: z.literal('max_f1') }),
      z.strictObject({ strategy: z.literal('min_recall'), recall: z.number().min(0).max(1) }),
    ])
    .default({ strategy: 'fixed', value: 0.5 }),
  bootstrap: z.number().int().min(0).default(1000),
  /**
   * Variability: the chosen model is cross-validated this many times, repeat r on folds drawn with
   * seed + r; the report shows each metric's mean ± std over repeats. 1 = the configured CV only.
   */
  repeats: z.number().int().min(1).max(100).default(1),
});

export const storesSchema = z.strictObject({
  metadata: z.string().default('sqlite://.kiln/kiln.db'),
  artifacts: z.string().default('file://.kiln/artifacts'),
});

export const registrySchema = z.strictObject({
  /** Registered model name; the project name by default. */
  model: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, "letters, digits, '.', '_' or '-'")
    .optional(),
  /** When `kiln train` registers its package: when every gate passes (default), always, or never. */
  register: z.enum(['on_pass', 'always', 'never']).default('on_pass'),
  /** Alias moved to each version this project registers (e.g. "challenger"); none by default. */
  alias: z
    .string()
    .regex(/^(?!\d+$)[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'an alias name (not only digits)')
    .optional(),
  /** For the model card. */
  intendedUse: z.string().optional(),
  limitations: z.array(z.string()).default([]),
});
export type RegistryConfig = z.infer<typeof registrySchema>;

export const projectSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-_]*$/, 'lowercase letters, digits, - and _'),
  description: z.string().optional(),
  seed: z.number().int().default(0),
  /**
   * What the model predicts. Default: classification, binary or multiclass by the number of classes
   * in the target; `regression` for a numeric target.
   */
  task: z.enum(TASK_NAMES).optional(),
  data: dataSchema,
  target: targetSchema,
  split: splitSchema.default({ strategy: 'stratified', folds: 5, testFraction: 0, shuffle: true }),
  features: z.array(featureStepSchema).default([]),
  model: modelSchema,
  evaluation: evaluationSchema.default({
    threshold: { strategy: 'fixed', value: 0.5 },
    bootstrap: 1000,
    repeats: 1,
  }),
  gates: z.array(gateSchema).default([]),
  stores: storesSchema.default({ metadata: 'sqlite://.kiln/kiln.db', artifacts: 'file://.kiln/artifacts' }),
  registry: registrySchema.default({ register: 'on_pass', limitations: [] }),
  /** Filled by later capabilities; accepted and recorded now so configs need not change. */
  serving: z.record(z.string(), z.unknown()).optional(),
  monitoring: z.record(z.string(), z.unknown()).optional(),
  schedule: z.record(z.string(), z.unknown()).optional(),
  notifications: z.record(z.string(), z.unknown()).optional(),
});

export type ProjectInput = z.input<typeof projectSchema>;
export type Project = z.infer<typeof projectSchema>;

/** Typed helper for kiln.config.ts; validation happens when Kiln loads the file. */
export function defineProject(project: ProjectInput): ProjectInput {
  return project;
}
