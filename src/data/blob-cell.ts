/**
 * Blob cells: base64 text (standard or URL-safe alphabet, padding optional, line breaks allowed, or a
 * `data:<type>;base64,` URL), at most `maxBytes` once decoded, and of one of `mediaTypes` when the
 * column declares them (recognised by the leading bytes, not by what the sender claims).
 */
import { type BlobMediaType, type ColumnSpec, DEFAULT_BLOB_MAX_BYTES } from '../config/schema.js';
import { type CellProblem, describeJson } from './cells.js';

const BASE64_CHAR = /[^A-Za-z0-9+/_-]/;
const DATA_URL = /^data:([^,]*?)(;base64)?,/i;

export type BlobDecoder = (value: unknown) => Uint8Array | CellProblem;

export function blobDecoder(spec: ColumnSpec): BlobDecoder {
  const maxBytes = spec.maxBytes ?? DEFAULT_BLOB_MAX_BYTES;
  const allowed = spec.mediaTypes ?? null;
  const problem = (reason: string): CellProblem => ({ pointer: '', place: '', reason });
  return (value) => {
    if (typeof value !== 'string') return problem(`expected a base64 string, got ${describeJson(value)}`);
    let text = value;
    const url = DATA_URL.exec(text);
    if (url) {
      if (!url[2]) return problem('not base64: a data URL here must say ";base64,"');
      text = text.slice(url[0].length);
    }
    if (/\s/.test(text)) text = text.replace(/\s+/g, '');
    const body = text.replace(/={1,2}$/, '');
    if (BASE64_CHAR.test(body)) {
      const at = firstBadCharacter(value, url ? url[0].length : 0);
      return problem(`not base64 (character ${at} is ${JSON.stringify(value[at])})`);
    }
    if (body.length % 4 === 1 || (body.length !== text.length && text.length % 4 !== 0))
      return problem(`not base64 (${text.length} characters: the length or the "=" padding is wrong)`);
    // The decoded size, known before decoding, so an oversized blob is never allocated.
    const size = Math.floor((body.length * 3) / 4);
    if (size > maxBytes) {
      const [have, limit] = sizes(size, maxBytes);
      return problem(`${have}, more than maxBytes ${limit}`);
    }
    const decoded = Buffer.from(body, 'base64');
    // A copy of small blobs, which Node decodes into a shared pool: a cell owns its whole buffer.
    const bytes =
      decoded.byteLength === decoded.buffer.byteLength
        ? new Uint8Array(decoded.buffer)
        : new Uint8Array(decoded);
    if (allowed !== null) {
      const type = sniffMediaType(bytes);
      if (type === null || !allowed.includes(type))
        return problem(
          `${type === null ? 'content of no known media type' : `${type} content`}, not one of ${allowed.join(', ')}`,
        );
    }
    return bytes;
  };
}

/** Where in `value` the first character that is not base64 is (white space and end padding allowed). */
function firstBadCharacter(value: string, from: number): number {
  let end = value.length;
  while (end > from && /[\s=]/.test(value[end - 1])) end--;
  for (let i = from; i < end; i++) if (BASE64_CHAR.test(value[i]) && !/\s/.test(value[i])) return i;
  return end;
}

/** Both sizes in the same words, in bytes when the rounded units would read the same. */
function sizes(size: number, limit: number): [string, string] {
  const a = formatBytes(size);
  const b = formatBytes(limit);
  return a === b ? [`${size} bytes`, `${limit} bytes`] : [a, b];
}

/** `512 bytes`, `3.5 KiB`, `9 MiB`. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} byte${n === 1 ? '' : 's'}`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number(value.toFixed(1))} ${units[unit]}`;
}

const ascii = (bytes: Uint8Array, at: number, text: string) => {
  for (let i = 0; i < text.length; i++) if (bytes[at + i] !== text.charCodeAt(i)) return false;
  return true;
};
const starts = (bytes: Uint8Array, prefix: readonly number[]) => prefix.every((b, i) => bytes[i] === b);

/** Leading bytes of each media type, as its format defines them. */
const SIGNATURES: Record<BlobMediaType, (bytes: Uint8Array) => boolean> = {
  'image/png': (b) => starts(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  'image/jpeg': (b) => starts(b, [0xff, 0xd8, 0xff]),
  'image/gif': (b) => ascii(b, 0, 'GIF87a') || ascii(b, 0, 'GIF89a'),
  'image/webp': (b) => ascii(b, 0, 'RIFF') && ascii(b, 8, 'WEBP'),
  'image/bmp': (b) => ascii(b, 0, 'BM'),
  'image/tiff': (b) => starts(b, [0x49, 0x49, 0x2a, 0x00]) || starts(b, [0x4d, 0x4d, 0x00, 0x2a]),
  'application/pdf': (b) => ascii(b, 0, '%PDF-'),
  'audio/wav': (b) => ascii(b, 0, 'RIFF') && ascii(b, 8, 'WAVE'),
};

/** The media type the bytes start like, or null. */
export function sniffMediaType(bytes: Uint8Array): BlobMediaType | null {
  for (const [type, matches] of Object.entries(SIGNATURES)) if (matches(bytes)) return type as BlobMediaType;
  return null;
}

/** A 1×1 PNG: the sample blob of a column that takes PNG. */
const PNG_1X1 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

/** Leading bytes that pass the check of each media type (12 bytes: RIFF types name theirs at 8). */
const SAMPLE_HEADERS: Record<BlobMediaType, number[]> = {
  'image/png': [...Buffer.from(PNG_1X1, 'base64')],
  'image/jpeg': [0xff, 0xd8, 0xff, 0xe0],
  'image/gif': [...Buffer.from('GIF89a')],
  'image/webp': [...Buffer.from('RIFF\0\0\0\0WEBP')],
  'image/bmp': [...Buffer.from('BM')],
  'image/tiff': [0x49, 0x49, 0x2a, 0x00],
  'application/pdf': [...Buffer.from('%PDF-1.4\n')],
  'audio/wav': [...Buffer.from('RIFF\0\0\0\0WAVE')],
};

/**
 * A blob every decoder of `spec` accepts, as base64 (e.g. a probe row): a 1×1 PNG where PNG is
 * allowed, else the leading bytes of the first declared media type; cut to `maxBytes`.
 */
export function sampleBlob(spec: ColumnSpec): string {
  const type = spec.mediaTypes?.includes('image/png') !== false ? 'image/png' : spec.mediaTypes![0];
  const bytes = SAMPLE_HEADERS[type].slice(0, spec.maxBytes ?? DEFAULT_BLOB_MAX_BYTES);
  return Buffer.from(bytes).toString('base64');
}
