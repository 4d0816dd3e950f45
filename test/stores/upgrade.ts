import { expect } from 'vitest';
import type { MetadataStore } from '../../src/stores/metadata/index.js';
import { OLD_RUN_ID } from './fixtures/old-metadata-schema.js';

/** What a store opened on a database of OLD_ROWS (fixtures/old-metadata-schema.ts) must read and do. */
export async function expectOldRowsKept(store: MetadataStore): Promise<void> {
  const run = await store.getRun(OLD_RUN_ID);
  expect(run).toMatchObject({
    project: 'old',
    status: 'succeeded',
    seed: 7,
    config: { name: 'old' },
    dependencies: { zod: '3.0.0' },
    params: { C: 1 },
    metrics: { headline: 'roc_auc' },
    durations: { fit: 1.5 },
    warnings: ['a warning'],
    finishedAt: '2025-06-01T10:05:00.000Z',
    heartbeatAt: null,
  });
  // An old run left `running` by a process that died long ago never beat: it reads as abandoned.
  const runs = await store.listRuns({ project: 'old' });
  expect(runs.map((r) => r.status)).toEqual(['abandoned', 'succeeded']);
  expect(await store.listTrials(OLD_RUN_ID)).toEqual([
    {
      runId: OLD_RUN_ID,
      index: 0,
      params: { C: 1 },
      foldScores: [0.7, 0.8],
      mean: 0.75,
      std: 0.05,
      seconds: 1.25,
    },
  ]);
  expect(await store.getModel('m')).toMatchObject({
    description: 'the old model',
    tags: { team: 'risk' },
    latestVersion: 2,
    aliases: { champion: 2 },
  });
  expect((await store.resolveAlias('m', 'champion'))?.packageDigest).toBe('d1');
  const events = await store.listEvents();
  expect(events.map((e) => [e.type, e.actor, e.reason])).toEqual([
    ['model.created', 'ci', null],
    ['alias.moved', 'alice', 'wins'],
  ]);
  expect(await store.deliveryCursor('hook')).toBe(1);
  expect(await store.listDeadLetters()).toEqual([
    { target: 'hook', eventId: 2, attempts: 5, error: 'HTTP 500', parkedAt: '2025-06-01T10:08:00.000Z' },
  ]);

  // And it goes on from there: version numbers continue (never reused), events after the old ones,
  // cursors and the new run columns work.
  const created = await store.createVersion(
    {
      name: 'm',
      packageUri: 'file:///packages/d2',
      packageDigest: 'd2',
      runId: null,
      metrics: {},
      lineage: { runId: null, project: 'old', data: [], codeVersion: 'x', seed: 0, parentVersion: 2 },
    },
    { actor: 'test' },
  );
  expect(created).toMatchObject({ created: true, version: { version: 3 } });
  const moved = await store.moveAlias({
    name: 'm',
    alias: 'champion',
    version: 3,
    expected: 2,
    actor: 'test',
  });
  expect(moved.id).toBeGreaterThan(events[1].id);
  expect(await store.advanceDeliveryCursor('hook', 1, moved.id)).toBe(true);
  const abandoned = runs[0];
  const failed = await store.failRun(abandoned.id, 'closed by hand after the upgrade');
  expect(failed).toMatchObject({ status: 'failed', error: 'closed by hand after the upgrade' });
}
