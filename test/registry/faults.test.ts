/**
 * Registration when the S3 gateway dies mid-publish: the real radosgw process is stopped after the
 * first object of the package is written. The registration must fail clearly and leave no version
 * row (and no event) pointing at the incomplete package.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from '../../src/registry/index.js';
import {
  type ArtifactStore,
  openArtifactStore,
  type S3ArtifactStore,
} from '../../src/stores/artifacts/index.js';
import { openMetadataStore, RegistryError } from '../../src/stores/metadata/index.js';
import { writeTinyPackage } from '../packaging/tiny-package.js';
import { type CephGateway, cephAvailable, startCephGateway } from '../support/ceph.js';

describe.skipIf(!cephAvailable)('registry when the S3 gateway stops mid-registration', () => {
  let gateway: CephGateway | undefined;
  let s3: S3ArtifactStore;
  beforeAll(async () => {
    gateway = (await startCephGateway())!;
    s3 = openArtifactStore(
      `s3://kiln/faults?endpoint=${gateway.endpoint}&region=${gateway.region}&maxAttempts=2`,
      '.',
      {
        KILN_S3_ACCESS_KEY_ID: gateway.accessKeyId,
        KILN_S3_SECRET_ACCESS_KEY: gateway.secretAccessKey,
      },
    ) as S3ArtifactStore;
    await (await s3.client()).send(new CreateBucketCommand({ Bucket: 'kiln' }));
  }, 120_000);
  afterAll(async () => {
    await s3?.close();
    await gateway?.stop();
  });

  it('fails naming the store and the cause, and records no version', async () => {
    let writes = 0;
    // Every write goes to the real gateway; after the first one lands, the gateway process is stopped.
    const dying: ArtifactStore = new Proxy(s3, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (property !== 'putFile' && property !== 'putBytes')
          return typeof value === 'function' ? value.bind(target) : value;
        return async (...args: unknown[]) => {
          if (writes++ === 1) {
            await gateway!.stop();
            gateway = undefined;
          }
          return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        };
      },
    });
    const store = openMetadataStore('sqlite://:memory:', '.');
    const registry = new Registry({
      store,
      artifacts: dying,
      cacheDir: mkdtempSync(path.join(tmpdir(), 'kiln-cache-')),
    });
    try {
      const attempt = registry.register(
        { name: 'tiny', packageDir: await writeTinyPackage() },
        { actor: 'ci' },
      );
      await expect(attempt).rejects.toThrow(RegistryError);
      await expect(attempt).rejects.toThrow(
        /cannot register tiny: publishing the package to s3:\/\/kiln\/faults failed, so no version was recorded: .*(unreachable|ECONNREFUSED)/,
      );
      expect(writes).toBeGreaterThanOrEqual(2);
      expect(await store.listModels()).toEqual([]);
      expect(await store.listVersions('tiny')).toEqual([]);
      expect(await store.listEvents()).toEqual([]);
    } finally {
      await store.close();
    }
  }, 60_000);
});
