import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { AutoComplete, Button, Flex, Input, InputNumber, Segmented, Select, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { COMPARE_OPS, LEAF_TYPES, MAX_DEPTH, newGroup, newLeaf, OP_SYMBOLS, TRAIT_OPS, type GroupForm, type LeafForm, type LeafType, type Node, type TraitOp, type WhereKind } from './rule-form';

export const COMMON_EVENTS = ['Order Completed', 'Order Refunded', 'Product Viewed', 'Product Added', 'Checkout Started', 'Coupon Applied', 'Signed Up', 'Page Viewed'];
export const CHANNELS = ['miniprogram', 'web', 'wecom', 'tmall', 'taobao', 'youzan', 'douyin', 'doudian', 'meituan', 'server', 'crm'];
const CURRENCIES = ['CNY', 'USD', 'HKD', 'EUR', 'JPY'];

function LeafEditor({
  leaf,
  onChange,
  onRemove,
  path,
  errors,
  leafTypes,
}: {
  leaf: LeafForm;
  onChange: (l: LeafForm) => void;
  onRemove: () => void;
  path: string;
  errors: string[];
  leafTypes: readonly LeafType[];
}) {
  const { t } = useTranslation();
  const set = (patch: Partial<LeafForm>) => onChange({ ...leaf, ...patch });
  const hasWindow = leaf.type === 'event_count' || leaf.type === 'total_spend' || leaf.type === 'order_count';
  const mine = errors.filter((e) => e.startsWith(`${path}:`)).map((e) => e.slice(path.length + 1));
  return (
    <div className="rule-leaf" data-testid="rule-leaf">
      <Flex gap={8} wrap align="center">
        <Select<LeafType>
          value={leaf.type}
          style={{ width: 170 }}
          onChange={(type) => onChange({ ...newLeaf(type), id: leaf.id })}
          options={leafTypes.map((x) => ({ value: x, label: t(`rules.leaf.${x}`) }))}
          data-testid="rule-leaf-type"
        />
        {leaf.type === 'event_count' ? (
          <AutoComplete
            value={leaf.event}
            style={{ width: 200 }}
            placeholder={t('rules.eventName')}
            onChange={(v: string) => set({ event: v })}
            options={COMMON_EVENTS.map((e) => ({ value: e }))}
            filterOption={(input, o) => String(o?.value ?? '').toLowerCase().includes(input.toLowerCase())}
            data-testid="rule-event"
          />
        ) : null}
        {leaf.type === 'first_channel' ? (
          <Select
            mode="tags"
            value={leaf.channels}
            style={{ minWidth: 260 }}
            placeholder={t('rules.channels')}
            onChange={(v: string[]) => set({ channels: v })}
            options={CHANNELS.map((c) => ({ value: c, label: t(`channels.${c}`, { defaultValue: c }) }))}
          />
        ) : null}
        {leaf.type === 'has_tag' ? <Input value={leaf.tag} style={{ width: 200 }} placeholder={t('rules.tag')} onChange={(e) => set({ tag: e.target.value })} data-testid="rule-has-tag" /> : null}
        {leaf.type === 'trait' ? (
          <>
            <Input value={leaf.traitKey} style={{ width: 180 }} placeholder={t('rules.traitKey')} onChange={(e) => set({ traitKey: e.target.value })} data-testid="rule-trait-key" />
            <Select<TraitOp>
              value={leaf.traitOp}
              style={{ width: 110 }}
              onChange={(traitOp) => set({ traitOp })}
              options={TRAIT_OPS.map((o) => ({ value: o, label: t(`rules.traitOp.${o}`) }))}
              data-testid="rule-trait-op"
            />
            {leaf.traitOp === 'in' ? (
              <Select mode="tags" value={leaf.traitValues} style={{ minWidth: 220 }} placeholder={t('rules.traitValues')} onChange={(v: string[]) => set({ traitValues: v })} open={false} />
            ) : leaf.traitOp !== 'exists' ? (
              <Input value={leaf.value} style={{ width: 160 }} placeholder={t('rules.traitValue')} onChange={(e) => set({ value: e.target.value })} data-testid="rule-trait-value" />
            ) : null}
          </>
        ) : null}
        {hasWindow ? (
          <Flex align="center" gap={4}>
            <Typography.Text type="secondary">{t('rules.inLast')}</Typography.Text>
            <InputNumber
              min={1}
              max={3650}
              value={leaf.withinDays}
              placeholder={t('rules.allTime')}
              onChange={(v) => set({ withinDays: typeof v === 'number' ? v : null })}
              style={{ width: 110 }}
              suffix={t('rules.days')}
            />
          </Flex>
        ) : null}
        {leaf.type !== 'first_channel' && leaf.type !== 'has_tag' && leaf.type !== 'trait' ? (
          <>
            <Select value={leaf.op} style={{ width: 80 }} onChange={(op) => set({ op })} options={COMPARE_OPS.map((o) => ({ value: o, label: OP_SYMBOLS[o] }))} />
            {leaf.type === 'total_spend' ? (
              <Flex gap={4}>
                <Input value={leaf.value} style={{ width: 130 }} onChange={(e) => set({ value: e.target.value })} inputMode="decimal" />
                <Select value={leaf.currency} style={{ width: 90 }} onChange={(currency) => set({ currency })} options={CURRENCIES.map((c) => ({ value: c, label: c }))} />
              </Flex>
            ) : (
              <InputNumber
                min={0}
                precision={0}
                value={leaf.value === '' ? null : Number(leaf.value)}
                onChange={(v) => set({ value: v === null ? '' : String(v) })}
                style={{ width: 120 }}
                suffix={leaf.type === 'days_since_last_order' ? t('rules.days') : t('rules.times')}
                data-testid="rule-value"
              />
            )}
          </>
        ) : null}
        <Button type="text" icon={<DeleteOutlined />} onClick={onRemove} aria-label={t('common.remove')} />
      </Flex>
      {leaf.type === 'event_count' ? (
        <div style={{ marginTop: 8 }}>
          {leaf.where.map((w, i) => (
            <Flex key={i} gap={8} align="center" style={{ marginBottom: 6 }}>
              <Typography.Text type="secondary" style={{ width: 48 }}>
                {i === 0 ? t('rules.where') : t('rules.and')}
              </Typography.Text>
              <Input
                value={w.key}
                placeholder={t('rules.property')}
                style={{ width: 160 }}
                onChange={(e) => set({ where: leaf.where.map((x, j) => (j === i ? { ...x, key: e.target.value } : x)) })}
              />
              <Select<WhereKind>
                value={w.kind}
                style={{ width: 90 }}
                onChange={(kind) => set({ where: leaf.where.map((x, j) => (j === i ? { ...x, kind, value: kind === 'boolean' ? 'true' : x.value } : x)) })}
                options={[
                  { value: 'text', label: t('c360.kindText') },
                  { value: 'number', label: t('c360.kindNumber') },
                  { value: 'boolean', label: t('c360.kindBoolean') },
                ]}
              />
              <span>=</span>
              {w.kind === 'boolean' ? (
                <Select
                  value={w.value}
                  style={{ width: 120 }}
                  onChange={(value) => set({ where: leaf.where.map((x, j) => (j === i ? { ...x, value } : x)) })}
                  options={[
                    { value: 'true', label: 'true' },
                    { value: 'false', label: 'false' },
                  ]}
                />
              ) : (
                <Input
                  value={w.value}
                  placeholder={t('rules.propertyValue')}
                  style={{ width: 160 }}
                  onChange={(e) => set({ where: leaf.where.map((x, j) => (j === i ? { ...x, value: e.target.value } : x)) })}
                />
              )}
              <Button type="text" size="small" icon={<DeleteOutlined />} onClick={() => set({ where: leaf.where.filter((_x, j) => j !== i) })} />
            </Flex>
          ))}
          <Button type="link" size="small" icon={<PlusOutlined />} onClick={() => set({ where: [...leaf.where, { key: '', kind: 'text', value: '' }] })} style={{ paddingLeft: 0 }}>
            {t('rules.addWhere')}
          </Button>
        </div>
      ) : null}
      {mine.length > 0 ? (
        <div style={{ marginTop: 6 }}>
          {mine.map((e) => (
            <Typography.Text key={e} type="danger" style={{ display: 'block', fontSize: 12 }}>
              {t(e)}
            </Typography.Text>
          ))}
        </div>
      ) : null}
    </div>
  );
}

export function GroupEditor({
  group,
  onChange,
  onRemove,
  depth = 1,
  path = '',
  errors,
  leafTypes = LEAF_TYPES,
}: {
  group: GroupForm;
  onChange: (g: GroupForm) => void;
  onRemove?: () => void;
  depth?: number;
  path?: string;
  errors: string[];
  /** The leaves offered (rule tags: LEAF_TYPES; segments: SEGMENT_LEAF_TYPES). */
  leafTypes?: readonly LeafType[];
}) {
  const { t } = useTranslation();
  const setItem = (i: number, n: Node) => onChange({ ...group, items: group.items.map((x, j) => (j === i ? n : x)) });
  const removeItem = (i: number) => onChange({ ...group, items: group.items.filter((_x, j) => j !== i) });
  return (
    <div className="rule-group">
      <Flex justify="space-between" align="center" style={{ marginBottom: 10 }}>
        <Flex align="center" gap={8}>
          <Typography.Text>{t('rules.match')}</Typography.Text>
          <Segmented
            size="small"
            value={group.mode}
            onChange={(mode) => onChange({ ...group, mode: mode as 'all' | 'any' })}
            options={[
              { value: 'all', label: t('rules.all') },
              { value: 'any', label: t('rules.any') },
            ]}
          />
          <Typography.Text>{t('rules.ofTheseConditions')}</Typography.Text>
        </Flex>
        {onRemove ? <Button type="text" size="small" icon={<DeleteOutlined />} onClick={onRemove} aria-label={t('common.remove')} /> : null}
      </Flex>
      <Flex vertical gap={8}>
        {group.items.map((n, i) => {
          const p = path ? `${path}.${i + 1}` : String(i + 1);
          return n.kind === 'group' ? (
            <GroupEditor key={n.id} group={n} onChange={(g) => setItem(i, g)} onRemove={() => removeItem(i)} depth={depth + 1} path={p} errors={errors} leafTypes={leafTypes} />
          ) : (
            <LeafEditor key={n.id} leaf={n} onChange={(l) => setItem(i, l)} onRemove={() => removeItem(i)} path={p} errors={errors} leafTypes={leafTypes} />
          );
        })}
      </Flex>
      <Flex gap={8} style={{ marginTop: 10 }}>
        <Button size="small" icon={<PlusOutlined />} onClick={() => onChange({ ...group, items: [...group.items, newLeaf()] })} data-testid="rule-add-condition">
          {t('rules.addCondition')}
        </Button>
        {depth < MAX_DEPTH ? (
          <Button size="small" type="dashed" icon={<PlusOutlined />} onClick={() => onChange({ ...group, items: [...group.items, newGroup(group.mode === 'all' ? 'any' : 'all')] })}>
            {t('rules.addGroup')}
          </Button>
        ) : null}
      </Flex>
    </div>
  );
}
