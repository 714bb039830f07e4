import { Breadcrumb, Flex, Typography } from 'antd';
import type { ReactNode } from 'react';
import { Link } from 'react-router';

export interface Crumb {
  title: string;
  to?: string;
}

export function PageHeader({ title, subtitle, extra, crumbs, tags }: { title: ReactNode; subtitle?: ReactNode; extra?: ReactNode; crumbs?: Crumb[]; tags?: ReactNode }) {
  return (
    <div className="page-header">
      {crumbs && crumbs.length > 0 ? (
        <Breadcrumb
          className="page-crumbs"
          items={crumbs.map((c) => ({ title: c.to ? <Link to={c.to}>{c.title}</Link> : c.title }))}
        />
      ) : null}
      <Flex justify="space-between" align="center" gap={16} wrap>
        <div className="page-title-block">
          <Flex align="center" gap={12} wrap>
            <Typography.Title level={3} className="page-title">
              {title}
            </Typography.Title>
            {tags}
          </Flex>
          {subtitle ? <Typography.Text type="secondary">{subtitle}</Typography.Text> : null}
        </div>
        {extra ? (
          <Flex gap={8} wrap>
            {extra}
          </Flex>
        ) : null}
      </Flex>
    </div>
  );
}
