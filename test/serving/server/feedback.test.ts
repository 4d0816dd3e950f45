/**
 * `POST /v1/models/{name}/feedback` against a real prediction log (the buffered journal over SQLite):
 * who may write, which ids are taken, and that every label is kept.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BufferedPredictionLog,
  SqlitePredictionStore,
} from '../../../src/monitoring/prediction-log/index.js';
import { buildServer, type ServerOptions } from '../../../src/serving/server/app.js';
import { parseServing } from '../../../src/serving/server/config.js';
import { parseKeyHashes } from '../../../src/serving/server/security.js';
import { PackageDirectorySource } from '../../../src/serving/server/sources.js';
import { uuid7 } from '../../../src/util/uuid7.js';
import { SwitchableBackend } from '../../monitoring/switchable-backend.js';
import { startServe } from './built-cli.js';
import { type CustomerRecord, customerRecords, MODEL, trainPackage } from './fixture.js';

const KEY = 'kiln-feedback-key-0123456789';
const PREDICT = `/v1/models/${MODEL}/predict`;
const FEEDBACK = `/v1/models/${MODEL}/feedback`;
const keyHashes = () => parseKeyHashes(createHash('sha256').update(KEY).digest('hex'), 'test');
const withKey = { authorization: `Bearer ${KEY}` };

describe('feedback', () => {
  let packageDir: string;
  let records: CustomerRecord[];
  beforeAll(async () => {
    packageDir = await trainPackage();
    records = await customerRecords(3, 7);
  });

  /** A server over a SQLite log whose batches are written only on flush: answers wait in the journal. */
  const serve = async (options: Partial<ServerOptions> = {}) => {
    const backend = new SwitchableBackend(new SqlitePredictionStore('sqlite://:memory:', ':memory:'));
    const log = await BufferedPredictionLog.open(backend, {
      bufferDir: mkdtempSync(path.join(tmpdir(), 'kiln-feedback-')),
      intervalMs: 60_000,
      logger: { info: () => {}, warn: () => {} },
    });
    const app = buildServer({
      sources: [new PackageDirectorySource(packageDir)],
      predictionLog: log,
      ...options,
    });
    await app.kiln.ready;
    const predict = async () => {
      const reply = await app.inject({ method: 'POST', url: PREDICT, payload: records[0], headers: withKey });
      expect(reply.statusCode).toBe(200);
      return reply.json().predictions[0].prediction_id as string;
    };
    const send = (body: unknown, headers: Record<string, string> = withKey) =>
      app.inject({
        method: 'POST',
        url: FEEDBACK,
        payload: JSON.stringify(body),
        headers: { ...headers, 'content-type': 'application/json' },
      });
    return { app, backend, log, predict, send };
  };

  it('is a write like the registry: refused (403) without keys configured, a key needed (401) with them', async () => {
    const closed = await serve();
    const id = await closed.predict();
    const refused = await closed.send({ prediction_id: id, label: '1' }, {});
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error).toMatch(/feedback needs API keys: .*--api-keys-file.*--open-feedback/);
    await closed.app.close();
    expect(await closed.backend.store.readFeedback()).toEqual([]);

    const keyed = await serve({ apiKeyHashes: keyHashes() });
    const keyedId = await keyed.predict();
    expect((await keyed.send({ prediction_id: keyedId, label: '1' }, {})).statusCode).toBe(401);
    expect((await keyed.send({ prediction_id: keyedId, label: '1' })).statusCode).toBe(202);
    await keyed.app.close();
    expect((await keyed.backend.store.readFeedback()).map((f) => f.predictionId)).toEqual([keyedId]);
  });

  it('--open-feedback takes labels from anyone, keys configured or not', async () => {
    for (const apiKeyHashes of [undefined, keyHashes()]) {
      const open = await serve({ openFeedback: true, apiKeyHashes });
      const id = await open.predict();
      expect((await open.send({ prediction_id: id, label: '0' }, {})).statusCode).toBe(202);
      await open.app.close();
    }
  });

  it('documents the policy in OpenAPI: a bearer key and 401/403 unless --open-feedback; 404 for unknown ids', async () => {
    for (const openFeedback of [false, true]) {
      const server = await serve({ openFeedback });
      const docs = (await server.app.inject({ method: 'GET', url: '/docs/json' })).json();
      const post = docs.paths[FEEDBACK].post;
      expect(post.security, `openFeedback ${openFeedback}`).toEqual(
        openFeedback ? undefined : [{ bearer: [] }],
      );
      expect(Object.keys(post.responses).sort()).toEqual(
        openFeedback
          ? ['202', '400', '404', '501', '503']
          : ['202', '400', '401', '403', '404', '501', '503'],
      );
      expect(post.requestBody.content['application/json'].schema.properties.prediction_id).toMatchObject({
        format: 'uuid',
        maxLength: 36,
      });
      await server.app.close();
    }
  });

  it('takes a label for a prediction answered a moment ago, still in the journal, not yet in the log', async () => {
    const { app, backend, predict, send } = await serve({ openFeedback: true });
    const id = await predict();
    expect(await backend.store.readPredictions()).toEqual([]);
    const reply = await send({ prediction_id: id, label: '1' });
    expect(reply.statusCode).toBe(202);
    expect(reply.json()).toEqual({ status: 'accepted', prediction_id: id });
    await app.close();
    expect((await backend.store.readLabelled()).map((l) => [l.prediction.id, l.feedback.label])).toEqual([
      [id, '1'],
    ]);
  });

  it('answers 404 for an id the log does not hold, 202 with --accept-unknown-feedback', async () => {
    const unknown = uuid7();
    const strict = await serve({ openFeedback: true });
    await strict.predict();
    await strict.log.flush();
    const reply = await strict.send({ prediction_id: unknown, label: '1' });
    expect(reply.statusCode).toBe(404);
    expect(reply.json().error).toBe(
      `no prediction "${unknown}" of model "${MODEL}" in the prediction log: a label must refer to a prediction this model answered`,
    );
    await strict.app.close();
    expect(await strict.backend.store.readFeedback()).toEqual([]);

    const lenient = await serve({ openFeedback: true, acceptUnknownFeedback: true });
    expect((await lenient.send({ prediction_id: unknown, label: '1' })).statusCode).toBe(202);
    await lenient.app.close();
    expect((await lenient.backend.store.readFeedback()).map((f) => f.predictionId)).toEqual([unknown]);
  });

  it('refuses ids that are not the UUIDs the server hands out, without echoing them; takes one in upper case', async () => {
    const { app, backend, predict, send } = await serve({ openFeedback: true, acceptUnknownFeedback: true });
    const huge = 'x'.repeat(900_000);
    const reply = await send({ prediction_id: huge, label: '1' });
    expect(reply.statusCode).toBe(400);
    expect(reply.body.length).toBeLessThan(1000);
    expect(reply.json().details).toEqual([
      {
        path: '/prediction_id',
        reason:
          'expected the prediction_id of a past prediction: a UUID, 36 characters, got 900000 characters',
      },
    ]);
    for (const bad of [`${'x'.repeat(35)}"`, 42, null, ''])
      expect((await send({ prediction_id: bad, label: '1' })).statusCode).toBe(400);
    const id = await predict();
    const upper = await send({ prediction_id: id.toUpperCase(), label: '1' });
    expect(upper.statusCode).toBe(202);
    expect(upper.json().prediction_id).toBe(id);
    await app.close();
    expect((await backend.store.readFeedback()).map((f) => f.predictionId)).toEqual([id]);
  });

  it('keeps every label with its time; live quality joins the latest', async () => {
    const { app, backend, predict, send } = await serve({ openFeedback: true });
    const id = await predict();
    expect((await send({ prediction_id: id, label: '0' })).statusCode).toBe(202);
    expect((await send({ prediction_id: id, label: '1' })).statusCode).toBe(202);
    await app.close();
    const history = await backend.store.readFeedback();
    expect(history.map((f) => f.label)).toEqual(['0', '1']);
    expect(history[0].time <= history[1].time).toBe(true);
    expect((await backend.store.readLabelled()).map((l) => l.feedback.label)).toEqual(['1']);
  });

  it('answers 503 when the log cannot say whether the id is known', async () => {
    const { app, backend, send } = await serve({ openFeedback: true });
    backend.failing = true;
    expect((await send({ prediction_id: uuid7(), label: '1' })).statusCode).toBe(503);
    backend.failing = false;
    await app.close();
  });

  it('reads serving.feedback from the project config, refusing unknown keys', () => {
    expect(parseServing({}, 'kiln.config.ts').feedback).toEqual({ open: false, acceptUnknownIds: false });
    expect(parseServing({ feedback: { open: true } }, 'kiln.config.ts').feedback).toEqual({
      open: true,
      acceptUnknownIds: false,
    });
    expect(() => parseServing({ feedback: { anyone: true } }, 'kiln.config.ts')).toThrow(/anyone/);
  });

  it('kiln serve: refused without keys, open with --open-feedback, unknown ids with --accept-unknown-feedback', async () => {
    const project = mkdtempSync(path.join(tmpdir(), 'kiln-feedback-cli-'));
    const post = (base: string, body: unknown) =>
      fetch(`${base}${FEEDBACK}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const label = { prediction_id: uuid7(), label: '1' };
    const closed = await startServe(['--model', packageDir], { cwd: project });
    expect(closed.stdout()).toContain(
      'feedback: refused: no API keys (--open-feedback takes labels from anyone)\n',
    );
    expect((await post(closed.base, label)).status).toBe(403);
    expect(await closed.stop()).toBe(0);
    const open = await startServe(['--model', packageDir, '--open-feedback'], { cwd: project });
    expect((await post(open.base, label)).status).toBe(404);
    expect(await open.stop()).toBe(0);
    const lenient = await startServe(
      ['--model', packageDir, '--open-feedback', '--accept-unknown-feedback'],
      {
        cwd: project,
      },
    );
    expect((await post(lenient.base, label)).status).toBe(202);
    expect(await lenient.stop()).toBe(0);
  }, 60_000);
});
