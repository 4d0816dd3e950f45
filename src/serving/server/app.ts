/**
 * `buildServer`: the Fastify app of `kiln serve`. Models load in the background from their sources
 * (`/readyz` says when all are live); routes live in encapsulated plugins registered after CORS and the
 * rate limiter, so those apply to every route.
 */
import { randomUUID } from 'node:crypto';
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify';
import type { PredictionLog } from '../../monitoring/prediction-log/log.js';
import type { Registry } from '../../registry/registry.js';
import { kilnVersion } from '../../util/provenance.js';
import { clip, parseJson } from './body.js';
import { DEFAULT_LIMITS, type LegacyRoute, type TextRoute } from './config.js';
import type { ServerContext } from './context.js';
import { emptyDocument, refreshDocument } from './docs.js';
import { internalsPolicy } from './exposure.js';
import { createMetrics, type ServerMetrics } from './metrics.js';
import { PredictTimeout } from './predict.js';
import { feedbackRoutes } from './routes/feedback.js';
import { healthRoutes } from './routes/health.js';
import { registryRoutes } from './routes/registry.js';
import { textRoutes } from './routes/text.js';
import { v1Routes } from './routes/v1.js';
import { v2Routes } from './routes/v2.js';
import { ApiKeys, rateLimitKey } from './security.js';
import { type ModelSource, ServedModels } from './sources.js';
import { type ExtraFields, instanceLayout, type RowLayout } from './validation.js';

export interface ServerOptions {
  sources: readonly ModelSource[];
  /** Where every prediction is logged (after the response) and feedback stored; closed with the server. */
  predictionLog?: PredictionLog;
  /** Bytes; a larger body is a 413. Default 1 MiB. */
  bodyLimit?: number;
  /** Records (rows) per request; more is a 413. Default 1,000. */
  maxRecords?: number;
  /**
   * Deadline of receiving a whole request, body included (Node answers 408), and of asynchronous engines
   * (504). Default 10 s.
   */
  timeoutMs?: number;
  /** Open connections at once; more are closed as they arrive. Default 1,024. */
  maxConnections?: number;
  /** How long an idle kept-alive connection stays open. Default 72 s. */
  keepAliveTimeoutMs?: number;
  /** Requests one kept-alive connection may carry before the server closes it; 0 = no limit (default). */
  maxRequestsPerSocket?: number;
  /** Record fields outside the signature: 400 (default) or ignored. */
  extraFields?: ExtraFields;
  legacyRoutes?: readonly LegacyRoute[];
  textRoutes?: readonly TextRoute[];
  /** SHA-256 digests of accepted API keys; none = auth off. Write routes need a key when set. */
  apiKeyHashes?: readonly Buffer[];
  requireAuthForPredict?: boolean;
  /** Feedback without an API key (default: a key, and refused on a server without keys, like registry writes). */
  openFeedback?: boolean;
  /** Feedback for prediction ids the log does not hold is stored (default: a 404), for logs that arrive late. */
  acceptUnknownFeedback?: boolean;
  /** Per API key (else per client address) requests per window; off when absent. */
  rateLimit?: { max: number; timeWindowMs: number };
  /** Allowed browser origins; CORS off when absent. */
  cors?: { origins: readonly string[] };
  /** Fastify/pino logger options; off by default (the CLI passes JSON logging). */
  logger?: FastifyServerOptions['logger'];
  /** Process metrics (CPU, memory, event loop lag) on /metrics. */
  defaultMetrics?: boolean;
  /**
   * Open reads show server paths, storage URIs, data paths and users to everyone; otherwise only to
   * callers with a valid API key (default false).
   */
  exposeInternals?: boolean;
  /** Serves /v1/registry (reads open, writes with an API key) when given. */
  registry?: Registry;
}

export interface KilnState {
  readonly models: ServedModels;
  readonly metrics: ServerMetrics;
  /** Settles when every source has loaded (rejects with the first load failure). */
  readonly ready: Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    kiln: KilnState;
  }
}

export function buildServer(options: ServerOptions): FastifyInstance {
  const bodyLimit = options.bodyLimit ?? DEFAULT_LIMITS.maxBody;
  const timeoutMs = options.timeoutMs ?? DEFAULT_LIMITS.timeoutMs;
  const extraFields = options.extraFields ?? 'reject';
  const legacyRoutes = options.legacyRoutes ?? [];
  const textRouteList = options.textRoutes ?? [];
  const served = new Set(options.sources.map((s) => s.name));
  for (const route of [...legacyRoutes, ...textRouteList])
    if (!served.has(route.model))
      throw new Error(
        `legacy route ${route.path} answers with model "${route.model}", which is not served (serving: ${[...served].join(', ')})`,
      );
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit,
    requestTimeout: timeoutMs,
    // Node enforces requestTimeout (headers and body: a slow body gets a 408) only when the server is
    // constructed with it; Fastify sets the property afterwards, so it goes here too. Node checks every
    // 30 s by default: check often enough to honour timeoutMs.
    http: { requestTimeout: timeoutMs, connectionsCheckingInterval: Math.min(1000, timeoutMs) },
    keepAliveTimeout: options.keepAliveTimeoutMs ?? DEFAULT_LIMITS.keepAliveTimeoutMs,
    maxRequestsPerSocket: options.maxRequestsPerSocket ?? DEFAULT_LIMITS.maxRequestsPerSocket,
    // One log line per request (onResponse below) without bodies or headers.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => randomUUID(),
  });
  app.server.maxConnections = options.maxConnections ?? DEFAULT_LIMITS.maxConnections;
  // JSON only: text/plain is not read (a 415 naming the content type), and JSON is parsed with messages
  // that say what is wrong (the default parser says neither where JSON is malformed nor why it refuses).
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJson(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  const metrics = createMetrics({
    defaultMetrics: options.defaultMetrics,
    predictionLog: options.predictionLog,
  });
  const models = new ServedModels(metrics);
  const legacyLayouts: ServerContext['legacyLayouts'] = new WeakMap();
  const keys = new ApiKeys(options.apiKeyHashes ?? []);
  const context: ServerContext = {
    models,
    sources: options.sources,
    metrics,
    keys,
    internals: internalsPolicy(keys, options.exposeInternals ?? false),
    requireAuthForPredict: options.requireAuthForPredict ?? false,
    openFeedback: options.openFeedback ?? false,
    acceptUnknownFeedback: options.acceptUnknownFeedback ?? false,
    maxRecords: options.maxRecords ?? DEFAULT_LIMITS.maxRecords,
    predict: { extraFields, timeoutMs },
    log: options.predictionLog,
    registry: options.registry,
    legacyRoutes,
    legacyLayouts,
    ready: () => options.sources.every((s) => models.get(s.name) !== undefined),
  };

  // A legacy route that could never succeed on a model's signature keeps that model from going live.
  models.addCheck((live) => {
    const layouts = new Map<string, RowLayout>();
    for (const route of legacyRoutes) {
      if (route.model !== live.model.name) continue;
      try {
        layouts.set(route.path, instanceLayout(live.signature, route.instances, route.defaults));
      } catch (error) {
        throw new Error(`legacy route ${route.path} on model "${route.model}": ${(error as Error).message}`);
      }
    }
    legacyLayouts.set(live, layouts);
    for (const route of textRouteList) {
      if (route.model !== live.model.name) continue;
      // A text route answers the top classes and their probabilities.
      if (!live.rule)
        throw new Error(
          `text route ${route.path}: model "${route.model}" is a ${live.task.name} model; text routes answer classes and need a classification model`,
        );
      const column = live.signature.columns.find((c) => c.name === route.column);
      if (!column || (column.spec.type !== 'text' && column.spec.type !== 'string'))
        throw new Error(
          `text route ${route.path}: model "${route.model}" has no text input "${route.column}"`,
        );
    }
  });

  const document = emptyDocument(kilnVersion());
  models.onSwap(() =>
    refreshDocument(document, models.all(), legacyRoutes, {
      extraFields,
      openFeedback: options.openFeedback ?? false,
    }),
  );

  // Callback-style hooks: cheaper than async ones on the hot path.
  app.addHook('onRequest', (_request, _reply, done) => {
    metrics.requestStarted();
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    metrics.requestFinished(
      request.routeOptions.url ?? 'unmatched',
      request.method,
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
    // Answered requests are counted in /metrics; one line each only at debug level (KILN_LOG_LEVEL),
    // refusals and failures always.
    const level = reply.statusCode >= 500 ? 'warn' : reply.statusCode >= 400 ? 'info' : 'debug';
    request.log[level](
      {
        method: request.method,
        // Never the query string: clients put keys there (`?api_key=...`).
        path: clip(pathOf(request.url)),
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 100) / 100,
      },
      'request',
    );
    done();
  });

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    if (error instanceof PredictTimeout)
      return reply.code(504).send({ error: error.message, id: request.id });
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      return reply
        .code(413)
        .send({ error: `the request body is larger than the limit of ${bodyLimit} bytes (--max-body)` });
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
      return reply.code(415).send({
        error: `content-type ${clip(request.headers['content-type'] ?? '(none)')} is not accepted: send the body as JSON with content-type: application/json`,
      });
    const status = error.statusCode ?? 500;
    if (status < 500) return reply.code(status).send({ error: clip(error.message, 1000) });
    // A failing model or engine: logged with the request id, the client gets the id, never the stack.
    request.log.error({ err: error, reqId: request.id }, 'request failed');
    return reply.code(500).send({ error: 'internal error while serving the request', id: request.id });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: `no route ${request.method} ${clip(pathOf(request.url))}` }),
  );

  if (options.cors) app.register(cors, { origin: [...options.cors.origins] });
  if (options.rateLimit)
    app.register(rateLimit, {
      max: options.rateLimit.max,
      timeWindow: options.rateLimit.timeWindowMs,
      keyGenerator: rateLimitKey,
    });
  app.register(swagger, { mode: 'static', specification: { document: document as never } });
  app.register(swaggerUi, { routePrefix: '/docs' });
  app.register(healthRoutes(context));
  app.register(v1Routes(context));
  app.register(feedbackRoutes(context));
  app.register(v2Routes(context));
  if (textRouteList.length) app.register(textRoutes(context, textRouteList));
  if (options.registry) app.register(registryRoutes(options.registry, keys, context.internals));

  const unsubscribe: (() => void)[] = [];
  const ready = Promise.all(
    options.sources.map(async (source) => {
      await models.load(source);
      app.log.info(
        { model: source.name, version: models.get(source.name)?.model.version, from: source.describe() },
        'model loaded',
      );
      // A moved alias reloads in the background; the current version serves until the new one is live.
      const stop = source.watch?.(() => {
        models
          .load(source)
          .catch((error) =>
            app.log.error({ err: error, model: source.name }, 'reload failed; keeping the current version'),
          );
      });
      if (stop) unsubscribe.push(stop);
    }),
  ).then(() => undefined);
  // Awaited by whoever starts the server; this only keeps an unobserved failure from crashing the process.
  ready.catch(() => {});
  app.decorate('kiln', { models, metrics, ready } satisfies KilnState);

  // Draining: Node lets a busy keep-alive connection outlive server.close() until its idle timeout, so
  // responses sent while closing ask the client to close it, and close() returns once they are out.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });
  app.addHook('onClose', async () => {
    for (const stop of unsubscribe) stop();
    if (options.predictionLog) {
      await options.predictionLog.flush();
      await options.predictionLog.close();
    }
  });
  return app;
}

function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}
