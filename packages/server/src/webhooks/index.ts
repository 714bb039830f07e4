export { generateWebhookSecret, signPayload, webhookHeaders, type WebhookHeaders } from './signing.js';
export {
  DEFAULT_RETRY_SCHEDULE,
  RETRY_JITTER_RATIO,
  nextRetryDelay,
  parseRetrySchedule,
} from './retry-schedule.js';
export {
  MAX_WEBHOOK_URL_LENGTH,
  isForbiddenAddress,
  resolveAndCheck,
  validateWebhookUrl,
  type ResolveHost,
  type ResolveOptions,
  type ResolvedAddress,
  type SafeTargetOptions,
} from './safe-target.js';
export {
  MAX_RESPONSE_BODY_BYTES,
  deliverWebhook,
  type DeliverWebhookInput,
  type DeliveryResult,
} from './deliver.js';
