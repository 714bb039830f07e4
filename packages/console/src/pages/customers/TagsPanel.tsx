import { PlusOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, DatePicker, Flex, Popconfirm, Select, Table, Tag, Typography } from 'antd';
import type { Dayjs } from 'dayjs';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { del, get, post } from '../../api/client';
import type { Customer, CustomerTag, TagDefinition } from '../../api/types';
import { useAuth } from '../../auth/auth';
import { fmtTime } from '../../components/format';
import { problemText } from '../../components/ProblemAlert';

export const TAG_SOURCE_COLORS: Record<string, string> = { manual: 'blue', rule: 'purple', platform: 'cyan' };

export function TagsPanel({ customer }: { customer: Customer }) {
  const { t } = useTranslation();
  const { can } = useAuth();
  const { message } = App.useApp();
  const qc = useQueryClient();
  const [names, setNames] = useState<string[]>([]);
  const [expires, setExpires] = useState<Dayjs | null>(null);
  const defs = useQuery({ queryKey: ['tags'], queryFn: () => get<{ data: TagDefinition[] }>('/v1/tags') });
  const refresh = () => {
    void qc.invalidateQueries({ queryKey: ['customer', customer.id] });
    void qc.invalidateQueries({ queryKey: ['tags'] });
  };
  const add = useMutation({
    mutationFn: () =>
      post<{ added: string[] }>(`/v1/customers/${encodeURIComponent(customer.id)}/tags`, { tags: names, ...(expires ? { expiresAt: expires.toISOString() } : {}) }),
    onSuccess: (r) => {
      void message.success(r.added.length > 0 ? t('c360.tagsAdded', { tags: r.added.join('、') }) : t('c360.tagsAlready'));
      setNames([]);
      setExpires(null);
      refresh();
    },
    onError: (e) => void message.error(problemText(e, t('common.unknownError'))),
  });
  const remove = useMutation({
    mutationFn: (tag: string) => del(`/v1/customers/${encodeURIComponent(customer.id)}/tags/${encodeURIComponent(tag)}`),
    onSuccess: () => refresh(),
    onError: (e) => void message.error(problemText(e, t('common.unknownError'))),
  });
  const writable = can('customers.write');
  return (
    <Flex vertical gap={16}>
      {writable ? (
        <Flex gap={8} wrap>
          <Select
            mode="tags"
            value={names}
            onChange={setNames}
            style={{ minWidth: 280, flex: 1 }}
            placeholder={t('c360.addTagPlaceholder')}
            options={(defs.data?.data ?? []).map((d) => ({ value: d.name, label: d.name }))}
            tokenSeparators={[',', '，']}
            data-testid="add-tag-select"
          />
          <DatePicker showTime value={expires} onChange={setExpires} placeholder={t('c360.tagExpiresOptional')} />
          <Button type="primary" icon={<PlusOutlined />} disabled={names.length === 0} loading={add.isPending} onClick={() => add.mutate()} data-testid="add-tag">
            {t('c360.addTag')}
          </Button>
        </Flex>
      ) : null}
      <Table<CustomerTag>
        size="small"
        rowKey="name"
        pagination={false}
        dataSource={customer.tags}
        locale={{ emptyText: t('c360.noTags') }}
        columns={[
          {
            title: t('c360.tag'),
            dataIndex: 'name',
            render: (v: string) => (
              <Tag color="blue" data-testid="customer-tag">
                {v}
              </Tag>
            ),
          },
          {
            title: t('c360.tagSource'),
            dataIndex: 'source',
            width: 120,
            render: (v: string) => (
              <Tag color={TAG_SOURCE_COLORS[v] ?? 'default'} variant="filled">
                {t(`tagSource.${v}`, { defaultValue: v })}
              </Tag>
            ),
          },
          { title: t('c360.tagAdded'), dataIndex: 'addedAt', width: 170, render: fmtTime },
          { title: t('c360.tagExpires'), dataIndex: 'expiresAt', width: 170, render: (v: string | null) => (v ? fmtTime(v) : <Typography.Text type="secondary">{t('c360.never')}</Typography.Text>) },
          {
            title: '',
            key: 'actions',
            width: 90,
            render: (_v, tag) =>
              writable ? (
                <Popconfirm
                  title={t('c360.removeTag', { tag: tag.name })}
                  description={tag.source === 'rule' ? t('c360.removeRuleTagHint') : undefined}
                  onConfirm={() => remove.mutate(tag.name)}
                >
                  <Button size="small" type="link" danger>
                    {t('common.remove')}
                  </Button>
                </Popconfirm>
              ) : null,
          },
        ]}
      />
    </Flex>
  );
}
