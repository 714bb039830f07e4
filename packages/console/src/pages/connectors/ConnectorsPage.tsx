import { ApiOutlined, CheckCircleFilled, CloseCircleFilled, DownloadOutlined, NodeIndexOutlined, PlusOutlined, ProfileOutlined, UploadOutlined, WechatOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Card, Col, Descriptions, Empty, Flex, Form, Input, Modal, Popconfirm, Result, Row, Space, Steps, Table, Tag, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { del, get, post } from '../../api/client';
import type { Connector, ConnectorTemplate } from '../../api/types';
import { Copy } from '../../components/Copy';
import { fmtTime } from '../../components/format';
import { PageHeader } from '../../components/PageHeader';
import { ProblemAlert, problemText } from '../../components/ProblemAlert';
import { CommerceSetup } from './commerce/CommerceSetup';
import { PlatformMark } from './commerce/common';
import { COMMERCE_PLATFORMS, isCommercePlatform, PLATFORM_SPECS, type CommercePlatform } from './commerce/platforms';
import { MappingDrawer } from './MappingDrawer';

interface TestResult {
  ok: boolean;
  code: string | null;
  message: string;
}

export function endpointsOf(c: Pick<Connector, 'id'>, origin: string) {
  return [
    { key: 'login', url: `${origin}/v1/miniprogram/${c.id}/login` },
    { key: 'phone', url: `${origin}/v1/miniprogram/${c.id}/phone` },
    { key: 'decrypt', url: `${origin}/v1/miniprogram/${c.id}/decrypt` },
    { key: 'me', url: `${origin}/v1/miniprogram/${c.id}/me` },
  ];
}

function Endpoints({ connector }: { connector: Pick<Connector, 'id'> }) {
  const { t } = useTranslation();
  return (
    <Descriptions
      column={1}
      size="small"
      bordered
      items={endpointsOf(connector, window.location.origin).map((e) => ({
        key: e.key,
        label: t(`connectors.endpoint.${e.key}`),
        children: <Copy value={e.url} />,
      }))}
    />
  );
}

export function ConnectorsPage() {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const [wizard, setWizard] = useState(false);
  const [mapping, setMapping] = useState<Connector | null>(null);
  const [importing, setImporting] = useState<ConnectorTemplate | null>(null);
  const exportTemplate = async (c: Connector) => {
    try {
      const tpl = await get<ConnectorTemplate>(`/v1/connectors/${c.id}/template`);
      const url = URL.createObjectURL(new Blob([JSON.stringify(tpl, null, 2)], { type: 'application/json' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = `${c.name.replace(/[^\w\u4e00-\u9fa5-]+/g, '_')}.datong-connector.json`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (e) {
      void message.error(problemText(e, t('common.unknownError')));
    }
  };
  const pickTemplate = () => {
    const input = document.createElement('input');
    input.type = 'file';
    input.accept = 'application/json,.json';
    input.onchange = () => {
      const file = input.files?.[0];
      if (!file) return;
      void file.text().then((text) => {
        try {
          const tpl = JSON.parse(text) as ConnectorTemplate;
          if (tpl.format !== 'datong.connector-template') throw new Error(t('connectors.notATemplate'));
          setImporting(tpl);
        } catch (e) {
          void message.error(e instanceof Error ? e.message : String(e));
        }
      });
    };
    input.click();
  };
  const [results, setResults] = useState<Record<string, TestResult>>({});
  const list = useQuery({ queryKey: ['connectors'], queryFn: () => get<{ data: Connector[] }>('/v1/connectors') });
  const test = useMutation({
    mutationFn: (c: Connector) => post<TestResult>(`/v1/connectors/${c.id}/test`),
    onSuccess: (r, c) => setResults((m) => ({ ...m, [c.id]: r })),
    onError: (e) => void message.error(problemText(e, t('common.unknownError'))),
  });
  const disable = useMutation({
    mutationFn: (c: Connector) => del(`/v1/connectors/${c.id}`),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['connectors'] }),
    onError: (e) => void message.error(problemText(e, t('common.unknownError'))),
  });
  const data = list.data?.data ?? [];
  return (
    <>
      <PageHeader
        title={t('connectors.title')}
        subtitle={t('connectors.subtitle')}
        extra={
          <>
            <Button icon={<UploadOutlined />} onClick={pickTemplate}>
              {t('connectors.importTemplate')}
            </Button>
            <Button type="primary" icon={<PlusOutlined />} onClick={() => setWizard(true)} data-testid="add-connector">
              {t('connectors.add')}
            </Button>
          </>
        }
      />
      {list.error ? <ProblemAlert error={list.error} onRetry={() => void list.refetch()} style={{ marginBottom: 16 }} /> : null}
      <Card variant="borderless">
        <Table<Connector>
          rowKey="id"
          loading={list.isLoading}
          dataSource={data}
          pagination={false}
          scroll={{ x: 'max-content' }}
          expandable={{ expandedRowRender: (c) => <Endpoints connector={c} />, rowExpandable: (c) => c.platform === 'wechat_miniprogram' }}
          locale={{
            emptyText: list.error ? (
              ' '
            ) : (
              <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('connectors.empty')}>
                <Button type="primary" onClick={() => setWizard(true)}>
                  {t('connectors.add')}
                </Button>
              </Empty>
            ),
          }}
          columns={[
            {
              title: t('connectors.name'),
              dataIndex: 'name',
              width: 300,
              render: (v: string, c) => (
                <Flex align="center" gap={8}>
                  {isCommercePlatform(c.platform) ? <PlatformMark platform={c.platform} size={20} /> : <WechatOutlined style={{ color: '#07c160', fontSize: 18 }} />}
                  <div>
                    <div>
                      {isCommercePlatform(c.platform) ? (
                        <Link to={`/connectors/${c.id}`} data-testid="connector-link">
                          {v}
                        </Link>
                      ) : (
                        v
                      )}
                    </div>
                    <Typography.Text type="secondary" className="mono" style={{ whiteSpace: 'nowrap' }}>
                      {c.id}
                    </Typography.Text>
                  </div>
                </Flex>
              ),
            },
            { title: t('connectors.platform'), dataIndex: 'platform', width: 150, render: (v: string) => t(`connectors.platforms.${v}`, { defaultValue: v }) },
            { title: t('commerce.account'), key: 'account', width: 190, render: (_v, c) => <span className="mono">{String(c.config[isCommercePlatform(c.platform) ? PLATFORM_SPECS[c.platform].accountField : 'appId'] ?? '—')}</span> },
            {
              title: t('common.status'),
              key: 'status',
              width: 220,
              render: (_v, c) => {
                const r = results[c.id];
                if (!c.enabled) return <Tag>{t('connectors.disabled')}</Tag>;
                if (!r) return <Tag color="blue">{t('connectors.enabled')}</Tag>;
                return r.ok ? (
                  <Tag icon={<CheckCircleFilled />} color="success">
                    {t('connectors.testOk')}
                  </Tag>
                ) : (
                  <Typography.Text type="danger">
                    <CloseCircleFilled /> {r.message}
                  </Typography.Text>
                );
              },
            },
            { title: t('common.createdAt'), dataIndex: 'createdAt', width: 170, render: fmtTime },
            {
              title: '',
              key: 'a',
              width: 340,
              // Always in view: the other columns scroll under it on narrow screens.
              fixed: 'right',
              render: (_v, c) =>
                c.enabled ? (
                  <Space size={0} wrap>
                    {isCommercePlatform(c.platform) ? (
                      <Link to={`/connectors/${c.id}`}>
                        <Button type="link" size="small" icon={<ProfileOutlined />}>
                          {t('commerce.details')}
                        </Button>
                      </Link>
                    ) : null}
                    <Button type="link" size="small" icon={<NodeIndexOutlined />} onClick={() => setMapping(c)} data-testid="edit-mapping">
                      {t('connectors.mapping')}
                    </Button>
                    <Button type="link" size="small" icon={<DownloadOutlined />} onClick={() => void exportTemplate(c)}>
                      {t('connectors.exportTemplate')}
                    </Button>
                    <Button type="link" size="small" icon={<ApiOutlined />} loading={test.isPending && test.variables.id === c.id} onClick={() => test.mutate(c)}>
                      {t('connectors.test')}
                    </Button>
                    <Popconfirm title={t('connectors.disableConfirm')} onConfirm={() => disable.mutate(c)} okButtonProps={{ danger: true }}>
                      <Button type="link" size="small" danger>
                        {t('connectors.disable')}
                      </Button>
                    </Popconfirm>
                  </Space>
                ) : null,
            },
          ]}
        />
      </Card>
      <MappingDrawer
        connector={mapping}
        onClose={(saved) => {
          setMapping(null);
          if (saved) void qc.invalidateQueries({ queryKey: ['connectors'] });
        }}
      />
      <ImportTemplateModal
        template={importing}
        onClose={(done) => {
          setImporting(null);
          if (done) void qc.invalidateQueries({ queryKey: ['connectors'] });
        }}
      />
      <ConnectorWizard
        open={wizard}
        onClose={() => {
          setWizard(false);
          void qc.invalidateQueries({ queryKey: ['connectors'] });
        }}
      />
    </>
  );
}

interface MiniprogramForm {
  name: string;
  appId: string;
  appSecret: string;
  apiBase?: string;
}

function ConnectorWizard({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  const [step, setStep] = useState(0);
  // The platform picked in the first step; e-commerce platforms have their own form (CommerceSetup).
  const [commerce, setCommerce] = useState<CommercePlatform | null>(null);
  const [commerceCreated, setCommerceCreated] = useState<Connector | null>(null);
  const [form] = Form.useForm<MiniprogramForm>();
  const create = useMutation({
    mutationFn: (v: MiniprogramForm) =>
      post<Connector>('/v1/connectors', {
        platform: 'wechat_miniprogram',
        name: v.name.trim(),
        config: { appId: v.appId.trim(), appSecret: v.appSecret.trim(), ...(v.apiBase?.trim() ? { apiBase: v.apiBase.trim() } : {}) },
      }),
    onSuccess: () => setStep(2),
  });
  const test = useMutation({ mutationFn: (c: Connector) => post<TestResult>(`/v1/connectors/${c.id}/test`) });
  const close = () => {
    setStep(0);
    setCommerce(null);
    setCommerceCreated(null);
    form.resetFields();
    create.reset();
    test.reset();
    onClose();
  };
  return (
    <Modal open={open} onCancel={close} title={t('connectors.wizardTitle')} footer={null} width={720} destroyOnHidden>
      <Steps current={step} size="small" style={{ margin: '8px 0 24px' }} items={[{ title: t('connectors.stepPlatform') }, { title: t('connectors.stepCredentials') }, { title: t('connectors.stepConnect') }]} />
      {step === 0 ? (
        <Row gutter={[16, 16]}>
          <Col span={12}>
            <Card
              hoverable
              onClick={() => {
                setCommerce(null);
                setStep(1);
              }}
              data-testid="platform-miniprogram"
            >
              <Flex gap={12} align="center">
                <WechatOutlined style={{ fontSize: 32, color: '#07c160' }} />
                <div>
                  <Typography.Text strong>{t('connectors.platforms.wechat_miniprogram')}</Typography.Text>
                  <div>
                    <Typography.Text type="secondary">{t('connectors.miniprogramHint')}</Typography.Text>
                  </div>
                </div>
              </Flex>
            </Card>
          </Col>
          {COMMERCE_PLATFORMS.map((p) => (
            <Col span={12} key={p}>
              <Card
                hoverable
                onClick={() => {
                  setCommerce(p);
                  setStep(1);
                }}
                data-testid={`platform-${p}`}
              >
                <Flex gap={12} align="center">
                  <PlatformMark platform={p} />
                  <div>
                    <Typography.Text strong>{t(`connectors.platforms.${p}`)}</Typography.Text>
                    <div>
                      <Typography.Text type="secondary">{t(`commerce.cardHint.${p}`)}</Typography.Text>
                    </div>
                  </div>
                </Flex>
              </Card>
            </Col>
          ))}
          <Col span={12}>
            <Card className="platform-soon">
              <Flex justify="space-between" align="center">
                <Typography.Text type="secondary">{t('channels.wecom')}</Typography.Text>
                <Tag>{t('connectors.soon')}</Tag>
              </Flex>
            </Card>
          </Col>
        </Row>
      ) : null}
      {step >= 1 && commerce ? (
        <CommerceSetup
          platform={commerce}
          created={commerceCreated}
          onCreated={(c) => {
            setCommerceCreated(c);
            setStep(2);
          }}
          onBack={() => setStep(0)}
          onClose={close}
        />
      ) : null}
      {step === 1 && !commerce ? (
        <Form form={form} layout="vertical" onFinish={(v) => create.mutate(v)} initialValues={{ name: t('connectors.defaultName') }}>
          <Alert type="info" showIcon title={t('connectors.credentialsHint')} style={{ marginBottom: 16 }} />
          <Form.Item name="name" label={t('connectors.name')} rules={[{ required: true, max: 120 }]}>
            <Input />
          </Form.Item>
          <Form.Item name="appId" label="AppID" rules={[{ required: true, pattern: /^wx[0-9a-f]{16}$/i, message: t('connectors.appIdRule') }]}>
            <Input placeholder="wx0123456789abcdef" className="mono" data-testid="app-id" />
          </Form.Item>
          <Form.Item name="appSecret" label="AppSecret" rules={[{ required: true, min: 16, message: t('connectors.appSecretRule') }]} extra={t('connectors.secretHint')}>
            <Input.Password className="mono" autoComplete="off" data-testid="app-secret" />
          </Form.Item>
          <Form.Item name="apiBase" label={t('connectors.apiBase')} extra={t('connectors.apiBaseHint')}>
            <Input placeholder="https://api.weixin.qq.com" />
          </Form.Item>
          <ProblemAlert error={create.error} style={{ marginBottom: 16 }} />
          <Flex justify="space-between">
            <Button onClick={() => setStep(0)}>{t('common.back')}</Button>
            <Button type="primary" htmlType="submit" loading={create.isPending} data-testid="create-connector">
              {t('connectors.create')}
            </Button>
          </Flex>
        </Form>
      ) : null}
      {step === 2 && !commerce && create.data ? (
        <Flex vertical gap={16}>
          <Result status="success" title={t('connectors.created')} subTitle={t('connectors.createdHint')} style={{ padding: '8px 0' }} />
          <Endpoints connector={create.data} />
          <Flex gap={8} align="center">
            <Button icon={<ApiOutlined />} loading={test.isPending} onClick={() => create.data && test.mutate(create.data)}>
              {t('connectors.test')}
            </Button>
            {test.data ? (
              test.data.ok ? (
                <Typography.Text type="success">
                  <CheckCircleFilled /> {test.data.message}
                </Typography.Text>
              ) : (
                <Typography.Text type="danger">
                  <CloseCircleFilled /> {test.data.message}
                </Typography.Text>
              )
            ) : null}
          </Flex>
          <ProblemAlert error={test.error} />
          <Flex justify="flex-end">
            <Button type="primary" onClick={close}>
              {t('common.done')}
            </Button>
          </Flex>
        </Flex>
      ) : null}
    </Modal>
  );
}

/** A template file (config and mapping, never secrets) turned back into a connector. */
function ImportTemplateModal({ template, onClose }: { template: ConnectorTemplate | null; onClose: (done: boolean) => void }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [form] = Form.useForm<{ name: string; secrets: Record<string, string> }>();
  const run = useMutation({
    mutationFn: (v: { name: string; secrets?: Record<string, string> }) => post<Connector>('/v1/connectors/import', { template, name: v.name.trim(), secrets: v.secrets ?? {} }),
    onSuccess: () => {
      void message.success(t('connectors.imported'));
      onClose(true);
    },
  });
  return (
    <Modal open={!!template} title={t('connectors.importTemplate')} onCancel={() => onClose(false)} onOk={() => form.submit()} confirmLoading={run.isPending} destroyOnHidden>
      {template ? (
        <Form form={form} layout="vertical" preserve={false} initialValues={{ name: template.name }} onFinish={(v) => run.mutate(v)}>
          <Descriptions
            size="small"
            column={1}
            bordered
            style={{ marginBottom: 16 }}
            items={[
              { key: 'p', label: t('connectors.platform'), children: t(`connectors.platforms.${template.platform}`, { defaultValue: template.platform }) },
              { key: 'm', label: t('connectors.mapping'), children: t('connectors.mappingFields', { n: Object.keys(template.mapping).length }) },
              { key: 'e', label: t('connectors.exportedAt'), children: fmtTime(template.exportedAt) },
            ]}
          />
          <Form.Item name="name" label={t('connectors.name')} rules={[{ required: true, max: 120 }]}>
            <Input />
          </Form.Item>
          {template.secrets.map((s) => (
            <Form.Item key={s} name={['secrets', s]} label={s} rules={[{ required: true }]} extra={t('connectors.secretHint')}>
              <Input.Password className="mono" autoComplete="off" />
            </Form.Item>
          ))}
          <ProblemAlert error={run.error} />
        </Form>
      ) : null}
    </Modal>
  );
}
