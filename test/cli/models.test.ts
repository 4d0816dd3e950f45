import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelVersion, RegistryEvent } from '../../src/stores/metadata/index.js';
import { startReceiver } from '../notifications/receiver.js';
import { runKiln, smallProject, tempDir, writeProject } from './harness.js';

const MODEL = 'quickstart-customer-risk';

describe('kiln models and kiln events', () => {
  let dir: string;
  beforeAll(async () => {
    dir = tempDir();
    await writeProject(dir, {
      project: smallProject({ registry: { alias: 'challenger', intendedUse: 'Demo only.' } }),
    });
    for (const seed of ['0', '1']) {
      const trained = await runKiln(['train', dir, '--seed', seed]);
      expect(trained.code).toBe(0);
    }
  }, 60_000);

  it('train registered each passing run and moved the configured alias to it', async () => {
    const { code, stdout } = await runKiln([
      'models',
      'versions',
      MODEL,
      '--project',
      dir,
      '--format',
      'json',
    ]);
    expect(code).toBe(0);
    const versions = JSON.parse(stdout) as ModelVersion[];
    expect(versions.map((v) => [v.version, v.aliases])).toEqual([
      [2, ['challenger']],
      [1, []],
    ]);
    expect(versions[0].lineage.data[0].rowsRead).toBe(2_000);
    expect(versions[1].metrics).toHaveProperty('headline', 'roc_auc');
    const table = await runKiln(['models', 'list', '--project', dir]);
    expect(table.stdout).toMatch(new RegExp(`${MODEL}\\s+2\\s+challenger→2`));
  });

  it('moves an alias with compare-and-set, and refuses a stale expectation naming the actual version', async () => {
    const moved = await runKiln([
      'models',
      'alias',
      MODEL,
      'champion',
      '1',
      '--project',
      dir,
      '--reason',
      'first',
    ]);
    expect(moved.stdout).toBe(`${MODEL}@champion → version 1 (new alias)\n`);
    const stale = await runKiln([
      'models',
      'alias',
      MODEL,
      'champion',
      '2',
      '--expect',
      '2',
      '--project',
      dir,
    ]);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/points at version 1, not version 2 as this move expected/);
    const ok = await runKiln(['models', 'alias', MODEL, 'champion', '2', '--expect', '1', '--project', dir]);
    expect(ok.stdout).toBe(`${MODEL}@champion → version 2 (was 1)\n`);
    const show = await runKiln(['models', 'show', `${MODEL}@champion`, '--project', dir]);
    expect(JSON.parse(show.stdout).version).toBe(2);
  });

  it('tags, describes and writes the model card', async () => {
    expect((await runKiln(['models', 'tag', `${MODEL}@1`, 'stage', 'retired', '--project', dir])).code).toBe(
      0,
    );
    expect((await runKiln(['models', 'describe', MODEL, 'Customers at risk.', '--project', dir])).code).toBe(
      0,
    );
    const file = path.join(dir, 'card.md');
    expect((await runKiln(['models', 'card', `${MODEL}@1`, '--project', dir, '--output', file])).code).toBe(
      0,
    );
    const card = readFileSync(file, 'utf8');
    expect(card).toContain(`# Model card: ${MODEL}, version 1`);
    expect(card).toContain('Customers at risk.');
    expect(card).toContain('Demo only.');
    expect(card).toContain('- stage: retired');
    expect(card).toMatch(/\| \*\*roc_auc\*\* \| 0\.\d{4} ± 0\.\d{4} \| 0\.\d{4} \[0\.\d{4}, 0\.\d{4}\]/);
  });

  it('deletes only versions no alias points at, and keeps the history', async () => {
    const refused = await runKiln(['models', 'delete', `${MODEL}@2`, '--project', dir]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/still the target of @challenger, @champion/);
    const deleted = await runKiln([
      'models',
      'delete',
      `${MODEL}@1`,
      '--project',
      dir,
      '--reason',
      'superseded',
    ]);
    expect(deleted.code).toBe(0);
    const history = await runKiln(['models', 'history', MODEL, '--project', dir, '--format', 'json']);
    const events = JSON.parse(history.stdout) as RegistryEvent[];
    expect(events.map((e) => e.type)).toEqual([
      'model.created',
      'version.created',
      'alias.moved',
      'version.created',
      'alias.moved',
      'alias.moved',
      'alias.moved',
      'version.tagged',
      'model.described',
      'version.deleted',
    ]);
    expect(events.at(-1)).toMatchObject({ version: 1, reason: 'superseded' });
  });

  it('names what is missing: unknown model, unknown alias, a version number as an alias', async () => {
    const unknown = await runKiln(['models', 'card', 'nope@champion', '--project', dir]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no registered model "nope"/);
    const alias = await runKiln(['models', 'show', `${MODEL}@prod`, '--project', dir]);
    expect(alias.stderr).toMatch(/@prod does not exist \(aliases: @challenger→2, @champion→2/);
    const numeric = await runKiln(['models', 'alias', MODEL, '7', '2', '--project', dir]);
    expect(numeric.stderr).toMatch(/invalid alias "7"/);
  });
});

describe('kiln events with a webhook', () => {
  it('delivers registry changes signed, parks failures, lists and replays them', async () => {
    const receiver = await startReceiver([500]);
    const dir = tempDir();
    process.env.KILN_TEST_WEBHOOK_SECRET = 'cli-secret';
    try {
      await writeProject(dir, {
        project: smallProject({
          notifications: {
            webhooks: [{ name: 'ops', url: receiver.url, secretEnv: 'KILN_TEST_WEBHOOK_SECRET' }],
            retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
          },
        }),
      });
      const trained = await runKiln(['train', dir]);
      expect(trained.code).toBe(0);
      // Two events (model.created, version.created), two attempts each, all answered 500.
      expect(receiver.received).toHaveLength(4);
      const dead = await runKiln(['events', 'dead', '--project', dir]);
      expect(dead.stdout).toMatch(/1\s+webhook:ops\s+2\s+.*HTTP 500/);
      expect(dead.stdout).not.toContain('token=');
      receiver.setStatuses([200]);
      const replay = await runKiln(['events', 'replay', '--project', dir]);
      expect(replay.stdout).toBe('delivered 2, still failing 0\n');
      expect((await runKiln(['events', 'dead', '--project', dir])).stdout).toBe('no dead letters\n');
      const types = receiver.received.slice(4).map((r) => JSON.parse(r.body).type);
      expect(types).toEqual(['model.created', 'version.created']);
      const list = await runKiln(['events', 'list', '--project', dir]);
      expect(list.stdout).toMatch(/version\.created quickstart-customer-risk v1 by /);
    } finally {
      delete process.env.KILN_TEST_WEBHOOK_SECRET;
      await receiver.close();
    }
  }, 60_000);

  it('refuses a webhook without a secret source, naming the field', async () => {
    const dir = tempDir();
    await writeProject(dir, {
      project: smallProject({ notifications: { webhooks: [{ name: 'ops', url: 'http://127.0.0.1:1/x' }] } }),
    });
    const { code, stderr } = await runKiln(['events', 'list', '--project', dir]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/notifications\.webhooks\.0: a webhook needs secretEnv or secretFile/);
  });
});

describe('kiln doctor', () => {
  it('passes on the embedded defaults and fails naming an unreachable artifact store', async () => {
    const dir = tempDir();
    const ok = await runKiln(['doctor', dir]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(
      /ok {2}\s*metadata\s+sqlite:\/\/\.kiln\/kiln\.db\s+SQLite [\d.]+, schema version \d+ of \d+, writable/,
    );
    expect(ok.stdout).toContain('all checks passed');

    const saved = { ...process.env };
    Object.assign(process.env, {
      KILN_ARTIFACTS_URI: 's3://models?endpoint=http://127.0.0.1:9&region=us-east-1',
      AWS_ACCESS_KEY_ID: 'a',
      AWS_SECRET_ACCESS_KEY: 'b',
    });
    try {
      const failed = await runKiln(['doctor', dir]);
      expect(failed.code).toBe(1);
      expect(failed.stdout).toMatch(/FAIL {2}artifacts/);
      expect(failed.stdout).toMatch(/unreachable/);
      expect(failed.stdout).not.toMatch(/AWS_SECRET|\bb\b/);
      expect(failed.stdout).toContain('1 check(s) failed');
    } finally {
      process.env = saved;
    }
  }, 30_000);
});
