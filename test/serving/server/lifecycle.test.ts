import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Table } from '../../../src/data/table.js';
import type { Engine } from '../../../src/scoring/engine.js';
import { buildServer } from '../../../src/serving/server/app.js';
import type { ServedModel } from '../../../src/serving/server/predict.js';
import { type ModelSource, PackageDirectorySource } from '../../../src/serving/server/sources.js';
import { type CustomerRecord, customerRecords, json, MemoryLog, MODEL, trainPackage } from './fixture.js';

const PREDICT = `/v1/models/${MODEL}/predict`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * An engine that scores through `score` only (no JS stages, like the ONNX engine), with `before` run
 * first: to fail, hang or hold a request.
 */
function around(engine: Engine, before: (table: Table) => void | Promise<void>): Engine {
  return {
    name: engine.name,
    width: engine.width,
    release: () => engine.release(),
    score: (table) => {
      const waited = before(table);
      return waited ? waited.then(() => engine.score(table)) : engine.score(table);
    },
  };
}

/** A source wrapping a package whose engine is replaced (slow, failing, never answering). */
class WrappedSource implements ModelSource {
  readonly name = MODEL;
  constructor(
    private readonly inner: PackageDirectorySource,
    private readonly wrap: (engine: Engine) => Engine,
    private readonly gate: Promise<void> = Promise.resolve(),
  ) {}
  describe() {
    return `wrapped ${this.inner.describe()}`;
  }
  async load(): Promise<ServedModel> {
    await this.gate;
    const model = await this.inner.load();
    return { ...model, engine: this.wrap(model.engine) };
  }
}

async function postJson(base: string, path: string, body: unknown) {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as { version: string } };
}

describe('kiln serve: lifecycle', () => {
  let packageA: string;
  let packageB: string;
  let records: CustomerRecord[];

  beforeAll(async () => {
    packageA = await trainPackage();
    packageB = await trainPackage({}, 3);
    records = await customerRecords(50, 11);
  });

  it('is not ready until every configured model has loaded', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const app = buildServer({
      sources: [new WrappedSource(new PackageDirectorySource(packageA), (e) => e, gate)],
    });
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const before = await app.inject({ method: 'GET', url: '/readyz' });
    expect(before.statusCode).toBe(503);
    expect(before.json()).toMatchObject({ ready: false, loading: [MODEL] });
    expect((await app.inject({ method: 'GET', url: '/v2/health/ready' })).statusCode).toBe(400);
    expect((await app.inject({ method: 'POST', url: PREDICT, ...json(records[0]) })).statusCode).toBe(404);
    open();
    await app.kiln.ready;
    expect((await app.inject({ method: 'GET', url: '/readyz' })).json()).toMatchObject({ ready: true });
    expect((await app.inject({ method: 'GET', url: '/v2/health/ready' })).statusCode).toBe(200);
    await app.close();
  });

  it('survives a failing engine: 500 with a request id, and the next request is served', async () => {
    let fail = true;
    const app = buildServer({
      sources: [
        new WrappedSource(new PackageDirectorySource(packageA), (engine) =>
          around(engine, (table) => {
            if (fail && table.nRows > 1) throw new Error('engine exploded');
          }),
        ),
      ],
    });
    await app.kiln.ready;
    const crashed = await app.inject({ method: 'POST', url: PREDICT, ...json(records.slice(0, 2)) });
    expect(crashed.statusCode).toBe(500);
    expect(crashed.json()).toEqual({
      error: 'internal error while serving the request',
      id: expect.any(String),
    });
    fail = false;
    expect(
      (await app.inject({ method: 'POST', url: PREDICT, ...json(records.slice(0, 2)) })).statusCode,
    ).toBe(200);
    await app.close();
  });

  it('gives up on an asynchronous engine after the timeout (504)', async () => {
    let hang = false;
    const app = buildServer({
      timeoutMs: 100,
      sources: [
        new WrappedSource(new PackageDirectorySource(packageA), (engine) =>
          // The probe row at load answers; traffic after it never does.
          around(engine, () => (hang ? new Promise<void>(() => {}) : undefined)),
        ),
      ],
    });
    await app.kiln.ready;
    hang = true;
    const response = await app.inject({ method: 'POST', url: PREDICT, ...json(records[0]) });
    expect(response.statusCode).toBe(504);
    expect(response.json().error).toMatch(/did not finish within 100 ms/);
    await app.close();
  });

  describe('on a real socket', () => {
    let app: FastifyInstance;
    let base: string;
    let log: MemoryLog;

    beforeAll(async () => {
      log = new MemoryLog();
      app = buildServer({ sources: [new PackageDirectorySource(packageA)], predictionLog: log });
      await app.kiln.ready;
      base = await app.listen({ host: '127.0.0.1', port: 0 });
    });
    afterAll(() => app.close());

    it('serves 16 concurrent clients, 40 requests each, with no errors', async () => {
      let ok = 0;
      let failed = 0;
      await Promise.all(
        Array.from({ length: 16 }, async (_, c) => {
          for (let i = c; i < 16 * 40; i += 16) {
            const { status } = await postJson(base, PREDICT, records[i % records.length]);
            if (status === 200) ok++;
            else failed++;
          }
        }),
      );
      expect(failed).toBe(0);
      expect(ok).toBe(16 * 40);
      // Every prediction reaches the log, after its response.
      await sleep(20);
      expect(log.predictions.length).toBe(ok);
    });

    it('swaps the model atomically under load: zero failures, responses move to the new version', async () => {
      const versionA = app.kiln.models.get(MODEL)!.model.version;
      const next = await new PackageDirectorySource(packageB).load();
      expect(next.version).not.toBe(versionA);
      const seen: string[] = [];
      let failed = 0;
      let swapped = false;
      const clients = Array.from({ length: 8 }, async (_, c) => {
        for (let i = c; !swapped || seen.filter((v) => v === next.version).length < 50; i += 8) {
          const { status, body } = await postJson(base, PREDICT, records.slice(i % 40, (i % 40) + 5));
          if (status !== 200) failed++;
          else seen.push(body.version);
        }
      });
      await sleep(150);
      await app.kiln.models.swap(MODEL, next);
      swapped = true;
      await Promise.all(clients);
      expect(failed).toBe(0);
      const firstNew = seen.indexOf(next.version);
      expect(firstNew).toBeGreaterThan(0);
      expect(seen.slice(0, firstNew).every((v) => v === versionA)).toBe(true);
      // After the swap returned, every request that started got the new version.
      expect(seen.slice(-10).every((v) => v === next.version)).toBe(true);
      expect((await app.inject({ method: 'GET', url: '/readyz' })).json().models[MODEL]).toBe(next.version);
    });
  });

  it('drains requests in flight on close (SIGTERM): all complete with 200, then the log is flushed and closed', async () => {
    const log = new MemoryLog();
    // Requests are held in the engine until released: in flight for as long as the test needs.
    let hold = false;
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const app = buildServer({
      predictionLog: log,
      sources: [
        new WrappedSource(new PackageDirectorySource(packageA), (engine) =>
          around(engine, () => (hold ? released : undefined)),
        ),
      ],
    });
    await app.kiln.ready;
    hold = true;
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const inFlight = Array.from({ length: 20 }, (_, i) => postJson(base, PREDICT, records[i]));
    // Every request accepted and being processed, by the server's own in-flight gauge.
    await until(async () => (await inFlightGauge(app)) === 20);
    const closing = app.close();
    // Closed to new connections while the 20 are still held...
    await until(async () => !(await reachable(base)));
    expect(await inFlightGauge(app)).toBe(20);
    release();
    // ...and every one of them still answered.
    const results = await Promise.all(inFlight);
    await closing;
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(log.predictions).toHaveLength(20);
    expect(log.flushed).toBe(1);
    expect(log.closed).toBe(true);
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });
});

/** The server's `kiln_http_requests_in_flight`, read from its metrics registry (not over HTTP: that would count). */
async function inFlightGauge(app: FastifyInstance): Promise<number> {
  const gauge = app.kiln.metrics.registry.getSingleMetric('kiln_http_requests_in_flight');
  const { values } = await gauge!.get();
  return values[0]?.value ?? 0;
}

async function reachable(base: string): Promise<boolean> {
  try {
    await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(1000) });
    return true;
  } catch {
    return false;
  }
}

/** Polls `condition` until it holds (a condition, not a fixed sleep); the test timeout bounds it. */
async function until(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setImmediate(resolve));
}
