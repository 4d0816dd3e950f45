import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openMetadataStore } from '../../src/stores/metadata/index.js';
import { MIGRATIONS } from '../../src/stores/metadata/migrations.js';
import { type MetadataStoreLogger, PostgresMetadataStore } from '../../src/stores/metadata/postgres.js';
import type { MetadataStore, NewModelVersion, NewRun } from '../../src/stores/metadata/store.js';
import { type PostgresServer, postgresAvailable, startPostgres } from '../support/postgres.js';
import { OLD_POSTGRES_MIGRATIONS, OLD_ROWS } from './fixtures/old-metadata-schema.js';
import { metadataStoreContract } from './metadata-contract.js';
import { type ReplyDroppingProxy, replyDroppingProxy } from './reply-dropping-proxy.js';
import { expectOldRowsKept } from './upgrade.js';

const newRun = (project = 'p'): NewRun => ({
  project,
  kind: 'train',
  seed: 7,
  config: { name: project },
  codeVersion: 'abc123',
  dependencies: {},
});

const newVersion = (digest: string): NewModelVersion => ({
  name: 'm',
  packageUri: `file:///packages/${digest}`,
  packageDigest: digest,
  runId: null,
  metrics: {},
  lineage: { runId: null, project: 'p', data: [], codeVersion: 'abc123', seed: 0, parentVersion: null },
});

/** A logger that keeps what it was told, so a test can see that an outage was noticed. */
function recordingLogger(): MetadataStoreLogger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (fields, message) => lines.push(`${message} ${JSON.stringify(fields)}`),
    warn: (fields, message) => lines.push(`${message} ${JSON.stringify(fields)}`),
  };
}

describe('postgres metadata store settings', () => {
  it('refuses a password in the URI and points at the environment instead', () => {
    const open = () => openMetadataStore('postgres://kiln:s3cret@127.0.0.1:5432/kiln', '.');
    expect(open).toThrow(/contains a password.*KILN_POSTGRES_PASSWORD/);
    expect(() => open()).not.toThrow(/s3cret/);
  });

  it('refuses schema names and parameters it would not pass on safely', () => {
    expect(() => openMetadataStore('postgres://kiln@db/kiln?schema=a;drop', '.')).toThrow(/schema "a;drop"/);
    expect(() => openMetadataStore('postgres://kiln@db/kiln?sslmode=allow', '.')).toThrow(/sslmode "allow"/);
    expect(() => openMetadataStore('postgres://kiln@db/kiln?connect_timeout=3', '.')).toThrow(
      /parameter "connect_timeout" is not supported/,
    );
    expect(
      () =>
        new PostgresMetadataStore('postgres://kiln@db/kiln', {
          env: { KILN_POSTGRES_RETRY_SECONDS: 'soon' },
        }),
    ).toThrow(/KILN_POSTGRES_RETRY_SECONDS/);
  });

  it('gives up on an unreachable server after the retry deadline, naming the store', async () => {
    const port = await closedPort();
    const logger = recordingLogger();
    const store = new PostgresMetadataStore(`postgresql://kiln@127.0.0.1:${port}/kiln`, {
      retrySeconds: 0.3,
      logger,
    });
    await expect(store.listRuns()).rejects.toThrow(
      `metadata store postgresql://kiln@127.0.0.1:${port}/kiln: PostgreSQL unreachable for 0.3 s`,
    );
    expect(logger.lines).toHaveLength(1);
    await store.close();
  });
});

describe.skipIf(!postgresAvailable)('postgres metadata store', () => {
  let server: PostgresServer;
  beforeAll(async () => {
    server = (await startPostgres())!;
  });
  afterAll(async () => {
    await server?.destroy();
  });

  /** Each store gets its own schema, so tests never see each other's rows. */
  const freshUri = (base = server.uri) =>
    `${base}?schema=kiln_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const schemaOf = (uri: string) => new URL(uri).searchParams.get('schema')!;
  /** A direct query as the superuser, on a store's schema when given its URI. */
  const sql = async <R extends pg.QueryResultRow>(
    uri: string | null,
    text: string,
    values: unknown[] = [],
  ) => {
    const options = uri ? `-c search_path=${schemaOf(uri)}` : undefined;
    const client = new pg.Client({ connectionString: server.uri, options });
    await client.connect();
    try {
      return (await client.query<R>(text, values)).rows;
    } finally {
      await client.end();
    }
  };

  metadataStoreContract('postgres', async () => openMetadataStore(freshUri(), '.'));

  it('migrates exactly once when four stores start on an empty schema at the same moment', async () => {
    const uri = freshUri();
    const stores = Array.from({ length: 4 }, () => openMetadataStore(uri, '.'));
    try {
      const runs = await Promise.all(stores.map((store) => store.createRun(newRun())));
      expect(new Set(runs.map((r) => r.id)).size).toBe(4);
      const applied = await sql<{ version: number }>(
        uri,
        'SELECT version FROM kiln_schema_migrations ORDER BY version',
      );
      expect(applied.map((r) => r.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
      expect(await stores[0].listRuns()).toHaveLength(4);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  /** A schema as the Kiln before one SQL store created it: migrations 1 and 2 applied and listed. */
  const oldSchema = async (uri: string, rows: readonly string[]) => {
    await sql(null, `CREATE SCHEMA ${schemaOf(uri)}`);
    await sql(
      uri,
      `CREATE TABLE kiln_schema_migrations (
         version INTEGER PRIMARY KEY,
         applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
       )`,
    );
    for (const [index, migration] of OLD_POSTGRES_MIGRATIONS.entries()) {
      await sql(uri, migration);
      await sql(uri, 'INSERT INTO kiln_schema_migrations (version) VALUES ($1)', [index + 1]);
    }
    for (const row of rows) await sql(uri, row);
  };

  it('opens a schema an older Kiln created (2 migrations), migrates it forward and keeps its rows', async () => {
    const uri = freshUri();
    await oldSchema(uri, OLD_ROWS);
    const store = openMetadataStore(uri, '.');
    try {
      await expectOldRowsKept(store);
    } finally {
      await store.close();
    }
    const applied = await sql<{ version: number }>(
      uri,
      'SELECT version FROM kiln_schema_migrations ORDER BY version',
    );
    expect(applied.map((r) => r.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
  });

  it('gives a new schema and an upgraded one the same tables, columns and indexes', async () => {
    const shape = async (uri: string) => ({
      columns: await sql(
        null,
        `SELECT table_name, column_name, data_type, is_nullable, column_default, is_identity
         FROM information_schema.columns WHERE table_schema = $1 ORDER BY table_name, column_name`,
        [schemaOf(uri)],
      ),
      indexes: await sql(
        null,
        'SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname',
        [schemaOf(uri)],
      ),
    });
    const upgraded = freshUri();
    await oldSchema(upgraded, []);
    const created = freshUri();
    for (const uri of [upgraded, created]) {
      const store = openMetadataStore(uri, '.');
      await store.listRuns();
      await store.close();
    }
    const [a, b] = [await shape(upgraded), await shape(created)];
    const unschema = (s: Awaited<ReturnType<typeof shape>>, uri: string) =>
      JSON.parse(JSON.stringify(s).replaceAll(schemaOf(uri), 'S'));
    expect(unschema(a, upgraded)).toEqual(unschema(b, created));
  });

  it('refuses a schema migrated by a newer Kiln', async () => {
    const uri = freshUri();
    await oldSchema(uri, []);
    await sql(uri, 'INSERT INTO kiln_schema_migrations (version) VALUES (99)');
    const store = openMetadataStore(uri, '.');
    await expect(store.listRuns()).rejects.toThrow(/schema version 99, newer than this Kiln knows/);
    await store.close();
  });

  it('takes the password from KILN_POSTGRES_PASSWORD_FILE', async () => {
    const role = `kiln_${randomUUID().replaceAll('-', '').slice(0, 8)}`;
    await sql(null, `CREATE ROLE ${role} LOGIN PASSWORD 'right horse battery'`);
    await sql(null, `GRANT CREATE ON DATABASE postgres TO ${role}`);
    const dir = mkdtempSync(path.join(tmpdir(), 'kiln-pg-secret-'));
    const file = path.join(dir, 'password');
    try {
      writeFileSync(file, 'right horse battery\n');
      const uri = freshUri(`postgres://${role}@127.0.0.1:${server.port}/postgres`);
      const store = new PostgresMetadataStore(uri, { env: { KILN_POSTGRES_PASSWORD_FILE: file } });
      expect(store.uri).toBe(uri);
      await store.createRun(newRun());
      expect(await store.listRuns()).toHaveLength(1);
      await store.close();
      // A wrong password is not a connection problem: it fails at once instead of being retried.
      writeFileSync(file, 'wrong\n');
      const refused = new PostgresMetadataStore(uri, { env: { KILN_POSTGRES_PASSWORD_FILE: file } });
      await expect(refused.listRuns()).rejects.toThrow(/password authentication failed/);
      await refused.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const [fault, what] of [
    ['kill', 'crash (SIGKILL)'],
    ['stop', 'fast shutdown'],
  ] as const) {
    it(`resumes run writes across a server ${what} and restart, with nothing duplicated`, async () => {
      const uri = freshUri();
      const logger = recordingLogger();
      const store = new PostgresMetadataStore(uri, { logger });
      try {
        await store.listRuns();
        let restarted = false;
        let reachedFive!: () => void;
        const fiveRuns = new Promise<void>((resolve) => {
          reachedFive = resolve;
        });
        // Writes back to back, so one is always in flight when the server goes away; the loop ends
        // five runs after the restart, so writes happen before, during and after the outage.
        const writes = (async () => {
          let afterRestart = 0;
          let runs = 0;
          while (afterRestart < 5) {
            if (restarted) afterRestart++;
            const run = await store.createRun(newRun(`run-${runs}`));
            for (let index = 0; index < 3; index++) {
              await store.recordTrial({
                runId: run.id,
                index,
                params: { C: index },
                foldScores: [0.5, 0.6],
                mean: 0.55,
                std: 0.05,
                seconds: 0.1,
              });
              await store.updateRun(run.id, { metrics: { trials: index + 1 } });
            }
            await store.updateRun(run.id, { status: 'succeeded', finishedAt: new Date().toISOString() });
            if (++runs === 5) reachedFive();
          }
          return runs;
        })();
        await Promise.race([fiveRuns, writes]);
        await server[fault]();
        await new Promise((resolve) => setTimeout(resolve, 1500));
        await server.start();
        restarted = true;
        const runs = await writes;

        expect(logger.lines.some((line) => line.startsWith('metadata store connection lost'))).toBe(true);
        const rows = await sql<{ project: string; status: string; metrics: { trials: number } }>(
          uri,
          'SELECT project, status, metrics FROM runs ORDER BY seq',
        );
        expect(rows.map((r) => r.project)).toEqual(Array.from({ length: runs }, (_, i) => `run-${i}`));
        expect(rows.every((r) => r.status === 'succeeded' && r.metrics.trials === 3)).toBe(true);
        const trials = await sql<{ n: string }>(uri, 'SELECT count(*) AS n FROM trials');
        expect(Number(trials[0].n)).toBe(runs * 3);
      } finally {
        await store.close();
      }
    });
  }

  describe('a reply lost after the server committed', () => {
    let proxy: ReplyDroppingProxy;
    beforeAll(async () => {
      proxy = await replyDroppingProxy(server.port);
    });
    afterAll(async () => {
      await proxy?.close();
    });
    beforeEach(() => {
      proxy.dropped = 0;
    });

    /** A store whose connections go through the proxy, migrated before anything is dropped. */
    const proxiedStore = async (): Promise<{ store: MetadataStore; uri: string }> => {
      const uri = freshUri(`postgres://postgres@127.0.0.1:${proxy.port}/postgres`);
      const store = new PostgresMetadataStore(uri, { logger: recordingLogger() });
      await store.listRuns();
      return { store, uri };
    };

    it('createRun retried after a lost reply writes one run', async () => {
      const { store, uri } = await proxiedStore();
      try {
        proxy.dropReplyTo('insert into "runs"');
        const run = await store.createRun(newRun());
        expect(proxy.dropped).toBe(1);
        expect(await sql(uri, 'SELECT id FROM runs')).toEqual([{ id: run.id }]);
      } finally {
        await store.close();
      }
    });

    it('a registry write retried after a lost COMMIT reply is applied once and reports success', async () => {
      const { store, uri } = await proxiedStore();
      try {
        await store.createVersion(newVersion('a'), { actor: 'test' });
        await store.createVersion(newVersion('b'), { actor: 'test' });
        await store.moveAlias({ name: 'm', alias: 'champion', version: 1, expected: null, actor: 'test' });

        proxy.dropReplyTo('COMMIT');
        const created = await store.createVersion(newVersion('c'), { actor: 'test' });
        expect(created).toMatchObject({ created: true, version: { version: 3 } });

        proxy.dropReplyTo('COMMIT');
        const moved = await store.moveAlias({
          name: 'm',
          alias: 'champion',
          version: 2,
          expected: 1,
          actor: 'test',
        });
        expect(moved).toMatchObject({ type: 'alias.moved', version: 2, details: { from: 1 } });
        expect(proxy.dropped).toBe(2);

        const events = await sql<{ type: string }>(uri, 'SELECT type FROM registry_events ORDER BY id');
        expect(events.map((e) => e.type)).toEqual([
          'model.created',
          'version.created',
          'version.created',
          'alias.moved',
          'version.created',
          'alias.moved',
        ]);
        expect((await store.resolveAlias('m', 'champion'))?.version).toBe(2);
      } finally {
        await store.close();
      }
    });

    it('a delivery cursor advance retried after a lost reply still reports that it won', async () => {
      const { store } = await proxiedStore();
      try {
        proxy.dropReplyTo('insert into "delivery_cursors"');
        expect(await store.advanceDeliveryCursor('hook', 0, 5)).toBe(true);
        proxy.dropReplyTo('update "delivery_cursors"');
        expect(await store.advanceDeliveryCursor('hook', 5, 9)).toBe(true);
        expect(proxy.dropped).toBe(2);
        expect(await store.deliveryCursor('hook')).toBe(9);
        expect(await store.advanceDeliveryCursor('hook', 5, 12)).toBe(false);
      } finally {
        await store.close();
      }
    });
  });

  it('lets exactly one of two processes moving the same alias at once win', async () => {
    const uri = freshUri();
    const store = openMetadataStore(uri, '.');
    try {
      for (const digest of ['a', 'b', 'c']) await store.createVersion(newVersion(digest), { actor: 'test' });
      await store.moveAlias({ name: 'm', alias: 'champion', version: 1, expected: null, actor: 'test' });

      const script = fileURLToPath(new URL('./fixtures/move-alias.ts', import.meta.url));
      const movers = [2, 3].map((version) =>
        spawn(process.execPath, ['--import', 'tsx', script, uri, 'm', 'champion', String(version), '1'], {
          stdio: ['pipe', 'pipe', 'inherit'],
        }),
      );
      const outputs = movers.map(collect);
      await Promise.all(movers.map((child) => lineMatching(child, /^ready$/)));
      for (const child of movers) child.stdin!.write('go\n');
      const results = await Promise.all(outputs);

      const winners = results.filter((r) => r.code === 0 && /^moved \d+$/m.test(r.stdout));
      const losers = results.filter(
        (r) =>
          r.code === 0 &&
          /^conflict AliasConflictError: alias m@champion points at version [23], not version 1/m.test(
            r.stdout,
          ),
      );
      expect(winners).toHaveLength(1);
      expect(losers).toHaveLength(1);
      const winner = Number(/^moved (\d+)$/m.exec(winners[0].stdout)![1]);
      expect((await store.resolveAlias('m', 'champion'))?.version).toBe(winner);
      const moves = (await store.listEvents({ model: 'm' })).filter((e) => e.type === 'alias.moved');
      expect(moves.map((e) => e.version)).toEqual([1, winner]);
    } finally {
      await store.close();
    }
  });
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

function collect(child: ChildProcess): Promise<{ code: number | null; stdout: string }> {
  let stdout = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  return once(child, 'exit').then(([code]) => ({ code: code as number | null, stdout }));
}

function lineMatching(child: ChildProcess, pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: string) => {
      seen += chunk;
      if (seen.split('\n').some((line) => pattern.test(line))) {
        child.stdout!.off('data', onData);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`child exited (${code}) before printing ${pattern}: ${seen}`)),
    );
  });
}
