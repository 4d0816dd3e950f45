import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';

export interface S3rverHandle {
  endpoint: string;
  bucket: string;
  region: string;
  /** s3rver checks signatures against these fixed credentials. */
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

/** An in-process s3rver on 127.0.0.1 (a free port), storing in a temp folder, with `bucket` created. */
export async function startS3rver(bucket = 'kiln-test'): Promise<S3rverHandle> {
  const directory = mkdtempSync(path.join(tmpdir(), 'kiln-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    region: 'us-east-1',
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    stop: async () => {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
