/**
 * Delivers registry events to every notifier, in order, at least once. Each notifier has a cursor in
 * the metadata store; an event that still fails after the retries is parked as a dead letter (shown and
 * replayed by `kiln events`) and the cursor moves on, so one bad event never blocks the rest.
 */
import type { MetadataStore, RegistryEvent } from '../stores/metadata/index.js';
import { type Notifier, PermanentDeliveryError } from './notifier.js';

export interface RetryPolicy {
  attempts: number;
  /** Delay before the second attempt; doubles each time up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 500, maxDelayMs: 8000 };

export interface DispatchResult {
  delivered: number;
  parked: number;
}

type EventStores = Pick<
  MetadataStore,
  | 'listEvents'
  | 'deliveryCursor'
  | 'advanceDeliveryCursor'
  | 'parkDeadLetter'
  | 'listDeadLetters'
  | 'removeDeadLetter'
>;

export class EventDispatcher {
  constructor(
    private readonly store: EventStores,
    readonly notifiers: readonly Notifier[],
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
    private readonly onWarn: (message: string) => void = () => {},
  ) {}

  /** Delivers every event after each notifier's cursor. */
  async dispatchPending(): Promise<DispatchResult> {
    const result: DispatchResult = { delivered: 0, parked: 0 };
    for (const notifier of this.notifiers) {
      let cursor = await this.store.deliveryCursor(notifier.target);
      for (;;) {
        const events = await this.store.listEvents({ afterId: cursor, limit: 100 });
        if (events.length === 0) break;
        for (const event of events) {
          if (notifier.accepts(event)) {
            const outcome = await this.attempt(notifier, event);
            if (outcome.ok) result.delivered++;
            else {
              result.parked++;
              await this.store.parkDeadLetter({
                target: notifier.target,
                eventId: event.id,
                attempts: outcome.attempts,
                error: outcome.error,
                parkedAt: new Date().toISOString(),
              });
              this.onWarn(
                `event ${event.id} (${event.type}) not delivered to ${notifier.target} after ${outcome.attempts} attempts: ${outcome.error}; parked (kiln events replay)`,
              );
            }
          }
          // Another dispatcher moved this cursor: it owns the rest of the stream.
          if (!(await this.store.advanceDeliveryCursor(notifier.target, cursor, event.id))) return result;
          cursor = event.id;
        }
      }
    }
    return result;
  }

  /** Tries parked events again (all, or one target / one event); delivered ones leave the dead-letter list. */
  async replay(filter: { target?: string; eventId?: number } = {}): Promise<DispatchResult> {
    const result: DispatchResult = { delivered: 0, parked: 0 };
    const letters = (await this.store.listDeadLetters(filter.target)).filter(
      (l) => filter.eventId === undefined || l.eventId === filter.eventId,
    );
    for (const letter of letters) {
      const notifier = this.notifiers.find((n) => n.target === letter.target);
      if (!notifier) {
        this.onWarn(`dead letter for "${letter.target}": no such notifier is configured now; kept`);
        continue;
      }
      const [event] = await this.store.listEvents({ afterId: letter.eventId - 1, limit: 1 });
      if (!event || event.id !== letter.eventId) {
        this.onWarn(`event ${letter.eventId} no longer exists; its dead letter is kept`);
        continue;
      }
      const outcome = await this.attempt(notifier, event);
      if (outcome.ok) {
        result.delivered++;
        await this.store.removeDeadLetter(letter.target, letter.eventId);
      } else {
        result.parked++;
        await this.store.parkDeadLetter({
          ...letter,
          attempts: letter.attempts + outcome.attempts,
          error: outcome.error,
          parkedAt: new Date().toISOString(),
        });
      }
    }
    return result;
  }

  private async attempt(
    notifier: Notifier,
    event: RegistryEvent,
  ): Promise<{ ok: true } | { ok: false; attempts: number; error: string }> {
    let delay = this.retry.baseDelayMs;
    for (let attempt = 1; ; attempt++) {
      try {
        await notifier.deliver(event);
        return { ok: true };
      } catch (error) {
        const message = (error as Error).message;
        if (error instanceof PermanentDeliveryError || attempt >= this.retry.attempts)
          return { ok: false, attempts: attempt, error: message };
        // Full jitter keeps many senders from retrying in lockstep.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * delay));
        delay = Math.min(delay * 2, this.retry.maxDelayMs);
      }
    }
  }
}
