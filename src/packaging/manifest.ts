import { z } from 'zod';
import { columnSpecSchema, sourceSchema } from '../config/schema.js';

/**
 * manifest.json: the one contract between training and everything after it. Plain JSON plus a
 * safetensors weights file, so another runtime can serve a package from these two files.
 */
export const MANIFEST_FORMAT = 'kiln.model-package/1';

const inputSchema = columnSpecSchema.extend({ name: z.string() });

export const manifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  name: z.string(),
  createdAt: z.string(),
  task: z.enum(['binary_classification', 'multiclass_classification']),
  /** Input signature: raw columns a request or input file must carry, in order. */
  signature: z.object({
    inputs: z.array(inputSchema),
    id: z.string().optional(),
  }),
  output: z.object({
    target: z.string(),
    /** How the target is read from labelled files (evaluation, monitoring with late labels). */
    targetSpec: columnSpecSchema,
    classes: z.array(z.string()),
    /** Binary only: the class whose probability is compared with the threshold. */
    positive: z.string().optional(),
    threshold: z.number().optional(),
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
});

export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestInput = z.input<typeof manifestSchema>;
