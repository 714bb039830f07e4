import { useMutation, useQuery } from '@tanstack/react-query';
import { Alert, Button, Flex, Form, Input, Skeleton, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { useNavigate } from 'react-router';
import { get, post } from '../../../api/client';
import type { Connector } from '../../../api/types';
import { ProblemAlert } from '../../../components/ProblemAlert';
import { ConnectionTest, PlatformMark, SetupInstructions } from './common';
import { buildConfig, FIELD_RULES, isApiBase, PLATFORM_SPECS, type CommercePlatform } from './platforms';
import type { ConnectorDetail } from './types';

/**
 * Steps 2 and 3 of the connector wizard for an e-commerce platform: the platform's
 * credentials (a form generated from what it needs), then what to paste into its back office
 * and a connection test.
 */
export function CommerceSetup({
  platform,
  created,
  onCreated,
  onBack,
  onClose,
}: {
  platform: CommercePlatform;
  created: Connector | null;
  onCreated: (c: Connector) => void;
  onBack: () => void;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const spec = PLATFORM_SPECS[platform];
  const [form] = Form.useForm<Record<string, string>>();
  const create = useMutation({
    mutationFn: (v: Record<string, string>) =>
      post<Connector>('/v1/connectors', { platform, name: (v['name'] ?? '').trim(), config: buildConfig(platform, v) }),
    onSuccess: onCreated,
  });
  if (created) return <CommerceConnect connector={created} platform={platform} onClose={onClose} />;
  return (
    <Form
      form={form}
      layout="vertical"
      onFinish={(v) => create.mutate(v)}
      initialValues={{ name: t(`commerce.defaultName.${platform}`) }}
      data-testid="commerce-form"
      requiredMark="optional"
    >
      <Flex gap={12} align="center" style={{ marginBottom: 12 }}>
        <PlatformMark platform={platform} />
        <Typography.Text strong>{t(`connectors.platforms.${platform}`)}</Typography.Text>
      </Flex>
      <Alert type="info" showIcon title={t(`commerce.credentialsHint.${platform}`)} style={{ marginBottom: 16 }} />
      <Form.Item name="name" label={t('connectors.name')} rules={[{ required: true, max: 120 }]}>
        <Input />
      </Form.Item>
      {spec.fields.map((f) => (
        <Form.Item
          key={f.key}
          name={f.key}
          label={f.label}
          extra={
            <>
              {t(`commerce.fields.${platform}.${f.key}`)}
              {f.secret ? ` ${t('connectors.secretHint')}` : ''}
            </>
          }
          rules={[
            ...(f.required ? [{ required: true, whitespace: true, message: t('commerce.required', { field: f.label }) }] : []),
            ...(f.rule ? [{ pattern: FIELD_RULES[f.rule], message: `${f.label} ${t(`commerce.rule.${f.rule}`)}` }] : []),
          ]}
        >
          {f.secret ? (
            <Input.Password className="mono" autoComplete="new-password" data-testid={`field-${f.key}`} />
          ) : (
            <Input className="mono" placeholder={f.placeholder} autoComplete="off" data-testid={`field-${f.key}`} />
          )}
        </Form.Item>
      ))}
      <Form.Item
        name="apiBase"
        label={t('commerce.apiBase')}
        extra={t('commerce.apiBaseHint', { url: spec.defaultApiBase })}
        rules={[{ validator: (_r, v?: string) => (isApiBase(v) ? Promise.resolve() : Promise.reject(new Error(t('commerce.apiBaseRule')))) }]}
      >
        <Input className="mono" placeholder={spec.defaultApiBase} data-testid="field-apiBase" />
      </Form.Item>
      <ProblemAlert error={create.error} style={{ marginBottom: 16 }} />
      <Flex justify="space-between">
        <Button onClick={onBack}>{t('common.back')}</Button>
        <Button type="primary" htmlType="submit" loading={create.isPending} data-testid="create-connector">
          {t('connectors.create')}
        </Button>
      </Flex>
    </Form>
  );
}

/** The final step: the connector's own `commerce` block says which URL to paste. */
function CommerceConnect({ connector, platform, onClose }: { connector: Connector; platform: CommercePlatform; onClose: () => void }) {
  const { t } = useTranslation();
  const nav = useNavigate();
  const detail = useQuery({ queryKey: ['connector', connector.id], queryFn: () => get<ConnectorDetail>(`/v1/connectors/${connector.id}`) });
  const group = connector.config['groupName'];
  return (
    <Flex vertical gap={16} data-testid="commerce-connect">
      <Alert type="success" showIcon title={t('connectors.created')} />
      <Typography.Title level={5} style={{ margin: 0 }}>
        {t('commerce.pasteTitle')}
      </Typography.Title>
      <ProblemAlert error={detail.error} onRetry={() => void detail.refetch()} />
      {detail.data?.commerce ? (
        <SetupInstructions platform={platform} webhookUrl={detail.data.commerce.webhookUrl} groupName={typeof group === 'string' ? group : undefined} />
      ) : detail.isLoading ? (
        <Skeleton active paragraph={{ rows: 3 }} />
      ) : null}
      <ConnectionTest connectorId={connector.id} hint />
      <Flex justify="flex-end" gap={8}>
        <Button
          onClick={() => {
            onClose();
            void nav(`/connectors/${connector.id}`);
          }}
          data-testid="open-connector"
        >
          {t('commerce.openDetail')}
        </Button>
        <Button type="primary" onClick={onClose}>
          {t('common.done')}
        </Button>
      </Flex>
    </Flex>
  );
}
