import { ReloadOutlined } from '@ant-design/icons';
import { keepPreviousData, useMutation, useQuery } from '@tanstack/react-query';
import { Alert, App, Button, Card, Empty, Flex, Form, Input, Modal, Popconfirm, Segmented, Space, Table, Tag, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { get, post } from '../../api/client';
import type { Page, QuarantineItem } from '../../api/types';
import { CursorPager, useCursorPages } from '../../components/CursorPager';
import { fmtTime } from '../../components/format';
import { ProblemAlert, problemText } from '../../components/ProblemAlert';

type Status = QuarantineItem['status'];

/** The value a fix starts from: the rejected value, or the whole message. */
function initialFix(item: QuarantineItem): string {
  const p = item.payload as { value?: unknown; message?: unknown } | null;
  if (item.kind === 'value') {
    const v = p && typeof p === 'object' && 'value' in p ? p.value : p;
    return typeof v === 'string' ? v : JSON.stringify(v ?? '');
  }
  const m = p && typeof p === 'object' && 'message' in p ? p.message : p;
  return JSON.stringify(m ?? {}, null, 2);
}

export function QuarantinePanel() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [status, setStatus] = useState<Status>('open');
  const [fixing, setFixing] = useState<QuarantineItem | null>(null);
  const pager = useCursorPages(20);
  const page = useQuery({
    queryKey: ['quarantine', status, pager.cursor, pager.size],
    queryFn: ({ signal }) => get<Page<QuarantineItem>>('/v1/quarantine', { status, cursor: pager.cursor, limit: pager.size }, signal),
    placeholderData: keepPreviousData,
  });
  const discard = useMutation({
    mutationFn: (q: QuarantineItem) => post<QuarantineItem>(`/v1/quarantine/${q.id}/discard`),
    onSuccess: () => {
      void message.success(t('quarantine.discarded'));
      void page.refetch();
    },
    onError: (e) => void message.error(problemText(e, t('common.unknownError'))),
  });
  const data = page.data?.data ?? [];
  return (
    <Card variant="borderless">
      <Flex justify="space-between" className="toolbar" wrap gap={8}>
        <Segmented
          value={status}
          onChange={(v) => (setStatus(v as Status), pager.reset())}
          options={(['open', 'fixed', 'discarded'] as const).map((s) => ({ value: s, label: t(`quarantine.status.${s}`) }))}
        />
        <Button icon={<ReloadOutlined />} onClick={() => void page.refetch()} loading={page.isFetching}>
          {t('common.refresh')}
        </Button>
      </Flex>
      {page.error ? <ProblemAlert error={page.error} onRetry={() => void page.refetch()} style={{ marginBottom: 16 }} /> : null}
      <Table<QuarantineItem>
        rowKey="id"
        loading={page.isLoading}
        dataSource={data}
        pagination={false}
        scroll={{ x: 'max-content' }}
        expandable={{ expandedRowRender: (q) => <pre className="kv-json">{JSON.stringify(q.payload, null, 2)}</pre> }}
        locale={{ emptyText: page.error ? ' ' : <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={status === 'open' ? t('quarantine.emptyOpen') : t('quarantine.empty')} /> }}
        columns={[
          { title: t('common.createdAt'), dataIndex: 'createdAt', width: 170, render: fmtTime },
          { title: t('quarantine.kind'), dataIndex: 'kind', width: 100, render: (v: string) => <Tag variant="filled">{t(`quarantine.kinds.${v}`)}</Tag> },
          { title: t('quarantine.reason'), dataIndex: 'reason', render: (v: string) => <Typography.Text type="danger">{v}</Typography.Text> },
          { title: t('quarantine.field'), dataIndex: 'field', width: 160, render: (v: string | null) => (v ? <span className="mono">{v}</span> : '—') },
          {
            title: t('quarantine.message'),
            dataIndex: 'messageId',
            render: (v: string | null) =>
              v ? (
                <Typography.Text className="mono" ellipsis={{ tooltip: v }} style={{ maxWidth: 220 }}>
                  {v}
                </Typography.Text>
              ) : (
                '—'
              ),
          },
          ...(status !== 'open' ? [{ title: t('quarantine.resolvedAt'), dataIndex: 'resolvedAt', width: 170, render: fmtTime }] : []),
          {
            title: '',
            key: 'a',
            width: 150,
            fixed: 'right' as const,
            render: (_v: unknown, q: QuarantineItem) =>
              q.status === 'open' ? (
                <Space size={0}>
                  <Button type="link" size="small" onClick={() => setFixing(q)}>
                    {t('quarantine.fix')}
                  </Button>
                  <Popconfirm title={t('quarantine.discardConfirm')} onConfirm={() => discard.mutate(q)} okButtonProps={{ danger: true }}>
                    <Button type="link" size="small" danger>
                      {t('quarantine.discard')}
                    </Button>
                  </Popconfirm>
                </Space>
              ) : null,
          },
        ]}
      />
      <CursorPager pager={pager} nextCursor={page.data?.nextCursor} count={data.length} loading={page.isFetching} />
      <FixModal
        item={fixing}
        onClose={(done) => {
          setFixing(null);
          if (done) void page.refetch();
        }}
      />
    </Card>
  );
}

function FixModal({ item, onClose }: { item: QuarantineItem | null; onClose: (done: boolean) => void }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [text, setText] = useState('');
  const [parseError, setParseError] = useState<string | null>(null);
  const [openedFor, setOpenedFor] = useState<QuarantineItem | null>(null);
  if (item !== openedFor) {
    setOpenedFor(item);
    setText(item ? initialFix(item) : '');
    setParseError(null);
  }
  const fix = useMutation({
    mutationFn: (payload: unknown) => post<QuarantineItem>(`/v1/quarantine/${item?.id ?? ''}/fix`, { payload }),
    onSuccess: () => {
      void message.success(t('quarantine.fixed'));
      onClose(true);
    },
  });
  const submit = () => {
    if (!item) return;
    if (item.kind === 'value') return fix.mutate(text.trim());
    try {
      fix.mutate(JSON.parse(text) as unknown);
    } catch (e) {
      setParseError(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <Modal open={!!item} title={t('quarantine.fixTitle')} onCancel={() => onClose(false)} onOk={submit} okText={t('quarantine.fixAndReprocess')} confirmLoading={fix.isPending} width={680} destroyOnHidden>
      {item ? (
        <Flex vertical gap={12}>
          <Alert type="error" showIcon title={item.reason} description={item.field ? `${t('quarantine.field')}: ${item.field}` : undefined} />
          <Form layout="vertical">
            <Form.Item label={item.kind === 'value' ? t('quarantine.correctedValue') : t('quarantine.correctedMessage')} extra={item.kind === 'message' ? t('quarantine.messageHint') : t('quarantine.valueHint')}>
              {item.kind === 'value' ? (
                <Input value={text} onChange={(e) => setText(e.target.value)} />
              ) : (
                <Input.TextArea value={text} onChange={(e) => setText(e.target.value)} rows={12} className="mono" />
              )}
            </Form.Item>
          </Form>
          {parseError ? <Alert type="error" showIcon title={t('quarantine.invalidJson')} description={parseError} /> : null}
          <ProblemAlert error={fix.error} />
        </Flex>
      ) : null}
    </Modal>
  );
}
