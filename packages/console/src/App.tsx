import { Button, Result, Spin } from 'antd';
import { lazy, Suspense } from 'react';
import { useTranslation } from 'react-i18next';
import { Navigate, Route, Routes, useLocation, useNavigate } from 'react-router';
import { useAuth } from './auth/auth';
import { AppLayout, SECTIONS } from './layout/AppLayout';
import { ConnectorDetailPage } from './pages/connectors/commerce/ConnectorDetailPage';
import { ConnectorsPage } from './pages/connectors/ConnectorsPage';
import { Customer360 } from './pages/customers/Customer360';
import { CustomersPage } from './pages/customers/CustomersPage';
import { LoginPage } from './pages/Login';
import { SegmentsPage } from './pages/segments/SegmentsPage';
import { SettingsPage } from './pages/settings/SettingsPage';
import { TagsPage } from './pages/tags/TagsPage';

// The monitor draws charts: ECharts loads only when it is opened.
const MonitorPage = lazy(() => import('./pages/monitor/MonitorPage').then((m) => ({ default: m.MonitorPage })));

function RequireAuth({ children }: { children: React.ReactNode }) {
  const { me, loading } = useAuth();
  const loc = useLocation();
  if (loading) {
    return (
      <div className="full-center">
        <Spin size="large" />
      </div>
    );
  }
  if (!me) return <Navigate to={`/login?next=${encodeURIComponent(loc.pathname + loc.search)}`} replace />;
  return <>{children}</>;
}

/** The first section this person's role opens. */
function Home() {
  const { can } = useAuth();
  const { t } = useTranslation();
  const first = SECTIONS.find((s) => s.any.some((p) => can(p)));
  if (first) return <Navigate to={first.key} replace />;
  return <Result status="403" title={t('common.forbidden')} subTitle={t('notFound.noAccess')} />;
}

function NotFound() {
  const { t } = useTranslation();
  const nav = useNavigate();
  return (
    <Result
      status="404"
      title={t('notFound.title')}
      subTitle={t('notFound.body')}
      extra={
        <Button type="primary" onClick={() => nav('/')}>
          {t('notFound.home')}
        </Button>
      }
    />
  );
}

export function App() {
  return (
    <Routes>
      <Route path="/login" element={<LoginPage />} />
      <Route
        element={
          <RequireAuth>
            <AppLayout />
          </RequireAuth>
        }
      >
        <Route index element={<Home />} />
        <Route path="/customers" element={<CustomersPage />} />
        <Route path="/customers/:id" element={<Customer360 />} />
        <Route path="/tags" element={<TagsPage />} />
        <Route path="/segments" element={<SegmentsPage />} />
        <Route path="/connectors" element={<ConnectorsPage />} />
        <Route path="/connectors/:id" element={<ConnectorDetailPage />} />
        <Route
          path="/monitor"
          element={
            <Suspense fallback={<Spin style={{ display: 'block', margin: '80px auto' }} />}>
              <MonitorPage />
            </Suspense>
          }
        />
        <Route path="/settings" element={<Navigate to="/settings/users" replace />} />
        <Route path="/settings/:tab" element={<SettingsPage />} />
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}
