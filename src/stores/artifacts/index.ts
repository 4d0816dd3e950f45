import path from 'node:path';
import { kilnS3Credentials } from './credentials.js';
import { checkKey } from './keys.js';
import { LocalArtifactStore } from './local.js';
import { S3ArtifactStore } from './s3.js';
import type { ArtifactStore } from './store.js';

export { kilnS3Credentials, type S3Credentials } from './credentials.js';
export {
  DirectoryDigestMismatchError,
  type DirectoryEntry,
  type DirectoryIndex,
  directoryDigest,
  fetchDirectory,
  INDEX_NAME,
  isPublished,
  type PublishedDirectory,
  publishDirectory,
} from './directory.js';
export { checkKey, MAX_KEY_BYTES } from './keys.js';
export { LocalArtifactStore } from './local.js';
export { probeArtifactStore } from './probe.js';
export { S3ArtifactStore, type S3StoreOptions } from './s3.js';
export {
  ArtifactNotFoundError,
  type ArtifactStore,
  ArtifactStoreError,
  ArtifactStoreUnavailableError,
  ChecksumMismatchError,
  type ObjectInfo,
  UnsafeKeyError,
} from './store.js';

const SUPPORTED =
  'supported: file:///absolute/path, file://path/relative/to/the/project, ' +
  's3://bucket[/prefix][?endpoint=http://host:port&region=us-east-1&maxAttempts=4]';

const S3_PARAMETERS = ['endpoint', 'region', 'maxAttempts'];

const CREDENTIALS_FROM_ENV =
  'credentials come only from the environment: KILN_S3_ACCESS_KEY_ID and KILN_S3_SECRET_ACCESS_KEY ' +
  '(or KILN_S3_ACCESS_KEY_ID_FILE and KILN_S3_SECRET_ACCESS_KEY_FILE naming secret files), ' +
  'or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY';

/**
 * Opens the artifact store a URI names; `KILN_ARTIFACTS_URI` overrides the project's setting.
 * - `file:///abs/path`; `file://relative/path` resolves against `baseDir`.
 * - `s3://bucket/optional/prefix?endpoint=…&region=…&maxAttempts=…`. What the URI leaves out comes from
 *   KILN_S3_ENDPOINT or AWS_ENDPOINT_URL_S3, KILN_S3_REGION or AWS_REGION (else us-east-1) and
 *   KILN_S3_MAX_ATTEMPTS (else 4). Credentials are never accepted in the URI: see `kilnS3Credentials`.
 */
export function openArtifactStore(
  uri: string,
  baseDir: string,
  env: NodeJS.ProcessEnv = process.env,
): ArtifactStore {
  const effective = env.KILN_ARTIFACTS_URI || uri;
  const scheme = effective.includes('://') ? effective.slice(0, effective.indexOf('://')) : '';
  switch (scheme) {
    case 'file':
      return new LocalArtifactStore(fileLocation(effective, baseDir));
    case 's3':
      return new S3ArtifactStore({ ...s3Location(effective, env), credentials: kilnS3Credentials(env) });
    default:
      throw new Error(`unsupported artifact store URI "${describeArtifactStore(effective)}" (${SUPPORTED})`);
  }
}

/** A URI for display and logs: user info in it and credential-like query parameters are masked. */
export function describeArtifactStore(uri: string): string {
  const queryStart = uri.indexOf('?');
  const head = maskUserInfo(queryStart < 0 ? uri : uri.slice(0, queryStart));
  if (queryStart < 0) return head;
  const params = [...new URLSearchParams(uri.slice(queryStart + 1))].map(
    ([name, value]) => `${name}=${isCredentialName(name) ? '***' : maskUserInfo(value)}`,
  );
  return `${head}?${params.join('&')}`;
}

function fileLocation(uri: string, baseDir: string): string {
  const location = uri.slice('file://'.length);
  if (!location) throw new Error(`artifact URI ${uri} names no folder (${SUPPORTED})`);
  if (location.includes('?')) throw new Error(`artifact URI ${uri}: file:// URIs take no parameters`);
  return path.resolve(baseDir, location);
}

function s3Location(
  uri: string,
  env: NodeJS.ProcessEnv,
): { bucket: string; prefix: string; endpoint?: string; region: string; maxAttempts: number } {
  const shown = describeArtifactStore(uri);
  const rest = uri.slice('s3://'.length);
  const queryStart = rest.indexOf('?');
  const location = queryStart < 0 ? rest : rest.slice(0, queryStart);
  const query = new URLSearchParams(queryStart < 0 ? '' : rest.slice(queryStart + 1));
  for (const name of query.keys()) {
    if (isCredentialName(name)) {
      throw new Error(`artifact URI ${shown} carries credentials ("${name}"); ${CREDENTIALS_FROM_ENV}`);
    }
    if (!S3_PARAMETERS.includes(name)) {
      throw new Error(
        `artifact URI ${shown}: unknown parameter "${name}" (known: ${S3_PARAMETERS.join(', ')})`,
      );
    }
  }

  const slash = location.indexOf('/');
  const bucket = slash < 0 ? location : location.slice(0, slash);
  if (bucket.includes('@'))
    throw new Error(`artifact URI ${shown} carries credentials; ${CREDENTIALS_FROM_ENV}`);
  // S3's bucket naming rules; path-style requests put the name in the path, so it must be plain.
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new Error(`artifact URI ${shown}: "${bucket}" is not a valid bucket name (${SUPPORTED})`);
  }
  const prefix = slash < 0 ? '' : location.slice(slash + 1).replace(/\/+$/, '');
  if (prefix) checkKey(prefix);

  const endpoint = query.get('endpoint') || env.KILN_S3_ENDPOINT || env.AWS_ENDPOINT_URL_S3 || undefined;
  if (endpoint !== undefined) checkEndpoint(endpoint, shown);
  const region = query.get('region') || env.KILN_S3_REGION || env.AWS_REGION || 'us-east-1';
  const attemptsText = query.get('maxAttempts') || env.KILN_S3_MAX_ATTEMPTS || '4';
  const maxAttempts = Number(attemptsText);
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 20) {
    throw new Error(
      `artifact URI ${shown}: maxAttempts must be a whole number from 1 to 20, not "${attemptsText}"`,
    );
  }
  return { bucket, prefix, ...(endpoint ? { endpoint } : {}), region, maxAttempts };
}

function checkEndpoint(endpoint: string, shown: string): void {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new Error(`artifact URI ${shown}: S3 endpoint "${maskUserInfo(endpoint)}" is not a URL`);
  }
  if (url.username || url.password) {
    throw new Error(`S3 endpoint ${maskUserInfo(endpoint)} carries credentials; ${CREDENTIALS_FROM_ENV}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`artifact URI ${shown}: S3 endpoint "${endpoint}" must be http:// or https://`);
  }
}

function isCredentialName(name: string): boolean {
  const plain = name.toLowerCase().replace(/[^a-z]/g, '');
  return ['secret', 'password', 'token', 'accesskey', 'credential'].some((word) => plain.includes(word));
}

function maskUserInfo(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1***@');
}

/** Where a store keeps objects, without its connection settings (endpoint, region): the base of artifact URIs. */
export function artifactLocation(store: ArtifactStore): string {
  return store.uri.split('?')[0];
}
