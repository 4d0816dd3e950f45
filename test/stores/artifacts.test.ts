import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ArtifactStoreUnavailableError,
  checkKey,
  describeArtifactStore,
  kilnS3Credentials,
  LocalArtifactStore,
  openArtifactStore,
  probeArtifactStore,
  S3ArtifactStore,
  UnsafeKeyError,
} from '../../src/stores/artifacts/index.js';
import { type S3rverHandle, startS3rver } from '../support/s3rver.js';
import { artifactStoreContract, s3Hooks } from './artifact-contract.js';

const tempDir = (): string => mkdtempSync(path.join(tmpdir(), 'kiln-artifacts-'));

artifactStoreContract('local directory', async () => openArtifactStore('file://store', tempDir(), {}), {
  async corrupt(store, key, body) {
    writeFileSync(path.join((store as LocalArtifactStore).root, 'objects', ...key.split('/')), body);
  },
});

describe('S3 store on s3rver', () => {
  let s3: S3rverHandle;
  beforeAll(async () => {
    s3 = await startS3rver();
  });
  afterAll(async () => {
    await s3?.stop();
  });
  const env = (): NodeJS.ProcessEnv => ({
    KILN_S3_ACCESS_KEY_ID: s3.accessKeyId,
    KILN_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
  });

  // A fresh prefix per test keeps the tests apart in the one bucket.
  artifactStoreContract(
    's3rver',
    async () => openArtifactStore(`s3://${s3.bucket}/t-${randomUUID()}?endpoint=${s3.endpoint}`, '.', env()),
    s3Hooks,
  );

  it('works at the root of a bucket (no prefix)', async () => {
    const store = openArtifactStore(`s3://${s3.bucket}?endpoint=${s3.endpoint}`, '.', env());
    await store.putBytes('root-level.txt', new TextEncoder().encode('x'));
    expect((await store.list('')).map((info) => info.key)).toContain('root-level.txt');
    await store.delete('root-level.txt');
    await store.close();
  });

  it('probes a missing bucket and says so', async () => {
    const store = openArtifactStore(`s3://no-such-bucket?endpoint=${s3.endpoint}`, '.', env());
    const probe = await probeArtifactStore(store);
    expect(probe.ok).toBe(false);
    expect(probe.detail).toMatch(/could not write .*the bucket does not exist/);
    await store.close();
  });

  // s3rver checks the access key id but not SigV4 signatures: a wrong secret is tested against Ceph.
  it('probes with an unknown access key and says access is denied', async () => {
    const store = openArtifactStore(`s3://${s3.bucket}?endpoint=${s3.endpoint}`, '.', {
      KILN_S3_ACCESS_KEY_ID: 'UNKNOWNKEY',
      KILN_S3_SECRET_ACCESS_KEY: 'wrong-secret',
    });
    const probe = await probeArtifactStore(store);
    expect(probe.ok).toBe(false);
    expect(probe.detail).toMatch(/access denied/);
    expect(probe.detail).not.toContain('wrong-secret');
    await store.close();
  });
});

describe('checkKey', () => {
  it('accepts relative /-separated names', () => {
    for (const key of [
      'a',
      'a/b.c',
      '.kiln-probe/x',
      '..foo/bar',
      'runs/2026-01-01/model.json',
      'modèle/é',
    ]) {
      expect(checkKey(key)).toBe(key);
    }
  });

  it('rejects unsafe names, naming the key and the reason', () => {
    const cases: [string, RegExp][] = [
      ['', /empty/],
      ['/etc/passwd', /absolute/],
      ['C:\\x', /backslash/],
      ['C:/x', /drive letter/],
      ['..', /".." path segment/],
      ['a/../../b', /".." path segment/],
      ['./a', /"." path segment/],
      ['a//b', /empty path segment/],
      ['a/', /empty path segment/],
      ['a\\b', /backslash/],
      ['a\u0000b', /control character/],
      ['a\nb', /control character/],
      ['x'.repeat(1025), /longer than 1024 bytes/],
    ];
    for (const [key, reason] of cases) {
      expect(() => checkKey(key), key).toThrow(UnsafeKeyError);
      expect(() => checkKey(key), key).toThrow(reason);
    }
    expect(() => checkKey('a/../b')).toThrow('unsafe artifact key "a/../b"');
    expect(() => checkKey('a\u0000b')).toThrow('"a\\u0000b"');
  });
});

describe('openArtifactStore', () => {
  it('resolves file://relative against the base folder and takes file:///absolute as is', () => {
    const local = openArtifactStore('file://.kiln/artifacts', '/srv/project', {}) as LocalArtifactStore;
    expect(local).toBeInstanceOf(LocalArtifactStore);
    expect(local.root).toBe('/srv/project/.kiln/artifacts');
    expect(local.uri).toBe('file:///srv/project/.kiln/artifacts');
    expect((openArtifactStore('file:///data/store', '/srv/project', {}) as LocalArtifactStore).root).toBe(
      '/data/store',
    );
  });

  it('lets KILN_ARTIFACTS_URI override the configured URI', () => {
    const store = openArtifactStore('file://here', '/p', { KILN_ARTIFACTS_URI: 'file:///elsewhere' });
    expect((store as LocalArtifactStore).root).toBe('/elsewhere');
  });

  it('reads bucket, prefix, endpoint and region from an s3:// URI', async () => {
    const store = openArtifactStore(
      's3://models/team/a/?endpoint=http://127.0.0.1:7480&region=eu-west-1&maxAttempts=2',
      '.',
      {},
    ) as S3ArtifactStore;
    expect(store).toBeInstanceOf(S3ArtifactStore);
    expect(store.bucket).toBe('models');
    expect(store.prefix).toBe('team/a');
    expect(store.objectKey('x/y')).toBe('team/a/x/y');
    expect(store.uri).toBe('s3://models/team/a?endpoint=http://127.0.0.1:7480&region=eu-west-1');
    const client = await store.client();
    expect(await client.config.region()).toBe('eu-west-1');
    expect(await client.config.maxAttempts()).toBe(2);
    expect(client.config.forcePathStyle).toBe(true);
    await store.close();
  });

  it('takes what the URI leaves out from the environment, Kiln variables before AWS ones', () => {
    const uriOf = (env: NodeJS.ProcessEnv): string => openArtifactStore('s3://models', '.', env).uri;
    expect(uriOf({})).toBe('s3://models?region=us-east-1');
    expect(uriOf({ AWS_ENDPOINT_URL_S3: 'http://aws:1', AWS_REGION: 'ap-south-1' })).toBe(
      's3://models?endpoint=http://aws:1&region=ap-south-1',
    );
    expect(
      uriOf({
        KILN_S3_ENDPOINT: 'http://kiln:2',
        AWS_ENDPOINT_URL_S3: 'http://aws:1',
        KILN_S3_REGION: 'eu-north-1',
        AWS_REGION: 'ap-south-1',
      }),
    ).toBe('s3://models?endpoint=http://kiln:2&region=eu-north-1');
    expect(
      openArtifactStore('s3://models?endpoint=http://uri:3&region=us-west-2', '.', {
        KILN_S3_ENDPOINT: 'http://kiln:2',
        KILN_S3_REGION: 'eu-north-1',
      }).uri,
    ).toBe('s3://models?endpoint=http://uri:3&region=us-west-2');
  });

  it('refuses credentials in the URI without repeating them', () => {
    for (const uri of [
      's3://models?accessKeyId=AKIAEXAMPLE&secretAccessKey=hunter2',
      's3://models?secret_key=hunter2',
      's3://AKIAEXAMPLE:hunter2@models/prefix',
      's3://models?endpoint=http://AKIAEXAMPLE:hunter2@127.0.0.1:7480',
    ]) {
      let message = '';
      try {
        openArtifactStore(uri, '.', {});
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message, uri).toMatch(/carries credentials.*environment.*KILN_S3_ACCESS_KEY_ID/);
      expect(message, uri).not.toContain('hunter2');
    }
  });

  it('explains unknown schemes, parameters, bad buckets, prefixes and attempts', () => {
    expect(() => openArtifactStore('gs://bucket', '.', {})).toThrow(
      /supported: file:\/\/\/absolute\/path.*s3:\/\//,
    );
    expect(() => openArtifactStore('/plain/path', '.', {})).toThrow(/supported:/);
    expect(() => openArtifactStore('s3://models?endpiont=http://x', '.', {})).toThrow(
      /unknown parameter "endpiont" \(known: endpoint, region, maxAttempts\)/,
    );
    expect(() => openArtifactStore('s3://Bad_Bucket', '.', {})).toThrow(/not a valid bucket name/);
    expect(() => openArtifactStore('s3://models/../x', '.', {})).toThrow(UnsafeKeyError);
    expect(() => openArtifactStore('s3://models?maxAttempts=0', '.', {})).toThrow(/maxAttempts/);
    expect(() => openArtifactStore('s3://models?endpoint=ftp://x', '.', {})).toThrow(/http/);
    expect(() => openArtifactStore('file://', '.', {})).toThrow(/names no folder/);
  });

  it('describes URIs without their secrets', () => {
    expect(
      describeArtifactStore('s3://key:secret@models/p?endpoint=http://u:pw@h:1&region=x&secretAccessKey=s'),
    ).toBe('s3://***@models/p?endpoint=http://***@h:1&region=x&secretAccessKey=***');
    expect(describeArtifactStore('file:///data/store')).toBe('file:///data/store');
  });
});

describe('S3 credentials from the environment', () => {
  it('reads Kiln variables directly or from _FILE secrets, trimmed', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'id'), '  AKIAFROMFILE\n');
    writeFileSync(path.join(dir, 'secret'), 'secret-from-file\n');
    expect(
      kilnS3Credentials({
        KILN_S3_ACCESS_KEY_ID_FILE: path.join(dir, 'id'),
        KILN_S3_SECRET_ACCESS_KEY_FILE: path.join(dir, 'secret'),
      }),
    ).toEqual({ accessKeyId: 'AKIAFROMFILE', secretAccessKey: 'secret-from-file' });
    expect(
      kilnS3Credentials({
        KILN_S3_ACCESS_KEY_ID: 'AKIA',
        KILN_S3_SECRET_ACCESS_KEY_FILE: path.join(dir, 'secret'),
      }),
    ).toEqual({ accessKeyId: 'AKIA', secretAccessKey: 'secret-from-file' });
    expect(kilnS3Credentials({})).toBeUndefined();

    const store = openArtifactStore('s3://models?endpoint=http://127.0.0.1:1', '.', {
      KILN_S3_ACCESS_KEY_ID: 'AKIA',
      KILN_S3_SECRET_ACCESS_KEY_FILE: path.join(dir, 'secret'),
    }) as S3ArtifactStore;
    expect(await (await store.client()).config.credentials()).toMatchObject({
      accessKeyId: 'AKIA',
      secretAccessKey: 'secret-from-file',
    });
    expect(store.uri).not.toContain('secret-from-file');
    await store.close();
  });

  it('names the variable and file when a secret cannot be read, never the value', () => {
    const dir = tempDir();
    expect(() =>
      kilnS3Credentials({
        KILN_S3_ACCESS_KEY_ID: 'AKIA',
        KILN_S3_SECRET_ACCESS_KEY_FILE: path.join(dir, 'missing'),
      }),
    ).toThrow(/cannot read KILN_S3_SECRET_ACCESS_KEY_FILE \(.*missing\)/);
    writeFileSync(path.join(dir, 'blank'), '\n');
    expect(() =>
      kilnS3Credentials({
        KILN_S3_ACCESS_KEY_ID: 'AKIA',
        KILN_S3_SECRET_ACCESS_KEY_FILE: path.join(dir, 'blank'),
      }),
    ).toThrow(/is empty/);
    expect(() =>
      kilnS3Credentials({
        KILN_S3_ACCESS_KEY_ID: 'AKIA',
        KILN_S3_ACCESS_KEY_ID_FILE: path.join(dir, 'blank'),
      }),
    ).toThrow(/both KILN_S3_ACCESS_KEY_ID and KILN_S3_ACCESS_KEY_ID_FILE/);
    let message = '';
    try {
      kilnS3Credentials({ KILN_S3_SECRET_ACCESS_KEY: 'hunter2' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/KILN_S3_ACCESS_KEY_ID \(or KILN_S3_ACCESS_KEY_ID_FILE\) is not set/);
    expect(message).not.toContain('hunter2');
  });
});

describe('unreachable S3 endpoint', () => {
  /** A port that was free a moment ago and has nothing listening on it. */
  const closedPort = async (): Promise<number> => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
  };

  it('fails with ArtifactStoreUnavailableError naming the endpoint, cause and attempts', {
    timeout: 15_000,
  }, async () => {
    const port = await closedPort();
    const store = openArtifactStore(`s3://models?endpoint=http://127.0.0.1:${port}`, '.', {
      KILN_S3_ACCESS_KEY_ID: 'AKIA',
      KILN_S3_SECRET_ACCESS_KEY: 'secret',
    });
    const failure = store.getBytes('model.json');
    await expect(failure).rejects.toBeInstanceOf(ArtifactStoreUnavailableError);
    await expect(failure).rejects.toThrow(
      `S3 endpoint http://127.0.0.1:${port} unreachable (ECONNREFUSED) after 4 attempts`,
    );
    const probe = await probeArtifactStore(store);
    expect(probe).toMatchObject({ ok: false });
    expect(probe.detail).toMatch(/could not write .*unreachable/);
    await store.close();
  });
});

describe('local store', () => {
  it('refuses keys that lead out of the store through a symbolic link', async () => {
    const dir = tempDir();
    const outside = path.join(dir, 'outside');
    mkdirSync(outside);
    writeFileSync(path.join(outside, 'secret.txt'), 'do not read');
    const store = new LocalArtifactStore(path.join(dir, 'store'));
    await store.putBytes('inside.txt', new TextEncoder().encode('x'));
    symlinkSync(outside, path.join(dir, 'store', 'objects', 'link'));
    await expect(store.getBytes('link/secret.txt')).rejects.toThrow(
      /outside the store through a symbolic link/,
    );
    await expect(store.putBytes('link/new.txt', new Uint8Array(1))).rejects.toBeInstanceOf(UnsafeKeyError);
    await expect(store.delete('link/secret.txt')).rejects.toBeInstanceOf(UnsafeKeyError);
    expect(existsSync(path.join(outside, 'new.txt'))).toBe(false);
    expect(existsSync(path.join(outside, 'secret.txt'))).toBe(true);
    expect((await store.list('')).map((info) => info.key)).toEqual(['inside.txt']);
  });

  it('explains a key that needs an existing object to be a folder', async () => {
    const store = new LocalArtifactStore(tempDir());
    await store.putBytes('a', new Uint8Array(1));
    await expect(store.putBytes('a/b', new Uint8Array(1))).rejects.toThrow(
      /cannot hold both a key and keys under it/,
    );
  });
});
