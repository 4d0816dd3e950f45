import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadProject } from '../../src/config/load.js';
import { quickstartProject } from '../../src/quickstart/project.js';
import { trainProject } from '../../src/training/train.js';
import { type Progress, silentProgress } from '../../src/util/progress.js';
import { smallProject, tempDir, writeProject } from '../cli/harness.js';
import { type PostgresServer, postgresAvailable, startPostgres } from '../support/postgres.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!postgresAvailable)('training against PostgreSQL', () => {
  let server: PostgresServer;
  beforeAll(async () => {
    server = (await startPostgres())!;
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    await server?.destroy();
  });

  it('resumes the run writes when the server restarts mid-run, and records each trial once', async () => {
    const schema = `kiln_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    vi.stubEnv('KILN_METADATA_URI', `${server.uri}?schema=${schema}`);
    const grid = [0.01, 0.1, 1, 10];
    const { dir } = await writeProject(tempDir('kiln-pg-train-'), {
      project: smallProject({
        model: { ...quickstartProject.model, search: { strategy: 'grid', space: { C: grid } } },
      }),
    });

    // Faults keyed to training progress, not to time: the server is killed outright as the first trial
    // is about to be recorded, and shut down (fast) as the third one is.
    const faults: string[] = [];
    let outages: Promise<void> = Promise.resolve();
    const progress: Progress = {
      ...silentProgress,
      info(message) {
        if (message === `trial 1/${grid.length}`) {
          faults.push('kill');
          outages = outages.then(async () => {
            await server.kill();
            await sleep(1500);
            await server.start();
          });
        } else if (message === `trial 3/${grid.length}`) {
          faults.push('stop');
          outages = outages.then(async () => {
            await server.stop();
            await sleep(1000);
            await server.start();
          });
        }
      },
    };
    const result = await trainProject(await loadProject(dir), { progress });
    await outages;

    expect(faults).toEqual(['kill', 'stop']);
    expect(result.run.status).toBe('succeeded');
    const client = new pg.Client({ connectionString: server.uri, options: `-c search_path=${schema}` });
    await client.connect();
    try {
      const runs = await client.query('SELECT id, status FROM runs');
      expect(runs.rows).toEqual([{ id: result.run.id, status: 'succeeded' }]);
      const trials = await client.query<{ run_id: string; idx: number; params: { C: number } }>(
        'SELECT run_id, idx, params FROM trials ORDER BY idx',
      );
      expect(trials.rows.map((t) => [t.run_id, t.idx, t.params.C])).toEqual(
        grid.map((C, index) => [result.run.id, index, C]),
      );
    } finally {
      await client.end();
    }
  });
});
