import type { CommerceStatus, Static } from '@datong/contracts';
import type { CommerceConnectors, LoadedConnector } from '../connectors/commerce.js';
import type { Queryable } from '../db/client.js';
import { iso } from '../http/pagination.js';
import { readState } from './connector-state.js';

/** Channel and health of an e-commerce connector, as GET /v1/connectors/{id} shows them. */
export async function commerceStatus(q: Queryable, commerce: CommerceConnectors, c: LoadedConnector): Promise<Static<typeof CommerceStatus>> {
  const st = await readState(q, c.tenantId, c.id);
  const counts = await q.query<{ status: string; n: number }>(
    `SELECT status, count(*)::int AS n FROM connector_messages WHERE tenant_id = $1 AND connector_id = $2 AND status IN ('pending', 'failed', 'quarantined') GROUP BY status`,
    [c.tenantId, c.id],
  );
  const n = (s: string): number => Number(counts.rows.find((r) => r.status === s)?.n ?? 0);
  const messages = { pending: n('pending'), failed: n('failed'), quarantined: n('quarantined') };
  const channel = st?.channel ?? 'push';
  const failing = (st?.poll_failures ?? 0) > 0 || (st?.pull_failures ?? 0) > 0 || messages.quarantined > 0;
  const degraded = channel === 'polling' || (st?.push_failures ?? 0) > 0 || messages.failed > 0;
  return {
    webhookUrl: commerce.webhookUrl(c.platform, c.id),
    channel,
    channelSince: iso(st?.channel_since ?? c.createdAt),
    channelReason: st?.channel_reason ?? null,
    health: failing ? 'failing' : degraded ? 'degraded' : 'ok',
    lastPushAt: iso(st?.last_push_at),
    lastValidPushAt: iso(st?.last_valid_push_at),
    pushFailures: st?.push_failures ?? 0,
    lastPushError: st?.last_push_error ?? null,
    pollWatermark: iso(st?.poll_watermark),
    lastPollAt: iso(st?.last_poll_at),
    pollFailures: st?.poll_failures ?? 0,
    lastPollError: st?.last_poll_error ?? null,
    lastPullAt: iso(st?.last_pull_at),
    lastPullError: st?.last_pull_error ?? null,
    lastReconcileAt: iso(st?.last_reconcile_at),
    lastReconcile: st?.last_reconcile ?? null,
    messages,
    settings: c.settings,
  };
}
