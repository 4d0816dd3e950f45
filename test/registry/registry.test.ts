import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadPackage } from '../../src/packaging/load.js';
import { MANIFEST_FILE } from '../../src/packaging/write.js';
import { type Backends, openBackends, parseReference, renderModelCard } from '../../src/registry/index.js';
import { NotFoundError, RegistryError } from '../../src/stores/metadata/index.js';
import { writeTinyPackage } from '../packaging/tiny-package.js';

const who = { actor: 'alice', reason: 'test' };

describe('registry references', () => {
  it('parses name, name@version and name@alias, and refuses unsafe names', () => {
    expect(parseReference('risk')).toEqual({ name: 'risk', kind: 'latest' });
    expect(parseReference('risk@3')).toEqual({ name: 'risk', kind: 'version', version: 3 });
    expect(parseReference('risk@champion')).toEqual({ name: 'risk', kind: 'alias', alias: 'champion' });
    expect(() => parseReference('../x@champion')).toThrow(RegistryError);
    expect(() => parseReference('risk@../x')).toThrow(RegistryError);
  });
});

describe('registry on the embedded stores', () => {
  let dir: string;
  let backends: Backends;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'kiln-registry-'));
    backends = openBackends({ metadata: 'sqlite://kiln.db', artifacts: 'file://artifacts', baseDir: dir });
  });
  afterEach(async () => {
    await backends.close();
  });

  it('publishes a package by content digest, records the version, and fetches it back verified', async () => {
    const packageDir = await writeTinyPackage();
    const { version, created } = await backends.registry.register({ name: 'tiny', packageDir }, who);
    expect(created).toBe(true);
    expect(version).toMatchObject({ name: 'tiny', version: 1, createdBy: 'alice' });
    expect(version.packageUri).toBe(`${backends.artifacts.uri}/packages/${version.packageDigest}`);
    expect(version.lineage).toMatchObject({ project: 'tiny', codeVersion: 'test', parentVersion: null });

    const fetched = await backends.registry.fetch(version);
    expect(fetched.startsWith(path.join(dir, '.kiln', 'cache'))).toBe(true);
    expect(readFileSync(path.join(fetched, MANIFEST_FILE))).toEqual(
      readFileSync(path.join(packageDir, MANIFEST_FILE)),
    );
    expect(loadPackage(fetched).manifest.name).toBe('tiny');
  });

  it('registering the same package again returns the same version', async () => {
    const packageDir = await writeTinyPackage();
    const first = await backends.registry.register({ name: 'tiny', packageDir }, who);
    const again = await backends.registry.register({ name: 'tiny', packageDir }, who);
    expect(again).toEqual({ version: first.version, created: false });
  });

  it('resolves aliases and versions, and says what exists when a reference does not', async () => {
    await backends.registry.register({ name: 'tiny', packageDir: await writeTinyPackage(0) }, who);
    await backends.registry.register({ name: 'tiny', packageDir: await writeTinyPackage(0.5) }, who);
    await backends.registry.moveAlias({ name: 'tiny', alias: 'champion', version: 1 }, who);
    expect((await backends.registry.resolve('tiny@champion')).version).toBe(1);
    expect((await backends.registry.resolve('tiny@2')).version).toBe(2);
    expect((await backends.registry.resolve('tiny')).version).toBe(2);
    await expect(backends.registry.resolve('tiny@challenger')).rejects.toThrow(
      /tiny@challenger does not exist \(aliases: @champion→1; latest version: 2\); point it at a version with `kiln models alias tiny challenger 2`/,
    );
    await expect(backends.registry.resolve('nope@champion')).rejects.toThrow(NotFoundError);
  });

  it('records the champion at registration time as the parent version', async () => {
    await backends.registry.register({ name: 'tiny', packageDir: await writeTinyPackage(0) }, who);
    await backends.registry.moveAlias({ name: 'tiny', alias: 'champion', version: 1 }, who);
    const { version } = await backends.registry.register(
      { name: 'tiny', packageDir: await writeTinyPackage(0.5) },
      who,
    );
    expect(version.lineage.parentVersion).toBe(1);
  });

  it('refuses a fetched package whose bytes changed in the store', async () => {
    const { version } = await backends.registry.register(
      { name: 'tiny', packageDir: await writeTinyPackage() },
      who,
    );
    const key = `packages/${version.packageDigest}/weights.safetensors`;
    const weights = await backends.artifacts.getBytes(key);
    weights[weights.length - 1] ^= 1;
    // Rewritten through the store, so only the package index still holds the original checksum.
    await backends.artifacts.putBytes(key, weights);
    await expect(backends.registry.fetch(version)).rejects.toThrow(/checksum|sha256/i);
    expect(existsSync(path.join(dir, '.kiln', 'cache', 'packages', version.packageDigest))).toBe(false);
  });

  it('deletes a version and its package, keeping content another version still uses', async () => {
    const packageDir = await writeTinyPackage();
    const { version: v1 } = await backends.registry.register({ name: 'tiny', packageDir }, who);
    const { version: other } = await backends.registry.register({ name: 'copy', packageDir }, who);
    expect(other.packageDigest).toBe(v1.packageDigest);
    await backends.registry.deleteVersion({ name: 'tiny', version: 1 }, who);
    expect(await backends.artifacts.list(`packages/${v1.packageDigest}/`)).not.toEqual([]);
    await backends.registry.deleteVersion({ name: 'copy', version: 1 }, who);
    expect(await backends.artifacts.list(`packages/${v1.packageDigest}/`)).toEqual([]);
  });

  it('writes a model card with data, metrics with variability, use, limitations and lineage', async () => {
    const packageDir = await writeTinyPackage(0, 'tiny', {
      metrics: {
        headline: 'roc_auc',
        cv: { roc_auc: { n: 5, mean: 0.7123, std: 0.0131, min: 0.69, max: 0.73 } },
        intervals: {
          roc_auc: { estimate: 0.7101, lower: 0.69, upper: 0.73, level: 0.95, replicates: 1000 },
        },
      },
      card: {
        intendedUse: 'Ranking customers for a review.',
        limitations: ['Not for credit decisions.'],
      },
      reference: { classPrior: [0.95, 0.05] },
    });
    const { version } = await backends.registry.register(
      { name: 'tiny', packageDir, description: 'first cut' },
      who,
    );
    await backends.registry.moveAlias({ name: 'tiny', alias: 'champion', version: 1 }, who);
    const resolved = await backends.registry.resolve('tiny@champion');
    const model = (await backends.store.getModel('tiny'))!;
    const card = renderModelCard(model, resolved, await backends.registry.manifest(version));
    expect(card).toContain('# Model card: tiny, version 1');
    expect(card).toContain('`@champion`');
    expect(card).toContain('first cut');
    expect(card).toContain(
      '| **roc_auc** | 0.7123 ± 0.0131 | 0.7101 [0.6900, 0.7300] (95 %, 1000 resamples) |',
    );
    expect(card).toContain('Ranking customers for a review.');
    expect(card).toContain('- Not for credit decisions.');
    expect(card).toMatch(/smallest class is 5\.0 %/);
    expect(card).toContain(`sha256 digest \`${version.packageDigest}\``);
    expect(card).toContain('- Code version: test');
  });
});

describe('registry on an unreachable artifact store', () => {
  it('fails clearly and records no version pointing at missing artifacts', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kiln-registry-'));
    const saved = { ...process.env };
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' });
    const backends = openBackends({
      metadata: 'sqlite://kiln.db',
      // Port 9 (discard) is closed on loopback: every connection is refused.
      artifacts: 's3://models/kiln?endpoint=http://127.0.0.1:9&region=us-east-1',
      baseDir: dir,
    });
    try {
      await expect(
        backends.registry.register({ name: 'tiny', packageDir: await writeTinyPackage() }, who),
      ).rejects.toThrow(
        /cannot register tiny: publishing the package to s3:\/\/models\/kiln failed, so no version was recorded/,
      );
      expect(await backends.store.listModels()).toEqual([]);
      expect(await backends.store.listEvents()).toEqual([]);
    } finally {
      await backends.close();
      process.env = saved;
    }
  }, 30_000);
});
