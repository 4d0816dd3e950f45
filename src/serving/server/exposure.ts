/**
 * What open reads show. File paths, storage URIs, training data locations and the OS users who
 * registered versions describe the server, not the model: they go only to callers with a valid API key,
 * or to everyone when the project sets `serving.exposeInternals: true` (a server on a trusted network).
 */
import type { FastifyRequest } from 'fastify';
import type { ModelVersion, RegistryEvent } from '../../stores/metadata/index.js';
import type { ApiKeys } from './security.js';

export const HIDDEN = '(hidden: send an API key, or set serving.exposeInternals)';

/** Whether `request` may see internals. */
export type InternalsPolicy = (request: FastifyRequest) => boolean;

export function internalsPolicy(keys: ApiKeys, exposeInternals: boolean): InternalsPolicy {
  return (request) => exposeInternals || keys.authenticated(request);
}

/** A version without its package URI, registering user, data paths and import source. */
export function publicVersion(version: ModelVersion): ModelVersion {
  const { lineage } = version;
  return {
    ...version,
    packageUri: HIDDEN,
    createdBy: HIDDEN,
    lineage: {
      ...lineage,
      data: lineage.data.map((d) => ({ ...d, path: HIDDEN })),
      ...(lineage.importedFrom !== undefined ? { importedFrom: HIDDEN } : {}),
    },
  };
}

/** An event without who made it or its details (which hold URIs). */
export function publicEvent(event: RegistryEvent): Omit<RegistryEvent, 'actor' | 'details'> & {
  actor: string;
  details: string;
} {
  return { ...event, actor: HIDDEN, details: HIDDEN };
}
