/**
 * The metadata store: runs and their trials, the model registry, and the registry's event log with its
 * delivery state. One interface, implementations chosen by URI scheme (sqlite:// embedded default,
 * postgres:// for many machines) and held to one contract-test suite.
 */

/**
 * `abandoned` is never written: it is how a `running` run reads once its process has stopped beating
 * (its last heartbeat, or its start when it never beat, is older than 4 heartbeat intervals; see
 * liveness.ts). `failRun` closes such a run by hand.
 */
export type RunStatus = 'running' | 'abandoned' | 'succeeded' | 'failed' | 'gate_failed';

export interface DataFingerprint {
  role: string;
  path: string;
  sha256: string;
  bytes: number;
  rowsRead: number;
  rowsAccepted: number;
  rowsRejected: number;
}

export interface NewRun {
  project: string;
  kind: 'train' | 'evaluate';
  seed: number;
  config: unknown;
  codeVersion: string;
  dependencies: Record<string, string>;
}

export interface RunRecord extends NewRun {
  id: string;
  status: RunStatus;
  startedAt: string;
  finishedAt: string | null;
  /** When the run's process last reported it was alive; null until its first heartbeat. */
  heartbeatAt: string | null;
  params: Record<string, unknown>;
  metrics: Record<string, unknown>;
  durations: Record<string, number>;
  data: DataFingerprint[];
  packageUri: string | null;
  warnings: string[];
  error: string | null;
}

export type RunUpdate = Partial<
  Pick<
    RunRecord,
    | 'status'
    | 'finishedAt'
    | 'params'
    | 'metrics'
    | 'durations'
    | 'data'
    | 'packageUri'
    | 'warnings'
    | 'error'
  >
>;

export interface TrialRecord {
  runId: string;
  index: number;
  params: Record<string, unknown>;
  /** Headline metric per fold. */
  foldScores: number[];
  mean: number;
  std: number;
  seconds: number;
}

export interface MetadataStore extends RegistryStore, EventStore {
  readonly uri: string;
  createRun(run: NewRun): Promise<RunRecord>;
  updateRun(id: string, update: RunUpdate): Promise<RunRecord>;
  getRun(id: string): Promise<RunRecord | undefined>;
  /** Newest first. */
  listRuns(filter?: { project?: string; limit?: number }): Promise<RunRecord[]>;
  /**
   * The run's process is alive: records the time (and the interval it beats at, which the staleness
   * rule then uses). Does nothing once the run has finished.
   */
  heartbeatRun(id: string, intervalSeconds?: number): Promise<void>;
  /**
   * Closes a running or abandoned run by hand: `failed`, with `reason` as its error, finished now.
   * RunFinishedError when it has already finished, NotFoundError when there is no such run.
   */
  failRun(id: string, reason: string): Promise<RunRecord>;
  /** Idempotent on (runId, index): a retried write replaces, never duplicates. */
  recordTrial(trial: TrialRecord): Promise<void>;
  listTrials(runId: string): Promise<TrialRecord[]>;
  /**
   * For `kiln doctor`: connects, reads, and takes a write lock (or writes) inside a transaction that is
   * rolled back; throws with the cause when any of it fails. Returns what it found, e.g. the server version.
   */
  probe(): Promise<string>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------
// Registry

/** Where a version came from: run, data, code and the version it replaced. */
export interface Lineage {
  runId: string | null;
  project: string;
  data: DataFingerprint[];
  codeVersion: string;
  seed: number | null;
  /** The version this one was trained to replace (e.g. the champion at training time). */
  parentVersion: number | null;
  importedFrom?: string;
}

export interface NewModelVersion {
  name: string;
  /** Artifact-store URI of the published package folder. */
  packageUri: string;
  /** Content digest of the package folder; registering the same digest again returns the existing version. */
  packageDigest: string;
  runId: string | null;
  metrics: Record<string, unknown>;
  lineage: Lineage;
  description?: string;
  tags?: Record<string, string>;
}

export interface ModelVersion extends Required<Omit<NewModelVersion, 'description'>> {
  version: number;
  description: string;
  createdAt: string;
  createdBy: string;
  /** Aliases pointing at this version. */
  aliases: string[];
}

export interface RegisteredModel {
  name: string;
  description: string;
  tags: Record<string, string>;
  createdAt: string;
  updatedAt: string;
  latestVersion: number | null;
  aliases: Record<string, number>;
}

/** Who changes the registry and why; recorded with every change. */
export interface Change {
  actor: string;
  reason?: string;
}

export interface AliasMove extends Change {
  name: string;
  alias: string;
  version: number;
  /** The version the alias must point at now (null: the alias must not exist yet). */
  expected: number | null;
}

export type RegistryAction =
  | 'model.created'
  | 'model.deleted'
  | 'model.described'
  | 'model.tagged'
  | 'version.created'
  | 'version.deleted'
  | 'version.described'
  | 'version.tagged'
  | 'alias.moved'
  | 'alias.deleted';

/** One registry change: the audit history and the event stream are the same rows. */
export interface RegistryEvent {
  /** Increasing; delivery cursors and replay refer to it. */
  id: number;
  type: RegistryAction;
  at: string;
  actor: string;
  reason: string | null;
  model: string;
  version: number | null;
  alias: string | null;
  details: Record<string, unknown>;
}

export interface RegistryStore {
  /**
   * Creates the model on first use. Idempotent on (name, packageDigest): registering a digest again
   * returns the existing version with `created: false`. A call retried internally after a lost reply
   * still reports `created: true` (it did create the version).
   */
  createVersion(
    version: NewModelVersion,
    change: Change,
  ): Promise<{ version: ModelVersion; created: boolean }>;
  getModel(name: string): Promise<RegisteredModel | undefined>;
  listModels(): Promise<RegisteredModel[]>;
  /** Newest first. */
  listVersions(name: string): Promise<ModelVersion[]>;
  getVersion(name: string, version: number): Promise<ModelVersion | undefined>;
  resolveAlias(name: string, alias: string): Promise<ModelVersion | undefined>;
  /** Atomic compare-and-set; AliasConflictError when the alias no longer points at `expected`. */
  moveAlias(move: AliasMove): Promise<RegistryEvent>;
  deleteAlias(
    target: { name: string; alias: string; expected: number },
    change: Change,
  ): Promise<RegistryEvent>;
  /** `version` null: the model itself. A null value removes the tag. */
  setTag(
    target: { name: string; version: number | null; key: string; value: string | null },
    change: Change,
  ): Promise<RegistryEvent>;
  setDescription(
    target: { name: string; version: number | null; description: string },
    change: Change,
  ): Promise<RegistryEvent>;
  /** Refused while an alias points at the version. */
  deleteVersion(target: { name: string; version: number }, change: Change): Promise<RegistryEvent>;
  /** Oldest first. */
  listEvents(filter?: { model?: string; afterId?: number; limit?: number }): Promise<RegistryEvent[]>;
}

// ---------------------------------------------------------------------------------------------------
// Event delivery state (per notifier target)

export interface DeadLetter {
  target: string;
  eventId: number;
  attempts: number;
  error: string;
  parkedAt: string;
}

export interface EventStore {
  /** Id of the last event handled (delivered or parked) for a target; 0 when none. */
  deliveryCursor(target: string): Promise<number>;
  /** Compare-and-set, so two dispatchers never both advance the same cursor; false when `from` is stale. */
  advanceDeliveryCursor(target: string, from: number, to: number): Promise<boolean>;
  /** Idempotent on (target, eventId). */
  parkDeadLetter(letter: DeadLetter): Promise<void>;
  listDeadLetters(target?: string): Promise<DeadLetter[]>;
  removeDeadLetter(target: string, eventId: number): Promise<void>;
}

export class RegistryError extends Error {
  override name = 'RegistryError';
}

/** A compare-and-set lost: someone else changed the alias first. */
export class AliasConflictError extends RegistryError {
  override name = 'AliasConflictError';
  constructor(
    readonly model: string,
    readonly alias: string,
    readonly expected: number | null,
    readonly actual: number | null,
  ) {
    super(
      `alias ${model}@${alias} points at ${actual === null ? 'nothing' : `version ${actual}`}, not ` +
        `${expected === null ? 'nothing' : `version ${expected}`} as this move expected; read it again and retry`,
    );
  }
}

export class NotFoundError extends RegistryError {
  override name = 'NotFoundError';
}

/** `failRun` on a run that has already finished. */
export class RunFinishedError extends Error {
  override name = 'RunFinishedError';
  constructor(readonly run: RunRecord) {
    super(
      `run ${run.id} already finished: ${run.status}${run.finishedAt ? ` at ${run.finishedAt}` : ''}; ` +
        'only a running or abandoned run can be failed',
    );
  }
}

/** A store migrated by a newer Kiln: refusing is safer than writing rows its schema does not expect. */
export class NewerSchemaError extends Error {
  override name = 'NewerSchemaError';
  constructor(uri: string, found: number, known: number) {
    super(
      `metadata store ${uri} is at schema version ${found}, newer than this Kiln knows (${known}); upgrade Kiln`,
    );
  }
}
