import { EditOutlined, PlusOutlined, ReloadOutlined, SyncOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Card, Drawer, Empty, Flex, Form, Input, Modal, Popconfirm, Space, Switch, Table, Tabs, Tag, Tooltip, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { del, get, patch, post } from '../../api/client';
import type { TagDefinition, TagRule } from '../../api/types';
import { useAuth } from '../../auth/auth';
import { fmtTime } from '../../components/format';
import { PageHeader } from '../../components/PageHeader';
import { ProblemAlert, problemText } from '../../components/ProblemAlert';
import { buildCondition, describeCondition, newGroup, parseCondition, type GroupForm } from './rule-form';
import { GroupEditor } from './RuleBuilder';
import { RulePreview } from './RulePreview';

export function TagsPage() {
  const { t } = useTranslation();
  const [tab, setTab] = useState('tags');
  const [editing, setEditing] = useState<TagRule | 'new' | null>(null);
  const { can } = useAuth();
  return (
    <>
      <PageHeader
        title={t('tags.title')}
        subtitle={t('tags.subtitle')}
        extra={
          can('tags.manage') ? (
            <Button type="primary" icon={<PlusOutlined />} onClick={() => (setTab('rules'), setEditing('new'))} data-testid="new-rule">
              {t('rules.new')}
            </Button>
          ) : null
        }
      />
      <Card variant="borderless">
        <Tabs
          activeKey={tab}
          onChange={setTab}
          items={[
            { key: 'tags', label: t('tags.tabTags'), children: <TagDefinitions /> },
            { key: 'rules', label: t('tags.tabRules'), children: <RuleList onEdit={setEditing} /> },
          ]}
        />
      </Card>
      <RuleDrawer rule={editing} onClose={() => setEditing(null)} />
    </>
  );
}

function TagDefinitions() {
  const { t } = useTranslation();
  const { can } = useAuth();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const [describing, setDescribing] = useState<TagDefinition | null>(null);
  const tags = useQuery({ queryKey: ['tags'], queryFn: () => get<{ data: TagDefinition[] }>('/v1/tags') });
  const update = useMutation({
    mutationFn: (v: { name: string; description?: string | null; visible?: boolean }) =>
      patch<TagDefinition>(`/v1/tags/${encodeURIComponent(v.name)}`, { ...(v.description !== undefined ? { description: v.description } : {}), ...(v.visible !== undefined ? { visible: v.visible } : {}) }),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['tags'] });
      void message.success(t('common.saved'));
      setDescribing(null);
    },
    onError: (e) => void message.error(problemText(e, t('common.unknownError'))),
  });
  const manage = can('tags.manage');
  return (
    <>
      {tags.error ? <ProblemAlert error={tags.error} onRetry={() => void tags.refetch()} style={{ marginBottom: 16 }} /> : null}
      <Table<TagDefinition>
        rowKey="name"
        loading={tags.isLoading}
        dataSource={tags.data?.data ?? []}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
        locale={{ emptyText: tags.error ? ' ' : <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('tags.empty')} /> }}
        columns={[
          {
            title: t('tags.name'),
            dataIndex: 'name',
            render: (v: string) => (
              <Tag color="blue" variant="filled">
                {v}
              </Tag>
            ),
          },
          { title: t('tags.description'), dataIndex: 'description', render: (v: string | null) => v ?? <Typography.Text type="secondary">—</Typography.Text> },
          {
            title: t('tags.customers'),
            dataIndex: 'customers',
            width: 120,
            align: 'right',
            render: (n: number, d) => <Link to={`/customers?tag=${encodeURIComponent(d.name)}`}>{n.toLocaleString()}</Link>,
          },
          {
            title: (
              <Tooltip title={t('tags.visibleHint')}>
                <span>{t('tags.visible')}</span>
              </Tooltip>
            ),
            dataIndex: 'visible',
            width: 130,
            render: (v: boolean, d) => <Switch size="small" checked={v} disabled={!manage} onChange={(visible) => update.mutate({ name: d.name, visible })} />,
          },
          {
            title: '',
            key: 'a',
            width: 90,
            render: (_v, d) =>
              manage ? (
                <Button type="link" size="small" icon={<EditOutlined />} onClick={() => setDescribing(d)}>
                  {t('common.edit')}
                </Button>
              ) : null,
          },
        ]}
      />
      <Modal
        open={!!describing}
        title={t('tags.editTitle', { name: describing?.name ?? '' })}
        onCancel={() => setDescribing(null)}
        footer={null}
        destroyOnHidden
      >
        <Form layout="vertical" initialValues={{ description: describing?.description ?? '' }} onFinish={(v: { description: string }) => describing && update.mutate({ name: describing.name, description: v.description.trim() || null })}>
          <Form.Item name="description" label={t('tags.description')} rules={[{ max: 500 }]}>
            <Input.TextArea rows={3} maxLength={500} showCount />
          </Form.Item>
          <Flex justify="flex-end">
            <Button type="primary" htmlType="submit" loading={update.isPending}>
              {t('common.save')}
            </Button>
          </Flex>
        </Form>
      </Modal>
    </>
  );
}

function RuleList({ onEdit }: { onEdit: (r: TagRule) => void }) {
  const { t } = useTranslation();
  const { can } = useAuth();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const rules = useQuery({ queryKey: ['tag-rules'], queryFn: () => get<{ data: TagRule[] }>('/v1/tag-rules') });
  const refresh = () => {
    void qc.invalidateQueries({ queryKey: ['tag-rules'] });
    void qc.invalidateQueries({ queryKey: ['tags'] });
  };
  const toggle = useMutation({
    mutationFn: (r: TagRule) => patch<TagRule>(`/v1/tag-rules/${r.id}`, { enabled: !r.enabled }),
    onSuccess: refresh,
    onError: (e) => void message.error(problemText(e, t('common.unknownError'))),
  });
  const recompute = useMutation({
    mutationFn: (r: TagRule) => post<{ evaluated: number; added: number; removed: number }>(`/v1/tag-rules/${r.id}/recompute`),
    onSuccess: (r) => {
      void message.success(t('rules.recomputed', r));
      refresh();
    },
    onError: (e) => void message.error(problemText(e, t('common.unknownError'))),
  });
  const remove = useMutation({
    mutationFn: (r: TagRule) => del(`/v1/tag-rules/${r.id}`),
    onSuccess: refresh,
    onError: (e) => void message.error(problemText(e, t('common.unknownError'))),
  });
  const manage = can('tags.manage');
  return (
    <>
      {rules.error ? <ProblemAlert error={rules.error} onRetry={() => void rules.refetch()} style={{ marginBottom: 16 }} /> : null}
      <Flex justify="flex-end" className="toolbar">
        <Button icon={<ReloadOutlined />} onClick={() => void rules.refetch()} loading={rules.isFetching}>
          {t('common.refresh')}
        </Button>
      </Flex>
      <Table<TagRule>
        rowKey="id"
        loading={rules.isLoading}
        dataSource={rules.data?.data ?? []}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
        locale={{ emptyText: rules.error ? ' ' : <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('rules.empty')} /> }}
        columns={[
          { title: t('rules.name'), dataIndex: 'name', width: 180, render: (v: string) => <Typography.Text strong>{v}</Typography.Text> },
          { title: t('rules.tag'), dataIndex: 'tag', width: 140, render: (v: string) => <Tag color="purple">{v}</Tag> },
          { title: t('rules.condition'), dataIndex: 'condition', render: (c: unknown) => <Typography.Text>{describeCondition(c, (k, v) => t(k, v ?? {}))}</Typography.Text> },
          {
            title: t('rules.enabled'),
            dataIndex: 'enabled',
            width: 90,
            render: (v: boolean, r) => <Switch size="small" checked={v} disabled={!manage} loading={toggle.isPending && toggle.variables.id === r.id} onChange={() => toggle.mutate(r)} />,
          },
          { title: t('rules.lastRecomputed'), dataIndex: 'lastRecomputedAt', width: 170, render: fmtTime },
          {
            title: '',
            key: 'a',
            width: 210,
            render: (_v, r) =>
              manage ? (
                <Space size={0}>
                  <Button type="link" size="small" onClick={() => onEdit(r)}>
                    {t('common.edit')}
                  </Button>
                  <Button type="link" size="small" icon={<SyncOutlined />} loading={recompute.isPending && recompute.variables.id === r.id} onClick={() => recompute.mutate(r)}>
                    {t('rules.recompute')}
                  </Button>
                  <Popconfirm title={t('rules.deleteConfirm')} description={t('rules.deleteHint')} onConfirm={() => remove.mutate(r)} okButtonProps={{ danger: true }}>
                    <Button type="link" size="small" danger>
                      {t('common.delete')}
                    </Button>
                  </Popconfirm>
                </Space>
              ) : null,
          },
        ]}
      />
    </>
  );
}

function RuleDrawer({ rule, onClose }: { rule: TagRule | 'new' | null; onClose: () => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const editing = rule && rule !== 'new' ? rule : null;
  const [form] = Form.useForm<{ name: string; tag: string; enabled: boolean }>();
  const [tree, setTree] = useState<GroupForm>(() => newGroup());
  const [showErrors, setShowErrors] = useState(false);
  const [unreadable, setUnreadable] = useState(false);
  const [openedFor, setOpenedFor] = useState<TagRule | 'new' | null>(null);

  // Reset the form when another rule is opened (state derived from props, during render).
  if (rule !== openedFor) {
    setOpenedFor(rule);
    setShowErrors(false);
    if (editing) {
      const parsed = parseCondition(editing.condition);
      setUnreadable(parsed === null);
      setTree(parsed ?? newGroup());
      form.setFieldsValue({ name: editing.name, tag: editing.tag, enabled: editing.enabled });
    } else if (rule === 'new') {
      setUnreadable(false);
      setTree(newGroup());
      form.setFieldsValue({ name: '', tag: '', enabled: true });
    }
  }

  const built = buildCondition(tree);
  const save = useMutation({
    mutationFn: (v: { name: string; tag: string; enabled: boolean }) => {
      const body = { name: v.name.trim(), tag: v.tag.trim(), enabled: v.enabled, condition: built.condition };
      return editing ? patch<TagRule>(`/v1/tag-rules/${editing.id}`, body) : post<TagRule & { recompute?: { added: number } }>('/v1/tag-rules', body);
    },
    onSuccess: () => {
      void message.success(t('rules.saved'));
      void qc.invalidateQueries({ queryKey: ['tag-rules'] });
      void qc.invalidateQueries({ queryKey: ['tags'] });
      onClose();
    },
  });
  const submit = (v: { name: string; tag: string; enabled: boolean }) => {
    setShowErrors(true);
    if (built.errors.length === 0) save.mutate(v);
  };

  return (
    <Drawer
      open={rule !== null}
      onClose={onClose}
      title={editing ? t('rules.editTitle', { name: editing.name }) : t('rules.new')}
      size={860}
      destroyOnHidden
      forceRender
      extra={
        <Space>
          <Button onClick={onClose}>{t('common.cancel')}</Button>
          <Button type="primary" onClick={() => form.submit()} loading={save.isPending} data-testid="rule-save">
            {t('common.save')}
          </Button>
        </Space>
      }
    >
      <Form form={form} layout="vertical" onFinish={submit} initialValues={{ enabled: true }}>
        <Flex gap={16}>
          <Form.Item name="name" label={t('rules.name')} rules={[{ required: true, whitespace: true, max: 120 }]} style={{ flex: 1 }}>
            <Input placeholder={t('rules.namePlaceholder')} data-testid="rule-name" />
          </Form.Item>
          <Form.Item name="tag" label={t('rules.tag')} rules={[{ required: true, whitespace: true, max: 64 }]} style={{ flex: 1 }} extra={t('rules.tagHint')}>
            <Input placeholder={t('rules.tagPlaceholder')} data-testid="rule-tag" />
          </Form.Item>
          <Form.Item name="enabled" label={t('rules.enabled')} valuePropName="checked">
            <Switch />
          </Form.Item>
        </Flex>
        <Form.Item label={t('rules.condition')} required>
          {unreadable ? <ProblemAlert error={new Error(t('rules.unreadable'))} style={{ marginBottom: 12 }} /> : null}
          <GroupEditor group={tree} onChange={setTree} errors={showErrors ? built.errors : []} />
        </Form.Item>
        <div className="rule-summary" data-testid="rule-summary">
          <Typography.Text type="secondary">{t('rules.summary')}：</Typography.Text>
          {built.errors.length === 0 ? describeCondition(built.condition, (k, v) => t(k, v ?? {})) : t('rules.incomplete')}
        </div>
        {rule !== null ? <RulePreview condition={built.errors.length === 0 ? built.condition : null} /> : null}
        <Typography.Paragraph type="secondary" style={{ marginTop: 12 }}>
          {t('rules.saveHint')}
        </Typography.Paragraph>
        <ProblemAlert error={save.error} />
      </Form>
    </Drawer>
  );
}
