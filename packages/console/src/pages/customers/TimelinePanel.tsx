import {
  EyeOutlined,
  IdcardOutlined,
  LinkOutlined,
  MobileOutlined,
  ShoppingCartOutlined,
  TeamOutlined,
  ThunderboltOutlined,
} from '@ant-design/icons';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { AutoComplete, Button, Empty, Flex, Select, Skeleton, Tag, Timeline, Tooltip, Typography } from 'antd';
import { memo, useEffect, useMemo, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { get } from '../../api/client';
import type { Page, Source, TimelineItem } from '../../api/types';
import { useAuth } from '../../auth/auth';
import { fmtTime, fromNow, traitText } from '../../components/format';
import { ProblemAlert } from '../../components/ProblemAlert';
import { CHANNELS } from '../tags/RuleBuilder';

const TYPES = ['track', 'identify', 'page', 'screen', 'alias', 'group'] as const;

function iconFor(item: TimelineItem) {
  if (item.event && /order/i.test(item.event)) return <ShoppingCartOutlined />;
  switch (item.type) {
    case 'identify':
      return <IdcardOutlined />;
    case 'page':
      return <EyeOutlined />;
    case 'screen':
      return <MobileOutlined />;
    case 'alias':
      return <LinkOutlined />;
    case 'group':
      return <TeamOutlined />;
    default:
      return <ThunderboltOutlined />;
  }
}

function colorFor(item: TimelineItem): string {
  if (item.event && /order completed/i.test(item.event)) return 'green';
  if (item.event && /refund/i.test(item.event)) return 'red';
  if (item.type === 'identify') return 'blue';
  return 'gray';
}

function Properties({ props }: { props: Record<string, unknown> }) {
  const [open, setOpen] = useState(false);
  const { t } = useTranslation();
  const entries = Object.entries(props);
  if (entries.length === 0) return null;
  if (open) {
    return (
      <div className="timeline-props">
        <pre className="kv-json">{JSON.stringify(props, null, 2)}</pre>
        <Button type="link" size="small" onClick={() => setOpen(false)} style={{ padding: 0 }}>
          {t('common.collapse')}
        </Button>
      </div>
    );
  }
  return (
    <div className="timeline-props">
      {entries.slice(0, 5).map(([k, v], i) => (
        <span key={k}>
          {i > 0 ? ' · ' : ''}
          <span className="k">{k}</span> {traitText(v).slice(0, 60)}
        </span>
      ))}
      <Button type="link" size="small" onClick={() => setOpen(true)} style={{ paddingInline: 6 }}>
        {t('common.details')}
      </Button>
    </div>
  );
}

/** One event; memoized, so loading another page renders only the new events. */
const TimelineEntry = memo(function TimelineEntry({ item: i }: { item: TimelineItem }) {
  const { t } = useTranslation();
  return (
    <div data-testid="timeline-item">
      <div className="timeline-item-head">
        <Typography.Text strong>{i.event ?? t(`timeline.types.${i.type}`, { defaultValue: i.type })}</Typography.Text>
        <Tag variant="filled">{t(`timeline.types.${i.type}`, { defaultValue: i.type })}</Tag>
        {i.channel ? (
          <Tag color="blue" variant="filled">
            {t(`channels.${i.channel}`, { defaultValue: i.channel })}
          </Tag>
        ) : null}
        <Typography.Text type="secondary">{i.source.name ?? i.source.id}</Typography.Text>
        <Tooltip title={fmtTime(i.occurredAt)}>
          <Typography.Text type="secondary">· {fromNow(i.occurredAt)}</Typography.Text>
        </Tooltip>
      </div>
      <Properties props={i.properties} />
    </div>
  );
});

/** The list itself, memoized: the panel's own re-renders (a page being fetched) skip it. */
const TimelineList = memo(function TimelineList({ items }: { items: TimelineItem[] }) {
  const entries = useMemo(() => items.map((i) => ({ key: i.id, color: colorFor(i), icon: iconFor(i), content: <TimelineEntry item={i} /> })), [items]);
  return <Timeline className="customer-timeline" items={entries} />;
});

/** Every channel's events, newest first, loaded a page at a time as the list scrolls. */
export function TimelinePanel({ customerId }: { customerId: string }) {
  const { t } = useTranslation();
  const { can } = useAuth();
  const [type, setType] = useState<string | undefined>();
  const [event, setEvent] = useState('');
  const [channel, setChannel] = useState<string | undefined>();
  const sentinel = useRef<HTMLDivElement>(null);

  const sources = useQuery({ queryKey: ['sources'], queryFn: () => get<{ data: Source[] }>('/v1/sources'), enabled: can('settings.manage') });
  const timeline = useInfiniteQuery({
    queryKey: ['timeline', customerId, type, event, channel],
    queryFn: ({ pageParam, signal }) =>
      get<Page<TimelineItem>>(`/v1/customers/${encodeURIComponent(customerId)}/timeline`, { type, event, channel, cursor: pageParam, limit: 30 }, signal),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor,
  });
  const items = useMemo(() => timeline.data?.pages.flatMap((p) => p.data) ?? [], [timeline.data]);

  const { hasNextPage, isFetchingNextPage, fetchNextPage } = timeline;
  useEffect(() => {
    const el = sentinel.current;
    if (!el || !hasNextPage) return;
    const io = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && !isFetchingNextPage) void fetchNextPage();
    });
    io.observe(el);
    return () => io.disconnect();
  }, [hasNextPage, isFetchingNextPage, fetchNextPage]);

  // The channel of an event is its source's type unless a campaign named another: the known
  // channels, the tenant's source types and whatever the loaded events show.
  const channelOptions = useMemo(() => {
    const seen = new Set<string>(CHANNELS);
    for (const s of sources.data?.data ?? []) seen.add(s.type);
    for (const i of items) if (i.channel) seen.add(i.channel);
    if (channel) seen.add(channel);
    return [...seen].map((value) => ({ value, label: t(`channels.${value}`, { defaultValue: value }) }));
  }, [sources.data, items, channel, t]);
  const eventOptions = useMemo(() => [...new Set(items.map((i) => i.event).filter((e): e is string => !!e))].map((e) => ({ value: e })), [items]);

  return (
    <div data-testid="timeline">
      <Flex gap={8} wrap className="toolbar">
        <Select
          allowClear
          showSearch={{ optionFilterProp: 'label' }}
          placeholder={t('timeline.channel')}
          style={{ width: 200 }}
          value={channel}
          onChange={setChannel}
          options={channelOptions}
          data-testid="timeline-channel"
        />
        <Select
          allowClear
          placeholder={t('timeline.type')}
          style={{ width: 150 }}
          value={type}
          onChange={setType}
          options={TYPES.map((x) => ({ value: x, label: t(`timeline.types.${x}`) }))}
          data-testid="timeline-type"
        />
        <AutoComplete
          allowClear
          placeholder={t('timeline.event')}
          style={{ width: 220 }}
          options={eventOptions}
          onSelect={(v: string) => setEvent(v)}
          onChange={(v: string) => {
            if (!v) setEvent('');
          }}
          onKeyDown={(e) => {
            if (e.key === 'Enter') setEvent((e.target as HTMLInputElement).value.trim());
          }}
        />
      </Flex>
      {timeline.error ? <ProblemAlert error={timeline.error} onRetry={() => void timeline.refetch()} /> : null}
      {timeline.isLoading ? <Skeleton active paragraph={{ rows: 6 }} /> : null}
      {!timeline.isLoading && !timeline.error && items.length === 0 ? (
        <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={type || event || channel ? t('timeline.noMatch') : t('timeline.empty')} />
      ) : null}
      {items.length > 0 ? <TimelineList items={items} /> : null}
      <div ref={sentinel} className="timeline-sentinel" />
      {hasNextPage ? (
        <Flex justify="center">
          <Button onClick={() => void fetchNextPage()} loading={isFetchingNextPage}>
            {t('timeline.more')}
          </Button>
        </Flex>
      ) : items.length > 0 ? (
        <Flex justify="center">
          <Typography.Text type="secondary">{t('timeline.end')}</Typography.Text>
        </Flex>
      ) : null}
    </div>
  );
}
