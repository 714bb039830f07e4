import { SearchOutlined } from '@ant-design/icons';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Button, DatePicker, Empty, Flex, Input, Select, Table, Tag, Tooltip } from 'antd';
import type { Dayjs } from 'dayjs';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { get } from '../../api/client';
import type { AuditEntry, Page } from '../../api/types';
import { CursorPager, useCursorPages } from '../../components/CursorPager';
import { fmtTime } from '../../components/format';
import { ProblemAlert } from '../../components/ProblemAlert';
import { useUsers } from './common';

interface Filters {
  actorId?: string;
  action?: string;
  resourceType?: string;
  resourceId?: string;
  from?: string;
  to?: string;
}

const RESOURCE_TYPES = ['customer', 'user', 'role', 'api_key', 'source', 'tag', 'tag_rule', 'webhook', 'connector', 'quarantine', 'identity_rules', 'export', 'session'];

export function AuditTab() {
  const { t } = useTranslation();
  const users = useUsers();
  const pager = useCursorPages(50);
  const [draft, setDraft] = useState<Filters>({});
  const [range, setRange] = useState<[Dayjs | null, Dayjs | null] | null>(null);
  const [filters, setFilters] = useState<Filters>({});
  const page = useQuery({
    queryKey: ['audit', filters, pager.cursor, pager.size],
    queryFn: ({ signal }) => get<Page<AuditEntry>>('/v1/audit-log', { ...filters, cursor: pager.cursor, limit: pager.size }, signal),
    placeholderData: keepPreviousData,
  });
  const apply = () => {
    setFilters({
      ...draft,
      ...(range?.[0] ? { from: range[0].toISOString() } : {}),
      ...(range?.[1] ? { to: range[1].toISOString() } : {}),
    });
    pager.reset();
  };
  const data = page.data?.data ?? [];
  return (
    <>
      <Flex gap={8} wrap className="toolbar">
        <Select
          allowClear
          showSearch
          placeholder={t('audit.actor')}
          style={{ width: 200 }}
          value={draft.actorId}
          onChange={(v: string | undefined) => setDraft((d) => ({ ...d, actorId: v }))}
          options={(users.data ?? []).map((u) => ({ value: u.id, label: u.name || u.email }))}
          optionFilterProp="label"
        />
        <Input allowClear placeholder={t('audit.action')} style={{ width: 180 }} value={draft.action} onChange={(e) => setDraft((d) => ({ ...d, action: e.target.value || undefined }))} />
        <Select
          allowClear
          placeholder={t('audit.resourceType')}
          style={{ width: 170 }}
          value={draft.resourceType}
          onChange={(v: string | undefined) => setDraft((d) => ({ ...d, resourceType: v }))}
          options={RESOURCE_TYPES.map((r) => ({ value: r, label: t(`audit.resources.${r}`, { defaultValue: r }) }))}
        />
        <Input allowClear placeholder={t('audit.resourceId')} style={{ width: 200 }} value={draft.resourceId} onChange={(e) => setDraft((d) => ({ ...d, resourceId: e.target.value || undefined }))} />
        <DatePicker.RangePicker showTime value={range} onChange={(v) => setRange(v as [Dayjs | null, Dayjs | null] | null)} />
        <Button type="primary" icon={<SearchOutlined />} onClick={apply}>
          {t('common.search')}
        </Button>
      </Flex>
      {page.error ? <ProblemAlert error={page.error} onRetry={() => void page.refetch()} style={{ marginBottom: 16 }} /> : null}
      <Table<AuditEntry>
        rowKey="id"
        size="middle"
        loading={page.isLoading}
        dataSource={data}
        pagination={false}
        scroll={{ x: 'max-content' }}
        expandable={{ expandedRowRender: (a) => <pre className="kv-json">{JSON.stringify(a.details, null, 2)}</pre>, rowExpandable: (a) => a.details !== null && a.details !== undefined }}
        locale={{ emptyText: page.error ? ' ' : <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('audit.empty')} /> }}
        columns={[
          { title: t('common.time'), dataIndex: 'at', width: 170, render: fmtTime },
          {
            title: t('audit.actor'),
            dataIndex: 'actor',
            width: 280,
            render: (a: AuditEntry['actor']) => (
              <Flex gap={6} align="center" wrap={false} style={{ whiteSpace: 'nowrap' }}>
                <Tag variant="filled" color={a.type === 'user' ? 'blue' : a.type === 'apiKey' ? 'orange' : 'default'}>
                  {t(`audit.actorTypes.${a.type}`)}
                </Tag>
                {a.label}
              </Flex>
            ),
          },
          {
            title: t('audit.action'),
            dataIndex: 'action',
            width: 260,
            render: (v: string) => {
              const label = t(`auditActions.${v}`, { defaultValue: '' });
              return label ? (
                <span>
                  {label} <span className="mono muted">{v}</span>
                </span>
              ) : (
                <span className="mono">{v}</span>
              );
            },
          },
          {
            title: t('audit.resource'),
            key: 'r',
            render: (_v, a) => (
              <span>
                {t(`audit.resources.${a.resourceType}`, { defaultValue: a.resourceType })}
                {a.resourceId ? (
                  <Tooltip title={a.resourceId}>
                    <span className="mono muted"> {a.resourceId}</span>
                  </Tooltip>
                ) : null}
              </span>
            ),
          },
          { title: 'IP', dataIndex: 'ip', width: 130, render: (v: string | null) => <span className="mono">{v ?? '—'}</span> },
        ]}
      />
      <CursorPager pager={pager} nextCursor={page.data?.nextCursor} count={data.length} loading={page.isFetching} />
    </>
  );
}
