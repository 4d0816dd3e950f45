/**
 * Where served models come from, and the holder that swaps them. A source loads a `ServedModel`; the
 * holder puts it live only after it has scored a probe row, in one reference assignment, so a request
 * that already holds the previous model finishes on it and the next request gets the new one.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type LoadOptions, loadPackage } from '../../packaging/load.js';
import { MANIFEST_FILE } from '../../packaging/write.js';
import {
  formatReference,
  looksLikeReference,
  type ModelReference,
  parseReference,
  type Registry,
} from '../../registry/index.js';
import type { Engine, EngineName } from '../../scoring/engine.js';
import { createEngine } from '../../scoring/engines/index.js';
import type { ServerMetrics } from './metrics.js';
import { checkModel, compileModel, type LiveModel, type ServedModel } from './predict.js';

export type { EngineName } from '../../scoring/engine.js';

export interface ModelSource {
  /** The name the model is served under (`/v1/models/<name>`). */
  readonly name: string;
  /** Where it loads from, for logs and `GET /v1/models/<name>`. */
  describe(): string;
  load(): Promise<ServedModel>;
  /** Calls `onChange` when a new version is available (an alias moved); returns the unsubscribe. */
  watch?(onChange: () => void): () => void;
}

/** A package folder; served under its manifest name, versioned by run id (or manifest hash). */
export class PackageDirectorySource implements ModelSource {
  readonly name: string;
  private readonly dir: string;

  constructor(
    dir: string,
    private readonly engine: EngineName = 'js',
    /** `allowModified` serves a hand-edited package (with a warning) instead of refusing it. */
    private readonly loadOptions: LoadOptions = {},
  ) {
    this.dir = path.resolve(dir);
    // Read the name now so a wrong path fails at startup, before anything listens.
    let manifest: { name?: unknown };
    try {
      manifest = JSON.parse(readFileSync(path.join(this.dir, MANIFEST_FILE), 'utf8'));
    } catch (error) {
      throw new Error(`model package ${this.dir}: cannot read ${MANIFEST_FILE}: ${(error as Error).message}`);
    }
    if (typeof manifest.name !== 'string' || manifest.name === '')
      throw new Error(`model package ${this.dir}: ${MANIFEST_FILE} has no name`);
    this.name = manifest.name;
  }

  describe(): string {
    return this.dir;
  }

  async load(): Promise<ServedModel> {
    const pkg = loadPackage(this.dir, this.loadOptions);
    const engine = retirable(await createEngine(pkg, this.engine));
    const version =
      pkg.manifest.lineage.runId ??
      createHash('sha256')
        .update(readFileSync(path.join(this.dir, MANIFEST_FILE)))
        .digest('hex')
        .slice(0, 16);
    return {
      name: pkg.manifest.name,
      version,
      manifest: pkg.manifest,
      task: pkg.task,
      output: pkg.output,
      engine,
      origin: this.engine === 'js' ? this.dir : `${this.dir} (${this.engine})`,
    };
  }
}

/**
 * A registry reference (`name@alias` or `name@3`). `load` resolves it, fetches the package (cached by
 * digest, checksums verified) and serves it under the registered name, versioned by version number.
 * `watch` polls the alias and announces each new target once; the server then loads it in the
 * background and swaps it in only after it scores the probe row.
 */
export class RegistrySource implements ModelSource {
  readonly name: string;
  private readonly ref: ModelReference;
  private announced: number | null = null;

  constructor(
    private readonly registry: Registry,
    ref: string | ModelReference,
    private readonly engine: EngineName = 'js',
    private readonly pollMs = 2000,
  ) {
    this.ref = typeof ref === 'string' ? parseReference(ref) : ref;
    this.name = this.ref.name;
  }

  describe(): string {
    return `${formatReference(this.ref)} in ${this.registry.store.uri}`;
  }

  async load(): Promise<ServedModel> {
    const version = await this.registry.resolve(this.ref);
    const dir = await this.registry.fetch(version);
    const served = await new PackageDirectorySource(dir, this.engine).load();
    this.announced ??= version.version;
    return {
      ...served,
      name: version.name,
      version: String(version.version),
      origin: `${formatReference(this.ref)} → version ${version.version}${this.engine === 'js' ? '' : ` (${this.engine})`}`,
    };
  }

  watch(onChange: () => void): () => void {
    if (this.ref.kind === 'version') return () => {};
    let polling = false;
    const timer = setInterval(async () => {
      if (polling) return;
      polling = true;
      try {
        const current = (await this.registry.resolve(this.ref)).version;
        if (current !== this.announced) {
          this.announced = current;
          onChange();
        }
      } catch {
        // The store being briefly unreachable (or the alias removed) keeps the current model serving.
      } finally {
        polling = false;
      }
    }, this.pollMs);
    timer.unref();
    return () => clearInterval(timer);
  }
}

export interface SourceOptions extends LoadOptions {
  engine?: EngineName;
  /** Needed for `name@alias` references. */
  registry?: Registry;
  /** How often a registry alias is polled for a move. */
  pollMs?: number;
}

/**
 * A `--model` argument: `name@alias` or `name@3` names a registry entry, anything else a package folder.
 * `allowModified` applies to package folders only: a registry package is verified against the digest
 * the registry recorded, and a mismatch there is never served.
 */
export function sourceFor(ref: string, options: SourceOptions = {}): ModelSource {
  const { engine = 'js', registry, pollMs, ...load } = options;
  if (looksLikeReference(ref)) {
    if (!registry) throw new Error(`model "${ref}" is a registry reference, and no registry is open`);
    return new RegistrySource(registry, ref, engine, pollMs);
  }
  return new PackageDirectorySource(ref, engine, load);
}

/** The live models of one server, by name. */
export class ServedModels {
  private readonly live = new Map<string, LiveModel>();
  private readonly listeners: (() => void)[] = [];
  private readonly checks: ((live: LiveModel) => void)[] = [];

  constructor(private readonly metrics: ServerMetrics) {}

  get(name: string): LiveModel | undefined {
    return this.live.get(name);
  }

  names(): string[] {
    return [...this.live.keys()];
  }

  all(): LiveModel[] {
    return [...this.live.values()];
  }

  /** A condition a model must meet to go live (throws with the reason), beyond scoring the probe. */
  addCheck(check: (live: LiveModel) => void): void {
    this.checks.push(check);
  }

  /** Calls `listener` after every swap (the OpenAPI document follows the signatures). */
  onSwap(listener: () => void): void {
    this.listeners.push(listener);
  }

  /**
   * Puts `next` live under `name` once it scores the probe row; throws (and keeps the current model)
   * when it cannot. Requests in flight keep the model object they started with.
   */
  async swap(name: string, next: ServedModel): Promise<LiveModel> {
    if (next.name !== name) throw new Error(`model "${next.name}" cannot be served as "${name}"`);
    let live: LiveModel;
    try {
      await checkModel(next);
      live = compileModel(next, this.metrics.forModel(next.name, next.version));
      for (const check of this.checks) check(live);
    } catch (error) {
      // Never served: its native resources (an onnxruntime session) go now.
      await next.engine.release().catch(() => {});
      throw error;
    }
    const previous = this.live.get(name);
    this.live.set(name, live);
    for (const listener of this.listeners) listener();
    if (previous && previous.model.engine !== next.engine) retire(previous.model.engine);
    return live;
  }

  /** Loads from a source and swaps it in. */
  async load(source: ModelSource): Promise<LiveModel> {
    return this.swap(source.name, await source.load());
  }
}

const RETIRE = Symbol('retire');

/**
 * An engine that can be retired once a newer model replaced it: its native resources (an onnxruntime
 * session) are released when the last score call in flight on it returns. A request looks its model
 * up and calls `score` in the same turn of the event loop, so no request can start on an engine after
 * it was retired.
 */
function retirable(engine: Engine): Engine {
  let inFlight = 0;
  let retired = false;
  const done = () => {
    inFlight--;
    if (retired && inFlight === 0) void engine.release().catch(() => {});
  };
  const wrapped: Engine & { [RETIRE]: () => void } = {
    ...engine,
    score(table) {
      const result = engine.score(table);
      if (!(result instanceof Promise)) return result;
      inFlight++;
      return result.finally(done);
    },
    release: () => engine.release(),
    [RETIRE]: () => {
      retired = true;
      if (inFlight === 0) void engine.release().catch(() => {});
    },
  };
  return wrapped;
}

function retire(engine: Engine): void {
  (engine as Partial<Record<typeof RETIRE, () => void>>)[RETIRE]?.();
}
