import {
  type FeedbackRecord,
  type PredictionBackend,
  type PredictionRecord,
  SqlitePredictionStore,
} from '../../src/monitoring/prediction-log/index.js';

/** A real store behind a switch: `failing` makes every write throw, `gate` holds writes until opened. */
export class SwitchableBackend implements PredictionBackend {
  readonly uri: string = 'test://switchable';
  failing = false;
  gate: Promise<void> | undefined;
  calls = 0;
  lookups = 0;
  /** Ids of every batch the writer got acknowledged, in order: duplicates would show here. */
  readonly acknowledged: string[] = [];
  constructor(
    readonly store: PredictionBackend = new SqlitePredictionStore('sqlite://:memory:', ':memory:'),
  ) {}

  async writeBatch(records: readonly PredictionRecord[]): Promise<void> {
    this.calls++;
    await this.gate;
    if (this.failing) throw new Error('backend down');
    await this.store.writeBatch(records);
    this.acknowledged.push(...records.map((r) => r.id));
  }
  async writeFeedback(record: FeedbackRecord): Promise<void> {
    if (this.failing) throw new Error('backend down');
    await this.store.writeFeedback(record);
  }
  readPredictions = (...args: Parameters<PredictionBackend['readPredictions']>) =>
    this.store.readPredictions(...args);
  /** Fails with the backend like a write: a lookup needs the store too. */
  async findPrediction(...args: Parameters<PredictionBackend['findPrediction']>) {
    this.lookups++;
    if (this.failing) throw new Error('backend down');
    return this.store.findPrediction(...args);
  }
  readFeedback = (...args: Parameters<PredictionBackend['readFeedback']>) => this.store.readFeedback(...args);
  readLabelled = (...args: Parameters<PredictionBackend['readLabelled']>) => this.store.readLabelled(...args);
  async close(): Promise<void> {}
}
