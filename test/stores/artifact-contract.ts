import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ArtifactNotFoundError,
  type ArtifactStore,
  ChecksumMismatchError,
  directoryDigest,
  fetchDirectory,
  INDEX_NAME,
  isPublished,
  probeArtifactStore,
  publishDirectory,
  type S3ArtifactStore,
  UnsafeKeyError,
} from '../../src/stores/artifacts/index.js';

export interface ArtifactContractHooks {
  /** Replaces an object's bytes behind the store's back, keeping its recorded sha256. */
  corrupt(store: ArtifactStore, key: string, body: Uint8Array): Promise<void>;
}

/** The `corrupt` hook for any S3ArtifactStore: a raw PUT that keeps the old sha256 metadata. */
export const s3Hooks: ArtifactContractHooks = {
  async corrupt(store, key, body) {
    const s3 = store as S3ArtifactStore;
    const recorded = (await s3.stat(key))!.sha256;
    await (await s3.client()).send(
      new PutObjectCommand({
        Bucket: s3.bucket,
        Key: s3.objectKey(key),
        Body: body,
        Metadata: { sha256: recorded },
      }),
    );
  },
};

const UNSAFE_KEYS = ['../x', '/etc/passwd', 'a/../../b', 'a\\b', 'a//b', '\u0000', 'a/\u0000b'];

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const sha256 = (body: Uint8Array): string => createHash('sha256').update(body).digest('hex');

/** Every file under `root` as path → content, for comparing folders. */
function readTree(root: string): Record<string, string> {
  const tree: Record<string, string> = {};
  const walk = (dir: string, prefix: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full, `${prefix}${entry.name}/`);
      else tree[`${prefix}${entry.name}`] = readFileSync(full).toString('base64');
    }
  };
  walk(root, '');
  return tree;
}

/**
 * The contract every artifact store implementation must pass (local directory, S3-compatible). `open`
 * returns a store that is empty as far as the test can tell (a fresh folder or a fresh prefix).
 */
export function artifactStoreContract(
  name: string,
  open: () => Promise<ArtifactStore>,
  hooks?: ArtifactContractHooks,
): void {
  describe(`artifact store contract: ${name}`, () => {
    let store: ArtifactStore;
    let work: string;
    beforeEach(async () => {
      store = await open();
      work = mkdtempSync(path.join(tmpdir(), 'kiln-artifact-work-'));
    });
    afterEach(async () => {
      await store.close();
      rmSync(work, { recursive: true, force: true });
    });

    /** A folder with nested files, an empty file and a name with a space. */
    const makeFolder = (name: string): string => {
      const root = path.join(work, name);
      mkdirSync(path.join(root, 'nested', 'deeper'), { recursive: true });
      writeFileSync(path.join(root, 'model.json'), '{"weights": [1, 2, 3]}');
      writeFileSync(path.join(root, 'empty.txt'), '');
      writeFileSync(path.join(root, 'nested', 'a b.txt'), 'spaced');
      writeFileSync(path.join(root, 'nested', 'deeper', 'weights.bin'), randomBytes(70_000));
      return root;
    };

    it('round-trips bytes, including an empty object and an overwrite', async () => {
      const body = bytes('hello artifacts');
      expect(await store.putBytes('greeting.txt', body)).toEqual({
        key: 'greeting.txt',
        bytes: body.byteLength,
        sha256: sha256(body),
      });
      expect(Buffer.from(await store.getBytes('greeting.txt')).toString()).toBe('hello artifacts');
      await store.putBytes('empty', new Uint8Array());
      expect((await store.getBytes('empty')).byteLength).toBe(0);
      await store.putBytes('greeting.txt', bytes('replaced'));
      expect(Buffer.from(await store.getBytes('greeting.txt')).toString()).toBe('replaced');
      expect((await store.stat('greeting.txt'))?.sha256).toBe(sha256(bytes('replaced')));
    });

    it('round-trips files, a large one (multipart on S3) among them, leaving no temp files', async () => {
      const large = randomBytes(20 * 1024 * 1024 + 12_345);
      const small = randomBytes(1000);
      writeFileSync(path.join(work, 'large.bin'), large);
      writeFileSync(path.join(work, 'small.bin'), small);
      const stored = await store.putFile('data/large.bin', path.join(work, 'large.bin'));
      expect(stored).toEqual({ key: 'data/large.bin', bytes: large.byteLength, sha256: sha256(large) });
      await store.putFile('data/small.bin', path.join(work, 'small.bin'));
      expect(await store.stat('data/large.bin')).toEqual(stored);

      const out = path.join(work, 'out');
      const fetched = await store.getFile('data/large.bin', path.join(out, 'large.bin'));
      expect(fetched).toEqual(stored);
      await store.getFile('data/small.bin', path.join(out, 'small.bin'));
      expect(readFileSync(path.join(out, 'large.bin')).equals(large)).toBe(true);
      expect(readFileSync(path.join(out, 'small.bin')).equals(small)).toBe(true);
      expect(readdirSync(out).sort()).toEqual(['large.bin', 'small.bin']);
      // getFile replaces an existing file.
      await store.getFile('data/small.bin', path.join(out, 'large.bin'));
      expect(readFileSync(path.join(out, 'large.bin')).equals(small)).toBe(true);
    });

    it('stats, lists sorted and deletes; deleting a missing key is fine', async () => {
      expect(await store.stat('a/x')).toBeUndefined();
      expect(await store.list('')).toEqual([]);
      for (const key of ['b', 'a/y/z', 'a/x']) await store.putBytes(key, bytes(key));
      expect((await store.list('')).map((info) => info.key)).toEqual(['a/x', 'a/y/z', 'b']);
      expect(await store.list('a')).toEqual([
        { key: 'a/x', bytes: 3, sha256: sha256(bytes('a/x')) },
        { key: 'a/y/z', bytes: 5, sha256: sha256(bytes('a/y/z')) },
      ]);
      expect((await store.list('a/')).map((info) => info.key)).toEqual(['a/x', 'a/y/z']);
      expect(await store.list('nothing/here')).toEqual([]);
      expect(await store.stat('a/y/z')).toEqual({ key: 'a/y/z', bytes: 5, sha256: sha256(bytes('a/y/z')) });

      await store.delete('a/y/z');
      await store.delete('a/y/z');
      await store.delete('never/written');
      expect(await store.stat('a/y/z')).toBeUndefined();
      expect((await store.list('')).map((info) => info.key)).toEqual(['a/x', 'b']);
      await expect(store.getBytes('a/y/z')).rejects.toBeInstanceOf(ArtifactNotFoundError);
    });

    it('lists under a prefix without leaking siblings that share its first letters', async () => {
      await store.putBytes('a/b/1', bytes('1'));
      await store.putBytes('a/bc/2', bytes('2'));
      await store.putBytes('a/b.txt', bytes('3'));
      expect((await store.list('a/b')).map((info) => info.key)).toEqual(['a/b/1']);
      expect((await store.list('a/bc')).map((info) => info.key)).toEqual(['a/bc/2']);
    });

    it('reports a missing key as ArtifactNotFoundError and writes nothing locally', async () => {
      await expect(store.getBytes('missing/key')).rejects.toBeInstanceOf(ArtifactNotFoundError);
      await expect(store.getBytes('missing/key')).rejects.toThrow(/missing\/key/);
      const target = path.join(work, 'never.bin');
      await expect(store.getFile('missing/key', target)).rejects.toBeInstanceOf(ArtifactNotFoundError);
      expect(readdirSync(work)).toEqual([]);
    });

    it('rejects traversal and malformed keys in every method', async () => {
      const file = path.join(work, 'f.txt');
      writeFileSync(file, 'x');
      for (const key of UNSAFE_KEYS) {
        const calls: Promise<unknown>[] = [
          store.putBytes(key, bytes('x')),
          store.putFile(key, file),
          store.getBytes(key),
          store.getFile(key, path.join(work, 'out.txt')),
          store.stat(key),
          store.list(key),
          store.delete(key),
          publishDirectory(store, work, key),
          fetchDirectory(store, key, path.join(work, 'fetched')),
          isPublished(store, key),
        ];
        for (const call of calls) await expect(call, key).rejects.toBeInstanceOf(UnsafeKeyError);
      }
      expect(await store.list('')).toEqual([]);
      expect(readdirSync(work)).toEqual(['f.txt']);
    });

    it('publishes a nested folder and fetches it back identical; republishing is a no-op', async () => {
      const folder = makeFolder('package');
      expect(await isPublished(store, 'packages/p1')).toBe(false);
      const published = await publishDirectory(store, folder, 'packages/p1');
      expect(published.files.map((file) => file.path)).toEqual([
        'empty.txt',
        'model.json',
        'nested/a b.txt',
        'nested/deeper/weights.bin',
      ]);
      expect(published.uploaded).toBe(4);
      expect(published.digest).toBe(await directoryDigest(folder));
      expect(await isPublished(store, 'packages/p1')).toBe(true);
      expect(JSON.parse(Buffer.from(await store.getBytes(`packages/p1/${INDEX_NAME}`)).toString())).toEqual({
        format: 'kiln.directory/1',
        files: published.files,
      });

      const again = await publishDirectory(store, folder, 'packages/p1');
      expect(again.uploaded).toBe(0);
      expect(again.digest).toBe(published.digest);

      const target = path.join(work, 'fetched', 'p1');
      const index = await fetchDirectory(store, 'packages/p1', target);
      expect(index.files).toEqual(published.files);
      expect(readTree(target)).toEqual(readTree(folder));
      // Only the fetched folder is left: the staging folder was renamed into place.
      expect(readdirSync(path.join(work, 'fetched'))).toEqual(['p1']);
      await expect(fetchDirectory(store, 'packages/p1', target)).rejects.toThrow(/not empty/);
    });

    it('does not show a folder whose index was never written', async () => {
      await store.putBytes('packages/half/model.json', bytes('{}'));
      await store.putBytes('packages/half/nested/w.bin', bytes('w'));
      expect(await isPublished(store, 'packages/half')).toBe(false);
      const target = path.join(work, 'half');
      const failure = fetchDirectory(store, 'packages/half', target);
      await expect(failure).rejects.toBeInstanceOf(ArtifactNotFoundError);
      await expect(failure).rejects.toThrow(/not published or incomplete/);
      expect(existsSync(target)).toBe(false);
    });

    it('refuses to fetch a file whose content no longer matches the index', async () => {
      const folder = makeFolder('package');
      await publishDirectory(store, folder, 'packages/p2');
      // A valid object with its own correct checksum, but not the one the index promises.
      await store.putBytes('packages/p2/model.json', bytes('{"weights": "tampered"}'));
      const target = path.join(work, 'fetched');
      await expect(fetchDirectory(store, 'packages/p2', target)).rejects.toBeInstanceOf(
        ChecksumMismatchError,
      );
      expect(readdirSync(work)).toEqual(['package']);
    });

    it('refuses an index whose paths would escape the target folder', async () => {
      const index = {
        format: 'kiln.directory/1',
        files: [{ path: '../escaped.txt', bytes: 1, sha256: sha256(bytes('x')) }],
      };
      await store.putBytes('packages/escaped.txt', bytes('x'));
      await store.putBytes(`packages/evil/${INDEX_NAME}`, bytes(JSON.stringify(index)));
      await expect(fetchDirectory(store, 'packages/evil', path.join(work, 'out'))).rejects.toBeInstanceOf(
        UnsafeKeyError,
      );
      expect(readdirSync(work)).toEqual([]);
    });

    it('passes the probe and leaves nothing behind', async () => {
      const probe = await probeArtifactStore(store);
      expect(probe.detail).toMatch(/wrote, read back and deleted/);
      expect(probe.ok).toBe(true);
      expect(await store.list('')).toEqual([]);
    });

    it.skipIf(!hooks)('detects an object corrupted behind its back', async () => {
      await store.putBytes('blob', bytes('original content'));
      await hooks!.corrupt(store, 'blob', bytes('corrupted content'));
      await expect(store.getBytes('blob')).rejects.toBeInstanceOf(ChecksumMismatchError);
      const target = path.join(work, 'blob');
      await expect(store.getFile('blob', target)).rejects.toBeInstanceOf(ChecksumMismatchError);
      expect(readdirSync(work)).toEqual([]);
    });
  });
}
