import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { useMutation } from '@tanstack/react-query';
import { Alert, App, Button, Col, Drawer, Flex, Input, Row, Space, Typography } from 'antd';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { post, put } from '../../api/client';
import type { Connector } from '../../api/types';
import { ProblemAlert, problemText } from '../../components/ProblemAlert';

interface FieldError {
  field: string;
  code: string;
  message: string;
  position?: number;
}
interface Preview {
  output: Record<string, unknown>;
  errors: FieldError[];
}
interface Row {
  key: number;
  target: string;
  expr: string;
}

const SAMPLE = `{
  "buyer_info": { "buyer_phone": "13812345678", "buyer_nick": "lilei" },
  "address_info": { "receiver_name": "李雷", "city": "上海" },
  "order": { "tid": "E20260101", "payment": "399.00" }
}`;

let next = 0;
const toRows = (m: Record<string, string>): Row[] => Object.entries(m).map(([target, expr]) => ({ key: ++next, target, expr }));
const toMapping = (rows: readonly Row[]): Record<string, string> => Object.fromEntries(rows.filter((r) => r.target.trim() !== '').map((r) => [r.target.trim(), r.expr]));

/** Target field → JSONata expression, with a live preview against a sample payload. */
export function MappingDrawer({ connector, onClose }: { connector: Connector | null; onClose: (saved: boolean) => void }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [rows, setRows] = useState<Row[]>([]);
  const [sample, setSample] = useState(SAMPLE);
  const [openedFor, setOpenedFor] = useState<Connector | null>(null);
  if (connector !== openedFor) {
    setOpenedFor(connector);
    const m = connector?.mapping ?? {};
    setRows(Object.keys(m).length > 0 ? toRows(m) : [{ key: ++next, target: 'userId', expr: 'buyer_info.buyer_phone' }, { key: ++next, target: 'traits.name', expr: 'address_info.receiver_name' }]);
  }

  let sampleError: string | null = null;
  try {
    JSON.parse(sample);
  } catch (e) {
    sampleError = e instanceof Error ? e.message : String(e);
  }
  const mapping = toMapping(rows);
  const mappingKey = JSON.stringify(mapping);

  const preview = useMutation({ mutationFn: (body: { mapping: Record<string, string>; sample: unknown }) => post<Preview>('/v1/mappings/preview', body) });
  const { mutate } = preview;
  // Preview as the person types (debounced), never while the sample is not JSON.
  useEffect(() => {
    if (!connector) return;
    let payload: unknown;
    try {
      payload = JSON.parse(sample) as unknown;
    } catch {
      return;
    }
    const h = setTimeout(() => mutate({ mapping: JSON.parse(mappingKey) as Record<string, string>, sample: payload }), 350);
    return () => clearTimeout(h);
  }, [connector, mappingKey, sample, mutate]);

  const save = useMutation({
    mutationFn: () => put<Connector>(`/v1/connectors/${connector?.id ?? ''}/mapping`, { mapping }),
    onSuccess: () => {
      void message.success(t('mapping.saved'));
      onClose(true);
    },
    onError: (e) => void message.error(problemText(e, t('common.unknownError'))),
  });
  const errorsOf = (target: string) => (preview.data?.errors ?? []).filter((e) => e.field === target.trim());

  return (
    <Drawer
      open={!!connector}
      onClose={() => onClose(false)}
      title={t('mapping.title', { name: connector?.name ?? '' })}
      size={1100}
      destroyOnHidden
      extra={
        <Space>
          <Button onClick={() => onClose(false)}>{t('common.cancel')}</Button>
          <Button type="primary" loading={save.isPending} onClick={() => save.mutate()} data-testid="mapping-save">
            {t('common.save')}
          </Button>
        </Space>
      }
    >
      <Alert type="info" showIcon title={t('mapping.hint')} style={{ marginBottom: 16 }} />
      <Row gutter={24}>
        <Col span={14}>
          <Typography.Title level={5}>{t('mapping.fields')}</Typography.Title>
          <Flex vertical gap={8}>
            {rows.map((r) => {
              const errs = errorsOf(r.target);
              return (
                <div key={r.key}>
                  <Flex gap={8} align="center">
                    <Input
                      value={r.target}
                      placeholder={t('mapping.target')}
                      style={{ width: 200 }}
                      className="mono"
                      onChange={(e) => setRows((rs) => rs.map((x) => (x.key === r.key ? { ...x, target: e.target.value } : x)))}
                    />
                    <span className="muted">=</span>
                    <Input
                      value={r.expr}
                      placeholder={t('mapping.expression')}
                      className="mono"
                      status={errs.length > 0 ? 'error' : undefined}
                      onChange={(e) => setRows((rs) => rs.map((x) => (x.key === r.key ? { ...x, expr: e.target.value } : x)))}
                      data-testid="mapping-expr"
                    />
                    <Button type="text" icon={<DeleteOutlined />} onClick={() => setRows((rs) => rs.filter((x) => x.key !== r.key))} aria-label={t('common.remove')} />
                  </Flex>
                  {errs.map((e) => (
                    <Typography.Text key={e.code + e.message} type="danger" style={{ display: 'block', fontSize: 12, marginLeft: 216 }}>
                      {e.code}: {e.message}
                      {e.position !== undefined ? ` (${t('mapping.position', { n: e.position })})` : ''}
                    </Typography.Text>
                  ))}
                </div>
              );
            })}
            <Button type="dashed" icon={<PlusOutlined />} onClick={() => setRows((rs) => [...rs, { key: ++next, target: '', expr: '' }])}>
              {t('mapping.addField')}
            </Button>
          </Flex>
          <Typography.Title level={5} style={{ marginTop: 24 }}>
            {t('mapping.sample')}
          </Typography.Title>
          <Input.TextArea value={sample} onChange={(e) => setSample(e.target.value)} rows={9} className="mono" status={sampleError ? 'error' : undefined} />
          {sampleError ? <Typography.Text type="danger">{t('quarantine.invalidJson')}: {sampleError}</Typography.Text> : null}
        </Col>
        <Col span={10}>
          <Typography.Title level={5}>{t('mapping.preview')}</Typography.Title>
          <ProblemAlert error={preview.error} style={{ marginBottom: 8 }} />
          <pre className="kv-json" style={{ maxHeight: 520 }} data-testid="mapping-preview">
            {preview.data ? JSON.stringify(preview.data.output, null, 2) : '…'}
          </pre>
        </Col>
      </Row>
    </Drawer>
  );
}
