import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MANIFEST_FILE } from '../../src/packaging/write.js';
import { serve, stop } from '../monitoring/serve-process.js';
import { writeTinyPackage } from '../packaging/tiny-package.js';
import { BIN } from '../serving/server/built-cli.js';

/** Edits the threshold by hand, as someone tuning a package in an editor would. */
function editThreshold(dir: string, threshold: number): void {
  const file = path.join(dir, MANIFEST_FILE);
  const manifest = JSON.parse(readFileSync(file, 'utf8'));
  manifest.output.threshold = threshold;
  writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`);
}

async function label(base: string, x: number): Promise<string> {
  const reply = await fetch(`${base}/v1/models/tiny/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ x }),
  });
  expect(reply.status).toBe(200);
  return ((await reply.json()) as { predictions: { label: string }[] }).predictions[0].label;
}

describe('kiln serve --model <modified package folder>', () => {
  it('refuses to start on a hand-edited package, and serves it with a warning under --allow-modified', async () => {
    const dir = await writeTinyPackage();
    const cwd = path.dirname(dir);
    const original = await serve(['--model', dir, '--prediction-log', 'off'], cwd);
    expect(await label(original.base, 3.9)).toBe('yes');
    await stop(original);

    editThreshold(dir, 0.999);
    const refused = spawnSync(
      process.execPath,
      [BIN, 'serve', '--model', dir, '--host', '127.0.0.1', '--port', '0', '--prediction-log', 'off'],
      { cwd, encoding: 'utf8', timeout: 60_000 },
    );
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain('modified since it was written, refusing to load it');
    expect(refused.stderr).toContain('--allow-modified');
    expect(refused.stdout).not.toContain('serving on');

    const allowed = await serve(['--model', dir, '--prediction-log', 'off', '--allow-modified'], cwd);
    expect(allowed.output()).toMatch(/warning: model package .* was modified since it was written/);
    // The edit is live: the hand-set threshold decides.
    expect(await label(allowed.base, 3.9)).toBe('no');
    expect(await stop(allowed)).toBe(0);
  });
});
