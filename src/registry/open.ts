import path from 'node:path';
import type { LoadedProject } from '../config/load.js';
import { storesSchema } from '../config/schema.js';
import { EventDispatcher, parseNotifications, webhookNotifiers } from '../notifications/index.js';
import { type ArtifactStore, openArtifactStore } from '../stores/artifacts/index.js';
import { type MetadataStore, openMetadataStore } from '../stores/metadata/index.js';
import { Registry } from './registry.js';

export interface Backends {
  store: MetadataStore;
  artifacts: ArtifactStore;
  registry: Registry;
  dispatcher: EventDispatcher;
  /** Local working folder: run folders and the package cache. */
  localDir: string;
  close(): Promise<void>;
}

export interface BackendOptions {
  metadata: string;
  artifacts: string;
  /** Relative URIs and the local folder resolve against it. */
  baseDir: string;
  notifications?: unknown;
  /** Warnings: delivery problems (a parked event), a discarded cache copy; never fatal to what caused them. */
  warn?: (message: string) => void;
}

/**
 * Opens the metadata and artifact stores named by URI (environment overrides applied by each opener),
 * the registry on top, and the event dispatcher that delivers registry changes after each one.
 */
export function openBackends(options: BackendOptions): Backends {
  const warn = options.warn ?? ((message: string) => process.stderr.write(`kiln: ${message}\n`));
  const notifications = parseNotifications(options.notifications);
  const notifiers = webhookNotifiers(notifications, options.baseDir);
  const localDir = process.env.KILN_LOCAL_DIR
    ? path.resolve(process.env.KILN_LOCAL_DIR)
    : path.join(options.baseDir, '.kiln');
  const store = openMetadataStore(options.metadata, options.baseDir);
  let artifacts: ArtifactStore;
  try {
    artifacts = openArtifactStore(options.artifacts, options.baseDir);
  } catch (error) {
    void store.close();
    throw error;
  }
  const dispatcher = new EventDispatcher(store, notifiers, notifications.retry, warn);
  const registry = new Registry({
    store,
    artifacts,
    cacheDir: path.join(localDir, 'cache', 'packages'),
    warn,
    afterChange: async () => {
      if (notifiers.length === 0) return;
      await dispatcher.dispatchPending().catch((error: Error) => warn(`event delivery: ${error.message}`));
    },
  });
  return {
    store,
    artifacts,
    registry,
    dispatcher,
    localDir,
    close: async () => {
      await Promise.allSettled([store.close(), artifacts.close()]);
    },
  };
}

/** The backends a project's config names. */
export function openProjectBackends(loaded: LoadedProject, warn?: (message: string) => void): Backends {
  return openBackends({
    metadata: loaded.project.stores.metadata,
    artifacts: loaded.project.stores.artifacts,
    baseDir: loaded.dir,
    notifications: loaded.project.notifications,
    warn,
  });
}

/** The embedded defaults, for commands run outside a project folder. */
export function defaultStores(): { metadata: string; artifacts: string } {
  return storesSchema.parse({});
}
