import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { forKysely, openSqlite, type Sqlite } from '../../util/sqlite.js';
import { SQLITE } from './dialects.js';
import { MIGRATIONS, migrationsFor } from './migrations.js';
import type { Tables } from './rows.js';
import type { Db } from './sql-queries.js';
import { type SqlAdapter, SqlMetadataStore, type StoreLocation } from './sql-store.js';
import { NewerSchemaError } from './store.js';

/** The embedded default: one SQLite file (or `:memory:`). */
export class SqliteMetadataStore extends SqlMetadataStore {
  constructor(uri: string, file: string) {
    super(uri, new SqliteAdapter(uri, file));
  }
}

/**
 * SQLite for the SQL store. One connection, which Kysely's SqliteDialect hands to one operation at a
 * time; other processes share the file through WAL and wait for its write lock (busy_timeout).
 * Migrations run synchronously when the store opens, so a file from a newer Kiln is refused at once.
 */
class SqliteAdapter implements SqlAdapter {
  readonly dialect = SQLITE;
  readonly location: StoreLocation | undefined;
  private readonly kysely: Kysely<Tables>;

  constructor(uri: string, file: string) {
    if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
    const db = openSqlite(file);
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('busy_timeout = 5000');
      db.pragma('foreign_keys = ON');
      migrate(db, uri);
    } catch (error) {
      db.close();
      throw error;
    }
    this.location = file === ':memory:' ? undefined : { kind: 'sqlite', uri, file };
    this.kysely = new Kysely<Tables>({ dialect: new SqliteDialect({ database: forKysely(db) }) });
  }

  run<T>(work: (db: Db) => Promise<T>): Promise<T> {
    return this.kysely.connection().execute(work);
  }

  async lockRegistry(): Promise<void> {
    // BEGIN IMMEDIATE already holds the database's one write lock.
  }

  async describe(db: Db): Promise<string> {
    const { rows } = await sql<{ sqlite: string; schema: number }>`
      SELECT sqlite_version() AS sqlite, (SELECT user_version FROM pragma_user_version) AS schema`.execute(
      db,
    );
    return `SQLite ${rows[0].sqlite}, schema version ${rows[0].schema} of ${MIGRATIONS.length}`;
  }

  async close(): Promise<void> {
    await this.kysely.destroy();
  }
}

/** The missing migrations, in one IMMEDIATE transaction; `user_version` is the number applied. */
function migrate(db: Sqlite, uri: string): void {
  const migrations = migrationsFor(SQLITE);
  db.transaction(() => {
    const current = db.pragma('user_version', { simple: true }) as number;
    if (current > migrations.length) throw new NewerSchemaError(uri, current, migrations.length);
    for (let version = current; version < migrations.length; version++)
      for (const statement of migrations[version]) db.exec(statement);
    if (current < migrations.length) db.pragma(`user_version = ${migrations.length}`);
  }).immediate();
}
