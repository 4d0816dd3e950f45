import path from 'node:path';
import { PostgresMetadataStore } from './postgres.js';
import { SqliteMetadataStore } from './sqlite.js';
import type { MetadataStore } from './store.js';

export { type HeartbeatOptions, type RunHeartbeat, startRunHeartbeat } from './heartbeat.js';
export { checkAliasName, checkModelName } from './names.js';
export type {
  AliasMove,
  Change,
  DataFingerprint,
  DeadLetter,
  Lineage,
  MetadataStore,
  ModelVersion,
  NewModelVersion,
  NewRun,
  RegisteredModel,
  RegistryAction,
  RegistryEvent,
  RunRecord,
  RunStatus,
  RunUpdate,
  TrialRecord,
} from './store.js';
export { AliasConflictError, NotFoundError, RegistryError, RunFinishedError } from './store.js';

/**
 * Opens the metadata store a URI names. `KILN_METADATA_URI` overrides the project's setting.
 * sqlite://relative/path resolves against `baseDir`; sqlite:///abs/path is absolute; sqlite://:memory:.
 * postgres://user@host:port/database[?schema=name] takes its password from the environment
 * (see ../postgres/connection.ts). Both are the one SQL store (sql-store.ts).
 */
export function openMetadataStore(uri: string, baseDir: string): MetadataStore {
  const effective = process.env.KILN_METADATA_URI || uri;
  const scheme = effective.slice(0, effective.indexOf('://'));
  switch (scheme) {
    case 'sqlite': {
      const location = effective.slice('sqlite://'.length);
      if (!location) throw new Error(`metadata URI ${effective} names no file`);
      const file = location === ':memory:' ? location : path.resolve(baseDir, location);
      return new SqliteMetadataStore(effective, file);
    }
    case 'postgres':
    case 'postgresql':
      return new PostgresMetadataStore(effective);
    default:
      throw new Error(
        `unsupported metadata store URI "${effective}" (supported: sqlite://path, postgres://user@host:port/database)`,
      );
  }
}
