import { Button, Flex, Select, Typography } from 'antd';
import { LeftOutlined, RightOutlined } from '@ant-design/icons';
import { useCallback, useState } from 'react';
import { useTranslation } from 'react-i18next';

/** Keyset pages: the cursors seen so far, so "previous" works without offsets. */
export function useCursorPages(initialSize = 20) {
  const [stack, setStack] = useState<(string | null)[]>([null]);
  const [size, setSizeState] = useState(initialSize);
  const cursor = stack[stack.length - 1] ?? null;
  const next = useCallback((c: string | null) => {
    if (c) setStack((s) => [...s, c]);
  }, []);
  const prev = useCallback(() => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)), []);
  const reset = useCallback(() => setStack([null]), []);
  const setSize = useCallback((n: number) => {
    setSizeState(n);
    setStack([null]);
  }, []);
  return { cursor, page: stack.length, size, next, prev, reset, setSize };
}

export function CursorPager({
  pager,
  nextCursor,
  count,
  loading,
}: {
  pager: ReturnType<typeof useCursorPages>;
  nextCursor: string | null | undefined;
  count: number;
  loading?: boolean;
}) {
  const { t } = useTranslation();
  return (
    <Flex justify="flex-end" align="center" gap={12} className="cursor-pager">
      <Typography.Text type="secondary">{t('common.pageInfo', { page: pager.page, count })}</Typography.Text>
      <Select
        size="small"
        value={pager.size}
        onChange={pager.setSize}
        options={[20, 50, 100, 200].map((n) => ({ value: n, label: t('common.perPage', { n }) }))}
        style={{ width: 110 }}
      />
      <Button size="small" icon={<LeftOutlined />} disabled={pager.page <= 1 || loading} onClick={pager.prev}>
        {t('common.prev')}
      </Button>
      <Button size="small" disabled={!nextCursor || loading} onClick={() => pager.next(nextCursor ?? null)}>
        {t('common.next')} <RightOutlined />
      </Button>
    </Flex>
  );
}
