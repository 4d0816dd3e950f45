import pg from 'pg';
import {
  isConnectionError,
  migrateSchema,
  parseUri,
  poolConfig,
  type Target,
} from '../../stores/postgres/connection.js';
import {
  assertFeedback,
  assertPredictions,
  canonicalTime,
  type LabelledPrediction,
  type PredictionBackend,
  type TimeFilter,
} from './backend.js';
import type { FeedbackRecord, PredictionRecord } from './log.js';

/**
 * Ordered, append-only. The same tables as the SQLite store, with its own migrations table so the log
 * can share a database and schema with the metadata store. `seq` keeps insertion order among equal
 * times (SQLite's rowid). input and output are `json`, not `jsonb`: it keeps the text as written and
 * accepts every string JSON.stringify produces (jsonb refuses \u0000), so no record can be refused
 * for ever and block the replay of the disk buffer behind it. Version 2 keeps every label (version 1
 * kept one per prediction): the old rows stay as they are.
 */
const MIGRATIONS: string[] = [
  `CREATE TABLE predictions (
     id TEXT PRIMARY KEY,
     seq BIGINT GENERATED ALWAYS AS IDENTITY,
     time TIMESTAMPTZ NOT NULL,
     model TEXT NOT NULL,
     version TEXT NOT NULL,
     input JSON NOT NULL,
     output JSON NOT NULL,
     label TEXT,
     latency_ms DOUBLE PRECISION NOT NULL
   );
   CREATE INDEX predictions_model_time ON predictions (model, time);
   CREATE INDEX predictions_time ON predictions (time);
   CREATE TABLE feedback (
     prediction_id TEXT PRIMARY KEY,
     seq BIGINT GENERATED ALWAYS AS IDENTITY,
     model TEXT NOT NULL,
     label TEXT NOT NULL,
     time TIMESTAMPTZ NOT NULL
   );
   CREATE INDEX feedback_model_time ON feedback (model, time);`,
  `ALTER TABLE feedback DROP CONSTRAINT feedback_pkey;
   CREATE UNIQUE INDEX feedback_label ON feedback (prediction_id, model, time, label);`,
];

const MIGRATIONS_TABLE = 'kiln_prediction_log_migrations';

const PREDICTION_COLUMNS = 'p.id, p.time, p.model, p.version, p.input, p.output, p.latency_ms';

/** The latest label of each prediction: the latest time, then the last written. */
const LATEST_FEEDBACK = `SELECT prediction_id, model, label, time FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY prediction_id, model ORDER BY time DESC, seq DESC) AS n
  FROM feedback) latest WHERE n = 1`;

interface PredictionRow {
  id: string;
  time: Date;
  model: string;
  version: string;
  input: Record<string, unknown>;
  output: PredictionRecord['output'];
  latency_ms: number;
}

interface FeedbackRow {
  prediction_id: string;
  model: string;
  label: string;
  time: Date;
}

class UnreachableError extends Error {
  override readonly name = 'PredictionLogUnreachableError';
}

export interface PostgresPredictionStoreOptions {
  /** Where the password is read from (default `process.env`), as for the metadata store. */
  env?: NodeJS.ProcessEnv;
}

/**
 * The prediction log in PostgreSQL: `postgres://user@host:port/db[?schema=name&sslmode=…]`, the
 * password from KILN_POSTGRES_PASSWORD_FILE, KILN_POSTGRES_PASSWORD or PGPASSWORD like the metadata
 * store. Unlike the metadata store it never waits out an outage: a connection error fails the call at
 * once, so the buffered log spills the batch to its disk buffer and does the backing off. Batches are
 * one INSERT of unnested arrays, idempotent by prediction id, so a replay after a lost reply never
 * duplicates.
 */
export class PostgresPredictionStore implements PredictionBackend {
  private readonly pool: pg.Pool;
  private readonly schema: string | undefined;
  private readyPromise: Promise<void> | undefined;
  private closed = false;

  private constructor(
    readonly uri: string,
    target: Target,
    env: NodeJS.ProcessEnv,
  ) {
    this.schema = target.schema;
    // Shorter than the buffered log's write timeout, so an unreachable server fails as itself.
    this.pool = new pg.Pool(poolConfig(target, env, 'kiln-prediction-log', 5000));
    // Connections die when the server goes away; the next call reports the outage, and without these
    // listeners the 'error' events would crash the process.
    this.pool.on('error', () => {});
    this.pool.on('connect', (client) => client.on('error', () => {}));
  }

  /**
   * Connects and migrates at once, so a wrong URI, password or privilege fails the server's start. An
   * unreachable server does not: the log buffers until it is back, and the first call then migrates.
   */
  static async open(
    uri: string,
    options: PostgresPredictionStoreOptions = {},
  ): Promise<PostgresPredictionStore> {
    let target: Target;
    try {
      target = parseUri(uri);
    } catch (error) {
      // parseUri words its errors for the metadata store, whose URI it usually checks.
      throw new Error((error as Error).message.replaceAll('metadata URI', 'prediction log URI'));
    }
    const store = new PostgresPredictionStore(uri, target, options.env ?? process.env);
    try {
      await store.ready();
    } catch (error) {
      if (!(error instanceof UnreachableError)) {
        await store.close();
        throw error;
      }
    }
    return store;
  }

  async writeBatch(records: readonly PredictionRecord[]): Promise<void> {
    assertPredictions(records);
    if (!records.length) return;
    const columns = [
      records.map((r) => text(r.id)),
      records.map((r) => canonicalTime(r.time)),
      records.map((r) => r.model),
      records.map((r) => text(r.version)),
      records.map((r) => JSON.stringify(r.input)),
      records.map((r) => JSON.stringify(r.output)),
      records.map((r) => (typeof r.output.label === 'string' ? text(r.output.label) : null)),
      records.map((r) => r.latencyMs),
    ];
    // One statement whatever the batch size: eight array parameters, unnested in order, so `seq`
    // follows the batch. DO NOTHING also skips an id repeated inside the batch (the first one wins).
    await this.use((db) =>
      db.query(
        `INSERT INTO predictions (id, time, model, version, input, output, label, latency_ms)
         SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::json[],
           $6::json[], $7::text[], $8::float8[])
         ON CONFLICT (id) DO NOTHING`,
        columns,
      ),
    );
  }

  async writeFeedback(record: FeedbackRecord): Promise<void> {
    assertFeedback(record);
    // Every label is kept; the same label re-written (a retry after a lost reply) is the one already there.
    await this.use((db) =>
      db.query(
        `INSERT INTO feedback (prediction_id, model, label, time) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING`,
        [text(record.predictionId), record.model, text(record.label), canonicalTime(record.time)],
      ),
    );
  }

  async readPredictions(filter: TimeFilter = {}): Promise<PredictionRecord[]> {
    const { where, values } = conditions(filter, 'p');
    const { rows } = await this.use((db) =>
      db.query<PredictionRow>(
        `SELECT ${PREDICTION_COLUMNS} FROM predictions p ${where} ORDER BY p.time, p.seq ${limit(filter, values)}`,
        values,
      ),
    );
    return rows.map(toPrediction);
  }

  async findPrediction(id: string, filter: TimeFilter = {}): Promise<PredictionRecord | undefined> {
    const { where, values } = conditions(filter, 'p');
    values.push(text(id));
    const { rows } = await this.use((db) =>
      db.query<PredictionRow>(
        `SELECT ${PREDICTION_COLUMNS} FROM predictions p ${where ? `${where} AND` : 'WHERE'} p.id = $${values.length}`,
        values,
      ),
    );
    return rows[0] && toPrediction(rows[0]);
  }

  async readFeedback(filter: TimeFilter = {}): Promise<FeedbackRecord[]> {
    const { where, values } = conditions(filter, 'f');
    const { rows } = await this.use((db) =>
      db.query<FeedbackRow>(
        `SELECT f.prediction_id, f.model, f.label, f.time FROM feedback f ${where}
         ORDER BY f.time, f.seq ${limit(filter, values)}`,
        values,
      ),
    );
    return rows.map(toFeedback);
  }

  async readLabelled(filter: TimeFilter = {}): Promise<LabelledPrediction[]> {
    const { where, values } = conditions(filter, 'p');
    const { rows } = await this.use((db) =>
      db.query<PredictionRow & { feedback_model: string; feedback_label: string; feedback_time: Date }>(
        `SELECT ${PREDICTION_COLUMNS}, f.model AS feedback_model, f.label AS feedback_label,
           f.time AS feedback_time
         FROM predictions p JOIN (${LATEST_FEEDBACK}) f ON f.prediction_id = p.id AND f.model = p.model
         ${where} ORDER BY p.time, p.seq ${limit(filter, values)}`,
        values,
      ),
    );
    return rows.map((row) => ({
      prediction: toPrediction(row),
      feedback: {
        predictionId: row.id,
        model: row.feedback_model,
        label: row.feedback_label,
        time: row.feedback_time.toISOString(),
      },
    }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  /** Runs `work` once the schema is migrated; an outage fails it at once (the buffered log backs off). */
  private async use<T>(work: (db: pg.ClientBase) => Promise<T>): Promise<T> {
    await this.ready();
    return this.attempt(work);
  }

  private async attempt<T>(work: (db: pg.ClientBase) => Promise<T>): Promise<T> {
    for (let retried = false; ; retried = true) {
      if (this.closed) throw new Error(`prediction log ${this.uri} is closed`);
      let client: pg.PoolClient | undefined;
      try {
        client = await this.pool.connect();
        const result = await work(client);
        client.release();
        return result;
      } catch (error) {
        // Never back into the pool after a failure: the connection may be dead or mid-statement.
        client?.release(error as Error);
        if (!isConnectionError(error)) throw error;
        // A pooled connection may have died with a server that is back by now: one more try on a
        // new connection (every write is idempotent). Failing to connect at all is final.
        if (client && !retried) continue;
        throw new UnreachableError(
          `prediction log ${this.uri}: PostgreSQL unreachable (${(error as Error).message})`,
          { cause: error },
        );
      }
    }
  }

  private ready(): Promise<void> {
    // After a failure (server down at start) the next call tries again.
    this.readyPromise ??= this.attempt((db) => this.migrate(db)).catch((error) => {
      this.readyPromise = undefined;
      throw error;
    });
    return this.readyPromise;
  }

  /** Missing migrations, under the advisory lock the metadata store takes too (both may create the schema). */
  private async migrate(db: pg.ClientBase): Promise<void> {
    await migrateSchema(db, {
      schema: this.schema,
      table: MIGRATIONS_TABLE,
      migrations: MIGRATIONS,
      newer: (found, known) =>
        new Error(
          `prediction log ${this.uri} is at schema version ${found}, newer than this Kiln knows (${known}); upgrade Kiln`,
        ),
    });
  }
}

/**
 * PostgreSQL text cannot hold U+0000, which SQLite and JSONL store: refusing it would leave the batch
 * failing on every replay, so it becomes U+FFFD, the same way on write and on lookup.
 */
function text(value: string): string {
  return value.includes('\u0000') ? value.replaceAll('\u0000', '\ufffd') : value;
}

function conditions(filter: TimeFilter, table: string): { where: string; values: unknown[] } {
  const clauses: string[] = [];
  const values: unknown[] = [];
  if (filter.model !== undefined) {
    values.push(filter.model);
    clauses.push(`${table}.model = $${values.length}`);
  }
  if (filter.since !== undefined) {
    values.push(canonicalTime(filter.since));
    clauses.push(`${table}.time >= $${values.length}`);
  }
  if (filter.until !== undefined) {
    values.push(canonicalTime(filter.until));
    clauses.push(`${table}.time < $${values.length}`);
  }
  return { where: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', values };
}

/** Appends the limit to `values` and returns its clause. */
function limit(filter: TimeFilter, values: unknown[]): string {
  if (filter.limit === undefined) return '';
  values.push(Math.max(0, Math.floor(filter.limit)));
  return `LIMIT $${values.length}`;
}

function toPrediction(row: PredictionRow): PredictionRecord {
  return {
    id: row.id,
    time: row.time.toISOString(),
    model: row.model,
    version: row.version,
    input: row.input,
    output: row.output,
    latencyMs: row.latency_ms,
  };
}

function toFeedback(row: FeedbackRow): FeedbackRecord {
  return {
    predictionId: row.prediction_id,
    model: row.model,
    label: row.label,
    time: row.time.toISOString(),
  };
}
