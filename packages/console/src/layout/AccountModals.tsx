import { App, Alert, Button, Flex, Form, Input, Modal, Result, Spin, Steps, Typography } from 'antd';
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { post } from '../api/client';
import { useAuth } from '../auth/auth';
import { ProblemAlert } from '../components/ProblemAlert';

interface TotpSetup {
  secret: string;
  otpauthUrl: string;
  qrDataUrl: string;
}

/** 2FA enrolment: QR code, confirm with a code, then the recovery codes (shown once). */
export function TwoFactorModal({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  const { me, refresh } = useAuth();
  const { message } = App.useApp();
  const [recovery, setRecovery] = useState<string[] | null>(null);
  const [code, setCode] = useState('');
  const setup = useMutation({ mutationFn: () => post<TotpSetup>('/v1/auth/totp/setup') });
  const enable = useMutation({
    mutationFn: (c: string) => post<{ recoveryCodes: string[] }>('/v1/auth/totp/enable', { code: c }),
    onSuccess: (r) => {
      setRecovery(r.recoveryCodes);
      void refresh();
    },
  });
  const disable = useMutation({
    mutationFn: (password: string) => post<void>('/v1/auth/totp/disable', { password }),
    onSuccess: () => {
      void message.success(t('account.twoFactorDisabled'));
      void refresh();
      close();
    },
  });
  const close = () => {
    setRecovery(null);
    setCode('');
    setup.reset();
    enable.reset();
    disable.reset();
    onClose();
  };
  const step = recovery ? 2 : setup.data ? 1 : 0;

  if (me?.totpEnabled && !recovery) {
    return (
      <Modal open={open} onCancel={close} title={t('account.twoFactor')} footer={null} destroyOnHidden>
        <Result status="success" title={t('account.twoFactorOn')} subTitle={t('account.twoFactorOnHint')} />
        <Form layout="vertical" onFinish={(v: { password: string }) => disable.mutate(v.password)}>
          <Form.Item name="password" label={t('account.passwordToDisable')} rules={[{ required: true }]}>
            <Input.Password autoComplete="current-password" />
          </Form.Item>
          <ProblemAlert error={disable.error} style={{ marginBottom: 16 }} />
          <Button danger htmlType="submit" loading={disable.isPending} block>
            {t('account.disableTwoFactor')}
          </Button>
        </Form>
      </Modal>
    );
  }

  return (
    <Modal open={open} onCancel={close} title={t('account.twoFactor')} footer={null} width={560} destroyOnHidden>
      <Steps
        size="small"
        current={step}
        style={{ margin: '8px 0 24px' }}
        items={[{ title: t('account.tfStepScan') }, { title: t('account.tfStepConfirm') }, { title: t('account.tfStepSave') }]}
      />
      {step === 0 ? (
        <Flex vertical gap={16}>
          <Typography.Paragraph>{t('account.tfIntro')}</Typography.Paragraph>
          <ProblemAlert error={setup.error} />
          <Button type="primary" onClick={() => setup.mutate()} loading={setup.isPending} data-testid="totp-start">
            {t('account.tfStart')}
          </Button>
        </Flex>
      ) : null}
      {step === 1 && setup.data ? (
        <Flex vertical gap={16} align="center">
          {setup.isPending ? <Spin /> : <img src={setup.data.qrDataUrl} alt="QR" width={200} height={200} className="qr" data-testid="totp-qr" />}
          <Typography.Text type="secondary">{t('account.tfManual')}</Typography.Text>
          <Typography.Text code copyable data-testid="totp-secret">
            {setup.data.secret}
          </Typography.Text>
          <Form layout="inline" onFinish={() => enable.mutate(code.trim())} style={{ justifyContent: 'center' }}>
            <Form.Item>
              <Input
                value={code}
                onChange={(e) => setCode(e.target.value)}
                placeholder={t('login.totpPlaceholder')}
                maxLength={6}
                inputMode="numeric"
                autoComplete="one-time-code"
                style={{ width: 180, letterSpacing: 4 }}
                data-testid="totp-confirm-code"
              />
            </Form.Item>
            <Button type="primary" htmlType="submit" loading={enable.isPending} disabled={code.trim().length !== 6}>
              {t('account.tfConfirm')}
            </Button>
          </Form>
          <ProblemAlert error={enable.error} />
        </Flex>
      ) : null}
      {step === 2 && recovery ? (
        <Flex vertical gap={16}>
          <Alert type="warning" showIcon title={t('account.tfRecoveryTitle')} description={t('account.tfRecoveryHint')} />
          <div className="recovery-codes" data-testid="recovery-codes">
            {recovery.map((c) => (
              <code key={c}>{c}</code>
            ))}
          </div>
          <Flex gap={8} justify="flex-end">
            <Typography.Text copyable={{ text: recovery.join('\n') }}>{t('common.copyAll')}</Typography.Text>
            <Button type="primary" onClick={close}>
              {t('account.tfDone')}
            </Button>
          </Flex>
        </Flex>
      ) : null}
    </Modal>
  );
}

export function ChangePasswordModal({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [form] = Form.useForm<{ currentPassword: string; newPassword: string; confirm: string }>();
  const change = useMutation({
    mutationFn: (v: { currentPassword: string; newPassword: string }) => post<void>('/v1/auth/password', v),
    onSuccess: () => {
      void message.success(t('account.passwordChanged'));
      form.resetFields();
      onClose();
    },
  });
  return (
    <Modal
      open={open}
      onCancel={onClose}
      title={t('account.changePassword')}
      okText={t('common.save')}
      onOk={() => form.submit()}
      confirmLoading={change.isPending}
      destroyOnHidden
    >
      <Form form={form} layout="vertical" onFinish={(v) => change.mutate({ currentPassword: v.currentPassword, newPassword: v.newPassword })}>
        <Form.Item name="currentPassword" label={t('account.currentPassword')} rules={[{ required: true }]}>
          <Input.Password autoComplete="current-password" />
        </Form.Item>
        <Form.Item name="newPassword" label={t('account.newPassword')} rules={[{ required: true, min: 10, message: t('account.passwordRule') }]}>
          <Input.Password autoComplete="new-password" />
        </Form.Item>
        <Form.Item
          name="confirm"
          label={t('account.confirmPassword')}
          dependencies={['newPassword']}
          rules={[
            { required: true },
            ({ getFieldValue }) => ({
              validator: (_r, v) => (v === getFieldValue('newPassword') ? Promise.resolve() : Promise.reject(new Error(t('account.passwordMismatch')))),
            }),
          ]}
        >
          <Input.Password autoComplete="new-password" />
        </Form.Item>
        <ProblemAlert error={change.error} />
      </Form>
    </Modal>
  );
}
