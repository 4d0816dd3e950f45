/**
 * The PostgreSQL schema, as ordered and append-only migrations: version N is `MIGRATIONS[N - 1]`, and a
 * store applies the ones `kiln_schema_migrations` does not list yet. Never edit a released entry; add one.
 *
 * Columns mirror the SQLite store's. Timestamps stay ISO-8601 text so both stores order and return them
 * identically; JSON documents are `json` (not `jsonb`) so their key order comes back as written.
 */
export const MIGRATIONS: string[] = [
  `CREATE TABLE runs (
     id TEXT PRIMARY KEY,
     -- Insertion order breaks ties between runs started in the same millisecond (SQLite's rowid).
     seq BIGINT GENERATED ALWAYS AS IDENTITY,
     project TEXT NOT NULL,
     kind TEXT NOT NULL,
     status TEXT NOT NULL,
     seed BIGINT NOT NULL,
     started_at TEXT NOT NULL,
     finished_at TEXT,
     config JSON NOT NULL,
     code_version TEXT NOT NULL,
     dependencies JSON NOT NULL,
     params JSON NOT NULL DEFAULT '{}',
     metrics JSON NOT NULL DEFAULT '{}',
     durations JSON NOT NULL DEFAULT '{}',
     data JSON NOT NULL DEFAULT '[]',
     package_uri TEXT,
     warnings JSON NOT NULL DEFAULT '[]',
     error TEXT
   );
   CREATE INDEX runs_project_started ON runs (project, started_at);
   CREATE TABLE trials (
     run_id TEXT NOT NULL REFERENCES runs (id),
     idx INTEGER NOT NULL,
     params JSON NOT NULL,
     fold_scores JSON NOT NULL,
     mean DOUBLE PRECISION,
     std DOUBLE PRECISION,
     seconds DOUBLE PRECISION NOT NULL,
     PRIMARY KEY (run_id, idx)
   );`,
  `CREATE TABLE registered_models (
     name TEXT PRIMARY KEY,
     description TEXT NOT NULL DEFAULT '',
     tags JSON NOT NULL DEFAULT '{}',
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     -- Version numbers are never reused, even after a delete.
     next_version INTEGER NOT NULL DEFAULT 1
   );
   CREATE TABLE model_versions (
     name TEXT NOT NULL REFERENCES registered_models (name),
     version INTEGER NOT NULL,
     created_at TEXT NOT NULL,
     created_by TEXT NOT NULL,
     run_id TEXT,
     package_uri TEXT NOT NULL,
     package_digest TEXT NOT NULL,
     metrics JSON NOT NULL,
     lineage JSON NOT NULL,
     description TEXT NOT NULL DEFAULT '',
     tags JSON NOT NULL DEFAULT '{}',
     PRIMARY KEY (name, version),
     UNIQUE (name, package_digest)
   );
   CREATE TABLE model_aliases (
     name TEXT NOT NULL,
     alias TEXT NOT NULL,
     version INTEGER NOT NULL,
     updated_at TEXT NOT NULL,
     PRIMARY KEY (name, alias),
     FOREIGN KEY (name, version) REFERENCES model_versions (name, version)
   );
   CREATE TABLE registry_events (
     id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     type TEXT NOT NULL,
     at TEXT NOT NULL,
     actor TEXT NOT NULL,
     reason TEXT,
     model TEXT NOT NULL,
     version INTEGER,
     alias TEXT,
     details JSON NOT NULL,
     -- The client-chosen id of the write that appended it: a retried write finds its own event here.
     op_id UUID UNIQUE
   );
   CREATE INDEX registry_events_model ON registry_events (model, id);
   CREATE TABLE delivery_cursors (
     target TEXT PRIMARY KEY,
     event_id BIGINT NOT NULL,
     -- The client-chosen id of the advance that set it, for the same reason.
     op_id UUID
   );
   CREATE TABLE dead_letters (
     target TEXT NOT NULL,
     event_id BIGINT NOT NULL,
     attempts INTEGER NOT NULL,
     error TEXT NOT NULL,
     parked_at TEXT NOT NULL,
     PRIMARY KEY (target, event_id)
   );`,
];
