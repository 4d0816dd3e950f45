import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BufferedPredictionLog } from '../../../src/monitoring/prediction-log/index.js';
import { buildServer } from '../../../src/serving/server/app.js';
import { PackageDirectorySource } from '../../../src/serving/server/sources.js';
import { SwitchableBackend } from '../../monitoring/switchable-backend.js';
import { type CustomerRecord, customerRecords, MODEL, trainPackage } from './fixture.js';

const PREDICT = `/v1/models/${MODEL}/predict`;

describe('kiln serve with a real prediction log', () => {
  let packageDir: string;
  let records: CustomerRecord[];
  beforeAll(async () => {
    packageDir = await trainPackage();
    records = await customerRecords(120, 5);
  });

  const serve = async () => {
    const backend = new SwitchableBackend();
    const bufferDir = mkdtempSync(path.join(tmpdir(), 'kiln-serve-log-'));
    const quiet = { info: () => {}, warn: () => {} };
    const log = await BufferedPredictionLog.open(backend, {
      bufferDir,
      intervalMs: 20,
      retryInitialMs: 20,
      logger: quiet,
    });
    const app = buildServer({
      sources: [new PackageDirectorySource(packageDir)],
      predictionLog: log,
      openFeedback: true,
    });
    await app.kiln.ready;
    return { app, backend, log };
  };

  it('answers every request while the log backend is down, and loses no entry after it recovers', async () => {
    const { app, backend, log } = await serve();
    backend.failing = true;
    const ids: string[] = [];
    for (const record of records) {
      const reply = await app.inject({ method: 'POST', url: PREDICT, payload: record });
      expect(reply.statusCode).toBe(200);
      ids.push(reply.json().predictions[0].prediction_id);
    }
    await log.flush();
    expect(log.stats().spilled).toBeGreaterThan(0);
    expect(await backend.store.readPredictions({ model: MODEL })).toHaveLength(0);

    backend.failing = false;
    await log.flush();
    const stored = await backend.store.readPredictions({ model: MODEL });
    expect(stored.map((r) => r.id).sort()).toEqual([...ids].sort());
    expect(new Set(backend.acknowledged).size).toBe(backend.acknowledged.length);
    const first = stored.find((r) => r.id === ids[0])!;
    expect(first.input).toMatchObject({ deposits: records[0].deposits, product: records[0].product });
    expect(first.version).toBeTruthy();
    // /metrics says where the records are: all written, none pending, dropped or waiting on disk.
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    const state = (name: string) =>
      Number(new RegExp(`^kiln_prediction_log_records\\{state="${name}"\\} (\\S+)$`, 'm').exec(metrics)?.[1]);
    expect(state('written')).toBe(ids.length);
    for (const name of ['pending', 'spilled', 'dropped', 'rejected']) expect(state(name), name).toBe(0);
    await app.close();
  });

  it('stores feedback joined to its prediction, and answers 503 while the log cannot take it', async () => {
    const { app, backend } = await serve();
    const reply = await app.inject({ method: 'POST', url: PREDICT, payload: records[1] });
    const id = reply.json().predictions[0].prediction_id as string;
    const feedbackUrl = `/v1/models/${MODEL}/feedback`;

    backend.failing = true;
    const refused = await app.inject({
      method: 'POST',
      url: feedbackUrl,
      payload: { prediction_id: id, label: '1' },
    });
    expect(refused.statusCode).toBe(503);

    backend.failing = false;
    const accepted = await app.inject({
      method: 'POST',
      url: feedbackUrl,
      payload: { prediction_id: id, label: '1' },
    });
    expect(accepted.statusCode).toBe(202);
    await app.close();
    const labelled = await backend.store.readLabelled({ model: MODEL });
    expect(labelled.map((l) => [l.prediction.id, l.feedback.label])).toEqual([[id, '1']]);
  });
});
