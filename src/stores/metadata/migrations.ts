/**
 * The metadata schema of both SQL stores, as ONE ordered, append-only list: version N is
 * `MIGRATIONS[N - 1]`, a function of the dialect's column types giving the statements to run. Never
 * edit a released entry; add one. Where the two dialects' histories differ (PostgreSQL had the op_id
 * columns from version 2, SQLite gains them in 3) the entry says so, so that a database created by
 * any Kiln and one migrated forward from an older one end up with the same tables.
 *
 * Each store records how far it got in its own way, as it always did: SQLite in `PRAGMA user_version`,
 * PostgreSQL in the `kiln_schema_migrations` table (one row per version).
 *
 * The DDL is plain SQL (column types from dialects.ts) rather than Kysely's schema builder, so that it
 * stays, statement for statement, what existing databases were created with.
 */
import type { SqlDialect } from './dialects.js';

type Migration = (t: SqlDialect) => string[];

/** Timestamps are ISO-8601 text in both dialects, so both order and return them identically. */
export const MIGRATIONS: readonly Migration[] = [
  // 1: runs and their trials.
  (t) => [
    `CREATE TABLE runs (
       id TEXT PRIMARY KEY,${
         // Insertion order breaks ties between runs started in the same millisecond (SQLite's rowid).
         t.name === 'postgres' ? '\n       seq BIGINT GENERATED ALWAYS AS IDENTITY,' : ''
       }
       project TEXT NOT NULL,
       kind TEXT NOT NULL,
       status TEXT NOT NULL,
       seed ${t.bigint} NOT NULL,
       started_at TEXT NOT NULL,
       finished_at TEXT,
       config ${t.json} NOT NULL,
       code_version TEXT NOT NULL,
       dependencies ${t.json} NOT NULL,
       params ${t.json} NOT NULL DEFAULT '{}',
       metrics ${t.json} NOT NULL DEFAULT '{}',
       durations ${t.json} NOT NULL DEFAULT '{}',
       data ${t.json} NOT NULL DEFAULT '[]',
       package_uri TEXT,
       warnings ${t.json} NOT NULL DEFAULT '[]',
       error TEXT
     )`,
    'CREATE INDEX runs_project_started ON runs (project, started_at)',
    `CREATE TABLE trials (
       run_id TEXT NOT NULL REFERENCES runs (id),
       idx INTEGER NOT NULL,
       params ${t.json} NOT NULL,
       fold_scores ${t.json} NOT NULL,
       mean ${t.float},
       std ${t.float},
       seconds ${t.float} NOT NULL,
       PRIMARY KEY (run_id, idx)
     )`,
  ],
  // 2: the model registry, its events and their delivery state.
  (t) => [
    `CREATE TABLE registered_models (
       name TEXT PRIMARY KEY,
       description TEXT NOT NULL DEFAULT '',
       tags ${t.json} NOT NULL DEFAULT '{}',
       created_at TEXT NOT NULL,
       updated_at TEXT NOT NULL,
       -- Version numbers are never reused, even after a delete.
       next_version INTEGER NOT NULL DEFAULT 1
     )`,
    `CREATE TABLE model_versions (
       name TEXT NOT NULL REFERENCES registered_models (name),
       version INTEGER NOT NULL,
       created_at TEXT NOT NULL,
       created_by TEXT NOT NULL,
       run_id TEXT,
       package_uri TEXT NOT NULL,
       package_digest TEXT NOT NULL,
       metrics ${t.json} NOT NULL,
       lineage ${t.json} NOT NULL,
       description TEXT NOT NULL DEFAULT '',
       tags ${t.json} NOT NULL DEFAULT '{}',
       PRIMARY KEY (name, version),
       UNIQUE (name, package_digest)
     )`,
    `CREATE TABLE model_aliases (
       name TEXT NOT NULL,
       alias TEXT NOT NULL,
       version INTEGER NOT NULL,
       updated_at TEXT NOT NULL,
       PRIMARY KEY (name, alias),
       FOREIGN KEY (name, version) REFERENCES model_versions (name, version)
     )`,
    `CREATE TABLE registry_events (
       id ${t.serialKey},
       type TEXT NOT NULL,
       at TEXT NOT NULL,
       actor TEXT NOT NULL,
       reason TEXT,
       model TEXT NOT NULL,
       version INTEGER,
       alias TEXT,
       details ${t.json} NOT NULL${
         // The client-chosen id of the write that appended it: a retried write finds its own event here.
         t.name === 'postgres' ? ',\n       op_id UUID UNIQUE' : ''
       }
     )`,
    'CREATE INDEX registry_events_model ON registry_events (model, id)',
    `CREATE TABLE delivery_cursors (
       target TEXT PRIMARY KEY,
       event_id ${t.bigint} NOT NULL${
         // The client-chosen id of the advance that set it, for the same reason.
         t.name === 'postgres' ? ',\n       op_id UUID' : ''
       }
     )`,
    `CREATE TABLE dead_letters (
       target TEXT NOT NULL,
       event_id ${t.bigint} NOT NULL,
       attempts INTEGER NOT NULL,
       error TEXT NOT NULL,
       parked_at TEXT NOT NULL,
       PRIMARY KEY (target, event_id)
     )`,
  ],
  // 3: SQLite gains the op_id columns PostgreSQL has had since 2, so one store writes the same rows to both.
  (t) =>
    t.name === 'sqlite'
      ? [
          'ALTER TABLE registry_events ADD COLUMN op_id TEXT',
          'CREATE UNIQUE INDEX registry_events_op_id ON registry_events (op_id)',
          'ALTER TABLE delivery_cursors ADD COLUMN op_id TEXT',
        ]
      : [],
  // 4: run heartbeats: when the run's process last said it was alive, and how often it says so.
  (t) => [
    'ALTER TABLE runs ADD COLUMN heartbeat_at TEXT',
    `ALTER TABLE runs ADD COLUMN heartbeat_seconds ${t.float}`,
  ],
];

/** The statements of every migration, resolved for one dialect. */
export function migrationsFor(dialect: SqlDialect): string[][] {
  return MIGRATIONS.map((migration) => migration(dialect));
}
