import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPackage } from '../../src/packaging/load.js';
import { MANIFEST_FILE, ONNX_FILE } from '../../src/packaging/write.js';
import { writeTinyPackage } from './tiny-package.js';

describe('model packages', () => {
  it('carry the ONNX graph beside the weights and name it in the manifest', async () => {
    const dir = await writeTinyPackage();
    const loaded = loadPackage(dir);
    expect(loaded.manifest.model.onnx).toBe(ONNX_FILE);
    expect(readFileSync(path.join(dir, ONNX_FILE)).length).toBeGreaterThan(100);
  });

  it.each([
    ['weights', '../outside.safetensors'],
    ['onnx', '/etc/passwd'],
    ['onnx', '.hidden'],
  ])('refuse a manifest whose %s file name %s leaves the package folder', async (role, name) => {
    const dir = await writeTinyPackage();
    const file = path.join(dir, MANIFEST_FILE);
    const manifest = JSON.parse(readFileSync(file, 'utf8'));
    manifest.model[role] = name;
    writeFileSync(file, JSON.stringify(manifest));
    expect(() => loadPackage(dir)).toThrow(/is not a plain file name/);
  });
});
