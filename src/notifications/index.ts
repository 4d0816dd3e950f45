export {
  type NotificationsConfig,
  notificationsSchema,
  parseNotifications,
  webhookNotifiers,
} from './config.js';
export { DEFAULT_RETRY, type DispatchResult, EventDispatcher, type RetryPolicy } from './dispatcher.js';
export { describeEvent, eventBody, type Notifier, PermanentDeliveryError } from './notifier.js';
export {
  SIGNATURE_HEADER,
  signWebhook,
  TIMESTAMP_HEADER,
  verifyWebhookSignature,
  WebhookNotifier,
} from './webhook.js';
