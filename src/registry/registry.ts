/**
 * The model registry: a package is published to the artifact store under its content digest first,
 * and only then recorded as a version, so no version row ever points at missing artifacts. Every change
 * is recorded by the metadata store as an event in the same transaction; `afterChange` lets the caller
 * deliver those events (webhooks) right away.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadPackage } from '../packaging/load.js';
import type { Manifest } from '../packaging/manifest.js';
import { MANIFEST_FILE } from '../packaging/write.js';
import {
  type ArtifactStore,
  artifactLocation,
  DirectoryDigestMismatchError,
  directoryDigest,
  fetchDirectory,
  publishDirectory,
} from '../stores/artifacts/index.js';
import {
  type Change,
  type MetadataStore,
  type ModelVersion,
  NotFoundError,
  RegistryError,
  type RegistryEvent,
} from '../stores/metadata/index.js';
import { formatReference, type ModelReference, parseReference } from './reference.js';

export interface RegistryOptions {
  store: MetadataStore;
  artifacts: ArtifactStore;
  /** Local folder holding fetched packages by digest. */
  cacheDir: string;
  /** Called after every change (e.g. to deliver its events); its failure never undoes the change. */
  afterChange?: () => Promise<void>;
  /** Warnings (a discarded cache copy, a modified package registered on request); stderr by default. */
  warn?: (message: string) => void;
}

export interface RegisterInput {
  name: string;
  packageDir: string;
  description?: string;
  tags?: Record<string, string>;
  /** The version this one was trained to replace; defaults to the current champion, if any. */
  parentVersion?: number | null;
  /**
   * Register a package whose files differ from the digests it records (edited by hand), with a warning,
   * instead of refusing it. Loading it later needs the same permission.
   */
  allowModified?: boolean;
}

/** Who is changing the registry: `KILN_ACTOR`, else the OS user. */
export function defaultActor(): string {
  if (process.env.KILN_ACTOR) return process.env.KILN_ACTOR;
  try {
    return os.userInfo().username;
  } catch {
    return 'unknown';
  }
}

export class Registry {
  readonly store: MetadataStore;
  readonly artifacts: ArtifactStore;

  private readonly warn: (message: string) => void;

  constructor(private readonly options: RegistryOptions) {
    this.store = options.store;
    this.artifacts = options.artifacts;
    this.warn = options.warn ?? ((message) => process.stderr.write(`kiln: warning: ${message}\n`));
  }

  /** Publishes the package (idempotent by digest), then records the version. */
  async register(input: RegisterInput, change: Change): Promise<{ version: ModelVersion; created: boolean }> {
    const pkg = loadPackage(input.packageDir, { allowModified: input.allowModified, warn: this.warn });
    const digest = await directoryDigest(input.packageDir);
    const prefix = `packages/${digest}`;
    try {
      await publishDirectory(this.artifacts, input.packageDir, prefix);
    } catch (error) {
      throw new RegistryError(
        `cannot register ${input.name}: publishing the package to ${this.root} failed, so no version was recorded: ${(error as Error).message}`,
      );
    }
    const parentVersion =
      input.parentVersion !== undefined
        ? input.parentVersion
        : ((await this.store.resolveAlias(input.name, 'champion').catch(() => undefined))?.version ?? null);
    const { lineage, metrics } = pkg.manifest;
    const result = await this.store.createVersion(
      {
        name: input.name,
        packageUri: `${this.root}/${prefix}`,
        packageDigest: digest,
        runId: lineage.runId,
        metrics: versionMetrics(metrics),
        lineage: {
          runId: lineage.runId,
          project: lineage.project,
          data: lineage.data,
          codeVersion: lineage.codeVersion,
          seed: lineage.seed,
          parentVersion,
          ...(lineage.importedFrom ? { importedFrom: lineage.importedFrom } : {}),
        },
        description: input.description,
        tags: input.tags,
      },
      change,
    );
    if (result.created) await this.changed();
    return result;
  }

  async resolve(reference: string | ModelReference): Promise<ModelVersion> {
    const ref = typeof reference === 'string' ? parseReference(reference) : reference;
    let version: ModelVersion | undefined;
    if (ref.kind === 'alias') version = await this.store.resolveAlias(ref.name, ref.alias);
    else if (ref.kind === 'version') version = await this.store.getVersion(ref.name, ref.version);
    else {
      const latest = (await this.store.getModel(ref.name))?.latestVersion;
      version = latest ? await this.store.getVersion(ref.name, latest) : undefined;
    }
    if (!version) {
      const model = await this.store.getModel(ref.name);
      if (!model) throw new NotFoundError(`no registered model "${ref.name}" in ${this.store.uri}`);
      const aliases =
        Object.entries(model.aliases)
          .map(([a, v]) => `@${a}→${v}`)
          .join(', ') || 'none';
      // The usual cause is an alias no run has moved yet: say how to move it.
      const fix =
        ref.kind === 'alias' && model.latestVersion
          ? `; point it at a version with \`kiln models alias ${ref.name} ${ref.alias} ${model.latestVersion}\`, or set registry.alias in the project so a passing train moves it`
          : '';
      throw new NotFoundError(
        `${formatReference(ref)} does not exist (aliases: ${aliases}; latest version: ${model.latestVersion ?? 'none'})${fix}`,
      );
    }
    return version;
  }

  /**
   * The version's package as a local folder, downloaded once per digest. The package digest recorded
   * with the version is recomputed from what is used, every time: from the store's index before a
   * download (whose files are then checked against it), and from the files of a cached copy before it
   * is returned. A cached copy that no longer matches is discarded and downloaded again (the store's
   * copy is verified the same way); a store copy that does not match refuses the version.
   */
  async fetch(version: ModelVersion): Promise<string> {
    const dir = path.join(this.options.cacheDir, version.packageDigest);
    if (existsSync(dir)) {
      const cached = await directoryDigest(dir).catch((error: Error) => `unreadable (${error.message})`);
      if (cached === version.packageDigest) return dir;
      this.warn(
        `the cached copy of ${version.name} version ${version.version} in ${dir} does not match the package digest recorded in the registry (it digests to ${cached}): discarding it and downloading the package again`,
      );
      await discard(dir);
    }
    mkdirSync(this.options.cacheDir, { recursive: true });
    try {
      await fetchDirectory(this.artifacts, this.keyOf(version), dir, { digest: version.packageDigest });
    } catch (error) {
      if (!(error instanceof DirectoryDigestMismatchError)) throw error;
      throw new RegistryError(
        `refusing ${version.name} version ${version.version}: its package ${error.location} was changed after it was registered (the files listed digest to ${error.actual}, the version records ${error.expected})`,
      );
    }
    return dir;
  }

  /** The manifest alone, for cards and listings, without downloading the weights. */
  async manifest(version: ModelVersion): Promise<Manifest> {
    const bytes = await this.artifacts.getBytes(`${this.keyOf(version)}/${MANIFEST_FILE}`);
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as Manifest;
  }

  /**
   * Points `alias` at `version`. `expected` is the version the caller believes the alias holds now
   * (null: unset); when omitted, the alias is read first, so the move still fails if it changes meanwhile.
   */
  async moveAlias(
    target: { name: string; alias: string; version: number; expected?: number | null },
    change: Change,
  ): Promise<RegistryEvent> {
    const expected =
      target.expected !== undefined
        ? target.expected
        : ((await this.store.resolveAlias(target.name, target.alias))?.version ?? null);
    const event = await this.store.moveAlias({ ...target, expected, ...change });
    await this.changed();
    return event;
  }

  async deleteAlias(
    target: { name: string; alias: string; expected?: number },
    change: Change,
  ): Promise<RegistryEvent> {
    const expected = target.expected ?? (await this.store.resolveAlias(target.name, target.alias))?.version;
    if (expected === undefined)
      throw new NotFoundError(`model ${target.name} has no alias "${target.alias}"`);
    const event = await this.store.deleteAlias({ ...target, expected }, change);
    await this.changed();
    return event;
  }

  async setTag(
    target: { name: string; version: number | null; key: string; value: string | null },
    change: Change,
  ): Promise<RegistryEvent> {
    const event = await this.store.setTag(target, change);
    await this.changed();
    return event;
  }

  async setDescription(
    target: { name: string; version: number | null; description: string },
    change: Change,
  ): Promise<RegistryEvent> {
    const event = await this.store.setDescription(target, change);
    await this.changed();
    return event;
  }

  /** Deletes the version, then its package unless another version shares the same content. */
  async deleteVersion(target: { name: string; version: number }, change: Change): Promise<RegistryEvent> {
    const version = await this.store.getVersion(target.name, target.version);
    if (!version) throw new NotFoundError(`model ${target.name} has no version ${target.version}`);
    const event = await this.store.deleteVersion(target, change);
    if (!(await this.digestInUse(version.packageDigest))) {
      const key = this.keyOf(version);
      // The index goes first, so a half-deleted package reads as absent, never as complete.
      await this.artifacts.delete(`${key}/kiln-index.json`);
      for (const object of await this.artifacts.list(`${key}/`)) await this.artifacts.delete(object.key);
    }
    await this.changed();
    return event;
  }

  private async digestInUse(digest: string): Promise<boolean> {
    for (const model of await this.store.listModels())
      for (const version of await this.store.listVersions(model.name))
        if (version.packageDigest === digest) return true;
    return false;
  }

  private get root(): string {
    return artifactLocation(this.artifacts);
  }

  /** The artifact key of a version's package; it must live in this registry's artifact store. */
  private keyOf(version: ModelVersion): string {
    const root = `${this.root}/`;
    if (!version.packageUri.startsWith(root))
      throw new RegistryError(
        `${version.name} version ${version.version} is stored at ${version.packageUri}, outside the configured artifact store ${this.root}`,
      );
    return version.packageUri.slice(root.length);
  }

  private async changed(): Promise<void> {
    await this.options.afterChange?.();
  }
}

/**
 * Moves a folder out of the way in one rename (a reader never sees it half deleted), then deletes it;
 * already gone (another process sharing the cache discarded it first) is fine.
 */
async function discard(dir: string): Promise<void> {
  const trash = `${dir}.${randomUUID()}.kiln-discarded`;
  try {
    await rename(dir, trash);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  await rm(trash, { recursive: true, force: true });
}

/** The metrics worth keeping on the version row: the headline, fold means ± std, intervals, test. */
function versionMetrics(metrics: Record<string, unknown>): Record<string, unknown> {
  const { diagnostics: _diagnostics, ...rest } = metrics;
  return rest;
}
