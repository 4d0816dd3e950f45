/**
 * What the one SQL store needs to know about each database besides its Kysely dialect: column types
 * for the migrations, and the few statements and names that differ.
 */
export interface SqlDialect {
  name: 'sqlite' | 'postgres';
  /** JSON documents: TEXT in SQLite; `json` in PostgreSQL (not jsonb: key order comes back as written). */
  json: string;
  /** Seeds and event ids. */
  bigint: string;
  float: string;
  /** A primary key that increases with each insert and is never reused. */
  serialKey: string;
  /** Starts a transaction that holds the write lock from its first statement. */
  beginWrite: string;
  /** A collation comparing text byte by byte, so names sort the same on every server and locale. */
  collation: string;
  /** The column that breaks ties between runs started in the same millisecond: insertion order. */
  runOrder: string;
}

export const SQLITE: SqlDialect = {
  name: 'sqlite',
  json: 'TEXT',
  bigint: 'INTEGER',
  float: 'REAL',
  serialKey: 'INTEGER PRIMARY KEY AUTOINCREMENT',
  // IMMEDIATE takes the write lock first: a transaction that reads then writes can never find another
  // process's commit in between, and registry writers (and migrations) take turns across processes.
  beginWrite: 'BEGIN IMMEDIATE',
  collation: 'BINARY',
  runOrder: 'rowid',
};

export const POSTGRES: SqlDialect = {
  name: 'postgres',
  json: 'JSON',
  bigint: 'BIGINT',
  float: 'DOUBLE PRECISION',
  serialKey: 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY',
  // Registry writers take turns by LOCK TABLE (see postgres.ts), other writes by row locks.
  beginWrite: 'BEGIN',
  // Byte order whatever the database's locale, as SQLite compares.
  collation: '"C"',
  // PostgreSQL has no rowid: migration 1 gives runs an identity column for it.
  runOrder: 'seq',
};
