/**
 * The customer-risk example end to end (train → register → serve name@champion → predict) on the
 * embedded defaults and on PostgreSQL + S3 (a real Ceph gateway), with identical results.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadProject } from '../../src/config/load.js';
import { openProjectBackends } from '../../src/registry/index.js';
import { buildServer } from '../../src/serving/server/app.js';
import { RegistrySource } from '../../src/serving/server/sources.js';
import { trainProject } from '../../src/training/train.js';
import { type CephGateway, cephAvailable, startCephGateway } from '../support/ceph.js';
import { type PostgresServer, postgresAvailable, startPostgres } from '../support/postgres.js';
import { hasSharedDataset, repoRoot, sharedDatasets } from './shared-data.js';

const example = path.join(repoRoot, 'examples', 'customer-risk');

/** The first rows of the real data, as a client would send them (no target). */
function records(n: number): Record<string, unknown>[] {
  const [header, ...lines] = readFileSync(path.join(sharedDatasets, 'customer-risk', 'train.csv'), 'utf8')
    .trim()
    .split('\n');
  const names = header.split(',');
  return lines.slice(0, n).map((line) => {
    const cells = line.split(',');
    const record: Record<string, unknown> = {};
    names.forEach((name, i) => {
      if (name === 'target') return;
      const cell = cells[i];
      record[name] = name === 'product' || name === 'age' ? cell : cell === '' ? null : Number(cell);
    });
    return record;
  });
}

async function endToEnd(env: Record<string, string>) {
  vi.unstubAllEnvs();
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  const loaded = await loadProject(example);
  const trained = await trainProject(loaded);
  expect(trained.registered?.version).toBe(1);
  const backends = openProjectBackends(loaded);
  try {
    await backends.registry.moveAlias(
      { name: 'customer-risk', alias: 'champion', version: 1 },
      { actor: 'ci' },
    );
    const app = buildServer({ sources: [new RegistrySource(backends.registry, 'customer-risk@champion')] });
    try {
      await app.kiln.ready;
      const response = await app.inject({
        method: 'POST',
        url: '/v1/models/customer-risk/predict',
        payload: records(200),
      });
      expect(response.statusCode).toBe(200);
      const version = (await backends.registry.resolve('customer-risk@champion'))!;
      const packageDir = await backends.registry.fetch(version);
      return {
        metrics: trained.run.metrics,
        probabilities: (response.json().predictions as { probabilities: Record<string, number> }[]).map(
          (p) => p.probabilities,
        ),
        weights: readFileSync(path.join(packageDir, 'weights.safetensors')),
        packageUri: version.packageUri,
        runUri: trained.run.packageUri,
      };
    } finally {
      await app.close();
    }
  } finally {
    await backends.close();
    vi.unstubAllEnvs();
  }
}

describe.skipIf(!hasSharedDataset('customer-risk') || !postgresAvailable || !cephAvailable)(
  'customer-risk on the embedded defaults and on PostgreSQL + Ceph S3',
  () => {
    let postgres: PostgresServer;
    let ceph: CephGateway;
    beforeAll(async () => {
      [postgres, ceph] = (await Promise.all([startPostgres(), startCephGateway()])) as [
        PostgresServer,
        CephGateway,
      ];
      const s3 = new S3Client({
        endpoint: ceph.endpoint,
        region: ceph.region,
        forcePathStyle: true,
        credentials: { accessKeyId: ceph.accessKeyId, secretAccessKey: ceph.secretAccessKey },
      });
      await s3.send(new CreateBucketCommand({ Bucket: 'kiln' }));
      s3.destroy();
    }, 120_000);
    afterAll(async () => {
      await Promise.allSettled([postgres?.destroy(), ceph?.stop()]);
    });

    it('trains, registers, serves and predicts identically', async () => {
      const scratch = mkdtempSync(path.join(tmpdir(), 'kiln-backends-'));
      const embedded = await endToEnd({
        KILN_METADATA_URI: `sqlite://${path.join(scratch, 'kiln.db')}`,
        KILN_ARTIFACTS_URI: `file://${path.join(scratch, 'artifacts')}`,
        KILN_LOCAL_DIR: path.join(scratch, 'local-embedded'),
      });
      const production = await endToEnd({
        KILN_METADATA_URI: `${postgres.uri}?schema=kiln_${randomUUID().slice(0, 8)}`,
        KILN_ARTIFACTS_URI: `s3://kiln/customer-risk?endpoint=${ceph.endpoint}&region=${ceph.region}`,
        KILN_S3_ACCESS_KEY_ID: ceph.accessKeyId,
        KILN_S3_SECRET_ACCESS_KEY: ceph.secretAccessKey,
        KILN_LOCAL_DIR: path.join(scratch, 'local-production'),
      });
      expect(embedded.packageUri).toMatch(new RegExp(`^file://${scratch}/artifacts/packages/[0-9a-f]{64}$`));
      expect(production.packageUri).toMatch(/^s3:\/\/kiln\/customer-risk\/packages\/[0-9a-f]{64}$/);
      expect(production.runUri).toBe(production.packageUri);
      expect(production.metrics).toEqual(embedded.metrics);
      expect(production.weights.equals(embedded.weights)).toBe(true);
      expect(production.probabilities).toEqual(embedded.probabilities);
      expect(production.probabilities).toHaveLength(200);
    }, 180_000);
  },
);
