/**
 * SQLite for the embedded stores (the metadata store, the prediction log, the journal's locks), through
 * @photostructure/sqlite: Node's own `node:sqlite` API (DatabaseSync) with prebuilt N-API binaries
 * inside the npm package, so installing compiles nothing and one binary serves every supported Node
 * version. `enhance` adds better-sqlite3's `pragma()` and `transaction()`. When Node 20 support ends,
 * the import becomes `node:sqlite` and the dependency goes.
 *
 * Unlike node:sqlite, this driver's close() does not finalize prepared statements: a connection that
 * prepared any keeps its file open (and its locks) until they are garbage-collected. Code that must
 * release a lock at a known moment (the journal's) uses exec() only.
 */
import { existsSync } from 'node:fs';
import {
  DatabaseSync,
  type DatabaseSyncInstance,
  type EnhancedDatabaseSync,
  enhance,
} from '@photostructure/sqlite';
import type { SqliteDatabase as KyselySqliteDatabase } from 'kysely';

export type Sqlite = EnhancedDatabaseSync<DatabaseSyncInstance>;
export type SqliteStatement = ReturnType<Sqlite['prepare']>;

export interface OpenSqliteOptions {
  /** Refuse to create the file: an error when it does not exist. */
  mustExist?: boolean;
  readOnly?: boolean;
  /** How long a statement waits for another connection's lock before SQLITE_BUSY (ms). */
  timeoutMs?: number;
}

export function openSqlite(file: string, options: OpenSqliteOptions = {}): Sqlite {
  if (options.mustExist && file !== ':memory:' && !existsSync(file))
    throw Object.assign(new Error(`${file}: no such SQLite file`), { code: 'ENOENT' });
  return enhance(
    new DatabaseSync(file, { readOnly: options.readOnly ?? false, timeout: options.timeoutMs ?? 0 }),
  );
}

/** An error SQLite raised because another connection holds the lock it needs (SQLITE_BUSY, extended codes included). */
export function isBusy(error: unknown): boolean {
  const { errcode } = error as { errcode?: unknown };
  return typeof errcode === 'number' && (errcode & 0xff) === 5;
}

/** Kysely's SqliteDialect speaks better-sqlite3's statement shape: parameters as one array, and `reader`. */
export function forKysely(db: Sqlite): KyselySqliteDatabase {
  return {
    close: () => db.close(),
    prepare(sql: string) {
      const statement = db.prepare(sql);
      return {
        reader: statement.columns().length > 0,
        all: (parameters: ReadonlyArray<unknown>) => statement.all(...(parameters as unknown[])),
        run: (parameters: ReadonlyArray<unknown>) => statement.run(...(parameters as unknown[])),
        iterate: (parameters: ReadonlyArray<unknown>) => statement.iterate(...(parameters as unknown[])),
      };
    },
  };
}
