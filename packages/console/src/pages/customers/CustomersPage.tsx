import { DownloadOutlined, ReloadOutlined, SettingOutlined, TagsOutlined, UserOutlined } from '@ant-design/icons';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { App, Avatar, Button, Card, Checkbox, DatePicker, Dropdown, Empty, Flex, Form, Input, Modal, Popover, Select, Space, Table, Tag, Tooltip, Typography } from 'antd';
import type { ColumnsType } from 'antd/es/table';
import type { Dayjs } from 'dayjs';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { download, get, post } from '../../api/client';
import type { CustomerSummary, Page, TagDefinition } from '../../api/types';
import { useAuth } from '../../auth/auth';
import { CursorPager, useCursorPages } from '../../components/CursorPager';
import { displayName, fmtTime, fromNow, traitText } from '../../components/format';
import { PageHeader } from '../../components/PageHeader';
import { ProblemAlert, problemText } from '../../components/ProblemAlert';
import type { Segment } from '../segments/SegmentsPage';

const COLUMN_KEYS = ['name', 'phone', 'email', 'tags', 'owner', 'lastSeenAt', 'firstSeenAt', 'createdAt', 'id'] as const;
type ColumnKey = (typeof COLUMN_KEYS)[number];
const DEFAULT_COLUMNS: ColumnKey[] = ['name', 'phone', 'email', 'tags', 'owner', 'lastSeenAt', 'createdAt'];
const COLUMNS_STORAGE = 'datong.customers.columns';

function loadColumns(): ColumnKey[] {
  try {
    const v = JSON.parse(localStorage.getItem(COLUMNS_STORAGE) ?? 'null') as unknown;
    if (Array.isArray(v)) {
      const keys = v.filter((k): k is ColumnKey => (COLUMN_KEYS as readonly string[]).includes(String(k)));
      if (keys.length > 0) return keys;
    }
  } catch {
    // Corrupt setting: the defaults apply.
  }
  return DEFAULT_COLUMNS;
}

/** The customer's phone or email as the API gives it (masked per role when the role masks PII). */
function contact(c: CustomerSummary, key: 'phone' | 'email'): string {
  return traitText(c[key] ?? c.traits[key]);
}

export function CustomersPage() {
  const { t } = useTranslation();
  const { can } = useAuth();
  const { message } = App.useApp();
  const nav = useNavigate();
  const [params, setParams] = useSearchParams();
  const q = params.get('q') ?? '';
  const tag = params.get('tag') ?? '';
  const segment = params.get('segment') ?? '';
  const pager = useCursorPages(20);
  const [columns, setColumns] = useState<ColumnKey[]>(loadColumns);
  const [selected, setSelected] = useState<string[]>([]);
  const [bulkOpen, setBulkOpen] = useState(false);
  const [exporting, setExporting] = useState(false);

  const list = useQuery({
    queryKey: ['customers', q, tag, segment, pager.cursor, pager.size],
    queryFn: ({ signal }) => get<Page<CustomerSummary>>('/v1/customers', { q, tag, segment, cursor: pager.cursor, limit: pager.size }, signal),
    placeholderData: keepPreviousData,
  });
  const tags = useQuery({ queryKey: ['tags'], queryFn: () => get<{ data: TagDefinition[] }>('/v1/tags') });
  const segments = useQuery({ queryKey: ['segments'], queryFn: () => get<{ data: Segment[] }>('/v1/segments') });

  const setFilter = (k: 'q' | 'tag' | 'segment', v: string) => {
    const next = new URLSearchParams(params);
    if (v) next.set(k, v);
    else next.delete(k);
    setParams(next, { replace: true });
    pager.reset();
    setSelected([]);
  };
  const saveColumns = (keys: ColumnKey[]) => {
    const ordered = COLUMN_KEYS.filter((k) => keys.includes(k));
    setColumns(ordered);
    localStorage.setItem(COLUMNS_STORAGE, JSON.stringify(ordered));
  };

  const exportAs = async (format: 'csv' | 'xlsx') => {
    setExporting(true);
    try {
      await download('/v1/customers/export', { format, q, tag, segment }, `customers.${format}`);
      void message.success(t('customers.exported'));
    } catch (e) {
      void message.error(problemText(e, t('common.unknownError')));
    } finally {
      setExporting(false);
    }
  };

  const all: Record<ColumnKey, ColumnsType<CustomerSummary>[number]> = useMemo(
    () => ({
      name: {
        key: 'name',
        title: t('customers.col.name'),
        fixed: 'left',
        width: 200,
        render: (_v, c) => (
          <Flex align="center" gap={10}>
            <Avatar size={30} icon={<UserOutlined />} className="c360-avatar" />
            <Link to={`/customers/${c.id}`} onClick={(e) => e.stopPropagation()} data-testid="customer-link">
              {displayName(c.traits, t('customers.unnamed'))}
            </Link>
            {c.masked ? <Tag color="default">{t('customers.masked')}</Tag> : null}
          </Flex>
        ),
      },
      phone: { key: 'phone', title: t('customers.col.phone'), width: 150, render: (_v, c) => <span className="mono">{contact(c, 'phone')}</span> },
      email: { key: 'email', title: t('customers.col.email'), width: 200, ellipsis: true, render: (_v, c) => contact(c, 'email') },
      tags: {
        key: 'tags',
        title: t('customers.col.tags'),
        render: (_v, c) =>
          c.tags.length === 0 ? (
            <Typography.Text type="secondary">—</Typography.Text>
          ) : (
            <Flex gap={4} wrap>
              {c.tags.slice(0, 4).map((x) => (
                <Tag key={x} color="blue" variant="filled">
                  {x}
                </Tag>
              ))}
              {c.tags.length > 4 ? <Tag variant="filled">+{c.tags.length - 4}</Tag> : null}
            </Flex>
          ),
      },
      owner: { key: 'owner', title: t('customers.col.owner'), width: 120, render: (_v, c) => c.owner?.name ?? <Typography.Text type="secondary">—</Typography.Text> },
      lastSeenAt: {
        key: 'lastSeenAt',
        title: t('customers.col.lastSeenAt'),
        width: 150,
        render: (_v, c) => <Tooltip title={fmtTime(c.lastSeenAt)}>{fromNow(c.lastSeenAt)}</Tooltip>,
      },
      firstSeenAt: { key: 'firstSeenAt', title: t('customers.col.firstSeenAt'), width: 170, render: (_v, c) => fmtTime(c.firstSeenAt) },
      createdAt: { key: 'createdAt', title: t('customers.col.createdAt'), width: 170, render: (_v, c) => fmtTime(c.createdAt) },
      id: { key: 'id', title: t('customers.col.id'), width: 220, render: (_v, c) => <Typography.Text className="mono" copyable>{c.id}</Typography.Text> },
    }),
    [t],
  );

  const data = list.data?.data ?? [];
  const filtered = q !== '' || tag !== '' || segment !== '';

  return (
    <>
      <PageHeader
        title={t('customers.title')}
        subtitle={t('customers.subtitle')}
        extra={
          <>
            {can('customers.export') ? (
              <Dropdown
                menu={{
                  items: [
                    { key: 'csv', label: t('customers.exportCsv') },
                    { key: 'xlsx', label: t('customers.exportXlsx') },
                  ],
                  onClick: ({ key }) => void exportAs(key as 'csv' | 'xlsx'),
                }}
              >
                <Button icon={<DownloadOutlined />} loading={exporting}>
                  {t('customers.export')}
                </Button>
              </Dropdown>
            ) : null}
          </>
        }
      />
      <Card variant="borderless">
        <Flex className="toolbar" gap={12} wrap justify="space-between">
          <Space wrap>
            <Input.Search
              allowClear
              defaultValue={q}
              key={q}
              placeholder={t('customers.searchPlaceholder')}
              onSearch={(v) => setFilter('q', v.trim())}
              style={{ width: 340 }}
              enterButton
              data-testid="customer-search"
            />
            <Select
              allowClear
              showSearch
              value={tag || undefined}
              placeholder={t('customers.filterTag')}
              style={{ width: 200 }}
              onChange={(v: string | undefined) => setFilter('tag', v ?? '')}
              options={(tags.data?.data ?? []).map((x) => ({ value: x.name, label: `${x.name} (${x.customers})` }))}
              loading={tags.isLoading}
            />
            <Select
              allowClear
              showSearch
              optionFilterProp="label"
              value={segment || undefined}
              placeholder={t('customers.filterSegment')}
              style={{ width: 220 }}
              onChange={(v: string | undefined) => setFilter('segment', v ?? '')}
              options={(segments.data?.data ?? []).map((x) => ({ value: x.id, label: `${x.name} (${x.memberCount})` }))}
              loading={segments.isLoading}
              data-testid="segment-filter"
            />
          </Space>
          <Space wrap>
            {selected.length > 0 && can('customers.write') ? (
              <Button icon={<TagsOutlined />} onClick={() => setBulkOpen(true)} data-testid="bulk-tag">
                {t('customers.bulkTag', { count: selected.length })}
              </Button>
            ) : null}
            <Tooltip title={t('common.refresh')}>
              <Button icon={<ReloadOutlined />} onClick={() => void list.refetch()} loading={list.isFetching && !list.isLoading} />
            </Tooltip>
            <Popover
              trigger="click"
              placement="bottomRight"
              title={t('customers.columns')}
              content={
                <Checkbox.Group
                  value={columns}
                  onChange={(v) => saveColumns(v as ColumnKey[])}
                  options={COLUMN_KEYS.map((k) => ({ value: k, label: t(`customers.col.${k}`), disabled: k === 'name' }))}
                  className="column-picker"
                  style={{ display: 'grid', gap: 6 }}
                />
              }
            >
              <Button icon={<SettingOutlined />}>{t('customers.columns')}</Button>
            </Popover>
          </Space>
        </Flex>
        {list.error ? <ProblemAlert error={list.error} onRetry={() => void list.refetch()} style={{ marginBottom: 16 }} /> : null}
        <Table<CustomerSummary>
          rowKey="id"
          size="middle"
          loading={list.isLoading || (list.isFetching && list.isPlaceholderData)}
          columns={columns.map((k) => all[k])}
          dataSource={data}
          pagination={false}
          scroll={{ x: 'max-content' }}
          rowClassName={() => 'clickable-row'}
          onRow={(c) => ({ onClick: () => nav(`/customers/${c.id}`) })}
          rowSelection={can('customers.write') ? { selectedRowKeys: selected, onChange: (keys) => setSelected(keys.map(String)), preserveSelectedRowKeys: true } : undefined}
          locale={{
            emptyText: list.error ? (
              ' '
            ) : (
              <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={filtered ? t('customers.noMatch') : t('customers.empty')}>
                {!filtered ? <Typography.Text type="secondary">{t('customers.emptyHint')}</Typography.Text> : null}
              </Empty>
            ),
          }}
        />
        <CursorPager pager={pager} nextCursor={list.data?.nextCursor} count={data.length} loading={list.isFetching} />
      </Card>
      <BulkTagModal
        open={bulkOpen}
        ids={selected}
        suggestions={(tags.data?.data ?? []).map((x) => x.name)}
        onClose={(done) => {
          setBulkOpen(false);
          if (done) {
            setSelected([]);
            void list.refetch();
            void tags.refetch();
          }
        }}
      />
    </>
  );
}

function BulkTagModal({ open, ids, suggestions, onClose }: { open: boolean; ids: string[]; suggestions: string[]; onClose: (done: boolean) => void }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [form] = Form.useForm<{ tags: string[]; expiresAt?: Dayjs }>();
  const [busy, setBusy] = useState(false);
  const [progress, setProgress] = useState(0);

  const submit = async (v: { tags: string[]; expiresAt?: Dayjs }) => {
    setBusy(true);
    setProgress(0);
    let failed = 0;
    let lastError: unknown = null;
    for (const id of ids) {
      try {
        await post(`/v1/customers/${encodeURIComponent(id)}/tags`, { tags: v.tags, ...(v.expiresAt ? { expiresAt: v.expiresAt.toISOString() } : {}) });
      } catch (e) {
        failed++;
        lastError = e;
      }
      setProgress((p) => p + 1);
    }
    setBusy(false);
    if (failed === 0) {
      void message.success(t('customers.bulkDone', { count: ids.length }));
      form.resetFields();
      onClose(true);
    } else {
      void message.error(t('customers.bulkFailed', { failed, total: ids.length, detail: problemText(lastError, '') }));
    }
  };

  return (
    <Modal
      open={open}
      title={t('customers.bulkTagTitle', { count: ids.length })}
      onCancel={() => onClose(false)}
      onOk={() => form.submit()}
      okText={busy ? `${progress}/${ids.length}` : t('common.apply')}
      confirmLoading={busy}
      destroyOnHidden
    >
      <Form form={form} layout="vertical" onFinish={(v) => void submit(v)}>
        <Form.Item name="tags" label={t('customers.tagsToAdd')} rules={[{ required: true, message: t('customers.tagsRule') }]}>
          <Select mode="tags" options={suggestions.map((s) => ({ value: s, label: s }))} placeholder={t('customers.tagsPlaceholder')} tokenSeparators={[',', '，']} />
        </Form.Item>
        <Form.Item name="expiresAt" label={t('customers.tagExpires')} extra={t('customers.tagExpiresHint')}>
          <DatePicker showTime style={{ width: '100%' }} />
        </Form.Item>
      </Form>
    </Modal>
  );
}
