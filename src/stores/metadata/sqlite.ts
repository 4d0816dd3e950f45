import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { checkAliasName, checkModelName, checkTagKey } from './names.js';
import {
  aliasesByVersion,
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

/** Ordered, append-only: a store at version N applies migrations N+1.. inside one transaction. */
const MIGRATIONS: string[] = [
  `CREATE TABLE runs (
     id TEXT PRIMARY KEY,
     project TEXT NOT NULL,
     kind TEXT NOT NULL,
     status TEXT NOT NULL,
     seed INTEGER NOT NULL,
     started_at TEXT NOT NULL,
     finished_at TEXT,
     config TEXT NOT NULL,
     code_version TEXT NOT NULL,
     dependencies TEXT NOT NULL,
     params TEXT NOT NULL DEFAULT '{}',
     metrics TEXT NOT NULL DEFAULT '{}',
     durations TEXT NOT NULL DEFAULT '{}',
     data TEXT NOT NULL DEFAULT '[]',
     package_uri TEXT,
     warnings TEXT NOT NULL DEFAULT '[]',
     error TEXT
   );
   CREATE INDEX runs_project_started ON runs(project, started_at);
   CREATE TABLE trials (
     run_id TEXT NOT NULL REFERENCES runs(id),
     idx INTEGER NOT NULL,
     params TEXT NOT NULL,
     fold_scores TEXT NOT NULL,
     mean REAL,
     std REAL,
     seconds REAL NOT NULL,
     PRIMARY KEY (run_id, idx)
   );`,
  `CREATE TABLE registered_models (
     name TEXT PRIMARY KEY,
     description TEXT NOT NULL DEFAULT '',
     tags TEXT NOT NULL DEFAULT '{}',
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     -- Version numbers are never reused, even after a delete.
     next_version INTEGER NOT NULL DEFAULT 1
   );
   CREATE TABLE model_versions (
     name TEXT NOT NULL REFERENCES registered_models(name),
     version INTEGER NOT NULL,
     created_at TEXT NOT NULL,
     created_by TEXT NOT NULL,
     run_id TEXT,
     package_uri TEXT NOT NULL,
     package_digest TEXT NOT NULL,
     metrics TEXT NOT NULL,
     lineage TEXT NOT NULL,
     description TEXT NOT NULL DEFAULT '',
     tags TEXT NOT NULL DEFAULT '{}',
     PRIMARY KEY (name, version),
     UNIQUE (name, package_digest)
   );
   CREATE TABLE model_aliases (
     name TEXT NOT NULL,
     alias TEXT NOT NULL,
     version INTEGER NOT NULL,
     updated_at TEXT NOT NULL,
     PRIMARY KEY (name, alias),
     FOREIGN KEY (name, version) REFERENCES model_versions(name, version)
   );
   CREATE TABLE registry_events (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     type TEXT NOT NULL,
     at TEXT NOT NULL,
     actor TEXT NOT NULL,
     reason TEXT,
     model TEXT NOT NULL,
     version INTEGER,
     alias TEXT,
     details TEXT NOT NULL
   );
   CREATE INDEX registry_events_model ON registry_events(model, id);
   CREATE TABLE delivery_cursors (
     target TEXT PRIMARY KEY,
     event_id INTEGER NOT NULL
   );
   CREATE TABLE dead_letters (
     target TEXT NOT NULL,
     event_id INTEGER NOT NULL,
     attempts INTEGER NOT NULL,
     error TEXT NOT NULL,
     parked_at TEXT NOT NULL,
     PRIMARY KEY (target, event_id)
   );`,
];

export class SqliteMetadataStore implements MetadataStore {
  private readonly db: Database.Database;

  constructor(
    readonly uri: string,
    file: string,
  ) {
    if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    this.migrate();
  }

  private migrate(): void {
    // IMMEDIATE takes the write lock first, so two processes starting together cannot both migrate.
    this.db
      .transaction(() => {
        const current = this.db.pragma('user_version', { simple: true }) as number;
        if (current > MIGRATIONS.length) throw new NewerSchemaError(this.uri, current, MIGRATIONS.length);
        for (let version = current; version < MIGRATIONS.length; version++) this.db.exec(MIGRATIONS[version]);
        if (current < MIGRATIONS.length) this.db.pragma(`user_version = ${MIGRATIONS.length}`);
      })
      .immediate();
  }

  async createRun(run: NewRun): Promise<RunRecord> {
    const id = randomUUID();
    this.db
      .prepare(
        `INSERT INTO runs (id, project, kind, status, seed, started_at, config, code_version, dependencies)
         VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?)`,
      )
      .run(
        id,
        run.project,
        run.kind,
        run.seed,
        new Date().toISOString(),
        JSON.stringify(run.config),
        run.codeVersion,
        JSON.stringify(run.dependencies),
      );
    return (await this.getRun(id))!;
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
      sets.push(`${columns[key]} = ?`);
      values.push(typeof value === 'object' && value !== null ? JSON.stringify(value) : value);
    }
    if (sets.length) {
      const info = this.db.prepare(`UPDATE runs SET ${sets.join(', ')} WHERE id = ?`).run(...values, id);
      if (info.changes === 0) throw new Error(`no run ${id}`);
    }
    const run = await this.getRun(id);
    if (!run) throw new Error(`no run ${id}`);
    return run;
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
    if (row) return toRun(row);
    // Short ids as shown by `kiln runs list`.
    const rows = this.db
      .prepare('SELECT * FROM runs WHERE substr(id, 1, ?) = ? LIMIT 2')
      .all(id.length, id) as RunRow[];
    return rows.length === 1 ? toRun(rows[0]) : undefined;
  }

  async listRuns(filter: { project?: string; limit?: number } = {}): Promise<RunRecord[]> {
    const limit = filter.limit ?? 50;
    const rows = (
      filter.project
        ? this.db
            .prepare('SELECT * FROM runs WHERE project = ? ORDER BY started_at DESC, rowid DESC LIMIT ?')
            .all(filter.project, limit)
        : this.db.prepare('SELECT * FROM runs ORDER BY started_at DESC, rowid DESC LIMIT ?').all(limit)
    ) as RunRow[];
    return rows.map(toRun);
  }

  async recordTrial(trial: TrialRecord): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO trials (run_id, idx, params, fold_scores, mean, std, seconds) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (run_id, idx) DO UPDATE SET params = excluded.params, fold_scores = excluded.fold_scores,
           mean = excluded.mean, std = excluded.std, seconds = excluded.seconds`,
      )
      .run(
        trial.runId,
        trial.index,
        JSON.stringify(trial.params),
        JSON.stringify(trial.foldScores),
        nullable(trial.mean),
        nullable(trial.std),
        trial.seconds,
      );
  }

  async listTrials(runId: string): Promise<TrialRecord[]> {
    const rows = this.db.prepare('SELECT * FROM trials WHERE run_id = ? ORDER BY idx').all(runId) as {
      run_id: string;
      idx: number;
      params: string;
      fold_scores: string;
      mean: number | null;
      std: number | null;
      seconds: number;
    }[];
    return rows.map((r) => ({
      runId: r.run_id,
      index: r.idx,
      params: JSON.parse(r.params),
      foldScores: JSON.parse(r.fold_scores),
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
    const created = this.db
      .transaction(() => {
        const existing = this.db
          .prepare('SELECT version FROM model_versions WHERE name = ? AND package_digest = ?')
          .get(input.name, input.packageDigest) as { version: number } | undefined;
        if (existing) return { version: existing.version, created: false };
        const now = new Date().toISOString();
        const model = this.db
          .prepare('SELECT next_version FROM registered_models WHERE name = ?')
          .get(input.name) as { next_version: number } | undefined;
        if (!model) {
          this.db
            .prepare('INSERT INTO registered_models (name, created_at, updated_at) VALUES (?, ?, ?)')
            .run(input.name, now, now);
          this.appendEvent({ type: 'model.created', model: input.name }, change, {});
        }
        const version = model?.next_version ?? 1;
        this.db
          .prepare(
            `INSERT INTO model_versions (name, version, created_at, created_by, run_id, package_uri, package_digest,
               metrics, lineage, description, tags) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
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
          );
        this.db
          .prepare('UPDATE registered_models SET next_version = ?, updated_at = ? WHERE name = ?')
          .run(version + 1, now, input.name);
        this.appendEvent({ type: 'version.created', model: input.name, version }, change, {
          packageUri: input.packageUri,
          packageDigest: input.packageDigest,
          runId: input.runId,
        });
        return { version, created: true };
      })
      .immediate();
    return { version: (await this.getVersion(input.name, created.version))!, created: created.created };
  }

  async getModel(name: string): Promise<RegisteredModel | undefined> {
    const row = this.db.prepare('SELECT * FROM registered_models WHERE name = ?').get(name) as
      | ModelRow
      | undefined;
    return row ? this.toModel(row) : undefined;
  }

  async listModels(): Promise<RegisteredModel[]> {
    const rows = this.db.prepare('SELECT * FROM registered_models ORDER BY name').all() as ModelRow[];
    return rows.map((row) => this.toModel(row));
  }

  async listVersions(name: string): Promise<ModelVersion[]> {
    const rows = this.db
      .prepare('SELECT * FROM model_versions WHERE name = ? ORDER BY version DESC')
      .all(name) as VersionRow[];
    const aliases = this.aliasesOf(name);
    return rows.map((row) => toVersion(row, aliases));
  }

  async getVersion(name: string, version: number): Promise<ModelVersion | undefined> {
    const row = this.db
      .prepare('SELECT * FROM model_versions WHERE name = ? AND version = ?')
      .get(name, version) as VersionRow | undefined;
    return row ? toVersion(row, this.aliasesOf(name)) : undefined;
  }

  async resolveAlias(name: string, alias: string): Promise<ModelVersion | undefined> {
    const row = this.db
      .prepare('SELECT version FROM model_aliases WHERE name = ? AND alias = ?')
      .get(name, alias) as { version: number } | undefined;
    return row ? this.getVersion(name, row.version) : undefined;
  }

  async moveAlias(move: AliasMove): Promise<RegistryEvent> {
    checkAliasName(move.alias);
    return this.db
      .transaction(() => {
        this.requireVersion(move.name, move.version);
        const current = this.aliasTarget(move.name, move.alias);
        if (current !== move.expected)
          throw new AliasConflictError(move.name, move.alias, move.expected, current);
        const now = new Date().toISOString();
        this.db
          .prepare(
            `INSERT INTO model_aliases (name, alias, version, updated_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at`,
          )
          .run(move.name, move.alias, move.version, now);
        this.touch(move.name, now);
        return this.appendEvent(
          { type: 'alias.moved', model: move.name, version: move.version, alias: move.alias },
          move,
          { from: current },
        );
      })
      .immediate();
  }

  async deleteAlias(
    target: { name: string; alias: string; expected: number },
    change: Change,
  ): Promise<RegistryEvent> {
    return this.db
      .transaction(() => {
        const current = this.aliasTarget(target.name, target.alias);
        if (current === null) throw new NotFoundError(`model ${target.name} has no alias "${target.alias}"`);
        if (current !== target.expected)
          throw new AliasConflictError(target.name, target.alias, target.expected, current);
        this.db
          .prepare('DELETE FROM model_aliases WHERE name = ? AND alias = ?')
          .run(target.name, target.alias);
        this.touch(target.name, new Date().toISOString());
        return this.appendEvent(
          { type: 'alias.deleted', model: target.name, version: current, alias: target.alias },
          change,
          {},
        );
      })
      .immediate();
  }

  async setTag(
    target: { name: string; version: number | null; key: string; value: string | null },
    change: Change,
  ): Promise<RegistryEvent> {
    checkTagKey(target.key);
    return this.db
      .transaction(() => {
        const tags = this.readTags(target.name, target.version);
        if (target.value === null) delete tags[target.key];
        else tags[target.key] = target.value;
        this.writeField(target.name, target.version, 'tags', JSON.stringify(tags));
        return this.appendEvent(
          {
            type: target.version === null ? 'model.tagged' : 'version.tagged',
            model: target.name,
            version: target.version,
          },
          change,
          { key: target.key, value: target.value },
        );
      })
      .immediate();
  }

  async setDescription(
    target: { name: string; version: number | null; description: string },
    change: Change,
  ): Promise<RegistryEvent> {
    return this.db
      .transaction(() => {
        this.readTags(target.name, target.version); // existence check
        this.writeField(target.name, target.version, 'description', target.description);
        return this.appendEvent(
          {
            type: target.version === null ? 'model.described' : 'version.described',
            model: target.name,
            version: target.version,
          },
          change,
          { description: target.description },
        );
      })
      .immediate();
  }

  async deleteVersion(target: { name: string; version: number }, change: Change): Promise<RegistryEvent> {
    return this.db
      .transaction(() => {
        const row = this.requireVersion(target.name, target.version);
        const aliases = this.aliasesOf(target.name).get(target.version) ?? [];
        if (aliases.length)
          throw new RegistryError(
            `version ${target.version} of ${target.name} is still the target of ${aliases.map((a) => `@${a}`).join(', ')}; move or delete the alias first`,
          );
        this.db
          .prepare('DELETE FROM model_versions WHERE name = ? AND version = ?')
          .run(target.name, target.version);
        this.touch(target.name, new Date().toISOString());
        return this.appendEvent(
          { type: 'version.deleted', model: target.name, version: target.version },
          change,
          {
            packageUri: row.package_uri,
            packageDigest: row.package_digest,
          },
        );
      })
      .immediate();
  }

  async listEvents(
    filter: { model?: string; afterId?: number; limit?: number } = {},
  ): Promise<RegistryEvent[]> {
    const where = ['id > ?'];
    const values: unknown[] = [filter.afterId ?? 0];
    if (filter.model !== undefined) {
      where.push('model = ?');
      values.push(filter.model);
    }
    const rows = this.db
      .prepare(`SELECT * FROM registry_events WHERE ${where.join(' AND ')} ORDER BY id LIMIT ?`)
      .all(...values, filter.limit ?? 1000) as EventRow[];
    return rows.map(toEvent);
  }

  // ----- event delivery -----

  async deliveryCursor(target: string): Promise<number> {
    const row = this.db.prepare('SELECT event_id FROM delivery_cursors WHERE target = ?').get(target) as
      | { event_id: number }
      | undefined;
    return row?.event_id ?? 0;
  }

  async advanceDeliveryCursor(target: string, from: number, to: number): Promise<boolean> {
    return this.db
      .transaction(() => {
        const info =
          from === 0
            ? this.db
                .prepare(
                  `INSERT INTO delivery_cursors (target, event_id) VALUES (?, ?)
                   ON CONFLICT (target) DO UPDATE SET event_id = excluded.event_id WHERE delivery_cursors.event_id = 0`,
                )
                .run(target, to)
            : this.db
                .prepare('UPDATE delivery_cursors SET event_id = ? WHERE target = ? AND event_id = ?')
                .run(to, target, from);
        return info.changes === 1;
      })
      .immediate();
  }

  async parkDeadLetter(letter: DeadLetter): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO dead_letters (target, event_id, attempts, error, parked_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (target, event_id) DO UPDATE SET attempts = excluded.attempts, error = excluded.error,
           parked_at = excluded.parked_at`,
      )
      .run(letter.target, letter.eventId, letter.attempts, letter.error, letter.parkedAt);
  }

  async listDeadLetters(target?: string): Promise<DeadLetter[]> {
    const rows = (
      target === undefined
        ? this.db.prepare('SELECT * FROM dead_letters ORDER BY event_id, target').all()
        : this.db.prepare('SELECT * FROM dead_letters WHERE target = ? ORDER BY event_id').all(target)
    ) as { target: string; event_id: number; attempts: number; error: string; parked_at: string }[];
    return rows.map((r) => ({
      target: r.target,
      eventId: r.event_id,
      attempts: r.attempts,
      error: r.error,
      parkedAt: r.parked_at,
    }));
  }

  async removeDeadLetter(target: string, eventId: number): Promise<void> {
    this.db.prepare('DELETE FROM dead_letters WHERE target = ? AND event_id = ?').run(target, eventId);
  }

  private appendEvent(
    subject: { type: RegistryAction; model: string; version?: number | null; alias?: string | null },
    change: Change,
    details: Record<string, unknown>,
  ): RegistryEvent {
    const row = this.db
      .prepare(
        `INSERT INTO registry_events (type, at, actor, reason, model, version, alias, details)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
      )
      .get(
        subject.type,
        new Date().toISOString(),
        change.actor,
        change.reason ?? null,
        subject.model,
        subject.version ?? null,
        subject.alias ?? null,
        JSON.stringify(details),
      ) as EventRow;
    return toEvent(row);
  }

  private requireVersion(name: string, version: number): VersionRow {
    const row = this.db
      .prepare('SELECT * FROM model_versions WHERE name = ? AND version = ?')
      .get(name, version) as VersionRow | undefined;
    if (!row) throw new NotFoundError(`model ${name} has no version ${version}`);
    return row;
  }

  private aliasTarget(name: string, alias: string): number | null {
    const row = this.db
      .prepare('SELECT version FROM model_aliases WHERE name = ? AND alias = ?')
      .get(name, alias) as { version: number } | undefined;
    return row?.version ?? null;
  }

  private aliasesOf(name: string): Map<number, string[]> {
    const rows = this.db
      .prepare('SELECT alias, version FROM model_aliases WHERE name = ? ORDER BY alias')
      .all(name) as { alias: string; version: number }[];
    return aliasesByVersion(rows);
  }

  /** The tags of a model (version null) or a version; NotFoundError when it does not exist. */
  private readTags(name: string, version: number | null): Record<string, string> {
    if (version !== null) return tagsOf(this.requireVersion(name, version));
    const row = this.db.prepare('SELECT tags FROM registered_models WHERE name = ?').get(name) as
      | { tags: string }
      | undefined;
    if (!row) throw new NotFoundError(`no registered model "${name}"`);
    return tagsOf(row);
  }

  private writeField(name: string, version: number | null, column: 'tags' | 'description', value: string) {
    const now = new Date().toISOString();
    if (version === null)
      this.db
        .prepare(`UPDATE registered_models SET ${column} = ?, updated_at = ? WHERE name = ?`)
        .run(value, now, name);
    else {
      this.db
        .prepare(`UPDATE model_versions SET ${column} = ? WHERE name = ? AND version = ?`)
        .run(value, name, version);
      this.touch(name, now);
    }
  }

  private touch(name: string, now: string): void {
    this.db.prepare('UPDATE registered_models SET updated_at = ? WHERE name = ?').run(now, name);
  }

  private toModel(row: ModelRow): RegisteredModel {
    const latest = this.db
      .prepare('SELECT MAX(version) AS v FROM model_versions WHERE name = ?')
      .get(row.name) as {
      v: number | null;
    };
    const aliases = this.db
      .prepare('SELECT alias, version FROM model_aliases WHERE name = ? ORDER BY alias')
      .all(row.name) as { alias: string; version: number }[];
    return {
      name: row.name,
      description: row.description,
      tags: tagsOf(row),
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      latestVersion: latest.v,
      aliases: Object.fromEntries(aliases.map((a) => [a.alias, a.version])),
    };
  }

  async probe(): Promise<string> {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    // A real write, rolled back: fails when the file or its folder is read-only or locked.
    const write = this.db.transaction(() => {
      this.db
        .prepare("INSERT INTO delivery_cursors (target, event_id) VALUES ('kiln-doctor-probe', 0)")
        .run();
      throw new ProbeRollback();
    });
    try {
      write.immediate();
    } catch (error) {
      if (!(error instanceof ProbeRollback)) throw error;
    }
    return `SQLite ${this.db.prepare('SELECT sqlite_version() AS v').pluck().get()}, schema version ${version} of ${MIGRATIONS.length}, writable`;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

class ProbeRollback extends Error {}

interface ModelRow {
  name: string;
  description: string;
  tags: string;
  created_at: string;
  updated_at: string;
}
