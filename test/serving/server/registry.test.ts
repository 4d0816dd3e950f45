import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backends, openBackends } from '../../../src/registry/index.js';
import { buildServer } from '../../../src/serving/server/app.js';
import { sha256 } from '../../../src/serving/server/security.js';
import { RegistrySource } from '../../../src/serving/server/sources.js';
import { writeTinyPackage } from '../../packaging/tiny-package.js';

const KEY = 'registry-test-key';
const who = { actor: 'ci' };

async function call(base: string, method: string, url: string, body?: unknown, key?: string) {
  const response = await fetch(`${base}${url}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(key ? { authorization: `Bearer ${key}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: response.status, body: parsed as Record<string, unknown> & { error?: string } };
}

describe('kiln serve from the registry', () => {
  let backends: Backends;
  let app: FastifyInstance;
  let base: string;

  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kiln-serve-registry-'));
    backends = openBackends({ metadata: 'sqlite://kiln.db', artifacts: 'file://artifacts', baseDir: dir });
    for (const shift of [0, 1.5])
      await backends.registry.register({ name: 'tiny', packageDir: await writeTinyPackage(shift) }, who);
    await backends.registry.moveAlias({ name: 'tiny', alias: 'champion', version: 1 }, who);
    app = buildServer({
      sources: [new RegistrySource(backends.registry, 'tiny@champion', 'js', 25)],
      registry: backends.registry,
      apiKeyHashes: [sha256(KEY)],
    });
    await app.kiln.ready;
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await app.close();
    await backends.close();
  });

  it('serves name@alias under the registered name, versioned by version number', async () => {
    const { status, body } = await call(base, 'POST', '/v1/models/tiny/predict', { x: 2 });
    expect(status).toBe(200);
    expect(body).toMatchObject({ model: 'tiny', version: '1' });
  });

  it('follows an alias move under load with zero failed requests', async () => {
    let stop = false;
    const seen: string[] = [];
    let failed = 0;
    const clients = Array.from({ length: 16 }, async (_, c) => {
      for (let i = c; !stop; i++) {
        const { status, body } = await call(base, 'POST', '/v1/models/tiny/predict', { x: (i % 40) / 10 });
        if (status === 200) seen.push(body.version as string);
        else failed++;
      }
    });
    while (seen.length < 200) await new Promise((resolve) => setTimeout(resolve, 5));
    const moved = await call(
      base,
      'PUT',
      '/v1/registry/models/tiny/aliases/champion',
      { version: 2, expected: 1, reason: 'better' },
      KEY,
    );
    expect(moved.status).toBe(200);
    const movedAt = seen.length;
    // Keep the load on until the new version has answered 200 times.
    while (seen.slice(movedAt).filter((v) => v === '2').length < 200)
      await new Promise((r) => setTimeout(r, 5));
    stop = true;
    await Promise.all(clients);
    expect(failed).toBe(0);
    expect(seen.slice(0, movedAt)).not.toContain('2');
    // Once version 2 answered, version 1 never answers again (the swap is one reference assignment).
    const firstNew = seen.indexOf('2');
    expect(seen.slice(firstNew + 16)).not.toContain('1');
    expect(app.kiln.models.get('tiny')?.model.version).toBe('2');
  });

  it('lists registered versions and aliases on /v1/models/{name}', async () => {
    const { body } = await call(base, 'GET', '/v1/models/tiny');
    expect(body).toMatchObject({ name: 'tiny', versions: ['2', '1'] });
    expect(body.aliases).toHaveProperty('champion');
  });

  it('answers registry reads openly and refuses writes without a valid key', async () => {
    const model = await call(base, 'GET', '/v1/registry/models/tiny');
    expect(model.status).toBe(200);
    expect(model.body).toMatchObject({ name: 'tiny', latestVersion: 2 });
    const card = await call(base, 'GET', '/v1/registry/models/tiny/versions/1/card');
    expect(card.status).toBe(200);
    expect(card.body).toContain('# Model card: tiny, version 1');
    const anonymous = await call(base, 'PUT', '/v1/registry/models/tiny/aliases/challenger', { version: 1 });
    expect(anonymous.status).toBe(401);
    const wrong = await call(
      base,
      'PUT',
      '/v1/registry/models/tiny/aliases/challenger',
      { version: 1 },
      'nope',
    );
    expect(wrong.status).toBe(401);
    expect(await backends.store.resolveAlias('tiny', 'challenger')).toBeUndefined();
  });

  it('answers a stale alias move with 409 and the actual version, and records who moved it', async () => {
    const stale = await call(
      base,
      'PUT',
      '/v1/registry/models/tiny/aliases/champion',
      { version: 1, expected: 1 },
      KEY,
    );
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ expected: 1, actual: 2 });
    const events = await call(base, 'GET', '/v1/registry/events?model=tiny', undefined, KEY);
    const moves = (events.body.events as { type: string; actor: string; reason: string }[]).filter(
      (e) => e.type === 'alias.moved',
    );
    expect(moves.at(-1)).toMatchObject({
      actor: `api-key:${sha256(KEY).toString('hex').slice(0, 12)}`,
      reason: 'better',
    });
  });

  it('tags versions, 404s unknown ones and 400s bad input', async () => {
    const tagged = await call(
      base,
      'PUT',
      '/v1/registry/models/tiny/versions/2/tags/stage',
      { value: 'prod' },
      KEY,
    );
    expect(tagged.status).toBe(200);
    expect((await backends.store.getVersion('tiny', 2))?.tags).toMatchObject({ stage: 'prod' });
    expect((await call(base, 'GET', '/v1/registry/models/tiny/versions/9')).status).toBe(404);
    expect((await call(base, 'GET', '/v1/registry/models/tiny/versions/x')).status).toBe(400);
    const bad = await call(base, 'PUT', '/v1/registry/models/tiny/aliases/champion', { version: 'two' }, KEY);
    expect(bad.status).toBe(400);
  });
});

describe('registry writes on a server without API keys', () => {
  it('are refused with 403, never allowed anonymously', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kiln-serve-registry-'));
    const backends = openBackends({
      metadata: 'sqlite://kiln.db',
      artifacts: 'file://artifacts',
      baseDir: dir,
    });
    await backends.registry.register({ name: 'tiny', packageDir: await writeTinyPackage() }, who);
    const app = buildServer({ sources: [], registry: backends.registry });
    try {
      const response = await app.inject({
        method: 'PUT',
        url: '/v1/registry/models/tiny/aliases/champion',
        payload: { version: 1 },
      });
      expect(response.statusCode).toBe(403);
      expect(response.json().error).toMatch(/registry writes need API keys/);
      expect(await backends.store.resolveAlias('tiny', 'champion')).toBeUndefined();
    } finally {
      await app.close();
      await backends.close();
    }
  });
});
