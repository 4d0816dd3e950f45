/**
 * Table rows → records, shared by the SQL stores. SQLite hands JSON columns back as text and
 * PostgreSQL (jsonb) as values; every JSON column holds an object or an array, so a string is text
 * to parse.
 */
import type { ModelVersion, RegistryAction, RegistryEvent, RunRecord } from './store.js';

function json<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

/** NaN (an undefined fold score) is stored as NULL in both stores. */
export function nullable(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

export interface RunRow {
  id: string;
  project: string;
  kind: string;
  status: string;
  seed: number;
  started_at: string;
  finished_at: string | null;
  config: unknown;
  code_version: string;
  dependencies: unknown;
  params: unknown;
  metrics: unknown;
  durations: unknown;
  data: unknown;
  package_uri: string | null;
  warnings: unknown;
  error: string | null;
}

export function toRun(row: RunRow): RunRecord {
  return {
    id: row.id,
    project: row.project,
    kind: row.kind as RunRecord['kind'],
    status: row.status as RunRecord['status'],
    seed: row.seed,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
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

export interface VersionRow {
  name: string;
  version: number;
  created_at: string;
  created_by: string;
  run_id: string | null;
  package_uri: string;
  package_digest: string;
  metrics: unknown;
  lineage: unknown;
  description: string;
  tags: unknown;
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

/** The tags column of a version or model row. */
export function tagsOf(row: { tags: unknown }): Record<string, string> {
  return json(row.tags);
}

export interface EventRow {
  id: number;
  type: string;
  at: string;
  actor: string;
  reason: string | null;
  model: string;
  version: number | null;
  alias: string | null;
  details: unknown;
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

export interface DeadLetterRow {
  target: string;
  event_id: number;
  attempts: number;
  error: string;
  parked_at: string;
}

/** Alias rows (ordered by alias) grouped by the version they point at. */
export function aliasesByVersion(rows: readonly { alias: string; version: number }[]): Map<number, string[]> {
  const byVersion = new Map<number, string[]>();
  for (const { alias, version } of rows) byVersion.set(version, [...(byVersion.get(version) ?? []), alias]);
  return byVersion;
}
