import { appendFileSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type BufferedLogOptions,
  BufferedPredictionLog,
  openPredictionBackend,
  openPredictionLog,
  type PredictionBackend,
  PredictionLogUnavailableError,
  type PredictionRecord,
  SqlitePredictionStore,
} from '../../src/monitoring/prediction-log/index.js';
import { feedback, prediction } from './prediction-backend-contract.js';
import { SwitchableBackend } from './switchable-backend.js';

const tempDir = () => mkdtempSync(path.join(tmpdir(), 'kiln-predlog-buffer-'));

function capture() {
  const warnings: { fields: Record<string, unknown>; message: string }[] = [];
  return {
    warnings,
    logger: {
      info: () => {},
      warn: (fields: object, message: string) =>
        warnings.push({ fields: fields as Record<string, unknown>, message }),
    },
  };
}

const open: BufferedPredictionLog[] = [];
async function openLog(
  backend: PredictionBackend,
  options: Partial<BufferedLogOptions> & { bufferDir: string },
) {
  const log = await BufferedPredictionLog.open(backend, {
    batchSize: 50,
    // Long by default so that tests see only what they trigger; tests of the timer shorten it.
    intervalMs: 60_000,
    logger: capture().logger,
    ...options,
  });
  open.push(log);
  return log;
}
afterEach(async () => {
  for (const log of open.splice(0)) await log.close();
});

const records = (n: number, from = 0) => Array.from({ length: n }, (_, i) => prediction(from + i));
/** Journal segments of every process folder under the buffer directory. */
const spillFiles = (dir: string) =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.jsonl'))
    .sort();

describe('BufferedPredictionLog', () => {
  it('append returns at once and the backend is called later, in batches', async () => {
    const backend = new SwitchableBackend();
    const log = await openLog(backend, { bufferDir: tempDir(), batchSize: 10 });
    for (const r of records(25)) expect(log.append(r)).toBeUndefined();
    expect(backend.calls).toBe(0);
    expect(log.stats().pending).toBe(25);
    await log.flush();
    // 25 behind: one bite (a writer that is behind takes up to 10 batches per write).
    expect(backend.calls).toBe(1);
    expect(backend.acknowledged).toEqual(records(25).map((r) => r.id));
    expect(log.stats()).toMatchObject({ pending: 0, spilled: 0, written: 25, failures: 0, dropped: 0 });
  });

  it('writes a batch as soon as batchSize records are queued, without waiting for the timer', async () => {
    const backend = new SwitchableBackend();
    const log = await openLog(backend, { bufferDir: tempDir(), batchSize: 10 });
    for (const r of records(9)) log.append(r);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(backend.calls).toBe(0);
    log.append(prediction(9));
    expect(backend.calls).toBe(0);
    await vi.waitFor(() => expect(backend.acknowledged).toHaveLength(10));
  });

  it('writes what is queued every intervalMs', async () => {
    const backend = new SwitchableBackend();
    const log = await openLog(backend, { bufferDir: tempDir(), intervalMs: 10 });
    log.append(prediction(0));
    await vi.waitFor(() => expect(backend.acknowledged).toEqual(['p-00000']));
    expect(log.stats().written).toBe(1);
  });

  it.each([
    ['sqlite', async () => new SqlitePredictionStore('sqlite://:memory:', ':memory:')],
    ['jsonl', () => openPredictionBackend('jsonl+file://d', tempDir())],
  ])(
    'while the %s backend is down: appends succeed, records go to disk, after recovery all land exactly once',
    async (_, store) => {
      const backend = new SwitchableBackend(await store());
      const bufferDir = tempDir();
      const { logger, warnings } = capture();
      const log = await openLog(backend, { bufferDir, logger, retryInitialMs: 60_000 });
      backend.failing = true;
      const n = 420;
      for (const r of records(n)) expect(() => log.append(r)).not.toThrow();
      await log.flush();
      expect(log.stats()).toMatchObject({ pending: 0, spilled: n, written: 0, dropped: 0 });
      expect(log.stats().failures).toBeGreaterThanOrEqual(1);
      expect(spillFiles(bufferDir).length).toBeGreaterThan(0);
      expect(warnings.map((w) => w.message).join('\n')).toMatch(/backend failing/);
      // Still down: more appends, and a flush that fails again, lose nothing.
      for (const r of records(30, n)) log.append(r);
      await log.flush();
      expect(log.stats().spilled).toBe(n + 30);

      backend.failing = false;
      await log.flush();
      expect(backend.acknowledged).toEqual(records(n + 30).map((r) => r.id));
      expect(await backend.readPredictions()).toHaveLength(n + 30);
      expect(spillFiles(bufferDir)).toEqual([]);
      expect(log.stats()).toMatchObject({ pending: 0, spilled: 0, written: n + 30, dropped: 0 });
      await backend.store.close();
    },
  );

  it('retries on its own with backoff once the backend is back', async () => {
    const backend = new SwitchableBackend();
    const log = await openLog(backend, {
      bufferDir: tempDir(),
      intervalMs: 5,
      retryInitialMs: 10,
      retryMaxMs: 40,
    });
    backend.failing = true;
    for (const r of records(20)) log.append(r);
    await vi.waitFor(() => expect(log.stats().failures).toBeGreaterThanOrEqual(3));
    const calls = backend.calls;
    // Backoff: far fewer attempts than timer ticks.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(backend.calls - calls).toBeLessThan(10);
    expect(log.stats().spilled).toBe(20);
    backend.failing = false;
    await vi.waitFor(() => expect(log.stats()).toMatchObject({ spilled: 0, written: 20 }));
    expect(backend.acknowledged).toEqual(records(20).map((r) => r.id));
  });

  it('replays the journal a previous process left, including a line cut by a machine crash', async () => {
    const bufferDir = tempDir();
    const first = new SwitchableBackend();
    first.failing = true;
    const before = await BufferedPredictionLog.open(first, {
      bufferDir,
      batchSize: 50,
      logger: capture().logger,
    });
    for (const r of records(120)) before.append(r);
    await before.close(); // backend down: everything stays in its folder
    expect(before.stats()).toMatchObject({ spilled: 120, written: 0 });
    // A machine crash can leave the last line of a segment cut.
    const segments = spillFiles(bufferDir);
    const tail = `${JSON.stringify(prediction(120))}\n${JSON.stringify(prediction(121)).slice(0, 30)}`;
    appendFileSync(path.join(bufferDir, segments[segments.length - 1]), tail);

    const backend = new SwitchableBackend();
    const { logger, warnings } = capture();
    const after = await openLog(backend, { bufferDir, logger });
    expect(after.stats().spilled).toBe(121);
    // No flush: opening starts the replay.
    await vi.waitFor(() => expect(backend.acknowledged).toHaveLength(121));
    expect(backend.acknowledged).toEqual(records(121).map((r) => r.id));
    await vi.waitFor(() => expect(spillFiles(bufferDir)).toEqual([]));
    expect(after.stats()).toMatchObject({ spilled: 0, written: 121, dropped: 1 });
    expect(warnings.some((w) => w.fields.lost === 1)).toBe(true);
  });

  it('bounds the disk buffer: records beyond it are counted as dropped and warned about', async () => {
    const backend = new SwitchableBackend();
    const bufferDir = tempDir();
    const { logger, warnings } = capture();
    const bytes = records(30).reduce((sum, r) => sum + Buffer.byteLength(`${JSON.stringify(r)}\n`), 0);
    const log = await openLog(backend, {
      bufferDir,
      logger,
      maxBufferBytes: bytes + 10,
      retryInitialMs: 60_000,
    });
    backend.failing = true;
    for (const r of records(100)) log.append(r);
    await log.flush();
    expect(log.stats()).toMatchObject({ spilled: 30, dropped: 70, pending: 0 });
    const dropped = () => warnings.filter((w) => w.fields.dropped !== undefined);
    // The first drop is reported at once; later ones within the interval are counted for the next report.
    expect(dropped()).toHaveLength(1);
    expect(dropped()[0].message).toMatch(/\d+ record\(s\) dropped/);
    log.append(prediction(100));
    await log.flush();
    expect(log.stats().dropped).toBe(71);
    expect(dropped()).toHaveLength(1);

    backend.failing = false;
    await log.flush();
    expect(backend.acknowledged).toEqual(records(30).map((r) => r.id));
    // Space is free again once the buffer is replayed.
    log.append(prediction(200));
    await log.flush();
    expect(log.stats()).toMatchObject({ written: 31, dropped: 71 });
    await log.close();
    // Never silent: every dropped record is in some warning.
    expect(dropped()).toHaveLength(2);
    expect(dropped().reduce((sum, w) => sum + (w.fields.dropped as number), 0)).toBe(71);
  });

  it('bounds the memory queue: over maxQueueRecords it spills to disk while a slow write is in flight', async () => {
    const backend = new SwitchableBackend();
    let release!: () => void;
    backend.gate = new Promise((resolve) => {
      release = resolve;
    });
    const log = await openLog(backend, { bufferDir: tempDir(), batchSize: 10, maxQueueRecords: 25 });
    for (const r of records(10)) log.append(r);
    await vi.waitFor(() => expect(backend.calls).toBe(1)); // the first batch is held in flight
    for (const r of records(100, 10)) log.append(r);
    await vi.waitFor(() => expect(log.stats().spilled).toBeGreaterThanOrEqual(75));
    release();
    await log.flush();
    expect([...backend.acknowledged].sort()).toEqual(records(110).map((r) => r.id));
    expect(log.stats()).toMatchObject({ pending: 0, spilled: 0, written: 110, dropped: 0 });
  });

  it('asks callers to wait (room) while a healthy backend is behind, never while it is down; drops nothing', async () => {
    const backend = new SwitchableBackend();
    let release!: () => void;
    backend.gate = new Promise((resolve) => {
      release = resolve;
    });
    const log = await openLog(backend, { bufferDir: tempDir(), batchSize: 10, maxBacklogRecords: 40 });
    for (const r of records(40)) log.append(r);
    expect(log.room()).toBeUndefined(); // at the bound, not over it
    log.append(prediction(40));
    const room = log.room();
    expect(room).toBeInstanceOf(Promise);
    expect(log.room()).toBe(room); // one promise for every waiter
    let freed = false;
    void room!.then(() => {
      freed = true;
    });
    await vi.waitFor(() => expect(backend.calls).toBeGreaterThanOrEqual(1));
    expect(freed).toBe(false); // the writer is held: still behind
    release();
    await vi.waitFor(() => expect(freed).toBe(true)); // back under the bound
    expect(log.stats().written).toBeGreaterThanOrEqual(1);

    // A backend that fails does not hold answers back: the journal absorbs.
    backend.failing = true;
    for (const r of records(60, 100)) log.append(r);
    await log.flush();
    expect(log.room()).toBeUndefined();
    backend.failing = false;
    await log.flush();
    expect(log.stats()).toMatchObject({ pending: 0, spilled: 0, written: 101, dropped: 0 });
  });

  it('counts a hung backend write as a failure after writeTimeoutMs and spills the batch', async () => {
    const backend = new SwitchableBackend();
    backend.gate = new Promise(() => {});
    const log = await openLog(backend, { bufferDir: tempDir(), writeTimeoutMs: 20, retryInitialMs: 60_000 });
    log.append(prediction(0));
    await log.flush();
    expect(log.stats()).toMatchObject({ failures: 1, spilled: 1, pending: 0 });
    backend.gate = undefined;
    await log.flush();
    expect(log.stats()).toMatchObject({ spilled: 0, written: 1 });
  });

  it('refuses records that can never be stored, without throwing, and reports them', async () => {
    const backend = new SwitchableBackend();
    const { logger, warnings } = capture();
    const log = await openLog(backend, { bufferDir: tempDir(), logger });
    log.append(prediction(0, { model: '../x' }));
    log.append(prediction(1, { latencyMs: Number.NaN }));
    log.append(null as unknown as PredictionRecord);
    log.append(prediction(2));
    await log.flush();
    expect(backend.acknowledged).toEqual(['p-00002']);
    expect(log.stats()).toMatchObject({ rejected: 3, dropped: 0 });
    expect(warnings.some((w) => /refused/.test(w.message))).toBe(true);
  });

  it('refuses a record that cannot be serialized at append, without blocking the rest', async () => {
    const backend = new SwitchableBackend();
    const log = await openLog(backend, { bufferDir: tempDir() });
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    log.append(prediction(0));
    log.append(prediction(1, { input: circular }));
    log.append(prediction(2, { input: { big: 1n } }));
    await log.flush();
    expect(backend.acknowledged).toEqual(['p-00000']);
    expect(log.stats()).toMatchObject({ written: 1, rejected: 2, spilled: 0 });
  });

  it('stores feedback directly; rejects so the client can retry when the backend is down', async () => {
    const backend = new SwitchableBackend();
    const log = await openLog(backend, { bufferDir: tempDir() });
    log.append(prediction(0));
    await log.feedback(feedback(0));
    await log.flush();
    expect(await backend.readLabelled()).toEqual([{ prediction: prediction(0), feedback: feedback(0) }]);
    backend.failing = true;
    await expect(log.feedback(feedback(1))).rejects.toBeInstanceOf(PredictionLogUnavailableError);
    await expect(log.feedback(feedback(1, { model: 'a/b' }))).rejects.toBeInstanceOf(TypeError);
  });

  it('finds a prediction it has just journaled, in memory or on disk, before the backend holds it', async () => {
    const backend = new SwitchableBackend();
    let release!: () => void;
    backend.gate = new Promise((resolve) => {
      release = resolve;
    });
    // One-record segments and a memory bound of 10: the oldest records are journaled on disk only.
    const log = await openLog(backend, {
      bufferDir: tempDir(),
      batchSize: 5,
      segmentBytes: 1,
      maxQueueRecords: 10,
    });
    for (const r of records(30)) log.append(r);
    await vi.waitFor(() => expect(backend.calls).toBe(1)); // the first batch is held in flight
    expect(log.stats().spilled).toBeGreaterThan(0);
    expect(await backend.store.readPredictions()).toEqual([]);
    for (const i of [0, 7, 29]) expect(await log.hasPrediction(prediction(i).id, 'customer-risk')).toBe(true);
    expect(await log.hasPrediction('p-00030', 'customer-risk')).toBe(false);
    expect(await log.hasPrediction('p-00007', 'intent')).toBe(false);
    release();
    await log.flush();
    expect(log.stats().pending).toBe(0);
    expect(await log.hasPrediction('p-00007', 'customer-risk')).toBe(true);
    // The backend down: what the journal holds is known, anything else cannot be answered.
    log.append(prediction(30));
    backend.failing = true;
    expect(await log.hasPrediction('p-00030', 'customer-risk')).toBe(true);
    await expect(log.hasPrediction('p-00031', 'customer-risk')).rejects.toBeInstanceOf(
      PredictionLogUnavailableError,
    );
  });

  it('finds a prediction a stopped process left in the journal once that is ingested', async () => {
    const bufferDir = tempDir();
    const down = new SwitchableBackend();
    down.failing = true;
    const before = await BufferedPredictionLog.open(down, { bufferDir, logger: capture().logger });
    before.append(prediction(0));
    await before.close();
    const backend = new SwitchableBackend();
    let release!: () => void;
    backend.gate = new Promise((resolve) => {
      release = resolve;
    });
    const log = await openLog(backend, { bufferDir });
    await vi.waitFor(() => expect(backend.calls).toBe(1)); // the stopped process's record, held in flight
    const found = log.hasPrediction('p-00000', 'customer-risk');
    await vi.waitFor(() => expect(backend.lookups).toBe(1)); // not in the backend yet
    release();
    expect(await found).toBe(true);
    expect(backend.lookups).toBe(2);
  });

  it('close flushes, and later appends are refused, not thrown', async () => {
    const backend = new SwitchableBackend();
    const log = await BufferedPredictionLog.open(backend, { bufferDir: tempDir(), logger: capture().logger });
    log.append(prediction(0));
    await log.close();
    expect(backend.acknowledged).toEqual(['p-00000']);
    expect(() => log.append(prediction(1))).not.toThrow();
    expect(log.stats().rejected).toBe(1);
    await expect(log.feedback(feedback(0))).rejects.toBeInstanceOf(PredictionLogUnavailableError);
  });
});

describe('openPredictionLog', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('opens the URI backend behind the buffered writer, buffer and store under baseDir', async () => {
    const baseDir = tempDir();
    const log = await openPredictionLog('jsonl+file://logs', {
      baseDir,
      bufferDir: 'buffer',
      logger: capture().logger,
    });
    log.append(prediction(0));
    await log.feedback(feedback(0));
    await log.close();
    expect(readdirSync(baseDir).sort()).toEqual(['buffer', 'logs']);
    const store = await openPredictionBackend('jsonl+file://logs', baseDir);
    expect(await store.readLabelled()).toEqual([{ prediction: prediction(0), feedback: feedback(0) }]);
    await store.close();
  });

  it('lets KILN_PREDICTION_LOG_URI override the configured URI', async () => {
    const baseDir = tempDir();
    vi.stubEnv('KILN_PREDICTION_LOG_URI', 'sqlite://override.db');
    const log = await openPredictionLog('jsonl+file://logs', {
      baseDir,
      bufferDir: 'buffer',
      logger: capture().logger,
    });
    log.append(prediction(0));
    await log.close();
    expect(readdirSync(baseDir).sort()).toEqual(expect.arrayContaining(['buffer', 'override.db']));
    expect(readdirSync(baseDir)).not.toContain('logs');
    const store = await openPredictionBackend('sqlite://override.db', baseDir);
    expect(await store.readPredictions()).toHaveLength(1);
    await store.close();
  });
});
