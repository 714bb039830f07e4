import { Card, Tabs } from 'antd';
import { useTranslation } from 'react-i18next';
import { useNavigate, useParams } from 'react-router';
import { PageHeader } from '../../components/PageHeader';
import { ApiKeysTab } from './ApiKeysTab';
import { AuditTab } from './AuditTab';
import { IdentityRulesTab } from './IdentityRulesTab';
import { RolesTab } from './RolesTab';
import { SourcesTab } from './SourcesTab';
import { UsersTab } from './UsersTab';

const TABS = ['users', 'roles', 'api-keys', 'sources', 'identity-rules', 'audit'] as const;

export function SettingsPage() {
  const { t } = useTranslation();
  const { tab = 'users' } = useParams();
  const nav = useNavigate();
  const render = (k: (typeof TABS)[number]) => {
    switch (k) {
      case 'users':
        return <UsersTab />;
      case 'roles':
        return <RolesTab />;
      case 'api-keys':
        return <ApiKeysTab />;
      case 'sources':
        return <SourcesTab />;
      case 'identity-rules':
        return <IdentityRulesTab />;
      case 'audit':
        return <AuditTab />;
    }
  };
  return (
    <>
      <PageHeader title={t('settings.title')} subtitle={t('settings.subtitle')} />
      <Card variant="borderless">
        <Tabs
          activeKey={(TABS as readonly string[]).includes(tab) ? tab : 'users'}
          onChange={(k) => nav(`/settings/${k}`)}
          destroyOnHidden
          items={TABS.map((k) => ({ key: k, label: t(`settings.tabs.${k}`), children: render(k) }))}
        />
      </Card>
    </>
  );
}
