import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTable } from '../../src/data/table.js';
import { canonicalJson } from '../../src/packaging/integrity.js';
import { loadPackage, PackageModifiedError } from '../../src/packaging/load.js';
import { MANIFEST_FILE, ONNX_FILE, WEIGHTS_FILE } from '../../src/packaging/write.js';
import { writeTinyPackage } from './tiny-package.js';

/** The members of manifest.json these tests edit. */
interface ManifestJson {
  format: string;
  output: { threshold?: number };
  integrity?: { files: Record<string, string> };
}

function editManifest(dir: string, edit: (manifest: ManifestJson) => void): void {
  const file = path.join(dir, MANIFEST_FILE);
  const manifest = JSON.parse(readFileSync(file, 'utf8'));
  edit(manifest);
  writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`);
}

/** Flips one bit of the file's last byte (the weights' data, the ONNX graph's last initializer). */
function flipLastByte(file: string): void {
  const bytes = readFileSync(file);
  bytes[bytes.length - 1] ^= 1;
  writeFileSync(file, bytes);
}

const rows = makeTable([['x', { type: 'number', values: Float64Array.from([0.5, 1.5, 2.5, 2.8, 3.5]) }]]);

function refusal(load: () => unknown): PackageModifiedError {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(PackageModifiedError);
    return error as PackageModifiedError;
  }
  throw new Error('the modified package loaded');
}

describe('package integrity', () => {
  it('records the digests of every file and of the manifest, and verifies them on load', async () => {
    const dir = await writeTinyPackage();
    const manifest = JSON.parse(readFileSync(path.join(dir, MANIFEST_FILE), 'utf8'));
    expect(manifest.integrity).toMatchObject({
      algorithm: 'sha256',
      manifest: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(Object.keys(manifest.integrity.files).sort()).toEqual([ONNX_FILE, WEIGHTS_FILE].sort());
    expect(loadPackage(dir).integrity).toEqual({ status: 'verified' });
  });

  it('refuses a manifest whose threshold was edited, naming manifest.json; allowModified loads it and warns', async () => {
    const dir = await writeTinyPackage();
    const before = await loadPackage(dir).score(rows);
    editManifest(dir, (manifest) => {
      manifest.output.threshold = 0.99;
    });
    const error = refusal(() => loadPackage(dir));
    expect(error.message).toContain(
      `model package ${dir}: modified since it was written, refusing to load it`,
    );
    expect(error.message).toContain('manifest.json differs from the digest it records');
    expect(error.message).toContain('--allow-modified');
    expect(error.changes).toHaveLength(1);

    const warnings: string[] = [];
    const loaded = loadPackage(dir, { allowModified: true, warn: (m) => warnings.push(m) });
    expect(loaded.output.threshold).toBe(0.99);
    expect(loaded.integrity).toEqual({ status: 'modified', changes: error.changes });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`model package ${dir} was modified since it was written`);
    expect(warnings[0]).toContain('manifest.json');
    // The edit is what the warning is about: it changes the decisions.
    const after = await loaded.score(rows);
    expect(after.labels).not.toEqual(before.labels);
  });

  it.each([WEIGHTS_FILE, ONNX_FILE])(
    'refuses a package with one byte of %s changed, naming the file',
    async (file) => {
      const dir = await writeTinyPackage();
      flipLastByte(path.join(dir, file));
      const error = refusal(() => loadPackage(dir));
      expect(error.changes).toEqual([
        expect.stringMatching(
          new RegExp(`^${file.replace('.', '\\.')} has sha256 [0-9a-f]{64}, not the recorded [0-9a-f]{64}$`),
        ),
      ]);
      expect(error.message).toContain(file);
      const warnings: string[] = [];
      expect(loadPackage(dir, { allowModified: true, warn: (m) => warnings.push(m) }).integrity.status).toBe(
        'modified',
      );
      expect(warnings[0]).toContain(file);
    },
  );

  it('refuses new weights whose recorded digest was updated too: the manifest digest covers the file digests', async () => {
    const dir = await writeTinyPackage();
    const weights = path.join(dir, WEIGHTS_FILE);
    flipLastByte(weights);
    const digest = createHash('sha256').update(readFileSync(weights)).digest('hex');
    editManifest(dir, (manifest) => {
      manifest.integrity!.files[WEIGHTS_FILE] = digest;
    });
    expect(refusal(() => loadPackage(dir)).changes).toEqual([
      'manifest.json differs from the digest it records (its content was edited)',
    ]);
  });

  it('refuses a deleted ONNX graph and an unsafe name in the digest list', async () => {
    const dir = await writeTinyPackage();
    rmSync(path.join(dir, ONNX_FILE));
    expect(refusal(() => loadPackage(dir)).message).toMatch(/model\.onnx cannot be read: ENOENT/);
    editManifest(dir, (manifest) => {
      manifest.integrity!.files['../outside'] = manifest.integrity!.files[WEIGHTS_FILE];
    });
    expect(() => loadPackage(dir, { allowModified: true })).toThrow(
      /digested file name "\.\.\/outside" is not a plain file name/,
    );
  });

  it('does not count a re-indented manifest or reordered keys as a change', async () => {
    const dir = await writeTinyPackage();
    const file = path.join(dir, MANIFEST_FILE);
    const manifest = JSON.parse(readFileSync(file, 'utf8'));
    const reordered = Object.fromEntries(Object.entries(manifest).reverse());
    writeFileSync(file, JSON.stringify(reordered));
    expect(loadPackage(dir).integrity).toEqual({ status: 'verified' });
  });

  it('loads a package written before digests existed (formats 1 and 2), with nothing to verify', async () => {
    for (const format of ['kiln.model-package/1', 'kiln.model-package/2']) {
      const dir = await writeTinyPackage();
      // What writePackage wrote before integrity existed: the same manifest without the member.
      editManifest(dir, (manifest) => {
        delete manifest.integrity;
        manifest.format = format;
      });
      expect(loadPackage(dir).integrity).toEqual({ status: 'unrecorded' });
    }
  });

  it('writes canonical JSON with sorted keys and no whitespace', () => {
    expect(canonicalJson({ b: [1, 0.1, 'é'], a: { d: null, c: true } })).toBe(
      '{"a":{"c":true,"d":null},"b":[1,0.1,"é"]}',
    );
  });
});
