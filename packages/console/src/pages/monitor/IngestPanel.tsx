import { ReloadOutlined } from '@ant-design/icons';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Button, Card, Col, Empty, Flex, Row, Segmented, Select, Skeleton, Statistic, Table, Tag, Typography } from 'antd';
import dayjs from 'dayjs';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { get } from '../../api/client';
import { Chart } from '../../components/Chart';
import { fmtTime } from '../../components/format';
import { ProblemAlert } from '../../components/ProblemAlert';

interface SourcePoint {
  at: string;
  received: number;
  processed: number;
  quarantined: number;
  lagP50Ms: number | null;
  lagP95Ms: number | null;
}
interface SourceSeries {
  sourceId: string;
  name: string;
  type: string;
  connectorId: string | null;
  totals: Omit<SourcePoint, 'at'>;
  points: SourcePoint[];
}
interface Overview {
  from: string;
  to: string;
  bucket: 'minute' | 'hour' | 'day';
  series: { sources: SourceSeries[] };
  totals: { received: number; processed: number; quarantined: number };
}
interface IngestError {
  kind: 'ingest';
  at: string;
  quarantineId: string;
  quarantineKind: string;
  sourceId: string | null;
  sourceName: string | null;
  messageId: string | null;
  field: string | null;
  reason: string;
  status: string;
  excerpt: string | null;
}

const WINDOWS = { '24h': { hours: 24, bucket: 'hour' }, '7d': { hours: 24 * 7, bucket: 'hour' }, '30d': { hours: 24 * 30, bucket: 'day' } } as const;
type WindowKey = keyof typeof WINDOWS;

/** Points of several sources added up, bucket by bucket (lag: the worst of them). */
export function sumPoints(series: readonly SourceSeries[]): SourcePoint[] {
  const by = new Map<string, SourcePoint>();
  for (const s of series) {
    for (const p of s.points) {
      const cur = by.get(p.at);
      if (!cur) by.set(p.at, { ...p });
      else {
        cur.received += p.received;
        cur.processed += p.processed;
        cur.quarantined += p.quarantined;
        cur.lagP50Ms = Math.max(cur.lagP50Ms ?? 0, p.lagP50Ms ?? 0) || null;
        cur.lagP95Ms = Math.max(cur.lagP95Ms ?? 0, p.lagP95Ms ?? 0) || null;
      }
    }
  }
  return [...by.values()].sort((a, b) => a.at.localeCompare(b.at));
}

/** Data arriving from each source (and connector): volume, quarantine and processing lag over time. */
export function IngestPanel() {
  const { t } = useTranslation();
  const [win, setWin] = useState<WindowKey>('24h');
  const [sourceId, setSourceId] = useState<string | undefined>();
  const range = useMemo(() => {
    const to = dayjs().add(1, 'minute').startOf('minute');
    return { from: to.subtract(WINDOWS[win].hours, 'hour').toISOString(), to: to.toISOString(), bucket: WINDOWS[win].bucket };
  }, [win]);
  const overview = useQuery({
    queryKey: ['monitor-overview', range],
    queryFn: ({ signal }) => get<Overview>('/v1/monitor/overview', { ...range, tz: Intl.DateTimeFormat().resolvedOptions().timeZone }, signal),
    placeholderData: keepPreviousData,
    refetchInterval: 30_000,
  });
  const errors = useQuery({
    queryKey: ['monitor-errors', range.from, sourceId],
    queryFn: ({ signal }) => get<{ data: IngestError[] }>('/v1/monitor/errors', { kind: 'ingest', from: range.from, sourceId, limit: 50 }, signal),
    placeholderData: keepPreviousData,
  });
  const sources = overview.data?.series.sources ?? [];
  const chosen = sourceId ? sources.filter((s) => s.sourceId === sourceId) : sources;
  const points = sumPoints(chosen);
  const totals = chosen.reduce((a, s) => ({ received: a.received + s.totals.received, processed: a.processed + s.totals.processed, quarantined: a.quarantined + s.totals.quarantined }), {
    received: 0,
    processed: 0,
    quarantined: 0,
  });
  const lag95 = chosen.reduce<number | null>((m, s) => (s.totals.lagP95Ms === null ? m : Math.max(m ?? 0, s.totals.lagP95Ms)), null);
  const fmt = (at: string) => dayjs(at).format(overview.data?.bucket === 'day' ? 'MM-DD' : 'MM-DD HH:mm');

  return (
    <>
      <Card variant="borderless" style={{ marginBottom: 16 }}>
        <Flex justify="space-between" gap={12} wrap>
          <Flex gap={8} align="center" wrap>
            <Typography.Text strong>{t('ingest.source')}</Typography.Text>
            <Select
              allowClear
              style={{ minWidth: 280 }}
              placeholder={t('ingest.allSources')}
              value={sourceId}
              onChange={setSourceId}
              options={sources.map((s) => ({ value: s.sourceId, label: `${s.name} · ${t(`channels.${s.type}`, { defaultValue: s.type })}${s.connectorId ? ` · ${t('ingest.connector')}` : ''}` }))}
            />
          </Flex>
          <Flex gap={8}>
            <Segmented value={win} onChange={(v) => setWin(v as WindowKey)} options={(Object.keys(WINDOWS) as WindowKey[]).map((k) => ({ value: k, label: t(`ingest.window.${k}`) }))} />
            <Button icon={<ReloadOutlined />} onClick={() => (void overview.refetch(), void errors.refetch())} loading={overview.isFetching} aria-label={t('common.refresh')} />
          </Flex>
        </Flex>
      </Card>
      {overview.error ? <ProblemAlert error={overview.error} onRetry={() => void overview.refetch()} style={{ marginBottom: 16 }} /> : null}
      <Row gutter={16}>
        {[
          { k: 'received', v: totals.received, suffix: '' },
          { k: 'processed', v: totals.processed, suffix: '' },
          { k: 'quarantined', v: totals.quarantined, suffix: '' },
          { k: 'lag95', v: lag95 === null ? '—' : Math.round(lag95), suffix: lag95 === null ? '' : 'ms' },
        ].map((s) => (
          <Col xs={12} lg={6} key={s.k}>
            <Card variant="borderless" className="stat-card" loading={overview.isLoading}>
              <Statistic title={t(`ingest.stat.${s.k}`)} value={s.v} suffix={s.suffix} />
            </Card>
          </Col>
        ))}
      </Row>
      <Card variant="borderless" className="section-gap chart-card" title={t('ingest.chartTitle')}>
        {overview.isLoading ? (
          <Skeleton active />
        ) : totals.received === 0 ? (
          <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('ingest.noData')} />
        ) : (
          <Chart
            height={300}
            option={{
              color: ['#1f5eff', '#22c55e', '#f59e0b', '#8b5cf6', '#ef4444'],
              tooltip: { trigger: 'axis' },
              legend: { top: 0 },
              grid: { left: 48, right: 56, top: 40, bottom: 28 },
              xAxis: { type: 'category', data: points.map((p) => fmt(p.at)) },
              yAxis: [
                { type: 'value', name: t('monitor.axisCount'), minInterval: 1 },
                { type: 'value', name: 'ms', splitLine: { show: false } },
              ],
              series: [
                { name: t('ingest.stat.received'), type: 'bar', data: points.map((p) => p.received), barMaxWidth: 18 },
                { name: t('ingest.stat.processed'), type: 'bar', data: points.map((p) => p.processed), barMaxWidth: 18 },
                { name: t('ingest.stat.quarantined'), type: 'bar', data: points.map((p) => p.quarantined), barMaxWidth: 18 },
                { name: t('ingest.lag50'), type: 'line', yAxisIndex: 1, smooth: true, connectNulls: true, data: points.map((p) => p.lagP50Ms) },
                { name: t('ingest.lag95'), type: 'line', yAxisIndex: 1, smooth: true, connectNulls: true, data: points.map((p) => p.lagP95Ms) },
              ],
            }}
          />
        )}
      </Card>
      <Card variant="borderless" className="section-gap" title={t('ingest.errorsTitle')} extra={<Typography.Text type="secondary">{t('ingest.errorsHint')}</Typography.Text>}>
        {errors.error ? <ProblemAlert error={errors.error} style={{ marginBottom: 16 }} /> : null}
        <Table<IngestError>
          rowKey="quarantineId"
          size="middle"
          loading={errors.isLoading}
          dataSource={errors.data?.data ?? []}
          pagination={{ pageSize: 10, hideOnSinglePage: true }}
          expandable={{ expandedRowRender: (e) => <pre className="kv-json">{e.excerpt ?? '—'}</pre>, rowExpandable: (e) => !!e.excerpt }}
          locale={{ emptyText: errors.error ? ' ' : <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('ingest.noErrors')} /> }}
          columns={[
            { title: t('common.time'), dataIndex: 'at', width: 170, render: fmtTime },
            { title: t('ingest.source'), dataIndex: 'sourceName', width: 160, render: (v: string | null) => v ?? '—' },
            { title: t('quarantine.reason'), dataIndex: 'reason', render: (v: string) => <Typography.Text type="danger">{v}</Typography.Text> },
            { title: t('quarantine.field'), dataIndex: 'field', width: 150, render: (v: string | null) => (v ? <span className="mono">{v}</span> : '—') },
            { title: t('common.status'), dataIndex: 'status', width: 100, render: (v: string) => <Tag variant="filled">{t(`quarantine.status.${v}`, { defaultValue: v })}</Tag> },
          ]}
        />
      </Card>
    </>
  );
}
