/**
 * Webhook delivery: the JSON event POSTed with an HMAC-SHA256 signature over `<timestamp>.<body>`, so
 * a receiver can check both origin and freshness (`verifyWebhookSignature`).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { RegistryEvent } from '../stores/metadata/index.js';
import { eventBody, type Notifier, PermanentDeliveryError } from './notifier.js';

export const SIGNATURE_HEADER = 'x-kiln-signature';
export const TIMESTAMP_HEADER = 'x-kiln-timestamp';

export interface WebhookOptions {
  target: string;
  url: string;
  /** HMAC key; never logged. */
  secret: string;
  /** Event types to send; all when absent. */
  events?: readonly string[];
  timeoutMs?: number;
}

export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** For receivers: true when the signature matches and the timestamp is within `toleranceSeconds`. */
export function verifyWebhookSignature(
  secret: string,
  headers: { signature: string | undefined; timestamp: string | undefined },
  body: string,
  toleranceSeconds = 300,
  now = Date.now(),
): boolean {
  const { signature, timestamp } = headers;
  if (!signature || !timestamp || !/^\d+$/.test(timestamp)) return false;
  if (Math.abs(now / 1000 - Number(timestamp)) > toleranceSeconds) return false;
  const expected = Buffer.from(signWebhook(secret, timestamp, body));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export class WebhookNotifier implements Notifier {
  readonly target: string;

  constructor(private readonly options: WebhookOptions) {
    this.target = options.target;
  }

  accepts(event: RegistryEvent): boolean {
    return !this.options.events || this.options.events.includes(event.type);
  }

  async deliver(event: RegistryEvent): Promise<void> {
    const body = JSON.stringify(eventBody(event));
    const timestamp = String(Math.floor(Date.now() / 1000));
    let response: Response;
    try {
      response = await fetch(this.options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'kiln-webhook/1',
          'x-kiln-event': event.type,
          'x-kiln-event-id': String(event.id),
          [TIMESTAMP_HEADER]: timestamp,
          [SIGNATURE_HEADER]: signWebhook(this.options.secret, timestamp, body),
        },
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 5000),
        redirect: 'error',
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
      throw new Error(`POST ${redactedUrl(this.options.url)} failed: ${cause}`);
    }
    await response.arrayBuffer().catch(() => undefined);
    if (response.ok) return;
    const message = `POST ${redactedUrl(this.options.url)} answered HTTP ${response.status}`;
    // Retrying cannot fix a refusal; it can fix overload, timeouts and server errors.
    if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429)
      throw new PermanentDeliveryError(message);
    throw new Error(message);
  }
}

/** A URL for messages: no user info, no query string (either may carry a token). */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return '<invalid url>';
  }
}
