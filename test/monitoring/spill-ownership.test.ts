/**
 * Two `kiln serve` processes on one project, each with its own log: a record only ever reaches the
 * log it was written for. A's log is made unavailable (a test connection holds its write lock) so A's
 * records wait on disk; B restarting must leave them alone while A lives, and once A is killed, B
 * ingests them into A's log, not its own.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { openSqlite } from '../../src/util/sqlite.js';
import { type CustomerRecord, customerRecords, tempDir, trainPackage } from '../serving/server/fixture.js';
import { journaledLines, kilnDir, loggedIds, predict, type Served, serve, stop } from './serve-process.js';

const WAIT = { timeout: 60_000, interval: 100 };

describe('two servers on one project', () => {
  let packageDir: string;
  let records: CustomerRecord[];
  beforeAll(async () => {
    packageDir = await trainPackage();
    records = await customerRecords(300, 11);
  }, 120_000);

  it('keep every record in the log it was written for, across restarts and a kill -9', async () => {
    const project = tempDir();
    const aDb = path.join(project, 'a.db');
    const bDb = path.join(project, 'b.db');
    // Absolute: the log is where the test looks, whichever folder the server takes as its project.
    const startA = () => serve(['--model', packageDir, '--prediction-log', `sqlite://${aDb}`], project);
    const startB = () => serve(['--model', packageDir, '--prediction-log', `sqlite://${bDb}`], project);
    const send = async (server: Served, from: number, n: number, into: string[]) => {
      for (let i = from; i < from + n; i++) {
        const id = await predict(server.base, records[i % records.length]);
        if (!id) throw new Error(`no answer:\n${server.output()}`);
        into.push(id);
      }
    };
    const answeredA: string[] = [];
    const answeredB: string[] = [];

    const a = await startA();
    let b = await startB();
    const bufferDir = path.join(kilnDir(a, project), 'prediction-log-buffer');
    expect(kilnDir(b, project)).toBe(kilnDir(a, project));
    await send(a, 0, 1, answeredA);
    await send(b, 1, 1, answeredB);
    await vi.waitFor(() => {
      expect(loggedIds(aDb), a.output()).toEqual(answeredA);
      expect(loggedIds(bDb), b.output()).toEqual(answeredB);
    }, WAIT);

    // A's log becomes unavailable: its writes fail (busy) and its records wait on disk.
    const holder = openSqlite(aDb);
    holder.exec('BEGIN IMMEDIATE');
    try {
      await send(a, 10, 200, answeredA);
      await vi.waitFor(() => expect(journaledLines(bufferDir)).toBeGreaterThanOrEqual(200), WAIT);

      // B restarts while A lives: A's waiting records are not B's to replay.
      expect(await stop(b)).toBe(0);
      b = await startB();
      await send(b, 220, 50, answeredB);
      await vi.waitFor(() => expect(new Set(loggedIds(bDb))).toEqual(new Set(answeredB)), WAIT);
      expect(journaledLines(bufferDir)).toBeGreaterThanOrEqual(200);

      // A dies with its records on disk; its log comes back.
      a.child.kill('SIGKILL');
      await a.exited;
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    // B restarting finds A's folder orphaned and ingests it into A's log.
    expect(await stop(b)).toBe(0);
    b = await startB();
    await vi.waitFor(() => expect(new Set(loggedIds(aDb))).toEqual(new Set(answeredA)), WAIT);
    await send(b, 280, 5, answeredB);
    expect(await stop(b)).toBe(0);

    const inA = loggedIds(aDb);
    const inB = loggedIds(bDb);
    expect(inA.length).toBe(new Set(inA).size);
    expect(inA.sort()).toEqual([...answeredA].sort());
    expect(inB.sort()).toEqual([...answeredB].sort());
    // Nothing left waiting: A's folder was ingested and removed, B's emptied at its clean stop.
    expect(journaledLines(bufferDir)).toBe(0);
  }, 240_000);
});
