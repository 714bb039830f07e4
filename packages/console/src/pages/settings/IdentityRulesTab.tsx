import { ArrowDownOutlined, ArrowUpOutlined, DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Card, Col, Empty, Flex, Input, InputNumber, List, Row, Select, Skeleton, Table, Tag, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { get, put } from '../../api/client';
import { IDENTIFIER_TYPES, type IdentityRules } from '../../api/types';
import { ProblemAlert, problemText } from '../../components/ProblemAlert';

export function IdentityRulesTab() {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const rules = useQuery({ queryKey: ['identity-rules'], queryFn: () => get<IdentityRules>('/v1/identity-rules') });
  const [draft, setDraft] = useState<IdentityRules | null>(null);
  const [loadedFrom, setLoadedFrom] = useState<IdentityRules | undefined>(undefined);
  if (rules.data !== loadedFrom) {
    setLoadedFrom(rules.data);
    setDraft(rules.data ? structuredClone(rules.data) : null);
  }
  const [blockType, setBlockType] = useState<string>('phone');
  const [blockValue, setBlockValue] = useState('');
  const save = useMutation({
    mutationFn: (r: IdentityRules) => put<IdentityRules>('/v1/identity-rules', r),
    onSuccess: (r) => {
      void message.success(t('identityRules.saved'));
      qc.setQueryData(['identity-rules'], r);
    },
    onError: (e) => void message.error(problemText(e, t('common.unknownError'))),
  });
  if (rules.isLoading) return <Skeleton active />;
  if (rules.error || !draft) return <ProblemAlert error={rules.error} onRetry={() => void rules.refetch()} />;
  const move = (i: number, d: -1 | 1) => {
    const p = [...draft.priority];
    const j = i + d;
    if (j < 0 || j >= p.length) return;
    [p[i], p[j]] = [p[j] as string, p[i] as string];
    setDraft({ ...draft, priority: p });
  };
  const label = (type: string) => t(`identifiers.${type}`, { defaultValue: type });
  const dirty = JSON.stringify(draft) !== JSON.stringify(rules.data);
  return (
    <Flex vertical gap={16}>
      <Alert type="info" showIcon title={t('identityRules.hint')} />
      <Row gutter={16}>
        <Col xs={24} lg={10}>
          <Card size="small" title={t('identityRules.priority')} extra={<Typography.Text type="secondary">{t('identityRules.priorityHint')}</Typography.Text>}>
            <List
              size="small"
              dataSource={draft.priority}
              renderItem={(type, i) => (
                <List.Item
                  actions={[
                    <Button key="up" type="text" size="small" icon={<ArrowUpOutlined />} disabled={i === 0} onClick={() => move(i, -1)} aria-label="up" />,
                    <Button key="down" type="text" size="small" icon={<ArrowDownOutlined />} disabled={i === draft.priority.length - 1} onClick={() => move(i, 1)} aria-label="down" />,
                  ]}
                >
                  <Flex gap={8} align="center">
                    <Tag variant="filled">{i + 1}</Tag>
                    {label(type)}
                    <span className="mono muted">{type}</span>
                  </Flex>
                </List.Item>
              )}
            />
          </Card>
        </Col>
        <Col xs={24} lg={14}>
          <Card size="small" title={t('identityRules.limits')} extra={<Typography.Text type="secondary">{t('identityRules.limitsHint')}</Typography.Text>}>
            <Table
              size="small"
              rowKey="type"
              pagination={false}
              dataSource={IDENTIFIER_TYPES.map((type) => ({ type, limit: draft.limits[type] ?? null }))}
              columns={[
                { title: t('identityRules.type'), dataIndex: 'type', render: (v: string) => label(v) },
                {
                  title: t('identityRules.max'),
                  dataIndex: 'limit',
                  width: 180,
                  render: (v: number | null, r) => (
                    <InputNumber
                      min={1}
                      value={v}
                      placeholder={t('identityRules.unlimited')}
                      onChange={(n) => {
                        const limits = { ...draft.limits };
                        if (typeof n === 'number') limits[r.type] = n;
                        else delete limits[r.type];
                        setDraft({ ...draft, limits });
                      }}
                    />
                  ),
                },
              ]}
            />
          </Card>
          <Card size="small" title={t('identityRules.blocked')} className="section-gap" extra={<Typography.Text type="secondary">{t('identityRules.blockedHint')}</Typography.Text>}>
            <Flex gap={8} className="toolbar">
              <Select value={blockType} onChange={setBlockType} style={{ width: 180 }} options={IDENTIFIER_TYPES.map((x) => ({ value: x, label: label(x) }))} />
              <Input value={blockValue} onChange={(e) => setBlockValue(e.target.value)} placeholder={t('identityRules.blockValue')} />
              <Button
                icon={<PlusOutlined />}
                disabled={blockValue.trim() === ''}
                onClick={() => {
                  setDraft({ ...draft, blocked: [...draft.blocked, { type: blockType, value: blockValue.trim() }] });
                  setBlockValue('');
                }}
              >
                {t('common.add')}
              </Button>
            </Flex>
            {draft.blocked.length === 0 ? (
              <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('identityRules.noBlocked')} />
            ) : (
              <Table
                size="small"
                rowKey={(b) => `${b.type}:${b.collection ?? ''}:${b.value}`}
                pagination={{ pageSize: 10, hideOnSinglePage: true }}
                dataSource={draft.blocked}
                columns={[
                  { title: t('identityRules.type'), dataIndex: 'type', width: 160, render: (v: string) => label(v) },
                  { title: t('identityRules.blockValue'), dataIndex: 'value', render: (v: string) => <span className="mono">{v}</span> },
                  {
                    title: '',
                    key: 'a',
                    width: 50,
                    render: (_v, b) => (
                      <Button type="text" size="small" icon={<DeleteOutlined />} onClick={() => setDraft({ ...draft, blocked: draft.blocked.filter((x) => x !== b) })} />
                    ),
                  },
                ]}
              />
            )}
          </Card>
        </Col>
      </Row>
      <Flex justify="flex-end" gap={8}>
        <Button disabled={!dirty} onClick={() => setDraft(rules.data ? structuredClone(rules.data) : null)}>
          {t('common.reset')}
        </Button>
        <Button
          type="primary"
          disabled={!dirty}
          loading={save.isPending}
          onClick={() =>
            save.mutate({
              priority: draft.priority,
              limits: draft.limits,
              blocked: draft.blocked.map((b) => ({ type: b.type, value: b.value, ...(b.collection ? { collection: b.collection } : {}) })),
            })
          }
        >
          {t('common.save')}
        </Button>
      </Flex>
    </Flex>
  );
}
