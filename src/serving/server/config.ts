/**
 * The `serving:` section of a project config, and the limits' defaults. The project schema keeps
 * `serving` a free record; `kiln serve` parses it with this schema so mistakes name their field.
 */
import { z } from 'zod';
import { formatIssues } from '../../config/load.js';

/** A legacy client contract: positional instances in the client's column order, mapped by name. */
export const legacyRouteSchema = z.strictObject({
  /** The route path, e.g. `/predict`. */
  path: z.string().startsWith('/'),
  /** The served model name it answers with. */
  model: z.string().min(1),
  /** Signature column of each instance position, in the order the client sends them. */
  instances: z.array(z.string()).min(1),
  /**
   * Values for required signature columns the client never sends (explicit, visible assumptions);
   * nullable columns not listed are missing, which the package's impute steps fill.
   */
  defaults: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).default({}),
});
export type LegacyRoute = z.infer<typeof legacyRouteSchema>;

/**
 * A text-classification route: `{"<field>": "..."}` or `{"<batchField>": ["...", ...]}` in, per text
 * the top class, its probability and the top `top` classes out (the posos `/intent` contract).
 */
export const textRouteSchema = z.strictObject({
  path: z.string().startsWith('/'),
  model: z.string().min(1),
  /** The model's text input column. */
  column: z.string().min(1),
  /** Body field of one text, and of a list of texts. */
  field: z.string().min(1),
  batchField: z.string().min(1),
  /** Name of the predicted class in answers (e.g. `intent`). */
  label: z.string().min(1).default('label'),
  top: z.number().int().min(1).max(50).default(3),
  /** Longest text accepted, in characters. */
  maxLength: z.number().int().positive().default(5000),
  /** A web page at this path to type a text and see the answer (e.g. `/`). */
  page: z.string().startsWith('/').optional(),
  /** The page's heading. */
  title: z.string().default('Try the model'),
});
export type TextRoute = z.infer<typeof textRouteSchema>;

export const DEFAULT_LIMITS = {
  maxBody: 1024 * 1024,
  maxRecords: 1000,
  timeoutMs: 10_000,
  /** Open sockets; further connections are closed at once (file descriptors are finite). */
  maxConnections: 1024,
  /** Idle time of a kept-alive connection: Fastify's default, above common proxies' 60 s. */
  keepAliveTimeoutMs: 72_000,
  /** Requests per kept-alive connection; 0 is no limit. */
  maxRequestsPerSocket: 0,
};

export const DEFAULT_PREDICTION_LOG = {
  uri: 'sqlite://.kiln/predictions.db',
  bufferDir: '.kiln/prediction-log-buffer',
};

export const servingSchema = z.strictObject({
  host: z.string().optional(),
  port: z.number().int().min(0).max(65535).optional(),
  /** Package folders (relative to the project) or `name@alias` registry references. */
  models: z.array(z.string()).default([]),
  /** Bytes, or a size like `1mb`, `512kb`. */
  maxBody: z.union([z.number().int().positive(), z.string()]).optional(),
  maxRecords: z.number().int().positive().optional(),
  timeoutMs: z.number().int().positive().optional(),
  maxConnections: z.number().int().positive().optional(),
  keepAliveTimeoutMs: z.number().int().positive().optional(),
  maxRequestsPerSocket: z.number().int().min(0).optional(),
  /** Fields a record carries that the signature does not: a 400 (default) or ignored. */
  extraFields: z.enum(['reject', 'ignore']).default('reject'),
  legacyRoutes: z.array(legacyRouteSchema).default([]),
  textRoutes: z.array(textRouteSchema).default([]),
  auth: z
    .strictObject({
      /** File of hex SHA-256 hashes of the accepted keys, one a line (relative to the project). */
      apiKeysFile: z.string().optional(),
      requireAuthForPredict: z.boolean().default(false),
    })
    .default({ requireAuthForPredict: false }),
  feedback: z
    .strictObject({
      /**
       * Labels from anyone, with or without an API key. Off: feedback is a write like the registry's, it
       * needs a valid key and is refused on a server without keys.
       */
      open: z.boolean().default(false),
      /**
       * Labels for prediction ids the log does not hold are stored (for predictions whose log arrives
       * late, or a log with retention) instead of refused with a 404.
       */
      acceptUnknownIds: z.boolean().default(false),
    })
    .default({ open: false, acceptUnknownIds: false }),
  rateLimit: z
    .strictObject({
      /** Requests per key (or client address without a key) per window. */
      max: z.number().int().positive(),
      timeWindowMs: z.number().int().positive().default(60_000),
    })
    .optional(),
  cors: z.strictObject({ origins: z.array(z.string()).min(1) }).optional(),
  /**
   * Show server paths, storage URIs, training data paths and users on open reads (/v1/models/{name},
   * /v1/registry) to everyone; by default only callers with a valid API key see them.
   */
  exposeInternals: z.boolean().default(false),
  /**
   * Where every prediction (and feedback) is logged: `sqlite://path`, `jsonl+file://dir` (relative to
   * the project), `postgres://…`, `jsonl+s3://bucket/prefix?endpoint=…`, or `off`. While it is unreachable, records wait in `predictionLogBuffer` on disk.
   */
  predictionLog: z.string().default(DEFAULT_PREDICTION_LOG.uri),
  predictionLogBuffer: z.string().default(DEFAULT_PREDICTION_LOG.bufferDir),
});
export type ServingConfig = z.infer<typeof servingSchema>;

export function parseServing(raw: unknown, where: string): ServingConfig {
  const parsed = servingSchema.safeParse(raw ?? {});
  if (!parsed.success)
    throw new Error(`${where}: invalid serving section: ${formatIssues(parsed.error).join('; ')}`);
  return parsed.data;
}

const UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** `1mb`, `512kb`, `2048` → bytes. */
export function parseSize(value: string | number): number {
  if (typeof value === 'number') return value;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(value);
  if (!m) throw new Error(`"${value}" is not a size (e.g. 1mb, 512kb, 1048576)`);
  return Math.round(Number(m[1]) * UNITS[(m[2] ?? 'b').toLowerCase()]);
}
