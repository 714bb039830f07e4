import { ReloadOutlined, RedoOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Descriptions, Drawer, Empty, Flex, Input, Popconfirm, Select, Skeleton, Table, Tag, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError, get, post } from '../../../api/client';
import { CursorPager, useCursorPages } from '../../../components/CursorPager';
import { fmtTime } from '../../../components/format';
import { ProblemAlert, problemText } from '../../../components/ProblemAlert';
import { summarizeResult, type SummaryItem } from './summary';
import { MESSAGE_CHANNELS, MESSAGE_STATUSES, VERIFICATIONS, type ConnectorMessage, type ConnectorMessageDetail, type MessageStatus, type Verification } from './types';

const STATUS_COLOR: Record<MessageStatus, string> = { pending: 'processing', processed: 'success', ignored: 'default', failed: 'warning', quarantined: 'error' };
const VERIFICATION_COLOR: Record<Verification, string> = { valid: 'green', invalid: 'red', test: 'blue' };

interface Filters {
  status?: string | undefined;
  type?: string | undefined;
  verification?: string | undefined;
  channel?: string | undefined;
}

function SummaryLine({ item }: { item: SummaryItem }) {
  const { t } = useTranslation();
  const status = (s: string) => t(`commerce.orderStatus.${s}`, { defaultValue: s });
  switch (item.kind) {
    case 'order':
    case 'refund':
      return (
        <span>
          {t(`commerce.sum.${item.kind}`, { id: item.id, status: status(item.status) })}
          {item.amount ? <span className="muted"> · {item.amount}</span> : null}
          {item.applied ? null : <span className="muted"> · {t('commerce.sum.notApplied')}</span>}
        </span>
      );
    case 'member':
      return <span>{t('commerce.sum.member', { event: item.event })}</span>;
    case 'ignored':
      return <span className="muted">{t('commerce.sum.ignored', { reason: item.reason })}</span>;
  }
}

function Summary({ m }: { m: ConnectorMessage }) {
  const { t } = useTranslation();
  if (m.error) {
    return (
      <Flex vertical className="log-summary">
        <Typography.Text type="danger">{m.error}</Typography.Text>
        {m.errorCode ? <span className="problem-code">{m.errorCode}</span> : null}
      </Flex>
    );
  }
  const items = summarizeResult(m.result);
  if (items.length === 0) return <span className="muted">{t('commerce.sum.none')}</span>;
  return (
    <Flex vertical gap={2} className="log-summary">
      {items.map((item, i) => (
        <SummaryLine key={i} item={item} />
      ))}
    </Flex>
  );
}

export function StatusTag({ status }: { status: MessageStatus }) {
  const { t } = useTranslation();
  return <Tag color={STATUS_COLOR[status]}>{t(`commerce.status.${status}`)}</Tag>;
}

export function VerificationTag({ v }: { v: Verification }) {
  const { t } = useTranslation();
  return <Tag color={VERIFICATION_COLOR[v]}>{t(`commerce.verification.${v}`)}</Tag>;
}

/** GET /v1/connectors/{id}/messages: every platform message, filters, keyset pages, a detail drawer and replay. */
export function MessageLog({ connectorId, canReplay }: { connectorId: string; canReplay: boolean }) {
  const { t } = useTranslation();
  const pager = useCursorPages(20);
  const [filters, setFilters] = useState<Filters>({});
  const [typeText, setTypeText] = useState('');
  const [open, setOpen] = useState<string | null>(null);
  const setFilter = (k: keyof Filters, v: string | undefined) => {
    setFilters((f) => ({ ...f, [k]: v || undefined }));
    pager.reset();
  };
  const list = useQuery({
    queryKey: ['connector-messages', connectorId, filters, pager.cursor, pager.size],
    queryFn: () =>
      get<{ data: ConnectorMessage[]; nextCursor: string | null }>(`/v1/connectors/${connectorId}/messages`, { ...filters, cursor: pager.cursor, limit: pager.size }),
    // New messages arrive on their own: the first page follows them.
    refetchInterval: pager.page === 1 ? 5_000 : false,
  });
  const data = list.data?.data ?? [];
  const filtered = Object.values(filters).some(Boolean);
  const opt = (key: string, values: readonly string[]) => values.map((v) => ({ value: v, label: t(`commerce.${key}.${v}`) }));
  return (
    <Flex vertical gap={12} data-testid="message-log">
      <Flex gap={8} wrap align="center">
        <Select
          allowClear
          placeholder={t('commerce.log.status')}
          style={{ width: 140 }}
          value={filters.status}
          onChange={(v?: string) => setFilter('status', v)}
          options={opt('status', MESSAGE_STATUSES)}
          data-testid="log-status"
        />
        <Select
          allowClear
          placeholder={t('commerce.log.verification')}
          style={{ width: 130 }}
          value={filters.verification}
          onChange={(v?: string) => setFilter('verification', v)}
          options={opt('verification', VERIFICATIONS)}
          data-testid="log-verification"
        />
        <Select
          allowClear
          placeholder={t('commerce.log.channel')}
          style={{ width: 120 }}
          value={filters.channel}
          onChange={(v?: string) => setFilter('channel', v)}
          options={opt('channel', MESSAGE_CHANNELS)}
          data-testid="log-channel"
        />
        <Input.Search
          allowClear
          placeholder={t('commerce.log.typePlaceholder')}
          style={{ width: 260 }}
          className="mono"
          value={typeText}
          onChange={(e) => {
            setTypeText(e.target.value);
            if (e.target.value === '') setFilter('type', undefined);
          }}
          onSearch={(v) => setFilter('type', v.trim())}
          data-testid="log-type"
        />
        <Button icon={<ReloadOutlined />} onClick={() => void list.refetch()} loading={list.isFetching && !list.isLoading} data-testid="log-refresh">
          {t('common.refresh')}
        </Button>
      </Flex>
      {list.error ? <ProblemAlert error={list.error} onRetry={() => void list.refetch()} /> : null}
      <Table<ConnectorMessage>
        rowKey="id"
        size="middle"
        loading={list.isLoading}
        dataSource={data}
        pagination={false}
        scroll={{ x: 'max-content' }}
        onRow={(m) => ({ onClick: () => setOpen(m.id), style: { cursor: 'pointer' }, 'data-testid': 'log-row' }) as React.HTMLAttributes<HTMLElement>}
        locale={{
          emptyText: list.error ? ' ' : <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={filtered ? t('commerce.log.emptyFiltered') : t('commerce.log.empty')} />,
        }}
        columns={[
          { title: t('commerce.log.receivedAt'), dataIndex: 'receivedAt', width: 170, render: fmtTime },
          { title: t('commerce.log.type'), dataIndex: 'type', width: 210, render: (v: string) => <span className="mono">{v}</span> },
          { title: t('commerce.log.channel'), dataIndex: 'channel', width: 80, render: (v: string) => t(`commerce.channel.${v}`, { defaultValue: v }) },
          { title: t('commerce.log.verification'), dataIndex: 'verification', width: 90, render: (v: Verification) => <VerificationTag v={v} /> },
          { title: t('commerce.log.status'), dataIndex: 'status', width: 100, render: (v: MessageStatus) => <StatusTag status={v} /> },
          // Wraps instead of widening the table: errors and order ids can be long.
          { title: t('commerce.log.summary'), key: 'summary', width: 420, render: (_v, m) => <Summary m={m} /> },
        ]}
      />
      <CursorPager pager={pager} nextCursor={list.data?.nextCursor} count={data.length} loading={list.isFetching} />
      <MessageDrawer connectorId={connectorId} messageId={open} canReplay={canReplay} onClose={() => setOpen(null)} />
    </Flex>
  );
}

function Json({ value, testId }: { value: unknown; testId: string }) {
  return (
    <pre className="kv-json" data-testid={testId}>
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}

function MessageDrawer({ connectorId, messageId, canReplay, onClose }: { connectorId: string; messageId: string | null; canReplay: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const one = useQuery({
    queryKey: ['connector-message', connectorId, messageId],
    queryFn: () => get<ConnectorMessageDetail>(`/v1/connectors/${connectorId}/messages/${encodeURIComponent(messageId ?? '')}`),
    enabled: messageId !== null,
    // A replayed message is processed again in a moment: follow it until it settles.
    refetchInterval: (q) => (q.state.data?.status === 'pending' ? 1_000 : false),
  });
  const replay = useMutation({
    mutationFn: (id: string) => post<ConnectorMessage>(`/v1/connectors/${connectorId}/messages/${encodeURIComponent(id)}/replay`),
    onSuccess: () => {
      void message.success(t('commerce.log.replayed'));
      void qc.invalidateQueries({ queryKey: ['connector-message', connectorId] });
      void qc.invalidateQueries({ queryKey: ['connector-messages', connectorId] });
      void qc.invalidateQueries({ queryKey: ['connector', connectorId] });
    },
  });
  const m = one.data;
  return (
    <Drawer
      open={messageId !== null}
      onClose={() => {
        replay.reset();
        onClose();
      }}
      size={720}
      title={t('commerce.log.drawerTitle')}
      destroyOnHidden
      extra={
        canReplay && m ? (
          <Popconfirm title={t('commerce.log.replayConfirm')} onConfirm={() => replay.mutate(m.id)} okButtonProps={{ 'data-testid': 'replay-confirm' } as React.ComponentProps<typeof Button>}>
            <Button icon={<RedoOutlined />} loading={replay.isPending} data-testid="replay">
              {t('commerce.log.replay')}
            </Button>
          </Popconfirm>
        ) : null
      }
    >
      {one.error ? <ProblemAlert error={one.error} onRetry={() => void one.refetch()} /> : null}
      {replay.error ? (
        <Alert
          type="error"
          showIcon
          style={{ marginBottom: 16 }}
          data-testid="replay-error"
          title={problemText(replay.error, t('common.unknownError'))}
          description={replay.error instanceof ApiError ? <span className="problem-code">{replay.error.code}</span> : undefined}
        />
      ) : null}
      {one.isLoading ? <Skeleton active paragraph={{ rows: 8 }} /> : null}
      {m ? (
        <Flex vertical gap={16} data-testid="message-detail">
          <Descriptions
            size="small"
            column={2}
            bordered
            items={[
              { key: 'type', label: t('commerce.log.type'), span: 2, children: <span className="mono">{m.type}</span> },
              { key: 'mid', label: t('commerce.log.messageId'), span: 2, children: <Typography.Text className="mono" copyable>{m.messageId}</Typography.Text> },
              { key: 'lid', label: t('commerce.log.logId'), span: 2, children: <span className="mono">{m.id}</span> },
              { key: 'status', label: t('commerce.log.status'), children: <span data-testid="detail-status"><StatusTag status={m.status} /></span> },
              { key: 'ver', label: t('commerce.log.verification'), children: <VerificationTag v={m.verification} /> },
              { key: 'ch', label: t('commerce.log.channel'), children: t(`commerce.channel.${m.channel}`, { defaultValue: m.channel }) },
              { key: 'att', label: t('commerce.log.attempts'), children: m.attempts },
              { key: 'rec', label: t('commerce.log.receivedAt'), children: fmtTime(m.receivedAt) },
              { key: 'occ', label: t('commerce.log.occurredAt'), children: fmtTime(m.occurredAt) },
              { key: 'proc', label: t('commerce.log.processedAt'), children: fmtTime(m.processedAt) },
              { key: 'next', label: t('commerce.log.nextAttemptAt'), children: fmtTime(m.nextAttemptAt) },
            ]}
          />
          {m.error ? (
            <div>
              <Typography.Title level={5}>{t('commerce.log.error')}</Typography.Title>
              <Summary m={m} />
            </div>
          ) : null}
          <div>
            <Typography.Title level={5}>{t('commerce.log.result')}</Typography.Title>
            {m.result ? (
              <>
                <div style={{ marginBottom: 8 }}>
                  <Summary m={{ ...m, error: null }} />
                </div>
                <Json value={m.result} testId="message-result" />
              </>
            ) : (
              <Typography.Text type="secondary">{t('commerce.sum.none')}</Typography.Text>
            )}
          </div>
          <div>
            <Flex gap={8} align="center">
              <Typography.Title level={5} style={{ margin: 0 }}>
                {t('commerce.log.payload')}
              </Typography.Title>
              {m.masked ? <Tag color="gold">{t('commerce.log.masked')}</Tag> : null}
            </Flex>
            <Json value={m.payload} testId="message-payload" />
          </div>
        </Flex>
      ) : null}
    </Drawer>
  );
}

