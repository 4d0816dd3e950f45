/**
 * Prometheus metrics of one server (its own registry, so several servers in one process, as in tests,
 * never collide). Label children are resolved once per served model version, not per request.
 */
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { PredictionLogStats } from '../../monitoring/prediction-log/index.js';
import { FastCounter, FastHistogram } from './fast-metrics.js';

export type Stage = 'validate' | 'transform' | 'predict' | 'postprocess';

/** The per-model instruments of the predict path. */
export interface ModelInstruments {
  readonly stage: Record<Stage, { observe(seconds: number): void }>;
  readonly batchSize: { observe(rows: number): void };
  /** Counts one predicted label. */
  predicted(label: string): void;
  /** Counts one value of an input field scored without being seen in training (an unseen level). */
  unseen(field: string): void;
}

const NOOP = { observe() {} };

/** For work that must not count as traffic (the probe row scored before a model goes live). */
export const NO_INSTRUMENTS: ModelInstruments = {
  stage: { validate: NOOP, transform: NOOP, predict: NOOP, postprocess: NOOP },
  batchSize: NOOP,
  predicted() {},
  unseen() {},
};

export interface ServerMetrics {
  readonly registry: Registry;
  forModel(name: string, version: string): ModelInstruments;
  requestStarted(): void;
  requestFinished(route: string, method: string, status: number, seconds: number): void;
}

export function createMetrics(
  options: { defaultMetrics?: boolean; predictionLog?: { stats(): PredictionLogStats } } = {},
): ServerMetrics {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry });
  const log = options.predictionLog;
  // Read at scrape time: a log that sheds records (journal full) says so here, not only in a warning.
  if (log)
    new Gauge({
      name: 'kiln_prediction_log_records',
      help: 'Prediction-log records by state: pending (journaled, on their way) and spilled (waiting on disk) now; written, dropped (journal full or a disk error) and rejected (unstorable) since start',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        const stats = log.stats();
        this.set({ state: 'pending' }, stats.pending);
        this.set({ state: 'spilled' }, stats.spilled);
        this.set({ state: 'written' }, stats.written);
        this.set({ state: 'dropped' }, stats.dropped);
        this.set({ state: 'rejected' }, stats.rejected ?? 0);
      },
    });
  const stageSeconds = new FastHistogram(
    'kiln_predict_stage_seconds',
    'Time spent in each stage of the predict path',
    // Stages of a small batch take microseconds: buckets start at 10 µs.
    [1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registry,
  );
  const batchSize = new FastHistogram(
    'kiln_predict_batch_size',
    'Records per predict request',
    [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000],
    registry,
  );
  const predictions = new FastCounter(
    'kiln_predictions_total',
    'Predictions served, by predicted class',
    registry,
  );
  // Fields come from the package's pipeline, never from a client's value: a bounded set of series.
  const unseenLevels = new FastCounter(
    'kiln_unseen_levels_total',
    'Input values scored without being seen in training (unseen category levels), by model and field',
    registry,
  );
  const requests = new FastCounter(
    'kiln_http_requests_total',
    'HTTP requests by route, method and status',
    registry,
  );
  const duration = new FastHistogram(
    'kiln_http_request_duration_seconds',
    'HTTP request duration by route',
    [1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registry,
  );
  let inFlight = 0;
  new Gauge({
    name: 'kiln_http_requests_in_flight',
    help: 'Requests being processed',
    registers: [registry],
    collect() {
      this.set(inFlight);
    },
  });

  return {
    registry,
    forModel(name, version) {
      const child = (s: Stage) => stageSeconds.child({ stage: s, model: name, version });
      const stage = {
        validate: child('validate'),
        transform: child('transform'),
        predict: child('predict'),
        postprocess: child('postprocess'),
      };
      const counters = new Map<string, { inc(): void }>();
      const unseenByField = new Map<string, { inc(): void }>();
      return {
        stage,
        batchSize: batchSize.child({ model: name }),
        predicted(label) {
          let child = counters.get(label);
          if (!child) {
            child = predictions.child({ model: name, version, class: label });
            counters.set(label, child);
          }
          child.inc();
        },
        unseen(field) {
          let child = unseenByField.get(field);
          if (!child) {
            child = unseenLevels.child({ model: name, field });
            unseenByField.set(field, child);
          }
          child.inc();
        },
      };
    },
    requestStarted: () => {
      inFlight++;
    },
    requestFinished(route, method, status, seconds) {
      inFlight--;
      requests.child({ route, method, status: String(status) }, `${route} ${method} ${status}`).inc();
      duration.child({ route, method }, `${route} ${method}`).observe(seconds);
    },
  };
}
