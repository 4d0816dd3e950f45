/**
 * The reads and writes the SQL store composes its operations from, on one connection (and so inside
 * whatever transaction that connection is in). Every one is plain Kysely and runs unchanged on SQLite
 * and PostgreSQL; the two things that differ are passed in: the collation that orders text byte by byte
 * and the column that orders runs by insertion.
 */
import { type Expression, type Kysely, type RawBuilder, sql } from 'kysely';
import type { SqlDialect } from './dialects.js';
import {
  aliasesByVersion,
  type EventRow,
  type Tables,
  tagsOf,
  toEvent,
  toModel,
  toRun,
  toVersion,
  type VersionRow,
} from './rows.js';
import {
  type Change,
  type ModelVersion,
  NotFoundError,
  type RegisteredModel,
  type RegistryAction,
  type RegistryEvent,
  type RunRecord,
} from './store.js';

export type Db = Kysely<Tables>;

export class Queries {
  constructor(
    readonly db: Db,
    private readonly dialect: Pick<SqlDialect, 'collation' | 'runOrder'>,
  ) {}

  /** `column` in byte order. */
  bytes(column: string): RawBuilder<string> {
    return sql<string>`${sql.ref(column)} COLLATE ${sql.raw(this.dialect.collation)}`;
  }

  get runOrder(): Expression<unknown> {
    return sql.raw(this.dialect.runOrder);
  }

  async findRun(id: string): Promise<RunRecord | undefined> {
    const exact = await this.db.selectFrom('runs').selectAll().where('id', '=', id).executeTakeFirst();
    if (exact) return toRun(exact);
    // Short ids as shown by `kiln runs list`: an exact prefix, never a LIKE pattern.
    const rows = await this.db
      .selectFrom('runs')
      .selectAll()
      .where(sql<string>`substr(id, 1, ${id.length})`, '=', id)
      .limit(2)
      .execute();
    return rows.length === 1 ? toRun(rows[0]) : undefined;
  }

  async findVersion(name: string, version: number): Promise<ModelVersion | undefined> {
    const row = await this.versionRow(name, version);
    return row ? toVersion(row, await this.aliasesOf(name)) : undefined;
  }

  async requireVersion(name: string, version: number): Promise<VersionRow> {
    const row = await this.versionRow(name, version);
    if (!row) throw new NotFoundError(`model ${name} has no version ${version}`);
    return row;
  }

  private versionRow(name: string, version: number): Promise<VersionRow | undefined> {
    return this.db
      .selectFrom('model_versions')
      .selectAll()
      .where('name', '=', name)
      .where('version', '=', version)
      .executeTakeFirst();
  }

  async aliasTarget(name: string, alias: string): Promise<number | null> {
    const row = await this.db
      .selectFrom('model_aliases')
      .select('version')
      .where('name', '=', name)
      .where('alias', '=', alias)
      .executeTakeFirst();
    return row?.version ?? null;
  }

  async aliasesOf(name: string): Promise<Map<number, string[]>> {
    const rows = await this.db
      .selectFrom('model_aliases')
      .select(['alias', 'version'])
      .where('name', '=', name)
      .orderBy(this.bytes('alias'))
      .execute();
    return aliasesByVersion(rows);
  }

  /** Registered models (all, or the one named), by name, with their latest version and aliases. */
  async models(name?: string): Promise<RegisteredModel[]> {
    let models = this.db.selectFrom('registered_models').selectAll().orderBy(this.bytes('name'));
    let latest = this.db
      .selectFrom('model_versions')
      .select((eb) => ['name', eb.fn.max('version').as('latest')])
      .groupBy('name');
    let aliases = this.db
      .selectFrom('model_aliases')
      .select(['name', 'alias', 'version'])
      .orderBy(this.bytes('alias'));
    if (name !== undefined) {
      models = models.where('name', '=', name);
      latest = latest.where('name', '=', name);
      aliases = aliases.where('name', '=', name);
    }
    const rows = await models.execute();
    if (!rows.length) return [];
    const latestOf = new Map((await latest.execute()).map((r) => [r.name, Number(r.latest)]));
    const aliasRows = await aliases.execute();
    return rows.map((row) =>
      toModel(
        row,
        latestOf.get(row.name) ?? null,
        aliasRows.filter((a) => a.name === row.name),
      ),
    );
  }

  /** The tags of a model (version null) or a version; NotFoundError when it does not exist. */
  async readTags(name: string, version: number | null): Promise<Record<string, string>> {
    if (version !== null) return tagsOf(await this.requireVersion(name, version));
    const row = await this.db
      .selectFrom('registered_models')
      .select('tags')
      .where('name', '=', name)
      .executeTakeFirst();
    if (!row) throw new NotFoundError(`no registered model "${name}"`);
    return tagsOf(row);
  }

  async writeField(
    name: string,
    version: number | null,
    column: 'tags' | 'description',
    value: string,
  ): Promise<void> {
    const now = new Date().toISOString();
    if (version === null) {
      await this.db
        .updateTable('registered_models')
        .set({ [column]: value, updated_at: now })
        .where('name', '=', name)
        .execute();
      return;
    }
    await this.db
      .updateTable('model_versions')
      .set({ [column]: value })
      .where('name', '=', name)
      .where('version', '=', version)
      .execute();
    await this.touch(name, now);
  }

  async touch(name: string, now: string): Promise<void> {
    await this.db
      .updateTable('registered_models')
      .set({ updated_at: now })
      .where('name', '=', name)
      .execute();
  }

  async appendEvent(
    subject: { type: RegistryAction; model: string; version?: number | null; alias?: string | null },
    change: Change,
    details: Record<string, unknown>,
    op: string | null = null,
  ): Promise<RegistryEvent> {
    const row = await this.db
      .insertInto('registry_events')
      .values({
        type: subject.type,
        at: new Date().toISOString(),
        actor: change.actor,
        reason: change.reason ?? null,
        model: subject.model,
        version: subject.version ?? null,
        alias: subject.alias ?? null,
        details: JSON.stringify(details),
        op_id: op,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toEvent(row);
  }

  /** The event a write with this operation id appended, if it committed. */
  async eventOf(op: string): Promise<RegistryEvent | undefined> {
    const row: EventRow | undefined = await this.db
      .selectFrom('registry_events')
      .selectAll()
      .where('op_id', '=', op)
      .executeTakeFirst();
    return row && toEvent(row);
  }
}
