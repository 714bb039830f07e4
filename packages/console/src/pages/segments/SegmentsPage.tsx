import { ClockCircleOutlined, PlusOutlined, ReloadOutlined, SyncOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Card, Drawer, Empty, Flex, Form, Input, Popconfirm, Space, Table, Tooltip, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { del, get, patch, post } from '../../api/client';
import { useAuth } from '../../auth/auth';
import { fmtTime } from '../../components/format';
import { PageHeader } from '../../components/PageHeader';
import { ProblemAlert, problemText } from '../../components/ProblemAlert';
import { buildCondition, describeCondition, newGroup, parseCondition, SEGMENT_LEAF_TYPES, type GroupForm } from '../tags/rule-form';
import { GroupEditor } from '../tags/RuleBuilder';
import { RulePreview } from '../tags/RulePreview';

/** A segment as GET /v1/segments answers it. */
export interface Segment {
  id: string;
  name: string;
  description: string | null;
  condition: unknown;
  timeDependent: boolean;
  memberCount: number;
  createdAt: string;
  updatedAt: string;
  recomputedAt: string | null;
}

export function SegmentsPage() {
  const { t } = useTranslation();
  const { can } = useAuth();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const [editing, setEditing] = useState<Segment | 'new' | null>(null);
  const segments = useQuery({ queryKey: ['segments'], queryFn: () => get<{ data: Segment[] }>('/v1/segments') });
  const refresh = () => void qc.invalidateQueries({ queryKey: ['segments'] });
  const recompute = useMutation({
    mutationFn: (s: Segment) => post<{ count: number; added: number; removed: number }>(`/v1/segments/${s.id}/recompute`),
    onSuccess: (r) => {
      void message.success(t('segments.recomputed', r));
      refresh();
    },
    onError: (e) => void message.error(problemText(e, t('common.unknownError'))),
  });
  const remove = useMutation({
    mutationFn: (s: Segment) => del(`/v1/segments/${s.id}`),
    onSuccess: refresh,
    onError: (e) => void message.error(problemText(e, t('common.unknownError'))),
  });
  const manage = can('tags.manage');
  return (
    <>
      <PageHeader
        title={t('segments.title')}
        subtitle={t('segments.subtitle')}
        extra={
          manage ? (
            <Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing('new')} data-testid="new-segment">
              {t('segments.new')}
            </Button>
          ) : null
        }
      />
      <Card variant="borderless">
        {segments.error ? <ProblemAlert error={segments.error} onRetry={() => void segments.refetch()} style={{ marginBottom: 16 }} /> : null}
        <Flex justify="flex-end" className="toolbar">
          <Button icon={<ReloadOutlined />} onClick={() => void segments.refetch()} loading={segments.isFetching}>
            {t('common.refresh')}
          </Button>
        </Flex>
        <Table<Segment>
          rowKey="id"
          loading={segments.isLoading}
          dataSource={segments.data?.data ?? []}
          pagination={{ pageSize: 20, hideOnSinglePage: true }}
          locale={{ emptyText: segments.error ? ' ' : <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('segments.empty')} /> }}
          columns={[
            {
              title: t('segments.name'),
              dataIndex: 'name',
              width: 200,
              render: (v: string, s) => (
                <Flex vertical>
                  <Typography.Text strong>{v}</Typography.Text>
                  {s.description ? <Typography.Text type="secondary">{s.description}</Typography.Text> : null}
                </Flex>
              ),
            },
            {
              title: t('segments.condition'),
              dataIndex: 'condition',
              render: (c: unknown, s) => (
                <Typography.Text>
                  {describeCondition(c, (k, v) => t(k, v ?? {}))}
                  {s.timeDependent ? (
                    <Tooltip title={t('segments.timeDependentHint')}>
                      <ClockCircleOutlined style={{ marginLeft: 6, color: '#8c8c8c' }} aria-label={t('segments.timeDependent')} />
                    </Tooltip>
                  ) : null}
                </Typography.Text>
              ),
            },
            {
              title: t('segments.members'),
              dataIndex: 'memberCount',
              width: 110,
              align: 'right',
              render: (n: number, s) => (
                <Link to={`/customers?segment=${encodeURIComponent(s.id)}`} data-testid="segment-members">
                  {n.toLocaleString()}
                </Link>
              ),
            },
            { title: t('segments.recomputedAt'), dataIndex: 'recomputedAt', width: 170, render: fmtTime },
            {
              title: '',
              key: 'a',
              width: 230,
              render: (_v, s) =>
                manage ? (
                  <Space size={0}>
                    <Button type="link" size="small" onClick={() => setEditing(s)}>
                      {t('common.edit')}
                    </Button>
                    <Button type="link" size="small" icon={<SyncOutlined />} loading={recompute.isPending && recompute.variables.id === s.id} onClick={() => recompute.mutate(s)}>
                      {t('segments.recompute')}
                    </Button>
                    <Popconfirm title={t('segments.deleteConfirm')} description={t('segments.deleteHint')} onConfirm={() => remove.mutate(s)} okButtonProps={{ danger: true }}>
                      <Button type="link" size="small" danger>
                        {t('common.delete')}
                      </Button>
                    </Popconfirm>
                  </Space>
                ) : null,
            },
          ]}
        />
      </Card>
      <SegmentDrawer segment={editing} onClose={() => setEditing(null)} />
    </>
  );
}

function SegmentDrawer({ segment, onClose }: { segment: Segment | 'new' | null; onClose: () => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const editing = segment && segment !== 'new' ? segment : null;
  const [form] = Form.useForm<{ name: string; description: string }>();
  const [tree, setTree] = useState<GroupForm>(() => newGroup());
  const [showErrors, setShowErrors] = useState(false);
  const [unreadable, setUnreadable] = useState(false);
  const [openedFor, setOpenedFor] = useState<Segment | 'new' | null>(null);

  // Reset the form when another segment is opened (state derived from props, during render).
  if (segment !== openedFor) {
    setOpenedFor(segment);
    setShowErrors(false);
    if (editing) {
      const parsed = parseCondition(editing.condition);
      setUnreadable(parsed === null);
      setTree(parsed ?? newGroup());
      form.setFieldsValue({ name: editing.name, description: editing.description ?? '' });
    } else if (segment === 'new') {
      setUnreadable(false);
      setTree(newGroup());
      form.setFieldsValue({ name: '', description: '' });
    }
  }

  const built = buildCondition(tree);
  const save = useMutation({
    mutationFn: (v: { name: string; description: string }) => {
      const body = { name: v.name.trim(), description: v.description.trim() || null, condition: built.condition };
      return editing ? patch<Segment>(`/v1/segments/${editing.id}`, body) : post<Segment>('/v1/segments', body);
    },
    onSuccess: () => {
      void message.success(t('segments.saved'));
      void qc.invalidateQueries({ queryKey: ['segments'] });
      void qc.invalidateQueries({ queryKey: ['customers'] });
      onClose();
    },
  });
  const submit = (v: { name: string; description: string }) => {
    setShowErrors(true);
    if (built.errors.length === 0) save.mutate(v);
  };

  return (
    <Drawer
      open={segment !== null}
      onClose={onClose}
      title={editing ? t('segments.editTitle', { name: editing.name }) : t('segments.new')}
      size={860}
      destroyOnHidden
      forceRender
      extra={
        <Space>
          <Button onClick={onClose}>{t('common.cancel')}</Button>
          <Button type="primary" onClick={() => form.submit()} loading={save.isPending} data-testid="segment-save">
            {t('common.save')}
          </Button>
        </Space>
      }
    >
      <Form form={form} layout="vertical" onFinish={submit}>
        <Flex gap={16}>
          <Form.Item name="name" label={t('segments.name')} rules={[{ required: true, whitespace: true, max: 120 }]} style={{ flex: 1 }}>
            <Input placeholder={t('segments.namePlaceholder')} data-testid="segment-name" />
          </Form.Item>
          <Form.Item name="description" label={t('segments.description')} rules={[{ max: 500 }]} style={{ flex: 1 }}>
            <Input />
          </Form.Item>
        </Flex>
        <Form.Item label={t('segments.condition')} required>
          {unreadable ? <ProblemAlert error={new Error(t('rules.unreadable'))} style={{ marginBottom: 12 }} /> : null}
          <GroupEditor group={tree} onChange={setTree} errors={showErrors ? built.errors : []} leafTypes={SEGMENT_LEAF_TYPES} />
        </Form.Item>
        <div className="rule-summary" data-testid="segment-summary">
          <Typography.Text type="secondary">{t('rules.summary')}：</Typography.Text>
          {built.errors.length === 0 ? describeCondition(built.condition, (k, v) => t(k, v ?? {})) : t('rules.incomplete')}
        </div>
        {segment !== null ? <RulePreview condition={built.errors.length === 0 ? built.condition : null} endpoint="/v1/segments/preview" /> : null}
        <Typography.Paragraph type="secondary" style={{ marginTop: 12 }}>
          {t('segments.saveHint')}
        </Typography.Paragraph>
        <ProblemAlert error={save.error} />
      </Form>
    </Drawer>
  );
}
