import { EditOutlined, EyeOutlined, UserOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Avatar, Button, Card, Col, Descriptions, Empty, Flex, Row, Select, Skeleton, Space, Statistic, Tabs, Tag, Tooltip, Typography } from 'antd';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useNavigate, useParams } from 'react-router';
import { get, patch, post } from '../../api/client';
import type { Customer, User } from '../../api/types';
import { useAuth } from '../../auth/auth';
import { displayName, fmtTime, fromNow, traitText } from '../../components/format';
import { PageHeader } from '../../components/PageHeader';
import { ProblemAlert, problemText } from '../../components/ProblemAlert';
import { EditProfileModal } from './EditProfileModal';
import { IdentitiesPanel } from './IdentitiesPanel';
import { TagsPanel } from './TagsPanel';
import { TimelinePanel } from './TimelinePanel';

export function primaryIdentity(c: Customer, type: 'phone' | 'email') {
  return c.identities.find((i) => i.type === type) ?? null;
}

export function Customer360() {
  const { id = '' } = useParams();
  const { t } = useTranslation();
  const { can } = useAuth();
  const nav = useNavigate();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const [editing, setEditing] = useState(false);
  const [revealed, setRevealed] = useState<Record<string, string>>({});

  const customer = useQuery({ queryKey: ['customer', id], queryFn: () => get<Customer>(`/v1/customers/${encodeURIComponent(id)}`) });
  const c = customer.data;
  // A merged record answers with the customer it was merged into: follow it in the address bar.
  useEffect(() => {
    if (c && c.id !== id) nav(`/customers/${c.id}`, { replace: true });
  }, [c, id, nav]);

  const reveal = useMutation({
    mutationFn: (v: { field: 'phone' | 'email' | 'name' | 'identity'; identityId?: string; key: string }) =>
      post<{ value: string }>(`/v1/customers/${encodeURIComponent(id)}/reveal`, { field: v.field, ...(v.identityId ? { identityId: v.identityId } : {}) }),
    onSuccess: (r, v) => setRevealed((m) => ({ ...m, [v.key]: r.value })),
    onError: (e) => void message.error(problemText(e, t('common.unknownError'))),
  });

  if (customer.isLoading) {
    return (
      <Card variant="borderless">
        <Skeleton active avatar paragraph={{ rows: 6 }} />
      </Card>
    );
  }
  if (customer.error || !c) {
    return (
      <>
        <PageHeader title={t('c360.title')} crumbs={[{ title: t('nav.customers'), to: '/customers' }, { title: id }]} />
        <ProblemAlert error={customer.error} onRetry={() => void customer.refetch()} />
      </>
    );
  }

  const name = displayName(c.traits, t('customers.unnamed'));
  const phone = primaryIdentity(c, 'phone');
  const email = primaryIdentity(c, 'email');
  const canReveal = !!c.masked && can('pii.reveal');
  const revealButton = (key: string, field: 'phone' | 'email' | 'name' | 'identity', identityId?: string) =>
    canReveal && !revealed[key] ? (
      <Tooltip title={t('c360.reveal')}>
        <Button
          size="small"
          type="text"
          icon={<EyeOutlined />}
          loading={reveal.isPending && reveal.variables.key === key}
          onClick={() => reveal.mutate({ field, key, ...(identityId ? { identityId } : {}) })}
          aria-label={t('c360.reveal')}
        />
      </Tooltip>
    ) : null;

  const profileItems = Object.entries(c.traits)
    .filter(([k]) => k !== 'name')
    .map(([k, v]) => ({ key: k, label: t(`traitNames.${k}`, { defaultValue: k }), children: traitText(v) }));

  return (
    <>
      <PageHeader
        title={t('c360.title')}
        crumbs={[{ title: t('nav.customers'), to: '/customers' }, { title: name }]}
        extra={
          can('customers.write') ? (
            <Button icon={<EditOutlined />} onClick={() => setEditing(true)} data-testid="edit-profile">
              {t('c360.edit')}
            </Button>
          ) : null
        }
      />
      <div className="c360-head">
        <Row gutter={[24, 16]} align="middle">
          <Col flex="auto">
            <Flex gap={16} align="center">
              <Avatar size={64} icon={<UserOutlined />} className="c360-avatar">
                {name.slice(0, 1)}
              </Avatar>
              <div>
                <Flex gap={8} align="center" wrap>
                  <Typography.Title level={3} style={{ margin: 0 }} data-testid="customer-name">
                    {revealed['name'] ?? name}
                  </Typography.Title>
                  {revealButton('name', 'name')}
                  {c.tier ? <Tag color="gold">{c.tier}</Tag> : null}
                  {c.masked ? (
                    <Tag color="default" data-testid="masked-tag">
                      {t('customers.masked')}
                    </Tag>
                  ) : null}
                </Flex>
                <Space size={16} wrap className="muted" style={{ marginTop: 4 }}>
                  <span data-testid="customer-phone">
                    {t('c360.phone')}：<span className="mono">{revealed['phone'] ?? phone?.value ?? '—'}</span>
                    {phone ? revealButton('phone', 'phone') : null}
                  </span>
                  <span>
                    {t('c360.email')}：{revealed['email'] ?? email?.value ?? '—'}
                    {email ? revealButton('email', 'email') : null}
                  </span>
                  <span>
                    ID：
                    <Typography.Text className="mono" copyable>
                      {c.id}
                    </Typography.Text>
                  </span>
                </Space>
              </div>
            </Flex>
          </Col>
          <Col>
            <Flex gap={40} className="c360-metrics" wrap>
              <Statistic title={t('c360.events')} value={c.counts.events} />
              <Statistic title={t('c360.orders')} value={c.counts.orders} />
              <Statistic
                title={t('c360.spend')}
                value={c.spend.length === 0 ? '—' : c.spend.map((s) => `${s.currency === 'CNY' ? '¥' : s.currency + ' '}${s.total}`).join(' · ')}
              />
              <Statistic title={t('c360.lastSeen')} value={fromNow(c.lastSeenAt)} />
            </Flex>
          </Col>
        </Row>
      </div>
      <Row gutter={16}>
        <Col xs={24} xl={8}>
          <Card title={t('c360.profile')} variant="borderless">
            <Descriptions
              column={1}
              size="small"
              items={[
                { key: 'name', label: t('c360.name'), children: revealed['name'] ?? name },
                ...profileItems,
                { key: 'first', label: t('c360.firstSeen'), children: fmtTime(c.firstSeenAt) },
                { key: 'created', label: t('c360.createdAt'), children: fmtTime(c.createdAt) },
                { key: 'updated', label: t('c360.updatedAt'), children: fmtTime(c.updatedAt) },
              ]}
            />
          </Card>
          <OwnerCard customer={c} />
          <Card title={t('c360.consent')} variant="borderless" className="section-gap">
            {Object.keys(c.consent).length === 0 ? (
              <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('c360.noConsent')} />
            ) : (
              <Descriptions
                column={1}
                size="small"
                items={Object.entries(c.consent).map(([k, v]) => ({
                  key: k,
                  label: t(`consent.${k}`, { defaultValue: k }),
                  children:
                    v === true ? <Tag color="green">{t('c360.granted')}</Tag> : v === false ? <Tag color="red">{t('c360.denied')}</Tag> : traitText(v),
                }))}
              />
            )}
          </Card>
        </Col>
        <Col xs={24} xl={16}>
          <Card variant="borderless" className="c360-tabs">
            <Tabs
              defaultActiveKey="timeline"
              items={[
                { key: 'timeline', label: t('c360.timeline'), children: <TimelinePanel customerId={c.id} /> },
                {
                  key: 'identities',
                  label: `${t('c360.identities')} (${c.identities.length})`,
                  children: <IdentitiesPanel customer={c} revealed={revealed} revealButton={revealButton} />,
                },
                { key: 'tags', label: `${t('c360.tags')} (${c.tags.length})`, children: <TagsPanel customer={c} /> },
              ]}
            />
          </Card>
        </Col>
      </Row>
      <EditProfileModal
        open={editing}
        customer={c}
        onClose={(changed) => {
          setEditing(false);
          if (changed) void qc.invalidateQueries({ queryKey: ['customer', c.id] });
        }}
      />
    </>
  );
}

function OwnerCard({ customer }: { customer: Customer }) {
  const { t } = useTranslation();
  const { can } = useAuth();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const users = useQuery({
    queryKey: ['users'],
    queryFn: () => get<{ data: User[] } | User[]>('/v1/users'),
    enabled: can('users.manage'),
  });
  const list = users.data ? (Array.isArray(users.data) ? users.data : users.data.data) : [];
  const setOwner = useMutation({
    mutationFn: (ownerId: string | null) => patch<Customer>(`/v1/customers/${encodeURIComponent(customer.id)}`, { ownerId }),
    onSuccess: () => {
      void message.success(t('c360.ownerChanged'));
      void qc.invalidateQueries({ queryKey: ['customer', customer.id] });
    },
    onError: (e) => void message.error(problemText(e, t('common.unknownError'))),
  });
  return (
    <Card title={t('c360.owner')} variant="borderless" className="section-gap">
      {can('customers.write') && can('users.manage') ? (
        <Select
          style={{ width: '100%' }}
          allowClear
          placeholder={t('c360.noOwner')}
          value={customer.owner?.id}
          loading={users.isLoading || setOwner.isPending}
          onChange={(v: string | undefined) => setOwner.mutate(v ?? null)}
          options={list.filter((u) => !u.disabled).map((u) => ({ value: u.id, label: `${u.name} · ${u.email}` }))}
        />
      ) : (
        <Typography.Text>{customer.owner?.name ?? t('c360.noOwner')}</Typography.Text>
      )}
    </Card>
  );
}
