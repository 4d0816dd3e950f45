import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  idWindow,
  JsonlSegmentStore,
  openPredictionBackend,
  SqlitePredictionStore,
  WorkerBackend,
} from '../../src/monitoring/prediction-log/index.js';
import { openMetadataStore } from '../../src/stores/metadata/index.js';
import { openSqlite } from '../../src/util/sqlite.js';
import { uuid7 } from '../../src/util/uuid7.js';
import { feedback, prediction, predictionBackendContract } from './prediction-backend-contract.js';

const tempDir = () => mkdtempSync(path.join(tmpdir(), 'kiln-predlog-'));

predictionBackendContract('sqlite (file)', () => openPredictionBackend('sqlite://log.db', tempDir()));
predictionBackendContract('sqlite (memory)', () => openPredictionBackend('sqlite://:memory:', '.'));
predictionBackendContract('sqlite in a worker thread', () =>
  WorkerBackend.open('sqlite://log.db', tempDir()),
);
predictionBackendContract('jsonl segments in a worker thread', () =>
  WorkerBackend.open('jsonl+file://log', tempDir()),
);
predictionBackendContract('jsonl segments (local directory)', () =>
  openPredictionBackend('jsonl+file://predictions', tempDir()),
);
predictionBackendContract('jsonl segments (tiny segments, rolled on every write)', async () =>
  JsonlSegmentStore.open('jsonl+file://x', tempDir(), { maxSegmentBytes: 1 }),
);

describe('sqlite prediction store', () => {
  it('keeps predictions and feedback across reopen', async () => {
    const dir = tempDir();
    const first = await openPredictionBackend('sqlite://nested/log.db', dir);
    await first.writeBatch([prediction(0)]);
    await first.writeFeedback(feedback(0));
    await first.close();
    const second = await openPredictionBackend('sqlite://nested/log.db', dir);
    expect(await second.readLabelled()).toEqual([{ prediction: prediction(0), feedback: feedback(0) }]);
    await second.close();
  });

  it('migrates a log of the one-label-per-prediction schema, keeping its labels', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'old.db');
    // The schema Kiln wrote before label history (version 1), with one label replaced by a correction.
    const db = openSqlite(file);
    db.exec(`CREATE TABLE kiln_schema (component TEXT PRIMARY KEY, version INTEGER NOT NULL);
      INSERT INTO kiln_schema VALUES ('prediction-log', 1);
      CREATE TABLE predictions (id TEXT PRIMARY KEY, time TEXT NOT NULL, model TEXT NOT NULL,
        version TEXT NOT NULL, input TEXT NOT NULL, output TEXT NOT NULL, label TEXT, latency_ms REAL NOT NULL);
      CREATE INDEX predictions_model_time ON predictions(model, time);
      CREATE INDEX predictions_time ON predictions(time);
      CREATE TABLE feedback (prediction_id TEXT PRIMARY KEY, model TEXT NOT NULL, label TEXT NOT NULL,
        time TEXT NOT NULL);
      CREATE INDEX feedback_model_time ON feedback(model, time);`);
    const insert = db.prepare('INSERT INTO predictions VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    for (const r of [prediction(0), prediction(1)])
      insert.run(
        r.id,
        r.time,
        r.model,
        r.version,
        JSON.stringify(r.input),
        JSON.stringify(r.output),
        r.output.label,
        r.latencyMs,
      );
    const label = db.prepare('INSERT INTO feedback VALUES (?, ?, ?, ?)');
    label.run('p-00001', 'customer-risk', 'ok', feedback(1).time);
    label.run('p-00000', 'customer-risk', 'at_risk', feedback(0).time);
    db.close();

    const store = await openPredictionBackend('sqlite://old.db', dir);
    expect(await store.readFeedback()).toEqual([feedback(0), feedback(1, { label: 'ok' })]);
    const correction = feedback(0, { label: 'ok', time: '2026-01-05T00:00:00.000Z' });
    await store.writeFeedback(correction);
    expect(await store.readFeedback()).toEqual([feedback(0), feedback(1, { label: 'ok' }), correction]);
    expect((await store.readLabelled()).map((l) => l.feedback)).toEqual([
      correction,
      feedback(1, { label: 'ok' }),
    ]);
    expect(await store.findPrediction('p-00001')).toEqual(prediction(1));
    await store.close();
    // Migrated once: reopening finds the history as it was left.
    const again = await openPredictionBackend('sqlite://old.db', dir);
    expect(await again.readFeedback()).toHaveLength(3);
    await again.close();
  });

  it('shares a file with the metadata store without touching its migrations', async () => {
    const dir = tempDir();
    const metadata = openMetadataStore('sqlite://kiln.db', dir);
    const run = await metadata.createRun({
      project: 'p',
      kind: 'train',
      seed: 0,
      config: {},
      codeVersion: 'x',
      dependencies: {},
    });
    await metadata.close();
    const log = new SqlitePredictionStore('sqlite://kiln.db', path.join(dir, 'kiln.db'));
    await log.writeBatch([prediction(0)]);
    await log.close();
    const reopened = openMetadataStore('sqlite://kiln.db', dir);
    expect((await reopened.getRun(run.id))?.project).toBe('p');
    await reopened.close();
    const again = new SqlitePredictionStore('sqlite://kiln.db', path.join(dir, 'kiln.db'));
    expect(await again.readPredictions()).toHaveLength(1);
    await again.close();
  });
});

describe('jsonl segment store', () => {
  const files = (dir: string, model = 'customer-risk') =>
    readdirSync(path.join(dir, 'predictions', model)).sort();

  it('writes an open segment under a temporary name and renames it when closed', async () => {
    const dir = tempDir();
    const store = await JsonlSegmentStore.open('jsonl+file://d', dir);
    const now = new Date().toISOString();
    await store.writeBatch([prediction(0, { time: now }), prediction(1, { time: now })]);
    const open = files(dir);
    expect(open).toHaveLength(1);
    expect(open[0]).toMatch(new RegExp(`^${now.slice(0, 13)}_\\d+-[0-9a-f]+_\\d{6}\\.jsonl\\.tmp$`));
    // The writing store reads its own open segment.
    expect(await store.readPredictions()).toHaveLength(2);
    // Another reader sees only closed segments: never a partial line.
    const reader = await JsonlSegmentStore.open('jsonl+file://d', dir);
    expect(await reader.readPredictions()).toEqual([]);
    await store.close();
    expect(files(dir)).toEqual([open[0].slice(0, -4)]);
    expect(await reader.readPredictions()).toHaveLength(2);
    await reader.close();
  });

  it('closes a segment when its hour is over and rolls by size', async () => {
    const dir = tempDir();
    const store = await JsonlSegmentStore.open('jsonl+file://d', dir, { maxSegmentBytes: 600 });
    await store.writeBatch([prediction(0)]); // 2026-01-01T10: an hour long over
    expect(files(dir)[0]).toMatch(/\.tmp$/);
    const now = new Date().toISOString();
    await store.writeBatch([prediction(1, { time: now })]);
    expect(files(dir).filter((f) => f.startsWith('2026-01-01T10'))).toEqual([
      expect.stringMatching(/\.jsonl$/),
    ]);
    for (let i = 2; i < 8; i++) await store.writeBatch([prediction(i, { time: now })]);
    expect(files(dir).filter((f) => f.endsWith('.jsonl')).length).toBeGreaterThan(2);
    expect(files(dir).filter((f) => f.endsWith('.tmp')).length).toBeLessThanOrEqual(1);
    expect(await store.readPredictions()).toHaveLength(8);
    await store.close();
  });

  it('keeps every file inside its directory, one folder per model', async () => {
    const root = tempDir();
    const dir = path.join(root, 'logs');
    const store = await JsonlSegmentStore.open('jsonl+file://logs', dir);
    await expect(store.writeBatch([prediction(0, { model: '../../outside' })])).rejects.toThrow(/model/);
    await expect(store.readPredictions({ model: '../..' })).rejects.toThrow(/model/);
    await store.writeBatch([prediction(0, { model: 'intent-posos.v2' })]);
    await store.close();
    expect(readdirSync(root)).toEqual(['logs']);
    expect(readdirSync(path.join(dir, 'predictions'))).toEqual(['intent-posos.v2']);
  });

  it('recovers a segment left open by a dead process, cut to its last complete line', async () => {
    const dir = tempDir();
    const folder = path.join(dir, 'predictions', 'customer-risk');
    mkdirSync(folder, { recursive: true });
    // pid_max on Linux is at most 2^22: this writer cannot be alive.
    const orphan = path.join(folder, '2026-01-01T10_4194305-abcd1234_000001.jsonl.tmp');
    const lines = [prediction(0), prediction(1)].map((r) => JSON.stringify(r)).join('\n');
    writeFileSync(orphan, `${lines}\n{"id":"p-00002","ti`);
    const live = path.join(folder, `2026-01-01T10_${process.pid}-abcd1234_000001.jsonl.tmp`);
    writeFileSync(live, `${JSON.stringify(prediction(5))}\n`);
    const store = await JsonlSegmentStore.open('jsonl+file://d', dir);
    expect(existsSync(orphan)).toBe(false);
    expect(readFileSync(orphan.slice(0, -4), 'utf8')).toBe(`${lines}\n`);
    // A segment whose writer is alive is left to it.
    expect(existsSync(live)).toBe(true);
    expect((await store.readPredictions()).map((r) => r.id)).toEqual(['p-00000', 'p-00001']);
    await store.close();
  });
});

describe('idWindow', () => {
  it('bounds where a UUIDv7 prediction can be in time from the millisecond it carries; other ids anywhere', () => {
    const drawn = Date.UTC(2026, 0, 1, 10, 59, 30);
    expect(idWindow(uuid7(drawn))).toEqual({
      since: new Date(drawn - 60_000).toISOString(),
      until: new Date(drawn + 600_000).toISOString(),
    });
    expect(idWindow(randomUUID())).toEqual({});
    expect(idWindow('p-00001')).toEqual({});
  });

  it('lets the JSONL store read only the hours of that window', async () => {
    const dir = tempDir();
    const store = await JsonlSegmentStore.open('jsonl+file://d', dir);
    const drawn = Date.UTC(2026, 0, 1, 10, 30);
    const id = uuid7(drawn);
    await store.writeBatch([prediction(0, { id, time: new Date(drawn + 3).toISOString() })]);
    await store.close();
    // A segment named for another hour holding the same id: found only if that hour is read.
    const decoy = JSON.stringify(
      prediction(0, { id, version: 'decoy', time: new Date(drawn).toISOString() }),
    );
    writeFileSync(
      path.join(dir, 'predictions', 'customer-risk', '2026-01-01T08_1-ab_000001.jsonl'),
      `${decoy}\n`,
    );
    const reader = await JsonlSegmentStore.open('jsonl+file://d', dir);
    expect((await reader.findPrediction(id, { model: 'customer-risk', ...idWindow(id) }))?.version).toBe('3');
    expect((await reader.findPrediction(id))?.version).toBe('decoy');
    await reader.close();
  });
});

describe('openPredictionBackend', () => {
  it('resolves relative locations against the base directory and absolute ones as given', async () => {
    const dir = tempDir();
    const relative = await openPredictionBackend('jsonl+file://logs/predictions', dir);
    await relative.writeBatch([prediction(0)]);
    await relative.close();
    expect(existsSync(path.join(dir, 'logs', 'predictions', 'predictions', 'customer-risk'))).toBe(true);
    const absolute = await openPredictionBackend(`sqlite://${path.join(dir, 'abs.db')}`, '/nonexistent');
    await absolute.close();
    expect(existsSync(path.join(dir, 'abs.db'))).toBe(true);
  });

  it('rejects unknown schemes with the supported list, and URIs without a location', async () => {
    await expect(openPredictionBackend('mysql://db/x', '.')).rejects.toThrow(
      /supported: sqlite:\/\/path, jsonl\+file/,
    );
    await expect(openPredictionBackend('logs', '.')).rejects.toThrow(/supported/);
    await expect(openPredictionBackend('sqlite://', '.')).rejects.toThrow(/names no location/);
  });
});
