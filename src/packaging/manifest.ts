import { z } from 'zod';
import { columnSpecSchema, sourceSchema, TASK_NAMES } from '../config/schema.js';
import { integritySchema } from './integrity.js';

/**
 * manifest.json: the one contract between training and everything after it. Plain JSON plus a
 * safetensors weights file, so another runtime can serve a package from these two files.
 *
 * Format 2 names the task (binary, multiclass, regression, sequence_labelling, embedding); format 1
 * packages (classification only, tasks named binary_classification / multiclass_classification) are
 * read as the same tasks, so every registered package keeps serving.
 *
 * `integrity` (see ./integrity) records the digests of the package's files and of the manifest itself;
 * packages written before it existed carry none and load as they always did.
 */
export const MANIFEST_FORMAT = 'kiln.model-package/2';
export const MANIFEST_FORMATS = ['kiln.model-package/1', MANIFEST_FORMAT] as const;

const LEGACY_TASKS = { binary_classification: 'binary', multiclass_classification: 'multiclass' } as const;

/** The task, with format 1's names read as format 2's. */
const taskSchema = z
  .union([z.enum(TASK_NAMES), z.enum(['binary_classification', 'multiclass_classification'])])
  .transform((task) => (task in LEGACY_TASKS ? LEGACY_TASKS[task as keyof typeof LEGACY_TASKS] : task))
  .pipe(z.enum(TASK_NAMES));

const inputSchema = columnSpecSchema.extend({ name: z.string() });

export const manifestSchema = z.object({
  format: z.enum(MANIFEST_FORMATS),
  name: z.string(),
  createdAt: z.string(),
  task: taskSchema,
  /** Input signature: raw columns a request or input file must carry, in order. */
  signature: z.object({
    inputs: z.array(inputSchema),
    id: z.string().optional(),
  }),
  output: z.object({
    /** The target column of labelled files; none for embeddings. */
    target: z.string().optional(),
    /** How the target is read from labelled files (evaluation, monitoring with late labels). */
    targetSpec: columnSpecSchema.optional(),
    /** Class names in score order (classification, sequence labelling); empty otherwise. */
    classes: z.array(z.string()).default([]),
    /** Binary only: the class whose probability is compared with the threshold. */
    positive: z.string().optional(),
    threshold: z.number().optional(),
    /** Embedding only: the vector length. */
    dimensions: z.number().int().positive().optional(),
  }),
  /** How to read a CSV for this model (missing-value tokens, renames); the file path is not kept. */
  reading: sourceSchema.omit({ path: true }),
  /** Frozen feature-pipeline state (see features/pipeline). */
  features: z.unknown(),
  featureNames: z.array(z.string()),
  model: z.object({
    family: z.string(),
    meta: z.record(z.string(), z.unknown()),
    weights: z.string(),
    /** The whole pipeline (feature steps + model) as one ONNX graph, where the family can export it. */
    onnx: z.string().optional(),
  }),
  metrics: z.record(z.string(), z.unknown()),
  /** What the model card says about use; the rest of the card is derived from the package and registry. */
  card: z
    .object({
      intendedUse: z.string().optional(),
      limitations: z.array(z.string()).optional(),
    })
    .optional(),
  /** Per-feature reference statistics for drift monitoring. */
  reference: z.unknown().optional(),
  lineage: z.object({
    runId: z.string().nullable(),
    project: z.string(),
    data: z.array(
      z.object({
        role: z.string(),
        path: z.string(),
        sha256: z.string(),
        bytes: z.number(),
        rowsRead: z.number(),
        rowsAccepted: z.number(),
        rowsRejected: z.number(),
      }),
    ),
    codeVersion: z.string(),
    seed: z.number().nullable(),
    parent: z.string().nullable().optional(),
    importedFrom: z.string().optional(),
  }),
  integrity: integritySchema.optional(),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestInput = z.input<typeof manifestSchema>;
