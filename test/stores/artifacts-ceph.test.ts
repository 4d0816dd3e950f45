import { randomUUID } from 'node:crypto';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  openArtifactStore,
  probeArtifactStore,
  type S3ArtifactStore,
} from '../../src/stores/artifacts/index.js';
import { type CephGateway, cephAvailable, startCephGateway } from '../support/ceph.js';
import { artifactStoreContract, s3Hooks } from './artifact-contract.js';

const BUCKET = 'kiln-artifacts';

describe.skipIf(!cephAvailable)('S3 store on Ceph radosgw', () => {
  let gateway: CephGateway;
  const open = (secretAccessKey = gateway.secretAccessKey, prefix = `t-${randomUUID()}`): S3ArtifactStore =>
    openArtifactStore(`s3://${BUCKET}/${prefix}?endpoint=${gateway.endpoint}&region=${gateway.region}`, '.', {
      KILN_S3_ACCESS_KEY_ID: gateway.accessKeyId,
      KILN_S3_SECRET_ACCESS_KEY: secretAccessKey,
    }) as S3ArtifactStore;

  beforeAll(async () => {
    gateway = (await startCephGateway())!;
    const store = open();
    await (await store.client()).send(new CreateBucketCommand({ Bucket: BUCKET }));
    await store.close();
  }, 120_000);
  afterAll(async () => {
    await gateway?.stop();
  });

  // A fresh prefix per test keeps the tests apart in the one bucket.
  artifactStoreContract('ceph radosgw', async () => open(), s3Hooks);

  it('probes with a wrong secret and says access is denied, without the secret', async () => {
    const store = open('not-the-secret');
    const probe = await probeArtifactStore(store);
    expect(probe.ok).toBe(false);
    expect(probe.detail).toMatch(/access denied.*SignatureDoesNotMatch/);
    expect(probe.detail).not.toContain('not-the-secret');
    await store.close();
  });
});
