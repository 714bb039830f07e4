// The e-commerce connectors' API shapes, as /openapi.json describes them (ConnectorDetail,
// CommerceStatus, ConnectorMessage, ReconcileReport in @datong/contracts).
import type { Connector } from '../../../api/types';

export interface EffectiveSettings {
  fallbackAfterMs: number;
  pollIntervalMs: number;
  reconcileDaily: string | null;
  timezone: string;
  rateLimit: { perSecond: number; burst: number };
  apiBaseUrl: string | null;
}

export interface CommerceStatus {
  webhookUrl: string;
  channel: 'push' | 'polling';
  channelSince: string | null;
  channelReason: string | null;
  health: 'ok' | 'degraded' | 'failing';
  lastPushAt: string | null;
  lastValidPushAt: string | null;
  pushFailures: number;
  lastPushError: string | null;
  pollWatermark: string | null;
  lastPollAt: string | null;
  pollFailures: number;
  lastPollError: string | null;
  lastPullAt: string | null;
  lastPullError: string | null;
  lastReconcileAt: string | null;
  lastReconcile: Record<string, unknown> | null;
  messages: { pending: number; failed: number; quarantined: number };
  settings: EffectiveSettings;
}

export type ConnectorDetail = Connector & { commerce?: CommerceStatus };

export const MESSAGE_STATUSES = ['pending', 'processed', 'ignored', 'failed', 'quarantined'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];
export const VERIFICATIONS = ['valid', 'invalid', 'test'] as const;
export type Verification = (typeof VERIFICATIONS)[number];
export const MESSAGE_CHANNELS = ['push', 'pull', 'poll', 'backfill'] as const;

export interface ConnectorMessage {
  id: string;
  messageId: string;
  type: string;
  channel: string;
  receivedAt: string;
  occurredAt: string | null;
  verification: Verification;
  status: MessageStatus;
  attempts: number;
  nextAttemptAt: string | null;
  errorCode: string | null;
  error: string | null;
  result: Record<string, unknown> | null;
  processedAt: string | null;
}

export interface ConnectorMessageDetail extends ConnectorMessage {
  payload: unknown;
  masked: boolean;
}

export interface ReconcileReport {
  from: string;
  to: string;
  platformOrders: number;
  matched: number;
  missing: string[];
  different: { orderId: string; shopId: string; field: string; platform: string; datong: string }[];
  backfilled: number;
  truncated: boolean;
  missingCount: number;
  differentCount: number;
}

export interface TestResult {
  ok: boolean;
  code: string | null;
  message: string;
}
