/** What the route plugins share: the live models, limits, the prediction log and the key check. */
import type { FastifyReply } from 'fastify';
import type { PredictionLog, PredictionRecord } from '../../monitoring/prediction-log/log.js';
import type { Registry } from '../../registry/registry.js';
import { clip } from './body.js';
import type { LegacyRoute } from './config.js';
import type { InternalsPolicy } from './exposure.js';
import type { ServerMetrics } from './metrics.js';
import { type LiveModel, type PredictOptions, presentPrediction, type Scored, tableRow } from './predict.js';
import type { ApiKeys } from './security.js';
import type { ModelSource, ServedModels } from './sources.js';
import { type FieldError, MAX_KEPT_ERRORS, type RowLayout } from './validation.js';

export interface ServerContext {
  readonly models: ServedModels;
  readonly sources: readonly ModelSource[];
  readonly metrics: ServerMetrics;
  readonly keys: ApiKeys;
  /** Whether a request may see server paths, URIs and users (see exposure.ts). */
  readonly internals: InternalsPolicy;
  readonly requireAuthForPredict: boolean;
  /**
   * Feedback from anyone, key or not (`--open-feedback`); otherwise it is a write like the registry's:
   * a valid key, and refused on a server without keys.
   */
  readonly openFeedback: boolean;
  /** Labels for ids the log does not hold are stored rather than refused (`--accept-unknown-feedback`). */
  readonly acceptUnknownFeedback: boolean;
  readonly maxRecords: number;
  readonly predict: PredictOptions;
  readonly log: PredictionLog | undefined;
  /** Versions and aliases for `GET /v1/models/{name}` when models come from the registry. */
  readonly registry: Registry | undefined;
  readonly legacyRoutes: readonly LegacyRoute[];
  /** Positional layout of each legacy route for a live model, checked when the model went live. */
  readonly legacyLayouts: WeakMap<LiveModel, Map<string, RowLayout>>;
  /** Every configured model is live. */
  ready(): boolean;
}

export function sendNoModel(reply: FastifyReply, context: ServerContext, name: string): FastifyReply {
  return reply.code(404).send({
    error: `no model named "${name}" is served (serving: ${context.models.names().join(', ') || 'none'})`,
  });
}

const IN_MESSAGE = 5;

/**
 * A 400 listing what is wrong, bounded whatever the request: at most `MAX_KEPT_ERRORS` problems (with
 * `omitted`, the count of the rest, `counted` among them), each path and reason clipped, as they can
 * echo client-sent names and values. The first problems are enough to fix a request.
 */
export function sendInvalid(reply: FastifyReply, errors: readonly FieldError[], counted = 0): FastifyReply {
  const details = errors
    .slice(0, MAX_KEPT_ERRORS)
    .map((e) => ({ path: clip(e.path), reason: clip(e.reason) }));
  const n = errors.length + counted;
  const summary = details
    .slice(0, IN_MESSAGE)
    .map((e) => `${e.path || '/'}: ${e.reason}`)
    .join('; ');
  return reply.code(400).send({
    error: `request does not match the model signature: ${n} problem${n === 1 ? '' : 's'}: ${summary}${n > IN_MESSAGE ? '; ...' : ''}`,
    details,
    ...(n > details.length ? { omitted: n - details.length } : {}),
  });
}

export function sendTooMany(reply: FastifyReply, n: number, max: number): FastifyReply {
  return reply
    .code(413)
    .send({ error: `${n} records in one request; the limit is ${max} (--max-records): split the batch` });
}

/**
 * Appends one log entry per scored row to the log's journal: called before the response is sent, so
 * an answered prediction is on its way to the log even if the process dies as the answer goes out.
 * Returns the log's backpressure (`room()`): the caller awaits it before answering.
 */
export function logPredictions(
  context: ServerContext,
  live: LiveModel,
  scored: Scored,
  startedAt: number,
): Promise<void> | undefined {
  const { log } = context;
  if (!log) return undefined;
  const { ids, table } = scored;
  const time = new Date().toISOString();
  const latencyMs = performance.now() - startedAt;
  const records = new Array<PredictionRecord>(ids.length);
  for (let i = 0; i < ids.length; i++) {
    records[i] = {
      id: ids[i],
      time,
      model: live.model.name,
      version: live.model.version,
      input: tableRow(table, i),
      output: presentPrediction(live, scored, i),
      latencyMs,
    };
  }
  log.append(...records);
  return log.room();
}
