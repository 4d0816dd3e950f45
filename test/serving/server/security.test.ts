import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../../src/serving/server/app.js';
import { loadKeyHashes, parseKeyHashes } from '../../../src/serving/server/security.js';
import { PackageDirectorySource } from '../../../src/serving/server/sources.js';
import { customerRecords, json, MemoryLog, MODEL, tempDir, trainPackage } from './fixture.js';

const KEY = 'kiln-test-key-0123456789';
const OTHER_KEY = 'kiln-other-key-9876543210';
const hash = (key: string) => createHash('sha256').update(key).digest('hex');
const bearer = (key: string) => ({ authorization: `Bearer ${key}`, 'content-type': 'application/json' });
const FEEDBACK = `/v1/models/${MODEL}/feedback`;
const PREDICT = `/v1/models/${MODEL}/predict`;

describe('kiln serve: API keys, feedback, rate limit', () => {
  let packageDir: string;
  let record: Record<string, unknown>;

  beforeAll(async () => {
    packageDir = await trainPackage();
    [record] = await customerRecords(1, 2);
  });

  it('reads hashed keys from a file and the environment, and refuses anything but SHA-256 hex', () => {
    const file = path.join(tempDir(), 'keys');
    writeFileSync(file, `# ops team\n${hash(KEY)}\n`);
    expect(loadKeyHashes({ file, env: hash(OTHER_KEY).toUpperCase() })).toHaveLength(2);
    expect(() => parseKeyHashes(KEY, 'KILN_API_KEYS_SHA256')).toThrow(/is not a hex SHA-256 hash/);
  });

  it('requires a valid key on feedback (401), stores it with the right one (202), logs every prediction', async () => {
    const log = new MemoryLog();
    const app = buildServer({
      sources: [new PackageDirectorySource(packageDir)],
      predictionLog: log,
      apiKeyHashes: parseKeyHashes(hash(KEY), 'test'),
    });
    const predicted = await app.inject({ method: 'POST', url: PREDICT, ...json(record) });
    expect(predicted.statusCode).toBe(200);
    const { prediction_id, label, probabilities } = predicted.json().predictions[0];
    expect(log.predictions).toEqual([
      expect.objectContaining({
        id: prediction_id,
        model: MODEL,
        input: record,
        output: { label, probabilities },
      }),
    ]);

    const payload = JSON.stringify({ prediction_id, label: '1' });
    const missing = await app.inject({
      method: 'POST',
      url: FEEDBACK,
      payload,
      headers: { 'content-type': 'application/json' },
    });
    expect(missing.statusCode).toBe(401);
    expect(missing.json().error).toMatch(/missing API key/);
    const wrong = await app.inject({ method: 'POST', url: FEEDBACK, payload, headers: bearer(OTHER_KEY) });
    expect(wrong.statusCode).toBe(401);
    const right = await app.inject({ method: 'POST', url: FEEDBACK, payload, headers: bearer(KEY) });
    expect(right.statusCode).toBe(202);
    expect(log.feedbacks).toEqual([
      expect.objectContaining({ predictionId: prediction_id, model: MODEL, label: '1' }),
    ]);
    const badLabel = await app.inject({
      method: 'POST',
      url: FEEDBACK,
      payload: JSON.stringify({ prediction_id, label: 'yes' }),
      headers: bearer(KEY),
    });
    expect(badLabel.statusCode).toBe(400);
    expect(badLabel.json().details).toEqual([
      { path: '/label', reason: 'expected one of the classes "0", "1"' },
    ]);
    await app.close();
    expect(log.closed).toBe(true);
  });

  it('answers feedback with 501 when no prediction log is configured', async () => {
    const app = buildServer({ sources: [new PackageDirectorySource(packageDir)], openFeedback: true });
    const response = await app.inject({
      method: 'POST',
      url: FEEDBACK,
      ...json({ prediction_id: 'x', label: '1' }),
    });
    expect(response.statusCode).toBe(501);
    await app.close();
  });

  it('can require a key for predictions too', async () => {
    const app = buildServer({
      sources: [new PackageDirectorySource(packageDir)],
      apiKeyHashes: parseKeyHashes(hash(KEY), 'test'),
      requireAuthForPredict: true,
    });
    expect((await app.inject({ method: 'POST', url: PREDICT, ...json(record) })).statusCode).toBe(401);
    const ok = await app.inject({
      method: 'POST',
      url: PREDICT,
      payload: JSON.stringify(record),
      headers: bearer(KEY),
    });
    expect(ok.statusCode).toBe(200);
    await app.close();
  });

  it('rate-limits per key (429), each key with its own budget; health probes are exempt', async () => {
    const app = buildServer({
      sources: [new PackageDirectorySource(packageDir)],
      apiKeyHashes: parseKeyHashes(`${hash(KEY)},${hash(OTHER_KEY)}`, 'test'),
      rateLimit: { max: 3, timeWindowMs: 60_000 },
    });
    const call = (key: string) =>
      app.inject({ method: 'POST', url: PREDICT, payload: JSON.stringify(record), headers: bearer(key) });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await call(KEY)).statusCode);
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect((await call(OTHER_KEY)).statusCode).toBe(200);
    for (let i = 0; i < 5; i++)
      expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    await app.close();
  });

  it('sends CORS headers for configured origins only', async () => {
    const app = buildServer({
      sources: [new PackageDirectorySource(packageDir)],
      cors: { origins: ['https://app.example'] },
    });
    const allowed = await app.inject({
      method: 'GET',
      url: '/v1/models',
      headers: { origin: 'https://app.example' },
    });
    expect(allowed.headers['access-control-allow-origin']).toBe('https://app.example');
    const other = await app.inject({
      method: 'GET',
      url: '/v1/models',
      headers: { origin: 'https://evil.example' },
    });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    await app.close();
  });
});
