import { EyeInvisibleOutlined, EyeOutlined, PlusOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Empty, Flex, Form, Input, Modal, Popconfirm, Select, Space, Table, Tag, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { del, get, post } from '../../api/client';
import type { Source } from '../../api/types';
import { Copy } from '../../components/Copy';
import { fmtTime } from '../../components/format';
import { ProblemAlert, problemText } from '../../components/ProblemAlert';
import { CHANNELS } from '../tags/RuleBuilder';

function WriteKey({ value }: { value: string }) {
  const [shown, setShown] = useState(false);
  return (
    <Space size={4}>
      <Copy value={value} display={shown ? value : `${value.slice(0, 8)}••••••••••••`} />
      <Button type="text" size="small" icon={shown ? <EyeInvisibleOutlined /> : <EyeOutlined />} onClick={() => setShown((s) => !s)} />
    </Space>
  );
}

export function SourcesTab() {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const [creating, setCreating] = useState(false);
  const sources = useQuery({ queryKey: ['sources'], queryFn: () => get<{ data: Source[] }>('/v1/sources') });
  const invalidate = () => void qc.invalidateQueries({ queryKey: ['sources'] });
  const rotate = useMutation({
    mutationFn: (s: Source) => post<Source>(`/v1/sources/${s.id}/rotate-write-key`),
    onSuccess: () => {
      void message.success(t('sources.rotated'));
      invalidate();
    },
    onError: (e) => void message.error(problemText(e, t('common.unknownError'))),
  });
  const disable = useMutation({
    mutationFn: (s: Source) => del(`/v1/sources/${s.id}`),
    onSuccess: invalidate,
    onError: (e) => void message.error(problemText(e, t('common.unknownError'))),
  });
  const [form] = Form.useForm<{ name: string; type: string }>();
  const create = useMutation({
    mutationFn: (v: { name: string; type: string }) => post<Source>('/v1/sources', v),
    onSuccess: () => {
      setCreating(false);
      form.resetFields();
      invalidate();
    },
  });
  return (
    <>
      <Flex justify="space-between" className="toolbar" align="center">
        <Typography.Text type="secondary">{t('sources.hint')}</Typography.Text>
        <Button type="primary" icon={<PlusOutlined />} onClick={() => setCreating(true)}>
          {t('sources.new')}
        </Button>
      </Flex>
      {sources.error ? <ProblemAlert error={sources.error} onRetry={() => void sources.refetch()} style={{ marginBottom: 16 }} /> : null}
      <Table<Source>
        rowKey="id"
        loading={sources.isLoading}
        dataSource={sources.data?.data ?? []}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
        locale={{ emptyText: sources.error ? ' ' : <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('sources.empty')} /> }}
        columns={[
          {
            title: t('sources.name'),
            dataIndex: 'name',
            render: (v: string, s) => (
              <div>
                <div>{v}</div>
                <span className="mono muted">{s.id}</span>
              </div>
            ),
          },
          { title: t('sources.type'), dataIndex: 'type', width: 130, render: (v: string) => <Tag variant="filled">{t(`channels.${v}`, { defaultValue: v })}</Tag> },
          { title: t('sources.writeKey'), dataIndex: 'writeKey', render: (v: string) => <WriteKey value={v} /> },
          { title: t('common.createdAt'), dataIndex: 'createdAt', width: 170, render: fmtTime },
          {
            title: '',
            key: 'a',
            width: 190,
            render: (_v, s) => (
              <Space size={0}>
                <Popconfirm title={t('sources.rotateConfirm')} description={t('sources.rotateHint')} onConfirm={() => rotate.mutate(s)}>
                  <Button type="link" size="small">
                    {t('sources.rotate')}
                  </Button>
                </Popconfirm>
                <Popconfirm title={t('sources.disableConfirm')} onConfirm={() => disable.mutate(s)} okButtonProps={{ danger: true }}>
                  <Button type="link" size="small" danger>
                    {t('sources.disable')}
                  </Button>
                </Popconfirm>
              </Space>
            ),
          },
        ]}
      />
      <Modal open={creating} title={t('sources.new')} onCancel={() => setCreating(false)} onOk={() => form.submit()} confirmLoading={create.isPending} destroyOnHidden>
        <Form form={form} layout="vertical" initialValues={{ type: 'web' }} onFinish={(v) => create.mutate({ name: v.name.trim(), type: v.type })}>
          <Form.Item name="name" label={t('sources.name')} rules={[{ required: true, whitespace: true, max: 120 }]}>
            <Input />
          </Form.Item>
          <Form.Item name="type" label={t('sources.type')} rules={[{ required: true, pattern: /^[a-z0-9_-]+$/, message: t('sources.typeRule') }]} extra={t('sources.typeHint')}>
            <Select showSearch mode={undefined} options={CHANNELS.map((c) => ({ value: c, label: `${t(`channels.${c}`, { defaultValue: c })} (${c})` }))} />
          </Form.Item>
          <ProblemAlert error={create.error} />
        </Form>
      </Modal>
    </>
  );
}
