import { CompiledQuery, Kysely, PostgresDialect, sql } from 'kysely';
import type pg from 'pg';
import pino from 'pino';
import {
  migrateSchema,
  parseUri,
  poolConfig,
  type Queryable,
  retryConnectionErrors,
  retrySecondsFrom,
} from '../postgres/connection.js';
import { POSTGRES } from './dialects.js';
import { MIGRATIONS, migrationsFor } from './migrations.js';
import type { Tables } from './rows.js';
import type { Db } from './sql-queries.js';
import { type SqlAdapter, SqlMetadataStore, type StoreLocation } from './sql-store.js';
import { NewerSchemaError } from './store.js';

/** The part of a pino logger the store uses. */
export interface MetadataStoreLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface PostgresStoreOptions {
  /** How long one operation keeps retrying while the server is unreachable (default 60 s). */
  retrySeconds?: number;
  logger?: MetadataStoreLogger;
  /** Where the password and retry settings are read from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
}

/**
 * The metadata store on PostgreSQL, for many machines sharing one registry. Same semantics as on
 * SQLite; on top of that every operation survives a server restart: it retries on connection errors
 * until a deadline, and writes that a retry could repeat are idempotent (client-chosen run ids,
 * upserts, and an operation id on each registry event so a retried transaction finds its own
 * committed result).
 */
export class PostgresMetadataStore extends SqlMetadataStore {
  constructor(uri: string, options: PostgresStoreOptions = {}) {
    super(uri, new PostgresAdapter(uri, options));
  }
}

class PostgresAdapter implements SqlAdapter {
  readonly dialect = POSTGRES;
  readonly location: StoreLocation;
  private readonly kysely: Kysely<Tables>;
  private readonly schema: string | undefined;
  private readonly retryMs: number;
  private logger: MetadataStoreLogger | undefined;
  private readyPromise: Promise<void> | undefined;
  private outage = false;
  private closed = false;

  constructor(
    private readonly uri: string,
    options: PostgresStoreOptions,
  ) {
    const env = options.env ?? process.env;
    const target = parseUri(uri);
    this.schema = target.schema;
    this.retryMs = 1000 * (options.retrySeconds ?? retrySecondsFrom(env));
    this.logger = options.logger;
    this.location = { kind: 'postgres', uri, env };
    // pg loads on first use, as the S3 SDK does: start-up cost that SQLite projects never need.
    const pool = async () => {
      const { default: pgModule } = await import('pg');
      const created = new pgModule.Pool({
        ...poolConfig(target, env, 'kiln', 10_000),
        // BIGINT columns (seeds, event ids) hold values well inside a double's exact range.
        types: {
          getTypeParser: (oid, format) => (oid === 20 ? Number : pgModule.types.getTypeParser(oid, format)),
        },
      });
      // An idle client whose server went away emits here; without a listener that would crash the process.
      created.on('error', (error) => this.lost(error));
      // A checked-out client emits 'error' too when its connection dies; the failed query is retried.
      // pg marks such a client unusable, and the pool discards it when Kysely releases it.
      created.on('connect', (client) => client.on('error', (error) => this.lost(error)));
      return created;
    };
    this.kysely = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) });
  }

  async run<T>(work: (db: Db) => Promise<T>, options: { retry?: boolean } = {}): Promise<T> {
    const retryMs = options.retry === false ? 0 : this.retryMs;
    await this.ready(retryMs);
    return this.retrying(work, retryMs);
  }

  /**
   * `LOCK TABLE … EXCLUSIVE` serialises registry writers (readers go on) across processes. It also
   * makes event ids commit in increasing order: ids come from a sequence, and without the lock a
   * transaction holding a lower id could commit after one holding a higher id.
   */
  async lockRegistry(db: Db): Promise<void> {
    await sql`LOCK TABLE registry_events IN EXCLUSIVE MODE`.execute(db);
  }

  async describe(db: Db): Promise<string> {
    const { rows } = await sql<{ server: string; schema: string; applied: number }>`
      SELECT current_setting('server_version') AS server, current_schema() AS schema,
        (SELECT count(*)::int FROM kiln_schema_migrations) AS applied`.execute(db);
    const { server, schema, applied } = rows[0];
    return `PostgreSQL ${server}, schema ${schema}, ${applied} of ${MIGRATIONS.length} migrations applied`;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.kysely.destroy();
  }

  private ready(retryMs: number): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`metadata store ${this.uri} is closed`));
    // Connect and migrate on first use, so opening a store stays synchronous; after a failure the
    // next call tries again.
    this.readyPromise ??= this.retrying(
      (db) =>
        migrateSchema(queryable(db), {
          schema: this.schema,
          table: 'kiln_schema_migrations',
          migrations: migrationsFor(POSTGRES),
          newer: (found, known) => new NewerSchemaError(this.uri, found, known),
        }),
      retryMs,
    ).catch((error) => {
      this.readyPromise = undefined;
      throw error;
    });
    return this.readyPromise;
  }

  /** `work` on one pooled connection, again on a new one after a connection error until the deadline. */
  private async retrying<T>(work: (db: Db) => Promise<T>, retryMs: number): Promise<T> {
    const result = await retryConnectionErrors(() => this.kysely.connection().execute(work), {
      retryMs,
      what: `metadata store ${this.uri}`,
      lost: (error) => this.lost(error),
      closed: () => this.closed,
    });
    if (this.outage) {
      this.outage = false;
      this.log().info({ store: this.uri }, 'metadata store reachable again');
    }
    return result;
  }

  /** Made on first use: most stores never log anything. Outages are rare, so its writes are synchronous. */
  private log(): MetadataStoreLogger {
    this.logger ??= pino({ name: 'kiln.metadata' }, pino.destination({ fd: 2, sync: true }));
    return this.logger;
  }

  /** Logs the first connection error of an outage; the retries that follow stay quiet. */
  private lost(error: Error): void {
    if (this.outage || this.closed) return;
    this.outage = true;
    this.log().warn(
      { store: this.uri, error: error.message, retrySeconds: this.retryMs / 1000 },
      'metadata store connection lost; retrying',
    );
  }
}

/** A pinned Kysely connection as the plain client the shared migration code takes. */
function queryable(db: Db): Queryable {
  return {
    query: async <R extends pg.QueryResultRow>(text: string, values: unknown[] = []) => ({
      rows: (await db.executeQuery<R>(CompiledQuery.raw(text, values))).rows as R[],
    }),
  };
}
