import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Card, Col, DatePicker, Descriptions, Empty, Flex, Form, Input, InputNumber, Row, Skeleton, Space, Statistic, Switch, Table, Tabs, Tag, TimePicker, Typography } from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useParams, useSearchParams } from 'react-router';
import { get, post, put } from '../../../api/client';
import { useAuth } from '../../../auth/auth';
import { fmtTime, fromNow } from '../../../components/format';
import { PageHeader } from '../../../components/PageHeader';
import { ProblemAlert } from '../../../components/ProblemAlert';
import { ConnectionTest, PlatformMark, SetupInstructions } from './common';
import { MessageLog } from './MessageLog';
import { isCommercePlatform, PLATFORM_SPECS, type CommercePlatform } from './platforms';
import type { CommerceStatus, ConnectorDetail, EffectiveSettings, ReconcileReport } from './types';

const HEALTH_COLOR = { ok: 'success', degraded: 'warning', failing: 'error' } as const;
const MAX_WINDOW_MS = 31 * 86_400_000;

function When({ at }: { at: string | null }) {
  const { t } = useTranslation();
  if (!at) return <Typography.Text type="secondary">{t('commerce.h.never')}</Typography.Text>;
  return (
    <span title={fmtTime(at)}>
      {fmtTime(at)} <span className="muted">· {fromNow(at)}</span>
    </span>
  );
}

function ErrorText({ text }: { text: string | null }) {
  return text ? <Typography.Text type="danger">{text}</Typography.Text> : <span className="muted">—</span>;
}

function lastReconcileText(t: (k: string, o?: Record<string, unknown>) => string, r: Record<string, unknown> | null): string | null {
  if (!r) return null;
  const n = (k: string) => (typeof r[k] === 'number' ? r[k] : 0);
  const text = t('commerce.h.lastReconcile', { matched: n('matched'), orders: n('platformOrders'), missing: n('missing'), different: n('different'), backfilled: n('backfilled') });
  return r['scheduled'] === true ? `${text} (${t('commerce.h.scheduled')})` : text;
}

function Health({ platform, s }: { platform: CommercePlatform; s: CommerceStatus }) {
  const { t } = useTranslation();
  const tmc = PLATFORM_SPECS[platform].delivery === 'tmc';
  const items = [
    {
      key: 'channel',
      label: t('commerce.h.channel'),
      children: (
        <Space size={4} wrap>
          <Tag color={s.channel === 'push' ? 'blue' : 'orange'} data-testid="channel">
            {s.channel === 'push' && tmc ? t('commerce.channelPull') : t(`commerce.channelState.${s.channel}`)}
          </Tag>
          {s.channelSince ? <span className="muted">{t('commerce.h.channelSince', { time: fmtTime(s.channelSince) })}</span> : null}
        </Space>
      ),
    },
    ...(s.channelReason ? [{ key: 'reason', label: t('commerce.h.channelReason'), children: s.channelReason }] : []),
    ...(tmc
      ? [
          { key: 'pull', label: t('commerce.h.lastPullAt'), children: <When at={s.lastPullAt} /> },
          { key: 'pullErr', label: t('commerce.h.lastPullError'), children: <ErrorText text={s.lastPullError} /> },
        ]
      : [
          { key: 'push', label: t('commerce.h.lastPushAt'), children: <When at={s.lastPushAt} /> },
          { key: 'validPush', label: t('commerce.h.lastValidPushAt'), children: <When at={s.lastValidPushAt} /> },
          { key: 'pushFailures', label: t('commerce.h.pushFailures'), children: <span data-testid="push-failures">{s.pushFailures}</span> },
          { key: 'pushErr', label: t('commerce.h.lastPushError'), children: <ErrorText text={s.lastPushError} /> },
        ]),
    { key: 'watermark', label: t('commerce.h.pollWatermark'), children: <When at={s.pollWatermark} /> },
    { key: 'poll', label: t('commerce.h.lastPollAt'), children: <When at={s.lastPollAt} /> },
    { key: 'pollFailures', label: t('commerce.h.pollFailures'), children: s.pollFailures },
    { key: 'pollErr', label: t('commerce.h.lastPollError'), children: <ErrorText text={s.lastPollError} /> },
    {
      key: 'rec',
      label: t('commerce.h.lastReconcileAt'),
      children: (
        <Flex vertical>
          <When at={s.lastReconcileAt} />
          {s.lastReconcile ? <span className="muted">{lastReconcileText(t, s.lastReconcile)}</span> : null}
        </Flex>
      ),
    },
    { key: 'backlog', label: t('commerce.h.messagesLabel'), children: t('commerce.h.messages', s.messages) },
  ];
  return <Descriptions size="small" column={{ xs: 1, lg: 2 }} bordered items={items} data-testid="health" />;
}

interface SettingsForm {
  fallbackAfterS: number;
  pollIntervalS: number;
  reconcileOn: boolean;
  reconcileAt: Dayjs | null;
  timezone: string;
  perSecond: number;
  burst: number;
  apiBaseUrl: string;
}

function toForm(s: EffectiveSettings): SettingsForm {
  return {
    fallbackAfterS: Math.round(s.fallbackAfterMs / 1000),
    pollIntervalS: Math.round(s.pollIntervalMs / 1000),
    reconcileOn: s.reconcileDaily !== null,
    reconcileAt: dayjs(`2000-01-01T${s.reconcileDaily ?? '03:00'}:00`),
    timezone: s.timezone,
    perSecond: s.rateLimit.perSecond,
    burst: s.rateLimit.burst,
    apiBaseUrl: s.apiBaseUrl ?? '',
  };
}

function SettingsPanel({ connectorId, settings }: { connectorId: string; settings: EffectiveSettings }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const [form] = Form.useForm<SettingsForm>();
  useEffect(() => form.setFieldsValue(toForm(settings)), [form, settings]);
  const save = useMutation({
    mutationFn: (v: SettingsForm) =>
      put<EffectiveSettings>(`/v1/connectors/${connectorId}/settings`, {
        fallbackAfterMs: Math.round(v.fallbackAfterS * 1000),
        pollIntervalMs: Math.round(v.pollIntervalS * 1000),
        reconcileDaily: v.reconcileOn && v.reconcileAt ? v.reconcileAt.format('HH:mm') : null,
        timezone: v.timezone.trim(),
        rateLimit: { perSecond: v.perSecond, burst: v.burst },
        ...(v.apiBaseUrl.trim() ? { apiBaseUrl: v.apiBaseUrl.trim() } : {}),
      }),
    onSuccess: () => {
      void message.success(t('commerce.settings.saved'));
      void qc.invalidateQueries({ queryKey: ['connector', connectorId] });
    },
  });
  const reconcileOn = Form.useWatch('reconcileOn', form);
  const sec = t('commerce.settings.seconds');
  return (
    <Form form={form} layout="vertical" initialValues={toForm(settings)} onFinish={(v) => save.mutate(v)} style={{ maxWidth: 720 }} data-testid="settings-form">
      <Row gutter={16}>
        <Col xs={24} md={12}>
          <Form.Item name="fallbackAfterS" label={t('commerce.settings.fallbackAfter')} extra={t('commerce.settings.fallbackAfterHint')} rules={[{ required: true }]}>
            <InputNumber min={10} max={86_400} suffix={sec} style={{ width: '100%' }} data-testid="fallback-after" />
          </Form.Item>
        </Col>
        <Col xs={24} md={12}>
          <Form.Item name="pollIntervalS" label={t('commerce.settings.pollInterval')} extra={t('commerce.settings.pollIntervalHint')} rules={[{ required: true }]}>
            <InputNumber min={1} max={3_600} suffix={sec} style={{ width: '100%' }} />
          </Form.Item>
        </Col>
        <Col xs={24} md={12}>
          <Form.Item label={t('commerce.settings.reconcileDaily')} extra={t('commerce.settings.reconcileDailyHint')}>
            <Space>
              <Form.Item name="reconcileOn" valuePropName="checked" noStyle>
                <Switch />
              </Form.Item>
              <Form.Item name="reconcileAt" noStyle>
                <TimePicker format="HH:mm" disabled={!reconcileOn} allowClear={false} />
              </Form.Item>
            </Space>
          </Form.Item>
        </Col>
        <Col xs={24} md={12}>
          <Form.Item name="timezone" label={t('commerce.settings.timezone')} rules={[{ required: true, whitespace: true }]}>
            <Input className="mono" placeholder="Asia/Shanghai" />
          </Form.Item>
        </Col>
        <Col xs={24} md={12}>
          <Form.Item label={t('commerce.settings.rateLimit')} required>
            <Space.Compact block>
              <Form.Item name="perSecond" noStyle rules={[{ required: true }]}>
                <InputNumber min={1} max={1_000} prefix={t('commerce.settings.perSecond')} style={{ width: '55%' }} />
              </Form.Item>
              <Form.Item name="burst" noStyle rules={[{ required: true }]}>
                <InputNumber min={1} max={10_000} prefix={t('commerce.settings.burst')} style={{ width: '45%' }} />
              </Form.Item>
            </Space.Compact>
          </Form.Item>
        </Col>
        <Col xs={24} md={12}>
          <Form.Item name="apiBaseUrl" label={t('commerce.settings.apiBaseUrl')} extra={t('commerce.settings.apiBaseUrlHint')}>
            <Input className="mono" />
          </Form.Item>
        </Col>
      </Row>
      <ProblemAlert error={save.error} style={{ marginBottom: 16 }} />
      <Button type="primary" htmlType="submit" loading={save.isPending} data-testid="settings-save">
        {t('common.save')}
      </Button>
    </Form>
  );
}

function ReconcilePanel({ connectorId }: { connectorId: string }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const [form] = Form.useForm<{ window: [Dayjs, Dayjs]; backfill: boolean }>();
  const run = useMutation({
    mutationFn: (v: { window: [Dayjs, Dayjs]; backfill: boolean }) =>
      post<ReconcileReport>(`/v1/connectors/${connectorId}/reconcile`, { from: v.window[0].toISOString(), to: v.window[1].toISOString(), backfill: v.backfill }),
    onSuccess: (_r, v) => {
      void qc.invalidateQueries({ queryKey: ['connector', connectorId] });
      if (v.backfill) void qc.invalidateQueries({ queryKey: ['connector-messages', connectorId] });
    },
  });
  const r = run.data;
  return (
    <Flex vertical gap={16}>
      <Form
        form={form}
        layout="inline"
        initialValues={{ window: [dayjs().subtract(1, 'day'), dayjs()], backfill: false }}
        onFinish={(v) => run.mutate(v)}
        data-testid="reconcile-form"
      >
        <Form.Item
          name="window"
          label={t('commerce.rec.window')}
          tooltip={t('commerce.rec.windowHint')}
          rules={[
            { required: true, message: t('commerce.rec.windowRule') },
            {
              validator: (_r, v?: [Dayjs, Dayjs]) =>
                !v || (v[1].diff(v[0]) > 0 && v[1].diff(v[0]) <= MAX_WINDOW_MS) ? Promise.resolve() : Promise.reject(new Error(t('commerce.rec.windowRule'))),
            },
          ]}
        >
          <DatePicker.RangePicker showTime={{ format: 'HH:mm' }} format="YYYY-MM-DD HH:mm" allowClear={false} />
        </Form.Item>
        <Form.Item name="backfill" valuePropName="checked" label={t('commerce.rec.backfill')} tooltip={t('commerce.rec.backfillHint')}>
          <Switch data-testid="reconcile-backfill" />
        </Form.Item>
        <Form.Item>
          <Button type="primary" htmlType="submit" loading={run.isPending} data-testid="reconcile-run">
            {t('commerce.rec.run')}
          </Button>
        </Form.Item>
      </Form>
      <ProblemAlert error={run.error} />
      {r ? (
        <Flex vertical gap={16} data-testid="reconcile-report">
          <Row gutter={[16, 16]}>
            {(
              [
                ['platformOrders', r.platformOrders],
                ['matched', r.matched],
                ['missing', r.missingCount],
                ['different', r.differentCount],
                ['backfilled', r.backfilled],
              ] as const
            ).map(([k, v]) => (
              <Col key={k} flex="1 1 150px">
                <Card size="small" className="stat-card">
                  <Statistic title={t(`commerce.rec.${k}`)} value={v} valueStyle={(k === 'missing' || k === 'different') && v > 0 ? { color: '#d4380d' } : undefined} />
                </Card>
              </Col>
            ))}
          </Row>
          {r.truncated ? <Alert type="warning" showIcon title={t('commerce.rec.truncated')} /> : null}
          {r.missingCount === 0 && r.differentCount === 0 ? <Alert type="success" showIcon title={t('commerce.rec.allMatch')} /> : null}
          {r.missing.length > 0 ? (
            <div>
              <Typography.Title level={5}>{t('commerce.rec.missingTitle')}</Typography.Title>
              <Space size={[4, 4]} wrap>
                {r.missing.map((id) => (
                  <Tag key={id} className="mono">
                    {id}
                  </Tag>
                ))}
              </Space>
            </div>
          ) : null}
          {r.different.length > 0 ? (
            <div>
              <Typography.Title level={5}>{t('commerce.rec.differentTitle')}</Typography.Title>
              <Table
                size="small"
                rowKey={(d) => `${d.shopId}/${d.orderId}/${d.field}`}
                dataSource={r.different}
                pagination={r.different.length > 20 ? { pageSize: 20 } : false}
                columns={[
                  { title: t('commerce.rec.orderId'), dataIndex: 'orderId', render: (v: string) => <span className="mono">{v}</span> },
                  { title: t('commerce.rec.field'), dataIndex: 'field' },
                  { title: t('commerce.rec.platformValue'), dataIndex: 'platform' },
                  { title: t('commerce.rec.datongValue'), dataIndex: 'datong' },
                ]}
              />
            </div>
          ) : null}
        </Flex>
      ) : null}
    </Flex>
  );
}

/** /connectors/:id — an e-commerce connector: health, setup, settings, reconciliation and its message log. */
export function ConnectorDetailPage() {
  const { id = '' } = useParams();
  const { t } = useTranslation();
  const { can } = useAuth();
  const [params, setParams] = useSearchParams();
  const [tab, setTab] = useState(params.get('tab') ?? 'overview');
  const q = useQuery({ queryKey: ['connector', id], queryFn: () => get<ConnectorDetail>(`/v1/connectors/${id}`), refetchInterval: 10_000 });
  const c = q.data;
  const crumbs = [{ title: t('connectors.title'), to: '/connectors' }, { title: c?.name ?? id }];
  if (q.isLoading) {
    return (
      <>
        <PageHeader title={id} crumbs={crumbs} />
        <Card variant="borderless">
          <Skeleton active paragraph={{ rows: 8 }} />
        </Card>
      </>
    );
  }
  if (!c) {
    return (
      <>
        <PageHeader title={id} crumbs={crumbs} />
        <ProblemAlert error={q.error} onRetry={() => void q.refetch()} />
      </>
    );
  }
  const platform = c.platform;
  if (!isCommercePlatform(platform) || !c.commerce) {
    return (
      <>
        <PageHeader title={c.name} crumbs={crumbs} />
        <Card variant="borderless">
          <Empty description={t('commerce.detail.notCommerce')} />
        </Card>
      </>
    );
  }
  const s = c.commerce;
  const group = c.config['groupName'];
  const change = (k: string) => {
    setTab(k);
    setParams(k === 'overview' ? {} : { tab: k }, { replace: true });
  };
  return (
    <>
      <PageHeader
        title={
          <Flex align="center" gap={10}>
            <PlatformMark platform={platform} size={28} />
            <span data-testid="connector-name">{c.name}</span>
          </Flex>
        }
        subtitle={<span className="mono">{c.id}</span>}
        crumbs={crumbs}
        tags={
          <>
            <Tag>{t(`connectors.platforms.${platform}`)}</Tag>
            {c.enabled ? (
              <Tag color={HEALTH_COLOR[s.health]} data-testid="health-tag">
                {t(`commerce.healthState.${s.health}`)}
              </Tag>
            ) : (
              <Tag>{t('connectors.disabled')}</Tag>
            )}
          </>
        }
      />
      {q.error ? <ProblemAlert error={q.error} onRetry={() => void q.refetch()} style={{ marginBottom: 16 }} /> : null}
      <Card variant="borderless">
        <Tabs
          activeKey={tab}
          onChange={change}
          items={[
            {
              key: 'overview',
              label: t('commerce.detail.health'),
              children: (
                <Flex vertical gap={24}>
                  <Health platform={platform} s={s} />
                  <div>
                    <Typography.Title level={5}>{t('commerce.detail.setup')}</Typography.Title>
                    <Flex vertical gap={16}>
                      <SetupInstructions platform={platform} webhookUrl={s.webhookUrl} groupName={typeof group === 'string' ? group : undefined} />
                      {c.enabled ? <ConnectionTest connectorId={c.id} /> : null}
                    </Flex>
                  </div>
                </Flex>
              ),
            },
            ...(can('monitor.read')
              ? [{ key: 'log', label: t('commerce.detail.log'), children: <MessageLog connectorId={c.id} canReplay={can('connectors.manage') && c.enabled} /> }]
              : []),
            { key: 'settings', label: t('commerce.detail.settings'), children: <SettingsPanel connectorId={c.id} settings={s.settings} /> },
            { key: 'reconcile', label: t('commerce.detail.reconcile'), children: <ReconcilePanel connectorId={c.id} /> },
          ]}
        />
      </Card>
    </>
  );
}

