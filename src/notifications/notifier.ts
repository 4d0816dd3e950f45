import type { RegistryEvent } from '../stores/metadata/index.js';

/** One destination for registry events. `target` names its delivery cursor and dead letters. */
export interface Notifier {
  readonly target: string;
  accepts(event: RegistryEvent): boolean;
  /** Throws on failure; a `PermanentDeliveryError` is not retried. */
  deliver(event: RegistryEvent): Promise<void>;
}

/** A failure retrying cannot fix (e.g. the receiver answered 401 or 404). */
export class PermanentDeliveryError extends Error {
  override name = 'PermanentDeliveryError';
}

/** The JSON body every notifier sends for an event. */
export function eventBody(event: RegistryEvent): Record<string, unknown> {
  return {
    id: event.id,
    type: event.type,
    at: event.at,
    actor: event.actor,
    reason: event.reason,
    model: event.model,
    version: event.version,
    alias: event.alias,
    details: event.details,
  };
}

/** One line a person can read: `alias.moved customer-risk@champion → 3 by alice (wins)`. */
export function describeEvent(event: RegistryEvent): string {
  const subject = event.alias
    ? `${event.model}@${event.alias} → ${event.version}`
    : event.version !== null
      ? `${event.model} v${event.version}`
      : event.model;
  return `${event.type} ${subject} by ${event.actor}${event.reason ? ` (${event.reason})` : ''}`;
}
