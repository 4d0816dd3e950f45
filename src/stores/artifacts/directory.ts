import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readdir, rename, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { checkKey } from './keys.js';
import { sha256File, sha256Hex } from './local.js';
import {
  ArtifactNotFoundError,
  type ArtifactStore,
  ArtifactStoreError,
  ChecksumMismatchError,
  mapLimit,
} from './store.js';

/**
 * Folders (model packages, datasets) as sets of objects under a prefix, published atomically on any
 * ArtifactStore: the files go up first and the index `<prefix>/kiln-index.json` last, and readers treat
 * a prefix without an index as absent, so a half-uploaded folder is never seen.
 */

export const INDEX_NAME = 'kiln-index.json';
const FORMAT = 'kiln.directory/1';
/** Transfers in flight at once: enough to hide S3 latency, few enough to stay polite. */
const CONCURRENCY = 4;

export interface DirectoryEntry {
  /** `/`-separated path inside the folder. */
  path: string;
  bytes: number;
  sha256: string;
}

export interface DirectoryIndex {
  format: typeof FORMAT;
  files: DirectoryEntry[];
}

export interface PublishedDirectory {
  /** The store's display URI. */
  store: string;
  prefix: string;
  files: DirectoryEntry[];
  bytes: number;
  /** `directoryDigest` of the folder published. */
  digest: string;
  /** Files actually sent: those already in the store with the same sha256 are skipped. */
  uploaded: number;
}

const indexSchema = z.object({
  format: z.literal(FORMAT),
  files: z.array(
    z.object({
      path: z.string(),
      bytes: z.number().int().nonnegative(),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
    }),
  ),
});

/**
 * Uploads every file of `localDir` (recursively) under `prefix/`, then the index. Idempotent: files the
 * store already holds with the same sha256 are not sent again. Republishing different content first
 * removes the old index, so readers never pair it with new files. Keys under the prefix that the index
 * does not list are never read, and are left alone.
 */
export async function publishDirectory(
  store: ArtifactStore,
  localDir: string,
  prefix: string,
): Promise<PublishedDirectory> {
  checkKey(prefix);
  const files = await describeFolder(localDir);
  if (files.some((file) => file.path === INDEX_NAME)) {
    throw new ArtifactStoreError(
      `${path.join(localDir, INDEX_NAME)}: the name is reserved for the folder's index`,
    );
  }
  const entries = files.map(({ path, bytes, sha256 }) => ({ path, bytes, sha256 }));
  const index: DirectoryIndex = { format: FORMAT, files: entries };
  const indexBody = new TextEncoder().encode(`${JSON.stringify(index, null, 2)}\n`);
  const indexKey = `${prefix}/${INDEX_NAME}`;

  const previous = await store.stat(indexKey);
  if (previous && previous.sha256 !== sha256Hex(indexBody)) await store.delete(indexKey);
  let uploaded = 0;
  await mapLimit(files, CONCURRENCY, async (file) => {
    const key = `${prefix}/${file.path}`;
    const existing = await store.stat(key);
    if (existing?.sha256 === file.sha256 && existing.bytes === file.bytes) return;
    const stored = await store.putFile(key, file.localPath);
    if (stored.sha256 !== file.sha256) {
      throw new ArtifactStoreError(
        `${file.localPath} changed while being published; the index was not written`,
      );
    }
    uploaded++;
  });
  await store.putBytes(indexKey, indexBody);
  return {
    store: store.uri,
    prefix,
    files: entries,
    bytes: entries.reduce((sum, entry) => sum + entry.bytes, 0),
    digest: digestOf(entries),
    uploaded,
  };
}

/** A published folder whose content is not the one its digest (recorded elsewhere) names. */
export class DirectoryDigestMismatchError extends ArtifactStoreError {
  override name = 'DirectoryDigestMismatchError';
  constructor(
    readonly location: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`${location} holds content with digest ${actual}, not the expected ${expected}`, {
      code: 'DigestMismatch',
    });
  }
}

/**
 * Downloads the folder published under `prefix` into `localDir`, which must not exist or be empty. Every
 * file is verified against the index; the files land in a staging folder beside `localDir`, renamed into
 * place only once all are verified. With `digest` (the `directoryDigest` recorded at publication), the
 * index itself is checked first: per-file checksums alone would accept files, checksums and index all
 * rewritten consistently.
 */
export async function fetchDirectory(
  store: ArtifactStore,
  prefix: string,
  localDir: string,
  options: { digest?: string } = {},
): Promise<DirectoryIndex> {
  checkKey(prefix);
  const index = await readIndex(store, prefix);
  // Every file is then verified against its index entry, so a matching index means matching content.
  const listed = digestOf(index.files);
  if (options.digest !== undefined && listed !== options.digest)
    throw new DirectoryDigestMismatchError(`${store.uri}/${prefix}`, options.digest, listed);
  const target = path.resolve(localDir);
  const targetIsEmptyFolder = await isEmptyFolder(target);
  const staging = path.join(path.dirname(target), `.${path.basename(target)}.${randomUUID()}.kiln-staging`);
  try {
    await mkdir(staging, { recursive: true });
    await mapLimit(index.files, CONCURRENCY, async (entry) => {
      const key = `${prefix}/${entry.path}`;
      const fetched = await store.getFile(key, path.join(staging, ...entry.path.split('/')));
      if (fetched.sha256 !== entry.sha256)
        throw new ChecksumMismatchError(store.uri, key, entry.sha256, fetched.sha256);
    });
    if (targetIsEmptyFolder) await rmdir(target);
    await rename(staging, target);
    return index;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** True when a complete folder is published under `prefix`. */
export async function isPublished(store: ArtifactStore, prefix: string): Promise<boolean> {
  checkKey(prefix);
  return (await store.stat(`${prefix}/${INDEX_NAME}`)) !== undefined;
}

/**
 * A sha256 naming a folder's content: over its files' `<sha256>  <path>` lines (sha256sum's format),
 * sorted by path. Equal folders get equal digests wherever they are, for content-addressed prefixes.
 */
export async function directoryDigest(localDir: string): Promise<string> {
  return digestOf(await describeFolder(localDir));
}

function digestOf(entries: readonly DirectoryEntry[]): string {
  return createHash('sha256')
    .update(entries.map((entry) => `${entry.sha256}  ${entry.path}\n`).join(''))
    .digest('hex');
}

async function readIndex(store: ArtifactStore, prefix: string): Promise<DirectoryIndex> {
  const indexKey = `${prefix}/${INDEX_NAME}`;
  let body: Uint8Array;
  try {
    body = await store.getBytes(indexKey);
  } catch (error) {
    if (error instanceof ArtifactNotFoundError) {
      throw new ArtifactNotFoundError(store.uri, prefix, `is not published or incomplete (no ${INDEX_NAME})`);
    }
    throw error;
  }
  let parsed: z.infer<typeof indexSchema>;
  try {
    parsed = indexSchema.parse(JSON.parse(new TextDecoder().decode(body)));
  } catch (error) {
    throw new ArtifactStoreError(
      `${indexKey} in ${store.uri} is not a valid folder index: ${(error as Error).message}`,
    );
  }
  const seen = new Set<string>();
  for (const entry of parsed.files) {
    // The index is data from the store: its paths get the same checks as any user-supplied key.
    checkKey(entry.path);
    if (entry.path === INDEX_NAME || seen.has(entry.path)) {
      throw new ArtifactStoreError(
        `${indexKey} in ${store.uri} lists "${entry.path}" twice or as the index itself`,
      );
    }
    seen.add(entry.path);
  }
  return parsed as DirectoryIndex;
}

interface FolderFile extends DirectoryEntry {
  localPath: string;
}

/** Every regular file under `root`, hashed, sorted by path; anything else (links, devices) is refused. */
async function describeFolder(root: string): Promise<FolderFile[]> {
  const files: FolderFile[] = [];
  const walk = async (dir: string, relative: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const localPath = path.join(dir, entry.name);
      const filePath = `${relative}${entry.name}`;
      if (entry.isDirectory()) await walk(localPath, `${filePath}/`);
      else if (entry.isFile())
        files.push({ path: checkKey(filePath), localPath, ...(await sha256File(localPath)) });
      else throw new ArtifactStoreError(`${localPath}: only regular files and folders can be published`);
    }
  };
  await walk(root, '');
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

async function isEmptyFolder(folder: string): Promise<boolean> {
  let names: string[];
  try {
    names = await readdir(folder);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  if (names.length > 0)
    throw new ArtifactStoreError(`${folder} already exists and is not empty: refusing to overwrite it`);
  return true;
}
