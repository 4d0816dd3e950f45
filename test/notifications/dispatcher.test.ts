import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  EventDispatcher,
  SIGNATURE_HEADER,
  signWebhook,
  TIMESTAMP_HEADER,
  verifyWebhookSignature,
  WebhookNotifier,
} from '../../src/notifications/index.js';
import { type MetadataStore, openMetadataStore } from '../../src/stores/metadata/index.js';
import { startReceiver } from './receiver.js';

const SECRET = 'shh-test-secret';
const fast = { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 };
const who = { actor: 'alice', reason: 'test' };

async function registerTwoVersions(store: MetadataStore): Promise<void> {
  for (const digest of ['d1', 'd2'])
    await store.createVersion(
      {
        name: 'm',
        packageUri: `file:///p/${digest}`,
        packageDigest: digest,
        runId: null,
        metrics: {},
        lineage: { runId: null, project: 'p', data: [], codeVersion: 'x', seed: 0, parentVersion: null },
      },
      who,
    );
}

describe('webhook signatures', () => {
  it('verifies its own signature and rejects a changed body, a wrong secret or a stale timestamp', () => {
    const now = Date.now();
    const timestamp = String(Math.floor(now / 1000));
    const body = '{"id":1}';
    const signature = signWebhook(SECRET, timestamp, body);
    expect(signature).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature(SECRET, { signature, timestamp }, body, 300, now)).toBe(true);
    expect(verifyWebhookSignature(SECRET, { signature, timestamp }, '{"id":2}', 300, now)).toBe(false);
    expect(verifyWebhookSignature('other', { signature, timestamp }, body, 300, now)).toBe(false);
    expect(verifyWebhookSignature(SECRET, { signature, timestamp }, body, 300, now + 301_000)).toBe(false);
    expect(verifyWebhookSignature(SECRET, { signature: undefined, timestamp }, body)).toBe(false);
  });
});

describe('event dispatcher with a webhook', () => {
  let store: MetadataStore;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  beforeEach(async () => {
    store = openMetadataStore('sqlite://:memory:', '.');
    receiver = await startReceiver();
  });
  afterEach(async () => {
    await store.close();
    await receiver.close();
  });

  const dispatcher = (options: { events?: string[] } = {}) =>
    new EventDispatcher(
      store,
      [
        new WebhookNotifier({
          target: 'webhook:ops',
          url: receiver.url,
          secret: SECRET,
          events: options.events,
        }),
      ],
      fast,
    );

  it('posts every event once, in order, signed, and remembers where it got to', async () => {
    await registerTwoVersions(store);
    const first = await dispatcher().dispatchPending();
    expect(first).toEqual({ delivered: 3, parked: 0 });
    const bodies = receiver.received.map((r) => JSON.parse(r.body));
    expect(bodies.map((b) => b.type)).toEqual(['model.created', 'version.created', 'version.created']);
    expect(bodies[1]).toMatchObject({ model: 'm', version: 1, actor: 'alice', reason: 'test' });
    for (const { headers, body } of receiver.received) {
      expect(headers['x-kiln-event-id']).toBe(String(JSON.parse(body).id));
      expect(
        verifyWebhookSignature(
          SECRET,
          { signature: headers[SIGNATURE_HEADER] as string, timestamp: headers[TIMESTAMP_HEADER] as string },
          body,
        ),
      ).toBe(true);
    }
    // Nothing new: nothing sent. A new change: only it is sent.
    expect(await dispatcher().dispatchPending()).toEqual({ delivered: 0, parked: 0 });
    await store.moveAlias({ name: 'm', alias: 'champion', version: 2, expected: null, ...who });
    expect(await dispatcher().dispatchPending()).toEqual({ delivered: 1, parked: 0 });
    expect(receiver.received).toHaveLength(4);
    expect(JSON.parse(receiver.received[3].body)).toMatchObject({ type: 'alias.moved', alias: 'champion' });
  });

  it('retries failures with backoff and succeeds when the receiver recovers', async () => {
    receiver.setStatuses([503, 500, 200]);
    await store.createVersion(
      {
        name: 'm',
        packageUri: 'file:///p/d',
        packageDigest: 'd',
        runId: null,
        metrics: {},
        lineage: { runId: null, project: 'p', data: [], codeVersion: 'x', seed: 0, parentVersion: null },
      },
      who,
    );
    const result = await dispatcher({ events: ['model.created'] }).dispatchPending();
    expect(result).toEqual({ delivered: 1, parked: 0 });
    expect(receiver.received).toHaveLength(3);
    expect(await store.listDeadLetters()).toEqual([]);
  });

  it('parks an event that keeps failing, goes on with the next, and replays it later', async () => {
    await registerTwoVersions(store);
    receiver.setStatuses([500, 500, 500, 200]);
    const result = await dispatcher().dispatchPending();
    // The first event exhausts its 3 attempts; the receiver then recovers for the other two.
    expect(result).toEqual({ delivered: 2, parked: 1 });
    const [letter] = await store.listDeadLetters();
    expect(letter).toMatchObject({
      target: 'webhook:ops',
      attempts: 3,
      error: expect.stringContaining('HTTP 500'),
    });
    expect(letter.error).not.toContain('token=abc');
    expect(await dispatcher().replay()).toEqual({ delivered: 1, parked: 0 });
    expect(await store.listDeadLetters()).toEqual([]);
    const types = receiver.received.filter((r) => r.body).map((r) => JSON.parse(r.body).id);
    expect(types.at(-1)).toBe(letter.eventId);
  });

  it('does not retry a refusal (401) and parks it at once', async () => {
    receiver.setStatuses([401]);
    await registerTwoVersions(store);
    const result = await dispatcher({ events: ['model.created'] }).dispatchPending();
    expect(result).toEqual({ delivered: 0, parked: 1 });
    expect(receiver.received).toHaveLength(1);
    expect((await store.listDeadLetters())[0].attempts).toBe(1);
  });

  it('parks events for an unreachable receiver with the cause', async () => {
    await receiver.close();
    await registerTwoVersions(store);
    const unreachable = new EventDispatcher(
      store,
      [new WebhookNotifier({ target: 'webhook:gone', url: receiver.url, secret: SECRET, timeoutMs: 1000 })],
      { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
    );
    expect(await unreachable.dispatchPending()).toEqual({ delivered: 0, parked: 3 });
    expect((await store.listDeadLetters('webhook:gone'))[0].error).toMatch(/ECONNREFUSED/);
    receiver = await startReceiver(); // for afterEach
  });
});
