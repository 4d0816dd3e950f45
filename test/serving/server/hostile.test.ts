/**
 * The server under hostile or confused clients, in process: error responses stay small whatever the
 * request, keys stay out of logs, body problems are named for what they are.
 */
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../../src/serving/server/app.js';
import { parseKeyHashes } from '../../../src/serving/server/security.js';
import { PackageDirectorySource } from '../../../src/serving/server/sources.js';
import { MAX_KEPT_ERRORS, RECORDS, rowsToTable } from '../../../src/serving/server/validation.js';
import { type CustomerRecord, customerRecords, json, MODEL, trainPackage } from './fixture.js';

const PREDICT = `/v1/models/${MODEL}/predict`;
const KEY = 'kiln-hostile-key-0123456789';
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('kiln serve: hostile clients', () => {
  let packageDir: string;
  let records: CustomerRecord[];
  let app: ReturnType<typeof buildServer>;

  beforeAll(async () => {
    packageDir = await trainPackage();
    records = await customerRecords(1000, 5);
    // Room for the 1,000 x 140 unknown keys below (about 2.5 MB).
    app = buildServer({ sources: [new PackageDirectorySource(packageDir)], bodyLimit: 4 * 1024 * 1024 });
    await app.kiln.ready;
    return () => app.close();
  });

  it('caps the problems a 400 lists and counts the rest (1,000 records x 140 unknown keys)', async () => {
    const extra = Object.fromEntries(Array.from({ length: 140 }, (_, k) => [`unknown_field_${k}`, k]));
    const response = await app.inject({
      method: 'POST',
      url: PREDICT,
      ...json(records.map((r) => ({ ...r, ...extra }))),
    });
    expect(response.statusCode).toBe(400);
    const body = response.json();
    expect(body.details).toHaveLength(MAX_KEPT_ERRORS);
    expect(body.omitted).toBe(140_000 - MAX_KEPT_ERRORS);
    expect(body.error).toMatch(/^request does not match the model signature: 140000 problems: /);
    expect(response.payload.length).toBeLessThan(32 * 1024);
    // Problems past the cap are counted, not built (their paths and reasons were the cost).
    const live = app.kiln.models.get(MODEL)!;
    const rows = records.map((r) => ({ ...r, ...extra }));
    const { errors, omitted } = rowsToTable(live.signature, rows, RECORDS, (i) => `/${i}`, 'reject');
    expect(errors).toHaveLength(140);
    expect(omitted).toBe(140_000 - 140);
  });

  it('clips an echoed field name and value (a 900 kB field name is not sent back)', async () => {
    const name = 'n'.repeat(900_000);
    const response = await app.inject({
      method: 'POST',
      url: PREDICT,
      ...json({ ...records[0], [name]: 1, product: 'p'.repeat(100_000) }),
    });
    expect(response.statusCode).toBe(400);
    expect(response.payload.length).toBeLessThan(4096);
    expect(response.json().details).toContainEqual({
      path: expect.stringMatching(/^\/n{199}\.\.\. \(899801 more characters\)$/),
      reason: 'unknown field (not in the model signature)',
    });
  });

  it('says "or null" only for fields that take null', async () => {
    const response = await app.inject({
      method: 'POST',
      url: PREDICT,
      ...json({ ...records[0], deposits: 'ten', withdrawals: 'five' }),
    });
    expect(response.json().details).toEqual([
      { path: '/deposits', reason: 'expected a number, got string "ten"' },
      { path: '/withdrawals', reason: 'expected a number or null, got string "five"' },
    ]);
  });

  it('names the content type when valid JSON comes as text/plain (415)', async () => {
    const response = await app.inject({
      method: 'POST',
      url: PREDICT,
      payload: JSON.stringify(records[0]),
      headers: { 'content-type': 'text/plain' },
    });
    expect(response.statusCode).toBe(415);
    expect(response.json().error).toBe(
      'content-type text/plain is not accepted: send the body as JSON with content-type: application/json',
    );
  });

  it('refuses a __proto__ or constructor.prototype key by name, and still names malformed JSON', async () => {
    const post = (payload: string) => app.inject({ method: 'POST', url: PREDICT, ...json(payload) });
    const proto = await post(`{"records": [${JSON.stringify(records[0])}, {"__proto__": {"admin": true}}]}`);
    expect(proto.statusCode).toBe(400);
    expect(proto.json().error).toBe(
      'the key "__proto__" at /records/1 is refused: it names an object prototype, which no model field may use; rename or remove it',
    );
    const escaped = await post('{"\\u005f_proto__": {"admin": true}}');
    expect(escaped.json().error).toMatch(/^the key "__proto__" at \/ is refused/);
    const ctor = await post('[{"constructor": {"prototype": {"admin": true}}}]');
    expect(ctor.statusCode).toBe(400);
    expect(ctor.json().error).toMatch(/^the key "constructor" \(holding "prototype"\) at \/0 is refused/);
    const malformed = await post('{"deposits": 1,');
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error).toMatch(/^malformed JSON body: /);
  });

  it('takes the bearer scheme in any case', async () => {
    const keyed = buildServer({
      sources: [new PackageDirectorySource(packageDir)],
      apiKeyHashes: parseKeyHashes(sha(KEY), 'test'),
      requireAuthForPredict: true,
    });
    await keyed.kiln.ready;
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      const response = await keyed.inject({
        method: 'POST',
        url: PREDICT,
        payload: JSON.stringify(records[0]),
        headers: { authorization: `${scheme} ${KEY}`, 'content-type': 'application/json' },
      });
      expect(response.statusCode, scheme).toBe(200);
    }
    const wrong = await keyed.inject({
      method: 'POST',
      url: PREDICT,
      ...json(records[0]),
      headers: { authorization: `bearer not-${KEY}`, 'content-type': 'application/json' },
    });
    expect(wrong.statusCode).toBe(401);
    await keyed.close();
  });

  it('never logs the query string of a refused request', async () => {
    const lines: string[] = [];
    const logged = buildServer({
      sources: [new PackageDirectorySource(packageDir)],
      apiKeyHashes: parseKeyHashes(sha(KEY), 'test'),
      requireAuthForPredict: true,
      logger: { level: 'info', stream: { write: (line: string) => lines.push(line) } },
    });
    await logged.kiln.ready;
    const response = await logged.inject({
      method: 'POST',
      url: `${PREDICT}?api_key=${KEY}`,
      ...json(records[0]),
    });
    expect(response.statusCode).toBe(401);
    const request = lines.map((line) => JSON.parse(line)).find((entry) => entry.msg === 'request');
    expect(request).toMatchObject({ path: PREDICT, status: 401 });
    expect(lines.join('')).not.toContain(KEY);
    await logged.close();
  });

  it('prints nothing of a plain key given where its hash belongs', () => {
    const plain = 'sk-live-0123456789abcdef';
    let message = '';
    try {
      parseKeyHashes(`${sha(KEY)},${plain}`, 'KILN_API_KEYS_SHA256');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^KILN_API_KEYS_SHA256: entry 2 is not a hex SHA-256 hash/);
    for (let i = 0; i + 4 <= plain.length; i++) expect(message).not.toContain(plain.slice(i, i + 4));
  });
});
