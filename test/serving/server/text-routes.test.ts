import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPackage } from '../../../src/packaging/load.js';
import { buildServer } from '../../../src/serving/server/app.js';
import { PackageDirectorySource } from '../../../src/serving/server/sources.js';
import { MemoryLog } from './fixture.js';
import { intentRoute, TEXT_MODEL, trainTextPackage } from './text-fixture.js';

const route = intentRoute;

interface Answer {
  intent: string;
  probability: number;
  prediction_id: string;
  top: { intent: string; probability: number }[];
}

describe('text routes (POST /intent)', () => {
  let app: FastifyInstance;
  let log: MemoryLog;
  let packageDir: string;
  beforeAll(async () => {
    log = new MemoryLog();
    packageDir = await trainTextPackage();
    app = buildServer({
      sources: [new PackageDirectorySource(packageDir)],
      textRoutes: [route],
      predictionLog: log,
    });
    await app.kiln.ready;
  }, 60_000);
  afterAll(() => app.close());

  const post = (payload: string | Buffer | object) =>
    app.inject({
      method: 'POST',
      url: '/intent',
      headers: { 'content-type': 'application/json' },
      payload: typeof payload === 'object' && !Buffer.isBuffer(payload) ? JSON.stringify(payload) : payload,
    });

  it('answers one question with the intent, its probability and the top 3, ranked', async () => {
    const response = await post({ question: 'Combien de comprimés par jour, quelle posologie ?' });
    expect(response.statusCode).toBe(200);
    const answer = response.json() as Answer & { model: string };
    expect(answer.model).toBe(TEXT_MODEL);
    expect(answer.intent).toBe('posologie');
    expect(answer.top).toHaveLength(3);
    expect(answer.top[0]).toEqual({ intent: answer.intent, probability: answer.probability });
    for (let i = 1; i < 3; i++)
      expect(answer.top[i].probability).toBeLessThanOrEqual(answer.top[i - 1].probability);
    expect(answer.top.reduce((s, t) => s + t.probability, 0)).toBeLessThanOrEqual(1 + 1e-12);
    expect(answer.prediction_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers a list of questions in order, and logs each prediction', async () => {
    const before = log.predictions.length;
    const response = await post({
      questions: [
        "Puis-je le prendre enceinte pendant l'allaitement ?",
        'effets secondaires : nausées et vertiges',
      ],
    });
    expect(response.statusCode).toBe(200);
    const { predictions } = response.json() as { predictions: Answer[] };
    expect(predictions.map((p) => p.intent)).toEqual(['grossesse', 'effets']);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(log.predictions.length).toBe(before + 2);
  });

  it.each([
    ['an empty question', { question: '' }, /\/question: empty/],
    ['a whitespace-only question', { question: ' \t\n ' }, /\/question: empty/],
    [
      'a 100 kB question',
      { question: 'dose '.repeat(20_480) },
      /\/question: 102400 characters; the limit is 5000/,
    ],
    ['a number instead of a string', { question: 42 }, /\/question must be a string/],
    ['an empty list', { questions: [] }, /\/questions is empty/],
    ['a list holding a non-string', { questions: ['dose ?', null] }, /\/questions\/1 must be a string/],
    ['an empty question in a list', { questions: ['dose ?', '  '] }, /\/questions\/1: empty/],
    ['neither field', { text: 'dose ?' }, /the body must be \{"question": "..."\} or \{"questions"/],
    ['a list body', ['dose ?'], /the body must be/],
  ])('refuses %s with a clear 400', async (_what, body, message) => {
    const response = await post(body);
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatch(message);
  });

  it('refuses a body that is not valid UTF-8, and one that is not JSON', async () => {
    const invalid = Buffer.concat([
      Buffer.from('{"question": "dose '),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('"}'),
    ]);
    const response = await post(invalid);
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toBe('the body is not valid UTF-8');
    const broken = await post('{"question": ');
    expect(broken.statusCode).toBe(400);
    expect(broken.json().error).toMatch(/^malformed JSON body: /);
  });

  it('keeps serving after every kind of bad input', async () => {
    const response = await post({ question: 'posologie du doliprane ?' });
    expect(response.statusCode).toBe(200);
    expect((response.json() as Answer).intent).toBe('posologie');
  });

  it('serves the same model on the generic route', async () => {
    const response = await app.inject({
      method: 'POST',
      url: `/v1/models/${TEXT_MODEL}/predict`,
      payload: { question: 'enceinte et allaitement ?' },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json().predictions[0].label).toBe('grossesse');
  });

  it('keeps one drift summary per TF-IDF block in the package, not a statistic per term', () => {
    const { manifest } = loadPackage(packageDir);
    const reference = manifest.reference as {
      features: unknown[];
      sparseBlocks: { name: string; features: number }[];
    };
    expect(reference.features).toEqual([]);
    expect(reference.sparseBlocks.map((b) => b.name)).toEqual(['question_words', 'question_chars']);
    const terms = reference.sparseBlocks.reduce((n, b) => n + b.features, 0);
    expect(terms).toBe(manifest.featureNames.length);
  });

  it('serves the page, with no external resources', async () => {
    const response = await app.inject({ method: 'GET', url: '/' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/text\/html/);
    expect(response.headers['content-security-policy']).toContain("default-src 'none'");
    expect(response.body).toContain('<title>Intentions</title>');
    expect(response.body).not.toMatch(/https?:\/\//);
  });

  it('refuses to go live when the route names a column the model lacks', async () => {
    const bad = buildServer({
      sources: [new PackageDirectorySource(await trainTextPackage())],
      textRoutes: [{ ...route, column: 'nope' }],
    });
    await expect(bad.kiln.ready).rejects.toThrow(
      /text route \/intent: model "intent-demo" has no text input "nope"/,
    );
    await bad.close();
  }, 60_000);
});
