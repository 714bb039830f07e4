import { useMutation, useQueryClient } from '@tanstack/react-query';
import { App, Button, Flex, Popconfirm, Table, Tag, Typography } from 'antd';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { post } from '../../api/client';
import type { Customer, Identity, MergeRecord } from '../../api/types';
import { useAuth } from '../../auth/auth';
import { fmtTime } from '../../components/format';
import { problemText } from '../../components/ProblemAlert';

type RevealButton = (key: string, field: 'phone' | 'email' | 'name' | 'identity', identityId?: string) => ReactNode;

export function IdentitiesPanel({ customer, revealed, revealButton }: { customer: Customer; revealed: Record<string, string>; revealButton: RevealButton }) {
  const { t } = useTranslation();
  const { can } = useAuth();
  const { message } = App.useApp();
  const qc = useQueryClient();
  const unmerge = useMutation({
    mutationFn: (m: MergeRecord) => post<{ restoredCustomerId: string }>(`/v1/customers/${encodeURIComponent(customer.id)}/unmerge`, { mergeId: m.id }),
    onSuccess: (r) => {
      void message.success(t('c360.unmerged', { id: r.restoredCustomerId }));
      void qc.invalidateQueries({ queryKey: ['customer'] });
      void qc.invalidateQueries({ queryKey: ['timeline'] });
    },
    onError: (e) => void message.error(problemText(e, t('common.unknownError'))),
  });

  const sorted = [...customer.identities].sort((a, b) => a.type.localeCompare(b.type) || a.createdAt.localeCompare(b.createdAt));
  const keyOf = (i: Identity) => i.id ?? `${i.type}:${i.collection ?? ''}:${i.value}`;
  return (
    <Flex vertical gap={24}>
      <Table<Identity>
        size="small"
        rowKey={keyOf}
        pagination={false}
        dataSource={sorted}
        columns={[
          {
            title: t('c360.idType'),
            dataIndex: 'type',
            width: 170,
            render: (v: string) => <Tag variant="filled">{t(`identifiers.${v}`, { defaultValue: v })}</Tag>,
          },
          {
            title: t('c360.idValue'),
            key: 'value',
            render: (_v, i) => {
              const k = `identity:${keyOf(i)}`;
              return (
                <Flex align="center" gap={4}>
                  <span className="mono">{revealed[k] ?? i.value}</span>
                  {i.id && (i.type === 'phone' || i.type === 'email') ? revealButton(k, 'identity', i.id) : null}
                </Flex>
              );
            },
          },
          { title: t('c360.idCollection'), dataIndex: 'collection', width: 150, render: (v: string | null) => v ?? '—' },
          {
            title: t('c360.idRecord'),
            dataIndex: 'customerId',
            width: 210,
            render: (v: string) =>
              v === customer.id ? (
                <Typography.Text type="secondary">{t('c360.thisRecord')}</Typography.Text>
              ) : (
                <Tag color="purple" variant="filled" className="mono">
                  {v}
                </Tag>
              ),
          },
          { title: t('c360.idSince'), dataIndex: 'createdAt', width: 170, render: (v: string) => <span style={{ whiteSpace: 'nowrap' }}>{fmtTime(v)}</span> },
        ]}
      />
      <div>
        <Typography.Title level={5}>{t('c360.mergeHistory')}</Typography.Title>
        <Table<MergeRecord>
          size="small"
          rowKey="id"
          pagination={false}
          dataSource={customer.merges}
          locale={{ emptyText: t('c360.noMerges') }}
          columns={[
            { title: t('c360.mergedAt'), dataIndex: 'createdAt', width: 170, render: (v: string) => <span style={{ whiteSpace: 'nowrap' }}>{fmtTime(v)}</span> },
            {
              title: t('c360.mergedRecord'),
              dataIndex: 'fromCustomerId',
              render: (v: string, m) => (
                <span className="mono">
                  {m.unmergedAt ? <Link to={`/customers/${v}`}>{v}</Link> : v} → {m.intoCustomerId === customer.id ? t('c360.thisRecord') : <Link to={`/customers/${m.intoCustomerId}`}>{m.intoCustomerId}</Link>}
                </span>
              ),
            },
            {
              title: t('c360.mergedBy'),
              key: 'by',
              render: (_v, m) => (
                <span>
                  {t(`identifiers.${m.identifierType}`, { defaultValue: m.identifierType })} · {m.rule}
                </span>
              ),
            },
            {
              title: t('common.status'),
              key: 'status',
              width: 150,
              render: (_v, m) =>
                m.unmergedAt ? <Tag>{t('c360.unmergedAt', { at: fmtTime(m.unmergedAt) })}</Tag> : <Tag color="green">{t('c360.mergedActive')}</Tag>,
            },
            {
              title: '',
              key: 'actions',
              width: 110,
              render: (_v, m) =>
                !m.unmergedAt && can('customers.write') ? (
                  <Popconfirm title={t('c360.unmergeConfirm')} description={t('c360.unmergeHint')} onConfirm={() => unmerge.mutate(m)} okButtonProps={{ danger: true }}>
                    <Button size="small" danger loading={unmerge.isPending && unmerge.variables.id === m.id}>
                      {t('c360.unmerge')}
                    </Button>
                  </Popconfirm>
                ) : null,
            },
          ]}
        />
      </div>
    </Flex>
  );
}
