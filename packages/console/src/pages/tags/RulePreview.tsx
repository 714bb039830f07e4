import { ReloadOutlined, TeamOutlined } from '@ant-design/icons';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Button, Flex, Spin, Tag, Tooltip, Typography } from 'antd';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../../api/client';
import type { TagRulePreview } from '../../api/types';
import { displayName } from '../../components/format';
import { problemText } from '../../components/ProblemAlert';

/** How long the form must rest before the preview asks the server again. */
const DEBOUNCE_MS = 600;

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

/**
 * "预览匹配人数": how many customers the condition matches now (server-side, over every
 * customer), refreshed as the form rests, with a few of them. `condition` is null while the
 * form is incomplete.
 */
export function RulePreview({ condition, endpoint = '/v1/tag-rules/preview' }: { condition: unknown; endpoint?: string }) {
  const { t } = useTranslation();
  const key = condition === null ? null : JSON.stringify(condition);
  const debounced = useDebounced(key, DEBOUNCE_MS);
  const preview = useQuery({
    queryKey: ['tag-rule-preview', endpoint, debounced],
    queryFn: ({ signal }) => api<TagRulePreview>('POST', endpoint, { body: { condition: JSON.parse(debounced ?? 'null') as unknown }, signal }),
    enabled: debounced !== null,
    placeholderData: keepPreviousData,
    staleTime: 30_000,
    retry: false,
  });
  const waiting = key !== debounced || preview.isFetching;
  const data = key === null ? undefined : preview.data;
  return (
    <div className="rule-preview" data-testid="rule-preview">
      <Flex align="center" gap={8} wrap>
        <TeamOutlined />
        <Typography.Text strong>{t('rules.preview')}</Typography.Text>
        {key === null ? (
          <Typography.Text type="secondary">{t('rules.previewIncomplete')}</Typography.Text>
        ) : preview.error && !waiting ? (
          <Typography.Text type="danger">{problemText(preview.error, t('common.unknownError'))}</Typography.Text>
        ) : data ? (
          <Typography.Text>
            <span className="rule-preview-count" data-testid="rule-preview-count" data-count={data.count} style={{ opacity: waiting ? 0.5 : 1 }}>
              {data.count.toLocaleString()}
            </span>{' '}
            {t('rules.previewOf', { total: data.total.toLocaleString() })}
          </Typography.Text>
        ) : null}
        {waiting && key !== null ? <Spin size="small" /> : null}
        <Tooltip title={t('rules.previewRefresh')}>
          <Button
            size="small"
            type="text"
            icon={<ReloadOutlined />}
            disabled={key === null}
            onClick={() => void preview.refetch()}
            aria-label={t('rules.previewRefresh')}
            data-testid="rule-preview-refresh"
          />
        </Tooltip>
      </Flex>
      {data && data.sample.length > 0 ? (
        <Flex gap={4} wrap style={{ marginTop: 8 }} align="center">
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>
            {t('rules.previewSample')}
          </Typography.Text>
          {data.sample.slice(0, 8).map((c) => (
            <Tag key={c.id} variant="filled">
              {displayName(c.traits, c.phone ?? c.email ?? c.id)}
            </Tag>
          ))}
        </Flex>
      ) : null}
    </div>
  );
}
