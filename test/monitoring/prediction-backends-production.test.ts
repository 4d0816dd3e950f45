import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ArtifactJsonlStore } from '../../src/monitoring/prediction-log/artifact-jsonl.js';
import {
  openPredictionBackend,
  openPredictionLog,
  type PredictionBackend,
  type PredictionLogLogger,
  WorkerBackend,
} from '../../src/monitoring/prediction-log/index.js';
import {
  type ArtifactStore,
  LocalArtifactStore,
  type ObjectInfo,
  openArtifactStore,
} from '../../src/stores/artifacts/index.js';
import { openMetadataStore } from '../../src/stores/metadata/index.js';
import { type PostgresServer, postgresAvailable, startPostgres } from '../support/postgres.js';
import { type S3rverHandle, startS3rver } from '../support/s3rver.js';
import { feedback, prediction, predictionBackendContract } from './prediction-backend-contract.js';

const tempDir = () => mkdtempSync(path.join(tmpdir(), 'kiln-predlog-prod-'));
const records = (n: number, from = 0) => Array.from({ length: n }, (_, i) => prediction(from + i));

/** A logger that keeps its lines, errors shown by their message. */
function capture(): PredictionLogLogger & { lines: string[] } {
  const lines: string[] = [];
  const show = (fields: object) =>
    JSON.stringify(fields, (_, value) => (value instanceof Error ? value.message : value));
  return {
    lines,
    info: (fields, message) => lines.push(`info ${message} ${show(fields)}`),
    warn: (fields, message) => lines.push(`warn ${message} ${show(fields)}`),
  };
}

/** Segment files (open or closed) under a staging folder. */
const stagedFiles = (dir: string) =>
  (readdirSync(dir, { recursive: true }) as string[]).filter((f) => /\.jsonl(\.tmp)?$/.test(f));

describe.skipIf(!postgresAvailable)('prediction log on PostgreSQL', () => {
  let server: PostgresServer;
  beforeAll(async () => {
    server = (await startPostgres())!;
  });
  afterAll(async () => {
    await server?.destroy();
  });
  let schemas = 0;
  // A fresh schema per test keeps the tests apart on one server.
  const fresh = () => `${server.uri}?schema=predlog_${++schemas}`;
  const query = async <T extends pg.QueryResultRow>(sql: string, values: unknown[] = []) => {
    const client = new pg.Client(server.uri);
    await client.connect();
    try {
      return (await client.query<T>(sql, values)).rows;
    } finally {
      await client.end();
    }
  };

  predictionBackendContract('postgres', () => openPredictionBackend(fresh(), '.'));
  predictionBackendContract('postgresql:// in a worker thread', () =>
    WorkerBackend.open(fresh().replace(/^postgres:/, 'postgresql:'), '.'),
  );

  it('shares a schema with the metadata store, each with its own migrations table', async () => {
    const uri = fresh();
    const metadata = openMetadataStore(uri, '.');
    const run = await metadata.createRun({
      project: 'p',
      kind: 'train',
      seed: 0,
      config: {},
      codeVersion: 'x',
      dependencies: {},
    });
    const log = await openPredictionBackend(uri, '.');
    await log.writeBatch([prediction(0)]);
    await log.close();
    await metadata.close();
    const schema = `predlog_${schemas}`;
    const tables = await query<{ table_name: string }>(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1',
      [schema],
    );
    expect(tables.map((t) => t.table_name)).toEqual(
      expect.arrayContaining([
        'kiln_schema_migrations',
        'kiln_prediction_log_migrations',
        'runs',
        'predictions',
      ]),
    );
    const reopened = openMetadataStore(uri, '.');
    expect((await reopened.getRun(run.id))?.project).toBe('p');
    await reopened.close();
    const again = await openPredictionBackend(uri, '.');
    expect(await again.readPredictions()).toEqual([prediction(0)]);
    await again.close();
  });

  it('migrates once when several servers start together', async () => {
    const uri = fresh();
    const stores = await Promise.all(Array.from({ length: 6 }, () => openPredictionBackend(uri, '.')));
    await Promise.all(stores.map((s, i) => s.writeBatch([prediction(i)])));
    expect(await stores[0].readPredictions()).toHaveLength(6);
    await Promise.all(stores.map((s) => s.close()));
    const applied = await query(
      `SELECT version FROM predlog_${schemas}.kiln_prediction_log_migrations ORDER BY version`,
    );
    expect(applied).toEqual([{ version: 1 }, { version: 2 }]);
  });

  it('migrates a log of the one-label-per-prediction schema, keeping its labels', async () => {
    const uri = fresh();
    const schema = `predlog_${schemas}`;
    // The schema Kiln wrote before label history (version 1), with a label in it.
    await query(`CREATE SCHEMA ${schema};
      CREATE TABLE ${schema}.kiln_prediction_log_migrations (version INTEGER PRIMARY KEY,
        applied_at TIMESTAMPTZ NOT NULL DEFAULT now());
      INSERT INTO ${schema}.kiln_prediction_log_migrations (version) VALUES (1);
      CREATE TABLE ${schema}.predictions (id TEXT PRIMARY KEY, seq BIGINT GENERATED ALWAYS AS IDENTITY,
        time TIMESTAMPTZ NOT NULL, model TEXT NOT NULL, version TEXT NOT NULL, input JSON NOT NULL,
        output JSON NOT NULL, label TEXT, latency_ms DOUBLE PRECISION NOT NULL);
      CREATE TABLE ${schema}.feedback (prediction_id TEXT PRIMARY KEY,
        seq BIGINT GENERATED ALWAYS AS IDENTITY, model TEXT NOT NULL, label TEXT NOT NULL,
        time TIMESTAMPTZ NOT NULL);
      CREATE INDEX feedback_model_time ON ${schema}.feedback (model, time);`);
    const old = prediction(0);
    await query(
      `INSERT INTO ${schema}.predictions (id, time, model, version, input, output, label, latency_ms)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [old.id, old.time, old.model, old.version, old.input, old.output, old.output.label, old.latencyMs],
    );
    await query(
      `INSERT INTO ${schema}.feedback (prediction_id, model, label, time) VALUES ($1, $2, $3, $4)`,
      ['p-00000', 'customer-risk', 'at_risk', feedback(0).time],
    );
    const store = await openPredictionBackend(uri, '.');
    expect(await store.readFeedback()).toEqual([feedback(0)]);
    const correction = feedback(0, { label: 'ok', time: '2026-01-05T00:00:00.000Z' });
    await store.writeFeedback(correction);
    expect(await store.readFeedback()).toEqual([feedback(0), correction]);
    expect(await store.readLabelled()).toEqual([{ prediction: old, feedback: correction }]);
    expect(await store.findPrediction(old.id, { model: old.model })).toEqual(old);
    await store.close();
  });

  it('stores input and output as written and text PostgreSQL cannot hold without refusing the batch', async () => {
    const store = await openPredictionBackend(fresh(), '.');
    const odd = prediction(0, {
      id: 'p\u0000nul',
      input: { note: 'a\u0000b', lone: '\ud800', z: 1, a: 0.30000000000000004 },
    });
    await store.writeBatch([odd, prediction(1)]);
    await store.writeFeedback(feedback(0, { predictionId: 'p\u0000nul' }));
    const [read] = await store.readPredictions({ limit: 1 });
    expect(read.input).toEqual(odd.input);
    expect(Object.keys(read.input)).toEqual(['note', 'lone', 'z', 'a']);
    // U+0000 in an id becomes U+FFFD, alike in the prediction and its feedback, so they still join.
    expect(read.id).toBe('p\ufffdnul');
    expect((await store.readLabelled()).map((l) => l.prediction.id)).toEqual(['p\ufffdnul']);
    await store.close();
  });

  it('keeps the first of an id repeated inside one batch', async () => {
    const store = await openPredictionBackend(fresh(), '.');
    await store.writeBatch([prediction(0), prediction(1), prediction(0, { version: '4' })]);
    expect(await store.readPredictions()).toEqual([prediction(0), prediction(1)]);
    await store.close();
  });

  it('takes the password from the environment, refuses one in the URI, and fails at open on a wrong one', async () => {
    await query("CREATE ROLE predlog_writer LOGIN PASSWORD 'right-horse'");
    await query('GRANT CREATE ON DATABASE postgres TO predlog_writer');
    const uri = `postgres://predlog_writer@127.0.0.1:${server.port}/postgres?schema=predlog_pw`;
    const inUri = openPredictionBackend(uri.replace('predlog_writer@', 'predlog_writer:hunter2@'), '.');
    await expect(inUri).rejects.toThrow(/prediction log URI contains a password.*KILN_POSTGRES_PASSWORD/);
    await expect(inUri).rejects.not.toThrow(/hunter2/);
    const wrong = openPredictionBackend(uri, '.', { KILN_POSTGRES_PASSWORD: 'wrong-horse' });
    await expect(wrong).rejects.toThrow(/password authentication failed/);
    await expect(wrong).rejects.not.toThrow(/wrong-horse/);
    const store = await openPredictionBackend(uri, '.', { KILN_POSTGRES_PASSWORD: 'right-horse' });
    await store.writeBatch([prediction(0)]);
    expect(await store.readPredictions()).toHaveLength(1);
    await store.close();
  });

  it('opens while the server is unreachable, and then fails each write at once, naming the store', async () => {
    const port = await closedPort();
    const uri = `postgres://postgres@127.0.0.1:${port}/postgres`;
    const store = await openPredictionBackend(uri, '.');
    const started = Date.now();
    await expect(store.writeBatch([prediction(0)])).rejects.toThrow(
      `prediction log ${uri}: PostgreSQL unreachable`,
    );
    await expect(store.writeFeedback(feedback(0))).rejects.toThrow(/unreachable/);
    expect(Date.now() - started).toBeLessThan(3000);
    await store.close();
  });

  it.each(['stop', 'kill'] as const)(
    'server %s behind the buffered log: every append succeeds, all land exactly once after restart',
    async (how) => {
      const uri = fresh();
      const logger = capture();
      // As `kiln serve` opens it: the backend in a worker thread, the disk buffer under the project.
      const log = await openPredictionLog(uri, { baseDir: tempDir(), bufferDir: 'buffer', logger });
      let down = false;
      try {
        for (const r of records(50)) log.append(r);
        await log.flush();
        expect(log.stats()).toMatchObject({ written: 50, spilled: 0 });

        await server[how]();
        down = true;
        const n = 400;
        for (const r of records(n, 50)) expect(() => log.append(r)).not.toThrow();
        await log.flush();
        expect(log.stats()).toMatchObject({ pending: 0, spilled: n, written: 50, dropped: 0, rejected: 0 });
        expect(logger.lines.join('\n')).toMatch(/backend failing.*PostgreSQL unreachable/);

        await server.start();
        down = false;
        await log.flush();
        expect(log.stats()).toMatchObject({ pending: 0, spilled: 0, written: 50 + n, dropped: 0 });
        expect(logger.lines.join('\n')).toMatch(/backend is back/);
        await log.close();

        const reader = await openPredictionBackend(uri, '.');
        const ids = (await reader.readPredictions()).map((r) => r.id);
        expect(ids).toEqual(records(50 + n).map((r) => r.id));
        await reader.close();
      } finally {
        if (down) await server.start();
      }
    },
  );
});

/** An artifact store whose every call fails while `failing` is set, as an unreachable S3 would. */
class FlakyArtifacts implements ArtifactStore {
  failing = false;
  readonly uri: string;
  constructor(private readonly store: ArtifactStore) {
    this.uri = store.uri;
  }
  private check(): void {
    if (this.failing) throw new Error('S3 endpoint unreachable (ECONNREFUSED)');
  }
  async putBytes(key: string, body: Uint8Array): Promise<ObjectInfo> {
    this.check();
    return this.store.putBytes(key, body);
  }
  async putFile(key: string, localPath: string): Promise<ObjectInfo> {
    this.check();
    return this.store.putFile(key, localPath);
  }
  async getBytes(key: string): Promise<Uint8Array> {
    this.check();
    return this.store.getBytes(key);
  }
  async getFile(key: string, localPath: string): Promise<ObjectInfo> {
    this.check();
    return this.store.getFile(key, localPath);
  }
  async stat(key: string): Promise<ObjectInfo | undefined> {
    this.check();
    return this.store.stat(key);
  }
  async list(prefix: string): Promise<ObjectInfo[]> {
    this.check();
    return this.store.list(prefix);
  }
  async delete(key: string): Promise<void> {
    this.check();
    return this.store.delete(key);
  }
  close = () => this.store.close();
}

/**
 * Uploads after every write and checks nothing stays staged, so the contract's reads can only be
 * answered from the artifact store.
 */
function uploadingEachWrite(store: ArtifactJsonlStore, stagingDir: string): PredictionBackend {
  const uploaded = async () => {
    expect(await store.uploadStaged()).toBe(true);
    expect(stagedFiles(stagingDir)).toEqual([]);
  };
  return {
    uri: store.uri,
    writeBatch: async (batch) => {
      await store.writeBatch(batch);
      await uploaded();
    },
    writeFeedback: async (record) => {
      await store.writeFeedback(record);
      await uploaded();
    },
    readPredictions: (filter) => store.readPredictions(filter),
    findPrediction: (id, filter) => store.findPrediction(id, filter),
    readFeedback: (filter) => store.readFeedback(filter),
    readLabelled: (filter) => store.readLabelled(filter),
    close: () => store.close(),
  };
}

describe('prediction log as JSONL segments in an artifact store', () => {
  let s3: S3rverHandle;
  beforeAll(async () => {
    s3 = await startS3rver();
  });
  afterAll(async () => {
    await s3?.stop();
  });
  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    KILN_S3_ACCESS_KEY_ID: s3.accessKeyId,
    KILN_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    ...extra,
  });
  // A fresh prefix per store keeps the tests apart in the one bucket.
  const prefix = () => `t-${randomUUID()}`;
  const logUri = (p = prefix()) => `jsonl+s3://${s3.bucket}/${p}?endpoint=${s3.endpoint}`;

  predictionBackendContract('jsonl+s3 on s3rver', () => openPredictionBackend(logUri(), tempDir(), env()));
  predictionBackendContract('jsonl+s3 on s3rver, read back from S3 only', async () => {
    const staging = tempDir();
    const artifacts = openArtifactStore(`s3://${s3.bucket}/${prefix()}?endpoint=${s3.endpoint}`, '.', env());
    const store = await ArtifactJsonlStore.open('jsonl+s3://test', artifacts, staging, {
      maxSegmentBytes: 1,
    });
    return uploadingEachWrite(store, staging);
  });
  predictionBackendContract('jsonl segments in a file:// artifact store', async () =>
    ArtifactJsonlStore.open('jsonl+test://local', new LocalArtifactStore(tempDir()), tempDir()),
  );

  it('uploads closed segments by model and day, deletes the staged copy, and another server reads them', async () => {
    const p = prefix();
    const baseDir = tempDir();
    // KILN_ARTIFACTS_URI moves the project's artifact store, not the prediction log.
    const store = await openPredictionBackend(
      logUri(p),
      baseDir,
      env({ KILN_ARTIFACTS_URI: 'file:///nowhere' }),
    );
    expect(store.uri).toBe(`jsonl+s3://${s3.bucket}/${p}?endpoint=${s3.endpoint}&region=us-east-1`);
    await store.writeBatch(records(3));
    await store.writeFeedback(feedback(1));
    await store.close();
    expect(stagedFiles(path.join(baseDir, '.kiln', 'prediction-log-staging'))).toEqual([]);

    const artifacts = openArtifactStore(`s3://${s3.bucket}/${p}?endpoint=${s3.endpoint}`, '.', env());
    const keys = (await artifacts.list('')).map((o) => o.key);
    expect(keys).toEqual([
      expect.stringMatching(
        /^feedback\/customer-risk\/2026\/01\/02\/2026-01-02T09_\d+-[0-9a-f]+_\d{6}\.jsonl$/,
      ),
      expect.stringMatching(
        /^predictions\/customer-risk\/2026\/01\/01\/2026-01-01T10_\d+-[0-9a-f]+_\d{6}\.jsonl$/,
      ),
    ]);
    await artifacts.close();

    const other = await openPredictionBackend(logUri(p), tempDir(), env());
    expect(await other.readPredictions()).toEqual(records(3));
    expect(await other.readLabelled()).toEqual([{ prediction: prediction(1), feedback: feedback(1) }]);
    await other.close();
  });

  it('stages under KILN_LOCAL_DIR when it is set', async () => {
    const localDir = tempDir();
    const store = await openPredictionBackend(logUri(), tempDir(), env({ KILN_LOCAL_DIR: localDir }));
    // This hour's segment stays open (and staged) until the hour is over or the store closes.
    await store.writeBatch([prediction(0, { time: new Date().toISOString() })]);
    expect(stagedFiles(path.join(localDir, 'prediction-log-staging'))).toEqual([
      expect.stringMatching(/^predictions\/customer-risk\/.*\.jsonl\.tmp$/),
    ]);
    expect(await store.readPredictions()).toHaveLength(1);
    await store.close();
    expect(stagedFiles(path.join(localDir, 'prediction-log-staging'))).toEqual([]);
  });

  it('fails at open on a missing bucket, not on an unreachable endpoint', async () => {
    await expect(
      openPredictionBackend(`jsonl+s3://no-such-bucket/p?endpoint=${s3.endpoint}`, tempDir(), env()),
    ).rejects.toThrow(/NoSuchBucket/);
    const port = await closedPort();
    const staging = tempDir();
    const down = await openPredictionBackend(
      `jsonl+s3://${s3.bucket}/p?endpoint=http://127.0.0.1:${port}&maxAttempts=1`,
      staging,
      env(),
    );
    await down.writeBatch(records(2));
    await down.writeFeedback(feedback(0)); // closes the predictions' segment: its hour is over
    expect(await (down as ArtifactJsonlStore).uploadStaged()).toBe(false);
    await down.close();
    expect(stagedFiles(path.join(staging, '.kiln', 'prediction-log-staging'))).toHaveLength(2);
  });

  it('refuses credentials in the URI without echoing them', async () => {
    const open = openPredictionBackend(`${logUri()}&secretAccessKey=hunter2`, tempDir(), env());
    await expect(open).rejects.toThrow(/carries credentials/);
    await expect(open).rejects.not.toThrow(/hunter2/);
  });

  it('keeps segments staged while uploads fail, bounded, and uploads them once the store is back', async () => {
    const staging = tempDir();
    const artifacts = new FlakyArtifacts(new LocalArtifactStore(tempDir()));
    const logger = capture();
    const options = { maxSegmentBytes: 1, maxStagedBytes: 1500, retryInitialMs: 10, retryMaxMs: 20, logger };
    let store = await ArtifactJsonlStore.open('jsonl+test://flaky', artifacts, staging, options);
    artifacts.failing = true;
    // Each write closes its segment at once (maxSegmentBytes 1), so every one waits for upload; a
    // failed upload pass counts them, and past the bound writes fail.
    let written = 0;
    const write = () =>
      store.writeBatch([prediction(written)]).then(
        () => true,
        () => false,
      );
    while (written < 50 && (await write())) {
      written++;
      expect(await store.uploadStaged()).toBe(false);
    }
    expect(written).toBeGreaterThan(3);
    expect(written).toBeLessThan(20);
    await expect(store.writeBatch([prediction(99)])).rejects.toThrow(
      /wait for upload.*over the bound.*unreachable/,
    );
    expect(stagedFiles(staging)).toHaveLength(written);
    expect(logger.lines.filter((l) => /upload failing/.test(l))).toHaveLength(1);

    // Closed while the store is down: nothing is lost, the next process uploads it.
    await store.close();
    expect(stagedFiles(staging)).toHaveLength(written);
    expect(logger.lines.join('\n')).toMatch(/closed with segments not yet uploaded/);
    artifacts.failing = false;
    store = await ArtifactJsonlStore.open('jsonl+test://flaky', artifacts, staging, options);
    await vi.waitFor(() => expect(stagedFiles(staging)).toEqual([]), { timeout: 5000 });
    expect(await store.readPredictions()).toEqual(records(written));
    await store.writeBatch([prediction(99)]);
    await store.close();
  });

  it('retries failed uploads on its own with backoff', async () => {
    const staging = tempDir();
    const artifacts = new FlakyArtifacts(new LocalArtifactStore(tempDir()));
    const logger = capture();
    const store = await ArtifactJsonlStore.open('jsonl+test://flaky', artifacts, staging, {
      maxSegmentBytes: 1,
      retryInitialMs: 10,
      retryMaxMs: 20,
      logger,
    });
    artifacts.failing = true;
    await store.writeBatch(records(3));
    await vi.waitFor(() => expect(logger.lines.join('\n')).toMatch(/upload failing/), { timeout: 5000 });
    expect(stagedFiles(staging)).toHaveLength(1);
    artifacts.failing = false;
    await vi.waitFor(() => expect(stagedFiles(staging)).toEqual([]), { timeout: 5000 });
    expect(logger.lines.join('\n')).toMatch(/uploads succeed again/);
    expect(await store.readPredictions()).toEqual(records(3));
    await store.close();
  });
});

async function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
