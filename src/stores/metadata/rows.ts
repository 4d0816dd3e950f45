/**
 * The tables (as Kysely sees them) and table rows → records. SQLite hands JSON columns back as text and
 * PostgreSQL (`json`) as values; every JSON column holds an object or an array, so a string is text to
 * parse. JSON is always written as text.
 */
import type { ColumnType, Generated, Selectable } from 'kysely';
import { runStatusAt } from './liveness.js';
import type {
  DeadLetter,
  ModelVersion,
  RegisteredModel,
  RegistryAction,
  RegistryEvent,
  RunRecord,
  TrialRecord,
} from './store.js';

/** A JSON column: read as text or a value, written as text. */
type Json = ColumnType<unknown, string, string>;
/** A JSON column with a default. */
type JsonOr = ColumnType<unknown, string | undefined, string>;
type TextOr = ColumnType<string, string | undefined, string>;

export interface RunsTable {
  id: string;
  project: string;
  kind: string;
  status: string;
  seed: number;
  started_at: string;
  finished_at: string | null;
  config: Json;
  code_version: string;
  dependencies: Json;
  params: JsonOr;
  metrics: JsonOr;
  durations: JsonOr;
  data: JsonOr;
  package_uri: string | null;
  warnings: JsonOr;
  error: string | null;
  heartbeat_at: string | null;
  heartbeat_seconds: number | null;
}

export interface TrialsTable {
  run_id: string;
  idx: number;
  params: Json;
  fold_scores: Json;
  mean: number | null;
  std: number | null;
  seconds: number;
}

export interface ModelsTable {
  name: string;
  description: TextOr;
  tags: JsonOr;
  created_at: string;
  updated_at: string;
  next_version: ColumnType<number, number | undefined, number>;
}

export interface VersionsTable {
  name: string;
  version: number;
  created_at: string;
  created_by: string;
  run_id: string | null;
  package_uri: string;
  package_digest: string;
  metrics: Json;
  lineage: Json;
  description: TextOr;
  tags: JsonOr;
}

export interface AliasesTable {
  name: string;
  alias: string;
  version: number;
  updated_at: string;
}

export interface EventsTable
  extends Pick<RegistryEvent, 'at' | 'actor' | 'reason' | 'model' | 'version' | 'alias'> {
  id: Generated<number>;
  type: string;
  details: Json;
  /** The client-chosen id of the write that appended the event: a retried write finds its own event. */
  op_id: string | null;
}

export interface CursorsTable {
  target: string;
  event_id: number;
  op_id: string | null;
}

export interface DeadLettersTable {
  target: string;
  event_id: number;
  attempts: number;
  error: string;
  parked_at: string;
}

export interface Tables {
  runs: RunsTable;
  trials: TrialsTable;
  registered_models: ModelsTable;
  model_versions: VersionsTable;
  model_aliases: AliasesTable;
  registry_events: EventsTable;
  delivery_cursors: CursorsTable;
  dead_letters: DeadLettersTable;
}

export type RunRow = Selectable<RunsTable>;
export type VersionRow = Selectable<VersionsTable>;
export type ModelRow = Selectable<ModelsTable>;
export type EventRow = Selectable<EventsTable>;

function json<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

/** NaN (an undefined fold score) is stored as NULL in both stores. */
export function nullable(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

/** A run as recorded, with `running` read as `abandoned` once its heartbeat is stale (see liveness.ts). */
export function toRun(row: RunRow, now = Date.now()): RunRecord {
  return {
    id: row.id,
    project: row.project,
    kind: row.kind as RunRecord['kind'],
    status: runStatusAt(row, now),
    seed: row.seed,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    heartbeatAt: row.heartbeat_at,
    config: json(row.config),
    codeVersion: row.code_version,
    dependencies: json(row.dependencies),
    params: json(row.params),
    metrics: json(row.metrics),
    durations: json(row.durations),
    data: json(row.data),
    packageUri: row.package_uri,
    warnings: json(row.warnings),
    error: row.error,
  };
}

export function toTrial(row: Selectable<TrialsTable>): TrialRecord {
  return {
    runId: row.run_id,
    index: row.idx,
    params: json(row.params),
    foldScores: json(row.fold_scores),
    mean: row.mean ?? Number.NaN,
    std: row.std ?? Number.NaN,
    seconds: row.seconds,
  };
}

export function toVersion(row: VersionRow, aliases: Map<number, string[]>): ModelVersion {
  return {
    name: row.name,
    version: row.version,
    createdAt: row.created_at,
    createdBy: row.created_by,
    runId: row.run_id,
    packageUri: row.package_uri,
    packageDigest: row.package_digest,
    metrics: json(row.metrics),
    lineage: json(row.lineage),
    description: row.description,
    tags: json(row.tags),
    aliases: aliases.get(row.version) ?? [],
  };
}

export function toModel(
  row: ModelRow,
  latestVersion: number | null,
  aliases: readonly { alias: string; version: number }[],
): RegisteredModel {
  return {
    name: row.name,
    description: row.description,
    tags: tagsOf(row),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    latestVersion,
    aliases: Object.fromEntries(aliases.map((a) => [a.alias, a.version])),
  };
}

/** The tags column of a version or model row. */
export function tagsOf(row: { tags: unknown }): Record<string, string> {
  return json(row.tags);
}

export function toEvent(row: EventRow): RegistryEvent {
  return {
    id: row.id,
    type: row.type as RegistryAction,
    at: row.at,
    actor: row.actor,
    reason: row.reason,
    model: row.model,
    version: row.version,
    alias: row.alias,
    details: json(row.details),
  };
}

export function toDeadLetter(row: Selectable<DeadLettersTable>): DeadLetter {
  return {
    target: row.target,
    eventId: row.event_id,
    attempts: row.attempts,
    error: row.error,
    parkedAt: row.parked_at,
  };
}

/** Alias rows (ordered by alias) grouped by the version they point at. */
export function aliasesByVersion(rows: readonly { alias: string; version: number }[]): Map<number, string[]> {
  const byVersion = new Map<number, string[]>();
  for (const { alias, version } of rows) byVersion.set(version, [...(byVersion.get(version) ?? []), alias]);
  return byVersion;
}
