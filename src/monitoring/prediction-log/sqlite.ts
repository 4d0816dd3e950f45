import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { openSqlite, type Sqlite, type SqliteStatement } from '../../util/sqlite.js';
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
 * Ordered, append-only. Version 2 keeps every label (version 1 kept one per prediction, replaced by a
 * later one): the old labels are copied over as they are, in their order. Versions are kept in `kiln_schema` under this component's name rather than
 * in `user_version`, which the metadata store owns: the log may live in the same SQLite file.
 */
const COMPONENT = 'prediction-log';
const MIGRATIONS: string[] = [
  `CREATE TABLE predictions (
     id TEXT PRIMARY KEY,
     time TEXT NOT NULL,
     model TEXT NOT NULL,
     version TEXT NOT NULL,
     input TEXT NOT NULL,
     output TEXT NOT NULL,
     label TEXT,
     latency_ms REAL NOT NULL
   );
   CREATE INDEX predictions_model_time ON predictions(model, time);
   CREATE INDEX predictions_time ON predictions(time);
   CREATE TABLE feedback (
     prediction_id TEXT PRIMARY KEY,
     model TEXT NOT NULL,
     label TEXT NOT NULL,
     time TEXT NOT NULL
   );
   CREATE INDEX feedback_model_time ON feedback(model, time);`,
  `CREATE TABLE feedback_history (
     prediction_id TEXT NOT NULL,
     model TEXT NOT NULL,
     label TEXT NOT NULL,
     time TEXT NOT NULL
   );
   INSERT INTO feedback_history (prediction_id, model, label, time)
     SELECT prediction_id, model, label, time FROM feedback ORDER BY rowid;
   DROP TABLE feedback;
   ALTER TABLE feedback_history RENAME TO feedback;
   CREATE UNIQUE INDEX feedback_label ON feedback(prediction_id, model, time, label);
   CREATE INDEX feedback_model_time ON feedback(model, time);`,
];

/** The latest label of each prediction: the latest time, then the last written. */
const LATEST_FEEDBACK = `SELECT prediction_id, model, label, time FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY prediction_id, model ORDER BY time DESC, rowid DESC) AS n
  FROM feedback) WHERE n = 1`;

interface PredictionRow {
  id: string;
  time: string;
  model: string;
  version: string;
  input: string;
  output: string;
  latency_ms: number;
}

interface FeedbackRow {
  prediction_id: string;
  model: string;
  label: string;
  time: string;
}

export class SqlitePredictionStore implements PredictionBackend {
  private readonly db: Sqlite;
  private readonly insert: SqliteStatement;
  private readonly insertFeedback: SqliteStatement;

  constructor(
    readonly uri: string,
    file: string,
  ) {
    if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
    this.db = openSqlite(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    // An append-only log needs few cached pages (time-ordered ids append to the index's right edge);
    // a larger cache would only grow the serving process.
    this.db.pragma('cache_size = -2000');
    this.migrate();
    this.insert = this.db.prepare(
      `INSERT INTO predictions (id, time, model, version, input, output, label, latency_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
    );
    // Every label is kept; the same label re-written (a retry) is the one already there.
    this.insertFeedback = this.db.prepare(
      `INSERT INTO feedback (prediction_id, model, label, time) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    );
  }

  private migrate(): void {
    // IMMEDIATE takes the write lock first, so two processes starting together cannot both migrate.
    this.db
      .transaction(() => {
        this.db.exec(
          'CREATE TABLE IF NOT EXISTS kiln_schema (component TEXT PRIMARY KEY, version INTEGER NOT NULL)',
        );
        const row = this.db.prepare('SELECT version FROM kiln_schema WHERE component = ?').get(COMPONENT) as
          | { version: number }
          | undefined;
        const current = row?.version ?? 0;
        for (let version = current; version < MIGRATIONS.length; version++) this.db.exec(MIGRATIONS[version]);
        this.db
          .prepare(
            'INSERT INTO kiln_schema VALUES (?, ?) ON CONFLICT (component) DO UPDATE SET version = excluded.version',
          )
          .run(COMPONENT, MIGRATIONS.length);
      })
      .immediate();
  }

  async writeBatch(records: readonly PredictionRecord[]): Promise<void> {
    assertPredictions(records);
    this.db.transaction(() => {
      for (const r of records)
        this.insert.run(
          r.id,
          canonicalTime(r.time),
          r.model,
          r.version,
          JSON.stringify(r.input),
          JSON.stringify(r.output),
          r.output.label ?? null,
          r.latencyMs,
        );
    })();
  }

  async writeFeedback(record: FeedbackRecord): Promise<void> {
    assertFeedback(record);
    this.insertFeedback.run(record.predictionId, record.model, record.label, canonicalTime(record.time));
  }

  async readPredictions(filter: TimeFilter = {}): Promise<PredictionRecord[]> {
    const { where, values } = conditions(filter, 'p');
    const rows = this.db
      .prepare(`SELECT * FROM predictions p ${where} ORDER BY p.time, p.rowid ${limit(filter)}`)
      .all(...values) as PredictionRow[];
    return rows.map(toPrediction);
  }

  async findPrediction(id: string, filter: TimeFilter = {}): Promise<PredictionRecord | undefined> {
    const { where, values } = conditions(filter, 'p');
    const row = this.db
      .prepare(`SELECT * FROM predictions p ${where ? `${where} AND` : 'WHERE'} p.id = ?`)
      .get(...values, id) as PredictionRow | undefined;
    return row && toPrediction(row);
  }

  async readFeedback(filter: TimeFilter = {}): Promise<FeedbackRecord[]> {
    const { where, values } = conditions(filter, 'f');
    const rows = this.db
      .prepare(`SELECT * FROM feedback f ${where} ORDER BY f.time, f.rowid ${limit(filter)}`)
      .all(...values) as FeedbackRow[];
    return rows.map(toFeedback);
  }

  async readLabelled(filter: TimeFilter = {}): Promise<LabelledPrediction[]> {
    const { where, values } = conditions(filter, 'p');
    const rows = this.db
      .prepare(
        `SELECT p.*, f.model AS feedback_model, f.label AS feedback_label, f.time AS feedback_time
         FROM predictions p JOIN (${LATEST_FEEDBACK}) f ON f.prediction_id = p.id AND f.model = p.model
         ${where} ORDER BY p.time, p.rowid ${limit(filter)}`,
      )
      .all(...values) as (PredictionRow & {
      feedback_model: string;
      feedback_label: string;
      feedback_time: string;
    })[];
    return rows.map((row) => ({
      prediction: toPrediction(row),
      feedback: {
        predictionId: row.id,
        model: row.feedback_model,
        label: row.feedback_label,
        time: row.feedback_time,
      },
    }));
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

function conditions(filter: TimeFilter, table: string): { where: string; values: unknown[] } {
  const clauses: string[] = [];
  const values: unknown[] = [];
  if (filter.model !== undefined) {
    clauses.push(`${table}.model = ?`);
    values.push(filter.model);
  }
  if (filter.since !== undefined) {
    clauses.push(`${table}.time >= ?`);
    values.push(canonicalTime(filter.since));
  }
  if (filter.until !== undefined) {
    clauses.push(`${table}.time < ?`);
    values.push(canonicalTime(filter.until));
  }
  return { where: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', values };
}

function limit(filter: TimeFilter): string {
  return filter.limit === undefined ? '' : `LIMIT ${Math.max(0, Math.floor(filter.limit))}`;
}

function toPrediction(row: PredictionRow): PredictionRecord {
  return {
    id: row.id,
    time: row.time,
    model: row.model,
    version: row.version,
    input: JSON.parse(row.input),
    output: JSON.parse(row.output),
    latencyMs: row.latency_ms,
  };
}

function toFeedback(row: FeedbackRow): FeedbackRecord {
  return { predictionId: row.prediction_id, model: row.model, label: row.label, time: row.time };
}
