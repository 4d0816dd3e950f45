/**
 * The registry over HTTP under /v1/registry. Reads are open like the rest of the API; every write
 * needs an API key, and is refused outright on a server that has no keys configured, so a registry is
 * never writable anonymously. The key's hash prefix is recorded as the actor.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { renderModelCard } from '../../../registry/card.js';
import type { Registry } from '../../../registry/registry.js';
import {
  AliasConflictError,
  type ModelVersion,
  NotFoundError,
  RegistryError,
} from '../../../stores/metadata/index.js';
import { type InternalsPolicy, publicEvent, publicVersion } from '../exposure.js';
import { type ApiKeys, bearerKey, sha256 } from '../security.js';

interface NameParams {
  name: string;
}
interface VersionParams extends NameParams {
  version: string;
}
interface AliasParams extends NameParams {
  alias: string;
}
interface TagParams extends NameParams {
  version: string;
  key: string;
}

const optionalVersion = { anyOf: [{ type: 'integer', minimum: 1 }, { type: 'null' }] } as const;

export function registryRoutes(registry: Registry, keys: ApiKeys, internals: InternalsPolicy) {
  return async (app: FastifyInstance): Promise<void> => {
    const writer = keys.writer(
      'registry writes need API keys: start the server with --api-keys-file or KILN_API_KEYS_SHA256',
    );
    const actor = (request: FastifyRequest) =>
      `api-key:${sha256(bearerKey(request) ?? '')
        .toString('hex')
        .slice(0, 12)}`;

    app.setErrorHandler((error, request, reply) => {
      if (error instanceof AliasConflictError)
        return reply.code(409).send({ error: error.message, expected: error.expected, actual: error.actual });
      if (error instanceof NotFoundError) return reply.code(404).send({ error: error.message });
      if (error instanceof RegistryError) return reply.code(400).send({ error: error.message });
      if ((error as { validation?: unknown }).validation)
        return reply.code(400).send({ error: (error as Error).message });
      request.log.error({ err: error }, 'registry request failed');
      return reply
        .code(503)
        .send({ error: 'the registry is unavailable right now; retry later', id: request.id });
    });

    const version = (params: VersionParams): number => {
      if (!/^\d+$/.test(params.version))
        throw new RegistryError(`"${params.version}" is not a version number`);
      return Number(params.version);
    };
    const versionOrModel = (params: VersionParams): number | null =>
      params.version === '-' ? null : version(params);

    app.get('/v1/registry/models', async () => ({ models: await registry.store.listModels() }));

    // Open reads show paths, URIs and users only to callers allowed internals.
    const shown = (request: FastifyRequest, found: ModelVersion): ModelVersion =>
      internals(request) ? found : publicVersion(found);

    app.get<{ Params: NameParams }>('/v1/registry/models/:name', async (request) => {
      const model = await registry.store.getModel(request.params.name);
      if (!model) throw new NotFoundError(`no registered model "${request.params.name}"`);
      const versions = await registry.store.listVersions(request.params.name);
      return { ...model, versions: versions.map((v) => shown(request, v)) };
    });

    app.get<{ Params: VersionParams }>('/v1/registry/models/:name/versions/:version', async (request) =>
      shown(
        request,
        await registry.resolve({
          name: request.params.name,
          kind: 'version',
          version: version(request.params),
        }),
      ),
    );

    app.get<{ Params: VersionParams }>(
      '/v1/registry/models/:name/versions/:version/card',
      async (request, reply) => {
        const found = await registry.resolve({
          name: request.params.name,
          kind: 'version',
          version: version(request.params),
        });
        const model = (await registry.store.getModel(found.name))!;
        return reply
          .type('text/markdown; charset=utf-8')
          .send(renderModelCard(model, shown(request, found), await registry.manifest(found)));
      },
    );

    app.get<{ Params: AliasParams }>('/v1/registry/models/:name/aliases/:alias', async (request) =>
      shown(
        request,
        await registry.resolve({ name: request.params.name, kind: 'alias', alias: request.params.alias }),
      ),
    );

    app.put<{ Params: AliasParams; Body: { version: number; expected?: number | null; reason?: string } }>(
      '/v1/registry/models/:name/aliases/:alias',
      {
        onRequest: [writer],
        schema: {
          body: {
            type: 'object',
            required: ['version'],
            additionalProperties: false,
            properties: {
              version: { type: 'integer', minimum: 1 },
              expected: optionalVersion,
              reason: { type: 'string', maxLength: 1000 },
            },
          },
        },
      },
      async (request) =>
        registry.moveAlias(
          { name: request.params.name, alias: request.params.alias, ...request.body },
          { actor: actor(request), reason: request.body.reason },
        ),
    );

    app.delete<{ Params: AliasParams; Querystring: { expected?: number; reason?: string } }>(
      '/v1/registry/models/:name/aliases/:alias',
      {
        onRequest: [writer],
        schema: {
          querystring: {
            type: 'object',
            properties: {
              expected: { type: 'integer', minimum: 1 },
              reason: { type: 'string', maxLength: 1000 },
            },
          },
        },
      },
      async (request) =>
        registry.deleteAlias(
          { name: request.params.name, alias: request.params.alias, expected: request.query.expected },
          { actor: actor(request), reason: request.query.reason },
        ),
    );

    // `-` as the version addresses the model itself.
    app.put<{ Params: TagParams; Body: { value: string; reason?: string } }>(
      '/v1/registry/models/:name/versions/:version/tags/:key',
      {
        onRequest: [writer],
        schema: {
          body: {
            type: 'object',
            required: ['value'],
            additionalProperties: false,
            properties: {
              value: { type: 'string', maxLength: 5000 },
              reason: { type: 'string', maxLength: 1000 },
            },
          },
        },
      },
      async (request) =>
        registry.setTag(
          {
            name: request.params.name,
            version: versionOrModel(request.params),
            key: request.params.key,
            value: request.body.value,
          },
          { actor: actor(request), reason: request.body.reason },
        ),
    );

    app.delete<{ Params: TagParams; Querystring: { reason?: string } }>(
      '/v1/registry/models/:name/versions/:version/tags/:key',
      { onRequest: [writer] },
      async (request) =>
        registry.setTag(
          {
            name: request.params.name,
            version: versionOrModel(request.params),
            key: request.params.key,
            value: null,
          },
          { actor: actor(request), reason: request.query.reason },
        ),
    );

    app.put<{ Params: VersionParams; Body: { description: string; reason?: string } }>(
      '/v1/registry/models/:name/versions/:version/description',
      {
        onRequest: [writer],
        schema: {
          body: {
            type: 'object',
            required: ['description'],
            additionalProperties: false,
            properties: {
              description: { type: 'string', maxLength: 20000 },
              reason: { type: 'string', maxLength: 1000 },
            },
          },
        },
      },
      async (request) =>
        registry.setDescription(
          {
            name: request.params.name,
            version: versionOrModel(request.params),
            description: request.body.description,
          },
          { actor: actor(request), reason: request.body.reason },
        ),
    );

    app.delete<{ Params: VersionParams; Querystring: { reason?: string } }>(
      '/v1/registry/models/:name/versions/:version',
      { onRequest: [writer] },
      async (request) =>
        registry.deleteVersion(
          { name: request.params.name, version: version(request.params) },
          { actor: actor(request), reason: request.query.reason },
        ),
    );

    app.get<{ Querystring: { model?: string; after?: number; limit?: number } }>(
      '/v1/registry/events',
      {
        schema: {
          querystring: {
            type: 'object',
            properties: {
              model: { type: 'string' },
              after: { type: 'integer', minimum: 0 },
              limit: { type: 'integer', minimum: 1, maximum: 1000 },
            },
          },
        },
      },
      async (request) => {
        const events = await registry.store.listEvents({
          model: request.query.model,
          afterId: request.query.after,
          limit: request.query.limit ?? 100,
        });
        return { events: internals(request) ? events : events.map(publicEvent) };
      },
    );
  };
}
