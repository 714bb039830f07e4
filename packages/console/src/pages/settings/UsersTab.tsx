import { PlusOutlined, SafetyCertificateOutlined } from '@ant-design/icons';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { App, Badge, Button, Empty, Flex, Form, Input, Modal, Select, Switch, Table, Tag, Tooltip } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { patch, post } from '../../api/client';
import type { User } from '../../api/types';
import { useAuth } from '../../auth/auth';
import { fmtTime } from '../../components/format';
import { ProblemAlert, problemText } from '../../components/ProblemAlert';
import { useRoles, useTeams, useUsers } from './common';

interface UserForm {
  email: string;
  name: string;
  roleId: string;
  teamId?: string;
  password?: string;
}

export function UsersTab() {
  const { t } = useTranslation();
  const { me } = useAuth();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const users = useUsers();
  const roles = useRoles();
  const teams = useTeams();
  const [editing, setEditing] = useState<User | 'new' | null>(null);
  const roleName = (id: string) => {
    const r = roles.data?.find((x) => x.id === id);
    return r ? t(`roleNames.${r.name}`, { defaultValue: r.name }) : id;
  };
  const toggle = useMutation({
    mutationFn: (u: User) => patch<User>(`/v1/users/${u.id}`, { disabled: !u.disabled }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['users'] }),
    onError: (e) => void message.error(problemText(e, t('common.unknownError'))),
  });
  return (
    <>
      <Flex justify="flex-end" className="toolbar">
        <Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing('new')} data-testid="new-user">
          {t('users.new')}
        </Button>
      </Flex>
      {users.error ? <ProblemAlert error={users.error} onRetry={() => void users.refetch()} style={{ marginBottom: 16 }} /> : null}
      <Table<User>
        rowKey="id"
        loading={users.isLoading}
        dataSource={users.data ?? []}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
        locale={{ emptyText: users.error ? ' ' : <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('users.empty')} /> }}
        columns={[
          {
            title: t('users.name'),
            key: 'name',
            render: (_v, u) => (
              <div>
                <div>
                  {u.name} {u.id === me?.id ? <Tag variant="filled">{t('users.you')}</Tag> : null}
                </div>
                <span className="muted">{u.email}</span>
              </div>
            ),
          },
          { title: t('users.role'), dataIndex: 'roleId', width: 140, render: (v: string) => <Tag color="blue" variant="filled">{roleName(v)}</Tag> },
          { title: t('users.team'), dataIndex: 'teamId', width: 140, render: (v: string | null) => teams.data?.find((x) => x.id === v)?.name ?? '—' },
          {
            title: '2FA',
            dataIndex: 'totpEnabled',
            width: 80,
            render: (v: boolean) =>
              v ? (
                <Tooltip title={t('users.totpOn')}>
                  <SafetyCertificateOutlined style={{ color: '#16a34a' }} />
                </Tooltip>
              ) : (
                <span className="muted">—</span>
              ),
          },
          { title: t('users.lastLogin'), dataIndex: 'lastLoginAt', width: 170, render: fmtTime },
          {
            title: t('common.status'),
            dataIndex: 'disabled',
            width: 120,
            render: (v: boolean, u) => (
              <Flex gap={8} align="center">
                <Switch size="small" checked={!v} disabled={u.id === me?.id} onChange={() => toggle.mutate(u)} />
                <Badge status={v ? 'default' : 'success'} text={v ? t('users.disabled') : t('users.active')} />
              </Flex>
            ),
          },
          {
            title: '',
            key: 'a',
            width: 80,
            render: (_v, u) => (
              <Button type="link" size="small" onClick={() => setEditing(u)}>
                {t('common.edit')}
              </Button>
            ),
          },
        ]}
      />
      <UserModal user={editing} onClose={() => setEditing(null)} />
    </>
  );
}

function UserModal({ user, onClose }: { user: User | 'new' | null; onClose: () => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const roles = useRoles();
  const teams = useTeams();
  const [form] = Form.useForm<UserForm>();
  const existing = user && user !== 'new' ? user : null;
  const save = useMutation({
    mutationFn: (v: UserForm) =>
      existing
        ? patch<User>(`/v1/users/${existing.id}`, { name: v.name, roleId: v.roleId, teamId: v.teamId ?? null, ...(v.password ? { password: v.password } : {}) })
        : post<User>('/v1/users', { email: v.email.trim(), name: v.name.trim(), roleId: v.roleId, password: v.password, ...(v.teamId ? { teamId: v.teamId } : {}) }),
    onSuccess: () => {
      void message.success(t('common.saved'));
      void qc.invalidateQueries({ queryKey: ['users'] });
      onClose();
    },
  });
  return (
    <Modal
      open={user !== null}
      title={existing ? t('users.edit', { name: existing.name }) : t('users.new')}
      onCancel={onClose}
      onOk={() => form.submit()}
      confirmLoading={save.isPending}
      destroyOnHidden
    >
      <Form
        form={form}
        layout="vertical"
        preserve={false}
        initialValues={existing ? { email: existing.email, name: existing.name, roleId: existing.roleId, teamId: existing.teamId ?? undefined } : {}}
        onFinish={(v) => save.mutate(v)}
      >
        <Form.Item name="email" label={t('login.email')} rules={[{ required: true, type: 'email' }]}>
          <Input disabled={!!existing} autoComplete="off" />
        </Form.Item>
        <Form.Item name="name" label={t('users.name')} rules={[{ required: true, whitespace: true, max: 120 }]}>
          <Input />
        </Form.Item>
        <Flex gap={12}>
          <Form.Item name="roleId" label={t('users.role')} rules={[{ required: true }]} style={{ flex: 1 }}>
            <Select loading={roles.isLoading} options={(roles.data ?? []).map((r) => ({ value: r.id, label: t(`roleNames.${r.name}`, { defaultValue: r.name }) }))} />
          </Form.Item>
          <Form.Item name="teamId" label={t('users.team')} style={{ flex: 1 }}>
            <Select allowClear loading={teams.isLoading} options={(teams.data ?? []).map((x) => ({ value: x.id, label: x.name }))} />
          </Form.Item>
        </Flex>
        <Form.Item
          name="password"
          label={existing ? t('users.resetPassword') : t('login.password')}
          rules={[{ required: !existing, min: 10, message: t('account.passwordRule') }]}
          extra={existing ? t('users.resetPasswordHint') : t('account.passwordRule')}
        >
          <Input.Password autoComplete="new-password" />
        </Form.Item>
        <ProblemAlert error={save.error} />
      </Form>
    </Modal>
  );
}
