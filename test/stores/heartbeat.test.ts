import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type NewRun, openMetadataStore, startRunHeartbeat } from '../../src/stores/metadata/index.js';
import { heartbeatSeconds } from '../../src/stores/metadata/liveness.js';

const newRun: NewRun = {
  project: 'p',
  kind: 'train',
  seed: 0,
  config: {},
  codeVersion: 'x',
  dependencies: {},
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('run heartbeat', () => {
  it('beats from a worker thread, even while the main thread is busy, and stops when told', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kiln-beat-'));
    const store = openMetadataStore('sqlite://kiln.db', dir);
    try {
      const run = await store.createRun(newRun);
      const heartbeat = startRunHeartbeat(store, run.id, { intervalSeconds: 0.05 });
      const beatAfter = async (time: number) =>
        Date.parse((await store.getRun(run.id))?.heartbeatAt ?? '0') > time;
      const started = Date.now();
      await until(() => beatAfter(started + 150), 'the worker to beat');
      // A long synchronous computation: the main thread's timers cannot run, the worker's can.
      const blocked = Date.now();
      while (Date.now() - blocked < 600) {}
      expect(await beatAfter(blocked + 300)).toBe(true);
      expect((await store.getRun(run.id))?.status).toBe('running');
      await heartbeat.stop();
      const last = (await store.getRun(run.id))?.heartbeatAt;
      await sleep(300);
      expect((await store.getRun(run.id))?.heartbeatAt).toBe(last);
      expect((await store.getRun(run.id))?.status).toBe('abandoned');
    } finally {
      await store.close();
    }
  });

  it('beats on this thread for an in-memory store, and from a URI', async () => {
    const memory = openMetadataStore('sqlite://:memory:', '.');
    const run = await memory.createRun(newRun);
    const heartbeat = startRunHeartbeat(memory, run.id, { intervalSeconds: 0.05 });
    const first = (await memory.getRun(run.id))?.heartbeatAt;
    expect(first).not.toBeNull();
    await until(async () => (await memory.getRun(run.id))?.heartbeatAt !== first, 'a second beat');
    await heartbeat.stop();
    await memory.close();

    const dir = mkdtempSync(path.join(tmpdir(), 'kiln-beat-'));
    const store = openMetadataStore('sqlite://kiln.db', dir);
    const other = await store.createRun(newRun);
    const byUri = startRunHeartbeat('sqlite://kiln.db', other.id, { intervalSeconds: 0.05, baseDir: dir });
    await until(async () => (await store.getRun(other.id))?.heartbeatAt !== null, 'a beat from the URI');
    await byUri.stop();
    await store.close();
  });

  it('reports a beat that fails instead of throwing', async () => {
    const memory = openMetadataStore('sqlite://:memory:', '.');
    const run = await memory.createRun(newRun);
    await memory.close();
    const errors: string[] = [];
    const heartbeat = startRunHeartbeat(memory, run.id, {
      intervalSeconds: 0.05,
      onError: (error) => errors.push(error.message),
    });
    await heartbeat.stop();
    expect(errors.length).toBeGreaterThan(0);
  });

  it('reads KILN_RUN_HEARTBEAT_SECONDS, fractions allowed', () => {
    expect(heartbeatSeconds({})).toBe(15);
    expect(heartbeatSeconds({ KILN_RUN_HEARTBEAT_SECONDS: '0.2' })).toBe(0.2);
    expect(() => heartbeatSeconds({ KILN_RUN_HEARTBEAT_SECONDS: '0' })).toThrow(/KILN_RUN_HEARTBEAT_SECONDS/);
  });
});
