/**
 * The artifact store: named blobs (packages, datasets, prediction logs). One interface, implementations
 * chosen by URI (file:// embedded default, s3:// for S3-compatible object storage) and held to one
 * contract-test suite. Keys are `/`-separated relative names, checked by `checkKey` before any I/O.
 */

export interface ObjectInfo {
  key: string;
  bytes: number;
  /** Hex sha256 recorded when the object was written; '' when the object carries none (not written by Kiln). */
  sha256: string;
}

export interface ArtifactStore {
  /** Display form, never contains credentials. */
  readonly uri: string;
  putBytes(key: string, body: Uint8Array): Promise<ObjectInfo>;
  /** Streams the file; multipart above a threshold on S3. */
  putFile(key: string, localPath: string): Promise<ObjectInfo>;
  /** sha256 verified: ChecksumMismatchError otherwise; ArtifactNotFoundError when absent. */
  getBytes(key: string): Promise<Uint8Array>;
  /** Streamed to a temp file beside localPath, verified, then renamed over localPath. */
  getFile(key: string, localPath: string): Promise<ObjectInfo>;
  stat(key: string): Promise<ObjectInfo | undefined>;
  /** Every key under the folder `prefix` ('' = everything), sorted; `a/b` does not include `a/bc`. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** A missing key is not an error. */
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}

/** Base class of the store's errors; `code` is the backend's own code (an S3 error name or an errno) when known. */
export class ArtifactStoreError extends Error {
  override name = 'ArtifactStoreError';
  readonly code: string | undefined;
  constructor(message: string, options: { code?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.code = options.code;
  }
}

export class ArtifactNotFoundError extends ArtifactStoreError {
  override name = 'ArtifactNotFoundError';
  constructor(
    readonly storeUri: string,
    readonly key: string,
    detail = 'not found',
  ) {
    super(`artifact "${key}" ${detail} in ${storeUri}`, { code: 'NotFound' });
  }
}

export class ChecksumMismatchError extends ArtifactStoreError {
  override name = 'ChecksumMismatchError';
  constructor(
    readonly storeUri: string,
    readonly key: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(
      expected
        ? `artifact "${key}" in ${storeUri} is corrupt: sha256 ${actual} does not match the recorded ${expected}`
        : `artifact "${key}" in ${storeUri} has no recorded sha256 (not written by Kiln), so it cannot be verified`,
      { code: 'ChecksumMismatch' },
    );
  }
}

export class UnsafeKeyError extends ArtifactStoreError {
  override name = 'UnsafeKeyError';
  constructor(
    readonly key: string,
    readonly reason: string,
  ) {
    // JSON.stringify shows control characters escaped instead of printing them.
    super(`unsafe artifact key ${JSON.stringify(key)}: ${reason}`, { code: 'UnsafeKey' });
  }
}

/** The backend could not be reached (or kept failing) after the configured retries. */
export class ArtifactStoreUnavailableError extends ArtifactStoreError {
  override name = 'ArtifactStoreUnavailableError';
  constructor(
    readonly storeUri: string,
    /** What failed, without the store URI, e.g. "S3 endpoint … unreachable (ECONNREFUSED) after 4 attempts". */
    readonly reason: string,
    options: { code?: string; cause?: unknown } = {},
  ) {
    super(`artifact store ${storeUri}: ${reason}`, options);
  }
}

/** Runs `work` over `items` with at most `limit` in flight, results in input order (for per-object requests). */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
