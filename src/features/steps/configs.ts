import { z } from 'zod';
import { parseExpression } from '../expression.js';

/**
 * Config schemas of the built-in feature steps. Each kind validates its own config (defaults filled)
 * when a project is checked; a step registered through the SDK brings its own schema the same way.
 */

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

/** The built-in steps' configs, by kind. */
const builtinStepSchemas = [
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
    expr: z
      .string()
      .min(1)
      .superRefine((expr, context) => {
        try {
          parseExpression(expr);
        } catch (error) {
          context.addIssue({ code: 'custom', message: (error as Error).message });
        }
      }),
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
] as const;

/** Any built-in step's config (a discriminated union on `step`). */
export const builtinStepSchema = z.discriminatedUnion('step', builtinStepSchemas);
export type BuiltinStepConfig = z.infer<typeof builtinStepSchema>;
export type BuiltinStepName = BuiltinStepConfig['step'];
export type StepConfig<K extends BuiltinStepName> = Extract<BuiltinStepConfig, { step: K }>;

/** The schema of one built-in kind. */
export function builtinStepConfigSchema<K extends BuiltinStepName>(name: K): z.ZodType<StepConfig<K>> {
  const schema = builtinStepSchemas.find((s) => s.shape.step.value === name);
  if (!schema) throw new Error(`no built-in feature step "${name}"`);
  return schema as unknown as z.ZodType<StepConfig<K>>;
}
