import { createHash, randomUUID } from 'node:crypto';
import type { Dirent } from 'node:fs';
import {
  mkdir,
  open,
  readdir,
  readFile,
  realpath,
  rename,
  rm,
  rmdir,
  stat,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { checkKey, checkPrefix, isValidKey } from './keys.js';
import {
  ArtifactNotFoundError,
  type ArtifactStore,
  ArtifactStoreError,
  ChecksumMismatchError,
  type ObjectInfo,
  UnsafeKeyError,
} from './store.js';

export function sha256Hex(body: Uint8Array): string {
  return createHash('sha256').update(body).digest('hex');
}

export async function sha256File(file: string): Promise<{ bytes: number; sha256: string }> {
  const handle = await open(file);
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of handle.createReadStream()) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { bytes, sha256: hash.digest('hex') };
}

/** Orders keys by UTF-16 code units, the same in every store, whatever order the backend lists in. */
export function compareKeys(a: ObjectInfo, b: ObjectInfo): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** Streams `source` into a new file `target`, returning the size and sha256 of what was written. */
async function copyHashing(source: Readable, target: string): Promise<{ bytes: number; sha256: string }> {
  let output: Awaited<ReturnType<typeof open>>;
  try {
    output = await open(target, 'wx');
  } catch (error) {
    source.destroy();
    throw error;
  }
  const hash = createHash('sha256');
  let bytes = 0;
  await pipeline(
    source,
    async function* (chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        hash.update(chunk);
        bytes += chunk.length;
        yield chunk;
      }
    },
    output.createWriteStream(),
  );
  return { bytes, sha256: hash.digest('hex') };
}

/**
 * Streams `source` to a temp file beside `localPath` while hashing it, then renames it into place, so
 * `localPath` only ever holds verified content. `expected` '' means the object has no recorded sha256.
 */
export async function receiveVerified(
  source: Readable,
  localPath: string,
  check: { storeUri: string; key: string; expected: string },
): Promise<ObjectInfo> {
  const target = path.resolve(localPath);
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${randomUUID()}.kiln-tmp`);
  try {
    await mkdir(path.dirname(target), { recursive: true });
    const { bytes, sha256 } = await copyHashing(source, temp);
    if (sha256 !== check.expected) {
      throw new ChecksumMismatchError(check.storeUri, check.key, check.expected, sha256);
    }
    await rename(temp, target);
    return { key: check.key, bytes, sha256 };
  } finally {
    source.destroy();
    await rm(temp, { force: true });
  }
}

function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

const MISSING = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);

/**
 * Objects as plain files under `<root>/objects/<key>`; each object's sha256 in `<root>/sha256/<key>`.
 * Separate trees (rather than sidecars beside the objects) keep every key free for users: no key can
 * collide with a checksum file. Writes go to `<root>/tmp` and are renamed into place, so a reader
 * sees either the previous object or the complete new one.
 */
export class LocalArtifactStore implements ArtifactStore {
  readonly uri: string;
  readonly root: string;
  private readonly objects: string;
  private readonly sums: string;
  private readonly temp: string;

  constructor(root: string) {
    this.root = path.resolve(root);
    this.uri = `file://${this.root}`;
    this.objects = path.join(this.root, 'objects');
    this.sums = path.join(this.root, 'sha256');
    this.temp = path.join(this.root, 'tmp');
  }

  async putBytes(key: string, body: Uint8Array): Promise<ObjectInfo> {
    checkKey(key);
    const sha256 = sha256Hex(body);
    await this.commit(key, async (temp) => {
      await writeFile(temp, body, { flag: 'wx' });
      return sha256;
    });
    return { key, bytes: body.byteLength, sha256 };
  }

  async putFile(key: string, localPath: string): Promise<ObjectInfo> {
    checkKey(key);
    let info: { bytes: number; sha256: string } | undefined;
    await this.commit(key, async (temp) => {
      // Hashes the copy as it is written, so the recorded sha256 is that of the bytes stored.
      info = await copyHashing((await open(localPath)).createReadStream(), temp);
      return info.sha256;
    });
    return { key, ...info! };
  }

  async getBytes(key: string): Promise<Uint8Array> {
    checkKey(key);
    const file = await this.inside(this.objects, key);
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch (error) {
      if (MISSING.has(errno(error) ?? '')) throw new ArtifactNotFoundError(this.uri, key);
      throw error;
    }
    const expected = await this.recordedSha256(key);
    const actual = sha256Hex(body);
    if (actual !== expected) throw new ChecksumMismatchError(this.uri, key, expected, actual);
    return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  }

  async getFile(key: string, localPath: string): Promise<ObjectInfo> {
    checkKey(key);
    const file = await this.inside(this.objects, key);
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(file);
      if (!(await handle.stat()).isFile()) {
        await handle.close();
        throw new ArtifactNotFoundError(this.uri, key);
      }
    } catch (error) {
      if (MISSING.has(errno(error) ?? '')) throw new ArtifactNotFoundError(this.uri, key);
      throw error;
    }
    const expected = await this.recordedSha256(key);
    return receiveVerified(handle.createReadStream(), localPath, { storeUri: this.uri, key, expected });
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    checkKey(key);
    const file = await this.inside(this.objects, key);
    try {
      const info = await stat(file);
      if (!info.isFile()) return undefined;
      return { key, bytes: info.size, sha256: await this.recordedSha256(key) };
    } catch (error) {
      if (MISSING.has(errno(error) ?? '')) return undefined;
      throw error;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const folder = checkPrefix(prefix);
    const start = folder ? await this.inside(this.objects, folder.slice(0, -1)) : this.objects;
    const found: ObjectInfo[] = [];
    const walk = async (dir: string, keyPrefix: string): Promise<void> => {
      let entries: Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (error) {
        if (MISSING.has(errno(error) ?? '')) return;
        throw error;
      }
      for (const entry of entries) {
        // Dirent types do not follow symlinks: links are never listed, so none can lead out of the store;
        // files put there by hand under names that are not valid keys could not be read: not listed either.
        if (entry.isDirectory()) await walk(path.join(dir, entry.name), `${keyPrefix}${entry.name}/`);
        else if (entry.isFile() && isValidKey(`${keyPrefix}${entry.name}`)) {
          const key = `${keyPrefix}${entry.name}`;
          const info = await stat(path.join(dir, entry.name));
          found.push({ key, bytes: info.size, sha256: await this.recordedSha256(key) });
        }
      }
    };
    await walk(start, folder);
    return found.sort(compareKeys);
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    for (const base of [this.objects, this.sums]) {
      const file = await this.inside(base, key);
      await rm(file, { force: true });
      await pruneEmptyFolders(base, path.dirname(file));
    }
  }

  async close(): Promise<void> {}

  /** Writes the object to a temp file (`write` returns its sha256), then renames checksum and object into place. */
  private async commit(key: string, write: (temp: string) => Promise<string>): Promise<void> {
    const objectPath = await this.inside(this.objects, key);
    const sumPath = await this.inside(this.sums, key);
    await mkdir(this.temp, { recursive: true });
    const id = randomUUID();
    const tempObject = path.join(this.temp, id);
    const tempSum = path.join(this.temp, `${id}.sha256`);
    try {
      const sha256 = await write(tempObject);
      await writeFile(tempSum, `${sha256}\n`, { flag: 'wx' });
      await mkdir(path.dirname(objectPath), { recursive: true });
      await mkdir(path.dirname(sumPath), { recursive: true });
      // Checksum first: a crash in between leaves a detectable mismatch, never an unverifiable object.
      await rename(tempSum, sumPath);
      await rename(tempObject, objectPath);
    } catch (error) {
      const code = errno(error);
      if (code === 'ENOTDIR' || code === 'EEXIST' || code === 'EISDIR') {
        throw new ArtifactStoreError(
          `cannot store "${key}" in ${this.uri}: the local store cannot hold both a key and keys under it as a folder`,
          { code, cause: error },
        );
      }
      throw error;
    } finally {
      await rm(tempObject, { force: true });
      await rm(tempSum, { force: true });
    }
  }

  private async recordedSha256(key: string): Promise<string> {
    try {
      return (await readFile(await this.inside(this.sums, key), 'utf8')).trim();
    } catch (error) {
      if (MISSING.has(errno(error) ?? '')) return '';
      throw error;
    }
  }

  /**
   * The path of `key` under `base`, refused unless it stays inside `base` both as written and once the
   * symlinks along it are followed. `key` has passed checkKey; this is the second line of defence.
   */
  private async inside(base: string, key: string): Promise<string> {
    const target = path.resolve(base, ...key.split('/'));
    if (!isWithin(base, target)) throw new UnsafeKeyError(key, 'resolves outside the store');
    const realBase = await realpathOf(base);
    // Follow the deepest part of the path that exists; what does not exist yet will be created as folders.
    for (let existing = target; isWithin(base, existing); existing = path.dirname(existing)) {
      const real = await realpathOf(existing);
      if (real === undefined) continue;
      if (!isWithin(realBase ?? base, real)) {
        throw new UnsafeKeyError(key, 'leads outside the store through a symbolic link');
      }
      break;
    }
    return target;
  }
}

function isWithin(base: string, target: string): boolean {
  const relative = path.relative(base, target);
  return (
    relative !== '' &&
    relative !== '..' &&
    !relative.startsWith(`..${path.sep}`) &&
    !path.isAbsolute(relative)
  );
}

async function realpathOf(file: string): Promise<string | undefined> {
  try {
    return await realpath(file);
  } catch (error) {
    if (MISSING.has(errno(error) ?? '')) return undefined;
    throw error;
  }
}

/** Deleting the last object of a folder removes the folder, so the key can later name an object. */
async function pruneEmptyFolders(base: string, dir: string): Promise<void> {
  for (let current = dir; isWithin(base, current); current = path.dirname(current)) {
    try {
      await rmdir(current);
    } catch (error) {
      if (MISSING.has(errno(error) ?? '') || errno(error) === 'ENOTEMPTY' || errno(error) === 'EEXIST')
        return;
      throw error;
    }
  }
}
