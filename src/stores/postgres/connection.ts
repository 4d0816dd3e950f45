/**
 * What every Kiln component that talks to PostgreSQL shares (the metadata store, the prediction log):
 * the URI and its settings, the password from the environment, pool settings, which errors a new
 * connection can cure, the retry loop, transactions and migrations under one advisory lock.
 */
import { readFileSync } from 'node:fs';
import type pg from 'pg';

export interface Target {
  host: string;
  port: number;
  database: string;
  user: string | undefined;
  schema: string | undefined;
  ssl: pg.PoolConfig['ssl'];
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** postgres://user@host:port/db?schema=name&sslmode=disable|require|verify-full; never a password. */
export function parseUri(uri: string): Target {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new Error('metadata URI is not a valid postgres://user@host:port/database URI');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')
    throw new Error(`metadata URI scheme "${url.protocol}" is not postgres: or postgresql:`);
  // The URI is shown in logs, run records and error messages, so a secret must not be part of it.
  if (url.password)
    throw new Error(
      'the PostgreSQL metadata URI contains a password: remove it and set KILN_POSTGRES_PASSWORD, ' +
        'KILN_POSTGRES_PASSWORD_FILE (a file holding it) or PGPASSWORD instead',
    );
  const schema = url.searchParams.get('schema') ?? undefined;
  if (schema !== undefined && !SCHEMA_NAME.test(schema))
    throw new Error(
      `metadata URI schema "${schema}": use lower-case letters, digits and '_', not starting with a digit`,
    );
  const sslmode = url.searchParams.get('sslmode') ?? 'disable';
  const ssl = { disable: false, require: { rejectUnauthorized: false }, 'verify-full': true }[sslmode];
  if (ssl === undefined)
    throw new Error(`metadata URI sslmode "${sslmode}": use disable, require (encrypted) or verify-full`);
  for (const key of url.searchParams.keys())
    if (key !== 'schema' && key !== 'sslmode')
      throw new Error(`metadata URI parameter "${key}" is not supported (supported: schema, sslmode)`);
  return {
    // URL keeps the brackets of an IPv6 literal; pg wants the bare address.
    host: decodeURIComponent(url.hostname.replace(/^\[(.*)\]$/, '$1')) || 'localhost',
    port: url.port ? Number(url.port) : 5432,
    database: decodeURIComponent(url.pathname.slice(1)) || 'postgres',
    user: url.username ? decodeURIComponent(url.username) : undefined,
    schema,
    ssl,
  };
}

/** Connection settings shared by every Kiln pool: target, password from the environment, schema, keep-alive. */
export function poolConfig(
  target: Target,
  env: NodeJS.ProcessEnv,
  applicationName: string,
  connectionTimeoutMillis: number,
): pg.PoolConfig {
  return {
    host: target.host,
    port: target.port,
    database: target.database,
    user: target.user,
    password: passwordFrom(env),
    ssl: target.ssl,
    options: target.schema ? `-c search_path=${target.schema}` : undefined,
    application_name: applicationName,
    connectionTimeoutMillis,
    keepAlive: true,
    // A process that forgets close() must still exit.
    allowExitOnIdle: true,
  };
}

/**
 * KILN_POSTGRES_PASSWORD_FILE is read at each new connection, so a rotated secret is picked up on
 * reconnect. With none of the Kiln variables set, pg itself falls back to PGPASSWORD and ~/.pgpass.
 */
export function passwordFrom(env: NodeJS.ProcessEnv): pg.PoolConfig['password'] {
  const file = env.KILN_POSTGRES_PASSWORD_FILE;
  if (file)
    return () => {
      try {
        return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
      } catch (error) {
        throw new Error(
          `KILN_POSTGRES_PASSWORD_FILE ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`,
        );
      }
    };
  return env.KILN_POSTGRES_PASSWORD || undefined;
}

/** How long one operation keeps retrying while the server is unreachable: KILN_POSTGRES_RETRY_SECONDS, 60 s. */
export function retrySecondsFrom(env: NodeJS.ProcessEnv): number {
  const raw = env.KILN_POSTGRES_RETRY_SECONDS;
  if (raw === undefined || raw === '') return 60;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0)
    throw new Error(`KILN_POSTGRES_RETRY_SECONDS must be a number of seconds >= 0, got "${raw}"`);
  return seconds;
}

// ----- connection errors -----

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  '57P01', // admin_shutdown: the server is stopping
  '57P02', // crash_shutdown: another backend crashed
  '57P03', // cannot_connect_now: starting up or shutting down
]);

// pg reports a dropped socket and its own timeouts by message only.
const DROPPED =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/;

/** Errors after which the same operation can succeed on a new connection. */
export function isConnectionError(error: unknown): boolean {
  if (error instanceof AggregateError) return error.errors.some(isConnectionError);
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (CONNECTION_CODES.has(code) || code.startsWith('08'))) return true;
  return DROPPED.test(error.message);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface RetryOptions {
  /** How long to keep trying after the first failure; 0: one attempt. */
  retryMs: number;
  /** Names the component in the error given up with, e.g. `metadata store postgres://…`. */
  what: string;
  /** Told of every connection error before the next attempt (log the first of an outage). */
  lost(error: Error): void;
  /** True once the owner is closed: nothing is retried then. */
  closed(): boolean;
}

/**
 * Runs `attempt` again on a connection-class error (server restarting, network cut), with exponential
 * backoff, until `retryMs` after the first attempt; any other error is thrown at once. Each attempt must
 * take a fresh connection from its pool, and what it writes must be safe to repeat.
 */
export async function retryConnectionErrors<T>(attempt: () => Promise<T>, options: RetryOptions): Promise<T> {
  const deadline = Date.now() + options.retryMs;
  for (let failures = 0; ; failures++) {
    try {
      return await attempt();
    } catch (error) {
      if (!isConnectionError(error) || options.closed()) throw error;
      const left = deadline - Date.now();
      if (left <= 0) {
        const waited = options.retryMs ? ` for ${options.retryMs / 1000} s` : '';
        throw new Error(`${options.what}: PostgreSQL unreachable${waited} (${(error as Error).message})`, {
          cause: error,
        });
      }
      options.lost(error as Error);
      await sleep(Math.min(100 * 2 ** failures, 2000, left));
    }
  }
}

// ----- transactions and migrations -----

/** The one method of a client (pg's, or an adapter over a query builder's connection) used here. */
export interface Queryable {
  query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<{ rows: R[] }>;
}

export async function transaction<T>(db: Queryable, work: () => Promise<T>): Promise<T> {
  await db.query('BEGIN');
  try {
    const result = await work();
    await db.query('COMMIT');
    return result;
  } catch (error) {
    // On a dead connection the server has already rolled back; the original error is what matters.
    await db.query('ROLLBACK').catch(() => {});
    throw error;
  }
}

// Any constant works as long as every Kiln process uses the same one ("kiln" in ASCII, then 1).
export const MIGRATION_LOCK = [0x6b696c6e, 1] as const;

export interface SchemaMigrations {
  /** `?schema=` of the URI: created when missing. */
  schema: string | undefined;
  /** Where applied versions are listed (one table per component, so components can share a schema). */
  table: string;
  /** Version N is entry N - 1: the statements of one migration, run in order. */
  migrations: readonly (string | readonly string[])[];
  /** The error for a schema already at a version newer than this code knows. */
  newer(found: number, known: number): Error;
}

/**
 * Applies the missing migrations in one transaction, under an advisory lock every Kiln component
 * takes: concurrent starters take turns, and concurrent CREATE SCHEMA IF NOT EXISTS (which can
 * otherwise fail on a unique index) never race.
 */
export async function migrateSchema(db: Queryable, plan: SchemaMigrations): Promise<void> {
  await transaction(db, async () => {
    await db.query('SELECT pg_advisory_xact_lock($1, $2)', [...MIGRATION_LOCK]);
    if (plan.schema) await db.query(`CREATE SCHEMA IF NOT EXISTS ${plan.schema}`);
    await db.query(
      `CREATE TABLE IF NOT EXISTS ${plan.table} (
         version INTEGER PRIMARY KEY,
         applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
       )`,
    );
    const { rows } = await db.query<{ version: number }>(`SELECT version FROM ${plan.table}`);
    const applied = new Set(rows.map((r) => r.version));
    const newest = Math.max(0, ...applied);
    if (newest > plan.migrations.length) throw plan.newer(newest, plan.migrations.length);
    for (let version = 1; version <= plan.migrations.length; version++) {
      if (applied.has(version)) continue;
      for (const statement of [plan.migrations[version - 1]].flat()) await db.query(statement);
      await db.query(`INSERT INTO ${plan.table} (version) VALUES ($1)`, [version]);
    }
  });
}
