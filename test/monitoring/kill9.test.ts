/**
 * A `kiln serve` under load killed with SIGKILL: every prediction whose 200 reached a client is in the
 * log exactly once after the next start ingests what the dead process journaled.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { openSqlite } from '../../src/util/sqlite.js';
import { type CustomerRecord, customerRecords, tempDir, trainPackage } from '../serving/server/fixture.js';
import { loggedIds, predict, serve, stop } from './serve-process.js';

const CLIENTS = 32;

describe('kill -9 under load', () => {
  let packageDir: string;
  let records: CustomerRecord[];
  beforeAll(async () => {
    packageDir = await trainPackage();
    records = await customerRecords(500, 12);
  }, 120_000);

  it('loses no prediction that was answered', async () => {
    const project = tempDir();
    const logFile = path.join(project, 'predictions.db');
    const args = ['--model', packageDir, '--prediction-log', `sqlite://${logFile}`];
    const server = await serve(args, project);
    const answered: string[] = [];
    let dead = false;
    const client = async (c: number) => {
      for (let i = c; !dead; i += CLIENTS) {
        const id = await predict(server.base, records[i % records.length]);
        if (id) answered.push(id);
        else return; // the server is gone
      }
    };
    const clients = Array.from({ length: CLIENTS }, (_, c) => client(c));
    const answeredAtLeast = (n: number) =>
      vi.waitFor(() => expect(answered.length).toBeGreaterThanOrEqual(n), { timeout: 60_000, interval: 5 });
    // Killed in full flow: thousands answered, the last of them held out of the log by a writer that
    // holds its lock, so some answered predictions exist only in the dead process's journal.
    await answeredAtLeast(2000);
    const holder = openSqlite(logFile);
    try {
      holder.exec('BEGIN IMMEDIATE');
      await answeredAtLeast(3000);
      server.child.kill('SIGKILL');
      await server.exited;
      dead = true;
      await Promise.all(clients);
    } finally {
      if (holder.isTransaction) holder.exec('ROLLBACK');
      holder.close();
    }
    const beforeRestart = new Set(loggedIds(logFile));
    expect(answered.filter((id) => !beforeRestart.has(id)).length).toBeGreaterThan(0);

    const next = await serve(args, project);
    const missing = () => {
      const inLog = new Set(loggedIds(logFile));
      return answered.filter((id) => !inLog.has(id));
    };
    await vi.waitFor(() => expect(missing()).toEqual([]), { timeout: 60_000, interval: 200 });
    expect(await stop(next)).toBe(0);
    const logged = loggedIds(logFile);
    expect(logged.length).toBe(new Set(logged).size);
    expect(missing()).toEqual([]);
  }, 240_000);
});
