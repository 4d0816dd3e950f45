import { randomBytes, randomUUID } from 'node:crypto';
import {
  type ArtifactStore,
  ArtifactStoreError,
  ArtifactStoreUnavailableError,
  ChecksumMismatchError,
} from './store.js';

/**
 * Writes, reads back (verified) and deletes `.kiln-probe/<uuid>`, and says in plain words what failed:
 * for `kiln doctor`. Never throws.
 */
export async function probeArtifactStore(store: ArtifactStore): Promise<{ ok: boolean; detail: string }> {
  const key = `.kiln-probe/${randomUUID()}`;
  const body = randomBytes(64);
  let step = 'write';
  try {
    await store.putBytes(key, body);
    step = 'read back';
    const read = await store.getBytes(key);
    if (!Buffer.from(read).equals(body)) throw new Error('the bytes read back differ from those written');
    step = 'delete';
    await store.delete(key);
    return { ok: true, detail: `${store.uri}: wrote, read back and deleted ${key}` };
  } catch (error) {
    return { ok: false, detail: `${store.uri}: could not ${step} ${key}: ${explain(error)}` };
  }
}

/** Plain words for what went wrong; the backend's own message only where there is nothing plainer to say. */
function explain(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof ArtifactStoreUnavailableError) return error.reason;
  if (error instanceof ChecksumMismatchError)
    return `the data read back is not what was written (${message})`;
  const code = error instanceof ArtifactStoreError ? error.code : (error as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'NoSuchBucket':
      return 'the bucket does not exist (NoSuchBucket)';
    case 'AccessDenied':
    case 'Forbidden':
    case 'InvalidAccessKeyId':
    case 'SignatureDoesNotMatch':
    case 'EACCES':
    case 'EPERM':
      return `access denied, check the credentials and permissions (${code})`;
    case 'EROFS':
      return 'the file system is read-only (EROFS)';
    case 'ENOSPC':
      return 'no space left (ENOSPC)';
    default:
      return message;
  }
}
