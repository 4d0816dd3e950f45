import { UnsafeKeyError } from './store.js';

/** S3's own limit, in UTF-8 bytes; local file systems allow longer paths, but keys must work everywhere. */
export const MAX_KEY_BYTES = 1024;

/**
 * Checks a user-supplied artifact key and returns it unchanged; throws UnsafeKeyError naming the key and
 * the reason. Every store method calls it first, so no key can address anything outside the store.
 */
export function checkKey(key: string): string {
  const reason = unsafeReason(key);
  if (reason) throw new UnsafeKeyError(key, reason);
  return key;
}

/** True when `key` passes checkKey: for names found in a backend, which may not all be valid keys. */
export function isValidKey(key: string): boolean {
  return unsafeReason(key) === undefined;
}

/**
 * Checks a list prefix: '' (everything) or a key, with one trailing '/' tolerated. Returns the prefix as
 * a folder ('' or ending in '/') so `a/b` never matches `a/bc`.
 */
export function checkPrefix(prefix: string): string {
  if (prefix === '') return '';
  const folder = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  const reason = unsafeReason(folder);
  if (reason) throw new UnsafeKeyError(prefix, reason);
  return `${folder}/`;
}

function unsafeReason(key: string): string | undefined {
  if (typeof key !== 'string') return 'not a string';
  if (key === '') return 'empty';
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) return `longer than ${MAX_KEY_BYTES} bytes`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this rejects
  if (/[\u0000-\u001f\u007f]/.test(key)) return 'contains a control character';
  if (key.includes('\\')) return 'contains a backslash';
  if (key.startsWith('/')) return 'absolute path';
  if (/^[A-Za-z]:/.test(key)) return 'absolute path (drive letter)';
  for (const segment of key.split('/')) {
    if (segment === '') return 'empty path segment';
    if (segment === '.' || segment === '..') return `"${segment}" path segment`;
  }
  return undefined;
}
