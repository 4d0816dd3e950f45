/**
 * API keys: the server only ever holds SHA-256 hashes of keys (from `KILN_API_KEYS_SHA256` or a secret
 * file), hashes the presented bearer key and compares in constant time against every stored hash.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyReply, FastifyRequest } from 'fastify';

const HEX_SHA256 = /^[0-9a-f]{64}$/;

/** Parses hex SHA-256 hashes separated by commas, whitespace or lines (`#` starts a comment). */
export function parseKeyHashes(text: string, where: string): Buffer[] {
  const hashes = text
    .split('\n')
    .map((line) => line.replace(/#.*/, ''))
    .join(',')
    .split(/[\s,]+/)
    .filter((h) => h !== '')
    .map((h) => h.toLowerCase());
  // Nothing of a bad entry is printed: it may be a plain key pasted where its hash belongs.
  hashes.forEach((h, i) => {
    if (!HEX_SHA256.test(h))
      throw new Error(
        `${where}: entry ${i + 1} is not a hex SHA-256 hash (64 hex digits); list the hash of each key (printf %s "$KEY" | sha256sum), never the key itself`,
      );
  });
  return hashes.map((h) => Buffer.from(h, 'hex'));
}

/** Key hashes from a file and/or the environment; empty when neither is given (auth off). */
export function loadKeyHashes(options: { file?: string; env?: string }): Buffer[] {
  const hashes: Buffer[] = [];
  if (options.env) hashes.push(...parseKeyHashes(options.env, 'KILN_API_KEYS_SHA256'));
  if (options.file) {
    let text: string;
    try {
      text = readFileSync(options.file, 'utf8');
    } catch (error) {
      throw new Error(`API keys file ${options.file}: ${(error as Error).message}`);
    }
    hashes.push(...parseKeyHashes(text, options.file));
  }
  return hashes;
}

export function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

// Auth schemes are case-insensitive (RFC 9110 section 11.1): `bearer`, `BEARER` and `Bearer` alike.
const BEARER = /^bearer[ \t]+(\S.*)$/i;

/** The bearer key of a request, or null. */
export function bearerKey(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return null;
  const match = BEARER.exec(header);
  if (!match) return null;
  const key = match[1].trim();
  return key === '' ? null : key;
}

export class ApiKeys {
  constructor(private readonly hashes: readonly Buffer[]) {}

  get enabled(): boolean {
    return this.hashes.length > 0;
  }

  /** Constant time in the key and in which stored hash matches: every hash is compared. */
  valid(key: string): boolean {
    const presented = sha256(key);
    let match = false;
    for (const h of this.hashes) match = timingSafeEqual(presented, h) || match;
    return match;
  }

  /** Keys are configured and the request carries a valid one. */
  authenticated(request: FastifyRequest): boolean {
    if (!this.enabled) return false;
    const key = bearerKey(request);
    return key !== null && this.valid(key);
  }

  /**
   * onRequest hook of a write route: a valid key, and on a server without keys a 403 with `refusal`
   * (what to configure), so nothing is written anonymously unless a route is opened explicitly.
   */
  writer(refusal: string): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
    return async (request, reply) => {
      if (!this.enabled) {
        reply.code(403).send({ error: refusal });
        return reply;
      }
      return this.require(request, reply);
    };
  }

  /** onRequest hook for routes that need a key (when keys are configured). */
  readonly require = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!this.enabled) return;
    const key = bearerKey(request);
    if (key === null || !this.valid(key)) {
      reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({
          error: key === null ? 'missing API key: send Authorization: Bearer <key>' : 'invalid API key',
        });
      return reply;
    }
  };
}

/** Rate-limit bucket: one per API key (by hash, never the key itself), else per client address. */
export function rateLimitKey(request: FastifyRequest): string {
  const key = bearerKey(request);
  return key === null ? `ip:${request.ip}` : `key:${sha256(key).toString('hex').slice(0, 32)}`;
}
