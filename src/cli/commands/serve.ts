import { existsSync } from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { type LoadedProject, loadProject } from '../../config/load.js';
import {
  defaultStores,
  looksLikeReference,
  openBackends,
  openProjectBackends,
} from '../../registry/index.js';
import { ENGINE_NAMES, type EngineName } from '../../scoring/engine.js';
import {
  DEFAULT_LIMITS,
  DEFAULT_PREDICTION_LOG,
  parseServing,
  parseSize,
  type ServingConfig,
} from '../../serving/server/config.js';
import { loadKeyHashes } from '../../serving/server/security.js';
import type { ModelSource } from '../../serving/server/sources.js';
import { describeArtifactStore } from '../../stores/artifacts/index.js';
import { UserError } from '../errors.js';
import { positiveInteger } from './shared.js';

interface ServeOptions {
  model: string[];
  project?: string;
  host?: string;
  port?: number;
  maxBody?: string;
  maxRecords?: number;
  timeoutMs?: number;
  maxConnections?: number;
  keepAliveTimeoutMs?: number;
  maxRequestsPerSocket?: number;
  apiKeysFile?: string;
  requireAuthForPredict?: boolean;
  openFeedback?: boolean;
  acceptUnknownFeedback?: boolean;
  extraFields?: 'reject' | 'ignore';
  predictionLog?: string;
  engine?: EngineName;
  allowModified?: boolean;
}

export function serveCommand(): Command {
  return new Command('serve')
    .description(
      'Serve model packages over HTTP: named-record and KServe v1 predictions, the Open Inference Protocol v2, health, Prometheus metrics and OpenAPI docs.',
    )
    .option(
      '--model <dir>',
      'model package folder or registry reference name@alias / name@3 (repeatable)',
      collect,
      [],
    )
    .option(
      '--project <dir>',
      'project whose `serving:` section configures the server (models, limits, legacy routes)',
    )
    .option('--host <host>', 'address to bind (env KILN_HOST; default 127.0.0.1)')
    .option('--port <n>', 'port, 0 for any free one (env KILN_PORT; default 8080)', positiveInteger('--port'))
    .option('--max-body <size>', 'largest request body, e.g. 1mb, 512kb (env KILN_MAX_BODY; default 1mb)')
    .option(
      '--max-records <n>',
      'most records per request (env KILN_MAX_RECORDS; default 1000)',
      positiveInteger('--max-records'),
    )
    .option(
      '--timeout-ms <n>',
      'deadline of a whole request in ms, body included: 408 while the body is still arriving, 504 after (env KILN_TIMEOUT_MS; default 10000)',
      positiveInteger('--timeout-ms'),
    )
    .option(
      '--max-connections <n>',
      `most open connections; more are closed as they arrive (env KILN_MAX_CONNECTIONS; default ${DEFAULT_LIMITS.maxConnections})`,
      positiveInteger('--max-connections'),
    )
    .option(
      '--keep-alive-timeout-ms <n>',
      `how long an idle kept-alive connection stays open (env KILN_KEEP_ALIVE_TIMEOUT_MS; default ${DEFAULT_LIMITS.keepAliveTimeoutMs})`,
      positiveInteger('--keep-alive-timeout-ms'),
    )
    .option(
      '--max-requests-per-socket <n>',
      'requests one kept-alive connection may carry before it is closed, 0 for no limit (env KILN_MAX_REQUESTS_PER_SOCKET; default 0)',
      wholeNumber('--max-requests-per-socket'),
    )
    .option(
      '--api-keys-file <file>',
      'file of hex SHA-256 hashes of API keys, one a line (env KILN_API_KEYS_FILE)',
    )
    .option(
      '--require-auth-for-predict',
      'predict routes need an API key too (write routes always do when keys are set)',
    )
    .option(
      '--open-feedback',
      'take feedback (true labels) from anyone, without an API key; by default it needs a key, and a server without keys refuses it, like registry writes (serving.feedback.open)',
    )
    .option(
      '--accept-unknown-feedback',
      'store labels for prediction ids the log does not hold (a log that arrives late, or one with retention) instead of answering 404 (serving.feedback.acceptUnknownIds)',
    )
    .addOption(
      new Option('--extra-fields <mode>', 'record fields outside the signature (default reject)').choices([
        'reject',
        'ignore',
      ]),
    )
    .addOption(
      new Option(
        '--engine <name>',
        'js: the package pipeline and model in this process (default); onnx: model.onnx in onnxruntime, the JS pipeline run only to explain refused rows',
      ).choices([...ENGINE_NAMES]),
    )
    .option(
      '--allow-modified',
      'serve a package folder whose files no longer match the digests its manifest records (edited by hand), with a warning; registry packages are always verified',
    )
    .option(
      '--prediction-log <uri>',
      `where predictions and feedback are logged: sqlite://path, jsonl+file://dir, postgres://user@host:5432/db[?schema=name], jsonl+s3://bucket/prefix[?endpoint=…&region=…] or off (env KILN_PREDICTION_LOG_URI; default ${DEFAULT_PREDICTION_LOG.uri})`,
    )
    .addHelpText(
      'after',
      `
Registry references are re-resolved every KILN_REGISTRY_POLL_MS (default 2000): when the alias moves, the
new version loads in the background and replaces the old one atomically once it scores a probe row.
Prediction log: postgres:// takes its password from KILN_POSTGRES_PASSWORD_FILE, KILN_POSTGRES_PASSWORD or PGPASSWORD.
jsonl+s3:// writes segments in $KILN_LOCAL_DIR/prediction-log-staging (default <project>/.kiln/prediction-log-staging)
and uploads each one when it closes (hourly, or at 64 MiB); S3 credentials as for the artifact store.
Keep that folder on a persistent disk. Each answered request is logged at debug level (KILN_LOG_LEVEL=debug),
without its query string.
Where files go: relative paths (the prediction log, its buffer, a registry's .kiln/) resolve against the project
folder: --project, else the project that holds the first --model package (the folder above its .kiln/), else
the current folder. The banner prints that folder and where the prediction log is.
Feedback (POST /v1/models/<name>/feedback) is a write: it needs an API key, and a server without keys
refuses it (403) unless --open-feedback. Its prediction_id must name a prediction of that model in the log,
or one this server has just answered (404 otherwise, unless --accept-unknown-feedback); every label is kept
with its time, and live quality uses the latest. With several servers on one log, a label reaches another
server's prediction once that server has written it (within a fraction of a second while the log is up).
Open reads (/v1/models/<name>, /v1/registry) show server paths, storage URIs, training data paths and users
only to callers with a valid API key, unless the project's serving section sets exposeInternals: true.
Environment: KILN_HOST, KILN_PORT, KILN_ENGINE, KILN_MAX_BODY, KILN_MAX_RECORDS, KILN_TIMEOUT_MS,
KILN_MAX_CONNECTIONS, KILN_KEEP_ALIVE_TIMEOUT_MS, KILN_MAX_REQUESTS_PER_SOCKET, KILN_API_KEYS_FILE,
KILN_API_KEYS_SHA256 (comma-separated hex SHA-256 hashes of accepted keys), KILN_LOG_LEVEL (default info).
Flags win over the environment, which wins over the project's serving section.

Examples:
  kiln serve --project examples/customer-risk --model customer-risk@champion   # follows the alias
  kiln serve --model .kiln/runs/<run id>/package
  kiln serve --project examples/customer-risk --model <package> --port 8080
  KILN_API_KEYS_SHA256=$(printf %s "$KEY" | sha256sum | cut -d' ' -f1) kiln serve --model <package>
  curl -s localhost:8080/v1/models/<name>/predict -H content-type:application/json \\
    -d '{"deposits": 50, "withdrawals": null, "stakes": 20, "product": "bet", "age": "50+"}'`,
    )
    .action(async (options: ServeOptions) => {
      const env = process.env;
      let serving: ServingConfig = parseServing({}, 'defaults');
      let projectDir = packageProject(options.model) ?? process.cwd();
      let loaded: LoadedProject | undefined;
      if (options.project) {
        loaded = await loadProject(options.project);
        projectDir = loaded.dir;
        serving = parseServing(loaded.project.serving, loaded.configFile);
      }
      const refs =
        options.model.length > 0
          ? options.model
          : serving.models.map((m) => (looksLikeReference(m) ? m : path.resolve(projectDir, m)));
      if (refs.length === 0)
        throw new UserError(
          'nothing to serve: pass --model <package dir> (or list models under serving.models)',
          2,
        );
      const number = (name: string, value: string | undefined): number | undefined => {
        if (value === undefined || value === '') return undefined;
        const n = Number(value);
        if (!Number.isInteger(n) || n < 0)
          throw new UserError(`${name} must be a whole number, got "${value}"`, 2);
        return n;
      };
      const host = options.host ?? env.KILN_HOST ?? serving.host ?? '127.0.0.1';
      const port = options.port ?? number('KILN_PORT', env.KILN_PORT) ?? serving.port ?? 8080;
      let bodyLimit: number;
      try {
        bodyLimit = parseSize(
          options.maxBody ?? env.KILN_MAX_BODY ?? serving.maxBody ?? DEFAULT_LIMITS.maxBody,
        );
      } catch (error) {
        throw new UserError(`--max-body: ${(error as Error).message}`, 2);
      }
      const keysFile =
        options.apiKeysFile ??
        env.KILN_API_KEYS_FILE ??
        (serving.auth.apiKeysFile ? path.resolve(projectDir, serving.auth.apiKeysFile) : undefined);
      const apiKeyHashes = loadKeyHashes({ file: keysFile, env: env.KILN_API_KEYS_SHA256 });
      const engine = (options.engine ?? env.KILN_ENGINE ?? 'js') as EngineName;
      if (!ENGINE_NAMES.includes(engine))
        throw new UserError(`KILN_ENGINE must be ${ENGINE_NAMES.join(' or ')}, got "${engine}"`, 2);
      // The registry (and /v1/registry) comes with a project or with the first name@alias to serve.
      const backends =
        loaded !== undefined
          ? openProjectBackends(loaded)
          : refs.some(looksLikeReference)
            ? openBackends({ ...defaultStores(), baseDir: projectDir })
            : undefined;
      const pollMs = number('KILN_REGISTRY_POLL_MS', env.KILN_REGISTRY_POLL_MS) ?? 2000;
      // Imported here, not at the top: the serving runtime and the prediction log's backends (pg,
      // the HTTP stack) are the CLI's heaviest imports, and every other command would pay for them.
      const { sourceFor } = await import('../../serving/server/sources.js');
      const { openPredictionLog } = await import('../../monitoring/prediction-log/index.js');
      let sources: ModelSource[];
      try {
        sources = refs.map((ref) =>
          sourceFor(ref, {
            engine,
            registry: backends?.registry,
            pollMs,
            allowModified: options.allowModified,
          }),
        );
      } catch (error) {
        await backends?.close();
        throw new UserError((error as Error).message);
      }

      const logUri = options.predictionLog ?? env.KILN_PREDICTION_LOG_URI ?? serving.predictionLog;
      const predictionLog =
        logUri === 'off'
          ? undefined
          : await openPredictionLog(logUri, {
              baseDir: projectDir,
              bufferDir: serving.predictionLogBuffer,
            }).catch(async (error: Error) => {
              await backends?.close();
              throw new UserError(
                `cannot open the prediction log ${describeArtifactStore(logUri)}: ${error.message}`,
              );
            });
      const { buildServer } = await import('../../serving/server/app.js');
      const app = buildServer({
        sources,
        predictionLog,
        bodyLimit,
        maxRecords:
          options.maxRecords ?? number('KILN_MAX_RECORDS', env.KILN_MAX_RECORDS) ?? serving.maxRecords,
        timeoutMs: options.timeoutMs ?? number('KILN_TIMEOUT_MS', env.KILN_TIMEOUT_MS) ?? serving.timeoutMs,
        maxConnections:
          options.maxConnections ??
          number('KILN_MAX_CONNECTIONS', env.KILN_MAX_CONNECTIONS) ??
          serving.maxConnections,
        keepAliveTimeoutMs:
          options.keepAliveTimeoutMs ??
          number('KILN_KEEP_ALIVE_TIMEOUT_MS', env.KILN_KEEP_ALIVE_TIMEOUT_MS) ??
          serving.keepAliveTimeoutMs,
        maxRequestsPerSocket:
          options.maxRequestsPerSocket ??
          number('KILN_MAX_REQUESTS_PER_SOCKET', env.KILN_MAX_REQUESTS_PER_SOCKET) ??
          serving.maxRequestsPerSocket,
        extraFields: options.extraFields ?? serving.extraFields,
        legacyRoutes: serving.legacyRoutes,
        textRoutes: serving.textRoutes,
        apiKeyHashes,
        requireAuthForPredict: options.requireAuthForPredict ?? serving.auth.requireAuthForPredict,
        openFeedback: options.openFeedback ?? serving.feedback.open,
        acceptUnknownFeedback: options.acceptUnknownFeedback ?? serving.feedback.acceptUnknownIds,
        rateLimit: serving.rateLimit,
        cors: serving.cors,
        exposeInternals: serving.exposeInternals,
        defaultMetrics: true,
        registry: backends?.registry,
        logger: {
          level: env.KILN_LOG_LEVEL ?? 'info',
          // Request logs never carry headers or bodies; this is the second line of defence.
          redact: ['req.headers.authorization', 'headers.authorization', 'body'],
          stream: process.stderr,
        },
      });
      try {
        await app.kiln.ready;
      } catch (error) {
        await app.close();
        await backends?.close();
        throw new UserError(`cannot serve: ${(error as Error).message}`);
      }
      const address = await app.listen({ host, port });
      const lines = app.kiln.models
        .all()
        .map((live) => `  ${live.model.name}  version ${live.model.version}  (${live.model.origin})`);
      process.stdout.write(
        `serving on ${address}\n${lines.join('\n')}\ndocs:     ${address}/docs\nmetrics:  ${address}/metrics\n` +
          `log:      ${predictionLog ? resolvedLog(env.KILN_PREDICTION_LOG_URI || logUri, projectDir) : 'off'}\n` +
          `feedback: ${feedbackPolicy(options.openFeedback ?? serving.feedback.open, apiKeyHashes.length > 0)}\n` +
          `project:  ${projectDir}\n`,
      );
      // SIGTERM/SIGINT: stop accepting, let requests in flight finish, flush the prediction log, exit 0.
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        process.once('SIGTERM', () => resolve('SIGTERM'));
        process.once('SIGINT', () => resolve('SIGINT'));
      });
      process.stdout.write(`${signal}: draining requests in flight\n`);
      await app.close();
      await backends?.close();
    });
}

function collect(value: string, previous: string[]): string[] {
  if (value.trim() === '') throw new InvalidArgumentError('--model needs a package folder');
  return [...previous, value];
}

function wholeNumber(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${flag} must be a whole number`);
    return n;
  };
}

/**
 * The project folder of the first package folder among `models`: the folder above the `.kiln/` that
 * holds it (runs and the artifact store live there), so the server's files join the project's.
 */
function packageProject(models: readonly string[]): string | undefined {
  for (const model of models) {
    if (!existsSync(model)) continue;
    const parts = path.resolve(model).split(path.sep);
    const at = parts.lastIndexOf('.kiln');
    if (at > 0) return parts.slice(0, at).join(path.sep) || path.sep;
  }
  return undefined;
}

function feedbackPolicy(open: boolean, keys: boolean): string {
  if (open) return 'open to anyone (--open-feedback)';
  return keys ? 'with an API key' : 'refused: no API keys (--open-feedback takes labels from anyone)';
}

/** The log URI as opened: file-backed URIs with the relative path resolved against the project. */
function resolvedLog(uri: string, projectDir: string): string {
  const match = /^(sqlite|jsonl\+file):\/\/(.+)$/.exec(uri);
  if (!match || match[2] === ':memory:' || match[2].includes('?')) return describeArtifactStore(uri);
  return `${match[1]}://${path.resolve(projectDir, match[2])}`;
}
