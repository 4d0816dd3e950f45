/** What the route plugins share: the live models, limits, the prediction log and the key check. */
import type { FastifyReply } from 'fastify';
import type { PredictionLog } from '../../monitoring/prediction-log/log.js';
import type { Registry } from '../../registry/registry.js';
import type { LegacyRoute } from './config.js';
import type { ServerMetrics } from './metrics.js';
import { type LiveModel, type PredictOptions, presentPrediction, type Scored, tableRow } from './predict.js';
import type { ApiKeys } from './security.js';
import type { ModelSource, ServedModels } from './sources.js';
import type { FieldError, RowLayout } from './validation.js';

export interface ServerContext {
  readonly models: ServedModels;
  readonly sources: readonly ModelSource[];
  readonly metrics: ServerMetrics;
  readonly keys: ApiKeys;
  readonly requireAuthForPredict: boolean;
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

export function sendInvalid(reply: FastifyReply, errors: readonly FieldError[]): FastifyReply {
  return reply.code(400).send({
    error: `request does not match the model signature: ${errors.length} problem${errors.length === 1 ? '' : 's'}: ${errors
      .slice(0, 5)
      .map((e) => `${e.path || '/'}: ${e.reason}`)
      .join('; ')}${errors.length > 5 ? '; ...' : ''}`,
    details: errors,
  });
}

export function sendTooMany(reply: FastifyReply, n: number, max: number): FastifyReply {
  return reply
    .code(413)
    .send({ error: `${n} records in one request; the limit is ${max} (--max-records): split the batch` });
}

/** Queues one log entry per scored row; called after the response is sent, never awaited. */
export function logPredictions(
  context: ServerContext,
  live: LiveModel,
  scored: Scored,
  startedAt: number,
): void {
  const { log } = context;
  if (!log) return;
  const { ids, table } = scored;
  const time = new Date().toISOString();
  const latencyMs = performance.now() - startedAt;
  for (let i = 0; i < ids.length; i++) {
    log.append({
      id: ids[i],
      time,
      model: live.model.name,
      version: live.model.version,
      input: tableRow(table, i),
      output: presentPrediction(live, scored, i),
      latencyMs,
    });
  }
}
