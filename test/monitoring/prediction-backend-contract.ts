import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type {
  FeedbackRecord,
  PredictionBackend,
  PredictionRecord,
} from '../../src/monitoring/prediction-log/index.js';

export function prediction(i: number, overrides: Partial<PredictionRecord> = {}): PredictionRecord {
  return {
    id: `p-${String(i).padStart(5, '0')}`,
    time: new Date(Date.UTC(2026, 0, 1, 10, 0, i)).toISOString(),
    model: 'customer-risk',
    version: '3',
    input: { deposits: i, stakes: null, product: 'poker' },
    output: { label: i % 2 ? 'at_risk' : 'ok', probabilities: { at_risk: 0.25, ok: 0.75 } },
    latencyMs: 1.5,
    ...overrides,
  };
}

export function feedback(i: number, overrides: Partial<FeedbackRecord> = {}): FeedbackRecord {
  return {
    predictionId: `p-${String(i).padStart(5, '0')}`,
    model: 'customer-risk',
    label: 'at_risk',
    time: new Date(Date.UTC(2026, 0, 2, 9, 0, i)).toISOString(),
    ...overrides,
  };
}

/** The contract every prediction-log backend must pass: SQLite, PostgreSQL, JSONL segments (local or in an artifact store). */
export function predictionBackendContract(name: string, open: () => Promise<PredictionBackend>): void {
  describe(`prediction backend contract: ${name}`, () => {
    let store: PredictionBackend;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    it('writes a batch and reads it back whole, ordered by time', async () => {
      const batch = [prediction(2), prediction(0), prediction(1)];
      await store.writeBatch(batch);
      const read = await store.readPredictions();
      expect(read.map((r) => r.id)).toEqual(['p-00000', 'p-00001', 'p-00002']);
      expect(read[0]).toEqual(prediction(0));
    });

    it('filters by model and time range (since inclusive, until exclusive) and limits', async () => {
      await store.writeBatch([
        prediction(0),
        prediction(1),
        prediction(2),
        prediction(3, { model: 'intent' }),
        prediction(4, { time: '2026-01-01T11:30:00.000Z' }),
      ]);
      const range = { since: prediction(1).time, until: prediction(3).time };
      expect((await store.readPredictions({ model: 'customer-risk', ...range })).map((r) => r.id)).toEqual([
        'p-00001',
        'p-00002',
      ]);
      expect((await store.readPredictions({ model: 'intent' })).map((r) => r.id)).toEqual(['p-00003']);
      expect((await store.readPredictions({ since: '2026-01-01T11:00:00Z' })).map((r) => r.id)).toEqual([
        'p-00004',
      ]);
      expect(await store.readPredictions({ limit: 2 })).toHaveLength(2);
      expect(await store.readPredictions({ model: 'unknown' })).toEqual([]);
    });

    it('stores times in one canonical UTC form', async () => {
      await store.writeBatch([prediction(0, { time: '2026-01-01T12:00:00+02:00' })]);
      expect((await store.readPredictions())[0].time).toBe('2026-01-01T10:00:00.000Z');
    });

    it('never duplicates a re-written batch or an overlapping one (retries are safe)', async () => {
      const batch = [prediction(0), prediction(1), prediction(2)];
      await store.writeBatch(batch);
      await store.writeBatch(batch);
      await store.writeBatch([prediction(2), prediction(3)]);
      const ids = (await store.readPredictions()).map((r) => r.id);
      expect(ids).toEqual(['p-00000', 'p-00001', 'p-00002', 'p-00003']);
    });

    it('stores feedback and joins it to predictions by id', async () => {
      await store.writeBatch([prediction(0), prediction(1), prediction(2)]);
      await store.writeFeedback(feedback(0, { label: 'ok' }));
      await store.writeFeedback(feedback(2));
      // A label may arrive for a prediction not yet written (still in a buffer): kept, joined later.
      await store.writeFeedback(feedback(9));
      expect((await store.readFeedback()).map((f) => f.predictionId)).toEqual([
        'p-00000',
        'p-00002',
        'p-00009',
      ]);
      const labelled = await store.readLabelled({ model: 'customer-risk' });
      expect(labelled).toEqual([
        { prediction: prediction(0), feedback: feedback(0, { label: 'ok' }) },
        { prediction: prediction(2), feedback: feedback(2) },
      ]);
      await store.writeBatch([prediction(9)]);
      expect((await store.readLabelled()).map((l) => l.prediction.id)).toEqual([
        'p-00000',
        'p-00002',
        'p-00009',
      ]);
    });

    it('keeps every label with its time: the history in time order, the latest joined, a re-written one once', async () => {
      await store.writeBatch([prediction(0), prediction(1)]);
      const first = feedback(0, { label: 'ok' });
      const correction = feedback(0, { label: 'at_risk', time: '2026-01-03T00:00:00.000Z' });
      // Written last but labelled earlier: in the history, not the label used.
      const late = feedback(0, { label: 'ok', time: '2026-01-02T12:00:00.000Z' });
      await store.writeFeedback(first);
      await store.writeFeedback(first); // a retried write
      await store.writeFeedback(correction);
      await store.writeFeedback(late);
      expect(await store.readFeedback()).toEqual([first, late, correction]);
      expect(await store.readLabelled()).toEqual([{ prediction: prediction(0), feedback: correction }]);
      expect(await store.readFeedback({ since: late.time })).toEqual([late, correction]);
      // Two labels of one time: both kept, the last written is the one used.
      const time = '2026-01-04T00:00:00.000Z';
      await store.writeFeedback(feedback(1, { label: 'ok', time }));
      await store.writeFeedback(feedback(1, { label: 'at_risk', time }));
      expect((await store.readFeedback({ since: time })).map((f) => f.label)).toEqual(['ok', 'at_risk']);
      expect((await store.readLabelled()).map((l) => [l.prediction.id, l.feedback.label])).toEqual([
        ['p-00000', 'at_risk'],
        ['p-00001', 'at_risk'],
      ]);
    });

    it('finds a prediction by id, within a model and a time range', async () => {
      // p-00003 carries p-00009 as an input value: that is not prediction p-00009.
      const decoy = prediction(3, { input: { id: 'p-00009', note: '"id":"p-00009"' } });
      await store.writeBatch([prediction(0), prediction(1), prediction(2, { model: 'intent' }), decoy]);
      expect(await store.findPrediction('p-00001')).toEqual(prediction(1));
      expect(await store.findPrediction('p-00001', { model: 'customer-risk' })).toEqual(prediction(1));
      expect(await store.findPrediction('p-00002', { model: 'intent' })).toEqual(
        prediction(2, { model: 'intent' }),
      );
      expect(await store.findPrediction('p-00002', { model: 'customer-risk' })).toBeUndefined();
      const around = { since: prediction(1).time, until: prediction(2).time };
      expect(await store.findPrediction('p-00001', around)).toEqual(prediction(1));
      expect(await store.findPrediction('p-00001', { since: prediction(2).time })).toBeUndefined();
      expect(await store.findPrediction('p-00001', { until: prediction(1).time })).toBeUndefined();
      expect(await store.findPrediction('p-00009')).toBeUndefined();
      expect(await store.findPrediction('p-0000')).toBeUndefined();
    });

    it('filters feedback by model and by its own time', async () => {
      await store.writeFeedback(feedback(0));
      await store.writeFeedback(feedback(1, { model: 'intent' }));
      await store.writeFeedback(feedback(2));
      expect((await store.readFeedback({ model: 'intent' })).map((f) => f.predictionId)).toEqual(['p-00001']);
      expect(
        (await store.readFeedback({ model: 'customer-risk', since: feedback(1).time })).map(
          (f) => f.predictionId,
        ),
      ).toEqual(['p-00002']);
    });

    it('refuses unsafe model names and malformed records, writing nothing of the batch', async () => {
      for (const model of ['../escape', 'a/b', '.hidden', '', 'a\\b'])
        await expect(store.writeBatch([prediction(0), prediction(1, { model })])).rejects.toThrow(/model/);
      await expect(store.writeBatch([prediction(0, { time: 'yesterday' })])).rejects.toThrow(/time/);
      await expect(store.writeFeedback(feedback(0, { model: '../x' }))).rejects.toThrow(/model/);
      expect(await store.readPredictions()).toEqual([]);
      expect(await store.readFeedback()).toEqual([]);
    });
  });
}
