import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadPackage, PackageModifiedError } from '../../src/packaging/load.js';
import { MANIFEST_FILE, WEIGHTS_FILE } from '../../src/packaging/write.js';
import { type Backends, openBackends } from '../../src/registry/index.js';
import { RegistrySource } from '../../src/serving/server/sources.js';
import { publishDirectory } from '../../src/stores/artifacts/index.js';
import { RegistryError } from '../../src/stores/metadata/index.js';
import { writeTinyPackage } from '../packaging/tiny-package.js';

const who = { actor: 'mallory', reason: 'test' };

describe('registry package digests', () => {
  let dir: string;
  let backends: Backends;
  let warnings: string[];
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'kiln-tamper-'));
    warnings = [];
    backends = openBackends({
      metadata: 'sqlite://kiln.db',
      artifacts: 'file://artifacts',
      baseDir: dir,
      warn: (message) => warnings.push(message),
    });
  });
  afterEach(async () => {
    await backends.close();
  });

  const cacheOf = (digest: string) => path.join(dir, '.kiln', 'cache', 'packages', digest);

  it('refuses a package whose files, checksums and index were all rewritten in the store', async () => {
    const original = await writeTinyPackage(0);
    const { version } = await backends.registry.register({ name: 'tiny', packageDir: original }, who);
    // Another model, internally consistent (its own manifest digests match), published over the
    // registered one: every object, its sha256 file and the index agree with each other.
    const other = await writeTinyPackage(1);
    await publishDirectory(backends.artifacts, other, `packages/${version.packageDigest}`);
    expect(
      readFileSync(path.join(dir, 'artifacts', 'objects', 'packages', version.packageDigest, WEIGHTS_FILE)),
    ).toEqual(readFileSync(path.join(other, WEIGHTS_FILE)));

    const refused = backends.registry.fetch(version);
    await expect(refused).rejects.toThrow(RegistryError);
    await expect(refused).rejects.toThrow(
      new RegExp(
        `^refusing tiny version 1: its package file://.*/packages/${version.packageDigest} was changed after it was registered \\(the files listed digest to [0-9a-f]{64}, the version records ${version.packageDigest}\\)$`,
      ),
    );
    expect(existsSync(cacheOf(version.packageDigest))).toBe(false);
    // The server's path to a registered model goes through the same check.
    await expect(new RegistrySource(backends.registry, 'tiny@1').load()).rejects.toThrow(
      /was changed after it was registered/,
    );
  });

  it('discards a cached copy that no longer matches the recorded digest and downloads the package again', async () => {
    const original = await writeTinyPackage(0);
    const { version } = await backends.registry.register({ name: 'tiny', packageDir: original }, who);
    const cached = await backends.registry.fetch(version);
    expect(cached).toBe(cacheOf(version.packageDigest));
    // Replaced by another valid package: its own digests match, only the registry's digest tells.
    const other = await writeTinyPackage(1);
    for (const name of readdirSync(other)) cpSync(path.join(other, name), path.join(cached, name));
    expect(loadPackage(cached).integrity.status).toBe('verified');

    expect(await backends.registry.fetch(version)).toBe(cached);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      new RegExp(
        `^the cached copy of tiny version 1 in ${cached} does not match the package digest recorded in the registry \\(it digests to [0-9a-f]{64}\\): discarding it and downloading the package again$`,
      ),
    );
    for (const name of readdirSync(original))
      expect(readFileSync(path.join(cached, name))).toEqual(readFileSync(path.join(original, name)));
    expect(readdirSync(path.dirname(cached))).toEqual([version.packageDigest]);
  });

  it('fails clearly when both the cached copy and the store copy were changed, and keeps neither', async () => {
    const { version } = await backends.registry.register(
      { name: 'tiny', packageDir: await writeTinyPackage(0) },
      who,
    );
    const cached = await backends.registry.fetch(version);
    const weights = path.join(cached, WEIGHTS_FILE);
    const bytes = readFileSync(weights);
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(weights, bytes);
    await publishDirectory(
      backends.artifacts,
      await writeTinyPackage(1),
      `packages/${version.packageDigest}`,
    );

    await expect(backends.registry.fetch(version)).rejects.toThrow(
      /refusing tiny version 1: .* was changed after it was registered/,
    );
    expect(warnings).toHaveLength(1);
    expect(existsSync(cached)).toBe(false);
  });

  it('refuses to register a modified package folder, and registers it with allowModified and a warning', async () => {
    const packageDir = await writeTinyPackage(0);
    const file = path.join(packageDir, MANIFEST_FILE);
    const manifest = JSON.parse(readFileSync(file, 'utf8'));
    manifest.output.threshold = 0.2;
    writeFileSync(file, JSON.stringify(manifest, null, 2));

    const refused = backends.registry.register({ name: 'tiny', packageDir }, who);
    await expect(refused).rejects.toThrow(PackageModifiedError);
    await expect(refused).rejects.toThrow(/manifest\.json differs from the digest it records/);
    expect(await backends.artifacts.list('packages/')).toEqual([]);
    expect(await backends.store.getModel('tiny')).toBeUndefined();

    const { version } = await backends.registry.register(
      { name: 'tiny', packageDir, allowModified: true },
      who,
    );
    expect(version.version).toBe(1);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/was modified since it was written .*manifest\.json/);
  });

  it('uses a matching cached copy without going back to the store', async () => {
    const { version } = await backends.registry.register(
      { name: 'tiny', packageDir: await writeTinyPackage(0) },
      who,
    );
    const cached = await backends.registry.fetch(version);
    rmSync(path.join(dir, 'artifacts'), { recursive: true });
    expect(await backends.registry.fetch(version)).toBe(cached);
    expect(warnings).toEqual([]);
  });
});
