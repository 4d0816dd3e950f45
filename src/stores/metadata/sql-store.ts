/**
 * The metadata store over SQL: ONE implementation of runs, trials, the registry and event delivery,
 * written once with Kysely's query builder and run by an adapter per database (sqlite.ts over
 * util/sqlite.ts, postgres.ts over pg), with ONE migration list (migrations.ts).
 *
 * Why Kysely: it has dialects for exactly the two databases (SqliteDialect, fed util/sqlite.ts's
 * connection in better-sqlite3's statement shape, and PostgresDialect over a pg pool), compiles one query to each dialect's placeholders
 * and quoting, and leaves connections and transactions to us where we need them: `connection()` pins
 * one connection per operation, which is what PostgreSQL's retry-through-restart needs, and raw
 * BEGIN IMMEDIATE / LOCK TABLE statements run on it as on any connection. It is pinned at 0.28.x:
 * 0.29 requires Node 22 and Kiln supports Node 20.
 *
 * What still differs between the databases lives in the adapters and dialects.ts: how a transaction
 * takes the write lock, how registry writers take turns, retries, migration bookkeeping, text collation
 * and the column that orders runs by insertion. The registry's writes are in registry-writes.ts, the
 * reads they share in sql-queries.ts.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { SqlDialect } from './dialects.js';
import { checkAliasName, checkModelName, checkTagKey } from './names.js';
import * as writes from './registry-writes.js';
import { nullable, toDeadLetter, toEvent, toRun, toTrial, toVersion } from './rows.js';
import { type Db, Queries } from './sql-queries.js';
import {
  type AliasMove,
  type Change,
  type DeadLetter,
  type MetadataStore,
  type ModelVersion,
  type NewModelVersion,
  type NewRun,
  NotFoundError,
  type RegisteredModel,
  type RegistryEvent,
  RunFinishedError,
  type RunRecord,
  type RunUpdate,
  type TrialRecord,
} from './store.js';

/** What a second connection to the same store needs (the run heartbeat's worker opens one). */
export type StoreLocation =
  | { kind: 'sqlite'; uri: string; file: string }
  | { kind: 'postgres'; uri: string; env: NodeJS.ProcessEnv };

export interface SqlAdapter {
  readonly dialect: SqlDialect;
  /** Undefined when no other connection can reach the same data (an in-memory database). */
  readonly location: StoreLocation | undefined;
  /**
   * Runs `work` on one connection of a migrated store. PostgreSQL runs it again on a new connection
   * after a connection error (unless `retry` is false), so `work` must be safe to repeat.
   */
  run<T>(work: (db: Db) => Promise<T>, options?: { retry?: boolean }): Promise<T>;
  /** Inside a write transaction: makes registry writers take turns. */
  lockRegistry(db: Db): Promise<void>;
  /** For probe(): the server and how far its schema is migrated. */
  describe(db: Db): Promise<string>;
  close(): Promise<void>;
}

const RUN_COLUMNS = {
  status: 'status',
  finishedAt: 'finished_at',
  params: 'params',
  metrics: 'metrics',
  durations: 'durations',
  data: 'data',
  packageUri: 'package_uri',
  warnings: 'warnings',
  error: 'error',
} as const satisfies Record<keyof RunUpdate, string>;

export class SqlMetadataStore implements MetadataStore {
  constructor(
    readonly uri: string,
    private readonly adapter: SqlAdapter,
  ) {}

  get location(): StoreLocation | undefined {
    return this.adapter.location;
  }

  // ----- runs and trials -----

  async createRun(run: NewRun): Promise<RunRecord> {
    // Chosen before the first attempt, so a retry after a lost reply finds the row it already wrote.
    const id = randomUUID();
    const startedAt = new Date().toISOString();
    return this.use(async (q) => {
      await q.db
        .insertInto('runs')
        .values({
          id,
          project: run.project,
          kind: run.kind,
          status: 'running',
          seed: run.seed,
          started_at: startedAt,
          config: JSON.stringify(run.config),
          code_version: run.codeVersion,
          dependencies: JSON.stringify(run.dependencies),
        })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
      return (await q.findRun(id))!;
    });
  }

  async updateRun(id: string, update: RunUpdate): Promise<RunRecord> {
    const set: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(update) as [keyof RunUpdate, unknown][]) {
      if (value === undefined) continue;
      set[RUN_COLUMNS[key]] = typeof value === 'object' && value !== null ? JSON.stringify(value) : value;
    }
    return this.use(async (q) => {
      if (Object.keys(set).length) {
        const result = await q.db.updateTable('runs').set(set).where('id', '=', id).executeTakeFirst();
        if (result.numUpdatedRows === 0n) throw new Error(`no run ${id}`);
      }
      const run = await q.findRun(id);
      if (!run) throw new Error(`no run ${id}`);
      return run;
    });
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    return this.use((q) => q.findRun(id));
  }

  async listRuns(filter: { project?: string; limit?: number } = {}): Promise<RunRecord[]> {
    const rows = await this.use((q) => {
      let query = q.db.selectFrom('runs').selectAll();
      if (filter.project !== undefined) query = query.where('project', '=', filter.project);
      return query
        .orderBy('started_at', 'desc')
        .orderBy(q.runOrder, 'desc')
        .limit(filter.limit ?? 50)
        .execute();
    });
    const now = Date.now();
    return rows.map((row) => toRun(row, now));
  }

  async heartbeatRun(id: string, intervalSeconds?: number): Promise<void> {
    await this.use((q) =>
      q.db
        .updateTable('runs')
        .set({ heartbeat_at: new Date().toISOString(), heartbeat_seconds: intervalSeconds ?? null })
        .where('id', '=', id)
        .where('status', '=', 'running')
        .execute(),
    );
  }

  async failRun(id: string, reason: string): Promise<RunRecord> {
    // Chosen before the first attempt: a retry after a lost reply recognises its own update.
    const finishedAt = new Date().toISOString();
    return this.use(async (q) => {
      await q.db
        .updateTable('runs')
        .set({ status: 'failed', error: reason, finished_at: finishedAt })
        .where('id', '=', id)
        .where('status', '=', 'running')
        .execute();
      const run = await q.findRun(id);
      if (!run) throw new NotFoundError(`no run ${id}`);
      if (run.status !== 'failed' || run.error !== reason || run.finishedAt !== finishedAt)
        throw new RunFinishedError(run);
      return run;
    });
  }

  async recordTrial(trial: TrialRecord): Promise<void> {
    await this.use((q) =>
      q.db
        .insertInto('trials')
        .values({
          run_id: trial.runId,
          idx: trial.index,
          params: JSON.stringify(trial.params),
          fold_scores: JSON.stringify(trial.foldScores),
          mean: nullable(trial.mean),
          std: nullable(trial.std),
          seconds: trial.seconds,
        })
        .onConflict((oc) =>
          oc.columns(['run_id', 'idx']).doUpdateSet((eb) => ({
            params: eb.ref('excluded.params'),
            fold_scores: eb.ref('excluded.fold_scores'),
            mean: eb.ref('excluded.mean'),
            std: eb.ref('excluded.std'),
            seconds: eb.ref('excluded.seconds'),
          })),
        )
        .execute(),
    );
  }

  async listTrials(runId: string): Promise<TrialRecord[]> {
    const rows = await this.use((q) =>
      q.db.selectFrom('trials').selectAll().where('run_id', '=', runId).orderBy('idx').execute(),
    );
    return rows.map(toTrial);
  }

  // ----- registry -----

  async createVersion(
    input: NewModelVersion,
    change: Change,
  ): Promise<{ version: ModelVersion; created: boolean }> {
    checkModelName(input.name);
    for (const key of Object.keys(input.tags ?? {})) checkTagKey(key);
    const created = await this.registryWrite(
      (q, op) => writes.createVersion(q, op, input, change),
      (event) => ({ version: event.version as number, created: true }),
    );
    return { version: (await this.getVersion(input.name, created.version))!, created: created.created };
  }

  async getModel(name: string): Promise<RegisteredModel | undefined> {
    return (await this.use((q) => q.models(name)))[0];
  }

  async listModels(): Promise<RegisteredModel[]> {
    return this.use((q) => q.models());
  }

  async listVersions(name: string): Promise<ModelVersion[]> {
    return this.use(async (q) => {
      const rows = await q.db
        .selectFrom('model_versions')
        .selectAll()
        .where('name', '=', name)
        .orderBy('version', 'desc')
        .execute();
      const aliases = await q.aliasesOf(name);
      return rows.map((row) => toVersion(row, aliases));
    });
  }

  async getVersion(name: string, version: number): Promise<ModelVersion | undefined> {
    return this.use((q) => q.findVersion(name, version));
  }

  async resolveAlias(name: string, alias: string): Promise<ModelVersion | undefined> {
    return this.use(async (q) => {
      const version = await q.aliasTarget(name, alias);
      return version === null ? undefined : q.findVersion(name, version);
    });
  }

  async moveAlias(move: AliasMove): Promise<RegistryEvent> {
    checkAliasName(move.alias);
    return this.registryWrite((q, op) => writes.moveAlias(q, op, move));
  }

  async deleteAlias(
    target: { name: string; alias: string; expected: number },
    change: Change,
  ): Promise<RegistryEvent> {
    return this.registryWrite((q, op) => writes.deleteAlias(q, op, target, change));
  }

  async setTag(
    target: { name: string; version: number | null; key: string; value: string | null },
    change: Change,
  ): Promise<RegistryEvent> {
    checkTagKey(target.key);
    return this.registryWrite((q, op) => writes.setTag(q, op, target, change));
  }

  async setDescription(
    target: { name: string; version: number | null; description: string },
    change: Change,
  ): Promise<RegistryEvent> {
    return this.registryWrite((q, op) => writes.setDescription(q, op, target, change));
  }

  async deleteVersion(target: { name: string; version: number }, change: Change): Promise<RegistryEvent> {
    return this.registryWrite((q, op) => writes.deleteVersion(q, op, target, change));
  }

  async listEvents(
    filter: { model?: string; afterId?: number; limit?: number } = {},
  ): Promise<RegistryEvent[]> {
    const rows = await this.use((q) => {
      let query = q.db
        .selectFrom('registry_events')
        .selectAll()
        .where('id', '>', filter.afterId ?? 0);
      if (filter.model !== undefined) query = query.where('model', '=', filter.model);
      return query
        .orderBy('id')
        .limit(filter.limit ?? 1000)
        .execute();
    });
    return rows.map(toEvent);
  }

  // ----- event delivery -----

  async deliveryCursor(target: string): Promise<number> {
    const row = await this.use((q) =>
      q.db.selectFrom('delivery_cursors').select('event_id').where('target', '=', target).executeTakeFirst(),
    );
    return row?.event_id ?? 0;
  }

  async advanceDeliveryCursor(target: string, from: number, to: number): Promise<boolean> {
    const op = randomUUID();
    let retry = false;
    return this.use(async (q) => {
      // A retry after a lost reply: if this advance already committed, it won.
      if (retry) {
        const mine = await q.db
          .selectFrom('delivery_cursors')
          .select('target')
          .where('target', '=', target)
          .where('op_id', '=', op)
          .executeTakeFirst();
        if (mine) return true;
      }
      retry = true;
      // One statement each: the WHERE is checked on the locked row, so two dispatchers advancing from
      // the same position cannot both succeed.
      const result =
        from === 0
          ? await q.db
              .insertInto('delivery_cursors')
              .values({ target, event_id: to, op_id: op })
              .onConflict((oc) =>
                oc
                  .column('target')
                  .doUpdateSet((eb) => ({
                    event_id: eb.ref('excluded.event_id'),
                    op_id: eb.ref('excluded.op_id'),
                  }))
                  .where('delivery_cursors.event_id', '=', 0),
              )
              .executeTakeFirst()
              .then((r) => r.numInsertedOrUpdatedRows)
          : await q.db
              .updateTable('delivery_cursors')
              .set({ event_id: to, op_id: op })
              .where('target', '=', target)
              .where('event_id', '=', from)
              .executeTakeFirst()
              .then((r) => r.numUpdatedRows);
      return result === 1n;
    });
  }

  async parkDeadLetter(letter: DeadLetter): Promise<void> {
    await this.use((q) =>
      q.db
        .insertInto('dead_letters')
        .values({
          target: letter.target,
          event_id: letter.eventId,
          attempts: letter.attempts,
          error: letter.error,
          parked_at: letter.parkedAt,
        })
        .onConflict((oc) =>
          oc.columns(['target', 'event_id']).doUpdateSet((eb) => ({
            attempts: eb.ref('excluded.attempts'),
            error: eb.ref('excluded.error'),
            parked_at: eb.ref('excluded.parked_at'),
          })),
        )
        .execute(),
    );
  }

  async listDeadLetters(target?: string): Promise<DeadLetter[]> {
    const rows = await this.use((q) => {
      const query = q.db.selectFrom('dead_letters').selectAll().orderBy('event_id');
      return target === undefined
        ? query.orderBy(q.bytes('target')).execute()
        : query.where('target', '=', target).execute();
    });
    return rows.map(toDeadLetter);
  }

  async removeDeadLetter(target: string, eventId: number): Promise<void> {
    await this.use((q) =>
      q.db.deleteFrom('dead_letters').where('target', '=', target).where('event_id', '=', eventId).execute(),
    );
  }

  async probe(): Promise<string> {
    // One attempt: `kiln doctor` reports an outage at once, not after waiting it out.
    return this.adapter.run(
      async (db) => {
        const found = await this.adapter.describe(db);
        // A real write, rolled back: fails when the store is read-only, locked, or lacks the privilege.
        await sql.raw(this.adapter.dialect.beginWrite).execute(db);
        try {
          await db
            .insertInto('delivery_cursors')
            .values({ target: 'kiln-doctor-probe', event_id: 0 })
            .execute();
        } finally {
          await sql.raw('ROLLBACK').execute(db);
        }
        return `${found}, writable`;
      },
      { retry: false },
    );
  }

  async close(): Promise<void> {
    await this.adapter.close();
  }

  // ----- plumbing -----

  private use<T>(work: (q: Queries) => Promise<T>): Promise<T> {
    return this.adapter.run((db) => work(new Queries(db, this.adapter.dialect)));
  }

  /** `work` in one transaction that holds the write lock from its start. */
  private async transaction<T>(db: Db, work: () => Promise<T>): Promise<T> {
    await sql.raw(this.adapter.dialect.beginWrite).execute(db);
    try {
      const result = await work();
      await sql.raw('COMMIT').execute(db);
      return result;
    } catch (error) {
      // On a dead connection the server has already rolled back; the original error is what matters.
      await sql
        .raw('ROLLBACK')
        .execute(db)
        .catch(() => {});
      throw error;
    }
  }

  /**
   * A registry change and its event in one transaction, with registry writers taking turns (SQLite:
   * the write lock BEGIN IMMEDIATE takes; PostgreSQL: LOCK TABLE, see postgres.ts). That makes the
   * alias compare-and-set and version numbering atomic across processes, and event ids commit in
   * increasing order, so a delivery cursor never skips an event whose transaction committed late.
   * A retry first looks for the event its own earlier attempt may have committed (`op`) and then
   * returns `replay(event)` instead of applying the change twice.
   */
  private registryWrite<T>(
    work: (q: Queries, op: string) => Promise<T>,
    replay: (event: RegistryEvent) => T = (event) => event as T,
  ): Promise<T> {
    const op = randomUUID();
    let retry = false;
    return this.use((q) =>
      this.transaction(q.db, async () => {
        await this.adapter.lockRegistry(q.db);
        if (retry) {
          const done = await q.eventOf(op);
          if (done) return replay(done);
        }
        retry = true;
        return work(q, op);
      }),
    );
  }
}
