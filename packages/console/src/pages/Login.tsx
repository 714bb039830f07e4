import { ArrowLeftOutlined, LockOutlined, MailOutlined, SafetyOutlined } from '@ant-design/icons';
import { Alert, Button, Card, Flex, Form, Input, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Navigate, useLocation, useNavigate } from 'react-router';
import { ApiError } from '../api/client';
import { useAuth } from '../auth/auth';
import { problemText } from '../components/ProblemAlert';
import { LanguageSwitch } from '../layout/AppLayout';
import { Logo } from '../layout/Logo';

interface Credentials {
  email: string;
  password: string;
}

export function LoginPage() {
  const { t } = useTranslation();
  const { me, login } = useAuth();
  const nav = useNavigate();
  const loc = useLocation();
  const next = new URLSearchParams(loc.search).get('next') ?? '/';
  const [creds, setCreds] = useState<Credentials | null>(null);
  const [useRecovery, setUseRecovery] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  if (me) return <Navigate to={next.startsWith('/') && !next.startsWith('//') ? next : '/'} replace />;

  const attempt = async (body: Credentials & { totpCode?: string; recoveryCode?: string }) => {
    setBusy(true);
    setError(null);
    try {
      await login(body);
      nav(next.startsWith('/') && !next.startsWith('//') ? next : '/', { replace: true });
    } catch (e) {
      if (e instanceof ApiError && e.code === 'AUTH_TOTP_REQUIRED') {
        if (creds) setError(t('login.totpWrong'));
        setCreds({ email: body.email, password: body.password });
      } else if (e instanceof ApiError && e.code === 'AUTH_LOCKED') {
        setError(t('login.locked', { seconds: e.retryAfter ?? 60 }));
      } else if (e instanceof ApiError && e.code === 'AUTH_LOGIN_FAILED') {
        setError(t('login.failed'));
        setCreds(null);
      } else {
        setError(problemText(e, t('common.unknownError')));
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="login-page">
      <div className="login-hero">
        <Flex align="center" gap={12} className="login-brand">
          <Logo size={40} />
          <div>
            <div className="login-brand-name">{t('app.name')}</div>
            <div className="login-brand-tag">{t('app.tagline')}</div>
          </div>
        </Flex>
        <div className="login-pitch">
          <h1>{t('login.pitchTitle')}</h1>
          <p>{t('login.pitchBody')}</p>
          <ul>
            <li>{t('login.point1')}</li>
            <li>{t('login.point2')}</li>
            <li>{t('login.point3')}</li>
          </ul>
        </div>
        <div className="login-hero-foot">© Datong · {t('login.selfHosted')}</div>
      </div>
      <div className="login-panel">
        <div className="login-lang">
          <LanguageSwitch compact />
        </div>
        <Card className="login-card" variant="borderless">
          {!creds ? (
            <>
              <Typography.Title level={3}>{t('login.title')}</Typography.Title>
              <Typography.Paragraph type="secondary">{t('login.subtitle')}</Typography.Paragraph>
              {error ? <Alert type="error" showIcon title={error} style={{ marginBottom: 16 }} data-testid="login-error" /> : null}
              <Form layout="vertical" requiredMark={false} onFinish={(v: Credentials) => void attempt(v)} size="large">
                <Form.Item name="email" label={t('login.email')} rules={[{ required: true, type: 'email', message: t('login.emailRule') }]}>
                  <Input prefix={<MailOutlined className="muted" />} autoComplete="username" placeholder="name@company.com" autoFocus />
                </Form.Item>
                <Form.Item name="password" label={t('login.password')} rules={[{ required: true, message: t('login.passwordRule') }]}>
                  <Input.Password prefix={<LockOutlined className="muted" />} autoComplete="current-password" />
                </Form.Item>
                <Button type="primary" htmlType="submit" block loading={busy}>
                  {t('login.submit')}
                </Button>
              </Form>
              <Typography.Paragraph type="secondary" className="login-help">
                {t('login.help')}
              </Typography.Paragraph>
            </>
          ) : (
            <>
              <Button type="link" icon={<ArrowLeftOutlined />} onClick={() => (setCreds(null), setError(null))} style={{ paddingLeft: 0 }}>
                {t('common.back')}
              </Button>
              <Typography.Title level={3}>
                <SafetyOutlined /> {t('login.totpTitle')}
              </Typography.Title>
              <Typography.Paragraph type="secondary">{useRecovery ? t('login.recoveryHint') : t('login.totpHint')}</Typography.Paragraph>
              {error ? <Alert type="error" showIcon title={error} style={{ marginBottom: 16 }} data-testid="login-error" /> : null}
              <Form
                key={useRecovery ? 'recovery' : 'totp'}
                layout="vertical"
                requiredMark={false}
                size="large"
                onFinish={(v: { code: string }) =>
                  void attempt(useRecovery ? { ...creds, recoveryCode: v.code.trim() } : { ...creds, totpCode: v.code.replace(/\s/g, '') })
                }
              >
                <Form.Item
                  name="code"
                  label={useRecovery ? t('login.recoveryCode') : t('login.totpCode')}
                  rules={[{ required: true, message: t('login.codeRule') }]}
                >
                  <Input
                    autoFocus
                    autoComplete="one-time-code"
                    inputMode={useRecovery ? 'text' : 'numeric'}
                    maxLength={useRecovery ? 64 : 6}
                    placeholder={useRecovery ? 'xxxx-xxxx' : t('login.totpPlaceholder')}
                    className={useRecovery ? undefined : 'totp-input'}
                    data-testid="totp-code"
                  />
                </Form.Item>
                <Button type="primary" htmlType="submit" block loading={busy}>
                  {t('login.verify')}
                </Button>
              </Form>
              <Button type="link" onClick={() => (setUseRecovery((r) => !r), setError(null))} style={{ paddingLeft: 0, marginTop: 8 }}>
                {useRecovery ? t('login.useTotp') : t('login.useRecovery')}
              </Button>
            </>
          )}
        </Card>
      </div>
    </div>
  );
}
