/**
 * The journal's ownership rules in one process (the process tests, spill-ownership and kill9, show
 * them across real processes): a live log's folder is never touched by another log on the same buffer
 * directory, and a stopped log's folder is ingested into the log it names, never into another one.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  BufferedPredictionLog,
  type PredictionBackend,
  WorkerBackend,
} from '../../src/monitoring/prediction-log/index.js';
import { prediction } from './prediction-backend-contract.js';
import { SwitchableBackend } from './switchable-backend.js';

const quiet = { info: () => {}, warn: () => {} };
const tempDir = () => mkdtempSync(path.join(tmpdir(), 'kiln-journal-'));
const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => prediction(from + i).id);

class NamedBackend extends SwitchableBackend {
  constructor(override readonly uri: string) {
    super();
  }
}

const open: BufferedPredictionLog[] = [];
afterEach(async () => {
  for (const log of open.splice(0)) await log.close();
});

async function openLog(backend: PredictionBackend, bufferDir: string, others: PredictionBackend[] = []) {
  const log = await BufferedPredictionLog.open(backend, {
    bufferDir,
    baseDir: bufferDir,
    logger: quiet,
    intervalMs: 10,
    retryInitialMs: 60_000,
    openBackend: async (uri) => {
      const found = others.find((b) => b.uri === uri);
      if (!found) throw new Error(`no backend ${uri}`);
      return found;
    },
  });
  open.push(log);
  return log;
}

describe('the prediction-log journal', () => {
  it('appends each record to this process folder before append returns, with the log it belongs to', async () => {
    const bufferDir = tempDir();
    const backend = new NamedBackend('test://a');
    backend.failing = true;
    const log = await openLog(backend, bufferDir);
    log.append(prediction(0));
    const [folder] = readdirSync(bufferDir);
    expect(folder).toMatch(new RegExp(`^${process.pid}-`));
    const owner = JSON.parse(readFileSync(path.join(bufferDir, folder, 'owner.json'), 'utf8'));
    expect(owner).toMatchObject({ uri: 'test://a', baseDir: bufferDir, pid: process.pid });
    const segment = readdirSync(path.join(bufferDir, folder)).find((f) => f.endsWith('.jsonl'))!;
    expect(readFileSync(path.join(bufferDir, folder, segment), 'utf8')).toBe(
      `${JSON.stringify(prediction(0))}\n`,
    );
  });

  it("leaves a live log's folder alone, and ingests a stopped one's into its own log only", async () => {
    const bufferDir = tempDir();
    const a = new NamedBackend('test://a');
    a.failing = true;
    const logA = await openLog(a, bufferDir);
    for (let i = 0; i < 30; i++) logA.append(prediction(i));
    await logA.flush();
    expect(logA.stats().spilled).toBe(30);

    const b = new NamedBackend('test://b');
    const logB = await openLog(b, bufferDir, [a]);
    for (let i = 100; i < 110; i++) logB.append(prediction(i));
    await logB.flush();
    expect(b.acknowledged).toEqual(ids(100, 10));
    expect(logB.stats().spilled).toBe(0);

    // A stops with its log down: its records stay in its folder, for its log.
    await logA.close();
    open.splice(open.indexOf(logA), 1);
    a.failing = false;
    // B restarts: it finds A's folder and writes it to A's log.
    await logB.close();
    open.splice(open.indexOf(logB), 1);
    const again = await openLog(b, bufferDir, [a]);
    await vi.waitFor(() => expect(a.acknowledged).toEqual(ids(0, 30)));
    await again.flush();
    expect(b.acknowledged).toEqual(ids(100, 10));
    expect(again.stats()).toMatchObject({ spilled: 0, written: 0 });
    expect(readdirSync(bufferDir)).toHaveLength(1); // only the live log's own folder
  });

  it('retries a stopped log whose backend cannot be opened yet, and keeps its folder meanwhile', async () => {
    const bufferDir = tempDir();
    const a = new NamedBackend('test://a');
    a.failing = true;
    const logA = await openLog(a, bufferDir);
    logA.append(prediction(0));
    await logA.close();
    open.splice(open.indexOf(logA), 1);

    const others: PredictionBackend[] = [];
    const b = new NamedBackend('test://b');
    const log = await BufferedPredictionLog.open(b, {
      bufferDir,
      baseDir: bufferDir,
      logger: quiet,
      intervalMs: 5,
      retryInitialMs: 10,
      retryMaxMs: 20,
      openBackend: async (uri) => {
        const found = others.find((o) => o.uri === uri);
        if (!found) throw new Error(`no backend ${uri}`);
        return found;
      },
    });
    open.push(log);
    await log.flush();
    expect(log.stats().spilled).toBe(1);
    expect(readdirSync(bufferDir)).toHaveLength(2);
    a.failing = false;
    others.push(a);
    await vi.waitFor(() => expect(a.acknowledged).toEqual(ids(0, 1)));
    expect(b.acknowledged).toEqual([]);
  });

  it('hands journal lines to a worker backend as text, parsed off the serving thread', async () => {
    const backend = await WorkerBackend.open('sqlite://log.db', tempDir());
    const log = await openLog(backend, tempDir());
    for (let i = 0; i < 5; i++) log.append(prediction(i));
    await log.flush();
    expect((await backend.readPredictions()).map((r) => r.id)).toEqual(ids(0, 5));
    expect(await backend.writeJsonl(`${JSON.stringify(prediction(9))}\nnot json\n`)).toBe(1);
  });
});
