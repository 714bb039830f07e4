// The console benchmark's browser baseline (bench/console.mjs): the least an Ant Design page
// costs — React, antd with the console's locale, a layout and an empty table — without the
// console's code or any API call. Built by the benchmark with Vite, like the console.
import { ConfigProvider, Layout, Table } from 'antd';
import zhCN from 'antd/locale/zh_CN';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';

const columns = ['姓名', '手机号', '标签', '负责人', '最近活跃'].map((title, i) => ({ title, dataIndex: `c${i}`, key: `c${i}` }));

createRoot(document.getElementById('root')).render(
  <StrictMode>
    <ConfigProvider locale={zhCN}>
      <Layout style={{ minHeight: '100vh' }}>
        <Layout.Sider theme="light" width={216} />
        <Layout.Content style={{ padding: 24 }}>
          <Table rowKey="id" columns={columns} dataSource={[]} data-testid="baseline-table" />
        </Layout.Content>
      </Layout>
    </ConfigProvider>
  </StrictMode>,
);
