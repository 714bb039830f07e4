import { PlusOutlined, ReloadOutlined, RedoOutlined } from '@ant-design/icons';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Badge, Button, Card, Checkbox, Col, Empty, Flex, Form, Input, Modal, Popconfirm, Row, Segmented, Select, Skeleton, Space, Statistic, Switch, Table, Tabs, Tag, Tooltip, Typography } from 'antd';
import dayjs from 'dayjs';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSearchParams } from 'react-router';
import { collect, get, patch, post } from '../../api/client';
import { WEBHOOK_EVENT_TYPES, type DeliveryStatus, type Page, type Webhook, type WebhookDelivery } from '../../api/types';
import { Chart } from '../../components/Chart';
import { Copy } from '../../components/Copy';
import { CursorPager, useCursorPages } from '../../components/CursorPager';
import { fmtTime, fromNow } from '../../components/format';
import { PageHeader } from '../../components/PageHeader';
import { ProblemAlert, problemText } from '../../components/ProblemAlert';
import { deliveryStats } from './delivery-stats';
import { IngestPanel } from './IngestPanel';
import { QuarantinePanel } from './QuarantinePanel';

const STATUS_COLORS: Record<DeliveryStatus, string> = { succeeded: 'success', dead: 'error', pending: 'processing', delivering: 'processing' };

export function MonitorPage() {
  const { t } = useTranslation();
  const [params, setParams] = useSearchParams();
  const tab = params.get('tab') ?? 'webhooks';
  return (
    <>
      <PageHeader title={t('monitor.title')} subtitle={t('monitor.subtitle')} />
      <Tabs
        activeKey={tab}
        onChange={(k) => setParams({ tab: k }, { replace: true })}
        items={[
          { key: 'webhooks', label: t('monitor.tabWebhooks'), children: <WebhooksPanel /> },
          { key: 'ingest', label: t('monitor.tabIngest'), children: <IngestPanel /> },
          { key: 'quarantine', label: t('monitor.tabQuarantine'), children: <QuarantinePanel /> },
        ]}
      />
    </>
  );
}

function WebhooksPanel() {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const [selected, setSelected] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const subs = useQuery({ queryKey: ['webhooks'], queryFn: () => get<{ data: Webhook[] }>('/v1/webhooks') });
  const list = subs.data?.data ?? [];
  const current = list.find((s) => s.id === selected) ?? list[0] ?? null;
  const toggle = useMutation({
    mutationFn: (s: Webhook) => patch<Webhook>(`/v1/webhooks/${s.id}`, { enabled: !s.enabled }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['webhooks'] }),
    onError: (e) => void message.error(problemText(e, t('common.unknownError'))),
  });

  if (subs.isLoading) return <Skeleton active />;
  if (subs.error) return <ProblemAlert error={subs.error} onRetry={() => void subs.refetch()} />;
  return (
    <>
      <Card variant="borderless" style={{ marginBottom: 16 }}>
        <Flex justify="space-between" align="center" gap={12} wrap>
          <Space wrap>
            <Typography.Text strong>{t('monitor.subscription')}</Typography.Text>
            <Select
              style={{ minWidth: 380 }}
              value={current?.id}
              placeholder={t('monitor.noSubscriptions')}
              onChange={setSelected}
              options={list.map((s) => ({
                value: s.id,
                label: (
                  <Space>
                    <Badge status={s.enabled ? 'success' : 'default'} />
                    {s.description || s.url}
                  </Space>
                ),
              }))}
              data-testid="webhook-select"
            />
            {current ? (
              <Tooltip title={current.enabled ? t('monitor.enabled') : t('monitor.disabled')}>
                <Switch checked={current.enabled} onChange={() => toggle.mutate(current)} loading={toggle.isPending} />
              </Tooltip>
            ) : null}
          </Space>
          <Button icon={<PlusOutlined />} onClick={() => setCreating(true)}>
            {t('monitor.newSubscription')}
          </Button>
        </Flex>
        {current ? (
          <Flex gap={16} wrap style={{ marginTop: 12 }}>
            <Typography.Text type="secondary">
              URL：<Copy value={current.url} />
            </Typography.Text>
            <Space size={4} wrap>
              {current.eventTypes.map((e) => (
                <Tag key={e} variant="filled">
                  {e}
                </Tag>
              ))}
            </Space>
          </Flex>
        ) : null}
      </Card>
      {current ? (
        <SubscriptionMonitor sub={current} />
      ) : (
        <Card variant="borderless">
          <Empty description={t('monitor.noSubscriptionsHint')}>
            <Button type="primary" icon={<PlusOutlined />} onClick={() => setCreating(true)}>
              {t('monitor.newSubscription')}
            </Button>
          </Empty>
        </Card>
      )}
      <NewSubscriptionModal
        open={creating}
        onClose={(id) => {
          setCreating(false);
          if (id) {
            setSelected(id);
            void qc.invalidateQueries({ queryKey: ['webhooks'] });
          }
        }}
      />
    </>
  );
}

function SubscriptionMonitor({ sub }: { sub: Webhook }) {
  const { t } = useTranslation();
  const [view, setView] = useState<'all' | 'dead'>('all');
  const recent = useQuery({
    queryKey: ['deliveries-stats', sub.id],
    queryFn: () => collect<WebhookDelivery>(`/v1/webhooks/${sub.id}/deliveries`, {}, 1000),
    refetchInterval: (q) => (q.state.data?.some((d) => d.status === 'pending' || d.status === 'delivering') ? 2000 : 15_000),
  });
  const stats = useMemo(() => deliveryStats(recent.data ?? []), [recent.data]);
  const fmtBucket = (ms: number) => dayjs(ms).format(stats.bucketMs >= 86_400_000 ? 'MM-DD' : 'MM-DD HH:00');
  return (
    <>
      <Row gutter={16}>
        {[
          { k: 'volume', v: stats.total, suffix: '' },
          { k: 'successRate', v: stats.successRate === null ? '—' : (stats.successRate * 100).toFixed(1), suffix: stats.successRate === null ? '' : '%' },
          { k: 'p50', v: stats.p50 ?? '—', suffix: stats.p50 === null ? '' : 'ms' },
          { k: 'p95', v: stats.p95 ?? '—', suffix: stats.p95 === null ? '' : 'ms' },
        ].map((s) => (
          <Col xs={12} lg={6} key={s.k}>
            <Card variant="borderless" className="stat-card" loading={recent.isLoading}>
              <Statistic title={t(`monitor.stat.${s.k}`)} value={s.v} suffix={s.suffix} />
            </Card>
          </Col>
        ))}
      </Row>
      <Card variant="borderless" className="section-gap chart-card" title={t('monitor.chartTitle')} extra={<Typography.Text type="secondary">{t('monitor.chartHint', { n: stats.total })}</Typography.Text>}>
        {recent.error ? <ProblemAlert error={recent.error} /> : null}
        {!recent.isLoading && stats.total === 0 ? (
          <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('monitor.noDeliveries')} />
        ) : (
          <Chart
            height={300}
            option={{
              color: ['#22c55e', '#ef4444', '#94a3b8', '#1f5eff', '#f59e0b'],
              tooltip: { trigger: 'axis' },
              legend: { top: 0 },
              grid: { left: 48, right: 56, top: 40, bottom: 28 },
              xAxis: { type: 'category', data: stats.buckets.map((b) => fmtBucket(b.start)) },
              yAxis: [
                { type: 'value', name: t('monitor.axisCount'), minInterval: 1 },
                { type: 'value', name: 'ms', splitLine: { show: false } },
              ],
              series: [
                { name: t('monitor.status.succeeded'), type: 'bar', stack: 'n', data: stats.buckets.map((b) => b.succeeded), barMaxWidth: 28 },
                { name: t('monitor.status.dead'), type: 'bar', stack: 'n', data: stats.buckets.map((b) => b.dead), barMaxWidth: 28 },
                { name: t('monitor.status.pending'), type: 'bar', stack: 'n', data: stats.buckets.map((b) => b.pending), barMaxWidth: 28 },
                { name: 'p50', type: 'line', yAxisIndex: 1, smooth: true, data: stats.buckets.map((b) => b.p50), connectNulls: true },
                { name: 'p95', type: 'line', yAxisIndex: 1, smooth: true, data: stats.buckets.map((b) => b.p95), connectNulls: true },
              ],
            }}
          />
        )}
      </Card>
      <Card
        variant="borderless"
        className="section-gap"
        title={
          <Segmented
            value={view}
            onChange={(v) => setView(v as 'all' | 'dead')}
            options={[
              { value: 'all', label: t('monitor.deliveries') },
              { value: 'dead', label: `${t('monitor.deadLetter')}${stats.dead > 0 ? ` (${stats.dead})` : ''}` },
            ]}
            data-testid="delivery-view"
          />
        }
      >
        <DeliveriesTable key={`${sub.id}:${view}`} sub={sub} dead={view === 'dead'} onChanged={() => void recent.refetch()} />
      </Card>
    </>
  );
}

function DeliveriesTable({ sub, dead, onChanged }: { sub: Webhook; dead: boolean; onChanged: () => void }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const pager = useCursorPages(20);
  const [status, setStatus] = useState<DeliveryStatus | undefined>(dead ? 'dead' : undefined);
  const [detail, setDetail] = useState<WebhookDelivery | null>(null);
  const page = useQuery({
    queryKey: ['deliveries', sub.id, status, pager.cursor, pager.size],
    queryFn: ({ signal }) => get<Page<WebhookDelivery>>(`/v1/webhooks/${sub.id}/deliveries`, { status, cursor: pager.cursor, limit: pager.size }, signal),
    placeholderData: keepPreviousData,
    // While deliveries are in flight (a replay, retries), follow them.
    refetchInterval: (q) => (q.state.data?.data.some((d) => d.status === 'pending' || d.status === 'delivering') ? 2000 : false),
  });
  const qc = useQueryClient();
  const after = () => {
    void qc.invalidateQueries({ queryKey: ['deliveries', sub.id] });
    onChanged();
  };
  const replayOne = useMutation({
    mutationFn: (d: WebhookDelivery) => post<WebhookDelivery>(`/v1/webhooks/${sub.id}/deliveries/${d.id}/replay`),
    onSuccess: () => {
      void message.success(t('monitor.replayQueued'));
      after();
    },
    onError: (e) => void message.error(problemText(e, t('common.unknownError'))),
  });
  const replayAll = useMutation({
    mutationFn: () => post<{ replayed: number }>(`/v1/webhooks/${sub.id}/replay`),
    onSuccess: (r) => {
      void message.success(t('monitor.replayAllQueued', { n: r.replayed }));
      after();
    },
    onError: (e) => void message.error(problemText(e, t('common.unknownError'))),
  });
  const data = page.data?.data ?? [];
  return (
    <>
      <Flex justify="space-between" className="toolbar" gap={8} wrap>
        {dead ? (
          <Alert type="warning" showIcon title={t('monitor.deadHint')} style={{ flex: 1 }} />
        ) : (
          <Select
            allowClear
            placeholder={t('monitor.filterStatus')}
            style={{ width: 180 }}
            value={status}
            onChange={(v) => (setStatus(v), pager.reset())}
            options={(['succeeded', 'pending', 'delivering', 'dead'] as const).map((s) => ({ value: s, label: t(`monitor.status.${s}`) }))}
          />
        )}
        <Space>
          <Button icon={<ReloadOutlined />} onClick={after} loading={page.isFetching}>
            {t('common.refresh')}
          </Button>
          {dead ? (
            <Popconfirm title={t('monitor.replayAllConfirm')} onConfirm={() => replayAll.mutate()} disabled={data.length === 0}>
              <Button type="primary" icon={<RedoOutlined />} loading={replayAll.isPending} disabled={data.length === 0} data-testid="replay-all">
                {t('monitor.replayAll')}
              </Button>
            </Popconfirm>
          ) : null}
        </Space>
      </Flex>
      {page.error ? <ProblemAlert error={page.error} onRetry={() => void page.refetch()} style={{ marginBottom: 16 }} /> : null}
      <Table<WebhookDelivery>
        rowKey="id"
        size="middle"
        loading={page.isLoading}
        dataSource={data}
        pagination={false}
        scroll={{ x: 'max-content' }}
        locale={{ emptyText: page.error ? ' ' : <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={dead ? t('monitor.noDead') : t('monitor.noDeliveries')} /> }}
        columns={[
          { title: t('common.createdAt'), dataIndex: 'createdAt', width: 170, render: (v: string) => <Tooltip title={fromNow(v)}>{fmtTime(v)}</Tooltip> },
          { title: t('monitor.eventType'), dataIndex: 'eventType', width: 160, render: (v: string) => <Tag variant="filled">{v}</Tag> },
          {
            title: t('common.status'),
            dataIndex: 'status',
            width: 120,
            render: (v: DeliveryStatus) => <Badge status={STATUS_COLORS[v] as 'success'} text={t(`monitor.status.${v}`)} />,
          },
          { title: t('monitor.attempts'), dataIndex: 'attempts', width: 80, align: 'right' },
          { title: t('monitor.httpStatus'), dataIndex: 'lastStatus', width: 90, render: (v: number | null) => (v === null ? '—' : <span className="mono">{v}</span>) },
          { title: t('monitor.latency'), dataIndex: 'latencyMs', width: 100, align: 'right', render: (v: number | null) => (v === null ? '—' : `${v} ms`) },
          { title: t('monitor.lastError'), dataIndex: 'lastError', ellipsis: true, render: (v: string | null) => (v ? <Typography.Text type="danger">{v}</Typography.Text> : '—') },
          {
            title: '',
            key: 'a',
            width: 150,
            fixed: 'right',
            render: (_v, d) => (
              <Space size={0}>
                <Button type="link" size="small" onClick={() => setDetail(d)}>
                  {t('common.details')}
                </Button>
                {d.status === 'dead' || d.status === 'succeeded' ? (
                  <Button type="link" size="small" loading={replayOne.isPending && replayOne.variables.id === d.id} onClick={() => replayOne.mutate(d)} data-testid="replay-one">
                    {t('monitor.replay')}
                  </Button>
                ) : null}
              </Space>
            ),
          },
        ]}
      />
      <CursorPager pager={pager} nextCursor={page.data?.nextCursor} count={data.length} loading={page.isFetching} />
      <DeliveryDetail sub={sub} delivery={detail} onClose={() => setDetail(null)} />
    </>
  );
}

interface DeliveryFull extends WebhookDelivery {
  payload: unknown;
  attemptsLog: { attempt: number; at: string; statusCode: number | null; latencyMs: number; error: string | null }[];
}

function DeliveryDetail({ sub, delivery, onClose }: { sub: Webhook; delivery: WebhookDelivery | null; onClose: () => void }) {
  const { t } = useTranslation();
  const full = useQuery({
    queryKey: ['delivery', sub.id, delivery?.id],
    queryFn: () => get<DeliveryFull>(`/v1/webhooks/${sub.id}/deliveries/${delivery?.id ?? ''}`),
    enabled: !!delivery,
  });
  return (
    <Modal open={!!delivery} onCancel={onClose} footer={null} width={760} title={t('monitor.deliveryTitle', { id: delivery?.id ?? '' })}>
      {full.isLoading ? <Skeleton active /> : null}
      <ProblemAlert error={full.error} />
      {full.data ? (
        <Flex vertical gap={16}>
          <Table
            size="small"
            rowKey="attempt"
            pagination={false}
            dataSource={full.data.attemptsLog}
            columns={[
              { title: '#', dataIndex: 'attempt', width: 50 },
              { title: t('common.time'), dataIndex: 'at', render: fmtTime },
              { title: t('monitor.httpStatus'), dataIndex: 'statusCode', render: (v: number | null) => v ?? '—' },
              { title: t('monitor.latency'), dataIndex: 'latencyMs', render: (v: number) => `${v} ms` },
              { title: t('monitor.lastError'), dataIndex: 'error', render: (v: string | null) => v ?? '—' },
            ]}
          />
          <div>
            <Typography.Text strong>{t('monitor.payload')}</Typography.Text>
            <pre className="kv-json">{JSON.stringify(full.data.payload, null, 2)}</pre>
          </div>
        </Flex>
      ) : null}
    </Modal>
  );
}

function NewSubscriptionModal({ open, onClose }: { open: boolean; onClose: (id: string | null) => void }) {
  const { t } = useTranslation();
  const [form] = Form.useForm<{ url: string; eventTypes: string[]; description?: string }>();
  const create = useMutation({
    mutationFn: (v: { url: string; eventTypes: string[]; description?: string }) =>
      post<Webhook>('/v1/webhooks', { url: v.url.trim(), eventTypes: v.eventTypes, ...(v.description?.trim() ? { description: v.description.trim() } : {}) }),
  });
  const done = () => {
    const id = create.data?.id ?? null;
    form.resetFields();
    create.reset();
    onClose(id);
  };
  return (
    <Modal
      open={open}
      title={t('monitor.newSubscription')}
      onCancel={done}
      destroyOnHidden
      footer={
        create.data ? (
          <Button type="primary" onClick={done}>
            {t('common.done')}
          </Button>
        ) : (
          <Space>
            <Button onClick={done}>{t('common.cancel')}</Button>
            <Button type="primary" loading={create.isPending} onClick={() => form.submit()}>
              {t('common.create')}
            </Button>
          </Space>
        )
      }
    >
      {create.data?.secret ? (
        <Flex vertical gap={12}>
          <Alert type="warning" showIcon title={t('monitor.secretOnce')} />
          <Copy value={create.data.secret} />
        </Flex>
      ) : (
        <Form form={form} layout="vertical" onFinish={(v) => create.mutate(v)} initialValues={{ eventTypes: ['customer.created', 'tag.added'] }}>
          <Form.Item name="url" label="URL" rules={[{ required: true, type: 'url', message: t('monitor.urlRule') }]}>
            <Input placeholder="https://example.com/hooks/datong" />
          </Form.Item>
          <Form.Item name="eventTypes" label={t('monitor.eventTypes')} rules={[{ required: true, type: 'array', min: 1 }]}>
            <Checkbox.Group options={WEBHOOK_EVENT_TYPES.map((e) => ({ value: e, label: e }))} style={{ display: 'grid', gridTemplateColumns: '1fr 1fr', gap: 6 }} />
          </Form.Item>
          <Form.Item name="description" label={t('common.description')}>
            <Input maxLength={500} />
          </Form.Item>
          <ProblemAlert error={create.error} />
        </Form>
      )}
    </Modal>
  );
}
