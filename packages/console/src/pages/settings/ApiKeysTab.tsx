import { KeyOutlined, PlusOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Checkbox, Empty, Flex, Form, Input, Modal, Popconfirm, Table, Tag } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { del, get, post } from '../../api/client';
import type { ApiKey } from '../../api/types';
import { Copy } from '../../components/Copy';
import { fmtTime, fromNow } from '../../components/format';
import { ProblemAlert, problemText } from '../../components/ProblemAlert';

export function ApiKeysTab() {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const [creating, setCreating] = useState(false);
  const keys = useQuery({ queryKey: ['api-keys'], queryFn: () => get<{ data: ApiKey[] }>('/v1/api-keys') });
  const revoke = useMutation({
    mutationFn: (k: ApiKey) => del(`/v1/api-keys/${k.id}`),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['api-keys'] }),
    onError: (e) => void message.error(problemText(e, t('common.unknownError'))),
  });
  return (
    <>
      <Flex justify="space-between" className="toolbar" gap={12}>
        <Alert type="info" showIcon title={t('apiKeys.hint')} style={{ flex: 1 }} />
        <Button type="primary" icon={<PlusOutlined />} onClick={() => setCreating(true)} data-testid="new-api-key">
          {t('apiKeys.new')}
        </Button>
      </Flex>
      {keys.error ? <ProblemAlert error={keys.error} onRetry={() => void keys.refetch()} style={{ marginBottom: 16 }} /> : null}
      <Table<ApiKey>
        rowKey="id"
        loading={keys.isLoading}
        dataSource={keys.data?.data ?? []}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
        locale={{ emptyText: keys.error ? ' ' : <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('apiKeys.empty')} /> }}
        columns={[
          {
            title: t('apiKeys.name'),
            dataIndex: 'name',
            render: (v: string, k) => (
              <Flex gap={8} align="center">
                <KeyOutlined className="muted" />
                {v}
                <span className="mono muted">{k.prefix}…</span>
              </Flex>
            ),
          },
          {
            title: t('apiKeys.scopes'),
            dataIndex: 'scopes',
            width: 200,
            render: (v: string[]) => v.map((s) => <Tag key={s} color={s === 'admin' ? 'red' : s === 'write' ? 'orange' : 'blue'}>{t(`apiKeys.scope.${s}`, { defaultValue: s })}</Tag>),
          },
          { title: t('common.createdAt'), dataIndex: 'createdAt', width: 170, render: fmtTime },
          { title: t('apiKeys.lastUsed'), dataIndex: 'lastUsedAt', width: 140, render: (v: string | null) => (v ? fromNow(v) : '—') },
          {
            title: t('common.status'),
            dataIndex: 'revokedAt',
            width: 120,
            render: (v: string | null) => (v ? <Tag>{t('apiKeys.revoked')}</Tag> : <Tag color="green">{t('apiKeys.active')}</Tag>),
          },
          {
            title: '',
            key: 'a',
            width: 90,
            render: (_v, k) =>
              k.revokedAt ? null : (
                <Popconfirm title={t('apiKeys.revokeConfirm')} description={t('apiKeys.revokeHint')} onConfirm={() => revoke.mutate(k)} okButtonProps={{ danger: true }}>
                  <Button type="link" size="small" danger>
                    {t('apiKeys.revoke')}
                  </Button>
                </Popconfirm>
              ),
          },
        ]}
      />
      <NewKeyModal
        open={creating}
        onClose={() => {
          setCreating(false);
          void qc.invalidateQueries({ queryKey: ['api-keys'] });
        }}
      />
    </>
  );
}

function NewKeyModal({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  const [form] = Form.useForm<{ name: string; scopes: string[] }>();
  const create = useMutation({ mutationFn: (v: { name: string; scopes: string[] }) => post<ApiKey>('/v1/api-keys', v) });
  const close = () => {
    form.resetFields();
    create.reset();
    onClose();
  };
  return (
    <Modal
      open={open}
      title={t('apiKeys.new')}
      onCancel={close}
      destroyOnHidden
      maskClosable={!create.data}
      footer={
        create.data ? (
          <Button type="primary" onClick={close}>
            {t('apiKeys.copiedDone')}
          </Button>
        ) : (
          <Flex justify="flex-end" gap={8}>
            <Button onClick={close}>{t('common.cancel')}</Button>
            <Button type="primary" onClick={() => form.submit()} loading={create.isPending}>
              {t('common.create')}
            </Button>
          </Flex>
        )
      }
    >
      {create.data?.key ? (
        <Flex vertical gap={12} data-testid="api-key-once">
          <Alert type="warning" showIcon title={t('apiKeys.once')} description={t('apiKeys.onceHint')} />
          <Copy value={create.data.key} />
        </Flex>
      ) : (
        <Form form={form} layout="vertical" initialValues={{ scopes: ['read'] }} onFinish={(v) => create.mutate({ name: v.name.trim(), scopes: v.scopes })}>
          <Form.Item name="name" label={t('apiKeys.name')} rules={[{ required: true, whitespace: true, max: 120 }]}>
            <Input placeholder={t('apiKeys.namePlaceholder')} />
          </Form.Item>
          <Form.Item name="scopes" label={t('apiKeys.scopes')} rules={[{ required: true, type: 'array', min: 1 }]}>
            <Checkbox.Group options={(['read', 'write', 'admin'] as const).map((s) => ({ value: s, label: t(`apiKeys.scope.${s}`) }))} />
          </Form.Item>
          <ProblemAlert error={create.error} />
        </Form>
      )}
    </Modal>
  );
}
