import { PlusOutlined } from '@ant-design/icons';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { App, Button, Checkbox, Empty, Flex, Form, Input, Modal, Popconfirm, Radio, Space, Switch, Table, Tag, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { del, patch, post } from '../../api/client';
import { PERMISSIONS, type DataScope, type Role } from '../../api/types';
import { ProblemAlert, problemText } from '../../components/ProblemAlert';
import { useRoles } from './common';

interface RoleForm {
  name: string;
  permissions: string[];
  dataScope: DataScope;
  maskPii: boolean;
}

export function RolesTab() {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const roles = useRoles();
  const [editing, setEditing] = useState<Role | 'new' | null>(null);
  const remove = useMutation({
    mutationFn: (r: Role) => del(`/v1/roles/${r.id}`),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['roles'] }),
    onError: (e) => void message.error(problemText(e, t('common.unknownError'))),
  });
  return (
    <>
      <Flex justify="flex-end" className="toolbar">
        <Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing('new')}>
          {t('roles.new')}
        </Button>
      </Flex>
      {roles.error ? <ProblemAlert error={roles.error} onRetry={() => void roles.refetch()} style={{ marginBottom: 16 }} /> : null}
      <Table<Role>
        rowKey="id"
        loading={roles.isLoading}
        dataSource={roles.data ?? []}
        pagination={false}
        locale={{ emptyText: roles.error ? ' ' : <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} /> }}
        columns={[
          {
            title: t('roles.name'),
            dataIndex: 'name',
            width: 160,
            render: (v: string, r) => (
              <Space>
                <Typography.Text strong>{t(`roleNames.${v}`, { defaultValue: v })}</Typography.Text>
                {r.builtin ? <Tag variant="filled">{t('roles.builtin')}</Tag> : null}
              </Space>
            ),
          },
          {
            title: t('roles.permissions'),
            dataIndex: 'permissions',
            render: (v: string[]) => (
              <Flex gap={4} wrap>
                {v.map((p) => (
                  <Tag key={p} variant="filled" color="blue">
                    {t(`permissions.${p.replace('.', '_')}`, { defaultValue: p })}
                  </Tag>
                ))}
              </Flex>
            ),
          },
          { title: t('roles.scope'), dataIndex: 'dataScope', width: 120, render: (v: string) => t(`roles.scopes.${v}`) },
          { title: t('roles.mask'), dataIndex: 'maskPii', width: 100, render: (v: boolean) => (v ? <Tag color="orange">{t('roles.masked')}</Tag> : <Tag>{t('roles.unmasked')}</Tag>) },
          {
            title: '',
            key: 'a',
            width: 140,
            render: (_v, r) =>
              r.builtin ? null : (
                <Space size={0}>
                  <Button type="link" size="small" onClick={() => setEditing(r)}>
                    {t('common.edit')}
                  </Button>
                  <Popconfirm title={t('roles.deleteConfirm')} onConfirm={() => remove.mutate(r)} okButtonProps={{ danger: true }}>
                    <Button type="link" size="small" danger>
                      {t('common.delete')}
                    </Button>
                  </Popconfirm>
                </Space>
              ),
          },
        ]}
      />
      <RoleModal role={editing} onClose={() => setEditing(null)} />
    </>
  );
}

function RoleModal({ role, onClose }: { role: Role | 'new' | null; onClose: () => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const [form] = Form.useForm<RoleForm>();
  const existing = role && role !== 'new' ? role : null;
  const save = useMutation({
    mutationFn: (v: RoleForm) => (existing ? patch<Role>(`/v1/roles/${existing.id}`, v) : post<Role>('/v1/roles', v)),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['roles'] });
      onClose();
    },
  });
  return (
    <Modal open={role !== null} title={existing ? t('roles.edit') : t('roles.new')} onCancel={onClose} onOk={() => form.submit()} confirmLoading={save.isPending} width={640} destroyOnHidden>
      <Form
        form={form}
        layout="vertical"
        preserve={false}
        initialValues={existing ?? { permissions: ['customers.read'], dataScope: 'own', maskPii: true }}
        onFinish={(v) => save.mutate(v)}
      >
        <Form.Item name="name" label={t('roles.name')} rules={[{ required: true, whitespace: true, max: 60 }]}>
          <Input />
        </Form.Item>
        <Form.Item name="permissions" label={t('roles.permissions')} rules={[{ required: true, type: 'array', min: 1 }]}>
          <Checkbox.Group
            style={{ display: 'grid', gridTemplateColumns: '1fr 1fr', gap: 6 }}
            options={PERMISSIONS.map((p) => ({ value: p, label: t(`permissions.${p.replace('.', '_')}`) }))}
          />
        </Form.Item>
        <Form.Item name="dataScope" label={t('roles.scope')} extra={t('roles.scopeHint')}>
          <Radio.Group options={(['own', 'team', 'all'] as const).map((s) => ({ value: s, label: t(`roles.scopes.${s}`) }))} />
        </Form.Item>
        <Form.Item name="maskPii" label={t('roles.mask')} valuePropName="checked" extra={t('roles.maskHint')}>
          <Switch />
        </Form.Item>
        <ProblemAlert error={save.error} />
      </Form>
    </Modal>
  );
}
