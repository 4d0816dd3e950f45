import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import pino from 'pino';
import { checkAliasName, checkModelName, checkTagKey } from './names.js';
import { MIGRATIONS } from './postgres-migrations.js';
import {
  aliasesByVersion,
  type DeadLetterRow,
  type EventRow,
  nullable,
  type RunRow,
  tagsOf,
  toEvent,
  toRun,
  toVersion,
  type VersionRow,
} from './rows.js';
import {
  AliasConflictError,
  type AliasMove,
  type Change,
  type DeadLetter,
  type MetadataStore,
  type ModelVersion,
  NewerSchemaError,
  type NewModelVersion,
  type NewRun,
  NotFoundError,
  type RegisteredModel,
  type RegistryAction,
  RegistryError,
  type RegistryEvent,
  type RunRecord,
  type RunUpdate,
  type TrialRecord,
} from './store.js';

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

// Any constant works as long as every Kiln process uses the same one ("kiln" in ASCII, then 1).
export const MIGRATION_LOCK = [0x6b696c6e, 1] as const;

type Db = pg.ClientBase;

/**
 * The metadata store on PostgreSQL, for many machines sharing one registry. Same semantics as the SQLite
 * store; on top of that every operation survives a server restart: it retries on connection errors
 * until a deadline, and writes that a retry could repeat are idempotent (client-chosen run ids, upserts,
 * and an operation id on each registry event so a retried transaction finds its own committed result).
 */
export class PostgresMetadataStore implements MetadataStore {
  readonly uri: string;
  private readonly pool: pg.Pool;
  private readonly schema: string | undefined;
  private readonly retryMs: number;
  private logger: MetadataStoreLogger | undefined;
  private readyPromise: Promise<void> | undefined;
  private outage = false;
  private closed = false;

  constructor(uri: string, options: PostgresStoreOptions = {}) {
    const env = options.env ?? process.env;
    const target = parseUri(uri);
    this.uri = uri;
    this.schema = target.schema;
    this.retryMs = 1000 * (options.retrySeconds ?? retrySecondsFrom(env));
    this.logger = options.logger;
    this.pool = new pg.Pool({
      ...poolConfig(target, env, 'kiln', 10_000),
      // BIGINT columns (seeds, event ids) hold values well inside a double's exact range.
      types: { getTypeParser: (oid, format) => (oid === 20 ? Number : pg.types.getTypeParser(oid, format)) },
    });
    // An idle client whose server went away emits here; without a listener that would crash the process.
    this.pool.on('error', (error) => this.lost(error));
    // A checked-out client emits 'error' too when its connection dies; the failed query is retried.
    this.pool.on('connect', (client) => client.on('error', (error) => this.lost(error)));
  }

  // ----- runs and trials -----

  async createRun(run: NewRun): Promise<RunRecord> {
    // Chosen before the first attempt, so a retry after a lost reply finds the row it already wrote.
    const id = randomUUID();
    const startedAt = new Date().toISOString();
    return this.use(async (db) => {
      await db.query(
        `INSERT INTO runs (id, project, kind, status, seed, started_at, config, code_version, dependencies)
         VALUES ($1, $2, $3, 'running', $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING`,
        [
          id,
          run.project,
          run.kind,
          run.seed,
          startedAt,
          JSON.stringify(run.config),
          run.codeVersion,
          JSON.stringify(run.dependencies),
        ],
      );
      const { rows } = await db.query<RunRow>('SELECT * FROM runs WHERE id = $1', [id]);
      return toRun(rows[0]);
    });
  }

  async updateRun(id: string, update: RunUpdate): Promise<RunRecord> {
    const columns: Record<keyof RunUpdate, string> = {
      status: 'status',
      finishedAt: 'finished_at',
      params: 'params',
      metrics: 'metrics',
      durations: 'durations',
      data: 'data',
      packageUri: 'package_uri',
      warnings: 'warnings',
      error: 'error',
    };
    const sets: string[] = [];
    const values: unknown[] = [];
    for (const [key, value] of Object.entries(update) as [keyof RunUpdate, unknown][]) {
      if (value === undefined) continue;
      values.push(typeof value === 'object' && value !== null ? JSON.stringify(value) : value);
      sets.push(`${columns[key]} = $${values.length}`);
    }
    return this.use(async (db) => {
      if (sets.length) {
        const result = await db.query(`UPDATE runs SET ${sets.join(', ')} WHERE id = $${values.length + 1}`, [
          ...values,
          id,
        ]);
        if (result.rowCount === 0) throw new Error(`no run ${id}`);
      }
      const run = await findRun(db, id);
      if (!run) throw new Error(`no run ${id}`);
      return run;
    });
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    return this.use((db) => findRun(db, id));
  }

  async listRuns(filter: { project?: string; limit?: number } = {}): Promise<RunRecord[]> {
    const limit = filter.limit ?? 50;
    const { rows } = await this.use((db) =>
      filter.project
        ? db.query<RunRow>(
            'SELECT * FROM runs WHERE project = $1 ORDER BY started_at DESC, seq DESC LIMIT $2',
            [filter.project, limit],
          )
        : db.query<RunRow>('SELECT * FROM runs ORDER BY started_at DESC, seq DESC LIMIT $1', [limit]),
    );
    return rows.map(toRun);
  }

  async recordTrial(trial: TrialRecord): Promise<void> {
    await this.use((db) =>
      db.query(
        `INSERT INTO trials (run_id, idx, params, fold_scores, mean, std, seconds)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (run_id, idx) DO UPDATE SET params = excluded.params, fold_scores = excluded.fold_scores,
           mean = excluded.mean, std = excluded.std, seconds = excluded.seconds`,
        [
          trial.runId,
          trial.index,
          JSON.stringify(trial.params),
          JSON.stringify(trial.foldScores),
          nullable(trial.mean),
          nullable(trial.std),
          trial.seconds,
        ],
      ),
    );
  }

  async listTrials(runId: string): Promise<TrialRecord[]> {
    const { rows } = await this.use((db) =>
      db.query<{
        run_id: string;
        idx: number;
        params: Record<string, unknown>;
        fold_scores: number[];
        mean: number | null;
        std: number | null;
        seconds: number;
      }>('SELECT * FROM trials WHERE run_id = $1 ORDER BY idx', [runId]),
    );
    return rows.map((r) => ({
      runId: r.run_id,
      index: r.idx,
      params: r.params,
      foldScores: r.fold_scores,
      mean: r.mean ?? Number.NaN,
      std: r.std ?? Number.NaN,
      seconds: r.seconds,
    }));
  }

  // ----- registry -----

  async createVersion(
    input: NewModelVersion,
    change: Change,
  ): Promise<{ version: ModelVersion; created: boolean }> {
    checkModelName(input.name);
    for (const key of Object.keys(input.tags ?? {})) checkTagKey(key);
    const created = await this.registryWrite(
      async (db, op) => {
        const existing = await db.query<{ version: number }>(
          'SELECT version FROM model_versions WHERE name = $1 AND package_digest = $2',
          [input.name, input.packageDigest],
        );
        if (existing.rows.length) return { version: existing.rows[0].version, created: false };
        const now = new Date().toISOString();
        const model = await db.query<{ next_version: number }>(
          'SELECT next_version FROM registered_models WHERE name = $1',
          [input.name],
        );
        if (!model.rows.length) {
          await db.query('INSERT INTO registered_models (name, created_at, updated_at) VALUES ($1, $2, $2)', [
            input.name,
            now,
          ]);
          await appendEvent(db, { type: 'model.created', model: input.name }, change, {});
        }
        const version = model.rows[0]?.next_version ?? 1;
        await db.query(
          `INSERT INTO model_versions (name, version, created_at, created_by, run_id, package_uri,
             package_digest, metrics, lineage, description, tags)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
          [
            input.name,
            version,
            now,
            change.actor,
            input.runId,
            input.packageUri,
            input.packageDigest,
            JSON.stringify(input.metrics),
            JSON.stringify(input.lineage),
            input.description ?? '',
            JSON.stringify(input.tags ?? {}),
          ],
        );
        await db.query('UPDATE registered_models SET next_version = $1, updated_at = $2 WHERE name = $3', [
          version + 1,
          now,
          input.name,
        ]);
        await appendEvent(
          db,
          { type: 'version.created', model: input.name, version },
          change,
          { packageUri: input.packageUri, packageDigest: input.packageDigest, runId: input.runId },
          op,
        );
        return { version, created: true };
      },
      (event) => ({ version: event.version as number, created: true }),
    );
    return { version: (await this.getVersion(input.name, created.version))!, created: created.created };
  }

  async getModel(name: string): Promise<RegisteredModel | undefined> {
    const { rows } = await this.use((db) => db.query<ModelRow>(`${MODEL_SELECT} WHERE m.name = $1`, [name]));
    return rows.length ? toModel(rows[0]) : undefined;
  }

  async listModels(): Promise<RegisteredModel[]> {
    const { rows } = await this.use((db) =>
      db.query<ModelRow>(`${MODEL_SELECT} ORDER BY m.name COLLATE "C"`),
    );
    return rows.map(toModel);
  }

  async listVersions(name: string): Promise<ModelVersion[]> {
    return this.use(async (db) => {
      const { rows } = await db.query<VersionRow>(
        'SELECT * FROM model_versions WHERE name = $1 ORDER BY version DESC',
        [name],
      );
      const aliases = await aliasesOf(db, name);
      return rows.map((row) => toVersion(row, aliases));
    });
  }

  async getVersion(name: string, version: number): Promise<ModelVersion | undefined> {
    return this.use((db) => findVersion(db, name, version));
  }

  async resolveAlias(name: string, alias: string): Promise<ModelVersion | undefined> {
    return this.use(async (db) => {
      const version = await aliasTarget(db, name, alias);
      return version === null ? undefined : findVersion(db, name, version);
    });
  }

  async moveAlias(move: AliasMove): Promise<RegistryEvent> {
    checkAliasName(move.alias);
    return this.registryWrite(async (db, op) => {
      await requireVersion(db, move.name, move.version);
      const current = await aliasTarget(db, move.name, move.alias);
      if (current !== move.expected)
        throw new AliasConflictError(move.name, move.alias, move.expected, current);
      const now = new Date().toISOString();
      await db.query(
        `INSERT INTO model_aliases (name, alias, version, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (name, alias)
         DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at`,
        [move.name, move.alias, move.version, now],
      );
      await touch(db, move.name, now);
      return appendEvent(
        db,
        { type: 'alias.moved', model: move.name, version: move.version, alias: move.alias },
        move,
        { from: current },
        op,
      );
    });
  }

  async deleteAlias(
    target: { name: string; alias: string; expected: number },
    change: Change,
  ): Promise<RegistryEvent> {
    return this.registryWrite(async (db, op) => {
      const current = await aliasTarget(db, target.name, target.alias);
      if (current === null) throw new NotFoundError(`model ${target.name} has no alias "${target.alias}"`);
      if (current !== target.expected)
        throw new AliasConflictError(target.name, target.alias, target.expected, current);
      await db.query('DELETE FROM model_aliases WHERE name = $1 AND alias = $2', [target.name, target.alias]);
      await touch(db, target.name, new Date().toISOString());
      return appendEvent(
        db,
        { type: 'alias.deleted', model: target.name, version: current, alias: target.alias },
        change,
        {},
        op,
      );
    });
  }

  async setTag(
    target: { name: string; version: number | null; key: string; value: string | null },
    change: Change,
  ): Promise<RegistryEvent> {
    checkTagKey(target.key);
    return this.registryWrite(async (db, op) => {
      const tags = await readTags(db, target.name, target.version);
      if (target.value === null) delete tags[target.key];
      else tags[target.key] = target.value;
      await writeField(db, target.name, target.version, 'tags', JSON.stringify(tags));
      return appendEvent(
        db,
        {
          type: target.version === null ? 'model.tagged' : 'version.tagged',
          model: target.name,
          version: target.version,
        },
        change,
        { key: target.key, value: target.value },
        op,
      );
    });
  }

  async setDescription(
    target: { name: string; version: number | null; description: string },
    change: Change,
  ): Promise<RegistryEvent> {
    return this.registryWrite(async (db, op) => {
      await readTags(db, target.name, target.version); // existence check
      await writeField(db, target.name, target.version, 'description', target.description);
      return appendEvent(
        db,
        {
          type: target.version === null ? 'model.described' : 'version.described',
          model: target.name,
          version: target.version,
        },
        change,
        { description: target.description },
        op,
      );
    });
  }

  async deleteVersion(target: { name: string; version: number }, change: Change): Promise<RegistryEvent> {
    return this.registryWrite(async (db, op) => {
      const row = await requireVersion(db, target.name, target.version);
      const aliases = (await aliasesOf(db, target.name)).get(target.version) ?? [];
      if (aliases.length)
        throw new RegistryError(
          `version ${target.version} of ${target.name} is still the target of ${aliases.map((a) => `@${a}`).join(', ')}; move or delete the alias first`,
        );
      await db.query('DELETE FROM model_versions WHERE name = $1 AND version = $2', [
        target.name,
        target.version,
      ]);
      await touch(db, target.name, new Date().toISOString());
      return appendEvent(
        db,
        { type: 'version.deleted', model: target.name, version: target.version },
        change,
        { packageUri: row.package_uri, packageDigest: row.package_digest },
        op,
      );
    });
  }

  async listEvents(
    filter: { model?: string; afterId?: number; limit?: number } = {},
  ): Promise<RegistryEvent[]> {
    const values: unknown[] = [filter.afterId ?? 0];
    let where = 'id > $1';
    if (filter.model !== undefined) {
      values.push(filter.model);
      where += ' AND model = $2';
    }
    values.push(filter.limit ?? 1000);
    const { rows } = await this.use((db) =>
      db.query<EventRow>(
        `SELECT * FROM registry_events WHERE ${where} ORDER BY id LIMIT $${values.length}`,
        values,
      ),
    );
    return rows.map(toEvent);
  }

  // ----- event delivery -----

  async deliveryCursor(target: string): Promise<number> {
    const { rows } = await this.use((db) =>
      db.query<{ event_id: number }>('SELECT event_id FROM delivery_cursors WHERE target = $1', [target]),
    );
    return rows[0]?.event_id ?? 0;
  }

  async advanceDeliveryCursor(target: string, from: number, to: number): Promise<boolean> {
    const op = randomUUID();
    let retry = false;
    return this.use(async (db) => {
      // A retry after a lost reply: if this advance already committed, it won.
      if (retry) {
        const { rows } = await db.query('SELECT 1 FROM delivery_cursors WHERE target = $1 AND op_id = $2', [
          target,
          op,
        ]);
        if (rows.length) return true;
      }
      retry = true;
      // One statement each: PostgreSQL re-checks the WHERE on the locked row, so two dispatchers
      // advancing from the same position cannot both succeed.
      const result =
        from === 0
          ? await db.query(
              `INSERT INTO delivery_cursors (target, event_id, op_id) VALUES ($1, $2, $3)
               ON CONFLICT (target) DO UPDATE SET event_id = excluded.event_id, op_id = excluded.op_id
               WHERE delivery_cursors.event_id = 0`,
              [target, to, op],
            )
          : await db.query(
              'UPDATE delivery_cursors SET event_id = $1, op_id = $2 WHERE target = $3 AND event_id = $4',
              [to, op, target, from],
            );
      return result.rowCount === 1;
    });
  }

  async parkDeadLetter(letter: DeadLetter): Promise<void> {
    await this.use((db) =>
      db.query(
        `INSERT INTO dead_letters (target, event_id, attempts, error, parked_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (target, event_id) DO UPDATE SET attempts = excluded.attempts, error = excluded.error,
           parked_at = excluded.parked_at`,
        [letter.target, letter.eventId, letter.attempts, letter.error, letter.parkedAt],
      ),
    );
  }

  async listDeadLetters(target?: string): Promise<DeadLetter[]> {
    const { rows } = await this.use((db) =>
      target === undefined
        ? db.query<DeadLetterRow>('SELECT * FROM dead_letters ORDER BY event_id, target COLLATE "C"')
        : db.query<DeadLetterRow>('SELECT * FROM dead_letters WHERE target = $1 ORDER BY event_id', [target]),
    );
    return rows.map((r) => ({
      target: r.target,
      eventId: r.event_id,
      attempts: r.attempts,
      error: r.error,
      parkedAt: r.parked_at,
    }));
  }

  async removeDeadLetter(target: string, eventId: number): Promise<void> {
    await this.use((db) =>
      db.query('DELETE FROM dead_letters WHERE target = $1 AND event_id = $2', [target, eventId]),
    );
  }

  async probe(): Promise<string> {
    // One attempt at reaching the server: `kiln doctor` reports an outage at once, not after waiting it out.
    const server = await this.retrying(
      async (db) =>
        (await db.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0].v,
      0,
    );
    await this.ready();
    return this.retrying(async (db) => {
      const { rows } = await db.query<{ schema: string; applied: number }>(
        'SELECT current_schema() AS schema, (SELECT count(*)::int FROM kiln_schema_migrations) AS applied',
      );
      // A real write, rolled back: fails without INSERT privilege or on a read-only server.
      await db.query('BEGIN');
      try {
        await db.query("INSERT INTO delivery_cursors (target, event_id) VALUES ('kiln-doctor-probe', 0)");
      } finally {
        await db.query('ROLLBACK');
      }
      return `PostgreSQL ${server}, schema ${rows[0].schema}, ${rows[0].applied} of ${MIGRATIONS.length} migrations applied, writable`;
    }, 0);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  // ----- connection, retry, migrations -----

  /** Runs `work` on a pooled connection once the schema is migrated, retrying while the server is away. */
  private async use<T>(work: (db: Db) => Promise<T>): Promise<T> {
    await this.ready();
    return this.retrying(work);
  }

  /**
   * A registry change and its event in one transaction. `LOCK TABLE … EXCLUSIVE` serialises registry
   * writers (readers go on): it makes the alias compare-and-set and version numbering atomic across
   * processes, and it makes event ids commit in increasing order, so a delivery cursor never skips an
   * event whose transaction committed late. A retry first looks for the event its own earlier attempt
   * may have committed (`op`) and then returns `replay(event)` instead of applying the change twice.
   */
  private async registryWrite<T>(
    work: (db: Db, op: string) => Promise<T>,
    replay: (event: RegistryEvent) => T = (event) => event as T,
  ): Promise<T> {
    const op = randomUUID();
    let retry = false;
    return this.use((db) =>
      transaction(db, async () => {
        await db.query('LOCK TABLE registry_events IN EXCLUSIVE MODE');
        if (retry) {
          const done = await db.query<EventRow>('SELECT * FROM registry_events WHERE op_id = $1', [op]);
          if (done.rows.length) return replay(toEvent(done.rows[0]));
        }
        retry = true;
        return work(db, op);
      }),
    );
  }

  private ready(): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`metadata store ${this.uri} is closed`));
    // Connect and migrate on first use, so opening a store stays synchronous; after a failure the
    // next call tries again.
    this.readyPromise ??= this.retrying((db) => this.migrate(db)).catch((error) => {
      this.readyPromise = undefined;
      throw error;
    });
    return this.readyPromise;
  }

  /** Applies missing migrations in one transaction; an advisory lock makes concurrent starters take turns. */
  private async migrate(db: Db): Promise<void> {
    await transaction(db, async () => {
      await db.query('SELECT pg_advisory_xact_lock($1, $2)', [...MIGRATION_LOCK]);
      // Under the lock: concurrent CREATE SCHEMA IF NOT EXISTS can otherwise fail on a unique index.
      if (this.schema) await db.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
      await db.query(
        `CREATE TABLE IF NOT EXISTS kiln_schema_migrations (
           version INTEGER PRIMARY KEY,
           applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )`,
      );
      const { rows } = await db.query<{ version: number }>('SELECT version FROM kiln_schema_migrations');
      const applied = new Set(rows.map((r) => r.version));
      const newest = Math.max(0, ...applied);
      if (newest > MIGRATIONS.length) throw new NewerSchemaError(this.uri, newest, MIGRATIONS.length);
      for (let version = 1; version <= MIGRATIONS.length; version++) {
        if (applied.has(version)) continue;
        await db.query(MIGRATIONS[version - 1]);
        await db.query('INSERT INTO kiln_schema_migrations (version) VALUES ($1)', [version]);
      }
    });
  }

  /**
   * Runs `work` on a pooled client; on a connection-class error (server restarting, network cut) it
   * drops that client and tries again with exponential backoff until the retry deadline.
   */
  private async retrying<T>(work: (db: Db) => Promise<T>, retryMs = this.retryMs): Promise<T> {
    const deadline = Date.now() + retryMs;
    for (let attempt = 0; ; attempt++) {
      let client: pg.PoolClient | undefined;
      let result: T;
      try {
        client = await this.pool.connect();
        result = await work(client);
      } catch (error) {
        const connectionLost = isConnectionError(error);
        // A client whose connection failed is discarded rather than returned to the pool.
        client?.release(connectionLost ? (error as Error) : undefined);
        if (!connectionLost || this.closed) throw error;
        const left = deadline - Date.now();
        if (left <= 0) {
          const waited = retryMs ? ` for ${retryMs / 1000} s` : '';
          throw new Error(
            `metadata store ${this.uri}: PostgreSQL unreachable${waited} (${(error as Error).message})`,
            { cause: error },
          );
        }
        this.lost(error as Error);
        await sleep(Math.min(100 * 2 ** attempt, 2000, left));
        continue;
      }
      client.release();
      if (this.outage) {
        this.outage = false;
        this.log().info({ store: this.uri }, 'metadata store reachable again');
      }
      return result;
    }
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

// ----- URI and settings -----

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

function retrySecondsFrom(env: NodeJS.ProcessEnv): number {
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

// ----- helpers -----

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function transaction<T>(db: Db, work: () => Promise<T>): Promise<T> {
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

async function findRun(db: Db, id: string): Promise<RunRecord | undefined> {
  const exact = await db.query<RunRow>('SELECT * FROM runs WHERE id = $1', [id]);
  if (exact.rows.length) return toRun(exact.rows[0]);
  // Short ids as shown by `kiln runs list`.
  const { rows } = await db.query<RunRow>('SELECT * FROM runs WHERE starts_with(id, $1) LIMIT 2', [id]);
  return rows.length === 1 ? toRun(rows[0]) : undefined;
}

async function findVersion(db: Db, name: string, version: number): Promise<ModelVersion | undefined> {
  const { rows } = await db.query<VersionRow>(
    'SELECT * FROM model_versions WHERE name = $1 AND version = $2',
    [name, version],
  );
  return rows.length ? toVersion(rows[0], await aliasesOf(db, name)) : undefined;
}

async function requireVersion(db: Db, name: string, version: number): Promise<VersionRow> {
  const { rows } = await db.query<VersionRow>(
    'SELECT * FROM model_versions WHERE name = $1 AND version = $2',
    [name, version],
  );
  if (!rows.length) throw new NotFoundError(`model ${name} has no version ${version}`);
  return rows[0];
}

async function aliasTarget(db: Db, name: string, alias: string): Promise<number | null> {
  const { rows } = await db.query<{ version: number }>(
    'SELECT version FROM model_aliases WHERE name = $1 AND alias = $2',
    [name, alias],
  );
  return rows[0]?.version ?? null;
}

async function aliasesOf(db: Db, name: string): Promise<Map<number, string[]>> {
  const { rows } = await db.query<{ alias: string; version: number }>(
    'SELECT alias, version FROM model_aliases WHERE name = $1 ORDER BY alias COLLATE "C"',
    [name],
  );
  return aliasesByVersion(rows);
}

/** The tags of a model (version null) or a version; NotFoundError when it does not exist. */
async function readTags(db: Db, name: string, version: number | null): Promise<Record<string, string>> {
  if (version !== null) return tagsOf(await requireVersion(db, name, version));
  const { rows } = await db.query<{ tags: Record<string, string> }>(
    'SELECT tags FROM registered_models WHERE name = $1',
    [name],
  );
  if (!rows.length) throw new NotFoundError(`no registered model "${name}"`);
  return rows[0].tags;
}

async function writeField(
  db: Db,
  name: string,
  version: number | null,
  column: 'tags' | 'description',
  value: string,
): Promise<void> {
  const now = new Date().toISOString();
  if (version === null) {
    await db.query(`UPDATE registered_models SET ${column} = $1, updated_at = $2 WHERE name = $3`, [
      value,
      now,
      name,
    ]);
    return;
  }
  await db.query(`UPDATE model_versions SET ${column} = $1 WHERE name = $2 AND version = $3`, [
    value,
    name,
    version,
  ]);
  await touch(db, name, now);
}

async function touch(db: Db, name: string, now: string): Promise<void> {
  await db.query('UPDATE registered_models SET updated_at = $1 WHERE name = $2', [now, name]);
}

async function appendEvent(
  db: Db,
  subject: { type: RegistryAction; model: string; version?: number | null; alias?: string | null },
  change: Change,
  details: Record<string, unknown>,
  op: string | null = null,
): Promise<RegistryEvent> {
  const { rows } = await db.query<EventRow>(
    `INSERT INTO registry_events (type, at, actor, reason, model, version, alias, details, op_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
    [
      subject.type,
      new Date().toISOString(),
      change.actor,
      change.reason ?? null,
      subject.model,
      subject.version ?? null,
      subject.alias ?? null,
      JSON.stringify(details),
      op,
    ],
  );
  return toEvent(rows[0]);
}

// ----- rows -----

const MODEL_SELECT = `SELECT m.name, m.description, m.tags, m.created_at, m.updated_at,
    (SELECT MAX(v.version) FROM model_versions v WHERE v.name = m.name) AS latest_version,
    COALESCE(
      (SELECT json_object_agg(a.alias, a.version ORDER BY a.alias COLLATE "C")
       FROM model_aliases a WHERE a.name = m.name),
      '{}'
    ) AS aliases
  FROM registered_models m`;

interface ModelRow {
  name: string;
  description: string;
  tags: Record<string, string>;
  created_at: string;
  updated_at: string;
  latest_version: number | null;
  aliases: Record<string, number>;
}

function toModel(row: ModelRow): RegisteredModel {
  return {
    name: row.name,
    description: row.description,
    tags: row.tags,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    latestVersion: row.latest_version,
    aliases: row.aliases,
  };
}
