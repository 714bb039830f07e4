import { ApiOutlined, CheckCircleFilled, CloseCircleFilled } from '@ant-design/icons';
import { useMutation } from '@tanstack/react-query';
import { Alert, Button, Descriptions, Flex, Space, Tag, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { api } from '../../../api/client';
import { Copy } from '../../../components/Copy';
import { ProblemAlert } from '../../../components/ProblemAlert';
import { isLocalUrl, PLATFORM_SPECS, TAOBAO_TMC_TOPICS, type CommercePlatform } from './platforms';
import type { TestResult } from './types';

/** The platform's mark: one character on its colour. */
export function PlatformMark({ platform, size = 32 }: { platform: CommercePlatform; size?: number }) {
  const spec = PLATFORM_SPECS[platform];
  return (
    <span
      className="platform-mark"
      aria-hidden
      style={{ width: size, height: size, fontSize: Math.round(size * 0.5), background: spec.color, color: platform === 'meituan' ? '#222' : '#fff' }}
    >
      {spec.mark}
    </span>
  );
}

/** POST /v1/connectors/{id}/test, the answer worded in the console's language. */
export function useConnectionTest() {
  const { i18n } = useTranslation();
  return useMutation({
    mutationFn: (id: string) => api<TestResult>('POST', `/v1/connectors/${id}/test`, { headers: { 'accept-language': i18n.language === 'en' ? 'en' : 'zh-CN' } }),
  });
}

export function ConnectionTest({ connectorId, hint }: { connectorId: string; hint?: boolean }) {
  const { t } = useTranslation();
  const test = useConnectionTest();
  return (
    <Flex vertical gap={8}>
      <Flex gap={12} align="center" wrap>
        <Button icon={<ApiOutlined />} loading={test.isPending} onClick={() => test.mutate(connectorId)} data-testid="test-connection">
          {t('connectors.test')}
        </Button>
        {test.data ? (
          <Typography.Text type={test.data.ok ? 'success' : 'danger'} data-testid="test-result" data-ok={String(test.data.ok)}>
            {test.data.ok ? <CheckCircleFilled /> : <CloseCircleFilled />} {test.data.message}
            {test.data.code ? <span className="problem-code"> · {test.data.code}</span> : null}
          </Typography.Text>
        ) : hint ? (
          <Typography.Text type="secondary">{t('commerce.testHint')}</Typography.Text>
        ) : null}
      </Flex>
      <ProblemAlert error={test.error} />
    </Flex>
  );
}

/** Exactly what to do in the platform's back office: the push URL to paste, or Taobao's TMC topics. */
export function SetupInstructions({ platform, webhookUrl, groupName }: { platform: CommercePlatform; webhookUrl: string; groupName?: string | undefined }) {
  const { t } = useTranslation();
  const spec = PLATFORM_SPECS[platform];
  return (
    <Flex vertical gap={12} data-testid="setup-instructions">
      <ol className="setup-steps">
        <li>{t(`commerce.paste.${platform}.s1`)}</li>
        <li>{t(`commerce.paste.${platform}.s2`)}</li>
        <li>{t(`commerce.paste.${platform}.s3`)}</li>
      </ol>
      {spec.delivery === 'push' ? (
        <>
          <Descriptions
            column={1}
            size="small"
            bordered
            items={[{ key: 'url', label: t('commerce.webhookUrl'), children: <span data-testid="webhook-url"><Copy value={webhookUrl} /></span> }]}
          />
          {isLocalUrl(webhookUrl) ? <Alert type="warning" showIcon title={t('commerce.localUrl')} /> : null}
        </>
      ) : (
        <Descriptions
          column={1}
          size="small"
          bordered
          items={[
            {
              key: 'topics',
              label: t('commerce.topics'),
              children: (
                <Flex vertical gap={6}>
                  <Typography.Text type="secondary">{t('commerce.group', { group: groupName ?? t('commerce.defaultGroup') })}</Typography.Text>
                  <Space size={[4, 4]} wrap data-testid="tmc-topics">
                    {TAOBAO_TMC_TOPICS.map((topic) => (
                      <Tag key={topic} className="mono">
                        {topic}
                      </Tag>
                    ))}
                  </Space>
                  <Copy value={TAOBAO_TMC_TOPICS.join(',')} display={t('common.copyAll')} />
                </Flex>
              ),
            },
          ]}
        />
      )}
    </Flex>
  );
}
