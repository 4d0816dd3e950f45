/**
 * Open reads keep server internals (package paths and URIs, training data paths, OS users) for callers
 * with an API key, or for everyone when `exposeInternals` is set.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backends, openBackends } from '../../../src/registry/index.js';
import { buildServer } from '../../../src/serving/server/app.js';
import { HIDDEN } from '../../../src/serving/server/exposure.js';
import { sha256 } from '../../../src/serving/server/security.js';
import { RegistrySource } from '../../../src/serving/server/sources.js';
import { writeTinyPackage } from '../../packaging/tiny-package.js';

const KEY = 'exposure-test-key';
const READS = [
  '/v1/models/tiny',
  '/v1/registry/models/tiny',
  '/v1/registry/models/tiny/versions/1',
  '/v1/registry/models/tiny/versions/1/card',
  '/v1/registry/models/tiny/aliases/champion',
  '/v1/registry/events?model=tiny',
];

describe('kiln serve: internals on open reads', () => {
  let dir: string;
  let backends: Backends;
  const serve = async (exposeInternals?: boolean) => {
    const app = buildServer({
      sources: [new RegistrySource(backends.registry, 'tiny@champion', 'js', 60_000)],
      registry: backends.registry,
      apiKeyHashes: [sha256(KEY)],
      exposeInternals,
    });
    await app.kiln.ready;
    return app;
  };
  const read = async (app: Awaited<ReturnType<typeof serve>>, key?: string) =>
    (
      await Promise.all(
        READS.map((url) =>
          app.inject({ method: 'GET', url, headers: key ? { authorization: `Bearer ${key}` } : {} }),
        ),
      )
    ).map((r) => {
      expect(r.statusCode, r.payload).toBe(200);
      return r.payload;
    });

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'kiln-serve-exposure-'));
    backends = openBackends({ metadata: 'sqlite://kiln.db', artifacts: 'file://artifacts', baseDir: dir });
    await backends.registry.register({ name: 'tiny', packageDir: await writeTinyPackage() }, { actor: 'ci' });
    await backends.registry.moveAlias({ name: 'tiny', alias: 'champion', version: 1 }, { actor: 'ci' });
  });
  afterAll(() => backends.close());

  it('hides server paths, URIs and users from callers without a key', async () => {
    const app = await serve();
    const user = userInfo().username;
    for (const [i, payload] of (await read(app)).entries()) {
      expect(payload, READS[i]).not.toContain(dir);
      expect(payload, READS[i]).not.toContain(tmpdir());
      expect(payload, READS[i]).not.toMatch(new RegExp(`\\b${user}\\b`));
    }
    const version = (await app.inject({ method: 'GET', url: '/v1/registry/models/tiny/versions/1' })).json();
    expect(version).toMatchObject({ packageUri: HIDDEN, createdBy: HIDDEN, name: 'tiny', version: 1 });
    await app.close();
  });

  it('shows them to a caller with a valid key, and to everyone with exposeInternals', async () => {
    const keyed = await serve();
    const anyone = await serve(true);
    for (const payloads of [await read(keyed, KEY), await read(anyone)]) {
      expect(payloads.join('\n')).toContain(dir);
      expect(payloads.join('\n')).not.toContain(HIDDEN);
    }
    expect((await read(keyed, `not-${KEY}`)).join('\n')).not.toContain(dir);
    await keyed.close();
    await anyone.close();
  });
});
