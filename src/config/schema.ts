import { z } from 'zod';

/** One column of the declared input schema. */
export const columnSpecSchema = z.strictObject({
  type: z.enum([
    'number',
    'integer',
    'boolean',
    'datetime',
    'category',
    'string',
    'text',
    'blob',
    'sequence',
  ]),
  nullable: z.boolean().default(true),
  /** Allowed values of a category column; others are invalid (see `unseen` in one_hot for scoring). */
  values: z.array(z.string()).optional(),
  min: z.number().optional(),
  max: z.number().optional(),
  description: z.string().optional(),
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
  /** fail: stop at the first invalid row; quarantine: write invalid rows with a reason to a rejects file. */
  onInvalid: z.enum(['fail', 'quarantine']).default('fail'),
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

export const targetSchema = z.strictObject({
  column: z.string(),
  /** Positive class for binary metrics (string form of the label, e.g. "1" or "true"). */
  positive: z.string().optional(),
});

export const splitSchema = z.strictObject({
  strategy: z.enum(['random', 'stratified', 'group', 'time']).default('stratified'),
  folds: z.number().int().min(2).max(100).default(5),
  /** Column holding the group key (strategy "group") or the ordering time (strategy "time"). */
  column: z.string().optional(),
  /** Fraction held out as a final test set, evaluated once after the final fit. 0 = none. */
  testFraction: z.number().min(0).max(0.9).default(0),
  shuffle: z.boolean().default(true),
});
export type SplitConfig = z.infer<typeof splitSchema>;

const columnsSelector = z.union([z.array(z.string()).min(1), z.enum(['numeric', 'boolean', 'category'])]);

/** Document-frequency limit: 1 = none, an integer ≥ 2 = a document count, in (0, 1) = a fraction of documents. */
const documentFrequency = z.union([z.number().int().min(1), z.number().gt(0).lt(1)]);

/** TF-IDF of a text column as scikit-learn's TfidfVectorizer (smooth idf); defaults are sklearn's. */
export const tfidfStepSchema = z.strictObject({
  step: z.literal('tfidf'),
  column: z.string(),
  /** Prefix of the feature names, `${name}:${term}`; default `${column}_words` or `${column}_chars`. */
  name: z.string().min(1).optional(),
  /** word: n-grams of word tokens; char_wb: character n-grams inside each space-separated word. */
  analyzer: z.enum(['word', 'char_wb']).default('word'),
  ngramRange: z
    .tuple([z.number().int().min(1), z.number().int().min(1)])
    .refine(([min, max]) => min <= max, 'ngramRange is [min n, max n] with min <= max')
    .default([1, 1]),
  lowercase: z.boolean().default(true),
  /** NFKD and remove combining marks (sklearn strip_accents='unicode'). */
  stripAccents: z.boolean().default(false),
  /** word analyzer: shorter tokens are dropped (2 = sklearn's token_pattern). */
  minTokenLength: z.number().int().min(1).default(2),
  /** word analyzer: French elided words (l', d', qu', ...) kept as tokens or dropped. */
  elisions: z.enum(['keep', 'drop']).default('keep'),
  minDf: documentFrequency.default(1),
  maxDf: documentFrequency.default(1),
  /** Keep the terms most frequent in the training texts (ties: first in sorted order). */
  maxFeatures: z.number().int().min(1).optional(),
  /** tf = 1 + ln(count). */
  sublinearTf: z.boolean().default(false),
  norm: z.enum(['l2', 'l1', 'none']).default('l2'),
});

export const featureStepSchema = z.discriminatedUnion('step', [
  z.strictObject({
    step: z.literal('impute'),
    columns: columnsSelector,
    strategy: z.enum(['median', 'mean', 'mode', 'constant']),
    value: z.union([z.number(), z.string()]).optional(),
  }),
  z.strictObject({
    step: z.literal('derive'),
    name: z.string().min(1),
    /** Arithmetic over columns: + - * / ( ), numbers, and log, log1p, exp, sqrt, abs, min, max. */
    expr: z.string().min(1),
  }),
  z.strictObject({
    step: z.literal('one_hot'),
    columns: z.array(z.string()).min(1),
    /** Level order is fixed at fit (sorted); drop "first" reproduces pandas get_dummies(drop_first=True). */
    drop: z.enum(['none', 'first']).default('none'),
    /** Unseen level at scoring: all-zero row ("ignore") or invalid row ("error"). */
    unseen: z.enum(['ignore', 'error']).default('ignore'),
    /** Missing value: its own level, or all zeros. */
    missing: z.enum(['level', 'ignore']).default('level'),
  }),
  z.strictObject({
    step: z.literal('ordinal'),
    column: z.string(),
    /** Explicit order of levels; absent: sorted levels seen at fit. */
    order: z.array(z.string()).optional(),
    unseen: z.enum(['nan', 'error']).default('nan'),
  }),
  z.strictObject({
    step: z.literal('scale'),
    columns: columnsSelector.default('numeric'),
    /** Population standard deviation (ddof 0); a zero deviation scales by 1. */
    method: z.enum(['standard']).default('standard'),
  }),
  z.strictObject({
    step: z.literal('drop'),
    columns: z.array(z.string()).min(1),
  }),
  tfidfStepSchema,
]);
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
});

const gateSchema = z
  .string()
  .regex(/^\s*[a-z_0-9.]+\s*(>=|<=|>|<)\s*-?[0-9.]+\s*$/, 'a gate like "roc_auc >= 0.70"');

export const evaluationSchema = z.strictObject({
  /** Metric ranked in search, reported with its bootstrap interval and used by default gates. */
  headline: z.string().default('roc_auc'),
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
  data: dataSchema,
  target: targetSchema,
  split: splitSchema.default({ strategy: 'stratified', folds: 5, testFraction: 0, shuffle: true }),
  features: z.array(featureStepSchema).default([]),
  model: modelSchema,
  evaluation: evaluationSchema.default({
    headline: 'roc_auc',
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
