import { canonicalTagName, isTimeDependent, parseRuleCondition, triggeringEvents, type RuleCondition } from '@datong/core';
import type { Queryable } from '../db/client.js';
import { newId } from '../ids.js';

/**
 * Channel-source tags (issue 4: "first touch on Douyin; Tmall repurchase ≥ 3"), set
 * automatically: when the first e-commerce connector of a platform is created for a tenant,
 * two ordinary rule tags are created with it, which the inbox worker then evaluates as events
 * arrive like any other rule (editable, can be disabled or deleted in Tags → Rules).
 *
 * - First touch: `first_channel in [<platform>]`. A connector's events carry the channel of its
 *   own source, whose type is the platform (`events.channel`), so a customer whose earliest
 *   event came from that platform gets the tag.
 * - Repurchase: `Order Completed` events with `properties.platform = <platform>` (every
 *   connector's Order Completed carries it, usecases/commerce-records.ts) at least 3 times.
 *   Each order gives one Order Completed (deterministic message ids), so this counts orders.
 *
 * Once per tenant and tag: a rule that already gives the tag (enabled or not, edited or not) is
 * left alone, so a second connector of the same platform adds nothing and a merchant's change
 * to the rule stays.
 */

export interface ChannelTagNames {
  readonly firstTouch: string;
  readonly repurchase: string;
  /** How the platform is called in the rules' names. */
  readonly label: string;
}

export const CHANNEL_TAGS: Readonly<Record<string, ChannelTagNames>> = {
  doudian: { firstTouch: '首触-抖店', repurchase: '抖店复购', label: '抖店' },
  youzan: { firstTouch: '首触-有赞', repurchase: '有赞复购', label: '有赞' },
  taobao: { firstTouch: '首触-淘宝', repurchase: '天猫复购', label: '天猫/淘宝' },
  meituan: { firstTouch: '首触-美团', repurchase: '美团复购', label: '美团' },
};

/** Orders on the platform from which a customer counts as a repurchaser. */
export const REPURCHASE_MIN_ORDERS = 3;

export interface ChannelTagRule {
  readonly name: string;
  readonly tag: string;
  readonly condition: RuleCondition;
}

/** The two rules of a platform (none for a platform without channel tags). */
export function channelTagRules(platform: string): ChannelTagRule[] {
  const names = CHANNEL_TAGS[platform];
  if (!names) return [];
  return [
    {
      name: `首触渠道：${names.label}`,
      tag: canonicalTagName(names.firstTouch),
      condition: parseRuleCondition({ type: 'first_channel', in: [platform] }),
    },
    {
      name: `${names.label}复购（≥ ${REPURCHASE_MIN_ORDERS} 单）`,
      tag: canonicalTagName(names.repurchase),
      condition: parseRuleCondition({ type: 'event_count', event: 'Order Completed', where: { platform }, op: 'gte', value: REPURCHASE_MIN_ORDERS }),
    },
  ];
}

/**
 * Creates the platform's channel-tag rules that the tenant does not have yet (by tag), in the
 * caller's transaction. Returns the ids of the rules created.
 */
export async function ensureChannelTagRules(q: Queryable, tenantId: string, platform: string, now: Date): Promise<string[]> {
  const rules = channelTagRules(platform);
  if (rules.length === 0) return [];
  const existing = await q.query<{ tag: string }>('SELECT DISTINCT tag FROM tag_rules WHERE tenant_id = $1 AND tag = ANY($2::text[])', [tenantId, rules.map((r) => r.tag)]);
  const have = new Set(existing.rows.map((r) => r.tag));
  const created: string[] = [];
  for (const [i, rule] of rules.entries()) {
    if (have.has(rule.tag)) continue;
    // One millisecond apart, so the pair lists in a stable order (rules list by created_at, id).
    const at = new Date(now.getTime() + i);
    const id = newId('trl', at.getTime());
    await q.query(
      `INSERT INTO tag_rules (tenant_id, id, name, tag, condition, triggers, time_dependent, enabled, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6::text[], $7, true, $8, $8)`,
      [tenantId, id, rule.name, rule.tag, JSON.stringify(rule.condition), [...triggeringEvents(rule.condition)], isTimeDependent(rule.condition), at.toISOString()],
    );
    await q.query('INSERT INTO tags (tenant_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING', [tenantId, rule.tag]);
    created.push(id);
  }
  return created;
}
