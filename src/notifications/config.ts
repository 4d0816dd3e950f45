import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_RETRY } from './dispatcher.js';
import type { Notifier } from './notifier.js';
import { WebhookNotifier } from './webhook.js';

const EVENT_TYPES = [
  'model.created',
  'model.deleted',
  'model.described',
  'model.tagged',
  'version.created',
  'version.deleted',
  'version.described',
  'version.tagged',
  'alias.moved',
  'alias.deleted',
] as const;

const webhookSchema = z
  .strictObject({
    /** Names the delivery cursor and dead letters; keep it stable. */
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "letters, digits, '.', '_' or '-'"),
    url: z.url({ protocol: /^https?$/ }),
    /** Environment variable holding the HMAC secret. */
    secretEnv: z.string().optional(),
    /** File holding the HMAC secret (relative to the project folder). */
    secretFile: z.string().optional(),
    /** Event types to send; every registry change when absent. */
    events: z.array(z.enum(EVENT_TYPES)).optional(),
    timeoutMs: z.number().int().positive().default(5000),
  })
  .refine((w) => w.secretEnv || w.secretFile, {
    message: 'a webhook needs secretEnv or secretFile (the HMAC secret never goes in the config)',
  });

export const notificationsSchema = z.strictObject({
  webhooks: z.array(webhookSchema).default([]),
  retry: z
    .strictObject({
      attempts: z.number().int().min(1).max(20).default(DEFAULT_RETRY.attempts),
      baseDelayMs: z.number().int().min(0).default(DEFAULT_RETRY.baseDelayMs),
      maxDelayMs: z.number().int().min(0).default(DEFAULT_RETRY.maxDelayMs),
    })
    .default(DEFAULT_RETRY),
});
export type NotificationsConfig = z.infer<typeof notificationsSchema>;

export function parseNotifications(raw: unknown): NotificationsConfig {
  const result = notificationsSchema.safeParse(raw ?? {});
  if (!result.success)
    throw new Error(
      `invalid notifications config:\n${result.error.issues.map((i) => `  - notifications.${i.path.join('.')}: ${i.message}`).join('\n')}`,
    );
  return result.data;
}

/** The configured webhooks, with their secrets read from the environment or secret files. */
export function webhookNotifiers(
  config: NotificationsConfig,
  baseDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Notifier[] {
  return config.webhooks.map((hook) => {
    let secret: string | undefined;
    if (hook.secretEnv) {
      secret = env[hook.secretEnv];
      if (!secret) throw new Error(`webhook ${hook.name}: environment variable ${hook.secretEnv} is not set`);
    } else if (hook.secretFile) {
      const file = path.resolve(baseDir, hook.secretFile);
      try {
        secret = readFileSync(file, 'utf8').trim();
      } catch (error) {
        throw new Error(
          `webhook ${hook.name}: cannot read secret file ${file}: ${(error as NodeJS.ErrnoException).code ?? ''}`,
        );
      }
      if (!secret) throw new Error(`webhook ${hook.name}: secret file ${file} is empty`);
    }
    return new WebhookNotifier({
      target: `webhook:${hook.name}`,
      url: hook.url,
      secret: secret!,
      events: hook.events,
      timeoutMs: hook.timeoutMs,
    });
  });
}
