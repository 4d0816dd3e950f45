/**
 * A model replaced by a newer one frees its engine's native resources (an onnxruntime session), once
 * the last score call in flight on it has returned; never while a request still uses it.
 */
import { InferenceSession } from 'onnxruntime-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeTable } from '../../../src/data/table.js';
import { createMetrics } from '../../../src/serving/server/metrics.js';
import { PackageDirectorySource, ServedModels } from '../../../src/serving/server/sources.js';
import { MODEL, trainPackage } from './fixture.js';

const row = () =>
  makeTable([
    ['deposits', { type: 'number', values: Float64Array.of(120) }],
    ['withdrawals', { type: 'number', values: Float64Array.of(Number.NaN) }],
    ['stakes', { type: 'number', values: Float64Array.of(40) }],
    ['product', { type: 'category', values: ['bet'] }],
    ['age', { type: 'category', values: ['30-50'] }],
  ]);

/** The session class behind the factory's type: its methods are what the engine calls. */
const Session = InferenceSession as unknown as { prototype: InferenceSession };

afterEach(() => vi.restoreAllMocks());

describe('engines of replaced models', () => {
  it('release their onnxruntime session after the requests in flight on them finish', async () => {
    const packageDir = await trainPackage();
    const models = new ServedModels(createMetrics());
    const source = new PackageDirectorySource(packageDir, 'onnx');
    const first = await models.load(source);
    const release = vi.spyOn(Session.prototype, 'release');
    // The first model's next inference waits for the gate: a request in flight across the swap.
    const run = Session.prototype.run;
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    vi.spyOn(Session.prototype, 'run').mockImplementationOnce(async function (
      this: InferenceSession,
      ...args: Parameters<InferenceSession['run']>
    ) {
      await gate;
      return run.apply(this, args);
    });

    const inFlight = first.model.engine.score(row());
    await models.load(source);
    expect(release).not.toHaveBeenCalled();
    open();
    const scored = await inFlight;
    expect(scored.scores.every(Number.isFinite)).toBe(true);
    await vi.waitFor(() => expect(release).toHaveBeenCalledTimes(1));

    // Idle when replaced: released at once.
    await models.load(source);
    await vi.waitFor(() => expect(release).toHaveBeenCalledTimes(2));
    expect(models.get(MODEL)).toBeDefined();
  });
});
