/**
 * Kiln's own routes: named-record predictions, the TF-Serving/KServe v1 `instances` shape, model
 * metadata, and the declarative legacy client contracts from the config (feedback is in feedback.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Registry } from '../../../registry/registry.js';
import { logPredictions, type ServerContext, sendInvalid, sendNoModel, sendTooMany } from '../context.js';
import { HIDDEN } from '../exposure.js';
import {
  type LiveModel,
  positionalWarnings,
  predictRows,
  presentPrediction,
  rowWarnings,
  type Scored,
} from '../predict.js';
import { RECORDS, type RowLayout } from '../validation.js';

interface Rows {
  rows: readonly unknown[];
  positional: boolean;
  rowPath: (i: number) => string;
}

const atRoot = (i: number) => `/${i}`;
const inRecords = (i: number) => `/records/${i}`;
const inInstances = (i: number) => `/instances/${i}`;
const single = () => '';

/** The four body shapes → rows; a string is the reason the body has none of them. */
function rowsOf(body: unknown): Rows | string {
  if (Array.isArray(body)) return { rows: body, positional: false, rowPath: atRoot };
  if (typeof body !== 'object' || body === null)
    return 'the body must be a record {...}, a list of records, {"records": [...]} or {"instances": [[...]]}';
  const object = body as Record<string, unknown>;
  if ('instances' in object) {
    if (!Array.isArray(object.instances)) return '/instances must be a list of positional rows';
    return { rows: object.instances, positional: true, rowPath: inInstances };
  }
  if ('records' in object) {
    if (!Array.isArray(object.records)) return '/records must be a list of records';
    return { rows: object.records, positional: false, rowPath: inRecords };
  }
  return { rows: [body], positional: false, rowPath: single };
}

/** Escaped once per live model: the response head and each class name as a JSON key and as a value. */
interface RecordsJsonParts {
  head: string;
  keys: string[];
  labels: Map<string, string>;
}
const recordsJsonParts = new WeakMap<LiveModel, RecordsJsonParts>();

/**
 * The named-record response, `{model, version, predictions: [{prediction_id, ...}]}` with each
 * prediction as the package's task presents it, and `warnings` on a prediction that scored a value
 * unseen in training. Classification (`label`, `probabilities`) is written as JSON text directly: the
 * hot path of batch-1 serving, where generic serialization of the same small shape is a measurable
 * share of each request.
 */
export function recordsJson(live: LiveModel, scored: Scored): string {
  const { labels } = scored;
  const warnings = rowWarnings(scored);
  if (!labels)
    return JSON.stringify({
      model: live.model.name,
      version: live.model.version,
      predictions: scored.ids.map((id, i) => ({
        prediction_id: id,
        ...presentPrediction(live, scored, i),
        ...(warnings?.[i] && { warnings: warnings[i] }),
      })),
    });
  let parts = recordsJsonParts.get(live);
  if (!parts) {
    parts = {
      head: `{"model":${JSON.stringify(live.model.name)},"version":${JSON.stringify(live.model.version)},"predictions":[`,
      keys: live.classes.map((c) => `${JSON.stringify(c)}:`),
      labels: new Map(live.classes.map((c) => [c, JSON.stringify(c)])),
    };
    recordsJsonParts.set(live, parts);
  }
  const { keys } = parts;
  const k = keys.length;
  let json = parts.head;
  for (let i = 0; i < scored.ids.length; i++) {
    if (i > 0) json += ',';
    json += `{"prediction_id":${JSON.stringify(scored.ids[i])},"label":${parts.labels.get(labels[i]) ?? JSON.stringify(labels[i])},"probabilities":{`;
    for (let c = 0; c < k; c++) {
      const p = scored.scores[i * k + c];
      json += `${c > 0 ? ',' : ''}${keys[c]}${Number.isFinite(p) ? p : 'null'}`;
    }
    json += warnings?.[i] ? `},"warnings":${JSON.stringify(warnings[i])}}` : '}}';
  }
  return `${json}]}`;
}

/**
 * KServe v1 / TF-Serving: `predictions` holds one entry per row: its probability list in `classes` order
 * (classification, with `labels` and `classes` beside), its value (regression), its vector (embedding);
 * `warnings` beside them when a row scored a value unseen in training.
 */
function instancesResponse(live: LiveModel, scored: Scored) {
  const { width } = live;
  const n = scored.ids.length;
  const finite = (v: number) => (Number.isFinite(v) ? v : null);
  const predictions = new Array(n);
  if (live.task.name === 'regression') for (let i = 0; i < n; i++) predictions[i] = finite(scored.scores[i]);
  else if (live.rule || live.task.name === 'embedding')
    for (let i = 0; i < n; i++)
      predictions[i] = Array.from(scored.scores.subarray(i * width, (i + 1) * width), finite);
  else for (let i = 0; i < n; i++) predictions[i] = presentPrediction(live, scored, i);
  const { name: model, version } = live.model;
  const warnings = positionalWarnings(scored);
  return scored.labels
    ? {
        predictions,
        labels: scored.labels,
        prediction_ids: scored.ids,
        classes: live.classes,
        model,
        version,
        ...warnings,
      }
    : { predictions, prediction_ids: scored.ids, model, version, ...warnings };
}

async function answer(
  context: ServerContext,
  live: LiveModel,
  rows: Rows,
  layout: RowLayout,
  reply: FastifyReply,
): Promise<FastifyReply> {
  if (rows.rows.length === 0) return reply.code(400).send({ error: 'no records to predict' });
  if (rows.rows.length > context.maxRecords) return sendTooMany(reply, rows.rows.length, context.maxRecords);
  const startedAt = performance.now();
  const outcome = await predictRows(live, rows.rows, layout, rows.rowPath, context.predict);
  if (!outcome.ok) return sendInvalid(reply, outcome.errors, outcome.omitted);
  const room = logPredictions(context, live, outcome.scored, startedAt);
  if (room) await room;
  if (rows.positional) reply.send(instancesResponse(live, outcome.scored));
  else reply.type('application/json; charset=utf-8').send(recordsJson(live, outcome.scored));
  return reply;
}

/** The served version, and with a registry every registered version and alias of the name. */
async function describeModel(live: LiveModel, registry: Registry | undefined, internals: boolean) {
  const { model } = live;
  const { manifest } = model;
  const registered = await registry?.store.getModel(model.name);
  return {
    name: model.name,
    version: model.version,
    versions: registered
      ? (await registry!.store.listVersions(model.name)).map((v) => String(v.version))
      : [model.version],
    aliases: registered?.aliases ?? {},
    // The origin is a server path or storage URI.
    source: internals ? model.origin : HIDDEN,
    task: manifest.task,
    createdAt: manifest.createdAt,
    signature: manifest.signature,
    output: {
      target: manifest.output.target,
      classes: manifest.output.classes,
      positive: manifest.output.positive ?? null,
      threshold: manifest.output.threshold ?? null,
      ...(manifest.output.dimensions !== undefined ? { dimensions: manifest.output.dimensions } : {}),
    },
    metrics: manifest.metrics,
    lineage: { runId: manifest.lineage.runId, project: manifest.lineage.project },
  };
}

export function v1Routes(context: ServerContext) {
  return async (app: FastifyInstance): Promise<void> => {
    const predictAuth = context.requireAuthForPredict ? [context.keys.require] : [];

    app.get('/v1/models', async () => ({
      models: context.models.all().map((live) => ({
        name: live.model.name,
        version: live.model.version,
        task: live.model.manifest.task,
        classes: live.classes,
      })),
    }));

    app.get<{ Params: { name: string } }>('/v1/models/:name', async (request, reply) => {
      const live = context.models.get(request.params.name);
      return live
        ? describeModel(live, context.registry, context.internals(request))
        : sendNoModel(reply, context, request.params.name);
    });

    app.post<{ Params: { name: string } }>(
      '/v1/models/:name/predict',
      { onRequest: predictAuth },
      async (request, reply) => {
        const live = context.models.get(request.params.name);
        if (!live) return sendNoModel(reply, context, request.params.name);
        const rows = rowsOf(request.body);
        if (typeof rows === 'string') return reply.code(400).send({ error: rows });
        return answer(context, live, rows, rows.positional ? live.positional : RECORDS, reply);
      },
    );

    for (const route of context.legacyRoutes) {
      app.post(route.path, { onRequest: predictAuth }, async (request: FastifyRequest, reply) => {
        const live = context.models.get(route.model);
        if (!live) return sendNoModel(reply, context, route.model);
        const body = request.body as { instances?: unknown } | null;
        if (typeof body !== 'object' || body === null || !Array.isArray(body.instances))
          return reply
            .code(400)
            .send({ error: `the body must be {"instances": [[${route.instances.join(', ')}], ...]}` });
        const layout = context.legacyLayouts.get(live)!.get(route.path)!;
        return answer(
          context,
          live,
          { rows: body.instances, positional: true, rowPath: inInstances },
          layout,
          reply,
        );
      });
    }
  };
}
