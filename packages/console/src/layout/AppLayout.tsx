import {
  ApiOutlined,
  ClusterOutlined,
  DownOutlined,
  GlobalOutlined,
  LockOutlined,
  LogoutOutlined,
  MenuFoldOutlined,
  MenuUnfoldOutlined,
  MonitorOutlined,
  SafetyCertificateOutlined,
  SettingOutlined,
  TagsOutlined,
  TeamOutlined,
} from '@ant-design/icons';
import { Avatar, Button, Dropdown, Flex, Layout, Menu, Segmented, Typography, type MenuProps } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Outlet, useLocation, useNavigate } from 'react-router';
import { patch } from '../api/client';
import type { Locale, Permission } from '../api/types';
import { useAuth } from '../auth/auth';
import { setLocale } from '../i18n';
import { ChangePasswordModal, TwoFactorModal } from './AccountModals';
import { Logo } from './Logo';

/** The console's sections and the permissions that open each (any one of them). */
export const SECTIONS: readonly { key: string; any: readonly Permission[] }[] = [
  { key: '/customers', any: ['customers.read'] },
  { key: '/tags', any: ['tags.manage', 'customers.read'] },
  { key: '/segments', any: ['tags.manage', 'customers.read'] },
  { key: '/connectors', any: ['connectors.manage'] },
  { key: '/monitor', any: ['monitor.read', 'webhooks.manage', 'quarantine.manage'] },
  { key: '/settings', any: ['settings.manage', 'users.manage', 'audit.read'] },
];

interface NavItem {
  key: string;
  icon: React.ReactNode;
  label: string;
  any: readonly Permission[];
}

/** zh-CN / EN: kept in this browser, and on the account when signed in. */
export function LanguageSwitch({ compact, signedIn }: { compact?: boolean; signedIn?: boolean }) {
  const { i18n } = useTranslation();
  const change = (v: Locale) => {
    void setLocale(v);
    // Best effort: the account remembers the language for the next sign-in elsewhere.
    if (signedIn) patch('/v1/auth/me', { locale: v }).catch(() => undefined);
  };
  return (
    <Segmented
      size={compact ? 'small' : 'middle'}
      value={i18n.language === 'en' ? 'en' : 'zh-CN'}
      onChange={(v) => change(v as Locale)}
      options={[
        { value: 'zh-CN', label: '中文' },
        { value: 'en', label: 'EN' },
      ]}
      aria-label="language"
      data-testid="language-switch"
    />
  );
}

export function AppLayout() {
  const { t } = useTranslation();
  const { me, logout, can } = useAuth();
  const nav = useNavigate();
  const loc = useLocation();
  const [collapsed, setCollapsed] = useState(false);
  const [twoFactor, setTwoFactor] = useState(false);
  const [password, setPassword] = useState(false);

  const look: Record<string, { icon: React.ReactNode; label: string }> = {
    '/customers': { icon: <TeamOutlined />, label: t('nav.customers') },
    '/tags': { icon: <TagsOutlined />, label: t('nav.tags') },
    '/segments': { icon: <ClusterOutlined />, label: t('nav.segments') },
    '/connectors': { icon: <ApiOutlined />, label: t('nav.connectors') },
    '/monitor': { icon: <MonitorOutlined />, label: t('nav.monitor') },
    '/settings': { icon: <SettingOutlined />, label: t('nav.settings') },
  };
  const items: NavItem[] = SECTIONS.map((s) => ({ key: s.key, any: s.any, icon: look[s.key]?.icon, label: look[s.key]?.label ?? s.key }));
  const visible = items.filter((i) => i.any.some((p) => can(p)));
  const selected = visible.find((i) => loc.pathname.startsWith(i.key))?.key ?? '';

  const userMenu: MenuProps['items'] = [
    { key: 'who', disabled: true, label: <div className="user-menu-who">{me?.email}</div> },
    { type: 'divider' },
    {
      key: '2fa',
      icon: <SafetyCertificateOutlined />,
      label: me?.totpEnabled ? t('account.twoFactorOn') : t('account.enableTwoFactor'),
    },
    { key: 'password', icon: <LockOutlined />, label: t('account.changePassword') },
    { type: 'divider' },
    { key: 'logout', icon: <LogoutOutlined />, label: t('account.signOut'), danger: true },
  ];
  const onUserMenu: MenuProps['onClick'] = ({ key }) => {
    if (key === '2fa') setTwoFactor(true);
    if (key === 'password') setPassword(true);
    if (key === 'logout') void logout().then(() => nav('/login', { replace: true }));
  };

  return (
    <Layout className="app-shell">
      <Layout.Sider className="app-sider" width={224} collapsedWidth={64} collapsed={collapsed} theme="light" trigger={null}>
        <div className="app-brand" onClick={() => nav('/customers')}>
          <Logo size={28} />
          {!collapsed ? (
            <span className="app-brand-text">
              {t('app.name')}
              <small>{t('app.tagline')}</small>
            </span>
          ) : null}
        </div>
        <Menu
          mode="inline"
          selectedKeys={[selected]}
          items={visible.map((i) => ({ key: i.key, icon: i.icon, label: i.label }))}
          onClick={({ key }) => nav(key)}
          className="app-menu"
        />
      </Layout.Sider>
      <Layout>
        <Layout.Header className="app-header">
          <Button
            type="text"
            aria-label={collapsed ? t('nav.expand') : t('nav.collapse')}
            icon={collapsed ? <MenuUnfoldOutlined /> : <MenuFoldOutlined />}
            onClick={() => setCollapsed((c) => !c)}
          />
          <Flex align="center" gap={16}>
            <Flex align="center" gap={6}>
              <GlobalOutlined className="muted" />
              <LanguageSwitch compact signedIn />
            </Flex>
            <Dropdown menu={{ items: userMenu, onClick: onUserMenu }} placement="bottomRight" trigger={['click']}>
              <Button type="text" className="user-button" data-testid="user-menu">
                <Avatar size={28} className="user-avatar">
                  {(me?.name || me?.email || '?').slice(0, 1).toUpperCase()}
                </Avatar>
                <span className="user-name">
                  {me?.name || me?.email}
                  <Typography.Text type="secondary" className="user-role">
                    {me ? t(`roleNames.${me.role.name}`, { defaultValue: me.role.name }) : ''}
                  </Typography.Text>
                </span>
                <DownOutlined className="muted" />
              </Button>
            </Dropdown>
          </Flex>
        </Layout.Header>
        <Layout.Content className="app-content">
          <Outlet />
        </Layout.Content>
        <Layout.Footer className="app-footer">{t('app.footer')}</Layout.Footer>
      </Layout>
      <TwoFactorModal open={twoFactor} onClose={() => setTwoFactor(false)} />
      <ChangePasswordModal open={password} onClose={() => setPassword(false)} />
    </Layout>
  );
}
