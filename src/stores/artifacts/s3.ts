import { open, readFile, stat as statFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import type { S3Credentials } from './credentials.js';
import { checkKey, checkPrefix, isValidKey } from './keys.js';
import { compareKeys, receiveVerified, sha256File, sha256Hex } from './local.js';
import {
  ArtifactNotFoundError,
  type ArtifactStore,
  ArtifactStoreError,
  ArtifactStoreUnavailableError,
  ChecksumMismatchError,
  mapLimit,
  type ObjectInfo,
} from './store.js';

const MiB = 1024 * 1024;

export interface S3StoreOptions {
  bucket: string;
  /** Key prefix inside the bucket ('' = the whole bucket); already checked as a key. */
  prefix: string;
  /** S3-compatible endpoint (radosgw, MinIO, s3rver); path-style addressing is used when set. */
  endpoint?: string;
  region: string;
  /** Explicit credentials; otherwise the AWS SDK's default chain. */
  credentials?: S3Credentials;
  /** Attempts per request, retried with exponential backoff (SDK standard mode). Default 4. */
  maxAttempts?: number;
  /** Files larger than this go up as multipart uploads. Default 8 MiB. */
  multipartThreshold?: number;
  /** Multipart part size. Default 8 MiB (S3's minimum is 5 MiB). */
  partSize?: number;
  /** Connecting gives up after this many ms, so an unreachable endpoint fails within seconds. Default 3000. */
  connectionTimeout?: number;
  /** A connection idle this long fails; an idle limit, not a total, so large transfers are not cut. Default 30000. */
  socketTimeout?: number;
}

/** The user metadata key holding the object's sha256 (`x-amz-meta-sha256` on the wire). */
const SHA256_METADATA = 'sha256';

interface Sdk {
  s3: typeof import('@aws-sdk/client-s3');
  Upload: typeof import('@aws-sdk/lib-storage').Upload;
  NodeHttpHandler: typeof import('@smithy/node-http-handler').NodeHttpHandler;
}

let sdkLoading: Promise<Sdk> | undefined;

/** The AWS SDK loads on a store's first request: ~0.2 s of start-up that runs on file:// stores never need. */
function loadSdk(): Promise<Sdk> {
  sdkLoading ??= Promise.all([
    import('@aws-sdk/client-s3'),
    import('@aws-sdk/lib-storage'),
    import('@smithy/node-http-handler'),
  ]).then(([s3, storage, http]) => ({ s3, Upload: storage.Upload, NodeHttpHandler: http.NodeHttpHandler }));
  return sdkLoading;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

/** Objects in an S3 bucket under an optional prefix; each object's sha256 travels as its metadata. */
export class S3ArtifactStore implements ArtifactStore {
  readonly uri: string;
  readonly bucket: string;
  readonly prefix: string;
  private readonly options: S3StoreOptions;
  private connection?: Promise<{ sdk: Sdk; client: S3Client }>;
  private readonly endpointName: string;
  private readonly multipartThreshold: number;
  private readonly partSize: number;

  constructor(options: S3StoreOptions) {
    this.bucket = options.bucket;
    this.prefix = options.prefix;
    this.multipartThreshold = options.multipartThreshold ?? 8 * MiB;
    this.partSize = options.partSize ?? 8 * MiB;
    this.endpointName = options.endpoint ?? `AWS S3 (${options.region})`;
    this.uri = describeS3({
      bucket: this.bucket,
      prefix: this.prefix,
      endpoint: options.endpoint,
      region: options.region,
    });
    this.options = options;
  }

  /** The SDK client (created on first use), for tools and tests that need requests the interface does not offer. */
  async client(): Promise<S3Client> {
    return (await this.connect()).client;
  }

  private connect(): Promise<{ sdk: Sdk; client: S3Client }> {
    const options = this.options;
    this.connection ??= loadSdk().then((sdk) => ({
      sdk,
      client: new sdk.s3.S3Client({
        region: options.region,
        ...(options.endpoint ? { endpoint: options.endpoint, forcePathStyle: true } : {}),
        ...(options.credentials ? { credentials: options.credentials } : {}),
        maxAttempts: options.maxAttempts ?? 4,
        retryMode: 'standard',
        // s3rver and radosgw 16 reject the CRC checksums the SDK now sends by default; Kiln verifies sha256 itself.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        requestHandler: new sdk.NodeHttpHandler({
          connectionTimeout: options.connectionTimeout ?? 3000,
          socketTimeout: options.socketTimeout ?? 30_000,
        }),
      }),
    }));
    return this.connection;
  }

  /** Creates the bucket when it does not exist; true when it was created. For `kiln doctor --create-bucket`. */
  async ensureBucket(): Promise<boolean> {
    try {
      await this.send(undefined, (client, sdk) =>
        client.send(new sdk.s3.HeadBucketCommand({ Bucket: this.bucket })),
      );
      return false;
    } catch (error) {
      if (
        (error as ArtifactStoreError).code !== 'NotFound' &&
        (error as ArtifactStoreError).code !== 'NoSuchBucket'
      )
        throw error;
    }
    await this.send(undefined, (client, sdk) =>
      client.send(new sdk.s3.CreateBucketCommand({ Bucket: this.bucket })),
    );
    return true;
  }

  async putBytes(key: string, body: Uint8Array): Promise<ObjectInfo> {
    checkKey(key);
    const sha256 = sha256Hex(body);
    await this.send(key, (client, sdk) =>
      client.send(
        new sdk.s3.PutObjectCommand({
          Bucket: this.bucket,
          Key: this.objectKey(key),
          Body: body,
          ContentLength: body.byteLength,
          Metadata: { [SHA256_METADATA]: sha256 },
        }),
      ),
    );
    return { key, bytes: body.byteLength, sha256 };
  }

  async putFile(key: string, localPath: string): Promise<ObjectInfo> {
    checkKey(key);
    if ((await statFile(localPath)).size <= this.multipartThreshold) {
      return this.putBytes(key, await readFile(localPath));
    }
    // The sha256 goes in the metadata, which S3 fixes when the upload starts: hash first, then stream.
    const { bytes, sha256 } = await sha256File(localPath);
    const body = (await open(localPath)).createReadStream();
    try {
      await this.send(key, (client, sdk) =>
        new sdk.Upload({
          client,
          params: {
            Bucket: this.bucket,
            Key: this.objectKey(key),
            Body: body,
            Metadata: { [SHA256_METADATA]: sha256 },
          },
          partSize: this.partSize,
          queueSize: 4,
          leavePartsOnError: false,
        }).done(),
      );
    } finally {
      body.destroy();
    }
    return { key, bytes, sha256 };
  }

  async getBytes(key: string): Promise<Uint8Array> {
    checkKey(key);
    return this.send(key, async (client, sdk) => {
      const response = await client.send(
        new sdk.s3.GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }),
      );
      const body = await response.Body!.transformToByteArray();
      const expected = response.Metadata?.[SHA256_METADATA] ?? '';
      const actual = sha256Hex(body);
      if (actual !== expected) throw new ChecksumMismatchError(this.uri, key, expected, actual);
      return body;
    });
  }

  async getFile(key: string, localPath: string): Promise<ObjectInfo> {
    checkKey(key);
    return this.send(key, async (client, sdk) => {
      const response = await client.send(
        new sdk.s3.GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }),
      );
      return receiveVerified(response.Body as Readable, localPath, {
        storeUri: this.uri,
        key,
        expected: response.Metadata?.[SHA256_METADATA] ?? '',
      });
    });
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    return this.head(checkKey(key));
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const folder = checkPrefix(prefix);
    const keys: string[] = [];
    let continuationToken: string | undefined;
    do {
      const page = await this.send(undefined, (client, sdk) =>
        client.send(
          new sdk.s3.ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.objectKey(folder),
            ContinuationToken: continuationToken,
          }),
        ),
      );
      for (const object of page.Contents ?? []) keys.push(object.Key!.slice(this.objectKey('').length));
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuationToken);
    // Listings carry no user metadata: one HEAD per object fetches its sha256. Objects other tools
    // wrote under names that are not valid keys could not be read through this store: not listed.
    const infos = await mapLimit(keys.filter(isValidKey), 8, (key) => this.head(key));
    return infos.filter((info): info is ObjectInfo => info !== undefined).sort(compareKeys);
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    await this.send(key, (client, sdk) =>
      client.send(new sdk.s3.DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) })),
    );
  }

  async close(): Promise<void> {
    if (this.connection) (await this.connection).client.destroy();
  }

  private async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      return await this.send(key, async (client, sdk) => {
        const head = await client.send(
          new sdk.s3.HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }),
        );
        return { key, bytes: head.ContentLength ?? 0, sha256: head.Metadata?.[SHA256_METADATA] ?? '' };
      });
    } catch (error) {
      if (error instanceof ArtifactNotFoundError) return undefined;
      throw error;
    }
  }

  /** The bucket key of a store key. */
  objectKey(key: string): string {
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  /** Runs one request, translating SDK failures into the store's errors. */
  private async send<T>(
    key: string | undefined,
    request: (client: S3Client, sdk: Sdk) => Promise<T>,
  ): Promise<T> {
    const { client, sdk } = await this.connect();
    try {
      return await request(client, sdk);
    } catch (error) {
      throw this.translate(error, key);
    }
  }

  private translate(error: unknown, key: string | undefined): Error {
    if (error instanceof ArtifactStoreError) return error;
    const failure = error as {
      name?: string;
      code?: string;
      message?: string;
      cause?: { code?: string };
      errors?: { code?: string }[];
      $metadata?: { httpStatusCode?: number; attempts?: number };
    };
    const name = failure.name ?? 'Error';
    const status = failure.$metadata?.httpStatusCode;
    const attempts = failure.$metadata?.attempts ?? 1;
    const tries = `after ${attempts} attempt${attempts === 1 ? '' : 's'}`;
    // Node reports a refused connection on the error itself, its cause, or (dual-stack) inside an AggregateError.
    const code = failure.code ?? failure.cause?.code ?? failure.errors?.[0]?.code;
    if (key !== undefined && (name === 'NoSuchKey' || (status === 404 && name !== 'NoSuchBucket'))) {
      return new ArtifactNotFoundError(this.uri, key);
    }
    if ((code && NETWORK_CODES.has(code)) || name === 'TimeoutError') {
      return new ArtifactStoreUnavailableError(
        this.uri,
        `S3 endpoint ${this.endpointName} unreachable (${code ?? name}) ${tries}`,
        { code: code ?? name, cause: error },
      );
    }
    if (status !== undefined && status >= 500) {
      return new ArtifactStoreUnavailableError(
        this.uri,
        `S3 endpoint ${this.endpointName} failed with HTTP ${status} (${name}) ${tries}`,
        { code: name, cause: error },
      );
    }
    if (name === 'CredentialsProviderError') {
      return new ArtifactStoreError(
        `${this.uri}: no S3 credentials found; set KILN_S3_ACCESS_KEY_ID and KILN_S3_SECRET_ACCESS_KEY ` +
          '(or their _FILE variants), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
        { code: 'CredentialsMissing', cause: error },
      );
    }
    const what = key === undefined ? 'listing' : `"${key}"`;
    const httpStatus = status === undefined ? '' : ` (HTTP ${status})`;
    return new ArtifactStoreError(
      `${this.uri}: ${what} failed: ${name}${httpStatus}: ${failure.message ?? ''}`,
      {
        code: name,
        cause: error,
      },
    );
  }
}

/** The display form of an S3 location: reopenable, with no credentials (they never enter the URI). */
function describeS3(location: { bucket: string; prefix: string; endpoint?: string; region: string }): string {
  const query = new URLSearchParams();
  if (location.endpoint) query.set('endpoint', location.endpoint);
  query.set('region', location.region);
  return `s3://${location.bucket}${location.prefix ? `/${location.prefix}` : ''}?${decodeURIComponent(query.toString())}`;
}
