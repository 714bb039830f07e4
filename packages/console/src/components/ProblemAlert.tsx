import { Alert, Button } from 'antd';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../api/client';

/** The server's problem+json `detail` (or title), with its code, for the person to act on. */
export function problemText(error: unknown, fallback: string): string {
  if (error instanceof ApiError) return error.detail ?? error.title ?? fallback;
  if (error instanceof Error) return error.message;
  return fallback;
}

export function ProblemAlert({ error, onRetry, style }: { error: unknown; onRetry?: () => void; style?: React.CSSProperties }) {
  const { t } = useTranslation();
  if (!error) return null;
  const code = error instanceof ApiError ? error.code : null;
  const forbidden = error instanceof ApiError && error.status === 403;
  return (
    <Alert
      type={forbidden ? 'warning' : 'error'}
      showIcon
      style={style}
      title={forbidden ? t('common.forbidden') : t('common.loadFailed')}
      description={
        <span>
          {problemText(error, t('common.unknownError'))}
          {code ? <span className="problem-code"> · {code}</span> : null}
        </span>
      }
      action={
        onRetry ? (
          <Button size="small" onClick={onRetry}>
            {t('common.retry')}
          </Button>
        ) : undefined
      }
    />
  );
}
