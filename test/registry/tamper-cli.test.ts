/**
 * Tampered packages against the built CLI, as a user meets them: a package folder edited by hand is
 * refused by `kiln predict`, `kiln serve --model <dir>` and `kiln models register`; a registered package
 * rewritten consistently in the artifact store is refused by `kiln serve --model name@1`.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MANIFEST_FILE, WEIGHTS_FILE } from '../../src/packaging/write.js';
import { defaultStores, openBackends } from '../../src/registry/index.js';
import { publishDirectory } from '../../src/stores/artifacts/index.js';
import { writeTinyPackage } from '../packaging/tiny-package.js';
import { runCli, startServe } from '../serving/server/built-cli.js';

async function editedThreshold(): Promise<string> {
  const dir = await writeTinyPackage();
  const file = path.join(dir, MANIFEST_FILE);
  const manifest = JSON.parse(readFileSync(file, 'utf8'));
  manifest.output.threshold = 0.99;
  writeFileSync(file, JSON.stringify(manifest, null, 2));
  return dir;
}

const serveArgs = ['--prediction-log', 'off'];

describe('tampered packages through the CLI', () => {
  it('kiln predict refuses a package with one byte of the weights changed, naming the file', async () => {
    const dir = await writeTinyPackage();
    const weights = path.join(dir, WEIGHTS_FILE);
    const bytes = readFileSync(weights);
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(weights, bytes);
    const work = mkdtempSync(path.join(tmpdir(), 'kiln-tamper-cli-'));
    writeFileSync(path.join(work, 'in.csv'), 'x\n0.5\n3.5\n');
    const result = await runCli(['predict', '--model', dir, '--input', 'in.csv', '--output', 'out.csv'], {
      cwd: work,
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('modified since it was written, refusing to load it');
    expect(result.stderr).toMatch(/weights\.safetensors has sha256 [0-9a-f]{64}, not the recorded/);
  });

  it('kiln predict and kiln evaluate --allow-modified use an edited package, with a warning', async () => {
    const dir = await editedThreshold();
    const work = mkdtempSync(path.join(tmpdir(), 'kiln-tamper-cli-'));
    writeFileSync(path.join(work, 'in.csv'), 'x,y\n0.5,no\n3.5,yes\n1.5,no\n2.5,yes\n');
    const predict = ['predict', '--model', dir, '--input', 'in.csv', '--output', 'out.csv'];
    expect((await runCli(predict, { cwd: work })).code).not.toBe(0);
    const allowed = await runCli([...predict, '--allow-modified'], { cwd: work });
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.stderr).toContain('manifest.json');
    expect(readFileSync(path.join(work, 'out.csv'), 'utf8').split('\n')[0]).toMatch(/^line,label,p_/);
    const evaluate = ['evaluate', '--model', dir, '--input', 'in.csv'];
    expect((await runCli(evaluate, { cwd: work })).code).not.toBe(0);
    const measured = await runCli([...evaluate, '--allow-modified'], { cwd: work });
    expect(measured.code, measured.stderr).toBe(0);
  });

  it('kiln serve --model <dir> and kiln models register refuse a manifest whose threshold was edited', async () => {
    const dir = await editedThreshold();
    await expect(startServe(['--model', dir, ...serveArgs])).rejects.toThrow(
      /cannot serve: model package .*: modified since it was written, refusing to load it: manifest\.json differs/,
    );
    const project = mkdtempSync(path.join(tmpdir(), 'kiln-tamper-cli-'));
    const register = await runCli(['models', 'register', dir, '--name', 'tiny', '--project', project]);
    expect(register.code).not.toBe(0);
    expect(register.stderr).toMatch(/manifest\.json differs from the digest it records/);
  });

  it('kiln serve name@1 refuses a registered package rewritten consistently in the artifact store', async () => {
    const project = mkdtempSync(path.join(tmpdir(), 'kiln-tamper-cli-'));
    const registered = await runCli([
      'models',
      'register',
      await writeTinyPackage(0),
      '--name',
      'tiny',
      '--project',
      project,
    ]);
    expect(registered.code, registered.stderr).toBe(0);
    const backends = openBackends({ ...defaultStores(), baseDir: project });
    try {
      const version = await backends.registry.resolve('tiny@1');
      // Files, their sha256 records and the index, all rewritten to agree with each other.
      await publishDirectory(
        backends.artifacts,
        await writeTinyPackage(1),
        `packages/${version.packageDigest}`,
      );
    } finally {
      await backends.close();
    }
    await expect(startServe(['--model', 'tiny@1', ...serveArgs], { cwd: project })).rejects.toThrow(
      /cannot serve: refusing tiny version 1: its package .* was changed after it was registered/,
    );
  });
});
