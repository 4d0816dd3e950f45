import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * A package's record of its own content, the `integrity` member of manifest.json:
 *
 *   "integrity": { "algorithm": "sha256", "files": { "weights.safetensors": "<hex>", "model.onnx": "<hex>" },
 *                  "manifest": "<hex>" }
 *
 * `files` holds the sha256 of every other file of the package. `manifest` is the sha256 of the
 * manifest's canonical JSON with only `integrity.manifest` left out: a file cannot hold its own hash,
 * and leaving out that one member (not the whole `integrity`) keeps the file digests themselves covered,
 * so editing a weight and its recorded digest together is still caught. The digests stay inside
 * manifest.json rather than in a separate file so a package remains the manifest plus its weights for
 * any runtime. Canonical JSON (keys sorted by UTF-16 code units, no whitespace, numbers and strings as
 * JSON.stringify writes them: RFC 8785 for the values a manifest holds) makes the digest a function of
 * the manifest's content, not of its layout: re-indenting it is not a change, editing any value is.
 *
 * These are unkeyed digests: they catch a package changed after it was written (a hand edit, a bad
 * copy), not someone who rewrites the digests too. The registry's package digest, kept in the metadata
 * store, is what protects a registered package from that.
 */
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lowercase hex sha256');

export const integritySchema = z.object({
  algorithm: z.literal('sha256'),
  files: z.record(z.string(), sha256Hex),
  manifest: sha256Hex,
});

export type Integrity = z.infer<typeof integritySchema>;

export function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** `manifest` (plain JSON-able data, without `integrity`) with its integrity record for `files`. */
export function sealManifest<M extends object>(
  manifest: M,
  files: Record<string, Uint8Array>,
): M & { integrity: Integrity } {
  const digests = Object.fromEntries(Object.entries(files).map(([name, bytes]) => [name, sha256(bytes)]));
  // Digested as it will read back from the file: JSON drops undefined members, writes NaN as null.
  const unsealed = JSON.parse(
    JSON.stringify({ ...manifest, integrity: { algorithm: 'sha256', files: digests } }),
  );
  return {
    ...manifest,
    integrity: { algorithm: 'sha256', files: digests, manifest: sha256(canonicalJson(unsealed)) },
  };
}

/** The digest `raw` (manifest.json as parsed, sealed) should record for itself. */
export function manifestDigest(raw: Record<string, unknown>): string {
  const { manifest: _own, ...integrity } = raw.integrity as Record<string, unknown>;
  return sha256(canonicalJson({ ...raw, integrity }));
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
