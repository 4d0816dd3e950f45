import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AliasConflictError,
  type MetadataStore,
  type NewModelVersion,
  type NewRun,
  NotFoundError,
  RegistryError,
} from '../../src/stores/metadata/index.js';

/** The contract every metadata store implementation must pass (SQLite, PostgreSQL). */
export function metadataStoreContract(name: string, open: () => Promise<MetadataStore>): void {
  describe(`metadata store contract: ${name}`, () => {
    let store: MetadataStore;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    const newRun = (project = 'p'): NewRun => ({
      project,
      kind: 'train',
      seed: 7,
      config: { name: project, nested: { a: [1, 2] } },
      codeVersion: 'abc123',
      dependencies: { zod: '4.0.0' },
    });

    it('creates a running run and reads it back with its config', async () => {
      const run = await store.createRun(newRun());
      expect(run.status).toBe('running');
      expect(run.finishedAt).toBeNull();
      const read = await store.getRun(run.id);
      expect(read?.config).toEqual({ name: 'p', nested: { a: [1, 2] } });
      expect(read?.seed).toBe(7);
      expect(read?.dependencies).toEqual({ zod: '4.0.0' });
    });

    it('updates only the fields given', async () => {
      const run = await store.createRun(newRun());
      await store.updateRun(run.id, { metrics: { roc_auc: 0.7 } });
      const updated = await store.updateRun(run.id, {
        status: 'succeeded',
        finishedAt: '2026-01-01T00:00:00.000Z',
      });
      expect(updated.metrics).toEqual({ roc_auc: 0.7 });
      expect(updated.status).toBe('succeeded');
    });

    it('fails clearly when updating a run that does not exist', async () => {
      await expect(store.updateRun('nope', { status: 'failed' })).rejects.toThrow(/no run nope/);
    });

    it('finds a run by a unique id prefix', async () => {
      const run = await store.createRun(newRun());
      expect((await store.getRun(run.id.slice(0, 8)))?.id).toBe(run.id);
    });

    it('lists runs newest first, filtered by project', async () => {
      const a = await store.createRun(newRun('a'));
      const b = await store.createRun(newRun('b'));
      const c = await store.createRun(newRun('a'));
      expect((await store.listRuns()).map((r) => r.id)).toEqual([c.id, b.id, a.id]);
      expect((await store.listRuns({ project: 'a' })).map((r) => r.id)).toEqual([c.id, a.id]);
      expect(await store.listRuns({ limit: 1 })).toHaveLength(1);
    });

    it('reads a running run as abandoned once its heartbeat is older than 4 intervals', async () => {
      const run = await store.createRun(newRun());
      expect(run.heartbeatAt).toBeNull();
      await store.heartbeatRun(run.id, 0.05);
      const beating = await store.getRun(run.id);
      expect(beating?.status).toBe('running');
      expect(Number.isNaN(Date.parse(beating!.heartbeatAt!))).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await store.getRun(run.id))?.status).toBe('abandoned');
      expect((await store.listRuns()).map((r) => r.status)).toEqual(['abandoned']);
      await store.heartbeatRun(run.id, 0.05);
      expect((await store.getRun(run.id))?.status).toBe('running');
    });

    it('fails a running run by hand, once, and never a finished one', async () => {
      const run = await store.createRun(newRun());
      const failed = await store.failRun(run.id, 'killed by the OOM killer');
      expect(failed).toMatchObject({ status: 'failed', error: 'killed by the OOM killer' });
      expect(failed.finishedAt).not.toBeNull();
      await expect(store.failRun(run.id, 'again')).rejects.toThrow(
        new RegExp(`run ${run.id} already finished: failed at .*only a running or abandoned run`),
      );
      await expect(store.failRun('nope', 'x')).rejects.toThrow(NotFoundError);
      // A finished run no longer takes heartbeats.
      await store.heartbeatRun(run.id, 15);
      expect((await store.getRun(run.id))?.heartbeatAt).toBeNull();
    });

    it('records trials idempotently', async () => {
      const run = await store.createRun(newRun());
      const trial = {
        runId: run.id,
        index: 0,
        params: { C: 1 },
        foldScores: [0.7, 0.8],
        mean: 0.75,
        std: 0.07,
        seconds: 1,
      };
      await store.recordTrial(trial);
      await store.recordTrial({ ...trial, mean: 0.76 });
      await store.recordTrial({ ...trial, index: 1, mean: Number.NaN });
      const trials = await store.listTrials(run.id);
      expect(trials).toHaveLength(2);
      expect(trials[0].mean).toBe(0.76);
      expect(trials[1].mean).toBeNaN();
    });

    const newVersion = (name: string, digest: string): NewModelVersion => ({
      name,
      packageUri: `file:///packages/${digest}`,
      packageDigest: digest,
      runId: 'run-1',
      metrics: { roc_auc: 0.7 },
      lineage: {
        runId: 'run-1',
        project: 'p',
        data: [],
        codeVersion: 'abc',
        seed: 0,
        parentVersion: null,
      },
      tags: { team: 'risk' },
    });
    const who = { actor: 'alice', reason: 'test' };

    describe('registry', () => {
      it('numbers versions per model and creates the model on first use', async () => {
        const v1 = await store.createVersion(newVersion('m', 'd1'), who);
        const v2 = await store.createVersion(newVersion('m', 'd2'), who);
        const other = await store.createVersion(newVersion('other', 'd1'), who);
        expect([v1.version.version, v2.version.version, other.version.version]).toEqual([1, 2, 1]);
        expect(v1.created).toBe(true);
        expect(v2.version).toMatchObject({
          name: 'm',
          createdBy: 'alice',
          packageUri: 'file:///packages/d2',
          metrics: { roc_auc: 0.7 },
          tags: { team: 'risk' },
          description: '',
          aliases: [],
        });
        expect(v2.version.lineage.codeVersion).toBe('abc');
        expect((await store.listVersions('m')).map((v) => v.version)).toEqual([2, 1]);
        expect((await store.listModels()).map((m) => [m.name, m.latestVersion])).toEqual([
          ['m', 2],
          ['other', 1],
        ]);
      });

      it('returns the existing version when the same package is registered again', async () => {
        const first = await store.createVersion(newVersion('m', 'same'), who);
        const again = await store.createVersion(newVersion('m', 'same'), who);
        expect(again.created).toBe(false);
        expect(again.version.version).toBe(first.version.version);
        expect(await store.listVersions('m')).toHaveLength(1);
        expect(
          (await store.listEvents({ model: 'm' })).filter((e) => e.type === 'version.created'),
        ).toHaveLength(1);
      });

      it('refuses unsafe model names and numeric aliases', async () => {
        await expect(store.createVersion(newVersion('../etc', 'd'), who)).rejects.toThrow(RegistryError);
        await store.createVersion(newVersion('m', 'd1'), who);
        await expect(
          store.moveAlias({ name: 'm', alias: '3', version: 1, expected: null, ...who }),
        ).rejects.toThrow(/not only digits/);
      });

      it('moves aliases with compare-and-set and rejects stale moves', async () => {
        await store.createVersion(newVersion('m', 'd1'), who);
        await store.createVersion(newVersion('m', 'd2'), who);
        await store.moveAlias({ name: 'm', alias: 'champion', version: 1, expected: null, ...who });
        expect((await store.resolveAlias('m', 'champion'))?.version).toBe(1);
        await expect(
          store.moveAlias({ name: 'm', alias: 'champion', version: 2, expected: null, ...who }),
        ).rejects.toThrow(AliasConflictError);
        const event = await store.moveAlias({
          name: 'm',
          alias: 'champion',
          version: 2,
          expected: 1,
          ...who,
        });
        expect(event).toMatchObject({ type: 'alias.moved', model: 'm', version: 2, alias: 'champion' });
        expect(event.details).toEqual({ from: 1 });
        const stale = store.moveAlias({ name: 'm', alias: 'champion', version: 1, expected: 1, ...who });
        await expect(stale).rejects.toThrow(/points at version 2, not version 1/);
        expect((await store.getModel('m'))?.aliases).toEqual({ champion: 2 });
        expect((await store.getVersion('m', 2))?.aliases).toEqual(['champion']);
        expect(await store.resolveAlias('m', 'nope')).toBeUndefined();
      });

      it('refuses an alias to a version that does not exist', async () => {
        await store.createVersion(newVersion('m', 'd1'), who);
        await expect(
          store.moveAlias({ name: 'm', alias: 'champion', version: 9, expected: null, ...who }),
        ).rejects.toThrow(NotFoundError);
      });

      it('deletes aliases with compare-and-set', async () => {
        await store.createVersion(newVersion('m', 'd1'), who);
        await store.moveAlias({ name: 'm', alias: 'challenger', version: 1, expected: null, ...who });
        await expect(store.deleteAlias({ name: 'm', alias: 'challenger', expected: 2 }, who)).rejects.toThrow(
          AliasConflictError,
        );
        await store.deleteAlias({ name: 'm', alias: 'challenger', expected: 1 }, who);
        expect(await store.resolveAlias('m', 'challenger')).toBeUndefined();
        await expect(store.deleteAlias({ name: 'm', alias: 'challenger', expected: 1 }, who)).rejects.toThrow(
          NotFoundError,
        );
      });

      it('tags and describes models and versions', async () => {
        await store.createVersion(newVersion('m', 'd1'), who);
        await store.setTag({ name: 'm', version: 1, key: 'stage', value: 'qa' }, who);
        await store.setTag({ name: 'm', version: null, key: 'owner', value: 'risk-team' }, who);
        await store.setTag({ name: 'm', version: 1, key: 'team', value: null }, who);
        await store.setDescription({ name: 'm', version: 1, description: 'first' }, who);
        await store.setDescription({ name: 'm', version: null, description: 'the risk model' }, who);
        const version = await store.getVersion('m', 1);
        expect(version?.tags).toEqual({ stage: 'qa' });
        expect(version?.description).toBe('first');
        const model = await store.getModel('m');
        expect(model?.tags).toEqual({ owner: 'risk-team' });
        expect(model?.description).toBe('the risk model');
        await expect(store.setTag({ name: 'm', version: 5, key: 'a', value: 'b' }, who)).rejects.toThrow(
          NotFoundError,
        );
        await expect(
          store.setDescription({ name: 'zz', version: null, description: 'x' }, who),
        ).rejects.toThrow(NotFoundError);
      });

      it('deletes a version only when no alias points at it, and never reuses its number', async () => {
        await store.createVersion(newVersion('m', 'd1'), who);
        await store.createVersion(newVersion('m', 'd2'), who);
        await store.moveAlias({ name: 'm', alias: 'champion', version: 2, expected: null, ...who });
        await expect(store.deleteVersion({ name: 'm', version: 2 }, who)).rejects.toThrow(/@champion/);
        await store.deleteVersion({ name: 'm', version: 1 }, who);
        expect(await store.getVersion('m', 1)).toBeUndefined();
        await store.moveAlias({ name: 'm', alias: 'champion', version: 2, expected: 2, ...who });
        await store.deleteAlias({ name: 'm', alias: 'champion', expected: 2 }, who);
        await store.deleteVersion({ name: 'm', version: 2 }, who);
        const next = await store.createVersion(newVersion('m', 'd3'), who);
        expect(next.version.version).toBe(3);
        expect((await store.getModel('m'))?.latestVersion).toBe(3);
        await expect(store.deleteVersion({ name: 'm', version: 2 }, who)).rejects.toThrow(NotFoundError);
      });

      it('records every change as an event, in order, with who and why', async () => {
        await store.createVersion(newVersion('m', 'd1'), { actor: 'ci' });
        await store.moveAlias({
          name: 'm',
          alias: 'champion',
          version: 1,
          expected: null,
          actor: 'bob',
          reason: 'wins',
        });
        await store.setTag({ name: 'm', version: 1, key: 'k', value: 'v' }, who);
        await store.createVersion(newVersion('n', 'd1'), who);
        const events = await store.listEvents();
        expect(events.map((e) => e.type)).toEqual([
          'model.created',
          'version.created',
          'alias.moved',
          'version.tagged',
          'model.created',
          'version.created',
        ]);
        expect(events.map((e) => e.id)).toEqual([...events.map((e) => e.id)].sort((a, b) => a - b));
        expect(events[2]).toMatchObject({
          actor: 'bob',
          reason: 'wins',
          model: 'm',
          alias: 'champion',
          version: 1,
        });
        expect(events[0].reason).toBeNull();
        expect(Number.isNaN(Date.parse(events[0].at))).toBe(false);
        expect((await store.listEvents({ model: 'n' })).map((e) => e.type)).toEqual([
          'model.created',
          'version.created',
        ]);
        const after = await store.listEvents({ afterId: events[3].id, limit: 1 });
        expect(after.map((e) => e.id)).toEqual([events[4].id]);
      });
    });

    it('probes connectivity and write access without leaving anything behind', async () => {
      const found = await store.probe();
      expect(found.length).toBeGreaterThan(0);
      expect(await store.deliveryCursor('kiln-doctor-probe')).toBe(0);
      expect(await store.listRuns()).toEqual([]);
    });

    describe('event delivery state', () => {
      it('advances a delivery cursor with compare-and-set', async () => {
        expect(await store.deliveryCursor('hook')).toBe(0);
        expect(await store.advanceDeliveryCursor('hook', 0, 3)).toBe(true);
        expect(await store.advanceDeliveryCursor('hook', 0, 5)).toBe(false);
        expect(await store.advanceDeliveryCursor('hook', 3, 5)).toBe(true);
        expect(await store.deliveryCursor('hook')).toBe(5);
        expect(await store.deliveryCursor('other')).toBe(0);
      });

      it('parks dead letters idempotently and removes them', async () => {
        const letter = {
          target: 'hook',
          eventId: 4,
          attempts: 5,
          error: 'HTTP 500',
          parkedAt: new Date().toISOString(),
        };
        await store.parkDeadLetter(letter);
        await store.parkDeadLetter({ ...letter, attempts: 6 });
        await store.parkDeadLetter({ ...letter, target: 'other', eventId: 2 });
        expect((await store.listDeadLetters()).map((l) => [l.target, l.eventId, l.attempts])).toEqual([
          ['other', 2, 5],
          ['hook', 4, 6],
        ]);
        expect(await store.listDeadLetters('hook')).toHaveLength(1);
        await store.removeDeadLetter('hook', 4);
        expect(await store.listDeadLetters('hook')).toEqual([]);
      });
    });
  });
}
